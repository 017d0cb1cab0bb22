"""Use cases of projects and cases: who may see and change what, creating and changing
cases with one timeline, comments, attachments, links, watchers, escalation and lists.

Who may do what (``project_role``):

- staff and API keys of the project's own organization: the organization's owners and
  admins are admins of every project; on an ``internal`` project other staff need to be
  members of it; ``cross_department`` and ``partner`` projects are open to all the
  organization's staff (their project role, else a role from their organization role);
- a ``partner`` project is also visible to the partner organization's staff who are
  members of it (and to its API keys, as members at most) — and to nothing else of the
  host organization;
- an organization ``viewer`` is a viewer everywhere; a project ``viewer`` reads only.

Anything the caller may not see answers 404, exactly as what does not exist.  Services
take the session first, only ``flush()``, and leave commit to the edge.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from tsunagu.cases import dispatch, search
from tsunagu.cases.errors import (
    AttachmentRefused,
    AttachmentTooLarge,
    CaseNotFound,
    InvalidCaseField,
    ItemNotFound,
    ProjectKeyTaken,
    ProjectNotFound,
    ProjectRoleTooLow,
)
from tsunagu.cases.models import (
    CASE_RELATIONS,
    PRIORITIES,
    PROJECT_ROLES,
    VISIBILITIES,
    Attachment,
    Case,
    Category,
    Comment,
    CustomField,
    Event,
    FieldValue,
    IssueType,
    KeyAlias,
    Link,
    Milestone,
    Project,
    ProjectMember,
    Status,
    Watcher,
)
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.crm.service import get_entity
from tsunagu.identity.models import ApiKey, Membership, Organization, StaffUser
from tsunagu.identity.service import Actor
from tsunagu.vault.service import access_person

ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2}
#: an organization role as a project role (owners and admins administer every project)
ORG_TO_PROJECT = {"owner": "admin", "admin": "admin", "member": "member", "viewer": "viewer"}
#: the four statuses every project has, in order (Backlog's names in Japanese)
BUILTIN_STATUSES = (
    ("open", "未対応", "Open", "#ed8077"),
    ("in_progress", "処理中", "In Progress", "#4488c5"),
    ("resolved", "処理済み", "Resolved", "#5eb5a6"),
    ("closed", "完了", "Closed", "#a1af2f"),
)
DEFAULT_TYPES = (
    ("タスク", "Task", "#7ea800"),
    ("バグ", "Bug", "#990000"),
    ("要望", "Request", "#ff9200"),
    ("その他", "Other", "#2779ca"),
)
PRIORITY_LABELS = {"high": ("高", "High"), "normal": ("中", "Normal"), "low": ("低", "Low")}
KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,9}$")
CASE_KEY_PATTERN = re.compile(r"^([A-Z][A-Z0-9_]{1,9})-([1-9][0-9]{0,8})$")
MAX_SUMMARY = 255
MAX_TEXT = 100_000
MAX_HOURS = Decimal("99999")
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_PAGE = 100
#: lists count matches up to here and then say "10,000+" (counting a million rows for a
#: number nobody reads costs more than the page itself)
COUNT_CAP = 10_000

# --- who is acting -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Author:
    """Who a timeline entry names: a staff user, or a label alone (an API key, the form)."""

    user_id: uuid.UUID | None
    label: str


def author_of(session: Session, actor: Actor) -> Author:
    """The timeline's name for an actor: a staff user's display name, or the API key's."""
    if actor.kind == "staff" and actor.user_id is not None:
        user = session.get(StaffUser, actor.user_id)
        if user is not None:
            return Author(user.id, user.display_name or user.email)
    if actor.kind == "api_key" and actor.api_key_id is not None:
        key = session.get(ApiKey, actor.api_key_id)
        if key is not None:
            return Author(None, f"API: {key.name}")
    return Author(None, "API")


# --- access -------------------------------------------------------------------------------


def _lower(a: str, b: str) -> str:
    return a if ROLE_RANK[a] <= ROLE_RANK[b] else b


