"""Batch decisions of the policy decision point against pycasbin, in the same run.

Target (issue 5): ``consent.decision.decide_many`` answers ≥ 200,000 decisions/s for a batch
of persons over a database holding 1,000,000 active consents, and is ≥ 10× faster than the
same rule expressed in pycasbin.

- **database** — a migrated SQLite file in a temporary directory, filled in bulk with raw
  ``executemany`` (not one ``give_consent`` per row): ``persons`` persons; each has a
  ``marketing`` consent to the reading organization (most in force, some withdrawn, some
  expired), a fifth also a ``service-provision`` consent, a tenth a ``marketing`` consent to
  another organization; every consent names a random set of categories, parents
  (``contact``) and children (``contact.email``) mixed, so that coverage goes through the
  hierarchy.  At 1,000,000 persons that is ≥ 1,100,000 consents in force.
- **ours** — ``decide_many`` for the batch of every person (ids given), the read
  ``marketing`` × ``contact.email`` + ``purchase.order``: with the ledger entries (the real
  thing: one entry per outcome committing to its set of persons, then the commit) and
  without (``record_entries=False``); median of ``repeats`` runs.
- **anchor** — pycasbin's ``FastEnforcer`` (policies indexed by person) with a model of the
  same rule: a policy line per (person, recipient, purpose, category) of every consent in
  force at the instant of the read, the category hierarchy as ``g`` links, the matcher
  ``r.sub == p.sub && r.rcpt == p.rcpt && r.pur == p.pur && g(r.cat, p.cat)``.  A decision
  over two categories is two ``enforce`` calls, both allowing (at most one consent per
  person, recipient and purpose is in force, so per-category checks equal the "one consent
  covers all" rule).  Timed on a sample of ``casbin_sample`` persons with ``enforce`` and
  with ``batch_enforce``; the decisions of both are compared person by person on the
  sample.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import casbin  # type: ignore[import-untyped]
from casbin.model.model_fast import FastModel  # type: ignore[import-untyped]
from sqlalchemy import event

from tsunagu.consent.decision import Reader, decide_many
from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.identity import service as identity

TARGET_PER_S = 200_000
TARGET_RATIO = 10.0
KEY = bytes(32)
PURPOSE = "marketing"
READ = ("contact.email", "purchase.order")

#: category sets a consent may name, with their weights
CATEGORY_SETS: list[tuple[tuple[str, ...], int]] = [
    (("contact", "purchase"), 30),
    (("contact.email", "purchase.order"), 15),
    (("contact.email", "purchase"), 10),
    (("contact",), 10),
    (("contact.email",), 10),
    (("contact.phone", "purchase.order"), 5),
    (("contact", "purchase.order", "behaviour.web"), 10),
    (("identity.name", "contact.address"), 5),
    (("purchase",), 5),
]

CASBIN_MODEL = """
[request_definition]
r = sub, rcpt, pur, cat

[policy_definition]
p = sub, rcpt, pur, cat

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.rcpt == p.rcpt && r.pur == p.pur && g(r.cat, p.cat)
"""


def _sql_time(at: datetime) -> str:
    """How ``UTCDateTime`` stores an instant in SQLite."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _hex_ids(prefix: int, n: int) -> list[str]:
    """``n`` ordered 32-hex-digit ids (ordered: the B-trees fill at their right edge)."""
    return [f"{prefix:08x}{i:024x}" for i in range(n)]


