"""Use cases of the clean room: ask an aggregate question, read the query log and the budget.

``ask`` is the only way to the joined data, and it holds these lines:

1. the actor's organization is the **recipient** of an **active, unexpired** collaboration
   (any other organization: not found; the provider: not its role);
2. consent is asked again **at query time** — one ``decide_many`` batch over the provider's
   customers — so a withdrawn consent drops the person out at once, whatever the last match
   said;
3. only the consenting customers (with the member flag from the latest match table) and
   their orders are loaded into an in-memory DuckDB (``engine.load_tables``); the engine
   applies the analysis rules (allowed columns, minimum group size, noise);
4. a noisy answer charges the collaboration's budget under a row lock (``Budget.charge``:
   an exhausted budget refuses the query before anything runs);
5. the answer is compared with the collaboration's earlier answers (the difference check of
   ``engine``: each answered query keeps the pseudonymous pids of its released cells in
   ``<linkage dir>/<collaboration>/cells/<query id>.parquet``);
6. one ``cleanroom.query`` ledger entry commits to the set of persons in the released cells
   (so each person's portal lists the analysis), a ``provision`` entry with the APPI
   provision records (provider → recipient) covers the same persons, and the query log row
   keeps what was asked, how many cells were released and suppressed, and the ε spent.

Functions take the session first and only flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.cleanroom import engine
from tsunagu.cleanroom.engine import QueryResult
from tsunagu.cleanroom.query import check_query, parse_query
from tsunagu.consent.service import actor_label
from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings
from tsunagu.identity.service import Actor
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry, pseudonym_of_bytes
from tsunagu.linkage import service as linkage
from tsunagu.linkage.errors import CollaborationNotFound, NotParticipant
from tsunagu.linkage.models import CleanroomQuery, Collaboration
from tsunagu.linkage.rules import AnalysisRules, Budget
from tsunagu.vault import service as vault_service

#: age bands of the clean room (ten years; the ends open)
_AGE_BAND = (
    "CASE WHEN age IS NULL THEN NULL WHEN age < 20 THEN '0-19' WHEN age >= 70 THEN '70+' "
    "ELSE CAST(age // 10 * 10 AS VARCHAR) || '-' || CAST(age // 10 * 10 + 9 AS VARCHAR) END"
)


@dataclass(frozen=True)
class Answer:
    """A released answer and its log row."""

    result: QueryResult
    query: CleanroomQuery


def _recipient_collaboration(
    session: Session, actor: Actor, collaboration_id: uuid.UUID
) -> Collaboration:
    collab = linkage.access_collaboration(session, actor.org_id, collaboration_id)
    if linkage.role_of(session, collab.id, actor.org_id) != "recipient":
        raise NotParticipant("only the collaboration's recipient asks the clean room")
    return collab


def budget_of(collab: Collaboration) -> Budget | None:
    """The collaboration's privacy budget (None: the agreement sets none)."""
    if collab.budget_epsilon is None:
        return None
    return Budget(total=collab.budget_epsilon, spent=collab.budget_spent)


def charge_budget(session: Session, collaboration_id: uuid.UUID, epsilon: float) -> Budget | None:
    """Spend ``epsilon`` of the collaboration's budget under a row lock (concurrent queries
    never overspend); ``BudgetExhausted`` when it does not fit."""
    collab = session.scalars(
        select(Collaboration).where(Collaboration.id == collaboration_id).with_for_update()
    ).one()
    budget = budget_of(collab)
    if budget is None:
        return None
    after = budget.charge(epsilon)
    collab.budget_spent = after.spent
    session.flush()
    return after


def cells_dir(settings: Settings, collaboration_id: uuid.UUID) -> Path:
    """Where the persons of each answer's released cells are kept for the difference check."""
    return linkage.data_dir(settings, collaboration_id) / "cells"


def _load_history(
    con: duckdb.DuckDBPyConnection, settings: Settings, collaboration_id: uuid.UUID
) -> str:
    folder = cells_dir(settings, collaboration_id)
    files = [str(p) for p in folder.glob("*.parquet")] if folder.is_dir() else []
    return engine.create_history(con, files)


