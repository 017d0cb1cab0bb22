"""Use cases of a project's settings: the project itself, its statuses, issue types,
categories, milestones, custom fields, members and inquiry form.

Every writing function takes the acting ``Actor`` and needs the project's ``admin`` role
(``service.require``); reading is for anyone who sees the project.  What must stay true:

- **Statuses**: the built-in ``Open`` is always first and ``Closed`` always last; custom
  statuses live between them.  Built-ins may be renamed and recoloured, never deleted.
  Deleting a status that cases are in needs a *substitute* status of the same project: each
  case moves there through ``service.change_case``, so the move is an event on its timeline
  (named after the admin who deleted the status).
- **Issue types** follow the same substitute rule; a project keeps at least one type.
- **Categories and milestones** may be deleted while in use: their cases lose them, each
  with a timeline event.
- **Custom fields** keep their kind.  Changing the options of a choice field never orphans
  stored values silently: an option that a case still holds cannot be removed
  (``OptionInUse``, 409, naming the option) unless ``renames`` maps it to a kept option,
  in which case the stored values are migrated to the new name first.
- **Visibility** ``partner`` needs another organization that exists; leaving ``partner``
  (or changing the partner) removes the former partner's staff from the members.

Services flush and never commit.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Text, cast, delete, func, select, update
from sqlalchemy.orm import Session

from tsunagu.cases import service
from tsunagu.cases.errors import ItemNotFound, NameTaken
from tsunagu.cases.models import (
    FIELD_KINDS,
    VISIBILITIES,
    Case,
    Category,
    CustomField,
    FieldValue,
    IssueType,
    Milestone,
    Project,
    ProjectMember,
    Status,
)
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import Conflict, InvalidInput
from tsunagu.identity.models import Membership, Organization
from tsunagu.identity.service import Actor

COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_STATUSES = 20
MAX_OPTIONS = 100
MAX_OPTION_LENGTH = 100
#: what ``update_project`` takes
PROJECT_FIELDS = frozenset(
    {
        "name",
        "description",
        "visibility",
        "department",
        "partner_organization_id",
        "archived",
        "inquiry_enabled",
        "inquiry_notice_ja",
        "inquiry_notice_en",
    }
)

__all__ = [
    "BuiltinStatus",
    "InUse",
    "OptionInUse",
    "SubstituteRequired",
    "add_category",
    "add_custom_field",
    "add_issue_type",
    "add_milestone",
    "add_status",
    "delete_category",
    "delete_custom_field",
    "delete_issue_type",
    "delete_milestone",
    "delete_status",
    "organization_by_slug",
    "reorder_statuses",
    "update_category",
    "update_custom_field",
    "update_issue_type",
    "update_milestone",
    "update_project",
    "update_status",
]


class BuiltinStatus(Conflict):
    """Open, In Progress, Resolved and Closed cannot be deleted (nor Open/Closed moved)."""

    code = "builtin_status"


class SubstituteRequired(Conflict):
    """Cases are in the status (or of the type): say where they go."""

    code = "substitute_required"


class InUse(Conflict):
    """The last issue type of a project cannot go."""

    code = "in_use"


class OptionInUse(Conflict):
    """A choice a case still holds cannot be removed (rename it instead)."""

    code = "option_in_use"


# --- checking input -------------------------------------------------------------------------


def _name(value: Any, what: str = "name", limit: int = 60) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what}: text expected")
    return service._clean(value, what, limit=limit)


def _optional_text(value: Any, what: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what}: text expected")
    return service._clean(value, what, limit=limit, required=False)


def _color(value: Any) -> str:
    if not isinstance(value, str) or not COLOR_PATTERN.fullmatch(value.strip()):
        raise InvalidInput("color: a colour like #4488c5 expected")
    return value.strip().lower()


def _day(value: Any, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{what}: a date expected (YYYY-MM-DD)") from None
    if not 1900 <= day.year <= 2999:
        raise InvalidInput(f"{what}: a date between 1900 and 2999")
    return day


def _unique_name(
    session: Session, model: Any, project: Project, name: str, *, but: uuid.UUID | None = None
) -> None:
    query = select(model.id).where(model.project_id == project.id, model.name == name)
    if but is not None:
        query = query.where(model.id != but)
    if session.scalar(query) is not None:
        raise NameTaken(f"the name {name!r} is in use already in {project.key}")


def _item(session: Session, model: Any, project: Project, item_id: uuid.UUID, what: str) -> Any:
    item = session.get(model, item_id)
    if item is None or item.project_id != project.id:
        raise ItemNotFound(f"no such {what} in project {project.key}")
    return item


def _admin(session: Session, actor: Actor, project: Project) -> None:
    service.require(session, actor, project, "admin")


def organization_by_slug(session: Session, slug: str) -> uuid.UUID:
    """The id of the organization with that slug (``InvalidInput`` when there is none:
    the caller named it as input, so it is not a 404 of the path)."""
    found = session.scalar(select(Organization.id).where(Organization.slug == slug.strip()))
    if found is None:
        raise InvalidInput(f"partnerOrganization: no organization {slug!r}")
    return found


# --- the project -----------------------------------------------------------------------------


def update_project(
    session: Session, actor: Actor, project: Project, values: Mapping[str, Any]
) -> Project:
    """Change a project's name, description, department, visibility (with its partner),
    archive state or inquiry form settings.  Keys not given stay as they are."""
    _admin(session, actor, project)
    unknown = set(values) - PROJECT_FIELDS
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}")
    if "name" in values:
        project.name = _name(values["name"], limit=200)
    if "description" in values:
        project.description = _optional_text(values["description"], "description", 100_000)
    if "department" in values:
        project.department = _optional_text(values["department"], "department", 100) or None
    for lang in ("ja", "en"):
        key = f"inquiry_notice_{lang}"
        if key in values:
            setattr(project, key, _optional_text(values[key], key, 10_000))
    if "inquiry_enabled" in values:
        if not isinstance(values["inquiry_enabled"], bool):
            raise InvalidInput("inquiry_enabled: true or false")
        project.inquiry_enabled = values["inquiry_enabled"]
    if "archived" in values:
        if not isinstance(values["archived"], bool):
            raise InvalidInput("archived: true or false")
        if values["archived"] and project.archived_at is None:
            project.archived_at = utcnow()
        elif not values["archived"]:
            project.archived_at = None
    if "visibility" in values or "partner_organization_id" in values:
        visibility = values.get("visibility", project.visibility)
        if "partner_organization_id" in values:
            partner = values["partner_organization_id"]
        else:
            partner = project.partner_organization_id if visibility == "partner" else None
        _set_visibility(session, project, visibility, partner)
    session.flush()
    return project


def _set_visibility(
    session: Session, project: Project, visibility: Any, partner_id: uuid.UUID | None
) -> None:
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility: one of {', '.join(VISIBILITIES)}")
    if visibility == "partner":
        if partner_id is None:
            raise InvalidInput("a project shared with a partner needs partnerOrganization")
        if partner_id == project.organization_id or session.get(Organization, partner_id) is None:
            raise InvalidInput("partnerOrganization: no such other organization")
    elif partner_id is not None:
        raise InvalidInput("partnerOrganization is only for visibility 'partner'")
    if partner_id != project.partner_organization_id:
        # staff of the former partner lose the project with it (unless they also work here)
        keep = select(Membership.user_id).where(
            Membership.organization_id.in_(
                [project.organization_id] + ([partner_id] if partner_id else [])
            )
        )
        session.execute(
            delete(ProjectMember).where(
                ProjectMember.project_id == project.id, ProjectMember.user_id.not_in(keep)
            )
        )
    project.visibility = visibility
    project.partner_organization_id = partner_id


# --- statuses -------------------------------------------------------------------------------


def add_status(
    session: Session,
    actor: Actor,
    project: Project,
    *,
    name: str,
    color: str,
    name_en: str | None = None,
) -> Status:
    """A custom status, placed just before Closed."""
    _admin(session, actor, project)
    clean = _name(name)
    _unique_name(session, Status, project, clean)
    existing = service.statuses(session, project.id)
    if len(existing) >= MAX_STATUSES:
        raise InvalidInput(f"a project has at most {MAX_STATUSES} statuses")
    closed = existing[-1]
    status = Status(
        project_id=project.id,
        name=clean,
        name_en=_optional_text(name_en, "nameEn", 60) or None,
        color=_color(color),
        position=closed.position,
        builtin=None,
    )
    closed.position += 1
    session.add(status)
    session.flush()
    return status


def update_status(
    session: Session,
    actor: Actor,
    project: Project,
    status_id: uuid.UUID,
    values: Mapping[str, Any],
) -> Status:
    """Rename or recolour a status (built-ins too): keys ``name``, ``name_en``, ``color``."""
    _admin(session, actor, project)
    status: Status = _item(session, Status, project, status_id, "status")
    unknown = set(values) - {"name", "name_en", "color"}
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}")
    if "name" in values:
        clean = _name(values["name"])
        _unique_name(session, Status, project, clean, but=status.id)
        status.name = clean
    if "name_en" in values:
        status.name_en = _optional_text(values["name_en"], "nameEn", 60) or None
    if "color" in values:
        status.color = _color(values["color"])
    session.flush()
    return status


def reorder_statuses(
    session: Session, actor: Actor, project: Project, order: Sequence[uuid.UUID]
) -> list[Status]:
    """Put the statuses in the given order: every status once, Open first, Closed last."""
    _admin(session, actor, project)
    current = {s.id: s for s in service.statuses(session, project.id)}
    if len(order) != len(current) or set(order) != set(current):
        raise InvalidInput("statusIds: every status of the project, each once")
    if current[order[0]].builtin != "open" or current[order[-1]].builtin != "closed":
        raise BuiltinStatus("Open stays first and Closed stays last")
    for position, status_id in enumerate(order):
        current[status_id].position = position
    session.flush()
    return service.statuses(session, project.id)


def delete_status(
    session: Session,
    actor: Actor,
    project: Project,
    status_id: uuid.UUID,
    *,
    substitute_id: uuid.UUID | None = None,
) -> int:
    """Delete a custom status; its cases move to ``substitute_id`` (required when there
    are any), each with a timeline event.  Returns how many cases moved."""
    _admin(session, actor, project)
    status: Status = _item(session, Status, project, status_id, "status")
    if status.builtin is not None:
        raise BuiltinStatus("the built-in statuses cannot be deleted")
    moved = _move_cases(
        session, actor, project, Case.status_id, status.id, "status", substitute_id, Status
    )
    session.delete(status)
    session.flush()
    _renumber(session, Status, project)
    return moved


def _move_cases(
    session: Session,
    actor: Actor,
    project: Project,
    column: Any,
    item_id: uuid.UUID,
    field: str,
    substitute_id: uuid.UUID | None,
    model: Any,
) -> int:
    """Move every case holding ``item_id`` in ``column`` to the substitute (or to none when
    ``model`` is None), through ``change_case`` so each move is on the case's timeline."""
    case_ids = list(session.scalars(select(Case.id).where(column == item_id)))
    target: uuid.UUID | None = None
    if model is not None:
        if substitute_id is not None:
            if substitute_id == item_id:
                raise InvalidInput(f"the substitute {field} must be another {field}")
            target = _item(session, model, project, substitute_id, field).id
        elif case_ids:
            raise SubstituteRequired(
                f"{len(case_ids)} cases have this {field}: name a substitute {field}"
            )
    if not case_ids:
        return 0
    author = service.author_of(session, actor)
    for case_id in case_ids:
        case = session.get(Case, case_id)
        if case is not None:
            service.change_case(session, case, author, {field: target})
    session.flush()
    return len(case_ids)


