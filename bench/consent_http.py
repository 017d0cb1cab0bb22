"""Latency of the single-decision endpoint at a fixed request rate, beside a bare FastAPI app.

Target (issue 5): ``POST /api/v1/consent/decide`` answers with p99 ≤ 5 ms at 500 requests/s.

- **tsunagu** — ``python -m uvicorn --factory tsunagu.web.app:create_app`` (one worker, the
  product's defaults, its JSON access log on) over a SQLite database in a temporary
  ``TSUNAGU_HOME`` filled like ``consent_decisions`` (``persons`` persons with their
  consents) plus an API key of the reading organization; each request asks for a different
  person (``marketing`` × ``contact.email``, some × ``contact.email`` + ``purchase.order``),
  so answers allow and deny, and every decision is written to the ledger.
- **bare** — ``bench/bare_decide_app.py``: the same route and body, a constant answer.

The load is **open-loop**: requests are sent on a fixed schedule (``rate`` per second for
``seconds``), whatever the server's speed, over a pool of keep-alive connections that grows
when every connection is busy; a request's latency runs from its *scheduled* send time to
the end of its response, so a stall counts against every request it delays (no coordinated
omission).  ``wrk`` is closed-loop and ``wrk2``/``vegeta``/``oha`` were not installed, hence
this small asyncio generator.  Server and generator are pinned to separate cores where
``taskset`` exists.  Targets alternate round by round; medians over rounds.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.consent_decisions import build_database
from bench.http_get import REPO_ROOT, _error_lines, _pinning, _server, _wait_until_up

TARGET_RATE = 500
TARGET_P99_MS = 5.0
PATH = "/api/v1/consent/decide"
_LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _requests(port: int, key: str | None, persons: list[str], n: int) -> list[bytes]:
    rng = random.Random(3)
    out = []
    for i in range(n):
        categories = ["contact.email"] if i % 4 else ["contact.email", "purchase.order"]
        body = orjson.dumps(
            {"person": rng.choice(persons), "purpose": "marketing", "categories": categories}
        )
        head = [
            f"POST {PATH} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
        if key:
            head.append(f"Authorization: Bearer {key}")
        out.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return out


async def _open_loop(
    port: int, requests: list[bytes], rate: float, timeout: float = 5.0
) -> dict[str, Any]:
    """Send ``requests`` at ``rate``/s on schedule; latencies from the scheduled time."""
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened = 0
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lateness: list[float] = []

    async def connection() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        nonlocal opened
        if idle:
            return idle.pop()
        opened += 1
        return await asyncio.open_connection("127.0.0.1", port)

    async def exchange(request: bytes) -> str:
        for attempt in range(2):
            # a pooled connection the server closed while idle (keep-alive timeout) is
            # replaced once, as an HTTP client library would
            if attempt == 0:
                reader, writer = await connection()
            else:
                nonlocal opened
                opened += 1
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = _LENGTH.search(head)
                await reader.readexactly(int(length[1]) if length else 0)
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                if attempt:
                    raise
                continue
            idle.append((reader, writer))
            return head[9:12].decode()
        raise AssertionError("unreachable")

    async def fire(scheduled: float, request: bytes) -> None:
        try:
            status = await asyncio.wait_for(exchange(request), timeout)
        except TimeoutError:  # the connection is dropped; counted, latency = the timeout
            status = "timeout"
        except (asyncio.IncompleteReadError, ConnectionError):
            status = "error"
        latencies.append(time.perf_counter() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1

    for _ in range(16):  # a warm pool, as a client library would keep
        opened += 1
        idle.append(await asyncio.open_connection("127.0.0.1", port))
    tasks = []
    start = time.perf_counter() + 0.05
    interval = 1 / rate
    for i, request in enumerate(requests):
        scheduled = start + i * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(time.perf_counter() - scheduled)
        tasks.append(asyncio.create_task(fire(scheduled, request)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for _, writer in idle:
        writer.close()
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "achieved_rps": round(statuses.get("200", 0) / elapsed, 1),
        "p50_ms": round(_percentile(ordered, 0.50) * 1000, 3),
        "p90_ms": round(_percentile(ordered, 0.90) * 1000, 3),
        "p99_ms": round(_percentile(ordered, 0.99) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "statuses": statuses,
        "connections_opened": opened,
        "generator_late_p99_ms": round(_percentile(sorted(lateness), 0.99) * 1000, 3),
    }


def _load(
    port: int, key: str | None, persons: list[str], rate: float, seconds: float, timeout_s: float
) -> Any:
    requests = _requests(port, key, persons, int(rate * seconds))
    return asyncio.run(_open_loop(port, requests, rate, timeout_s))


def _prepare(home: Path, persons: int) -> tuple[str, list[str]]:
    """The seeded database; returns an API key of the reading organization and persons."""
    import sqlite3

    from tsunagu.core.database import make_engine, make_session_factory, unit_of_work
    from tsunagu.identity import service

    path = home / "tsunagu.db"
    build_database(path, persons)
    engine = make_engine(f"sqlite:///{path}")
    with unit_of_work(make_session_factory(engine)) as session:
        org = service.find_organization_by_slug(session, "bench")
        assert org is not None
        _, key = service.create_api_key(session, organization=org, name="bench", role="viewer")
    engine.dispose()
    db = sqlite3.connect(path)
    ids = [str(uuid.UUID(hex=p)) for (p,) in db.execute("SELECT id FROM persons")]
    db.close()
    return key, ids


def run(
    persons: int = 100_000,
    rates: tuple[float, ...] = (100, 250, TARGET_RATE),
    seconds: float = 20,
    rounds: int = 2,
    warmup_s: float = 3,
    timeout_s: float = 5.0,
) -> dict[str, Any]:
    server_prefix, load_prefix = _pinning()
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-consent-http-") as tmp:
        home = Path(tmp)
        key, ids = _prepare(home, persons)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
        env.update(
            TSUNAGU_HOME=str(home),
            TSUNAGU_SECRET_KEY="bench-secret-key-not-for-production",  # noqa: S106
            PYTHONPATH=str(REPO_ROOT),
        )
        factory = "tsunagu.web.app:create_app"
        if load_prefix:  # the generator (this process) on the other core
            os.sched_setaffinity(0, {int(load_prefix[-1])})
        logs = {"bare": home / "bare.log", "tsunagu": home / "tsunagu.log"}
        apps = {"bare": ["bench.bare_decide_app:app"], "tsunagu": ["--factory", factory]}
        probes = {"bare": "/docs", "tsunagu": "/healthz"}
        keys = {"bare": None, "tsunagu": key}
        samples: dict[str, list[dict[str, Any]]] = {
            f"{name}@{rate:g}": [] for rate in sorted(rates) for name in ("bare", "tsunagu")
        }
        errors: dict[str, list[str]] = {}
        try:
            for _ in range(rounds):
                for label in samples:
                    # a fresh server for every run: one the previous rate saturated would
                    # still be working off the requests its clients gave up on
                    name, rate = label.split("@")
                    with _server(apps[name], env, server_prefix, logs[name]) as port:
                        _wait_until_up(f"http://127.0.0.1:{port}{probes[name]}", {})
                        _load(port, keys[name], ids, min(rates), warmup_s, timeout_s)
                        samples[label].append(
                            _load(port, keys[name], ids, float(rate), seconds, timeout_s)
                        )
                    # the log is rewritten by the next server: keep what it says went wrong
                    errors[label] = errors.get(label, []) or _error_lines(logs[name])
        finally:
            if load_prefix:
                os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    summary: dict[str, Any] = {}
    for label, runs in samples.items():
        summary[label] = {
            **{
                f"median_{k}": round(statistics.median(r[k] for r in runs), 3)
                for k in ("achieved_rps", "p50_ms", "p90_ms", "p99_ms", "max_ms")
            },
            "non_200": sum(n for r in runs for s, n in r["statuses"].items() if s != "200"),
            "runs": runs,
        }
    target = summary[f"tsunagu@{TARGET_RATE:g}"] if TARGET_RATE in rates else None
    return {
        "endpoint": f"POST {PATH}",
        "rates": list(rates),
        "seconds_per_round": seconds,
        "rounds": rounds,
        "persons": persons,
        "request_timeout_s": timeout_s,
        "load_generator": "python-asyncio open-loop (latency from the scheduled send time)",
        "pinned": bool(server_prefix),
        "results": summary,
        "target_rate": TARGET_RATE,
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": target is not None
        and target["median_p99_ms"] <= TARGET_P99_MS
        and target["non_200"] == 0,
        "server_errors": errors,
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"consent_http ({result['endpoint']}, open loop, {result['seconds_per_round']:g} s"
        f" × {result['rounds']} rounds per rate, medians)"
    ]
    for label, r in result["results"].items():
        lines.append(
            f"  {label:<13} {r['median_achieved_rps']:>7,.0f} req/s  p50 {r['median_p50_ms']:.2f}"
            f"  p90 {r['median_p90_ms']:.2f}  p99 {r['median_p99_ms']:.2f}"
            f"  max {r['median_max_ms']:.1f} ms"
            + (f"  ({r['non_200']} non-200)" if r["non_200"] else "")
        )
    verdict = "meets" if result["meets_target"] else "misses"
    lines.append(
        f"  {verdict} the target: p99 ≤ {result['target_p99_ms']} ms at {result['target_rate']}"
        " req/s"
    )
    return "\n".join(lines)
