"""Rows/s of ``tsunagu crm import-transitions``: transition history from CSV into SQLite.

A generated history of ``rows`` transitions — ``rows / 5`` entities, each moving
lead → nurturing → promising → qualified and then to opportunity, recycle or dead end (a
fifth of them as a fast pass, first seen in ``qualified``) — is imported into a fresh
migrated SQLite file for a new organization, timed from the CSV bytes to the commit
(median of ``repeats`` runs; the migration is not timed).  Every row is checked: stages,
the model's moves, the chain of each entity from where it is now, times with offsets; the
entities are created and the transitions written with one executemany per batch.

A second figure, ``continuing``, imports one more transition for every entity of the first
import into the same database: the chain must connect to each entity's current stage, read
from the database with one indexed query per chunk of refs.

Run: ``python -m bench.crm_import [ROWS]``.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.crm.importing import import_transitions
from tsunagu.identity import service as identity

START = datetime(2024, 1, 1, tzinfo=UTC)


def history_csv(rows: int, seed: int = 7) -> bytes:
    """``rows`` transitions of ``rows // 5`` entities, as the CSV a CRM export would give."""
    rng = random.Random(seed)
    out = ["entity_id,from_stage,to_stage,at,amount"]
    for n in range(rows // 5):
        at = START + timedelta(minutes=rng.randrange(0, 600_000))
        if rng.random() < 0.2:  # a fast pass, lost and parked
            path = ["qualified", "opportunity", "lost", "recycle", "dead_end"]
        else:
            end = rng.choice(["opportunity", "recycle", "dead_end"])
            path = ["lead", "nurturing", "promising", "qualified", end]
        previous = ""
        for stage in path:
            at += timedelta(hours=rng.randrange(1, 400))
            amount = str(rng.randrange(1, 50) * 100_000) if stage == "opportunity" else ""
            out.append(f"C-{n:07d},{previous},{stage},{at.isoformat()},{amount}")
            previous = stage
    return ("\n".join(out) + "\n").encode()


def _continuing_csv(data: bytes) -> bytes:
    last: dict[str, tuple[str, str]] = {}
    for line in data.decode().splitlines()[1:]:
        ref, _, to_stage, at, _ = line.split(",")
        last[ref] = (to_stage, at)
    out = ["entity_id,from_stage,to_stage,at"]
    for ref, (stage, _) in last.items():
        if stage != "dead_end":
            out.append(f"{ref},{stage},dead_end,2026-06-01T00:00:00+09:00")
    return ("\n".join(out) + "\n").encode()


def _once(data: bytes) -> tuple[float, float, int, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            migrate(engine)
            factory = make_session_factory(engine)
            with unit_of_work(factory) as session:
                org_id = identity.create_organization(
                    session, slug="bench", name="Bench", kind="company"
                ).id
            wall, cpu = time.perf_counter(), time.process_time()
            with unit_of_work(factory) as session:
                result = import_transitions(session, org_id, data)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            more = _continuing_csv(data)
            cont = time.perf_counter()
            with unit_of_work(factory) as session:
                second = import_transitions(session, org_id, more)
            cont = time.perf_counter() - cont
            return wall, cpu, result.imported, cont, second.imported
        finally:
            engine.dispose()


def run(rows: int = 100_000, repeats: int = 3) -> dict[str, Any]:
    data = history_csv(rows)
    runs = [_once(data) for _ in range(repeats)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    cont = statistics.median(r[3] for r in runs)
    imported, continued = runs[0][2], runs[0][4]
    return {
        "rows": imported,
        "bytes": len(data),
        "repeats": repeats,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "rows_per_s": round(imported / wall),
        "continuing_rows": continued,
        "continuing_wall_s": round(cont, 3),
        "continuing_rows_per_s": round(continued / cont),
    }


def report(result: dict[str, Any]) -> str:
    return (
        f"crm import-transitions: {result['rows']:,} rows in {result['wall_s']} s "
        f"= {result['rows_per_s']:,} rows/s (cpu {result['cpu_s']} s); continuing "
        f"{result['continuing_rows']:,} entities: {result['continuing_rows_per_s']:,} rows/s"
    )


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(report(run(size)))