def _member_role(session: Session, project_id: uuid.UUID, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


def project_role(session: Session, actor: Actor, project: Project) -> str | None:
    """The actor's role in the project, or None when they may not see it at all."""
    if actor.organization_id is None or actor.role is None:
        return None
    base = ORG_TO_PROJECT.get(actor.role)
    if base is None:
        return None
    if actor.organization_id == project.organization_id:
        if base == "admin":
            return "admin"
        if actor.kind == "api_key":
            return base
        own = _member_role(session, project.id, actor.user_id)
        if own is None:
            return None if project.visibility == "internal" else base
        return _capped(own, base)
    if project.visibility == "partner" and actor.organization_id == project.partner_organization_id:
        if actor.kind == "api_key":
            return _lower(base, "member")
        own = _member_role(session, project.id, actor.user_id)
        return _capped(own, base) if own is not None else None
    return None


def _capped(own: str, base: str) -> str:
    """A project role, except that an organization viewer only ever reads."""
    return "viewer" if base == "viewer" else own


def visible_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Project``: the projects the actor may see (see the module doc)."""
    org = actor.organization_id
    if org is None or actor.role not in ORG_TO_PROJECT:
        return false()
    if actor.kind == "api_key":
        member_of: ColumnElement[bool] = true()
    elif actor.user_id is None:
        member_of = false()
    else:
        member_of = Project.id.in_(
            select(ProjectMember.project_id).where(ProjectMember.user_id == actor.user_id)
        )
    own_all = true() if ORG_TO_PROJECT[actor.role] == "admin" else false()
    own = and_(
        Project.organization_id == org,
        or_(Project.visibility != "internal", own_all, member_of),
    )
    partner = and_(
        Project.visibility == "partner", Project.partner_organization_id == org, member_of
    )
    return or_(own, partner)


def visible_projects(session: Session, actor: Actor, *, archived: bool = False) -> list[Project]:
    """The projects the actor may see, own organization's first, by key."""
    query = select(Project).where(visible_clause(actor))
    if not archived:
        query = query.where(Project.archived_at.is_(None))
    projects = session.scalars(query.order_by(Project.key)).all()
    return sorted(projects, key=lambda p: (p.organization_id != actor.organization_id, p.key))


def get_project(session: Session, actor: Actor, ref: str | uuid.UUID) -> Project:
    """A project the actor may see, by id or by key (own organization's key first)."""
    if isinstance(ref, uuid.UUID):
        project = session.get(Project, ref)
        if project is None or project_role(session, actor, project) is None:
            raise ProjectNotFound("no such project")
        return project
    key = ref.strip().upper()
    candidates = session.scalars(
        select(Project).where(Project.key == key, visible_clause(actor))
    ).all()
    if not candidates:
        raise ProjectNotFound(f"no project with key {key!r}")
    candidates = sorted(candidates, key=lambda p: p.organization_id != actor.organization_id)
    for project in candidates:
        if project_role(session, actor, project) is not None:
            return project
    raise ProjectNotFound(f"no project with key {key!r}")


def require(session: Session, actor: Actor, project: Project, minimum: str) -> str:
    """The actor's project role if it is at least ``minimum`` (403 otherwise; 404 when
    they may not see the project)."""
    role = project_role(session, actor, project)
    if role is None:
        raise ProjectNotFound("no such project")
    if ROLE_RANK[role] < ROLE_RANK[minimum]:
        raise ProjectRoleTooLow(f"this needs the {minimum} role in project {project.key}")
    return role


def user_project_role(session: Session, user_id: uuid.UUID, project: Project) -> str | None:
    """A staff user's role in the project (for assignees, watchers and notifications)."""
    best: str | None = None
    for membership in session.scalars(select(Membership).where(Membership.user_id == user_id)):
        actor = Actor(
            kind="staff",
            organization_id=membership.organization_id,
            role=membership.role,
            user_id=user_id,
        )
        role = project_role(session, actor, project)
        if role is not None and (best is None or ROLE_RANK[role] > ROLE_RANK[best]):
            best = role
    return best


def project_people(session: Session, project: Project) -> dict[uuid.UUID, str]:
    """Everyone who may see the project (assignees, watchers, people to notify), by name:
    the rules of ``project_role`` as one query."""
    members = select(ProjectMember.user_id).where(ProjectMember.project_id == project.id)
    open_to_all = true() if project.visibility != "internal" else false()
    who = [
        and_(
            Membership.organization_id == project.organization_id,
            or_(
                open_to_all,
                Membership.role.in_(("owner", "admin")),
                Membership.user_id.in_(members),
            ),
        )
    ]
    if project.visibility == "partner" and project.partner_organization_id is not None:
        who.append(
            and_(
                Membership.organization_id == project.partner_organization_id,
                Membership.user_id.in_(members),
            )
        )
    rows = session.execute(
        select(StaffUser.id, StaffUser.display_name, StaffUser.email)
        .join(Membership, Membership.user_id == StaffUser.id)
        .where(or_(*who), StaffUser.is_active.is_(True))
        .distinct()
    ).all()
    people = {row.id: row.display_name or row.email for row in rows}
    return dict(sorted(people.items(), key=lambda item: item[1]))


# --- projects -----------------------------------------------------------------------------


def _clean(value: str, what: str, *, limit: int, required: bool = True) -> str:
    if "\x00" in value:
        raise InvalidInput(f"{what}: NUL characters are not allowed")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{what} is required")
    if len(value) > limit:
        raise InvalidInput(f"{what}: at most {limit} characters")
    return value


def create_project(
    session: Session,
    actor: Actor,
    *,
    key: str,
    name: str,
    description: str = "",
    visibility: str = "internal",
    department: str | None = None,
    partner_organization_id: uuid.UUID | None = None,
) -> Project:
    """A new project with the four statuses and four issue types; its creator (a staff
    user) becomes its admin.  Needs the member role in the organization."""
    actor.require_role("member")
    key = key.strip().upper()
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidInput(
            "key: 2 to 10 capital letters, digits or '_', starting with a letter (e.g. SUP)"
        )
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility: one of {', '.join(VISIBILITIES)}")
    if visibility == "partner":
        if partner_organization_id is None:
            raise InvalidInput("a project shared with a partner needs partner_organization")
        if partner_organization_id == actor.org_id or (
            session.get(Organization, partner_organization_id) is None
        ):
            raise InvalidInput("partner_organization: no such other organization")
    elif partner_organization_id is not None:
        raise InvalidInput("partner_organization is only for visibility 'partner'")
    if session.scalar(
        select(Project.id).where(Project.organization_id == actor.org_id, Project.key == key)
    ):
        raise ProjectKeyTaken(f"the project key {key} is in use already")
    project = Project(
        organization_id=actor.org_id,
        key=key,
        name=_clean(name, "name", limit=200),
        description=_clean(description, "description", limit=MAX_TEXT, required=False),
        visibility=visibility,
        department=_clean(department, "department", limit=100, required=False) or None
        if department
        else None,
        partner_organization_id=partner_organization_id,
    )
    session.add(project)
    session.flush()
    for position, (builtin, ja, en, color) in enumerate(BUILTIN_STATUSES):
        session.add(
            Status(
                project_id=project.id,
                name=ja,
                name_en=en,
                position=position,
                color=color,
                builtin=builtin,
            )
        )
    for position, (ja, en, color) in enumerate(DEFAULT_TYPES):
        session.add(
            IssueType(project_id=project.id, name=ja, name_en=en, color=color, position=position)
        )
    if actor.kind == "staff" and actor.user_id is not None:
        session.add(ProjectMember(project_id=project.id, user_id=actor.user_id, role="admin"))
    session.flush()
    return project


def set_member(
    session: Session, actor: Actor, project: Project, user_id: uuid.UUID, role: str
) -> ProjectMember:
    """Add a member or change their role (project admins).  Partner staff may join a
    partner project; nobody else from outside the organization may."""
    require(session, actor, project, "admin")
    if role not in PROJECT_ROLES:
        raise InvalidInput(f"role: one of {', '.join(PROJECT_ROLES)}")
    orgs = {project.organization_id}
    if project.visibility == "partner" and project.partner_organization_id is not None:
        orgs.add(project.partner_organization_id)
    if not session.scalar(
        select(Membership.id).where(
            Membership.user_id == user_id, Membership.organization_id.in_(orgs)
        )
    ):
        raise ItemNotFound("no such staff user in this organization or its partner")
    member = session.get(ProjectMember, (project.id, user_id))
    if member is None:
        member = ProjectMember(project_id=project.id, user_id=user_id, role=role)
        session.add(member)
    else:
        member.role = role
    session.flush()
    return member


def remove_member(session: Session, actor: Actor, project: Project, user_id: uuid.UUID) -> None:
    require(session, actor, project, "admin")
    member = session.get(ProjectMember, (project.id, user_id))
    if member is None:
        raise ItemNotFound("not a member of this project")
    session.delete(member)
    session.flush()


def members(session: Session, project: Project) -> list[tuple[ProjectMember, StaffUser]]:
    rows = session.execute(
        select(ProjectMember, StaffUser)
        .join(StaffUser, StaffUser.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project.id)
        .order_by(StaffUser.display_name)
    ).all()
    return [(row[0], row[1]) for row in rows]


def statuses(session: Session, project_id: uuid.UUID) -> list[Status]:
    return list(
        session.scalars(
            select(Status).where(Status.project_id == project_id).order_by(Status.position)
        )
    )


def issue_types(session: Session, project_id: uuid.UUID) -> list[IssueType]:
    return list(
        session.scalars(
            select(IssueType)
            .where(IssueType.project_id == project_id)
            .order_by(IssueType.position, IssueType.name)
        )
    )


def categories(session: Session, project_id: uuid.UUID) -> list[Category]:
    return list(
        session.scalars(
            select(Category).where(Category.project_id == project_id).order_by(Category.name)
        )
    )


def milestones(session: Session, project_id: uuid.UUID) -> list[Milestone]:
    return list(
        session.scalars(
            select(Milestone)
            .where(Milestone.project_id == project_id)
            .order_by(Milestone.release_due_date.is_(None), Milestone.release_due_date)
        )
    )


def custom_fields(session: Session, project_id: uuid.UUID) -> list[CustomField]:
    return list(
        session.scalars(
            select(CustomField)
            .where(CustomField.project_id == project_id)
            .order_by(CustomField.position, CustomField.name)
        )
    )


def status_label(status: Status, locale: str = "ja") -> str:
    return status.name_en if locale == "en" and status.name_en else status.name


def type_label(issue_type: IssueType, locale: str = "ja") -> str:
    return issue_type.name_en if locale == "en" and issue_type.name_en else issue_type.name


# --- cases: reading -------------------------------------------------------------------------


def project_of(session: Session, case: Case) -> Project:
    """The project a case is in."""
    project = session.get(Project, case.project_id)
    if project is None:
        raise CaseNotFound("no such case")
    return project


def get_case(session: Session, actor: Actor, ref: str | uuid.UUID) -> Case:
    """A case the actor may see, by id or by key (``SUP-12``; a key it had before a move
    still finds it)."""
    if isinstance(ref, uuid.UUID):
        case = session.get(Case, ref)
        if case is None:
            raise CaseNotFound("no such case")
        project = session.get(Project, case.project_id)
        if project is None or project_role(session, actor, project) is None:
            raise CaseNotFound("no such case")
        return case
    match = CASE_KEY_PATTERN.fullmatch(ref.strip().upper())
    if match is None:
        raise CaseNotFound(f"{ref!r} is not a case key (like SUP-12)")
    try:
        project = get_project(session, actor, match.group(1))
    except ProjectNotFound:
        raise CaseNotFound(f"no case {ref.strip().upper()}") from None
    number = int(match.group(2))
    found = session.scalar(select(Case).where(Case.project_id == project.id, Case.number == number))
    if found is None:
        moved = session.scalar(
            select(KeyAlias.case_id).where(
                KeyAlias.project_id == project.id, KeyAlias.number == number
            )
        )
        if moved is not None:
            return get_case(session, actor, moved)
        raise CaseNotFound(f"no case {ref.strip().upper()}")
    return found


def timeline(session: Session, case_id: uuid.UUID) -> list[Event]:
    """The case's timeline, oldest first."""
    return list(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq)))


