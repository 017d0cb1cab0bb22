"""Sign-in state and CSRF protection of the web pages (an adapter: imports FastAPI).

Cookies:

- ``tsunagu_session`` — the token of a server-side ``WebSession`` (staff or person);
  HttpOnly, SameSite=Lax, Secure when ``Settings.secure_cookies``.  Only its digest is
  stored, and signing out revokes the row, so an old cookie is useless.
- ``tsunagu_csrf`` — before sign-in, a random token signed with the secret key
  (double-submit: the same token travels in the form's ``csrf_token`` field).
- ``lang`` — the language chosen with the switcher (read by ``core.templating``).

Every form POST depends on ``csrf_protect``: when the browser holds a live session the
form must carry that session's ``csrf_token``; otherwise it must carry the token of the
signed ``tsunagu_csrf`` cookie.  Anything else is ``CsrfTokenInvalid`` (403) and the
endpoint never runs.

``page_staff`` / ``page_person`` resolve the session for pages; without one they raise
``SignInRequired``, which the web layer turns into a 303 to the right sign-in page.
Pages render through ``render_page`` so the form token and the viewer reach the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, cast
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, Signer
from sqlalchemy.orm import Session

from tsunagu.core.crypto import constant_time_equal, random_token
from tsunagu.core.errors import NotAuthenticated, PermissionDenied
from tsunagu.core.http import db_session
from tsunagu.core.i18n import negotiate_locale
from tsunagu.core.settings import Settings, get_settings
from tsunagu.core.templating import LANG_COOKIE, render
from tsunagu.identity.errors import SessionExpired
from tsunagu.identity.models import Membership, Organization, Person, StaffUser, WebSession
from tsunagu.identity.service import (
    Actor,
    find_membership,
    get_organization,
    get_person,
    get_staff_user,
    resolve_web_session,
)

SESSION_COOKIE = "tsunagu_session"
CSRF_COOKIE = "tsunagu_csrf"
CSRF_FIELD = "csrf_token"
STAFF_SIGN_IN = "/signin"
PERSON_SIGN_IN = "/portal/signin"
_CSRF_SALT = "tsunagu.csrf"
_UNRESOLVED = object()


class SignInRequired(NotAuthenticated):
    """The page needs a signed-in staff user or person; the browser is sent to sign in."""

    code = "sign_in_required"

    def __init__(self, message: str, *, sign_in_url: str) -> None:
        super().__init__(message)
        self.sign_in_url = sign_in_url


class CsrfTokenInvalid(PermissionDenied):
    code = "csrf_failed"


@dataclass(frozen=True, slots=True)
class Viewer:
    """What the layout shows about who is signed in (plain values, safe after rollback)."""

    kind: Literal["staff", "person"]
    display_name: str
    csrf_token: str
    role: str | None = None
    organization_name: str | None = None


@dataclass(frozen=True, slots=True)
class StaffPage:
    """A staff user signed in to one organization."""

    web_session: WebSession
    actor: Actor
    user: StaffUser
    membership: Membership
    organization: Organization


@dataclass(frozen=True, slots=True)
class PersonPage:
    """A person signed in to the personal portal."""

    web_session: WebSession
    actor: Actor
    person: Person


def settings_of(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def session_max_age(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.session_max_age_seconds)


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def find_web_session(request: Request, db: Session) -> tuple[WebSession, Actor] | None:
    """The live session of the browser (resolved once per request), or None."""
    cached = getattr(request.state, "web_auth", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cast("tuple[WebSession, Actor] | None", cached)
    found: tuple[WebSession, Actor] | None = None
    token = session_token(request)
    if token:
        try:
            found = resolve_web_session(db, token, max_age=session_max_age(settings_of(request)))
        except SessionExpired:
            found = None
    request.state.web_auth = found
    if found is not None:
        request.state.session_csrf = found[0].csrf_token
    return found


def _user_locale(request: Request, own: str | None) -> str:
    return negotiate_locale(
        user_locale=own,
        cookie_locale=request.cookies.get(LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
        default=settings_of(request).default_locale,
    )


def _here(request: Request) -> str:
    path = request.url.path
    return path + ("?" + request.url.query if request.url.query else "")


def page_staff(request: Request, db: Session = Depends(db_session, scope="function")) -> StaffPage:
    """The signed-in staff user of a console page; otherwise off to ``/signin``."""
    found = find_web_session(request, db)
    if found is None or found[1].kind != "staff":
        target = f"{STAFF_SIGN_IN}?next={quote(_here(request), safe='/')}"
        raise SignInRequired("please sign in", sign_in_url=target)
    web_session, actor = found
    user = get_staff_user(db, actor.user_id) if actor.user_id else None
    membership = find_membership(db, actor.org_id, user.id) if user else None
    if user is None or membership is None or not user.is_active:
        raise SignInRequired("please sign in", sign_in_url=STAFF_SIGN_IN)
    organization = get_organization(db, actor.org_id)
    request.state.locale = _user_locale(request, user.locale)
    request.state.timezone = organization.timezone
    request.state.actor = actor
    request.state.viewer = Viewer(
        kind="staff",
        display_name=user.display_name,
        csrf_token=web_session.csrf_token,
        role=membership.role,
        organization_name=organization.name,
    )
    return StaffPage(web_session, actor, user, membership, organization)


def page_person(
    request: Request, db: Session = Depends(db_session, scope="function")
) -> PersonPage:
    """The signed-in person of a portal page; otherwise off to ``/portal/signin``."""
    found = find_web_session(request, db)
    if found is None or found[1].kind != "person" or found[1].person_id is None:
        raise SignInRequired("please sign in", sign_in_url=PERSON_SIGN_IN)
    web_session, actor = found
    person = get_person(db, found[1].person_id)
    request.state.actor = actor
    request.state.locale = _user_locale(request, person.locale)
    request.state.viewer = Viewer(
        kind="person",
        display_name=f"{person.family_name} {person.given_name}",
        csrf_token=web_session.csrf_token,
    )
    return PersonPage(web_session, actor, person)


def page_optional(
    request: Request, db: Session = Depends(db_session, scope="function")
) -> Viewer | None:
    """Whoever is signed in, if anyone, for pages open to all (the sign-in pages)."""
    found = find_web_session(request, db)
    if found is None:
        return None
    try:
        if found[1].kind == "staff":
            page_staff(request, db)
        else:
            page_person(request, db)
    except SignInRequired:
        return None
    viewer = getattr(request.state, "viewer", None)
    return viewer if isinstance(viewer, Viewer) else None


# --- CSRF ------------------------------------------------------------------------------


def _signer(request: Request) -> Signer:
    return Signer(settings_of(request).resolved_secret_key(), salt=_CSRF_SALT)


def _anonymous_cookie_token(request: Request) -> str | None:
    signed = request.cookies.get(CSRF_COOKIE)
    if not signed:
        return None
    try:
        return _signer(request).unsign(signed).decode()
    except BadSignature:
        return None


def anonymous_csrf_token(request: Request) -> str:
    """The double-submit token of a browser that is not signed in (made when missing)."""
    pending = getattr(request.state, "new_csrf_token", None)
    if isinstance(pending, str):
        return pending
    existing = _anonymous_cookie_token(request)
    if existing:
        return existing
    token = random_token(24)
    request.state.new_csrf_token = token
    return token


def form_csrf_token(request: Request) -> str:
    """The token the forms of this page must carry."""
    viewer = getattr(request.state, "viewer", None)
    if isinstance(viewer, Viewer):
        return viewer.csrf_token
    session_csrf = getattr(request.state, "session_csrf", None)
    if isinstance(session_csrf, str):
        return session_csrf
    return anonymous_csrf_token(request)


def check_csrf(request: Request, db: Session, submitted: str) -> None:
    """Raise ``CsrfTokenInvalid`` unless ``submitted`` is the browser's CSRF token."""
    found = find_web_session(request, db)
    expected = found[0].csrf_token if found is not None else _anonymous_cookie_token(request)
    if not expected or not submitted or not constant_time_equal(expected, submitted):
        raise CsrfTokenInvalid("the form has expired or did not come from this site")


