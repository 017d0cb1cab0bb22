"""Exception handlers: every error leaves as an ``AppError`` rendered in one place.

Under ``/api/`` an error is ``application/problem+json`` (RFC 9457: ``type``, ``title``,
``status``, ``detail``, ``code``, ``request_id``, and ``errors`` for invalid input); on any
other path it is the friendly page of ``web.error_pages``.

Mapping:

- ``AppError`` (services, dependencies)          → its own status and code
- malformed JSON body                            → 400 ``malformed_json``
- pydantic validation (types, missing, unknown)  → 422 ``invalid_input`` + ``errors``
  [{``loc``, ``msg``, ``type``}] — the offending input is never echoed (it may be a password)
- Starlette ``HTTPException`` (unknown route 404, wrong method 405 with ``Allow``, 413 …)
  → the same status with a stable code
- anything else is caught by ``web.middleware`` → 500 ``internal_error``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from tsunagu.core.errors import (
    AppError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
)
from tsunagu.core.http import problem_response
from tsunagu.web.error_pages import render_error_page

API_PREFIX = "/api/"
#: RFC 6750: a 401 from the API names the scheme it expects
WWW_AUTHENTICATE = 'Bearer realm="tsunagu"'


class MalformedJsonError(AppError):
    status_code = 400
    code = "malformed_json"
    title = "Malformed JSON"


class MethodNotAllowedError(AppError):
    status_code = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class UnsupportedHttpError(AppError):
    """An HTTP status the app has no dedicated error class for."""


_BY_STATUS: dict[int, type[AppError]] = {
    400: AppError,
    401: NotAuthenticated,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowedError,
    413: PayloadTooLarge,
    422: InvalidInput,
}


def render_app_error(
    request: Request, exc: AppError, headers: dict[str, str] | None = None
) -> Response:
    """``exc`` as problem+json under /api, as a page elsewhere."""
    if not request.url.path.startswith(API_PREFIX):
        return render_error_page(request, exc)
    if exc.status_code == 401:
        headers = {**(headers or {}), "WWW-Authenticate": WWW_AUTHENTICATE}
    return problem_response(
        request,
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.message,
        errors=exc.errors,
        headers=headers,
    )


def _http_error(status: int, detail: str) -> AppError:
    cls = _BY_STATUS.get(status)
    if cls is None:
        title = _phrase(status) or f"HTTP {status}"
        cls = type(
            "UnsupportedHttpError",
            (UnsupportedHttpError,),
            {"status_code": status, "code": f"http_{status}", "title": title},
        )
    if not detail or detail == _phrase(status):
        detail = _DETAILS.get(status, detail or f"HTTP {status}")
    return cls(detail)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


_DETAILS = {
    404: "there is nothing at this address",
    405: "this address does not accept that method",
}


def _validation_errors(errors: Any) -> list[dict[str, Any]]:
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in errors
    ]


def install_exception_handlers(app: FastAPI) -> None:
    """Register the handlers of this module on ``app``."""

    @app.exception_handler(AppError)
    def _app_error(request: Request, exc: AppError) -> Response:
        return render_app_error(request, exc)

    @app.exception_handler(RequestValidationError)
    def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if malformed is not None:
            where = malformed.get("loc", ())
            position = f" (at character {where[-1]})" if len(where) > 1 else ""
            reason = (malformed.get("ctx") or {}).get("error", "not valid JSON")
            return render_app_error(
                request,
                MalformedJsonError(f"the request body is not valid JSON: {reason}{position}"),
            )
        return render_app_error(
            request,
            InvalidInput(
                "the request does not have the expected shape", errors=_validation_errors(errors)
            ),
        )

    @app.exception_handler(HTTPException)
    def _http_exception(request: Request, exc: HTTPException) -> Response:
        headers = dict(exc.headers) if exc.headers else None
        if headers is not None:
            headers.pop("WWW-Authenticate", None)
        return render_app_error(request, _http_error(exc.status_code, str(exc.detail)), headers)