def comments_by_id(session: Session, case_id: uuid.UUID) -> dict[uuid.UUID, Comment]:
    return {c.id: c for c in session.scalars(select(Comment).where(Comment.case_id == case_id))}


def attachments_of(session: Session, case_id: uuid.UUID) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.created_at)
        )
    )


def field_values(session: Session, case_id: uuid.UUID) -> dict[uuid.UUID, Any]:
    rows = session.scalars(select(FieldValue).where(FieldValue.case_id == case_id))
    return {row.field_id: row.value for row in rows}


def watchers(session: Session, case_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(Watcher.user_id).where(Watcher.case_id == case_id)))


def links_of(session: Session, case_id: uuid.UUID) -> list[Link]:
    return list(
        session.scalars(select(Link).where(Link.case_id == case_id).order_by(Link.created_at))
    )


def children(session: Session, case_id: uuid.UUID) -> list[Case]:
    return list(
        session.scalars(select(Case).where(Case.parent_id == case_id).order_by(Case.number))
    )


# --- cases: checking input -------------------------------------------------------------------


def _text(value: Any, what: str, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidCaseField(f"{what}: text expected")
    return _clean(value, what, limit=limit, required=required)


def _hours(value: Any, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        hours = Decimal(str(value))
    except InvalidOperation:
        raise InvalidCaseField(f"{what}: a number of hours expected (e.g. 1.5)") from None
    if not hours.is_finite() or hours < 0 or hours > MAX_HOURS:
        raise InvalidCaseField(f"{what}: between 0 and {MAX_HOURS} hours")
    return hours.quantize(Decimal("0.01"))


def _day(value: Any, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise InvalidCaseField(f"{what}: a date expected (YYYY-MM-DD)")
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            raise InvalidCaseField(f"{what}: a date expected (YYYY-MM-DD)") from None
    if not 1900 <= day.year <= 2999:
        raise InvalidCaseField(f"{what}: a date between 1900 and 2999")
    return day


def _uuid(value: Any, what: str) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidCaseField(f"{what}: an id expected") from None


def _in_project(
    session: Session, model: type[Any], item_id: uuid.UUID | None, project: Project, what: str
) -> Any:
    if item_id is None:
        return None
    item = session.get(model, item_id)
    if item is None or item.project_id != project.id:
        raise InvalidCaseField(f"{what}: no such {what} in project {project.key}")
    return item


def check_field_value(field: CustomField, value: Any) -> Any:
    """A custom field's value as stored (JSON), or ``InvalidCaseField``."""
    what = f"custom field {field.name!r}"
    if value is None or value == "" or value == []:
        if field.required:
            raise InvalidCaseField(f"{what} is required")
        return None
    if field.kind == "text":
        return _text(value, what, 10_000)
    if field.kind == "number":
        if isinstance(value, bool):
            raise InvalidCaseField(f"{what}: a number expected")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise InvalidCaseField(f"{what}: a number expected") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
            raise InvalidCaseField(f"{what}: a number expected")
        return float(number) if number != number.to_integral_value() else int(number)
    if field.kind == "date":
        day = _day(value, what)
        return day.isoformat() if day else None
    choices = [value] if isinstance(value, str) else value
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise InvalidCaseField(f"{what}: one of {', '.join(field.options)}")
    unknown = [c for c in choices if c not in field.options]
    if unknown:
        raise InvalidCaseField(f"{what}: {unknown[0]!r} is not one of {', '.join(field.options)}")
    if field.kind == "single":
        if len(choices) != 1:
            raise InvalidCaseField(f"{what}: exactly one choice")
        return choices[0]
    return sorted(set(choices), key=field.options.index)


def _field_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass
class _Changes:
    """Field changes of one event, as the timeline shows them."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, before: Any, after: Any) -> None:
        if before != after:
            self.items.append({"field": name, "from": before, "to": after})


def _display(session: Session, case: Case, name: str) -> Any:
    """A field's value as the timeline shows it (names, not ids)."""
    value = getattr(case, name)
    if value is None:
        return None
    if name == "status_id":
        status = session.get(Status, value)
        return status.name if status else None
    if name == "issue_type_id":
        issue_type = session.get(IssueType, value)
        return issue_type.name if issue_type else None
    if name == "category_id":
        category = session.get(Category, value)
        return category.name if category else None
    if name == "milestone_id":
        milestone = session.get(Milestone, value)
        return milestone.name if milestone else None
    if name == "assignee_id":
        user = session.get(StaffUser, value)
        return (user.display_name or user.email) if user else None
    if name == "parent_id":
        parent = session.get(Case, value)
        return parent.key if parent else None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral_value() else str(value)
    return value


#: the case's fields, as the timeline and the API name them (Backlog's names)
FIELD_NAMES = {
    "summary": "summary",
    "description": "description",
    "issue_type_id": "issueType",
    "priority": "priority",
    "status_id": "status",
    "assignee_id": "assignee",
    "start_date": "startDate",
    "due_date": "dueDate",
    "estimated_hours": "estimatedHours",
    "actual_hours": "actualHours",
    "category_id": "category",
    "milestone_id": "milestone",
    "parent_id": "parentIssue",
}
#: what ``update_case`` takes, and the attribute each sets
UPDATABLE = {
    "summary": "summary",
    "description": "description",
    "issue_type": "issue_type_id",
    "priority": "priority",
    "status": "status_id",
    "assignee": "assignee_id",
    "start_date": "start_date",
    "due_date": "due_date",
    "estimated_hours": "estimated_hours",
    "actual_hours": "actual_hours",
    "category": "category_id",
    "milestone": "milestone_id",
    "parent": "parent_id",
}


def _apply(session: Session, case: Case, project: Project, values: Mapping[str, Any]) -> None:
    """Check every value and set it on the case (no event: the caller records one)."""
    unknown = set(values) - set(UPDATABLE) - {"custom_fields"}
    if unknown:
        raise InvalidCaseField(f"unknown field {sorted(unknown)[0]!r}")
    for name, value in values.items():
        if name == "summary":
            case.summary = _text(value, "summary", MAX_SUMMARY, required=True)
        elif name == "description":
            case.description = _text(value or "", "description", MAX_TEXT)
        elif name == "priority":
            if value not in PRIORITIES:
                raise InvalidCaseField(f"priority: one of {', '.join(PRIORITIES)}")
            case.priority = value
        elif name == "issue_type":
            item = _in_project(
                session, IssueType, _uuid(value, "issue type"), project, "issue type"
            )
            if item is None:
                raise InvalidCaseField("issue type: required")
            case.issue_type_id = item.id
        elif name == "status":
            status = _in_project(session, Status, _uuid(value, "status"), project, "status")
            if status is None:
                raise InvalidCaseField("status: required")
            case.status_id = status.id
            case.closed = status.builtin == "closed"
        elif name == "assignee":
            user_id = _uuid(value, "assignee")
            if user_id is not None and user_project_role(session, user_id, project) is None:
                raise InvalidCaseField("assignee: not someone who can see this project")
            case.assignee_id = user_id
        elif name in ("start_date", "due_date"):
            setattr(case, name, _day(value, name))
        elif name in ("estimated_hours", "actual_hours"):
            setattr(case, name, _hours(value, name))
        elif name == "category":
            item = _in_project(session, Category, _uuid(value, "category"), project, "category")
            case.category_id = item.id if item else None
        elif name == "milestone":
            item = _in_project(session, Milestone, _uuid(value, "milestone"), project, "milestone")
            case.milestone_id = item.id if item else None
        elif name == "parent":
            case.parent_id = _check_parent(session, case, project, _uuid(value, "parent"))
    if case.start_date and case.due_date and case.start_date > case.due_date:
        raise InvalidCaseField("startDate: the start date lies after the due date")


def _check_parent(
    session: Session, case: Case, project: Project, parent_id: uuid.UUID | None
) -> uuid.UUID | None:
    """Sub-cases are one level deep (as in Backlog): a parent has no parent itself, and a
    case with sub-cases cannot become one."""
    if parent_id is None:
        return None
    parent = session.get(Case, parent_id)
    if parent is None or parent.project_id != project.id:
        raise InvalidCaseField(f"parent: no such case in project {project.key}")
    if parent.id == case.id:
        raise InvalidCaseField("parent: a case cannot be its own parent")
    if parent.parent_id is not None:
        raise InvalidCaseField(f"parent: {parent.key} is a sub-case itself (one level only)")
    if case.id is not None and session.scalar(select(Case.id).where(Case.parent_id == case.id)):
        raise InvalidCaseField("parent: this case has sub-cases, so it cannot become one")
    return parent.id


def _apply_fields(
    session: Session,
    case: Case,
    project: Project,
    values: Mapping[str, Any],
    changes: _Changes,
    *,
    creating: bool,
) -> None:
    fields = {f.name: f for f in custom_fields(session, project.id)}
    by_id = {str(f.id): f for f in fields.values()}
    current = field_values(session, case.id)
    given: dict[uuid.UUID, Any] = {}
    for name, value in values.items():
        found = fields.get(name) or by_id.get(name)
        if found is None:
            raise InvalidCaseField(f"custom field {name!r}: no such field in {project.key}")
        given[found.id] = check_field_value(found, value)
    if creating:
        for f in fields.values():
            if f.id not in given:
                given[f.id] = check_field_value(f, None)
    for f in fields.values():
        if f.id not in given:
            continue
        before, after = current.get(f.id), given[f.id]
        if before == after:
            continue
        changes.add(f"custom:{f.name}", _field_text(before), _field_text(after))
        row = session.get(FieldValue, (case.id, f.id))
        if after is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(FieldValue(case_id=case.id, field_id=f.id, value=after))
        else:
            row.value = after


def _record(
    session: Session,
    case: Case,
    author: Author,
    kind: str,
    changes: list[dict[str, Any]] | None = None,
    *,
    at: datetime | None = None,
    comment_id: uuid.UUID | None = None,
    attachment_id: uuid.UUID | None = None,
) -> Event:
    case.last_event += 1
    event = Event(
        case_id=case.id,
        seq=case.last_event,
        at=at or utcnow(),
        actor_id=author.user_id,
        actor_label=author.label,
        kind=kind,
        changes=changes or [],
        comment_id=comment_id,
        attachment_id=attachment_id,
    )
    session.add(event)
    session.flush()
    return event


# --- cases: writing -------------------------------------------------------------------------


def _take_number(session: Session, project: Project) -> int:
    """The project's next case number, under a row lock (a PostgreSQL ``FOR UPDATE``;
    SQLite's writer lock serialises writers anyway)."""
    locked = session.scalars(
        select(Project).where(Project.id == project.id).with_for_update()
    ).one()
    session.refresh(locked, ["next_number"])
    number = locked.next_number
    locked.next_number = number + 1
    return number


def new_case(
    session: Session,
    project: Project,
    author: Author,
    values: Mapping[str, Any],
    *,
    source: str = "ui",
    watchers_: Iterable[uuid.UUID] = (),
    notify: Sequence[uuid.UUID] = (),
    now: datetime | None = None,
) -> Case:
    """Open a case without a permission check (the inquiry form, KPT and escalation call
    this after their own checks; people and keys go through ``create_case``).

    ``values`` takes the keys of ``UPDATABLE`` (``summary`` is required) plus
    ``custom_fields`` (by field name or id)."""
    now = now or utcnow()
    if "summary" not in values:
        raise InvalidCaseField("summary is required")
    statuses_ = statuses(session, project.id)
    types_ = issue_types(session, project.id)
    case = Case(
        id=uuid.uuid4(),
        organization_id=project.organization_id,
        project_id=project.id,
        number=0,
        key="",
        summary="",
        description="",
        priority="normal",
        status_id=statuses_[0].id,
        issue_type_id=types_[0].id if types_ else None,
        created_by_id=author.user_id,
        created_by_label=author.label,
        source=source,
        created_at=now,
        updated_at=now,
        last_event=0,
        closed=False,
    )
    plain = {k: v for k, v in values.items() if k != "custom_fields"}
    _apply(session, case, project, plain)
    case.number = _take_number(session, project)
    case.key = f"{project.key}-{case.number}"
    session.add(case)
    session.flush()
    changes = _Changes()
    _apply_fields(session, case, project, values.get("custom_fields") or {}, changes, creating=True)
    for user_id in {*watchers_}:
        if user_project_role(session, user_id, project) is None:
            raise InvalidCaseField("watchers: not someone who can see this project")
        session.add(Watcher(case_id=case.id, user_id=user_id))
    event = _record(session, case, author, "created", at=now)
    search.index_case(session, case)
    dispatch.on_event(session, case, event, notify=_notifiable(session, project, notify))
    return case


def create_case(
    session: Session,
    actor: Actor,
    project: Project,
    values: Mapping[str, Any],
    *,
    source: Literal["ui", "api"] = "api",
    watchers_: Iterable[uuid.UUID] = (),
    notify: Sequence[uuid.UUID] = (),
) -> Case:
    """A new case ``KEY-n`` in the project (the member role in it)."""
    require(session, actor, project, "member")
    return new_case(
        session,
        project,
        author_of(session, actor),
        values,
        source=source,
        watchers_=watchers_,
        notify=notify,
    )


def change_case(
    session: Session,
    case: Case,
    author: Author,
    values: Mapping[str, Any],
    *,
    comment: str | None = None,
    notify: Sequence[uuid.UUID] = (),
    now: datetime | None = None,
) -> Event | None:
    """Change fields of a case (and optionally comment in the same timeline entry), with no
    permission check (see ``update_case``).  Nothing changed and no comment: no event."""
    project = project_of(session, case)
    before = {attr: _display(session, case, attr) for attr in FIELD_NAMES}
    plain = {k: v for k, v in values.items() if k != "custom_fields"}
    _apply(session, case, project, plain)
    changes = _Changes()
    for attr, name in FIELD_NAMES.items():
        changes.add(name, before[attr], _display(session, case, attr))
    _apply_fields(
        session, case, project, values.get("custom_fields") or {}, changes, creating=False
    )
    body = _text(comment, "comment", MAX_TEXT) if comment else ""
    if not changes.items and not body:
        return None
    now = now or utcnow()
    comment_row = None
    if body:
        comment_row = Comment(
            case_id=case.id,
            author_id=author.user_id,
            author_label=author.label,
            body=body,
            notified=[str(u) for u in notify],
            created_at=now,
        )
        session.add(comment_row)
        session.flush()
    case.updated_at = now
    event = _record(
        session,
        case,
        author,
        "changed" if changes.items else "commented",
        changes.items,
        at=now,
        comment_id=comment_row.id if comment_row else None,
    )
    search.index_case(session, case)
    dispatch.on_event(session, case, event, notify=_notifiable(session, project, notify))
    return event


def update_case(
    session: Session,
    actor: Actor,
    case: Case,
    values: Mapping[str, Any],
    *,
    comment: str | None = None,
    notify: Sequence[uuid.UUID] = (),
) -> Event | None:
    """Change a case (the member role in its project); see ``change_case``."""
    project = project_of(session, case)
    require(session, actor, project, "member")
    return change_case(
        session, case, author_of(session, actor), values, comment=comment, notify=notify
    )


def _notifiable(session: Session, project: Project, users: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    chosen = list(dict.fromkeys(users))
    for user_id in chosen:
        if user_project_role(session, user_id, project) is None:
            raise InvalidCaseField("notify: not someone who can see this project")
    return chosen


def add_comment(
    session: Session,
    case: Case,
    author: Author,
    body: str,
    *,
    notify: Sequence[uuid.UUID] = (),
    public: bool = False,
    from_inquirer: bool = False,
    now: datetime | None = None,
) -> Comment:
    """A comment on the case's timeline (no permission check: see ``comment``).  ``public``
    comments are shown to the inquirer who opened the case."""
    project = project_of(session, case)
    text = _text(body, "comment", MAX_TEXT, required=True)
    now = now or utcnow()
    chosen = _notifiable(session, project, notify)
    row = Comment(
        case_id=case.id,
        author_id=author.user_id,
        author_label=author.label,
        body=text,
        public=public or from_inquirer,
        from_inquirer=from_inquirer,
        notified=[str(u) for u in chosen],
        created_at=now,
    )
    session.add(row)
    session.flush()
    case.updated_at = now
    event = _record(session, case, author, "commented", at=now, comment_id=row.id)
    search.index_case(session, case)
    dispatch.on_event(session, case, event, notify=chosen)
    return row


def comment(
    session: Session,
    actor: Actor,
    case: Case,
    body: str,
    *,
    notify: Sequence[uuid.UUID] = (),
    public: bool = False,
) -> Comment:
    """A member's comment (``public``: a reply the inquirer sees)."""
    project = project_of(session, case)
    require(session, actor, project, "member")
    return add_comment(session, case, author_of(session, actor), body, notify=notify, public=public)


def set_watching(
    session: Session, actor: Actor, case: Case, user_id: uuid.UUID, *, watching: bool
) -> None:
    """Add or remove a watcher (members; anyone who sees the project may watch)."""
    project = project_of(session, case)
    require(session, actor, project, "member" if user_id != actor.user_id else "viewer")
    if user_project_role(session, user_id, project) is None:
        raise InvalidCaseField("watcher: not someone who can see this project")
    row = session.get(Watcher, (case.id, user_id))
    if watching and row is None:
        session.add(Watcher(case_id=case.id, user_id=user_id))
    elif not watching and row is not None:
        session.delete(row)
    session.flush()


# --- attachments ---------------------------------------------------------------------------

#: what the store takes: extension → (content type, check of the first bytes)
ATTACHMENT_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", (b"RIFF",)),
    "pdf": ("application/pdf", (b"%PDF-",)),
    "zip": ("application/zip", (b"PK\x03\x04",)),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (b"PK\x03\x04",),
    ),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    "pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (b"PK\x03\x04",),
    ),
    "txt": ("text/plain", ()),
    "csv": ("text/csv", ()),
    "log": ("text/plain", ()),
    "md": ("text/markdown", ()),
}


def _safe_filename(filename: str) -> str:
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        raise AttachmentRefused("the file needs a name")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext) if dot else name[:200]
    return name


