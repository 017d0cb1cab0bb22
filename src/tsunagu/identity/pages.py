"""HTML pages of the identity domain (thin: check the form, call the service, render).

Staff console: ``/signin``, ``/signout``, ``/dashboard``, ``/settings/api-keys``.
Personal portal: ``/portal/signin``, ``/portal/signout``, ``/portal``.
Both: ``/`` (sends the browser where it belongs) and ``/settings/language``.

Every POST is CSRF-checked (``web_auth.csrf_protect``) before it changes anything; state
is committed before the redirect leaves (the session dependency is function-scoped), so
the next page sees it.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tsunagu.core.http import db_session
from tsunagu.core.i18n import normalise_locale
from tsunagu.identity.errors import InvalidCredentials
from tsunagu.identity.models import API_KEY_ROLES, Membership, Person, StaffUser
from tsunagu.identity.preferences import set_own_locale
from tsunagu.identity.service import (
    ROLE_RANK,
    authenticate_person,
    authenticate_staff,
    create_api_key,
    end_web_session,
    list_api_keys,
    list_staff,
    revoke_api_key,
    start_web_session,
)
from tsunagu.identity.web_auth import (
    PERSON_SIGN_IN,
    STAFF_SIGN_IN,
    PersonPage,
    StaffPage,
    Viewer,
    check_csrf,
    clear_session_cookie,
    csrf_protect,
    find_web_session,
    page_optional,
    page_person,
    page_staff,
    redirect,
    render_page,
    safe_next,
    session_max_age,
    session_token,
    set_lang_cookie,
    set_session_cookie,
    settings_of,
)

router = APIRouter(include_in_schema=False)

STAFF_HOME = "/dashboard"
PERSON_HOME = "/portal"


@router.get("/")
def home(viewer: Viewer | None = Depends(page_optional)) -> Response:
    if viewer is not None and viewer.kind == "staff":
        return redirect(STAFF_HOME)
    if viewer is not None:
        return redirect(PERSON_HOME)
    return redirect(STAFF_SIGN_IN)


# --- staff sign-in ---------------------------------------------------------------------


@router.get("/signin")
def signin_form(
    request: Request, next: str = "", viewer: Viewer | None = Depends(page_optional)
) -> Response:
    if viewer is not None and viewer.kind == "staff":
        return redirect(safe_next(next, STAFF_HOME))
    return render_page(request, "identity/signin.html", {"next": safe_next(next, "")})


@router.post("/signin", dependencies=[Depends(csrf_protect)])
def signin_submit(
    request: Request,
    email: str = Form(default=""),
    password: str = Form(default=""),
    organization: str = Form(default=""),
    next: str = Form(default=""),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    try:
        user, membership = authenticate_staff(
            db, email=email, password=password, org_slug=organization.strip() or None
        )
    except InvalidCredentials:
        context = {
            "error": True,
            "email": email,
            "organization": organization,
            "next": safe_next(next, ""),
        }
        return render_page(request, "identity/signin.html", context, status_code=401)
    return _signed_in(request, db, safe_next(next, STAFF_HOME), user=user, membership=membership)


@router.post("/signout")
def signout(
    request: Request,
    csrf_token: str = Form(default=""),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    return _sign_out(request, db, csrf_token, STAFF_SIGN_IN)


# --- staff console ---------------------------------------------------------------------


@router.get("/dashboard")
def dashboard(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    keys = list_api_keys(db, page.actor)
    context = {
        "organization": page.organization,
        "user": page.user,
        "role": page.membership.role,
        "staff_count": len(list_staff(db, page.actor)),
        "api_key_count": sum(1 for key in keys if key.revoked_at is None),
        "can_manage_keys": _is_admin(page),
    }
    return render_page(request, "identity/dashboard.html", context)


@router.get("/settings/api-keys")
def api_keys(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    page.actor.require_role("admin")
    return _api_keys_page(request, db, page)


@router.post("/settings/api-keys")
def api_key_create(
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    name: str = Form(default=""),
    role: str = Form(default="member"),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    page.actor.require_role("admin")
    name = name.strip()
    if not name or len(name) > 100 or role not in API_KEY_ROLES:
        return _api_keys_page(request, db, page, form_error=True, status_code=422)
    key, plain = create_api_key(
        db, organization=page.organization, name=name, role=role, created_by=page.user.id
    )
    return _api_keys_page(request, db, page, new_key=plain, new_key_name=key.name)


@router.post("/settings/api-keys/{key_id}/revoke")
def api_key_revoke(
    request: Request,
    key_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    key = revoke_api_key(db, page.actor, key_id)
    request.app.state.api_key_cache.forget(key.id)
    return redirect("/settings/api-keys")


# --- personal portal -------------------------------------------------------------------


@router.get("/portal/signin")
def portal_signin_form(
    request: Request, viewer: Viewer | None = Depends(page_optional)
) -> Response:
    if viewer is not None and viewer.kind == "person":
        return redirect(PERSON_HOME)
    return render_page(request, "identity/portal_signin.html", {})


@router.post("/portal/signin", dependencies=[Depends(csrf_protect)])
def portal_signin_submit(
    request: Request,
    email: str = Form(default=""),
    password: str = Form(default=""),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    try:
        person = authenticate_person(db, email=email, password=password)
    except InvalidCredentials:
        context = {"error": True, "email": email}
        return render_page(request, "identity/portal_signin.html", context, status_code=401)
    return _signed_in(request, db, PERSON_HOME, person=person)


@router.post("/portal/signout")
def portal_signout(
    request: Request,
    csrf_token: str = Form(default=""),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    return _sign_out(request, db, csrf_token, PERSON_SIGN_IN)


@router.get("/portal")
def portal(request: Request, page: PersonPage = Depends(page_person)) -> HTMLResponse:
    return render_page(request, "identity/portal.html", {"person": page.person})


# --- both ------------------------------------------------------------------------------


@router.post("/settings/language", dependencies=[Depends(csrf_protect)])
def change_language(
    request: Request,
    locale: str = Form(default=""),
    next: str = Form(default=""),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    chosen = normalise_locale(locale) or settings_of(request).default_locale
    found = find_web_session(request, db)
    if found is not None:
        set_own_locale(db, found[1], chosen)
    response = redirect(safe_next(next, "/"))
    set_lang_cookie(response, chosen, settings_of(request))
    return response


# --- helpers ---------------------------------------------------------------------------


def _is_admin(page: StaffPage) -> bool:
    return ROLE_RANK[page.membership.role] >= ROLE_RANK["admin"]


def _api_keys_page(
    request: Request,
    db: Session,
    page: StaffPage,
    *,
    new_key: str | None = None,
    new_key_name: str | None = None,
    form_error: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "keys": list_api_keys(db, page.actor),
        "roles": API_KEY_ROLES,
        "new_key": new_key,
        "new_key_name": new_key_name,
        "form_error": form_error,
    }
    return render_page(request, "identity/api_keys.html", context, status_code=status_code)


def _signed_in(
    request: Request,
    db: Session,
    target: str,
    *,
    user: StaffUser | None = None,
    membership: Membership | None = None,
    person: Person | None = None,
) -> Response:
    """Replace any session of the browser with a new one and go to ``target``."""
    settings = settings_of(request)
    old = session_token(request)
    if old:
        end_web_session(db, old)
    _row, token = start_web_session(
        db, max_age=session_max_age(settings), user=user, membership=membership, person=person
    )
    response = redirect(target)
    set_session_cookie(response, token, settings)
    return response


def _sign_out(request: Request, db: Session, csrf_token: str, target: str) -> Response:
    """End the browser's session (a live one only with its CSRF token) and forget it."""
    token = session_token(request)
    if token and find_web_session(request, db) is not None:
        check_csrf(request, db, csrf_token)
        end_web_session(db, token)
    response = redirect(target)
    clear_session_cookie(response, settings_of(request))
    return response
