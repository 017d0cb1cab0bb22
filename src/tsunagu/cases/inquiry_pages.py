"""The public inquiry form of a project (no sign-in) and the inquirer's follow-up page.

- ``GET /inquiry/{org_slug}/{KEY}`` — the form (Japanese or English: ``?lang=``, else the
  ``lang`` cookie or the browser's languages): name, e-mail, subject, message, the consent
  checkbox with the project's notice (only when it has one), a honeypot field hidden by a
  CSS class (the CSP allows no inline style) and a hidden idempotency key, new per
  rendering.  A project without an open form answers a friendly 404 page.
- ``POST`` the same path — the rate limit per client address (429 page), the honeypot
  (filled: a thank-you page, nothing stored), the checks (422: the form again with what was
  typed and what is wrong), then ``inquiry.submit_inquiry`` and the thank-you page with the
  reference number and the follow-up link.  Sending the same rendering twice shows the
  same reference.
- ``GET /inquiry/follow/{token}`` — the signed link: reference, status, the inquirer's
  message and the public replies (Markdown, sanitised); ``POST`` adds the inquirer's
  reply.  An altered token is the 404 page.

CSRF: both forms carry the site's double-submit token (``csrf_protect``: a random token in
a signed cookie and the same in the form); the follow-up form is moreover only reachable
through the signed link, which stands in for a sign-in.  Follow routes are declared first,
so ``follow`` can never be read as an organization's slug.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tsunagu.cases import inquiry
from tsunagu.cases.markdown import render as markdown
from tsunagu.cases.models import Project
from tsunagu.core.http import db_session
from tsunagu.core.i18n import SUPPORTED_LOCALES
from tsunagu.core.templating import LANG_COOKIE, request_locale
from tsunagu.identity.models import Organization
from tsunagu.identity.web_auth import (
    csrf_protect,
    find_web_session,
    redirect,
    render_page,
    settings_of,
)
from tsunagu.vault.dependencies import vault_of

router = APIRouter(include_in_schema=False)

FOLLOW = "/inquiry/follow/{token}"
FORM = "/inquiry/{org_slug}/{key}"
HONEYPOT = "website"

_limiter_lock = threading.Lock()


def limiter_of(request: Request) -> inquiry.RateLimiter:
    """The app's limiter of inquiry submissions (made on first use, kept in app.state)."""
    state = request.app.state
    with _limiter_lock:
        limiter = getattr(state, "inquiry_limiter", None)
        if not isinstance(limiter, inquiry.RateLimiter):
            settings = settings_of(request)
            limiter = inquiry.RateLimiter(
                settings.inquiry_rate_limit, settings.inquiry_rate_window_seconds
            )
            state.inquiry_limiter = limiter
        return limiter


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _choose_language(request: Request, fallback: str | None = None) -> str:
    """``?lang=`` wins; then the ``lang`` cookie or the browser, or ``fallback`` when the
    reader never chose (the follow-up page falls back to the inquiry's language)."""
    asked = request.query_params.get("lang")
    if asked in SUPPORTED_LOCALES:
        request.state.locale = asked
    elif fallback in SUPPORTED_LOCALES and request.cookies.get(LANG_COOKIE) is None:
        request.state.locale = fallback
    return request_locale(request)


def _missing(request: Request) -> HTMLResponse:
    return render_page(request, "cases/inquiry_missing.html", status_code=404)


def _busy(request: Request) -> HTMLResponse:
    response = render_page(request, "cases/inquiry_busy.html", status_code=429)
    response.headers["Retry-After"] = str(settings_of(request).inquiry_rate_window_seconds)
    return response


def _organization_name(db: Session, project: Project) -> str:
    org = db.get(Organization, project.organization_id)
    return org.name if org is not None else ""