def check_attachment(filename: str, data: bytes) -> tuple[str, str]:
    """The safe file name and content type of an upload, or ``AttachmentRefused`` /
    ``AttachmentTooLarge``.  The type comes from the extension and must match the bytes."""
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentTooLarge(
            f"attachments are at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB"
        )
    if not data:
        raise AttachmentRefused("the file is empty")
    name = _safe_filename(filename)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    known = ATTACHMENT_TYPES.get(ext)
    if known is None:
        allowed = ", ".join(sorted(ATTACHMENT_TYPES))
        raise AttachmentRefused(f"files of type .{ext or '?'} are not taken (allowed: {allowed})")
    content_type, magics = known
    if magics and not any(data.startswith(m) for m in magics):
        raise AttachmentRefused(f"the file's contents are not a .{ext} file")
    if ext == "webp" and data[8:12] != b"WEBP":
        raise AttachmentRefused("the file's contents are not a .webp file")
    if not magics:
        if b"\x00" in data:
            raise AttachmentRefused(f"a .{ext} file must be text")
        for encoding in ("utf-8", "cp932"):
            try:
                data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise AttachmentRefused(f"a .{ext} file must be text in UTF-8 or Shift_JIS")
    return name, content_type


def attachment_path(store: Path, storage_key: str) -> Path:
    return store / storage_key


