"""The request envelope: one pure ASGI middleware around every HTTP request.

For each request it

1. takes a sane incoming ``X-Request-ID`` or makes one, keeps it in ``request.state`` and
   in ``core.logging.request_id_var``, and echoes it in the ``X-Request-ID`` header;
2. refuses a body larger than ``max_body_bytes`` — by its ``Content-Length`` before the
   application runs, and by counting the bytes actually streamed (a chunked body or a
   lying ``Content-Length``) — with 413 ``payload_too_large``;
3. adds the security headers to every response (and ``Cache-Control: no-store`` to API
   answers, which may carry a new API key);
4. turns any exception that escaped the application into a 500 without a stack trace
   (the traceback goes to the log, with the request id);
5. logs one ``tsunagu.access`` line: method, path, status, duration_ms, request_id and,
   when a dependency authenticated someone (``request.state.actor``), the actor's kind and
   organization.  Never bodies, query strings, headers or credentials.

It is written against raw ASGI, not ``BaseHTTPMiddleware``, to keep the per-request cost low.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsunagu.core.errors import AppError, PayloadTooLarge
from tsunagu.core.logging import request_id_var

REQUEST_ID_HEADER = "x-request-id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
)
HSTS_HEADER = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
#: API answers may hold secrets (a new API key) and are per caller: never stored by caches
API_CACHE_HEADER = (b"cache-control", b"no-store")

access_log = logging.getLogger("tsunagu.access")
error_log = logging.getLogger("tsunagu.web")

#: renders an ``AppError`` for a request: problem+json under /api, a page elsewhere
ErrorRenderer = Callable[[Request, AppError], Response]


class InternalError(AppError):
    """What a client is told about a failure the code did not foresee."""

    status_code = 500
    code = "internal_error"
    title = "Internal server error"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the streamed body passes the limit.

    An ``HTTPException`` (not an ``AppError``) because FastAPI re-raises those unchanged
    from body parsing, where it would turn any other exception into a 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


# A fresh request id is a random per-process prefix and a counter: unique, and made without
# a system call on the event loop's thread (a uuid4 asks the kernel for randomness, which
# releases the GIL and, under load, waits for the worker threads to give it back).
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count()


def sane_request_id(value: str | None) -> str:
    """The client's request id if it is short and harmless, else a fresh one."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class RequestEnvelopeMiddleware:
    """See the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        render_error: ErrorRenderer,
        hsts: bool = False,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.render_error = render_error
        self.extra_headers = (*SECURITY_HEADERS, HSTS_HEADER) if hsts else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming_id: str | None = None
        content_length: str | None = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming_id = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value.decode("latin-1")
        request_id = sane_request_id(incoming_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = request_id_var.set(request_id)
        id_header = (b"x-request-id", request_id.encode())
        extra_headers = self.extra_headers
        if scope["path"].startswith("/api/"):
            extra_headers = (*extra_headers, API_CACHE_HEADER)
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.append(id_header)
                headers.extend(h for h in extra_headers if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        limit = self.max_body_bytes
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            if content_length is not None and _too_long(content_length, limit):
                await self._send_error(scope, send_with_headers, _payload_too_large(limit))
            else:
                await self.app(scope, counting_receive, send_with_headers)
        except BodyTooLarge:
            if not response_started:
                await self._send_error(scope, send_with_headers, _payload_too_large(limit))
        except Exception:
            error_log.exception(
                "unhandled error while serving %s %s", scope["method"], _loggable_path(scope)
            )
            if not response_started:
                await self._send_error(
                    scope, send_with_headers, InternalError("an unexpected error occurred")
                )
        finally:
            self._log_access(scope, state, request_id, status, started)
            request_id_var.reset(token)

    async def _send_error(self, scope: Scope, send: Send, exc: AppError) -> None:
        request = Request(scope)
        try:
            response = self.render_error(request, exc)
        except Exception:
            error_log.exception("rendering an error response failed")
            response = Response(exc.title, status_code=exc.status_code, media_type="text/plain")
        await response(scope, _empty_receive, send)

    @staticmethod
    def _log_access(
        scope: Scope, state: dict[str, Any], request_id: str, status: int, started: float
    ) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        path = _loggable_path(scope)
        fields: dict[str, Any] = {
            "method": scope["method"],
            "path": path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "request_id": request_id,
        }
        actor = state.get("actor")
        if actor is not None:
            fields["actor_kind"] = actor.kind
            if actor.organization_id is not None:
                fields["organization_id"] = str(actor.organization_id)
        access_log.info("%s %s %s", scope["method"], path, status, extra=fields)


def _loggable_path(scope: Scope) -> str:
    path: str = scope["path"]
    if not path.isprintable():  # a decoded %0A must not forge a second log line
        path = path.encode("unicode_escape").decode("ascii")
    return path


def _too_long(content_length: str, limit: int) -> bool:
    try:
        return int(content_length) > limit
    except ValueError:
        return False  # not a number: the server rejects it, or counting catches it


def _payload_too_large(limit: int) -> AppError:
    return PayloadTooLarge(f"the request body is larger than {limit} bytes")


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}
