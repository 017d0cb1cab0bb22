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

A refused question is 422 ``query_refused``; a spent budget 409 ``budget_exhausted``; an
expired or not yet accepted agreement 409 ``collaboration_not_active``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Body, Request, status

from tsunagu.cleanroom import service
from tsunagu.core.settings import Settings
from tsunagu.identity.dependencies import ApiActor, DbSession
from tsunagu.linkage.schemas import BudgetOut, QueryLogOut, QueryOut

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
    return QueryOut(
        id=answer.query.id,
        cells=answer.result.cells,
        suppressed=answer.result.suppressed,
        persons=answer.query.persons,
        epsilon_spent=answer.result.epsilon_spent,
        sql=answer.result.sql,
        ledger_index=answer.query.ledger_index,
    )


@router.get(PREFIX + "/queries")
def query_log(collaboration_id: uuid.UUID, actor: ApiActor, db: DbSession) -> list[QueryLogOut]:
    return [
        QueryLogOut(
            id=q.id,
            asked_at=q.asked_at,
            actor=q.actor,
            spec=dict(q.spec),
            cells_released=q.cells_released,
            cells_suppressed=q.cells_suppressed,
            persons=q.persons,
            epsilon_spent=q.epsilon_spent,
            ledger_index=q.ledger_index,
        )
        for q in service.queries_of(db, actor.org_id, collaboration_id)
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


__all__ = ["router"]