def _renumber(session: Session, model: Any, project: Project) -> None:
    items = session.scalars(
        select(model).where(model.project_id == project.id).order_by(model.position)
    ).all()
    for position, item in enumerate(items):
        item.position = position
    session.flush()


# --- issue types ----------------------------------------------------------------------------


def add_issue_type(
    session: Session,
    actor: Actor,
    project: Project,
    *,
    name: str,
    color: str,
    name_en: str | None = None,
) -> IssueType:
    _admin(session, actor, project)
    clean = _name(name)
    _unique_name(session, IssueType, project, clean)
    last = session.scalar(
        select(func.max(IssueType.position)).where(IssueType.project_id == project.id)
    )
    issue_type = IssueType(
        project_id=project.id,
        name=clean,
        name_en=_optional_text(name_en, "nameEn", 60) or None,
        color=_color(color),
        position=(last if last is not None else -1) + 1,
    )
    session.add(issue_type)
    session.flush()
    return issue_type


def update_issue_type(
    session: Session, actor: Actor, project: Project, type_id: uuid.UUID, values: Mapping[str, Any]
) -> IssueType:
    _admin(session, actor, project)
    issue_type: IssueType = _item(session, IssueType, project, type_id, "issue type")
    unknown = set(values) - {"name", "name_en", "color"}
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}")
    if "name" in values:
        clean = _name(values["name"])
        _unique_name(session, IssueType, project, clean, but=issue_type.id)
        issue_type.name = clean
    if "name_en" in values:
        issue_type.name_en = _optional_text(values["name_en"], "nameEn", 60) or None
    if "color" in values:
        issue_type.color = _color(values["color"])
    session.flush()
    return issue_type