def add_attachment(
    session: Session,
    store: Path,
    case: Case,
    author: Author,
    filename: str,
    data: bytes,
    *,
    comment_id: uuid.UUID | None = None,
) -> Attachment:
    """Keep the bytes in the content-addressed store outside the database and put the
    attachment on the timeline (no permission check: see ``attach``)."""
    name, content_type = check_attachment(filename, data)
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest[2:4]}/{digest}"
    path = attachment_path(store, key)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    row = Attachment(
        case_id=case.id,
        comment_id=comment_id,
        filename=name,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        storage_key=key,
        uploaded_by_id=author.user_id,
        uploaded_by_label=author.label,
    )
    session.add(row)
    session.flush()
    case.updated_at = utcnow()
    event = _record(
        session,
        case,
        author,
        "attached",
        [{"field": "attachment", "from": None, "to": name}],
        attachment_id=row.id,
    )
    dispatch.on_event(session, case, event)
    return row


def attach(
    session: Session, store: Path, actor: Actor, case: Case, filename: str, data: bytes
) -> Attachment:
    project = project_of(session, case)
    require(session, actor, project, "member")
    return add_attachment(session, store, case, author_of(session, actor), filename, data)


def read_attachment(
    session: Session, store: Path, actor: Actor, attachment_id: uuid.UUID
) -> tuple[Attachment, bytes]:
    """An attachment's row and bytes, for whoever may see its case."""
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise ItemNotFound("no such attachment")
    try:
        get_case(session, actor, row.case_id)
    except CaseNotFound:
        raise ItemNotFound("no such attachment") from None
    path = attachment_path(store, row.storage_key)
    if not path.is_file():
        raise ItemNotFound("the attachment's file is missing from the store")
    return row, path.read_bytes()