def build_database(path: Path, persons: int, seed: int = 5) -> dict[str, Any]:
    """A migrated database with ``persons`` persons and their consents, filled in bulk."""
    t0 = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        org = identity.create_organization(session, slug="bench", name="Bench")
        other = identity.create_organization(session, slug="other", name="Other")
    engine.dispose()
    rng = random.Random(seed)
    now = datetime.now(UTC)
    past = _sql_time(now - timedelta(days=400))
    recently = _sql_time(now - timedelta(days=30))
    later = _sql_time(now + timedelta(days=365))
    person_ids = _hex_ids(0x01000000, persons)
    sets = [s for s, _ in CATEGORY_SETS]
    weights = [w for _, w in CATEGORY_SETS]
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    purpose_ids = dict(
        db.execute(
            "SELECT code, id FROM purposes WHERE organization_id IS NULL"
            " AND code IN ('marketing', 'service-provision')"
        ).fetchall()
    )
    bench_id, other_id = org.id.hex, other.id.hex
    db.executemany(
        "INSERT INTO persons (id, family_name, given_name, created_at) VALUES (?, ?, ?, ?)",
        ((p, "試験", "太郎", past) for p in person_ids),
    )
    consents: list[tuple[Any, ...]] = []
    categories: list[tuple[str, str]] = []
    in_force = 0
    serial = 0

    def consent(person: str, recipient: str, purpose: str, kind: str) -> None:
        nonlocal serial, in_force
        cid = f"02000000{serial:024x}"
        serial += 1
        state, expires, ended = "given", later, None
        if kind == "withdrawn":
            state, ended = "withdrawn", recently
        elif kind == "expired":
            state, expires = "given", recently  # past its expiry, not yet swept
        else:
            in_force += 1
        consents.append(
            (
                cid,
                person,
                recipient,
                purpose_ids[purpose],
                recipient,
                "api_key:bench",
                "organization",
                state,
                past,
                expires,
                ended,
                "web-form",
            )
        )
        for category in rng.choices(sets, weights)[0]:
            categories.append((cid, category))

    for person in person_ids:
        draw = rng.random()
        kind = "withdrawn" if draw < 0.04 else "expired" if draw < 0.08 else "given"
        consent(person, bench_id, "marketing", kind)
        if draw > 0.8:
            consent(person, bench_id, "service-provision", "given")
        if draw < 0.1 or draw > 0.9:
            consent(person, other_id, "marketing", "given")
    db.executemany(
        "INSERT INTO consents (id, person_id, recipient_id, purpose_id, recorded_by_id, actor,"
        " given_by, state, given_at, expires_at, ended_at, method)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        consents,
    )
    db.executemany(
        "INSERT INTO consent_categories (consent_id, category) VALUES (?, ?)", categories
    )
    db.commit()
    db.close()
    return {
        "organization_id": org.id,
        "persons": persons,
        "consents": len(consents),
        "consents_in_force": in_force,
        "consent_category_rows": len(categories),
        "build_s": round(time.perf_counter() - t0, 1),
    }


# --- ours -------------------------------------------------------------------------------


def bench_ours(
    path: Path, org_id: uuid.UUID, repeats: int, *, profile: bool
) -> tuple[dict[str, Any], set[str]]:
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    reader = Reader(org_id, "bench")
    with factory() as session:
        person_ids = [
            uuid.UUID(hex=p)
            for (p,) in session.connection().exec_driver_sql("SELECT id FROM persons")
        ]
    results: dict[str, Any] = {"batch": len(person_ids)}
    allowed: set[str] = set()
    for label, record in (("without_ledger", False), ("with_ledger", True)):
        runs = []
        for _ in range(repeats):
            gc.collect()
            t0 = time.perf_counter()
            with unit_of_work(factory) as session:
                batch = decide_many(
                    session,
                    KEY,
                    reader,
                    PURPOSE,
                    READ,
                    actor="api_key:bench",
                    person_ids=person_ids,
                    record_entries=record,
                )
            runs.append(time.perf_counter() - t0)
            allowed = {p.hex for p in batch.allowed}
        median = statistics.median(runs)
        results[label] = {
            "runs_s": [round(r, 3) for r in runs],
            "median_s": round(median, 3),
            "decisions_per_s": round(len(person_ids) / median),
            "best_decisions_per_s": round(len(person_ids) / min(runs)),
            "allowed": len(batch.allowed),
            "denied": len(batch.denied),
        }
    statement, parameters = _captured(engine, factory, reader)
    results["query_plan"] = _query_plan(engine, statement, parameters)
    results["prototype"] = bench_variant(engine, statement, parameters, person_ids, repeats)
    if profile:
        results["profile_without_ledger"] = _profile(factory, reader, person_ids, record=False)
        results["profile_with_ledger"] = _profile(factory, reader, person_ids, record=True)
    engine.dispose()
    return results, allowed


def _profile(factory: Any, reader: Reader, person_ids: list[uuid.UUID], *, record: bool) -> str:
    """The top of a cProfile of one run (cumulative time), for the results file."""
    profiler = cProfile.Profile()
    with unit_of_work(factory) as session:
        profiler.enable()
        decide_many(
            session,
            KEY,
            reader,
            PURPOSE,
            READ,
            actor="api_key:bench",
            person_ids=person_ids,
            record_entries=record,
        )
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


