"""Friendly HTML pages for errors on non-API paths."""

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from tsunagu.core.errors import AppError


def render_error_page(request: Request, exc: AppError) -> Response:
    del request
    return HTMLResponse(f"<p>{exc.title}</p>", status_code=exc.status_code)