# --- links --------------------------------------------------------------------------------


def add_link(
    session: Session,
    actor: Actor,
    case: Case,
    kind: str,
    target_id: uuid.UUID,
    relation: str = "relates",
) -> Link:
    """Link the case to a person the organization knows, one of its CRM deals, or another
    case the actor sees (a case link is kept both ways)."""
    project = project_of(session, case)
    require(session, actor, project, "member")
    if relation not in CASE_RELATIONS:
        raise InvalidInput(f"relation: one of {', '.join(CASE_RELATIONS)}")
    author = author_of(session, actor)
    if kind == "person":
        access_person(session, case.organization_id, target_id)
        shown = "person"
    elif kind == "deal":
        entity = get_entity(session, case.organization_id, target_id)
        shown = entity.name
    elif kind == "case":
        other = get_case(session, actor, target_id)
        if other.id == case.id:
            raise InvalidInput("a case cannot be linked to itself")
        shown = other.key
    else:
        raise InvalidInput("kind: one of person, deal, case")
    existing = session.scalar(
        select(Link).where(
            Link.case_id == case.id,
            Link.kind == kind,
            Link.target_id == target_id,
            Link.relation == relation,
        )
    )
    if existing is not None:
        return existing
    link = Link(case_id=case.id, kind=kind, target_id=target_id, relation=relation)
    session.add(link)
    if kind == "case":
        _link_back(session, other, case, relation)
        _record(
            session,
            other,
            author,
            "linked",
            [{"field": "link", "from": None, "to": case.key}],
        )
    _record(session, case, author, "linked", [{"field": "link", "from": None, "to": shown}])
    return link


