"""HTTP plumbing shared by every router and page (an adapter: imports FastAPI).

- ``db_session``: the per-request session — commits when the endpoint succeeds, rolls
  back when it raises (services only flush);
- ``writing_session``: the same, always on the writing factory — for reads that must leave
  a durable trace (a vault read writes its ledger entry even on GET);
- ``problem_response``: RFC 9457 ``application/problem+json`` bodies
  (``type``, ``title``, ``status``, ``detail``, ``code``, plus ``errors`` and ``request_id``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://tsunagu.dev/problems/"


READ_METHODS = frozenset({"GET", "HEAD"})


async def db_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work (read-mostly for GET and HEAD, see ``database``).

    Async so that opening it costs no trip to the thread pool (a session does no I/O until
    first used); commit and close run together in one trip, and only when the session was
    used.  Routers declare it function-scoped, so the commit happens before the response
    leaves.
    """
    state = request.app.state
    factory = state.session_factory
    if request.method in READ_METHODS:
        factory = getattr(state, "read_session_factory", factory)
    session: Session = factory()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_rollback_and_close, session)
        raise
    if session.in_transaction():
        await run_in_threadpool(_commit_and_close, session)
    else:
        session.close()


async def writing_session(request: Request) -> AsyncIterator[Session]:
    """A unit of work on the writing factory whatever the method: commits when the
    endpoint succeeds (before the answer leaves), rolls back when it raises."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_rollback_and_close, session)
        raise
    if session.in_transaction():
        await run_in_threadpool(_commit_and_close, session)
    else:
        session.close()


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
