"""The transparency ledger's performance targets (issue 4), each beside its anchor.

- ``append`` — entries/s appended in batches into a fresh SQLite file (encode with RFC 8785,
  hash, store entries and completed subtree hashes, commit), against the rate of bare
  SHA-256 over the same leaf inputs on this machine (target ≥ 150,000 entries/s);
- ``proofs`` — at ``proof_size`` entries (1,000,000 by default): latency of inclusion and
  consistency proofs read from the database (p50/p99, target p99 ≤ 1 ms) and their size
  (target ≤ 32·⌈log₂ n⌉ bytes for inclusion; a consistency proof may need one hash more);
- ``verify`` — full re-verification of the stored log of that size (target ≤ 10 s);
- ``checkpoint_latency`` — under a steady load of single-entry transactions, the time from
  an entry's commit to the first signed checkpoint covering it, with the server's own
  publisher round at its own interval (target p99 ≤ 1 s).
"""

from __future__ import annotations

import hashlib
import math
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.clock import utcnow
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.ledger import service
from tsunagu.ledger.entry import Entry, single_subject
from tsunagu.ledger.note import Signer, Verifier
from tsunagu.ledger.publisher import DEFAULT_INTERVAL, CheckpointPublisher
from tsunagu.ledger.verify import verify_stored

TARGET_APPEND_PER_S = 150_000
TARGET_PROOF_P99_MS = 1.0
TARGET_VERIFY_S = 10.0
TARGET_CHECKPOINT_P99_S = 1.0
KEY = bytes(32)
SIGNER = Signer.from_seed("bench.example/log", bytes(range(32)))


def _entries(n: int, seed: int = 7) -> list[Entry]:
    rng = random.Random(seed)
    people = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(min(n, 5000))]
    return [
        Entry(
            kind="access.allowed",
            org="retailer",
            actor="api_key:0190f6a0-0000-7000-8000-000000000001",
            purpose="service_provision",
            categories=("contact.email", "purchase.order"),
            subject=single_subject(KEY, people[i % len(people)]),
        )
        for i in range(n)
    ]


def _fresh(tmp: Path, name: str) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp / name}")
    migrate(engine)
    return make_session_factory(engine)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def bench_append(tmp: Path, total: int, batch: int, repeats: int) -> dict[str, Any]:
    entries = _entries(total)
    now = utcnow()
    leaf_inputs = [e.encode(now) for e in entries]
    sha_runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for data in leaf_inputs:
            hashlib.sha256(b"\x00" + data).digest()
        sha_runs.append(len(leaf_inputs) / (time.perf_counter() - t0))
    runs = []
    for r in range(repeats):
        factory = _fresh(tmp, f"append-{r}.db")
        t0 = time.perf_counter()
        for start in range(0, total, batch):
            with unit_of_work(factory) as session:
                service.append(session, entries[start : start + batch])
        runs.append(total / (time.perf_counter() - t0))
    rate = statistics.median(runs)
    sha = statistics.median(sha_runs)
    return {
        "entries": total,
        "batch": batch,
        "runs_per_s": [round(x) for x in runs],
        "median_per_s": round(rate),
        "target_per_s": TARGET_APPEND_PER_S,
        "meets_target": rate >= TARGET_APPEND_PER_S,
        "anchor_sha256_leaf_hashes_per_s": round(sha),
        "ratio_to_sha256": round(rate / sha, 4),
    }


