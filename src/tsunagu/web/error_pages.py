"""Friendly HTML pages for errors on non-API paths (the API answers problem+json instead).

The page says what happened in the reader's language, with the right status code and the
stable error code, and never a stack trace or the raw (English, possibly internal) message.
``SignInRequired`` is not shown as a page: the browser is sent to the sign-in page (303)
and a stale session cookie is dropped.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from tsunagu.core.errors import AppError
from tsunagu.core.i18n import gettext_for, gettext_noop
from tsunagu.core.templating import request_locale
from tsunagu.identity.web_auth import (
    CsrfTokenInvalid,
    SignInRequired,
    clear_session_cookie,
    redirect,
    render_page,
    session_token,
    settings_of,
)

logger = logging.getLogger(__name__)

# (heading, explanation) by status code; msgids live in the catalogues (see below).
_BY_STATUS: dict[int, tuple[str, str]] = {
    400: (gettext_noop("Bad request"), gettext_noop("The request could not be understood.")),
    401: (gettext_noop("Please sign in"), gettext_noop("You need to sign in to see this page.")),
    403: (gettext_noop("Not allowed"), gettext_noop("Your account is not allowed to do this.")),
    404: (
        gettext_noop("Page not found"),
        gettext_noop("The page or the item you asked for does not exist."),
    ),
    405: (gettext_noop("Not allowed"), gettext_noop("This page cannot be used that way.")),
    409: (
        gettext_noop("Conflict"),
        gettext_noop("This clashes with something that already exists."),
    ),
    413: (
        gettext_noop("Too large"),
        gettext_noop("What you sent is larger than this server accepts."),
    ),
    422: (
        gettext_noop("Check your input"),
        gettext_noop("Some of what you entered could not be accepted."),
    ),
}
_DEFAULT = (
    gettext_noop("Something went wrong"),
    gettext_noop("The request could not be completed."),
)
_CSRF = (
    gettext_noop("The form has expired"),
    gettext_noop(
        "For your safety the form could not be sent. Go back, reload the page and try again."
    ),
)


def _texts(exc: AppError) -> tuple[str, str]:
    if isinstance(exc, CsrfTokenInvalid):
        return _CSRF
    return _BY_STATUS.get(exc.status_code, _DEFAULT)


def render_error_page(request: Request, exc: AppError) -> Response:
    """The page a browser sees for ``exc``."""
    if isinstance(exc, SignInRequired):
        response = redirect(exc.sign_in_url)
        if session_token(request):
            clear_session_cookie(response, settings_of(request))
        return response
    heading, explanation = _texts(exc)
    try:
        locale = request_locale(request)
        context = {
            "heading": gettext_for(locale, heading),
            "explanation": gettext_for(locale, explanation),
            "code": exc.code,
            "status": exc.status_code,
        }
        return render_page(request, "error.html", context, status_code=exc.status_code)
    except Exception:  # the error page itself must never fail with a traceback
        logger.exception("rendering the error page failed")
        return HTMLResponse(
            "<!doctype html><title>tsunagu</title><p>Error / エラー</p>",
            status_code=exc.status_code,
        )