def _keep_history(
    settings: Settings, collaboration_id: uuid.UUID, query_id: uuid.UUID, result: QueryResult
) -> None:
    rows = engine.history_rows(result, str(query_id))
    if rows.num_rows == 0:
        return
    folder = cells_dir(settings, collaboration_id)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{query_id}.parquet.tmp"
    pq.write_table(rows, tmp)
    tmp.replace(folder / f"{query_id}.parquet")


def _load(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    session: Session,
    collab: Collaboration,
    consenting: linkage.Consenting,
    at: datetime,
) -> None:
    """``cr_persons`` / ``cr_orders`` of the consenting customers only."""
    customers = linkage.dataset_path(settings, linkage.get_dataset(session, collab.id, "customers"))
    orders = linkage.dataset_path(settings, linkage.get_dataset(session, collab.id, "orders"))
    run = linkage.latest_run(session, collab.id)
    linked = linkage.matched_pids(session, run.id)
    con.register("allowed_arrow", consenting.arrow())
    con.execute("CREATE TABLE allowed AS SELECT * FROM allowed_arrow")
    con.register("linked", pa.table({"pid": pa.array(linked, type=pa.string())}))
    persons = con.sql(
        f"SELECT a.pid, {_AGE_BAND} AS age_band, prefecture, segment, "  # noqa: S608 - fixed
        "l.pid IS NOT NULL AS member FROM ("
        "  SELECT person_id, prefecture, segment, "
        "  date_diff('year', b, d) - CASE WHEN strftime(d, '%m%d') < strftime(b, '%m%d') "
        "    THEN 1 ELSE 0 END AS age "
        "  FROM (SELECT *, TRY_CAST(birth_date AS DATE) AS b, CAST(? AS DATE) AS d "
        "        FROM read_parquet(?))"
        ") c JOIN allowed a USING (person_id) LEFT JOIN linked l ON l.pid = a.pid",
        params=[at.date(), str(customers)],
    ).to_arrow_table()
    order_rows = con.sql(
        "SELECT a.pid, o.order_id, o.ordered_at, o.category, o.amount "
        "FROM read_parquet(?) o JOIN allowed a USING (person_id)",
        params=[str(orders)],
    ).to_arrow_table()
    engine.load_tables(con, persons, order_rows)


def effective_rules(settings: Settings, collab: Collaboration) -> AnalysisRules:
    """The agreement's analysis rules under the platform's floor: no agreement, however
    both sides signed it, releases a cell smaller than ``cleanroom_min_group_floor``."""
    rules = AnalysisRules.from_agreement(collab.rules)
    floor = settings.cleanroom_min_group_floor
    return rules if rules.min_group_size >= floor else replace(rules, min_group_size=floor)