def delete_issue_type(
    session: Session,
    actor: Actor,
    project: Project,
    type_id: uuid.UUID,
    *,
    substitute_id: uuid.UUID | None = None,
) -> int:
    """Delete an issue type; its cases take ``substitute_id`` (required when any exist)."""
    _admin(session, actor, project)
    issue_type: IssueType = _item(session, IssueType, project, type_id, "issue type")
    count = session.scalar(
        select(func.count()).select_from(IssueType).where(IssueType.project_id == project.id)
    )
    if (count or 0) <= 1:
        raise InUse("a project keeps at least one issue type")
    moved = _move_cases(
        session,
        actor,
        project,
        Case.issue_type_id,
        issue_type.id,
        "issue_type",
        substitute_id,
        IssueType,
    )
    session.delete(issue_type)
    session.flush()
    return moved


# --- categories -----------------------------------------------------------------------------


def add_category(session: Session, actor: Actor, project: Project, *, name: str) -> Category:
    _admin(session, actor, project)
    clean = _name(name, limit=100)
    _unique_name(session, Category, project, clean)
    category = Category(project_id=project.id, name=clean)
    session.add(category)
    session.flush()
    return category


def update_category(
    session: Session, actor: Actor, project: Project, category_id: uuid.UUID, *, name: str
) -> Category:
    _admin(session, actor, project)
    category: Category = _item(session, Category, project, category_id, "category")
    clean = _name(name, limit=100)
    _unique_name(session, Category, project, clean, but=category.id)
    category.name = clean
    session.flush()
    return category