_REVERSE = {"escalated_to": "escalated_from", "escalated_from": "escalated_to"}


def _link_back(session: Session, case: Case, other: Case, relation: str) -> None:
    back = _REVERSE.get(relation, relation)
    if (
        session.scalar(
            select(Link.id).where(
                Link.case_id == case.id,
                Link.kind == "case",
                Link.target_id == other.id,
                Link.relation == back,
            )
        )
        is None
    ):
        session.add(Link(case_id=case.id, kind="case", target_id=other.id, relation=back))


def remove_link(session: Session, actor: Actor, case: Case, link_id: uuid.UUID) -> None:
    project = project_of(session, case)
    require(session, actor, project, "member")
    link = session.get(Link, link_id)
    if link is None or link.case_id != case.id:
        raise ItemNotFound("no such link on this case")
    if link.kind == "case":
        back = session.scalar(
            select(Link).where(
                Link.case_id == link.target_id,
                Link.kind == "case",
                Link.target_id == case.id,
                Link.relation == _REVERSE.get(link.relation, link.relation),
            )
        )
        if back is not None:
            session.delete(back)
    session.delete(link)
    _record(
        session,
        case,
        author_of(session, actor),
        "unlinked",
        [{"field": "link", "from": link.kind, "to": None}],
    )


# --- escalation ----------------------------------------------------------------------------


def _same_named(session: Session, model: Any, item_id: uuid.UUID | None, target: Project) -> Any:
    if item_id is None:
        return None
    item = session.get(model, item_id)
    if item is None:
        return None
    return session.scalar(
        select(model.id).where(model.project_id == target.id, model.name == item.name)
    )


def escalate(
    session: Session,
    actor: Actor,
    case: Case,
    target: Project,
    *,
    mode: Literal["copy", "move"] = "copy",
    comment: str | None = None,
) -> Case:
    """Escalate a case to another project (support → engineering).

    ``copy`` opens a new case there carrying the summary, description, priority and the
    whole timeline (events and comments as they were), linked both ways
    (``escalated_to`` / ``escalated_from``); the original stays where its reporter sees it.
    ``move`` gives the case itself a key in the target project; its old key keeps finding
    it.  Statuses, types, categories and milestones carry over by name, else the target's
    defaults; custom fields of the old project are left behind (the timeline keeps them).
    Needs the member role in both projects."""
    source = project_of(session, case)
    require(session, actor, source, "member")
    require(session, actor, target, "member")
    if target.id == source.id:
        raise InvalidInput("the case is in that project already")
    if mode not in ("copy", "move"):
        raise InvalidInput("mode: copy or move")
    author = author_of(session, actor)
    note = _text(comment, "comment", MAX_TEXT) if comment else ""
    carried = {
        "status": _same_named(session, Status, case.status_id, target),
        "issue_type": _same_named(session, IssueType, case.issue_type_id, target),
        "category": _same_named(session, Category, case.category_id, target),
        "milestone": _same_named(session, Milestone, case.milestone_id, target),
    }
    if mode == "move":
        return _move(session, case, source, target, author, carried, note)
    values: dict[str, Any] = {
        "summary": case.summary,
        "description": case.description,
        "priority": case.priority,
        "start_date": case.start_date,
        "due_date": case.due_date,
        "estimated_hours": case.estimated_hours,
    }
    values.update({k: v for k, v in carried.items() if v is not None and k != "status"})
    if case.assignee_id and user_project_role(session, case.assignee_id, target):
        values["assignee"] = case.assignee_id
    copy = new_case(session, target, author, values, source="escalation")
    _copy_timeline(session, case, copy)
    session.add(Link(case_id=case.id, kind="case", target_id=copy.id, relation="escalated_to"))
    session.add(Link(case_id=copy.id, kind="case", target_id=case.id, relation="escalated_from"))
    change = [{"field": "escalation", "from": case.key, "to": copy.key}]
    event = _record(session, copy, author, "escalated", change)
    if note:
        add_comment(session, copy, author, note)
    back = _record(session, case, author, "escalated", change)
    case.updated_at = back.at
    dispatch.on_event(session, copy, event)
    return copy


def _copy_timeline(session: Session, source: Case, copy: Case) -> None:
    """Put the source's timeline before the copy's own events, as it was."""
    own = timeline(session, copy.id)
    old = timeline(session, source.id)
    comments = comments_by_id(session, source.id)
    shift = len(old)
    for event in reversed(own):  # make room: renumber the copy's own events after the old
        event.seq += shift
        session.flush()
    for event in old:
        comment_id = None
        if event.comment_id is not None and event.comment_id in comments:
            original = comments[event.comment_id]
            duplicate = Comment(
                case_id=copy.id,
                author_id=original.author_id,
                author_label=original.author_label,
                body=original.body,
                public=False,
                from_inquirer=original.from_inquirer,
                notified=[],
                created_at=original.created_at,
            )
            session.add(duplicate)
            session.flush()
            comment_id = duplicate.id
        session.add(
            Event(
                case_id=copy.id,
                seq=event.seq,
                at=event.at,
                actor_id=event.actor_id,
                actor_label=event.actor_label,
                kind=event.kind,
                changes=[*event.changes, {"field": "origin", "from": None, "to": source.key}],
                comment_id=comment_id,
            )
        )
    copy.last_event += shift
    session.flush()
    search.index_case(session, copy)


def _move(
    session: Session,
    case: Case,
    source: Project,
    target: Project,
    author: Author,
    carried: Mapping[str, uuid.UUID | None],
    note: str,
) -> Case:
    old_key, old_number = case.key, case.number
    dropped = field_values(session, case.id)
    for row in session.scalars(select(FieldValue).where(FieldValue.case_id == case.id)):
        session.delete(row)
    for child in children(session, case.id):
        child.parent_id = None
    if case.parent_id is not None:
        case.parent_id = None
    target_statuses = statuses(session, target.id)
    status_id = carried["status"] or target_statuses[0].id
    case.project_id = target.id
    case.status_id = status_id
    case.closed = any(s.id == status_id and s.builtin == "closed" for s in target_statuses)
    types_ = issue_types(session, target.id)
    case.issue_type_id = carried["issue_type"] or (types_[0].id if types_ else None)
    case.category_id = carried["category"]
    case.milestone_id = carried["milestone"]
    if case.assignee_id and user_project_role(session, case.assignee_id, target) is None:
        case.assignee_id = None
    case.number = _take_number(session, target)
    case.key = f"{target.key}-{case.number}"
    session.add(KeyAlias(project_id=source.id, number=old_number, key=old_key, case_id=case.id))
    session.flush()
    changes: list[dict[str, Any]] = [{"field": "project", "from": old_key, "to": case.key}]
    if dropped:
        changes.append({"field": "custom_fields", "from": len(dropped), "to": 0})
    event = _record(session, case, author, "moved", changes)
    case.updated_at = event.at
    if note:
        add_comment(session, case, author, note)
    search.index_case(session, case)
    dispatch.on_event(session, case, event)
    return case