def ask_logged(
    session: Session,
    settings: Settings,
    pseudonym_key: bytes,
    *,
    collaboration_id: uuid.UUID,
    actor: Actor,
    spec_json: Mapping[str, Any] | str,
    seed: int | None = None,
    now: datetime | None = None,
) -> Answer:
    """``ask``, also returning the query log row (for the API and the pages)."""
    actor.require_role("member")
    now = now or utcnow()
    collab = _recipient_collaboration(session, actor, collaboration_id)
    linkage.require_usable(collab, now)
    rules = effective_rules(settings, collab)
    spec = parse_query(spec_json)
    check_query(spec, rules)  # a refused question spends no budget and asks no consent
    label = actor_label(actor)
    linkage.latest_run(session, collab.id)  # refuses before any consent is asked
    epsilon: float | None = None
    if spec.noise and rules.epsilon_per_query is not None:
        epsilon = rules.epsilon_per_query
        charge_budget(session, collab.id, epsilon)
    consenting = linkage.consenting_customers(
        session, settings, pseudonym_key, collab, actor=label, at=now
    )
    con = duckdb.connect()
    try:
        _load(con, settings, session, collab, consenting, now)
        history = _load_history(con, settings, collab.id)
        result = engine.run_query(con, spec, rules, epsilon=epsilon, seed=seed, history=history)
    finally:
        con.close()
    parties = linkage.parties_of(session, collab.id)
    persons = {consenting.by_pid[p]: None for p in result.persons}
    query = CleanroomQuery(
        id=uuid.uuid4(),
        collaboration_id=collab.id,
        organization_id=actor.org_id,
        actor=label,
        asked_at=now,
        spec=spec.to_dict(),
        cells_released=len(result.cells),
        cells_suppressed=result.suppressed,
        persons=len(persons),
        epsilon_spent=result.epsilon_spent,
        sql=result.sql,
    )
    refs: dict[str, Any] = {
        "collaboration": str(collab.id),
        "query": str(query.id),
        "version": collab.version,
        "cells": len(result.cells),
        "suppressed": result.suppressed,
        "sql": hashlib.sha256(result.sql.encode()).hexdigest(),
        "consent_entries": list(consenting.batch.ledger_indexes),
    }
    if result.epsilon_spent:
        refs["epsilon"] = result.epsilon_spent
    (appended,) = ledger.append(
        session,
        [
            Entry(
                kind="cleanroom.query",
                org=parties.recipient.slug,
                actor=label,
                time=now,
                purpose=collab.purpose,
                categories=tuple(collab.categories),
                refs=refs,
                members=tuple(pseudonym_of_bytes(pseudonym_key, p.bytes) for p in persons),
            )
        ],
    )
    query.ledger_index = appended.index
    session.add(query)
    session.flush()
    _keep_history(settings, collab.id, query.id, result)
    vault_service.record_bulk_provision(
        session,
        pseudonym_key,
        provider=(parties.provider.id, parties.provider.slug),
        recipient=(parties.recipient.id, parties.recipient.slug),
        consents={p: consenting.batch.allowed[p] for p in persons},
        purpose=collab.purpose,
        categories=collab.categories,
        actor=label,
        at=now,
        refs={"collaboration": str(collab.id), "query": str(query.id), "aggregate": True},
    )
    return Answer(result=result, query=query)


def ask(
    session: Session,
    settings: Settings,
    *,
    collaboration_id: uuid.UUID,
    actor: Actor,
    spec_json: Mapping[str, Any] | str,
    actor_org: uuid.UUID | None = None,
    seed: int | None = None,
    now: datetime | None = None,
) -> QueryResult:
    """Answer an aggregate question of the collaboration's recipient (see the module
    docstring for what is checked and recorded); ``actor_org``, when given, must be the
    actor's organization."""
    if actor_org is not None and actor_org != actor.org_id:
        raise CollaborationNotFound("no such collaboration")
    return ask_logged(
        session,
        settings,
        settings.resolved_ledger_pseudonym_key(),
        collaboration_id=collaboration_id,
        actor=actor,
        spec_json=spec_json,
        seed=seed,
        now=now,
    ).result


def queries_of(
    session: Session, organization_id: uuid.UUID, collaboration_id: uuid.UUID
) -> list[CleanroomQuery]:
    """The collaboration's query log, newest first (any participant may read it)."""
    linkage.access_collaboration(session, organization_id, collaboration_id)
    return list(
        session.scalars(
            select(CleanroomQuery)
            .where(CleanroomQuery.collaboration_id == collaboration_id)
            .order_by(CleanroomQuery.asked_at.desc(), CleanroomQuery.id.desc())
        )
    )


@dataclass(frozen=True)
class BudgetView:
    total: float | None
    spent: float
    remaining: float | None
    epsilon_per_query: float | None
    queries: int


def budget_view(
    session: Session, organization_id: uuid.UUID, collaboration_id: uuid.UUID
) -> BudgetView:
    """The collaboration's privacy budget as a participant sees it."""
    collab = linkage.access_collaboration(session, organization_id, collaboration_id)
    budget = budget_of(collab)
    eps = collab.rules.get("epsilon_per_query")
    count = len(queries_of(session, organization_id, collaboration_id))
    return BudgetView(
        total=None if budget is None else budget.total,
        spent=collab.budget_spent,
        remaining=None if budget is None else budget.remaining,
        epsilon_per_query=None if eps is None else float(eps),
        queries=count,
    )


__all__ = [
    "Answer",
    "BudgetView",
    "ask",
    "ask_logged",
    "budget_of",
    "budget_view",
    "charge_budget",
    "queries_of",
]