def _captured(engine: Any, factory: Any, reader: Reader) -> tuple[str, Any]:
    """The batch statement and its parameters, as ``decide_many`` sends them."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "consent_categories" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with unit_of_work(factory) as session:
            decide_many(
                session, KEY, reader, PURPOSE, READ, actor="api_key:bench", record_entries=False
            )
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen[0]


def _query_plan(engine: Any, statement: str, parameters: Any) -> list[str]:
    """SQLite's plan for the batch statement."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return [str(row[3]) for row in rows]


def bench_variant(
    engine: Any, statement: str, parameters: Any, person_ids: list[uuid.UUID], repeats: int
) -> dict[str, Any]:
    """A prototype of ``decide_many`` without the ORM's per-row UUID conversion.

    The same SQL statement, run on the DBAPI cursor: rows come back as the stored 32-digit
    hex text, are matched against the batch's ids as hex, and only allowed rows become
    ``uuid.UUID`` objects (the same ``allowed`` / ``denied`` result).  Also the bare
    statement (``fetchall`` only), the floor any Python on top of SQLite can reach.
    """
    raw = engine.raw_connection()
    try:
        sql_runs, variant_runs = [], []
        allowed: dict[uuid.UUID, uuid.UUID] = {}
        for _ in range(repeats):
            gc.collect()
            t0 = time.perf_counter()
            rows = raw.cursor().execute(statement, parameters).fetchall()
            sql_runs.append(time.perf_counter() - t0)
            del rows
            gc.collect()
            gc.disable()
            t0 = time.perf_counter()
            wanted = {p.hex: p for p in person_ids}
            rows = raw.cursor().execute(statement, parameters).fetchall()
            allowed = {wanted[p]: uuid.UUID(hex=c) for p, c in rows if p in wanted}
            allowed_hex = {p for p, _ in rows}
            denied = frozenset(v for k, v in wanted.items() if k not in allowed_hex)
            variant_runs.append(time.perf_counter() - t0)
            gc.enable()
            del rows, denied
    finally:
        raw.close()
    n = len(person_ids)
    return {
        "what": "same SQL via the DBAPI cursor, ids matched as hex text, UUIDs only for allowed",
        "statement_only": {
            "runs_s": [round(r, 3) for r in sql_runs],
            "decisions_per_s": round(n / statistics.median(sql_runs)),
        },
        "decide_without_orm": {
            "runs_s": [round(r, 3) for r in variant_runs],
            "decisions_per_s": round(n / statistics.median(variant_runs)),
            "allowed": len(allowed),
        },
    }


# --- the anchor: pycasbin ---------------------------------------------------------------


def _casbin_enforcer(path: Path, org_hex: str) -> tuple[casbin.Enforcer, float, int]:
    """A FastEnforcer holding every consent in force now, one line per category."""
    t0 = time.perf_counter()
    now = _sql_time(datetime.now(UTC))
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT c.person_id, c.recipient_id, p.code, cc.category"
        " FROM consents c JOIN purposes p ON p.id = c.purpose_id"
        " JOIN consent_categories cc ON cc.consent_id = c.id"
        " WHERE c.given_at <= ? AND (c.ended_at IS NULL OR c.ended_at > ?)"
        " AND (c.expires_at IS NULL OR c.expires_at > ?)",
        (now, now, now),
    ).fetchall()
    links = db.execute(
        "SELECT code, parent FROM data_categories WHERE parent IS NOT NULL"
    ).fetchall()
    db.close()
    model = FastModel([0])  # policies indexed by their first field, the person
    model.load_model_from_text(CASBIN_MODEL)
    enforcer = casbin.FastEnforcer(model, cache_key_order=[0])
    enforcer.add_named_policies("p", [list(r) for r in rows])
    enforcer.add_named_grouping_policies("g", [list(link) for link in links])
    del org_hex
    return enforcer, time.perf_counter() - t0, len(rows)