# --- lists ---------------------------------------------------------------------------------

SORTS = ("updated", "created", "due_date", "start_date", "priority", "key", "status")


@dataclass(frozen=True)
class CaseQuery:
    """Filters of the case lists (every one optional; lists are of visible projects)."""

    project_ids: tuple[uuid.UUID, ...] = ()
    keyword: str | None = None
    status_ids: tuple[uuid.UUID, ...] = ()
    #: built-in status groups: open, in_progress, resolved, closed
    status_groups: tuple[str, ...] = ()
    not_closed: bool = False
    assignee_ids: tuple[uuid.UUID, ...] = ()
    unassigned: bool = False
    created_by_ids: tuple[uuid.UUID, ...] = ()
    issue_type_ids: tuple[uuid.UUID, ...] = ()
    priorities: tuple[str, ...] = ()
    category_ids: tuple[uuid.UUID, ...] = ()
    milestone_ids: tuple[uuid.UUID, ...] = ()
    parent_id: uuid.UUID | None = None
    #: ``parents`` only cases without a parent, ``children`` only sub-cases
    parent_child: Literal["all", "parents", "children"] = "all"
    overdue_on: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    start_from: date | None = None
    start_to: date | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    watcher_id: uuid.UUID | None = None
    sort: str = "updated"
    order: Literal["asc", "desc"] = "desc"
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class CasePage:
    """A page of cases; ``total`` counts the matches up to ``COUNT_CAP`` (``more``: there
    are more than that — lists say "10,000+")."""

    items: list[Case]
    total: int
    limit: int
    offset: int
    more: bool = False


def case_filter(session: Session, actor: Actor, query: CaseQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a case list (visible projects first)."""
    # the visible projects as plain ids: with a subquery, SQLite scans and sorts every case
    visible = select(Project.id).where(visible_clause(actor))
    if query.project_ids:
        visible = visible.where(Project.id.in_(query.project_ids))
    ids = list(session.scalars(visible))
    where: list[ColumnElement[bool]] = [
        Case.project_id == ids[0] if len(ids) == 1 else Case.project_id.in_(ids)
    ]
    if query.keyword is not None and query.keyword.strip():
        where.append(search.keyword_clause(session, query.keyword))
    if query.status_ids:
        where.append(Case.status_id.in_(query.status_ids))
    if query.status_groups:
        where.append(
            Case.status_id.in_(select(Status.id).where(Status.builtin.in_(query.status_groups)))
        )
    if query.not_closed:
        where.append(Case.closed.is_(False))
    if query.assignee_ids and query.unassigned:
        where.append(or_(Case.assignee_id.in_(query.assignee_ids), Case.assignee_id.is_(None)))
    elif query.assignee_ids:
        where.append(Case.assignee_id.in_(query.assignee_ids))
    elif query.unassigned:
        where.append(Case.assignee_id.is_(None))
    if query.created_by_ids:
        where.append(Case.created_by_id.in_(query.created_by_ids))
    if query.issue_type_ids:
        where.append(Case.issue_type_id.in_(query.issue_type_ids))
    if query.priorities:
        where.append(Case.priority.in_(query.priorities))
    if query.category_ids:
        where.append(Case.category_id.in_(query.category_ids))
    if query.milestone_ids:
        where.append(Case.milestone_id.in_(query.milestone_ids))
    if query.parent_id is not None:
        where.append(Case.parent_id == query.parent_id)
    if query.parent_child == "parents":
        where.append(Case.parent_id.is_(None))
    elif query.parent_child == "children":
        where.append(Case.parent_id.is_not(None))
    if query.overdue_on is not None:
        where += [Case.closed.is_(False), Case.due_date < query.overdue_on]
    for column, low, high in (
        (Case.due_date, query.due_from, query.due_to),
        (Case.start_date, query.start_from, query.start_to),
        (Case.created_at, query.created_from, query.created_to),
        (Case.updated_at, query.updated_from, query.updated_to),
    ):
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    if query.watcher_id is not None:
        where.append(
            Case.id.in_(select(Watcher.case_id).where(Watcher.user_id == query.watcher_id))
        )
    return where


def _order(query: CaseQuery) -> list[Any]:
    if query.sort not in SORTS:
        raise InvalidInput(f"sort: one of {', '.join(SORTS)}")
    descending = query.order == "desc"
    if query.sort == "priority":
        weight = sql_case((Case.priority == "high", 0), (Case.priority == "normal", 1), else_=2)
        primary: Any = weight.asc() if descending else weight.desc()
    elif query.sort == "status":
        position = select(Status.position).where(Status.id == Case.status_id).scalar_subquery()
        primary = position.desc() if descending else position.asc()
    else:
        column = {
            "updated": Case.updated_at,
            "created": Case.created_at,
            "due_date": Case.due_date,
            "start_date": Case.start_date,
            "key": Case.number,
        }[query.sort]
        if query.sort in ("due_date", "start_date"):
            primary = column.desc().nulls_last() if descending else column.asc().nulls_last()
        else:  # NOT NULL columns: plain order, so (project_id, updated_at) serves the page
            primary = column.desc() if descending else column.asc()
    tie = Case.id.desc() if descending else Case.id.asc()
    return [primary, tie]


def list_cases(session: Session, actor: Actor, query: CaseQuery) -> CasePage:
    """One page of the cases the actor sees that match the query, and how many match."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise InvalidInput(f"count: between 1 and {MAX_PAGE}")
    if query.offset < 0:
        raise InvalidInput("offset: 0 or more")
    where = case_filter(session, actor, query)
    items = list(
        session.scalars(
            select(Case)
            .where(*where)
            .order_by(*_order(query))
            .limit(query.limit)
            .offset(query.offset)
        )
    )
    counted = select(Case.id).where(*where).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(counted)) or 0
    return CasePage(
        items=items,
        total=min(total, COUNT_CAP),
        limit=query.limit,
        offset=query.offset,
        more=total > COUNT_CAP,
    )