def delete_category(
    session: Session, actor: Actor, project: Project, category_id: uuid.UUID
) -> int:
    """Delete a category; its cases lose it, each with a timeline event."""
    _admin(session, actor, project)
    category: Category = _item(session, Category, project, category_id, "category")
    moved = _move_cases(
        session, actor, project, Case.category_id, category.id, "category", None, None
    )
    session.delete(category)
    session.flush()
    return moved


# --- milestones -----------------------------------------------------------------------------

MILESTONE_FIELDS = frozenset({"name", "description", "start_date", "release_due_date", "archived"})


def _apply_milestone(
    session: Session, project: Project, milestone: Milestone, values: Mapping[str, Any]
) -> None:
    unknown = set(values) - MILESTONE_FIELDS
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}")
    if "name" in values:
        clean = _name(values["name"], limit=100)
        _unique_name(session, Milestone, project, clean, but=milestone.id)
        milestone.name = clean
    if "description" in values:
        milestone.description = _optional_text(values["description"], "description", 10_000)
    if "start_date" in values:
        milestone.start_date = _day(values["start_date"], "startDate")
    if "release_due_date" in values:
        milestone.release_due_date = _day(values["release_due_date"], "releaseDueDate")
    if "archived" in values:
        if not isinstance(values["archived"], bool):
            raise InvalidInput("archived: true or false")
        milestone.archived = values["archived"]
    if (
        milestone.start_date is not None
        and milestone.release_due_date is not None
        and milestone.start_date > milestone.release_due_date
    ):
        raise InvalidInput("startDate: the start lies after the release due date")