def bench_casbin(
    path: Path, org_id: uuid.UUID, sample: int, repeats: int, allowed: set[str]
) -> dict[str, Any]:
    enforcer, load_s, lines = _casbin_enforcer(path, org_id.hex)
    db = sqlite3.connect(path)
    persons = [p for (p,) in db.execute("SELECT id FROM persons")]
    db.close()
    rng = random.Random(11)
    chosen = rng.sample(persons, min(sample, len(persons)))
    org = org_id.hex
    requests = [(p, org, PURPOSE, c) for p in chosen for c in READ]
    enforce_runs = []
    decisions: list[bool] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        decisions = [
            enforcer.enforce(p, org, PURPOSE, READ[0])
            and enforcer.enforce(p, org, PURPOSE, READ[1])
            for p in chosen
        ]
        enforce_runs.append(time.perf_counter() - t0)
    batch_runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        answers = enforcer.batch_enforce(requests)
        batch_runs.append(time.perf_counter() - t0)
    batch_decisions = [answers[i] and answers[i + 1] for i in range(0, len(answers), 2)]
    ours = [p in allowed for p in chosen]
    disagree = sum(a != b for a, b in zip(ours, decisions, strict=True))
    disagree_batch = sum(a != b for a, b in zip(ours, batch_decisions, strict=True))
    enforce_s = statistics.median(enforce_runs)
    batch_s = statistics.median(batch_runs)
    return {
        "policy_lines": lines,
        "load_s": round(load_s, 1),
        "sample": len(chosen),
        "enforce": {
            "runs_s": [round(r, 3) for r in enforce_runs],
            "decisions_per_s": round(len(chosen) / enforce_s),
            "enforce_calls_per_s": round(len(requests) / enforce_s),
        },
        "batch_enforce": {
            "runs_s": [round(r, 3) for r in batch_runs],
            "decisions_per_s": round(len(chosen) / batch_s),
        },
        "allowed_in_sample": sum(decisions),
        "disagreements_with_ours": disagree,
        "disagreements_with_ours_batch_enforce": disagree_batch,
    }


# --- the benchmark ----------------------------------------------------------------------


def run(
    persons: int = 1_000_000, repeats: int = 3, casbin_sample: int = 50_000, profile: bool = False
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-consent-") as tmp:
        path = Path(tmp) / "tsunagu.db"
        database = build_database(path, persons)
        org_id = database.pop("organization_id")
        ours, allowed = bench_ours(path, org_id, repeats, profile=profile)
        anchor = bench_casbin(path, org_id, casbin_sample, repeats, allowed)
    best_casbin = max(
        anchor["enforce"]["decisions_per_s"], anchor["batch_enforce"]["decisions_per_s"]
    )
    with_ledger = ours["with_ledger"]["decisions_per_s"]
    without = ours["without_ledger"]["decisions_per_s"]
    return {
        "read": {"purpose": PURPOSE, "categories": list(READ)},
        "database": database,
        "ours": ours,
        "casbin": {"version": casbin_version(), **anchor},
        "target_per_s": TARGET_PER_S,
        "target_ratio": TARGET_RATIO,
        "ratio_with_ledger": round(with_ledger / best_casbin, 2),
        "ratio_without_ledger": round(without / best_casbin, 2),
        "meets_rate_with_ledger": with_ledger >= TARGET_PER_S,
        "meets_rate_without_ledger": without >= TARGET_PER_S,
        "meets_ratio_with_ledger": with_ledger / best_casbin >= TARGET_RATIO,
        "agrees_with_casbin": anchor["disagreements_with_ours"] == 0
        and anchor["disagreements_with_ours_batch_enforce"] == 0,
    }


def casbin_version() -> str:
    from importlib.metadata import version

    return version("casbin")


def report(result: dict[str, Any]) -> str:
    db = result["database"]
    ours = result["ours"]
    anchor = result["casbin"]
    proto = ours["prototype"]
    lines = [
        f"consent_decisions ({db['persons']:,} persons, {db['consents_in_force']:,} consents"
        f" in force, batch {ours['batch']:,}, built in {db['build_s']} s)",
        f"  decide_many, no ledger   {ours['without_ledger']['decisions_per_s']:>12,} decisions/s",
        f"  decide_many, with ledger {ours['with_ledger']['decisions_per_s']:>12,} decisions/s"
        f"  (target {result['target_per_s']:,})",
        f"  prototype without ORM rows {proto['decide_without_orm']['decisions_per_s']:>,}"
        f" decisions/s; the bare statement {proto['statement_only']['decisions_per_s']:,}",
        f"  pycasbin {anchor['version']} enforce       {anchor['enforce']['decisions_per_s']:>9,}"
        f" decisions/s; batch_enforce {anchor['batch_enforce']['decisions_per_s']:,}"
        f" ({anchor['policy_lines']:,} policy lines, loaded in {anchor['load_s']} s)",
        f"  ratio with ledger {result['ratio_with_ledger']}×,"
        f" without {result['ratio_without_ledger']}×"
        f" (target {result['target_ratio']}×); agrees with casbin on {anchor['sample']:,}:"
        f" {result['agrees_with_casbin']}",
    ]
    return "\n".join(lines)
