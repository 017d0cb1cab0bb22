"""JSON API of private set intersection (mounted under ``/api/v1``).

``POST /linkage/collaborations/{id}/psi`` — the recipient's API key (member role at least)::

    request   {"points": ["<base64 of a 32-byte point>", …]}         the blinded members
    answer    {"reblinded": [...], "server_points": [...],           same order / shuffled
               "consenting": n, "ledger_index": i}

A key of an organization outside the collaboration gets 404 (as for a collaboration that
does not exist), the provider's key 403; more than ``psi_service.MAX_REQUEST_POINTS``
points 413; an empty or malformed body, bad base64 or a value that is not a group element
422.  The whole exchange is one request: the server's scalar lives only while it runs.
"""

from __future__ import annotations

import uuid

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from tsunagu.core.settings import Settings
from tsunagu.identity.dependencies import ApiActor, DbSession
from tsunagu.linkage import psi_service
from tsunagu.linkage.psi_service import PsiRequestInvalid, decode_points, encode_points

__all__ = ["PsiOut", "router"]

router = APIRouter(tags=["linkage"])


class PsiOut(BaseModel):
    """The server's message: the request re-blinded and its own blinded set."""

    reblinded: list[str]
    server_points: list[str]
    consenting: int
    ledger_index: int


def _points_of(body: bytes) -> list[bytes]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PsiRequestInvalid('the body must be JSON: {"points": [base64, …]}') from None
    if not isinstance(parsed, dict) or "points" not in parsed:
        raise PsiRequestInvalid('the body must be a JSON object {"points": [base64, …]}')
    return decode_points(parsed["points"])


@router.post(
    "/linkage/collaborations/{collaboration_id}/psi",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["points"],
                        "properties": {"points": {"type": "array", "items": {"type": "string"}}},
                    }
                }
            },
        }
    },
    responses={413: {"description": "too many points"}, 422: {"description": "bad points"}},
)
async def psi(
    collaboration_id: uuid.UUID, request: Request, actor: ApiActor, db: DbSession
) -> PsiOut:
    """Private set intersection: re-blind the recipient's points, send the provider's
    consenting customers' items blinded with a key used for this exchange only."""
    points = _points_of(await request.body())
    settings: Settings = request.app.state.settings
    answer = await run_in_threadpool(
        lambda: psi_service.answer(
            db,
            settings,
            settings.resolved_ledger_pseudonym_key(),
            actor=actor,
            collaboration_id=collaboration_id,
            points=points,
        )
    )
    return PsiOut(
        reblinded=encode_points(answer.response.reblinded),
        server_points=encode_points(answer.response.server_points),
        consenting=answer.consenting,
        ledger_index=answer.ledger_index,
    )
