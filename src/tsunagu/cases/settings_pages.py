"""Staff pages of a project's settings, Japanese and English.

- ``/cases/projects/new`` — the form that creates a project (the organization's member
  role); its creator becomes the project's admin and lands on its settings;
- ``/cases/projects/{key}/settings?tab=…`` — one page with a tab per section: ``general``
  (name, description, department, visibility with the partner, archive), ``members``,
  ``statuses`` (add, rename, recolour, move up/down between Open and Closed, delete with a
  substitute), ``types``, ``categories``, ``milestones``, ``fields`` (custom fields; one
  option per line) and ``inquiry`` (open the public form, the consent notice in Japanese
  and English, and the form's public address ``/inquiry/{org}/{KEY}``).

Anyone who sees the project reads the page; only its admins see the forms, and every POST
checks the admin role again (``cases.settings``) and the CSRF token.  A refused change
re-renders the page with the reason (422/409) and keeps nothing of it (a savepoint).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.cases import service
from tsunagu.cases import settings as project_settings
from tsunagu.cases.errors import ItemNotFound
from tsunagu.cases.models import VISIBILITIES, Project
from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_noop
from tsunagu.core.templating import request_locale
from tsunagu.identity.models import Membership, Organization, StaffUser
from tsunagu.identity.web_auth import (
    StaffPage,
    csrf_protect,
    page_staff,
    redirect,
    render_page,
    settings_of,
)

router = APIRouter(include_in_schema=False)

NEW = "/cases/projects/new"
CREATE = "/cases/projects"
SETTINGS = "/cases/projects/{key}/settings"

TABS = (
    ("general", gettext_noop("General")),
    ("members", gettext_noop("Members")),
    ("statuses", gettext_noop("Statuses")),
    ("types", gettext_noop("Issue types")),
    ("categories", gettext_noop("Categories")),
    ("milestones", gettext_noop("Milestones")),
    ("fields", gettext_noop("Custom fields")),
    ("inquiry", gettext_noop("Inquiry form")),
)
VISIBILITY_LABELS = {
    "internal": gettext_noop("Internal (members only)"),
    "cross_department": gettext_noop("Across departments (all staff)"),
    "partner": gettext_noop("Shared with a partner organization"),
}
ROLE_LABELS = {
    "admin": gettext_noop("Administrator"),
    "member": gettext_noop("Member"),
    "viewer": gettext_noop("Viewer"),
}
KIND_LABELS = {
    "text": gettext_noop("Text"),
    "number": gettext_noop("Number"),
    "date": gettext_noop("Date"),
    "single": gettext_noop("Single choice"),
    "multi": gettext_noop("Multiple choice"),
}
#: what a refused change is called on the page (the service's detail follows it)
ERRORS = {
    "invalid_input": gettext_noop("Please check the input."),
    "name_taken": gettext_noop("That name is in use already."),
    "project_key_taken": gettext_noop("That project key is in use already."),
    "builtin_status": gettext_noop("Open stays first and Closed last; built-in statuses stay."),
    "substitute_required": gettext_noop("Cases use it: choose where they go instead."),
    "in_use": gettext_noop("A project keeps at least one issue type."),
    "option_in_use": gettext_noop(
        "Cases hold an option you removed: keep it, or rename it in place."
    ),
    "item_not_found": gettext_noop("It is not there any more."),
}


def _can_admin(db: Session, page: StaffPage, project: Project) -> bool:
    role = service.project_role(db, page.actor, project)
    return role is not None and service.ROLE_RANK[role] >= service.ROLE_RANK["admin"]


def _candidates(db: Session, project: Project) -> dict[uuid.UUID, str]:
    """Staff who may be made members: the organization's, and the partner's."""
    orgs = [project.organization_id]
    if project.visibility == "partner" and project.partner_organization_id is not None:
        orgs.append(project.partner_organization_id)
    rows = db.execute(
        select(StaffUser.id, StaffUser.display_name, StaffUser.email)
        .join(Membership, Membership.user_id == StaffUser.id)
        .where(Membership.organization_id.in_(orgs), StaffUser.is_active.is_(True))
        .distinct()
        .order_by(StaffUser.display_name)
    ).all()
    return {row.id: row.display_name or row.email for row in rows}


def _settings_page(
    request: Request,
    db: Session,
    page: StaffPage,
    project: Project,
    tab: str,
    *,
    error: AppError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    if tab not in dict(TABS):
        tab = "general"
    partner = (
        db.get(Organization, project.partner_organization_id)
        if project.partner_organization_id
        else None
    )
    base = settings_of(request).public_base_url.rstrip("/")
    context: dict[str, Any] = {
        "project": project,
        "tab": tab,
        "tabs": TABS,
        "can_admin": _can_admin(db, page, project),
        "saved": request.query_params.get("saved") == "1",
        "error": error,
        "error_title": ERRORS.get(error.code, ERRORS["invalid_input"]) if error else None,
        "partner_slug": partner.slug if partner else "",
        "visibilities": VISIBILITIES,
        "visibility_labels": VISIBILITY_LABELS,
        "role_labels": ROLE_LABELS,
        "kind_labels": KIND_LABELS,
        "statuses": service.statuses(db, project.id),
        "status_label": lambda s: service.status_label(s, locale),
        "types": service.issue_types(db, project.id),
        "type_label": lambda t: service.type_label(t, locale),
        "categories": service.categories(db, project.id),
        "milestones": service.milestones(db, project.id),
        "fields": service.custom_fields(db, project.id),
        "members": service.members(db, project),
        "candidates": _candidates(db, project),
        "inquiry_url": f"{base}/inquiry/{page.organization.slug}/{project.key}",
        "settings_url": SETTINGS.format(key=project.key),
    }
    return render_page(request, "cases/settings.html", context, status_code=status_code)


def _attempt(db: Session, action: Callable[[], Any]) -> AppError | None:
    """Run ``action`` in a savepoint: on an ``AppError`` nothing it wrote remains."""
    try:
        with db.begin_nested():
            action()
    except AppError as exc:
        return exc
    return None


def _change(
    request: Request,
    db: Session,
    page: StaffPage,
    key: str,
    tab: str,
    action: Callable[[Project], Any],
) -> Response:
    """Do one settings change and go back to its tab, or show why it was refused."""
    project = service.get_project(db, page.actor, key)
    service.require(db, page.actor, project, "admin")
    failure = _attempt(db, lambda: action(project))
    if failure is not None:
        if failure.status_code in (401, 403, 404) and failure.code != "item_not_found":
            raise failure
        db.refresh(project)
        return _settings_page(
            request, db, page, project, tab, error=failure, status_code=failure.status_code
        )
    return redirect(f"{SETTINGS.format(key=project.key)}?tab={tab}&saved=1")


def _uuid(value: str, what: str) -> uuid.UUID | None:
    if not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise InvalidInput(f"{what}: not an id") from None


# --- a new project ---------------------------------------------------------------------


def _new_page(
    request: Request,
    page: StaffPage,
    *,
    form: dict[str, str] | None = None,
    error: AppError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "form": form or {"visibility": "internal"},
        "error": error,
        "error_title": ERRORS.get(error.code, ERRORS["invalid_input"]) if error else None,
        "visibilities": VISIBILITIES,
        "visibility_labels": VISIBILITY_LABELS,
        "can_create": page.actor.role in ("owner", "admin", "member"),
    }
    return render_page(request, "cases/projects_new.html", context, status_code=status_code)


@router.get(NEW)
def new_project(request: Request, page: StaffPage = Depends(page_staff)) -> HTMLResponse:
    return _new_page(request, page)


@router.post(CREATE)
def create_project(
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    key: str = Form(default=""),
    name: str = Form(default=""),
    description: str = Form(default=""),
    department: str = Form(default=""),
    visibility: str = Form(default="internal"),
    partner: str = Form(default=""),
) -> Response:
    page.actor.require_role("member")
    form = {
        "key": key.strip().upper(),
        "name": name,
        "description": description,
        "department": department,
        "visibility": visibility,
        "partner": partner.strip(),
    }
    created: list[Project] = []

    def create() -> None:
        partner_id = (
            project_settings.organization_by_slug(db, form["partner"]) if form["partner"] else None
        )
        created.append(
            service.create_project(
                db,
                page.actor,
                key=form["key"],
                name=name,
                description=description,
                visibility=visibility,
                department=department.strip() or None,
                partner_organization_id=partner_id,
            )
        )

    failure = _attempt(db, create)
    if failure is not None:
        if failure.status_code in (401, 403):
            raise failure
        return _new_page(request, page, form=form, error=failure, status_code=failure.status_code)
    return redirect(f"{SETTINGS.format(key=created[0].key)}?tab=general&saved=1")


# --- the settings page -------------------------------------------------------------------


@router.get(SETTINGS)
def project_settings_page(
    request: Request,
    key: str,
    tab: str = "general",
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    project = service.get_project(db, page.actor, key)
    return _settings_page(request, db, page, project, tab)


@router.post(SETTINGS + "/general")
def save_general(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    description: str = Form(default=""),
    department: str = Form(default=""),
    visibility: str = Form(default="internal"),
    partner: str = Form(default=""),
    archived: str = Form(default=""),
) -> Response:
    def action(project: Project) -> None:
        partner_id = (
            project_settings.organization_by_slug(db, partner)
            if visibility == "partner" and partner.strip()
            else None
        )
        project_settings.update_project(
            db,
            page.actor,
            project,
            {
                "name": name,
                "description": description,
                "department": department,
                "visibility": visibility,
                "partner_organization_id": partner_id,
                "archived": archived == "1",
            },
        )

    return _change(request, db, page, key, "general", action)


@router.post(SETTINGS + "/inquiry")
def save_inquiry(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    enabled: str = Form(default=""),
    notice_ja: str = Form(default=""),
    notice_en: str = Form(default=""),
) -> Response:
    def action(project: Project) -> None:
        project_settings.update_project(
            db,
            page.actor,
            project,
            {
                "inquiry_enabled": enabled == "1",
                "inquiry_notice_ja": notice_ja,
                "inquiry_notice_en": notice_en,
            },
        )

    return _change(request, db, page, key, "inquiry", action)


@router.post(SETTINGS + "/members")
def save_member(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    user_id: str = Form(default=""),
    role: str = Form(default="member"),
) -> Response:
    def action(project: Project) -> None:
        user = _uuid(user_id, "user")
        if user is None:
            raise InvalidInput("user: choose someone")
        service.set_member(db, page.actor, project, user, role)

    return _change(request, db, page, key, "members", action)


@router.post(SETTINGS + "/members/{user_id}/remove")
def remove_member(
    request: Request,
    key: str,
    user_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "members",
        lambda project: service.remove_member(db, page.actor, project, user_id),
    )


# --- statuses and issue types ---------------------------------------------------------


@router.post(SETTINGS + "/statuses")
def add_status(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    name_en: str = Form(default=""),
    color: str = Form(default="#888888"),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "statuses",
        lambda project: project_settings.add_status(
            db, page.actor, project, name=name, color=color, name_en=name_en
        ),
    )


@router.post(SETTINGS + "/statuses/{item_id}")
def update_status(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    name_en: str = Form(default=""),
    color: str = Form(default="#888888"),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "statuses",
        lambda project: project_settings.update_status(
            db, page.actor, project, item_id, {"name": name, "name_en": name_en, "color": color}
        ),
    )


@router.post(SETTINGS + "/statuses/{item_id}/move")
def move_status(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    direction: str = Form(default="up"),
) -> Response:
    def action(project: Project) -> None:
        order = [s.id for s in service.statuses(db, project.id)]
        if item_id not in order:
            raise ItemNotFound("no such status")
        at = order.index(item_id)
        to = at - 1 if direction == "up" else at + 1
        if not 0 <= to < len(order):
            raise project_settings.BuiltinStatus("Open stays first and Closed stays last")
        order[at], order[to] = order[to], order[at]
        project_settings.reorder_statuses(db, page.actor, project, order)

    return _change(request, db, page, key, "statuses", action)


@router.post(SETTINGS + "/statuses/{item_id}/delete")
def delete_status(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    substitute: str = Form(default=""),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "statuses",
        lambda project: project_settings.delete_status(
            db, page.actor, project, item_id, substitute_id=_uuid(substitute, "substitute")
        ),
    )


@router.post(SETTINGS + "/types")
def add_issue_type(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    name_en: str = Form(default=""),
    color: str = Form(default="#888888"),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "types",
        lambda project: project_settings.add_issue_type(
            db, page.actor, project, name=name, color=color, name_en=name_en
        ),
    )


@router.post(SETTINGS + "/types/{item_id}")
def update_issue_type(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    name_en: str = Form(default=""),
    color: str = Form(default="#888888"),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "types",
        lambda project: project_settings.update_issue_type(
            db, page.actor, project, item_id, {"name": name, "name_en": name_en, "color": color}
        ),
    )


@router.post(SETTINGS + "/types/{item_id}/delete")
def delete_issue_type(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    substitute: str = Form(default=""),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "types",
        lambda project: project_settings.delete_issue_type(
            db, page.actor, project, item_id, substitute_id=_uuid(substitute, "substitute")
        ),
    )


# --- categories and milestones ---------------------------------------------------------


@router.post(SETTINGS + "/categories")
def add_category(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "categories",
        lambda project: project_settings.add_category(db, page.actor, project, name=name),
    )


@router.post(SETTINGS + "/categories/{item_id}")
def update_category(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "categories",
        lambda project: project_settings.update_category(
            db, page.actor, project, item_id, name=name
        ),
    )


@router.post(SETTINGS + "/categories/{item_id}/delete")
def delete_category(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "categories",
        lambda project: project_settings.delete_category(db, page.actor, project, item_id),
    )


def _milestone_values(
    name: str, description: str, start_date: str, release_due_date: str, archived: str
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "start_date": start_date,
        "release_due_date": release_due_date,
        "archived": archived == "1",
    }


@router.post(SETTINGS + "/milestones")
def add_milestone(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    description: str = Form(default=""),
    start_date: str = Form(default=""),
    release_due_date: str = Form(default=""),
) -> Response:
    values = _milestone_values(name, description, start_date, release_due_date, "")
    return _change(
        request,
        db,
        page,
        key,
        "milestones",
        lambda project: project_settings.add_milestone(db, page.actor, project, values),
    )


@router.post(SETTINGS + "/milestones/{item_id}")
def update_milestone(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    description: str = Form(default=""),
    start_date: str = Form(default=""),
    release_due_date: str = Form(default=""),
    archived: str = Form(default=""),
) -> Response:
    values = _milestone_values(name, description, start_date, release_due_date, archived)
    return _change(
        request,
        db,
        page,
        key,
        "milestones",
        lambda project: project_settings.update_milestone(db, page.actor, project, item_id, values),
    )


@router.post(SETTINGS + "/milestones/{item_id}/delete")
def delete_milestone(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "milestones",
        lambda project: project_settings.delete_milestone(db, page.actor, project, item_id),
    )


# --- custom fields ---------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def in_place_renames(before: list[str], after: list[str]) -> dict[str, str]:
    """Options edited where they stand (same line, same count) are renames: their cases'
    values follow them.  Anything else is an addition or a removal."""
    if len(before) != len(after):
        return {}
    return {
        old: new
        for old, new in zip(before, after, strict=True)
        if old != new and old not in after and new not in before
    }


@router.post(SETTINGS + "/fields")
def add_custom_field(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    kind: str = Form(default="text"),
    options: str = Form(default=""),
    required: str = Form(default=""),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "fields",
        lambda project: project_settings.add_custom_field(
            db,
            page.actor,
            project,
            name=name,
            kind=kind,
            options=_lines(options),
            required=required == "1",
        ),
    )


@router.post(SETTINGS + "/fields/{item_id}")
def update_custom_field(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    options: str = Form(default=""),
    required: str = Form(default=""),
) -> Response:
    def action(project: Project) -> None:
        field = next((f for f in service.custom_fields(db, project.id) if f.id == item_id), None)
        values: dict[str, Any] = {"name": name, "required": required == "1"}
        renames: dict[str, str] = {}
        if field is not None and field.kind in ("single", "multi"):
            values["options"] = _lines(options)
            renames = in_place_renames(list(field.options), values["options"])
        project_settings.update_custom_field(
            db, page.actor, project, item_id, values, renames=renames
        )

    return _change(request, db, page, key, "fields", action)


@router.post(SETTINGS + "/fields/{item_id}/delete")
def delete_custom_field(
    request: Request,
    key: str,
    item_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    return _change(
        request,
        db,
        page,
        key,
        "fields",
        lambda project: project_settings.delete_custom_field(db, page.actor, project, item_id),
    )