def add_milestone(
    session: Session, actor: Actor, project: Project, values: Mapping[str, Any]
) -> Milestone:
    """A milestone (Backlog's "version"): ``name`` required; ``description``,
    ``start_date``, ``release_due_date``, ``archived`` optional."""
    _admin(session, actor, project)
    if "name" not in values:
        raise InvalidInput("name is required")
    milestone = Milestone(project_id=project.id, name="", description="", archived=False)
    _apply_milestone(session, project, milestone, values)
    session.add(milestone)
    session.flush()
    return milestone


def update_milestone(
    session: Session,
    actor: Actor,
    project: Project,
    milestone_id: uuid.UUID,
    values: Mapping[str, Any],
) -> Milestone:
    _admin(session, actor, project)
    milestone: Milestone = _item(session, Milestone, project, milestone_id, "milestone")
    _apply_milestone(session, project, milestone, values)
    session.flush()
    return milestone


def delete_milestone(
    session: Session, actor: Actor, project: Project, milestone_id: uuid.UUID
) -> int:
    """Delete a milestone; its cases lose it, each with a timeline event."""
    _admin(session, actor, project)
    milestone: Milestone = _item(session, Milestone, project, milestone_id, "milestone")
    moved = _move_cases(
        session, actor, project, Case.milestone_id, milestone.id, "milestone", None, None
    )
    session.delete(milestone)
    session.flush()
    return moved


# --- custom fields --------------------------------------------------------------------------


def _options(kind: str, options: Any) -> list[str]:
    if kind not in ("single", "multi"):
        if options:
            raise InvalidInput("options: only choice fields (single, multi) have options")
        return []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise InvalidInput("options: a list of texts expected")
    cleaned = [service._clean(o, "option", limit=MAX_OPTION_LENGTH) for o in options]
    if not cleaned:
        raise InvalidInput("options: a choice field needs at least one option")
    if len(cleaned) > MAX_OPTIONS:
        raise InvalidInput(f"options: at most {MAX_OPTIONS}")
    if len(set(cleaned)) != len(cleaned):
        raise InvalidInput("options: each option once")
    return cleaned


def add_custom_field(
    session: Session,
    actor: Actor,
    project: Project,
    *,
    name: str,
    kind: str,
    options: Sequence[str] = (),
    required: bool = False,
) -> CustomField:
    """A custom field: ``text``, ``number``, ``date``, ``single`` or ``multi`` (choices)."""
    _admin(session, actor, project)
    if kind not in FIELD_KINDS:
        raise InvalidInput(f"kind: one of {', '.join(FIELD_KINDS)}")
    clean = _name(name, limit=100)
    _unique_name(session, CustomField, project, clean)
    last = session.scalar(
        select(func.max(CustomField.position)).where(CustomField.project_id == project.id)
    )
    field = CustomField(
        project_id=project.id,
        name=clean,
        kind=kind,
        options=_options(kind, list(options)),
        required=bool(required),
        position=(last if last is not None else -1) + 1,
    )
    session.add(field)
    session.flush()
    return field