def csrf_protect(
    request: Request,
    csrf_token: str = Form(default="", alias=CSRF_FIELD),
    db: Session = Depends(db_session, scope="function"),
) -> None:
    """Dependency of every form POST: refuse it unless it carries the CSRF token."""
    check_csrf(request, db, csrf_token)


# --- responses -------------------------------------------------------------------------


def render_page(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """``core.templating.render`` with the layout's viewer and form token filled in."""
    values: dict[str, Any] = {
        "viewer": getattr(request.state, "viewer", None),
        "csrf_token": form_csrf_token(request),
        "current_path": _here(request),
    }
    timezone = getattr(request.state, "timezone", None)
    if timezone:
        values["timezone"] = timezone
    values.update(context or {})
    response = render(request, name, values, status_code=status_code)
    pending = getattr(request.state, "new_csrf_token", None)
    if isinstance(pending, str):
        settings = settings_of(request)
        response.set_cookie(
            CSRF_COOKIE,
            _signer(request).sign(pending).decode(),
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
            path="/",
        )
    return response


def redirect(url: str) -> RedirectResponse:
    """A 303 See Other: after a POST the browser follows with a GET."""
    return RedirectResponse(url, status_code=303)


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=settings.secure_cookies, path="/"
    )


def set_lang_cookie(response: Response, locale: str, settings: Settings) -> None:
    response.set_cookie(
        LANG_COOKIE,
        locale,
        max_age=365 * 24 * 60 * 60,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def safe_next(value: str | None, default: str) -> str:
    """A local path to go to after a form, never another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