def bench_proofs_and_verify(tmp: Path, size: int, samples: int) -> dict[str, Any]:
    factory = _fresh(tmp, "proofs.db")
    batch = 50_000
    t0 = time.perf_counter()
    template = _entries(batch)
    for start in range(0, size, batch):
        with unit_of_work(factory) as session:
            service.append(session, template[: min(batch, size - start)])
    with unit_of_work(factory) as session:
        checkpoint = service.publish_checkpoint(session, SIGNER)
    build_s = time.perf_counter() - t0
    rng = random.Random(1)
    inclusion_ms: list[float] = []
    consistency_ms: list[float] = []
    inclusion_bytes = 0
    consistency_bytes = 0
    with factory() as session:
        for _ in range(samples):
            index = rng.randrange(size)
            t = time.perf_counter()
            proof = service.inclusion_proof(session, index, checkpoint.size)
            inclusion_ms.append((time.perf_counter() - t) * 1000)
            inclusion_bytes = max(inclusion_bytes, 32 * len(proof))
            first = rng.randrange(1, size)
            t = time.perf_counter()
            cproof = service.consistency_proof(session, first, checkpoint.size)
            consistency_ms.append((time.perf_counter() - t) * 1000)
            consistency_bytes = max(consistency_bytes, 32 * len(cproof))
        t = time.perf_counter()
        report = verify_stored(session, Verifier(SIGNER.name, SIGNER.public_key))
        verify_s = time.perf_counter() - t
    bound = 32 * math.ceil(math.log2(size))
    return {
        "proofs": {
            "size": size,
            "build_s": round(build_s, 1),
            "samples": samples,
            "inclusion_p50_ms": round(statistics.median(inclusion_ms), 3),
            "inclusion_p99_ms": round(_percentile(inclusion_ms, 0.99), 3),
            "consistency_p50_ms": round(statistics.median(consistency_ms), 3),
            "consistency_p99_ms": round(_percentile(consistency_ms, 0.99), 3),
            "target_p99_ms": TARGET_PROOF_P99_MS,
            "max_inclusion_bytes": inclusion_bytes,
            "max_consistency_bytes": consistency_bytes,
            "bound_32_ceil_log2_n": bound,
        },
        "verify": {
            "size": size,
            "seconds": round(verify_s, 2),
            "ok": report.ok,
            "target_s": TARGET_VERIFY_S,
            "meets_target": verify_s <= TARGET_VERIFY_S,
        },
    }


def bench_checkpoint_latency(tmp: Path, seconds: float, rate_per_s: float) -> dict[str, Any]:
    factory = _fresh(tmp, "latency.db")
    committed: dict[int, float] = {}
    published: list[tuple[float, int]] = []
    stop = threading.Event()

    # the server's own publisher round, at the server's own interval
    rounds = CheckpointPublisher(factory, SIGNER)

    def publisher() -> None:
        while not stop.is_set():
            size = rounds.publish_once()
            if size is not None:
                published.append((time.perf_counter(), size))
            stop.wait(DEFAULT_INTERVAL)

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    entries = _entries(int(seconds * rate_per_s) + 1)
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline and i < len(entries):
        with unit_of_work(factory) as session:
            (appended,) = service.append(session, [entries[i]])
        committed[appended.index] = time.perf_counter()
        i += 1
        time.sleep(1 / rate_per_s)
    time.sleep(0.5)
    stop.set()
    thread.join(timeout=5)
    latencies = []
    for index, at in committed.items():
        covering = next((t for t, size in published if size > index and t >= at), None)
        if covering is not None:
            latencies.append(covering - at)
    return {
        "entries": len(committed),
        "covered": len(latencies),
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p99_s": round(_percentile(latencies, 0.99), 3) if latencies else None,
        "target_p99_s": TARGET_CHECKPOINT_P99_S,
    }


def run(
    append_total: int = 300_000,
    append_batch: int = 10_000,
    repeats: int = 3,
    proof_size: int = 1_000_000,
    proof_samples: int = 2000,
    latency_seconds: float = 10.0,
    latency_rate: float = 200.0,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-ledger-") as tmpdir:
        tmp = Path(tmpdir)
        result: dict[str, Any] = {"append": bench_append(tmp, append_total, append_batch, repeats)}
        result.update(bench_proofs_and_verify(tmp, proof_size, proof_samples))
        result["checkpoint_latency"] = bench_checkpoint_latency(tmp, latency_seconds, latency_rate)
    return result


def report(result: dict[str, Any]) -> str:
    a, p, v, c = (
        result["append"],
        result["proofs"],
        result["verify"],
        result["checkpoint_latency"],
    )
    return "\n".join(
        [
            f"ledger append: {a['median_per_s']:,} entries/s (target {a['target_per_s']:,}); "
            f"SHA-256 alone {a['anchor_sha256_leaf_hashes_per_s']:,}/s, "
            f"ratio {a['ratio_to_sha256']}",
            f"proofs at {p['size']:,}: inclusion p99 {p['inclusion_p99_ms']} ms, "
            f"consistency p99 {p['consistency_p99_ms']} ms (target {p['target_p99_ms']} ms); "
            f"sizes {p['max_inclusion_bytes']}/{p['max_consistency_bytes']} bytes "
            f"(bound {p['bound_32_ceil_log2_n']})",
            f"verify {v['size']:,} entries: {v['seconds']} s (target {v['target_s']} s)",
            f"event → checkpoint: p99 {c['p99_s']} s (target {c['target_p99_s']} s)",
        ]
    )