def _stored_choices(session: Session, field_id: uuid.UUID) -> set[str]:
    """Every choice some case holds in the field (distinct stored values, read as text in
    SQL so that only the few distinct values reach Python)."""
    found: set[str] = set()
    for raw in session.scalars(
        select(cast(FieldValue.value, Text)).where(FieldValue.field_id == field_id).distinct()
    ):
        value = json.loads(raw) if raw is not None else None
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return found


def update_custom_field(
    session: Session,
    actor: Actor,
    project: Project,
    field_id: uuid.UUID,
    values: Mapping[str, Any],
    *,
    renames: Mapping[str, str] | None = None,
) -> CustomField:
    """Rename a field, change whether it is required, or change its options.

    An option a case still holds may not simply vanish (``OptionInUse``): map it in
    ``renames`` (old → a name in the new options) and the stored values follow."""
    _admin(session, actor, project)
    field: CustomField = _item(session, CustomField, project, field_id, "custom field")
    unknown = set(values) - {"name", "options", "required"}
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}")
    if "name" in values:
        clean = _name(values["name"], limit=100)
        _unique_name(session, CustomField, project, clean, but=field.id)
        field.name = clean
    if "required" in values:
        if not isinstance(values["required"], bool):
            raise InvalidInput("required: true or false")
        field.required = values["required"]
    renames = dict(renames or {})
    if "options" in values:
        new = _options(field.kind, values["options"])
        for old, target in renames.items():
            if old not in field.options or target not in new:
                raise InvalidInput(f"renames: {old!r} → {target!r} is not old → new option")
        removed = set(field.options) - set(new) - set(renames)
        in_use = sorted(removed & _stored_choices(session, field.id))
        if in_use:
            raise OptionInUse(
                f"option {in_use[0]!r} is held by cases: keep it or rename it to another"
            )
        if renames:
            _migrate_choices(session, field, renames, new)
        field.options = new
    elif renames:
        raise InvalidInput("renames come with the new options")
    session.flush()
    return field


def _migrate_choices(
    session: Session, field: CustomField, renames: Mapping[str, str], new: list[str]
) -> None:
    """Rewrite the stored values that hold a renamed option (only those rows are read)."""
    for old in renames:
        rows = session.scalars(
            select(FieldValue).where(
                FieldValue.field_id == field.id,
                cast(FieldValue.value, Text).contains(json.dumps(old)[1:-1], autoescape=True),
            )
        )
        for row in rows:
            value = row.value
            if isinstance(value, str) and value in renames:
                row.value = renames[value]
            elif isinstance(value, list):
                chosen = {renames.get(v, v) for v in value}
                row.value = [o for o in new if o in chosen]
    session.flush()


def delete_custom_field(
    session: Session, actor: Actor, project: Project, field_id: uuid.UUID
) -> None:
    """Delete a custom field and every value cases hold in it."""
    _admin(session, actor, project)
    field: CustomField = _item(session, CustomField, project, field_id, "custom field")
    session.execute(delete(FieldValue).where(FieldValue.field_id == field.id))
    session.delete(field)
    session.flush()


def reorder_custom_fields(
    session: Session, actor: Actor, project: Project, order: Sequence[uuid.UUID]
) -> None:
    _admin(session, actor, project)
    current = {f.id for f in service.custom_fields(session, project.id)}
    if len(order) != len(current) or set(order) != current:
        raise InvalidInput("fieldIds: every custom field of the project, each once")
    for position, field_id in enumerate(order):
        session.execute(
            update(CustomField).where(CustomField.id == field_id).values(position=position)
        )
    session.flush()
