"""JSON API of the clean room (thin: parse, call ``cleanroom.service``, shape the answer).

Mounted under ``/api/v1``.  Every endpoint needs an organization's API key; a collaboration
the key's organization does not take part in answers 404.

=========================================================  ======  ==========================
path                                                       role    what
=========================================================  ======  ==========================
POST /cleanroom/collaborations/{id}/queries                member  recipient: ask (201) —
                                                                   spec JSON → released cells
GET  /cleanroom/collaborations/{id}/queries                any     the query log
GET  /cleanroom/collaborations/{id}/budget                 any     the privacy budget
=========================================================  ======  ==========================

A refused question is 422 ``query_refused`` (reason ``difference`` when the answer would
differ from an earlier one by fewer persons than the minimum group size); a spent budget 409
``budget_exhausted``; an expired or not yet accepted agreement 409
``collaboration_not_active``.

Exact counts never sit next to noisy cells: a noisy answer's ``persons`` is the sum of its
released (noisy) person counts and its ``suppressed`` is null, because both would otherwise be
computed from the exact data.  In the query log the exact ``persons`` of each question — and
the withheld cells of a noisy one — are shown to the data provider only; the recipient reads
null.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Request, status
from pydantic import BaseModel

from tsunagu.cleanroom import service
from tsunagu.core.settings import Settings
from tsunagu.identity.dependencies import ApiActor, DbSession
from tsunagu.linkage import service as linkage
from tsunagu.linkage.schemas import BudgetOut


class QueryOut(BaseModel):
    """A clean-room answer: released cells and what the release cost."""

    id: uuid.UUID
    cells: list[dict[str, Any]]
    #: cells withheld (null for a noisy answer: the number comes from exact counts)
    suppressed: int | None
    #: persons in the released cells; for a noisy answer the sum of the noisy cell counts
    persons: int
    epsilon_spent: float
    sql: str
    ledger_index: int | None


class QueryLogOut(BaseModel):
    """One question of the query log; exact counts for the provider only."""

    id: uuid.UUID
    asked_at: datetime
    actor: str
    spec: dict[str, Any]
    cells_released: int
    cells_suppressed: int | None
    persons: int | None
    epsilon_spent: float
    ledger_index: int | None


def answer_out(answer: service.Answer) -> QueryOut:
    """What the recipient receives for an answer (no exact count next to noisy cells)."""
    noisy = answer.result.noise is not None
    return QueryOut(
        id=answer.query.id,
        cells=answer.result.cells,
        suppressed=None if noisy else answer.result.suppressed,
        persons=answer.result.persons_total,
        epsilon_spent=answer.result.epsilon_spent,
        sql=answer.result.sql,
        ledger_index=answer.query.ledger_index,
    )


router = APIRouter(tags=["cleanroom"])

PREFIX = "/cleanroom/collaborations/{collaboration_id}"


@router.post(PREFIX + "/queries", status_code=status.HTTP_201_CREATED)
def ask(
    collaboration_id: uuid.UUID,
    request: Request,
    actor: ApiActor,
    db: DbSession,
    spec: dict[str, Any] = Body(
        description='{"measures": [...], "dimensions": [...], "filters": {...}, '
        '"promotion": {...}, "noise": true|false}'
    ),
) -> QueryOut:
    """Ask an aggregate question; cells below the minimum group size are withheld."""
    settings: Settings = request.app.state.settings
    answer = service.ask_logged(
        db,
        settings,
        settings.resolved_ledger_pseudonym_key(),
        collaboration_id=collaboration_id,
        actor=actor,
        spec_json=spec,
    )
    return answer_out(answer)


@router.get(PREFIX + "/queries")
def query_log(collaboration_id: uuid.UUID, actor: ApiActor, db: DbSession) -> list[QueryLogOut]:
    queries = service.queries_of(db, actor.org_id, collaboration_id)
    provider = linkage.role_of(db, collaboration_id, actor.org_id) == "provider"
    return [
        QueryLogOut(
            id=q.id,
            asked_at=q.asked_at,
            actor=q.actor,
            spec=dict(q.spec),
            cells_released=q.cells_released,
            cells_suppressed=q.cells_suppressed if provider or not q.epsilon_spent else None,
            persons=q.persons if provider else None,
            epsilon_spent=q.epsilon_spent,
            ledger_index=q.ledger_index,
        )
        for q in queries
    ]


@router.get(PREFIX + "/budget")
def budget(collaboration_id: uuid.UUID, actor: ApiActor, db: DbSession) -> BudgetOut:
    view = service.budget_view(db, actor.org_id, collaboration_id)
    return BudgetOut(
        total=view.total,
        spent=view.spent,
        remaining=view.remaining,
        epsilon_per_query=view.epsilon_per_query,
        queries=view.queries,
    )


__all__ = ["QueryLogOut", "QueryOut", "answer_out", "router"]
