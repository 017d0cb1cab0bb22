"""The staff pages of cases (Backlog-style issue tracking), Japanese and English.

- ``/cases`` — my projects with how many cases are open in each, the cases assigned to me
  that are not closed, and the overdue cases across my projects;
- ``/cases/{KEY}`` — a project's case list: filters (status, assignee incl. "me", type,
  priority, category, milestone, keyword, overdue, parent/child), sort, paging and saved
  searches; the tabs ``/board`` (a column per status; each card has a small form that
  changes its status), ``/gantt`` (bars from start to due date over weeks, drawn as SVG
  on the server, today marked) and ``/assignees`` (cases per assignee × status, counted
  in SQL);
- ``/cases/{KEY}/new`` — the new-case form (refusals re-render with what was typed);
- ``/cases/view/{CASEKEY}`` — one case: its fields, Markdown description (sanitised),
  sub-cases, links, attachments, watchers, the whole timeline and the forms that change
  it (edit + comment + notify, comment, watch, attach, escalate);
- ``/cases/attachments/{id}`` — an attachment's bytes, for whoever sees its case.

Routes under ``/cases/projects/…`` belong to the settings, KPT and webhook pages, whose
routers are mounted before this one.  Everything is for signed-in staff; a project or a
case the user may not see is the friendly 404 page, exactly like one that does not
exist.  Every form carries the CSRF token; writing needs the member role in the project
(``service.require``).  The use cases are ``cases.service``: these pages only translate
between forms and its calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from tsunagu.cases import saved_searches, service
from tsunagu.cases.errors import AttachmentRefused, AttachmentTooLarge, CaseNotFound
from tsunagu.cases.markdown import render as render_markdown
from tsunagu.cases.models import (
    PRIORITIES,
    Attachment,
    Case,
    CustomField,
    Inquiry,
    IssueType,
    Project,
    Status,
)
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_noop
from tsunagu.core.templating import request_locale
from tsunagu.crm.models import CrmEntity
from tsunagu.identity.models import StaffUser
from tsunagu.identity.web_auth import (
    StaffPage,
    csrf_protect,
    page_staff,
    redirect,
    render_page,
    settings_of,
)
from tsunagu.vault.service import ref_of

router = APIRouter(include_in_schema=False)

HOME = "/cases"
VIEW = "/cases/view"
ATTACHMENTS = "/cases/attachments"
#: cases per page of the list
PAGE_SIZE = 20
#: cards per column of the board, most recently updated first
CARDS_PER_STATUS = 20
#: rows of the Gantt chart and of the lists on /cases
GANTT_ROWS = 60
HOME_ROWS = 20

PRIORITY_LABELS = {
    "high": gettext_noop("High"),
    "normal": gettext_noop("Normal"),
    "low": gettext_noop("Low"),
}
#: the timeline's field names (``service.FIELD_NAMES`` and the escalation's) as people read them
FIELD_LABELS = {
    "summary": gettext_noop("Summary"),
    "description": gettext_noop("Description"),
    "issueType": gettext_noop("Type"),
    "priority": gettext_noop("Priority"),
    "status": gettext_noop("Status"),
    "assignee": gettext_noop("Assignee"),
    "startDate": gettext_noop("Start date"),
    "dueDate": gettext_noop("Due date"),
    "estimatedHours": gettext_noop("Estimated hours"),
    "actualHours": gettext_noop("Actual hours"),
    "category": gettext_noop("Category"),
    "milestone": gettext_noop("Milestone"),
    "parentIssue": gettext_noop("Parent case"),
    "escalation": gettext_noop("Escalation"),
    "origin": gettext_noop("Copied from"),
    "project": gettext_noop("Project"),
    "link": gettext_noop("Link"),
    "attachment": gettext_noop("Attachment"),
    "custom_fields": gettext_noop("Custom fields"),
}
EVENT_LABELS = {
    "created": gettext_noop("opened the case"),
    "changed": gettext_noop("changed the case"),
    "commented": gettext_noop("commented"),
    "attached": gettext_noop("attached a file"),
    "escalated": gettext_noop("escalated the case"),
    "moved": gettext_noop("moved the case"),
    "copied": gettext_noop("copied the case"),
    "linked": gettext_noop("added a link"),
    "unlinked": gettext_noop("removed a link"),
}
RELATION_LABELS = {
    "relates": gettext_noop("Related"),
    "escalated_to": gettext_noop("Escalated to"),
    "escalated_from": gettext_noop("Escalated from"),
    "duplicates": gettext_noop("Duplicates"),
    "blocks": gettext_noop("Blocks"),
}
SORT_LABELS = {
    "updated": gettext_noop("Updated"),
    "created": gettext_noop("Created"),
    "due_date": gettext_noop("Due date"),
    "start_date": gettext_noop("Start date"),
    "priority": gettext_noop("Priority"),
    "key": gettext_noop("Key"),
    "status": gettext_noop("Status"),
}
#: why a form was refused, as the page explains it (the service's detail follows)
FORM_ERRORS = {
    "summary": gettext_noop("A case needs a summary."),
    "invalid": gettext_noop("Some fields are not right; nothing was saved."),
    "parent": gettext_noop("No case with that key in this project can be the parent."),
    "comment": gettext_noop("Write a comment first."),
    "attachment": gettext_noop("The file was not attached."),
    "target": gettext_noop("Choose a project to escalate to."),
    "search_name": gettext_noop("Give the search a name (at most 100 characters)."),
}
NOTICES = {
    "created": gettext_noop("The case was opened."),
    "updated": gettext_noop("The case was updated."),
    "commented": gettext_noop("The comment was added."),
    "attached": gettext_noop("The file was attached."),
    "escalated": gettext_noop("The case was escalated; this is the case in the other project."),
    "watching": gettext_noop("You are watching this case."),
    "unwatched": gettext_noop("You no longer watch this case."),
    "saved": gettext_noop("The search was saved."),
    "search_deleted": gettext_noop("The saved search was deleted."),
    "moved": gettext_noop("The status was changed."),
}
FILTER_KEYS = (
    "status",
    "assignee",
    "type",
    "priority",
    "category",
    "milestone",
    "q",
    "overdue",
    "pc",
    "sort",
    "order",
)


# --- helpers ---------------------------------------------------------------------------


async def form_of(request: Request) -> FormData:
    """The submitted form (parsed once; lists and files included) for sync endpoints."""
    return await request.form()


def _zone(page: StaffPage) -> ZoneInfo:
    try:
        return ZoneInfo(page.organization.timezone or "Asia/Tokyo")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Tokyo")


def today_of(page: StaffPage) -> date:
    """Today in the organization's zone (what "overdue" is measured against)."""
    return utcnow().astimezone(_zone(page)).date()


