"""FastAPI dependencies that say who is calling the JSON API (an adapter: imports FastAPI).

Every router under ``/api/v1`` takes its caller through these, so that no endpoint can be
reached without credentials (a test walks ``app.routes`` to keep that true)::

    from tsunagu.identity.dependencies import AdminActor, ApiActor, DbSession

    @router.get("/things")
    def list_things(actor: ApiActor, db: DbSession) -> list[ThingOut]: ...

    @router.post("/things", dependencies=[Depends(require_role("admin"))])
    def create_thing(...): ...

- ``DbSession``: the request's unit of work (commits on success, rolls back on error);
- ``ApiActor``: ``Authorization: Bearer KEY`` resolved to an ``Actor`` — from a cache of
  the last seconds, or with one indexed, read-only query (401 problem+json with
  ``WWW-Authenticate: Bearer`` when missing, unknown or revoked); once a minute per key,
  ``last_used_at`` is refreshed in a short transaction of its own (see ``api_key_auth``);
  the actor is also left in ``request.state.actor`` for the access log;
- ``require_role(minimum)``: a dependency that adds a role check (403 ``role_too_low``);
  ``MemberActor`` and ``AdminActor`` are the common cases ready-made.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.crypto import token_digest
from tsunagu.core.database import unit_of_work
from tsunagu.core.errors import NotAuthenticated
from tsunagu.core.http import db_session
from tsunagu.identity.api_key_auth import (
    ApiKeyCache,
    Principal,
    check_api_key,
    touch_api_key,
)
from tsunagu.identity.service import ROLE_RANK, Actor

logger = logging.getLogger(__name__)

DbSession = Annotated[Session, Depends(db_session, scope="function")]

# documents the scheme in OpenAPI; the check itself is ours (problem+json, not FastAPI's)
_bearer = HTTPBearer(auto_error=False, description="An organization's API key")
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class ApiKeyMissing(NotAuthenticated):
    code = "not_authenticated"


async def api_principal(request: Request, credentials: BearerCredentials) -> Principal:
    """The organization's API key behind ``Authorization: Bearer KEY``: its actor and its
    organization.

    Async, and answered from ``ApiKeyCache`` when the key was checked in the last seconds:
    the common case costs neither a database query nor a trip to the thread pool.
    """
    if credentials is None or not credentials.credentials:
        raise ApiKeyMissing("this endpoint needs an API key: send 'Authorization: Bearer KEY'")
    plain = credentials.credentials
    state = request.app.state
    cache: ApiKeyCache = state.api_key_cache
    digest = token_digest(plain)
    principal = cache.get(digest, time.monotonic())
    if principal is None:
        principal = await run_in_threadpool(
            authenticate_bearer, state.read_session_factory, state.session_factory, plain
        )
        cache.put(digest, principal, time.monotonic())
    request.state.actor = principal.actor
    return principal


ApiPrincipal = Annotated[Principal, Depends(api_principal)]


async def api_actor(principal: ApiPrincipal) -> Actor:
    """The ``Actor`` of the API key (see ``api_principal``)."""
    return principal.actor


def authenticate_bearer(
    read_factory: sessionmaker[Session], write_factory: sessionmaker[Session], plain: str
) -> Principal:
    """Check a key in a read-only session of its own, then record its use if due."""
    with read_factory() as session:
        check = check_api_key(session, plain)
    if check.touch_due and check.actor.api_key_id is not None:
        _record_use(write_factory, check.actor.api_key_id)
    return check.principal


def _record_use(factory: sessionmaker[Session], key_id: uuid.UUID) -> None:
    """Refresh ``last_used_at`` in a transaction of its own; a failure costs only that."""
    try:
        with unit_of_work(factory) as session:
            touch_api_key(session, key_id)
    except OperationalError:
        logger.warning("could not record the use of API key %s", key_id, exc_info=True)


ApiActor = Annotated[Actor, Depends(api_actor)]


def require_role(minimum: str) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency giving the API actor when their role is at least ``minimum``."""
    if minimum not in ROLE_RANK:
        raise ValueError(f"unknown role {minimum!r}")

    # async: a role check does no I/O, so it need not cost a trip to the thread pool
    async def check_role(actor: ApiActor) -> Actor:
        actor.require_role(minimum)
        return actor

    return check_role


MemberActor = Annotated[Actor, Depends(require_role("member"))]
AdminActor = Annotated[Actor, Depends(require_role("admin"))]

__all__ = [
    "AdminActor",
    "ApiActor",
    "ApiPrincipal",
    "DbSession",
    "MemberActor",
    "api_actor",
    "api_principal",
    "require_role",
]
