"""HTTP plumbing shared by every router and page (an adapter: imports FastAPI).

- ``db_session``: the per-request session — commits when the endpoint succeeds, rolls
  back when it raises (services only flush);
- ``problem_response``: RFC 9457 ``application/problem+json`` bodies
  (``type``, ``title``, ``status``, ``detail``, ``code``, plus ``errors`` and ``request_id``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://tsunagu.dev/problems/"


READ_METHODS = frozenset({"GET", "HEAD"})


def db_session(request: Request) -> Iterator[Session]:
    """The request's unit of work (read-mostly for GET and HEAD, see ``database``)."""
    state = request.app.state
    factory = state.session_factory
    if request.method in READ_METHODS:
        factory = getattr(state, "read_session_factory", factory)
    session: Session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
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