def _uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _all(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def _attempt(db: Session, action: Callable[[], Any]) -> AppError | None:
    """Run ``action`` in a savepoint: on an ``AppError`` nothing it wrote remains and the
    error is returned for the page to explain."""
    try:
        with db.begin_nested():
            action()
    except AppError as exc:
        return exc
    return None


def _role(db: Session, page: StaffPage, project: Project) -> str:
    role = service.project_role(db, page.actor, project)
    if role is None:  # get_project let it through, so this cannot happen; stay safe
        raise CaseNotFound("no such case")
    return role


def _can_write(role: str) -> bool:
    return service.ROLE_RANK[role] >= service.ROLE_RANK["member"]


@dataclass(frozen=True, slots=True)
class StatusView:
    id: uuid.UUID
    label: str
    builtin: str | None
    closed: bool


@dataclass
class ProjectView:
    """What the pages of one project need about it: its lists of choices, by id."""

    project: Project
    role: str
    statuses: list[StatusView]
    types: dict[uuid.UUID, str]
    categories: dict[uuid.UUID, str]
    milestones: dict[uuid.UUID, str]
    fields: list[CustomField]
    people: dict[uuid.UUID, str]

    @property
    def can_write(self) -> bool:
        return _can_write(self.role)

    def status(self, status_id: uuid.UUID) -> StatusView | None:
        return next((s for s in self.statuses if s.id == status_id), None)


def project_view(db: Session, page: StaffPage, project: Project, locale: str) -> ProjectView:
    statuses = service.statuses(db, project.id)
    return ProjectView(
        project=project,
        role=_role(db, page, project),
        statuses=[
            StatusView(s.id, service.status_label(s, locale), s.builtin, s.builtin == "closed")
            for s in statuses
        ],
        types={t.id: service.type_label(t, locale) for t in service.issue_types(db, project.id)},
        categories={c.id: c.name for c in service.categories(db, project.id)},
        milestones={m.id: m.name for m in service.milestones(db, project.id)},
        fields=service.custom_fields(db, project.id),
        people=service.project_people(db, project),
    )


@dataclass(frozen=True, slots=True)
class Row:
    """One case as the lists show it."""

    key: str
    summary: str
    type: str
    priority: str
    status: str
    status_class: str
    assignee: str
    start_date: date | None
    due_date: date | None
    overdue: bool
    updated_at: datetime
    parent: bool


def _status_class(builtin: str | None) -> str:
    return f"status-{builtin.replace('_', '-')}" if builtin else "status-custom"


def rows_of(
    db: Session, cases: list[Case], locale: str, today: date, people: Mapping[uuid.UUID, str]
) -> list[Row]:
    """List rows of cases from any projects (their statuses, types and names in one query
    each)."""
    status_ids = {c.status_id for c in cases}
    statuses = (
        {s.id: s for s in db.scalars(select(Status).where(Status.id.in_(status_ids)))}
        if status_ids
        else {}
    )
    type_ids = {c.issue_type_id for c in cases if c.issue_type_id}
    types = (
        {t.id: t for t in db.scalars(select(IssueType).where(IssueType.id.in_(type_ids)))}
        if type_ids
        else {}
    )
    missing = {c.assignee_id for c in cases if c.assignee_id and c.assignee_id not in people}
    names = dict(people)
    if missing:
        for user in db.scalars(select(StaffUser).where(StaffUser.id.in_(missing))):
            names[user.id] = user.display_name or user.email
    rows = []
    for c in cases:
        status = statuses.get(c.status_id)
        issue_type = types.get(c.issue_type_id) if c.issue_type_id else None
        rows.append(
            Row(
                key=c.key,
                summary=c.summary,
                type=service.type_label(issue_type, locale) if issue_type else "",
                priority=c.priority,
                status=service.status_label(status, locale) if status else "",
                status_class=_status_class(status.builtin if status else None),
                assignee=names.get(c.assignee_id, "") if c.assignee_id else "",
                start_date=c.start_date,
                due_date=c.due_date,
                overdue=bool(c.due_date and not c.closed and c.due_date < today),
                updated_at=c.updated_at,
                parent=c.parent_id is None,
            )
        )
    return rows


# --- /cases ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectTile:
    key: str
    name: str
    visibility: str
    open: int
    overdue: int
    partner: bool


@router.get(HOME)
def home(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    locale = request_locale(request)
    today = today_of(page)
    projects = service.visible_projects(db, page.actor)
    ids = [p.id for p in projects]
    counts: dict[uuid.UUID, tuple[int, int]] = {}
    if ids:
        overdue = func.sum(sql_case((Case.due_date < today, 1), else_=0))
        for project_id, open_count, late in db.execute(
            select(Case.project_id, func.count(), overdue)
            .where(Case.project_id.in_(ids), Case.closed.is_(False))
            .group_by(Case.project_id)
        ):
            counts[project_id] = (int(open_count), int(late or 0))
    tiles = [
        ProjectTile(
            key=p.key,
            name=p.name,
            visibility=p.visibility,
            open=counts.get(p.id, (0, 0))[0],
            overdue=counts.get(p.id, (0, 0))[1],
            partner=p.organization_id != page.organization.id,
        )
        for p in projects
    ]
    mine = service.list_cases(
        db,
        page.actor,
        service.CaseQuery(
            assignee_ids=(page.user.id,),
            not_closed=True,
            sort="due_date",
            order="asc",
            limit=HOME_ROWS,
        ),
    )
    late = service.list_cases(
        db,
        page.actor,
        service.CaseQuery(overdue_on=today, sort="due_date", order="asc", limit=HOME_ROWS),
    )
    context = {
        "tiles": tiles,
        "mine": rows_of(db, mine.items, locale, today, {}),
        "mine_total": mine.total,
        "late": rows_of(db, late.items, locale, today, {}),
        "late_total": late.total,
        "can_create": page.membership.role in ("owner", "admin", "member"),
        "priority_labels": PRIORITY_LABELS,
    }
    return render_page(request, "cases/index.html", context)


# --- attachments (before /cases/{key}: a fixed path) -----------------------------------


@router.get(ATTACHMENTS + "/{attachment_id}")
def download(
    request: Request,
    attachment_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    row, data = service.read_attachment(
        db, settings_of(request).attachment_dir(), page.actor, attachment_id
    )
    return Response(
        data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --- one case --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeView:
    field: str
    label: str | None
    before: str | None
    after: str | None


@dataclass
class EventView:
    seq: int
    at: datetime
    actor: str
    kind: str
    changes: list[ChangeView] = field(default_factory=list)
    comment: Markup | None = None
    public: bool = False
    from_inquirer: bool = False
    notified: list[str] = field(default_factory=list)
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class LinkView:
    kind: str
    relation: str
    label: str
    href: str | None


def _translated(names: Mapping[str, Mapping[str, str]], field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    return names.get(field, {}).get(text, text)


def _names_in(db: Session, project_id: uuid.UUID, locale: str) -> dict[str, dict[str, str]]:
    """Status and type names as the timeline stored them (Japanese) → in ``locale``."""
    return {
        "status": {
            s.name: service.status_label(s, locale) for s in service.statuses(db, project_id)
        },
        "issueType": {
            t.name: service.type_label(t, locale) for t in service.issue_types(db, project_id)
        },
    }


def event_views(
    db: Session, case: Case, people: Mapping[uuid.UUID, str], locale: str = "ja"
) -> list[EventView]:
    names = _names_in(db, case.project_id, locale)
    comments = service.comments_by_id(db, case.id)
    attachments = {a.id: a for a in service.attachments_of(db, case.id)}
    views = []
    for event in service.timeline(db, case.id):
        changes = []
        for change in event.changes:
            name = str(change.get("field", ""))
            custom = name.startswith("custom:")
            changes.append(
                ChangeView(
                    field=name,
                    label=name.removeprefix("custom:") if custom else None,
                    before=_translated(names, name, change.get("from")),
                    after=_translated(names, name, change.get("to")),
                )
            )
        view = EventView(
            seq=event.seq, at=event.at, actor=event.actor_label, kind=event.kind, changes=changes
        )
        found = comments.get(event.comment_id) if event.comment_id else None
        if found is not None:
            view.comment = render_markdown(found.body)
            view.public = found.public
            view.from_inquirer = found.from_inquirer
            view.notified = [
                people[u]
                for u in (_uuid(n) for n in found.notified)
                if u is not None and u in people
            ]
        if event.attachment_id is not None:
            view.attachment = attachments.get(event.attachment_id)
        views.append(view)
    return views


def link_views(db: Session, page: StaffPage, case: Case) -> list[LinkView]:
    """The case's links: other cases the user sees, and — for the case's own organization
    only, never a partner's staff — deals by name and persons by the organization's own
    reference (nothing more of a person is read here: no consent decision is asked)."""
    host = page.organization.id == case.organization_id
    views = []
    for link in service.links_of(db, case.id):
        if link.kind == "case":
            try:
                other = service.get_case(db, page.actor, link.target_id)
            except CaseNotFound:
                continue
            views.append(LinkView("case", link.relation, other.key, f"{VIEW}/{other.key}"))
        elif not host:
            continue
        elif link.kind == "deal":
            entity = db.get(CrmEntity, link.target_id)
            if entity is not None and entity.organization_id == case.organization_id:
                href = f"/crm/entities/{entity.id}"
                views.append(LinkView("deal", link.relation, entity.name, href))
        else:
            ref = ref_of(db, case.organization_id, link.target_id)
            views.append(LinkView("person", link.relation, ref or "—", None))
    return views


def _edit_form(db: Session, case: Case, view: ProjectView) -> dict[str, Any]:
    """The edit form's values as the case has them now."""
    parent = db.get(Case, case.parent_id) if case.parent_id else None
    values = service.field_values(db, case.id)
    form: dict[str, Any] = {
        "summary": case.summary,
        "description": case.description,
        "issue_type": str(case.issue_type_id or ""),
        "priority": case.priority,
        "status": str(case.status_id),
        "assignee": str(case.assignee_id or ""),
        "start_date": case.start_date.isoformat() if case.start_date else "",
        "due_date": case.due_date.isoformat() if case.due_date else "",
        "estimated_hours": _hours_text(case.estimated_hours),
        "actual_hours": _hours_text(case.actual_hours),
        "category": str(case.category_id or ""),
        "milestone": str(case.milestone_id or ""),
        "parent": parent.key if parent else "",
        "comment": "",
        "notify": [],
    }
    for f in view.fields:
        value = values.get(f.id)
        form[f"cf_{f.id}"] = value if isinstance(value, list) else ("" if value is None else value)
    return form


def _hours_text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _case_page(
    request: Request,
    db: Session,
    page: StaffPage,
    case: Case,
    *,
    notice: str | None = None,
    error: str | None = None,
    detail: str | None = None,
    which: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    project = service.project_of(db, case)
    view = project_view(db, page, project, locale)
    parent = db.get(Case, case.parent_id) if case.parent_id else None
    today = today_of(page)
    inquiry = (
        db.scalar(select(Inquiry).where(Inquiry.case_id == case.id))
        if case.source == "inquiry"
        else None
    )
    watcher_ids = service.watchers(db, case.id)
    targets = [
        p
        for p in service.visible_projects(db, page.actor)
        if p.id != project.id and _can_write(service.project_role(db, page.actor, p) or "viewer")
    ]
    values = service.field_values(db, case.id)
    status = view.status(case.status_id)
    context = {
        "case": case,
        "view": view,
        "status": status,
        "status_class": _status_class(status.builtin if status else None),
        "parent": parent,
        "children": rows_of(db, service.children(db, case.id), locale, today, view.people),
        "description": render_markdown(case.description),
        "custom_values": [(f, values.get(f.id)) for f in view.fields],
        "events": list(reversed(event_views(db, case, view.people, locale))),
        "links": link_views(db, page, case),
        "attachments": service.attachments_of(db, case.id),
        "watchers": [view.people.get(u, "—") for u in watcher_ids],
        "watching": page.user.id in watcher_ids,
        "inquiry": inquiry,
        "targets": targets,
        "overdue": bool(case.due_date and not case.closed and case.due_date < today),
        "form": form or _edit_form(db, case, view),
        "which": which,
        "error": error,
        "detail": detail,
        "notice": notice,
        "form_errors": FORM_ERRORS,
        "notices": NOTICES,
        "priorities": PRIORITIES,
        "priority_labels": PRIORITY_LABELS,
        "field_labels": FIELD_LABELS,
        "event_labels": EVENT_LABELS,
        "relation_labels": RELATION_LABELS,
        "assignee_name": view.people.get(case.assignee_id) if case.assignee_id else None,
        "type_name": view.types.get(case.issue_type_id) if case.issue_type_id else None,
        "category_name": view.categories.get(case.category_id) if case.category_id else None,
        "milestone_name": view.milestones.get(case.milestone_id) if case.milestone_id else None,
        "max_attachment_mib": service.MAX_ATTACHMENT_BYTES // (1024 * 1024),
    }
    return render_page(request, "cases/case.html", context, status_code=status_code)


@router.get(VIEW + "/{case_key}")
def case_detail(
    request: Request,
    case_key: str,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    notice: str = "",
) -> Response:
    case = service.get_case(db, page.actor, case_key)
    if case.key != case_key:  # an old key (the case moved) or lower case: the real address
        return redirect(f"{VIEW}/{case.key}")
    return _case_page(request, db, page, case, notice=notice if notice in NOTICES else None)


def _parse_case_form(
    db: Session, form: FormData, project: Project, view: ProjectView
) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """The form as typed (to show again) and as ``service`` values, or the error's key."""
    typed: dict[str, Any] = {
        name: _text(form, name)
        for name in (
            "summary",
            "issue_type",
            "priority",
            "status",
            "assignee",
            "start_date",
            "due_date",
            "estimated_hours",
            "actual_hours",
            "category",
            "milestone",
            "parent",
            "comment",
        )
    }
    raw_description = form.get("description")
    typed["description"] = raw_description if isinstance(raw_description, str) else ""
    typed["notify"] = _all(form, "notify")
    typed["watchers"] = _all(form, "watchers")
    values: dict[str, Any] = {
        "summary": typed["summary"],
        "description": typed["description"].replace("\r\n", "\n"),
        "priority": typed["priority"] or "normal",
        "assignee": typed["assignee"] or None,
        "start_date": typed["start_date"] or None,
        "due_date": typed["due_date"] or None,
        "estimated_hours": typed["estimated_hours"] or None,
        "actual_hours": typed["actual_hours"] or None,
        "category": typed["category"] or None,
        "milestone": typed["milestone"] or None,
    }
    if typed["issue_type"]:
        values["issue_type"] = typed["issue_type"]
    if typed["status"]:
        values["status"] = typed["status"]
    custom: dict[str, Any] = {}
    for f in view.fields:
        name = f"cf_{f.id}"
        if f.kind == "multi":
            typed[name] = _all(form, name)
            custom[str(f.id)] = typed[name]
        else:
            typed[name] = _text(form, name)
            custom[str(f.id)] = typed[name] or None
    if custom:
        values["custom_fields"] = custom
    if not typed["summary"]:
        return typed, values, "summary"
    if typed["parent"]:
        parent = db.scalar(
            select(Case).where(Case.project_id == project.id, Case.key == typed["parent"].upper())
        )
        if parent is None:
            return typed, values, "parent"
        values["parent"] = parent.id
    else:
        values["parent"] = None
    return typed, values, None


def _people_ids(values: list[str], people: Mapping[uuid.UUID, str]) -> list[uuid.UUID]:
    """The chosen ids among the project's people (others are dropped: not a choice here)."""
    return [u for u in (_uuid(v) for v in values) if u is not None and u in people]


@router.post(VIEW + "/{case_key}/update")
def update(
    request: Request,
    case_key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    form: FormData = Depends(form_of),
) -> Response:
    case = service.get_case(db, page.actor, case_key)
    project = service.project_of(db, case)
    service.require(db, page.actor, project, "member")
    view = project_view(db, page, project, request_locale(request))
    typed, values, error = _parse_case_form(db, form, project, view)
    if error is not None:
        return _case_page(
            request, db, page, case, error=error, which="edit", form=typed, status_code=422
        )
    notify = _people_ids(typed["notify"], view.people)
    failure = _attempt(
        db,
        lambda: service.update_case(
            db, page.actor, case, values, comment=typed["comment"] or None, notify=notify
        ),
    )
    if isinstance(failure, InvalidInput):
        db.refresh(case)
        return _case_page(
            request,
            db,
            page,
            case,
            error="invalid",
            detail=failure.message,
            which="edit",
            form=typed,
            status_code=422,
        )
    if failure is not None:
        raise failure
    return redirect(f"{VIEW}/{case.key}?notice=updated")


@router.post(VIEW + "/{case_key}/comment")
def add_comment(
    request: Request,
    case_key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    form: FormData = Depends(form_of),
) -> Response:
    case = service.get_case(db, page.actor, case_key)
    project = service.project_of(db, case)
    service.require(db, page.actor, project, "member")
    raw = form.get("body")
    body = raw if isinstance(raw, str) else ""
    people = service.project_people(db, project)
    notify = _people_ids(_all(form, "notify"), people)
    public = case.source == "inquiry" and _text(form, "public") == "1"
    if not body.strip():
        view = project_view(db, page, project, request_locale(request))
        typed = {**_edit_form(db, case, view), "body": body, "notify": _all(form, "notify")}
        return _case_page(
            request, db, page, case, error="comment", which="comment", form=typed, status_code=422
        )
    failure = _attempt(
        db,
        lambda: service.comment(
            db, page.actor, case, body.replace("\r\n", "\n"), notify=notify, public=public
        ),
    )
    if isinstance(failure, InvalidInput):
        view = project_view(db, page, project, request_locale(request))
        typed = {**_edit_form(db, case, view), "body": body, "notify": _all(form, "notify")}
        return _case_page(
            request,
            db,
            page,
            case,
            error="comment",
            detail=failure.message,
            which="comment",
            form=typed,
            status_code=422,
        )
    if failure is not None:
        raise failure
    return redirect(f"{VIEW}/{case.key}?notice=commented")


@router.post(VIEW + "/{case_key}/watch")
def watch(
    case_key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    form: FormData = Depends(form_of),
) -> Response:
    case = service.get_case(db, page.actor, case_key)
    watching = _text(form, "watching") == "1"
    service.set_watching(db, page.actor, case, page.user.id, watching=watching)
    return redirect(f"{VIEW}/{case.key}?notice={'watching' if watching else 'unwatched'}")


@router.post(VIEW + "/{case_key}/attachments")
def upload(
    request: Request,
    case_key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    form: FormData = Depends(form_of),
) -> Response:
    case = service.get_case(db, page.actor, case_key)
    service.require(db, page.actor, service.project_of(db, case), "member")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _case_page(
            request, db, page, case, error="attachment", which="attach", status_code=422
        )
    data = upload.file.read(service.MAX_ATTACHMENT_BYTES + 1)
    filename = upload.filename
    store = settings_of(request).attachment_dir()
    failure = _attempt(db, lambda: service.attach(db, store, page.actor, case, filename, data))
    if isinstance(failure, AttachmentRefused | AttachmentTooLarge):
        return _case_page(
            request,
            db,
            page,
            case,
            error="attachment",
            detail=failure.message,
            which="attach",
            status_code=failure.status_code,
        )
    if failure is not None:
        raise failure
    return redirect(f"{VIEW}/{case.key}?notice=attached")


@router.post(VIEW + "/{case_key}/escalate")
def escalate(
    request: Request,
    case_key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    form: FormData = Depends(form_of),
) -> Response:
    case = service.get_case(db, page.actor, case_key)
    service.require(db, page.actor, service.project_of(db, case), "member")
    target_key = _text(form, "target")
    mode: Literal["copy", "move"] = "move" if _text(form, "mode") == "move" else "copy"
    note = _text(form, "comment")
    if not target_key:
        return _case_page(
            request, db, page, case, error="target", which="escalate", status_code=422
        )
    target = service.get_project(db, page.actor, target_key)
    result: list[Case] = []
    failure = _attempt(
        db,
        lambda: result.append(
            service.escalate(db, page.actor, case, target, mode=mode, comment=note or None)
        ),
    )
    if isinstance(failure, InvalidInput):
        db.refresh(case)
        return _case_page(
            request,
            db,
            page,
            case,
            error="target",
            detail=failure.message,
            which="escalate",
            status_code=422,
        )
    if failure is not None:
        raise failure
    return redirect(f"{VIEW}/{result[0].key}?notice=escalated")


# --- a project's lists -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListFilters:
    """The list's filters as they came in the query string (blank means no filter)."""

    status: str = ""
    assignee: str = ""
    type: str = ""
    priority: str = ""
    category: str = ""
    milestone: str = ""
    q: str = ""
    overdue: str = ""
    pc: str = ""
    sort: str = "updated"
    order: str = "desc"

    @classmethod
    def of(cls, params: Mapping[str, str]) -> ListFilters:
        values = {k: (params.get(k) or "").strip()[:200] for k in FILTER_KEYS}
        if values["sort"] not in service.SORTS:
            values["sort"] = "updated"
        if values["order"] not in ("asc", "desc"):
            values["order"] = "desc"
        return cls(**values)

    def params(self, **override: str) -> dict[str, str]:
        values = {k: str(getattr(self, k)) for k in FILTER_KEYS}
        values.update(override)
        defaults = {"sort": "updated", "order": "desc"}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}

    def query_string(self, **override: str) -> str:
        params = self.params(**override)
        return ("?" + urlencode(params)) if params else ""

    @property
    def active(self) -> bool:
        return any(getattr(self, k) for k in FILTER_KEYS if k not in ("sort", "order"))

    def case_query(
        self, project: Project, me: uuid.UUID, today: date, *, limit: int, offset: int = 0
    ) -> service.CaseQuery:
        status_ids: tuple[uuid.UUID, ...] = ()
        not_closed = False
        if self.status == "not_closed":
            not_closed = True
        elif (status_id := _uuid(self.status)) is not None:
            status_ids = (status_id,)
        assignees: tuple[uuid.UUID, ...] = ()
        unassigned = self.assignee == "none"
        if self.assignee == "me":
            assignees = (me,)
        elif (assignee := _uuid(self.assignee)) is not None:
            assignees = (assignee,)

        def one(value: str) -> tuple[uuid.UUID, ...]:
            found = _uuid(value)
            return (found,) if found else ()

        pc = self.pc if self.pc in ("parents", "children") else "all"
        return service.CaseQuery(
            project_ids=(project.id,),
            keyword=self.q or None,
            status_ids=status_ids,
            not_closed=not_closed,
            assignee_ids=assignees,
            unassigned=unassigned,
            issue_type_ids=one(self.type),
            priorities=(self.priority,) if self.priority in PRIORITIES else (),
            category_ids=one(self.category),
            milestone_ids=one(self.milestone),
            parent_child=pc,  # type: ignore[arg-type]
            overdue_on=today if self.overdue == "1" else None,
            sort=self.sort,
            order="asc" if self.order == "asc" else "desc",
            limit=limit,
            offset=offset,
        )


@dataclass(frozen=True, slots=True)
class SavedView:
    id: uuid.UUID
    name: str
    href: str


#: the list's sort names as the API (and so a saved search) spells them
API_SORTS = {
    "updated": "updated",
    "created": "created",
    "due_date": "dueDate",
    "start_date": "startDate",
    "priority": "priority",
    "status": "status",
    "key": "issueKey",
}
#: single-valued filters and their API parameters
API_IDS = {
    "type": "issueTypeId[]",
    "category": "categoryId[]",
    "milestone": "milestoneId[]",
}


def api_query(filters: ListFilters, project: Project, me: uuid.UUID) -> dict[str, list[str]]:
    """The filters as the API's list parameters (what ``saved_searches`` keeps), so a
    search saved here replays the same through the API."""
    query: dict[str, list[str]] = {"project": [project.key]}
    if filters.q:
        query["keyword"] = [filters.q]
    if filters.status == "not_closed":
        query["notClosed"] = ["true"]
    elif _uuid(filters.status):
        query["statusId[]"] = [filters.status]
    if filters.assignee == "none":
        query["unassigned"] = ["true"]
    elif filters.assignee == "me":
        query["assigneeId[]"] = [str(me)]
    elif _uuid(filters.assignee):
        query["assigneeId[]"] = [filters.assignee]
    for name, param in API_IDS.items():
        value = str(getattr(filters, name))
        if _uuid(value):
            query[param] = [value]
    if filters.priority in PRIORITIES:
        query["priority"] = [filters.priority]
    if filters.overdue == "1":
        query["overdue"] = ["true"]
    if filters.pc in ("parents", "children"):
        query["parentChild"] = [filters.pc]
    if filters.sort != "updated":
        query["sort"] = [API_SORTS[filters.sort]]
    if filters.order != "desc":
        query["order"] = [filters.order]
    return query


def page_params(query: Mapping[str, Any]) -> dict[str, str]:
    """A saved search's API parameters as this list's query string (first values)."""

    def first(name: str) -> str:
        value = query.get(name)
        if isinstance(value, list):
            return str(value[0]) if value else ""
        return str(value) if value is not None else ""

    params = {
        "q": first("keyword"),
        "status": "not_closed" if first("notClosed") == "true" else first("statusId[]"),
        "assignee": "none" if first("unassigned") == "true" else first("assigneeId[]"),
        "priority": first("priority"),
        "overdue": "1" if first("overdue") == "true" else "",
        "pc": first("parentChild") if first("parentChild") != "all" else "",
        "sort": next((k for k, v in API_SORTS.items() if v == first("sort")), ""),
        "order": first("order"),
    }
    for name, param in API_IDS.items():
        params[name] = first(param)
    return {k: v for k, v in params.items() if v}


def saved_views(db: Session, page: StaffPage, project: Project) -> list[SavedView]:
    """The user's saved searches of this project, by name, as links to the list."""
    views = []
    for row in saved_searches.list_searches(db, page.organization.id, page.user.id):
        query = row.query if isinstance(row.query, dict) else {}
        if project.key not in (query.get("project") or []):
            continue
        params = page_params(query)
        href = f"{HOME}/{project.key}" + ("?" + urlencode(params) if params else "")
        views.append(SavedView(row.id, row.name, href))
    return views


def save_search(
    db: Session, page: StaffPage, project: Project, name: str, filters: ListFilters
) -> None:
    """Keep the filters under a name (the same name again replaces them)."""
    for row in saved_searches.list_searches(db, page.organization.id, page.user.id):
        if row.name == name.strip():
            saved_searches.delete_search(db, page.organization.id, row.id, user_id=page.user.id)
            db.flush()
    saved_searches.save_search(
        db, page.organization.id, page.user.id, name, api_query(filters, project, page.user.id)
    )


def _project_context(
    request: Request, db: Session, page: StaffPage, key: str, tab: str
) -> tuple[ProjectView, ListFilters, dict[str, Any]]:
    locale = request_locale(request)
    project = service.get_project(db, page.actor, key)
    view = project_view(db, page, project, locale)
    filters = ListFilters.of(request.query_params)
    context: dict[str, Any] = {
        "view": view,
        "project": project,
        "tab": tab,
        "filters": filters,
        "saved": saved_views(db, page, project),
        "priorities": PRIORITIES,
        "priority_labels": PRIORITY_LABELS,
        "sort_labels": SORT_LABELS,
        "notices": NOTICES,
        "form_errors": FORM_ERRORS,
        "notice": request.query_params.get("notice")
        if request.query_params.get("notice") in NOTICES
        else None,
        "today": today_of(page),
    }
    return view, filters, context


@router.get(HOME + "/{key}")
def case_list(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    view, filters, context = _project_context(request, db, page, key, "list")
    try:
        number = max(int(request.query_params.get("page", "1")), 1)
    except ValueError:
        number = 1
    query = filters.case_query(
        view.project,
        page.user.id,
        context["today"],
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    found = service.list_cases(db, page.actor, query)
    pages = max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    context.update(
        rows=rows_of(db, found.items, request_locale(request), context["today"], view.people),
        total=f"{found.total:,}+" if found.more else found.total,
        page_number=number,
        pages=pages,
        prev_href=filters.query_string(page=str(number - 1)) if number > 1 else None,
        next_href=(
            filters.query_string(page=str(number + 1))
            if number < pages or (found.more and len(found.items) == PAGE_SIZE)
            else None
        ),
    )
    return render_page(request, "cases/list.html", context)


@router.post(HOME + "/{key}/searches")
def save_search_form(
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    form: FormData = Depends(form_of),
) -> Response:
    project = service.get_project(db, page.actor, key)
    filters = ListFilters.of({k: _text(form, k) for k in FILTER_KEYS})
    failure = _attempt(db, lambda: save_search(db, page, project, _text(form, "name"), filters))
    if isinstance(failure, InvalidInput):
        return redirect(f"{HOME}/{project.key}{filters.query_string(error='search_name')}")
    if failure is not None:
        raise failure
    return redirect(f"{HOME}/{project.key}{filters.query_string(notice='saved')}")


@router.post(HOME + "/{key}/searches/{search_id}/delete")
def delete_search_form(
    key: str,
    search_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    project = service.get_project(db, page.actor, key)
    saved_searches.delete_search(db, page.organization.id, search_id, user_id=page.user.id)
    return redirect(f"{HOME}/{project.key}?notice=search_deleted")


# --- board -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardColumn:
    status: StatusView
    count: int
    cards: list[Row]


@router.get(HOME + "/{key}/board")
def board(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    view, filters, context = _project_context(request, db, page, key, "board")
    locale = request_locale(request)
    query = filters.case_query(view.project, page.user.id, context["today"], limit=1)
    where = service.case_filter(db, page.actor, query)
    counts: dict[uuid.UUID, int] = {
        status_id: int(n)
        for status_id, n in db.execute(
            select(Case.status_id, func.count()).where(*where).group_by(Case.status_id)
        )
    }
    ranked = (
        select(
            Case.id,
            func.row_number()
            .over(partition_by=Case.status_id, order_by=(Case.updated_at.desc(), Case.id))
            .label("rank"),
        )
        .where(*where)
        .subquery()
    )
    cases = list(
        db.scalars(
            select(Case)
            .join(ranked, ranked.c.id == Case.id)
            .where(ranked.c.rank <= CARDS_PER_STATUS)
            .order_by(Case.updated_at.desc(), Case.id)
        )
    )
    rows = dict(
        zip(
            [c.id for c in cases],
            rows_of(db, cases, locale, context["today"], view.people),
            strict=True,
        )
    )
    columns = [
        BoardColumn(
            status=s,
            count=int(counts.get(s.id, 0)),
            cards=[rows[c.id] for c in cases if c.status_id == s.id],
        )
        for s in view.statuses
    ]
    context.update(columns=columns)
    return render_page(request, "cases/board.html", context)


@router.post(HOME + "/{key}/board/move")
def board_move(
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    form: FormData = Depends(form_of),
) -> Response:
    project = service.get_project(db, page.actor, key)
    case = service.get_case(db, page.actor, _text(form, "case"))
    if case.project_id != project.id:
        raise CaseNotFound("no such case in this project")
    service.update_case(db, page.actor, case, {"status": _text(form, "status")})
    back = _text(form, "back")
    query = back if back.startswith("?") and "\n" not in back else ""
    separator = "&" if query else "?"
    return redirect(f"{HOME}/{project.key}/board{query}{separator}notice=moved")


# --- Gantt -----------------------------------------------------------------------------

DAY_PX = 14
LABEL_PX = 280
ROW_PX = 26
HEAD_PX = 34


@dataclass(frozen=True, slots=True)
class Bar:
    key: str
    summary: str
    label: str
    y: int
    x: int
    width: int
    text_y: int
    status_class: str
    overdue: bool
    start: date | None
    due: date | None


@dataclass(frozen=True, slots=True)
class Week:
    x: int
    label: str


@dataclass
class Gantt:
    width: int
    height: int
    bars: list[Bar]
    weeks: list[Week]
    today_x: int | None
    first: date
    last: date


def gantt_chart(rows: list[Row], today: date) -> Gantt:
    """Lay out bars from start date to due date over whole weeks (Monday first): a case
    with only one of the two dates is one day long; today is marked when in range."""
    spans = []
    for row in rows:
        start = row.start_date or row.due_date
        end = row.due_date or row.start_date
        if start is None or end is None:
            continue
        spans.append((row, min(start, end), max(start, end)))
    if spans:
        low = min(s for _, s, _ in spans)
        high = max(e for _, _, e in spans)
    else:
        low = high = today
    low = max(min(low, today), today - timedelta(weeks=26))
    high = min(max(high, today), today + timedelta(weeks=52))
    first = low - timedelta(days=low.weekday())
    last = high + timedelta(days=6 - high.weekday())
    days = (last - first).days + 1
    bars = []
    for index, (row, start, end) in enumerate(spans):
        left = min(max((start - first).days, 0), days - 1)
        right = min(max((end - first).days, 0), days - 1)
        y = HEAD_PX + index * ROW_PX
        bars.append(
            Bar(
                key=row.key,
                summary=row.summary,
                label=f"{row.key} {row.summary}"[:36],
                y=y + 5,
                x=LABEL_PX + left * DAY_PX,
                width=max((right - left + 1) * DAY_PX - 2, 4),
                text_y=y + 17,
                status_class=row.status_class,
                overdue=row.overdue,
                start=row.start_date,
                due=row.due_date,
            )
        )
    weeks = [
        Week(LABEL_PX + offset * DAY_PX, (first + timedelta(days=offset)).strftime("%m/%d"))
        for offset in range(0, days, 7)
    ]
    today_x = (
        LABEL_PX + (today - first).days * DAY_PX + DAY_PX // 2 if first <= today <= last else None
    )
    return Gantt(
        width=LABEL_PX + days * DAY_PX + 10,
        height=HEAD_PX + max(len(bars), 1) * ROW_PX + 10,
        bars=bars,
        weeks=weeks,
        today_x=today_x,
        first=first,
        last=last,
    )


@router.get(HOME + "/{key}/gantt")
def gantt(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    view, filters, context = _project_context(request, db, page, key, "gantt")
    query = filters.case_query(view.project, page.user.id, context["today"], limit=GANTT_ROWS)
    where = service.case_filter(db, page.actor, query)
    dated = (Case.start_date.is_not(None)) | (Case.due_date.is_not(None))
    cases = list(
        db.scalars(
            select(Case)
            .where(*where, dated)
            .order_by(func.coalesce(Case.start_date, Case.due_date), Case.number)
            .limit(GANTT_ROWS)
        )
    )
    rows = rows_of(db, cases, request_locale(request), context["today"], view.people)
    context.update(chart=gantt_chart(rows, context["today"]), rows=rows)
    return render_page(request, "cases/gantt.html", context)


# --- by assignee -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssigneeRow:
    id: str
    name: str
    counts: list[int]
    total: int


@router.get(HOME + "/{key}/assignees")
def assignees(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    view, filters, context = _project_context(request, db, page, key, "assignees")
    query = filters.case_query(view.project, page.user.id, context["today"], limit=1)
    where = service.case_filter(db, page.actor, query)
    grid: dict[uuid.UUID | None, dict[uuid.UUID, int]] = {}
    for assignee_id, status_id, count in db.execute(
        select(Case.assignee_id, Case.status_id, func.count())
        .where(*where)
        .group_by(Case.assignee_id, Case.status_id)
    ):
        grid.setdefault(assignee_id, {})[status_id] = int(count)
    names = dict(view.people)
    others = [a for a in grid if a is not None and a not in names]
    if others:
        for user in db.scalars(select(StaffUser).where(StaffUser.id.in_(others))):
            names[user.id] = user.display_name or user.email
    table = [
        AssigneeRow(
            id=str(a) if a else "none",
            name=names.get(a, "—") if a else "",
            counts=[grid[a].get(s.id, 0) for s in view.statuses],
            total=sum(grid[a].values()),
        )
        for a in sorted(grid, key=lambda a: (a is None, names.get(a, "") if a else ""))
    ]
    context.update(table=table)
    return render_page(request, "cases/assignees.html", context)


# --- a new case ------------------------------------------------------------------------


def _new_case_page(
    request: Request,
    db: Session,
    page: StaffPage,
    project: Project,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    detail: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = project_view(db, page, project, request_locale(request))
    context = {
        "view": view,
        "project": project,
        "form": form or {"priority": "normal", "notify": [], "watchers": []},
        "error": error,
        "detail": detail,
        "form_errors": FORM_ERRORS,
        "priorities": PRIORITIES,
        "priority_labels": PRIORITY_LABELS,
    }
    return render_page(request, "cases/case_form.html", context, status_code=status_code)


@router.get(HOME + "/{key}/new")
def new_case(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    project = service.get_project(db, page.actor, key)
    service.require(db, page.actor, project, "member")
    return _new_case_page(request, db, page, project)


@router.post(HOME + "/{key}/new")
def create_case(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    form: FormData = Depends(form_of),
) -> Response:
    project = service.get_project(db, page.actor, key)
    service.require(db, page.actor, project, "member")
    view = project_view(db, page, project, request_locale(request))
    typed, values, error = _parse_case_form(db, form, project, view)
    if error is not None:
        return _new_case_page(request, db, page, project, form=typed, error=error, status_code=422)
    created: list[Case] = []
    failure = _attempt(
        db,
        lambda: created.append(
            service.create_case(
                db,
                page.actor,
                project,
                values,
                source="ui",
                watchers_=_people_ids(typed["watchers"], view.people),
                notify=_people_ids(typed["notify"], view.people),
            )
        ),
    )
    if isinstance(failure, InvalidInput):
        return _new_case_page(
            request,
            db,
            page,
            project,
            form=typed,
            error="invalid",
            detail=failure.message,
            status_code=422,
        )
    if failure is not None:
        raise failure
    return redirect(f"{VIEW}/{created[0].key}?notice=created")


__all__ = ["router"]