def _form_page(
    request: Request,
    db: Session,
    project: Project,
    org_slug: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    notice, notice_language = inquiry.notice_for(project, locale)
    values = dict(form or {})
    values.setdefault("idempotency_key", inquiry.new_idempotency_key())
    return render_page(
        request,
        "cases/inquiry_form.html",
        {
            "project": project,
            "organization_name": _organization_name(db, project),
            "action": f"/inquiry/{org_slug}/{project.key}?lang={locale}",
            "notice": notice,
            "notice_language": notice_language,
            "form": values,
            "errors": errors or {},
            "problems": inquiry.FIELD_PROBLEMS,
            "honeypot": HONEYPOT,
            "limits": {
                "name": inquiry.MAX_NAME,
                "email": inquiry.MAX_EMAIL,
                "subject": inquiry.MAX_SUBJECT,
                "message": inquiry.MAX_MESSAGE,
            },
        },
        status_code=status_code,
    )


# --- follow-up (declared before the form: "follow" is never an organization) -------------


def _follow_page(
    request: Request,
    db: Session,
    token: str,
    found: Any,
    *,
    error: str | None = None,
    body: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    case = inquiry.case_of(db, found)
    project = db.get(Project, case.project_id)
    org = db.get(Organization, case.organization_id)
    comments = [
        {
            "mine": c.from_inquirer,
            "author": found.name if c.from_inquirer else (org.name if org else ""),
            "at": c.created_at,
            "html": markdown(c.body),
        }
        for c in inquiry.public_comments(db, case)
    ]
    values: dict[str, Any] = {
        "inquiry": found,
        "case": case,
        "project_name": project.name if project else "",
        "organization_name": org.name if org else "",
        "status": inquiry.status_name(db, case, locale),
        "message_html": markdown(case.description),
        "comments": comments,
        "action": f"/inquiry/follow/{token}?lang={locale}",
        "error": error,
        "problems": inquiry.FIELD_PROBLEMS,
        "body": body,
        "sent": request.query_params.get("sent") == "1",
    }
    if org is not None and org.timezone:
        values["timezone"] = org.timezone
    return render_page(request, "cases/inquiry_follow.html", values, status_code=status_code)


@router.get(FOLLOW, response_class=HTMLResponse)
def follow_page(
    request: Request, token: str, db: Session = Depends(db_session, scope="function")
) -> Response:
    find_web_session(request, db)
    secret = settings_of(request).resolved_secret_key()
    try:
        found = inquiry.inquiry_for_token(db, secret, token)
    except inquiry.InquiryNotFound:
        _choose_language(request)
        return _missing(request)
    _choose_language(request, found.locale)
    return _follow_page(request, db, token, found)


@router.post(FOLLOW, response_class=HTMLResponse, dependencies=[Depends(csrf_protect)])
def follow_reply(
    request: Request,
    token: str,
    body: str = Form(default=""),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    secret = settings_of(request).resolved_secret_key()
    try:
        found = inquiry.inquiry_for_token(db, secret, token)
    except inquiry.InquiryNotFound:
        _choose_language(request)
        return _missing(request)
    locale = _choose_language(request, found.locale)
    if not limiter_of(request).allow(_client(request)):
        return _busy(request)
    try:
        inquiry.reply(db, found, body)
    except inquiry.InvalidInquiry as exc:
        reason = exc.errors[0]["reason"] if exc.errors else "required"
        kept = body if "\x00" not in body else ""
        return _follow_page(
            request, db, token, found, error=reason, body=kept[:50_000], status_code=422
        )
    return redirect(f"/inquiry/follow/{token}?lang={locale}&sent=1")


# --- the form ----------------------------------------------------------------------------


@router.get(FORM, response_class=HTMLResponse)
def inquiry_form(
    request: Request, org_slug: str, key: str, db: Session = Depends(db_session, scope="function")
) -> Response:
    find_web_session(request, db)
    _choose_language(request)
    try:
        project = inquiry.open_form(db, org_slug, key)
    except inquiry.InquiryFormNotFound:
        return _missing(request)
    return _form_page(request, db, project, org_slug)


@router.post(FORM, response_class=HTMLResponse, dependencies=[Depends(csrf_protect)])
def submit_inquiry(
    request: Request,
    org_slug: str,
    key: str,
    name: str = Form(default=""),
    email: str = Form(default=""),
    subject: str = Form(default=""),
    message: str = Form(default=""),
    consent: str = Form(default=""),
    idempotency_key: str = Form(default=""),
    website: str = Form(default=""),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    locale = _choose_language(request)
    try:
        project = inquiry.open_form(db, org_slug, key)
    except inquiry.InquiryFormNotFound:
        return _missing(request)
    if not limiter_of(request).allow(_client(request)):
        return _busy(request)
    if website:
        # a bot filled the field people never see: thank it and keep nothing
        return render_page(
            request,
            "cases/inquiry_thanks.html",
            {"project": project, "reference": inquiry.new_reference(), "follow_url": None},
        )
    typed = {
        "name": name,
        "email": email,
        "subject": subject,
        "message": message,
        "idempotency_key": idempotency_key,
    }
    try:
        form = inquiry.check_form(typed, consent=consent == "yes", locale=locale)
    except inquiry.InvalidInquiry as exc:
        errors = {e["field"]: e["reason"] for e in exc.errors or []}
        # what was typed comes back, except characters that cannot be shown or stored
        kept = {k: v.replace("\x00", "")[:50_000] for k, v in typed.items()}
        if "idempotency_key" in errors:
            kept.pop("idempotency_key")
        kept["consent"] = "yes" if consent == "yes" else ""
        return _form_page(request, db, project, org_slug, form=kept, errors=errors, status_code=422)
    settings = settings_of(request)
    submitted = inquiry.submit_inquiry(
        db,
        vault_of(request),
        project,
        form,
        notice=inquiry.notice_for(project, locale),
        settings=settings,
    )
    token = inquiry.follow_token(settings.resolved_secret_key(), submitted.inquiry)
    return render_page(
        request,
        "cases/inquiry_thanks.html",
        {
            "project": project,
            "reference": submitted.inquiry.reference,
            "follow_url": f"/inquiry/follow/{token}?lang={locale}",
        },
    )
