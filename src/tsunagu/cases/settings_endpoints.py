"""JSON API of projects and their settings (thin: parse, call ``cases.settings``, shape).

Mounted under ``/api/v1`` before the cases router, so ``/cases/projects…`` lands here.
Every endpoint needs an organization's API key.  Reading needs any role that sees the
project; creating a project the organization's ``member`` role; changing a project or its
settings the project's ``admin`` role.  Another organization's project (unless shared with
it) answers 404 exactly as an unknown key; so do ids of another project's items.  JSON
field names are camelCase, as in Backlog's API.

=================================================================  =====================
path (under ``/cases/projects``)                                   what
=================================================================  =====================
GET ``""`` ?archived=                                              the visible projects
POST ``""`` ``{"key","name",…}``                                   a new project (201)
GET/PATCH ``/{key}``                                               one project
GET/PUT ``/{key}/members``, DELETE ``/{key}/members/{userId}``     members and roles
GET/POST ``/{key}/statuses``, PATCH/DELETE ``/{key}/statuses/{id}``  statuses
PUT ``/{key}/statuses/order`` ``{"statusIds": […]}``               their order
GET/POST/PATCH/DELETE ``/{key}/issueTypes[/{id}]``                 issue types
GET/POST/PATCH/DELETE ``/{key}/categories[/{id}]``                 categories
GET/POST/PATCH/DELETE ``/{key}/milestones[/{id}]``                 milestones
GET/POST/PATCH/DELETE ``/{key}/customFields[/{id}]``               custom fields
=================================================================  =====================
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy.orm import Session

from tsunagu.cases import service
from tsunagu.cases import settings as project_settings
from tsunagu.cases.errors import ItemNotFound
from tsunagu.cases.models import (
    Category,
    CustomField,
    IssueType,
    Milestone,
    Project,
    ProjectMember,
    Status,
)
from tsunagu.identity.dependencies import ApiActor, DbSession
from tsunagu.identity.models import Organization, StaffUser

router = APIRouter(tags=["cases: projects"])

BASE = "/cases/projects"
PROJECT = BASE + "/{key}"


class _In(BaseModel):
    """Input: camelCase names, unknown fields refused (422)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)


class ProjectCreate(_In):
    key: str = Field(max_length=10)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=100_000)
    visibility: Literal["internal", "cross_department", "partner"] = "internal"
    department: str | None = Field(default=None, max_length=100)
    partner_organization: str | None = Field(default=None, max_length=63)


class ProjectUpdate(_In):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=100_000)
    visibility: Literal["internal", "cross_department", "partner"] | None = None
    department: str | None = Field(default=None, max_length=100)
    partner_organization: str | None = Field(default=None, max_length=63)
    archived: bool | None = None
    inquiry_enabled: bool | None = None
    inquiry_notice_ja: str | None = Field(default=None, max_length=10_000)
    inquiry_notice_en: str | None = Field(default=None, max_length=10_000)


class MemberIn(_In):
    user_id: uuid.UUID
    role: Literal["admin", "member", "viewer"]


class NamedIn(_In):
    name: str = Field(max_length=100)
    name_en: str | None = Field(default=None, max_length=60)
    color: str = Field(default="#888888", max_length=7)


class NamedUpdate(_In):
    name: str | None = Field(default=None, max_length=100)
    name_en: str | None = Field(default=None, max_length=60)
    color: str | None = Field(default=None, max_length=7)


class StatusOrder(_In):
    status_ids: list[uuid.UUID] = Field(max_length=50)


class CategoryIn(_In):
    name: str = Field(max_length=100)


class MilestoneIn(_In):
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=10_000)
    start_date: date | None = None
    release_due_date: date | None = None
    archived: bool = False


class MilestoneUpdate(_In):
    name: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)
    start_date: date | None = None
    release_due_date: date | None = None
    archived: bool | None = None


class CustomFieldIn(_In):
    name: str = Field(max_length=100)
    kind: Literal["text", "number", "date", "single", "multi"]
    options: list[str] = Field(default_factory=list, max_length=100)
    required: bool = False


class CustomFieldUpdate(_In):
    name: str | None = Field(default=None, max_length=100)
    options: list[str] | None = Field(default=None, max_length=100)
    required: bool | None = None
    #: old option → new option: cases holding the old one are migrated to the new one
    renames: dict[str, str] | None = None


# --- shaping -----------------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def project_json(db: Session, project: Project) -> dict[str, Any]:
    partner = (
        db.get(Organization, project.partner_organization_id)
        if project.partner_organization_id
        else None
    )
    return {
        "id": str(project.id),
        "key": project.key,
        "projectKey": project.key,
        "name": project.name,
        "description": project.description,
        "visibility": project.visibility,
        "department": project.department,
        "partnerOrganization": partner.slug if partner else None,
        "archived": project.archived_at is not None,
        "inquiryEnabled": project.inquiry_enabled,
        "inquiryNoticeJa": project.inquiry_notice_ja,
        "inquiryNoticeEn": project.inquiry_notice_en,
        "created": _iso(project.created_at),
    }


def _member_json(member: ProjectMember, user: StaffUser) -> dict[str, Any]:
    return {
        "userId": str(user.id),
        "name": user.display_name or user.email,
        "mailAddress": user.email,
        "role": member.role,
    }


def _status_json(status: Status) -> dict[str, Any]:
    return {
        "id": str(status.id),
        "name": status.name,
        "nameEn": status.name_en,
        "color": status.color,
        "displayOrder": status.position,
        "builtin": status.builtin,
    }


def _type_json(issue_type: IssueType) -> dict[str, Any]:
    return {
        "id": str(issue_type.id),
        "name": issue_type.name,
        "nameEn": issue_type.name_en,
        "color": issue_type.color,
        "displayOrder": issue_type.position,
    }


def _category_json(category: Category) -> dict[str, Any]:
    return {"id": str(category.id), "name": category.name}


def _milestone_json(milestone: Milestone) -> dict[str, Any]:
    return {
        "id": str(milestone.id),
        "name": milestone.name,
        "description": milestone.description,
        "startDate": _iso(milestone.start_date),
        "releaseDueDate": _iso(milestone.release_due_date),
        "archived": milestone.archived,
    }


def _field_json(field: CustomField) -> dict[str, Any]:
    return {
        "id": str(field.id),
        "name": field.name,
        "kind": field.kind,
        "options": list(field.options),
        "required": field.required,
        "displayOrder": field.position,
    }


def _given(body: BaseModel, mapping: dict[str, str]) -> dict[str, Any]:
    """The fields the caller sent, under the service's names."""
    return {mapping.get(name, name): getattr(body, name) for name in body.model_fields_set}


# --- projects ----------------------------------------------------------------------------


@router.get(BASE)
def list_projects(actor: ApiActor, db: DbSession, archived: bool = False) -> list[dict[str, Any]]:
    """The projects the key may see (archived ones too with ``archived=true``)."""
    return [project_json(db, p) for p in service.visible_projects(db, actor, archived=archived)]


@router.post(BASE, status_code=201)
def create_project(body: ProjectCreate, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    """A new project with the four statuses and four issue types (organization member)."""
    partner_id = (
        project_settings.organization_by_slug(db, body.partner_organization)
        if body.partner_organization
        else None
    )
    project = service.create_project(
        db,
        actor,
        key=body.key,
        name=body.name,
        description=body.description,
        visibility=body.visibility,
        department=body.department,
        partner_organization_id=partner_id,
    )
    return project_json(db, project)


@router.get(PROJECT)
def get_project(key: str, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    return project_json(db, service.get_project(db, actor, key))


@router.patch(PROJECT)
def update_project(key: str, body: ProjectUpdate, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    """Change what is sent; ``partnerOrganization`` is a slug (null clears it)."""
    project = service.get_project(db, actor, key)
    values = _given(body, {"partner_organization": "partner_organization_id"})
    if values.get("partner_organization_id"):
        values["partner_organization_id"] = project_settings.organization_by_slug(
            db, values["partner_organization_id"]
        )
    for name in ("name", "visibility", "archived", "inquiry_enabled"):
        if name in values and values[name] is None:
            values.pop(name)
    project_settings.update_project(db, actor, project, values)
    return project_json(db, project)


# --- members -----------------------------------------------------------------------------


@router.get(PROJECT + "/members")
def list_members(key: str, actor: ApiActor, db: DbSession) -> list[dict[str, Any]]:
    project = service.get_project(db, actor, key)
    return [_member_json(m, u) for m, u in service.members(db, project)]


@router.put(PROJECT + "/members")
def set_member(key: str, body: MemberIn, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    """Add a member or change their role (project admin)."""
    project = service.get_project(db, actor, key)
    member = service.set_member(db, actor, project, body.user_id, body.role)
    for row, user in service.members(db, project):
        if row.user_id == member.user_id:
            return _member_json(row, user)
    raise ItemNotFound("no such member")


@router.delete(PROJECT + "/members/{user_id}", status_code=204)
def remove_member(key: str, user_id: uuid.UUID, actor: ApiActor, db: DbSession) -> Response:
    project = service.get_project(db, actor, key)
    service.remove_member(db, actor, project, user_id)
    return Response(status_code=204)


# --- statuses ----------------------------------------------------------------------------


@router.get(PROJECT + "/statuses")
def list_statuses(key: str, actor: ApiActor, db: DbSession) -> list[dict[str, Any]]:
    project = service.get_project(db, actor, key)
    return [_status_json(s) for s in service.statuses(db, project.id)]


@router.post(PROJECT + "/statuses", status_code=201)
def add_status(key: str, body: NamedIn, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    """A custom status, placed just before Closed."""
    project = service.get_project(db, actor, key)
    status = project_settings.add_status(
        db, actor, project, name=body.name, color=body.color, name_en=body.name_en
    )
    return _status_json(status)


@router.put(PROJECT + "/statuses/order")
def order_statuses(
    key: str, body: StatusOrder, actor: ApiActor, db: DbSession
) -> list[dict[str, Any]]:
    """Every status id once, Open first and Closed last."""
    project = service.get_project(db, actor, key)
    return [
        _status_json(s)
        for s in project_settings.reorder_statuses(db, actor, project, body.status_ids)
    ]


@router.patch(PROJECT + "/statuses/{item_id}")
def update_status(
    key: str, item_id: uuid.UUID, body: NamedUpdate, actor: ApiActor, db: DbSession
) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    values = {k: v for k, v in _given(body, {}).items() if v is not None or k == "name_en"}
    return _status_json(project_settings.update_status(db, actor, project, item_id, values))


@router.delete(PROJECT + "/statuses/{item_id}")
def delete_status(
    key: str,
    item_id: uuid.UUID,
    actor: ApiActor,
    db: DbSession,
    substitute_status_id: Annotated[uuid.UUID | None, Query(alias="substituteStatusId")] = None,
) -> dict[str, Any]:
    """Delete a custom status; its cases move to ``substituteStatusId`` (required when
    there are any: 409 ``substitute_required``)."""
    project = service.get_project(db, actor, key)
    moved = project_settings.delete_status(
        db, actor, project, item_id, substitute_id=substitute_status_id
    )
    return {"deleted": str(item_id), "movedCases": moved}


# --- issue types -------------------------------------------------------------------------


@router.get(PROJECT + "/issueTypes")
def list_issue_types(key: str, actor: ApiActor, db: DbSession) -> list[dict[str, Any]]:
    project = service.get_project(db, actor, key)
    return [_type_json(t) for t in service.issue_types(db, project.id)]


@router.post(PROJECT + "/issueTypes", status_code=201)
def add_issue_type(key: str, body: NamedIn, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    issue_type = project_settings.add_issue_type(
        db, actor, project, name=body.name, color=body.color, name_en=body.name_en
    )
    return _type_json(issue_type)


@router.patch(PROJECT + "/issueTypes/{item_id}")
def update_issue_type(
    key: str, item_id: uuid.UUID, body: NamedUpdate, actor: ApiActor, db: DbSession
) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    values = {k: v for k, v in _given(body, {}).items() if v is not None or k == "name_en"}
    return _type_json(project_settings.update_issue_type(db, actor, project, item_id, values))


@router.delete(PROJECT + "/issueTypes/{item_id}")
def delete_issue_type(
    key: str,
    item_id: uuid.UUID,
    actor: ApiActor,
    db: DbSession,
    substitute_issue_type_id: Annotated[
        uuid.UUID | None, Query(alias="substituteIssueTypeId")
    ] = None,
) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    moved = project_settings.delete_issue_type(
        db, actor, project, item_id, substitute_id=substitute_issue_type_id
    )
    return {"deleted": str(item_id), "movedCases": moved}


# --- categories --------------------------------------------------------------------------


@router.get(PROJECT + "/categories")
def list_categories(key: str, actor: ApiActor, db: DbSession) -> list[dict[str, Any]]:
    project = service.get_project(db, actor, key)
    return [_category_json(c) for c in service.categories(db, project.id)]


@router.post(PROJECT + "/categories", status_code=201)
def add_category(key: str, body: CategoryIn, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    return _category_json(project_settings.add_category(db, actor, project, name=body.name))


@router.patch(PROJECT + "/categories/{item_id}")
def update_category(
    key: str, item_id: uuid.UUID, body: CategoryIn, actor: ApiActor, db: DbSession
) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    category = project_settings.update_category(db, actor, project, item_id, name=body.name)
    return _category_json(category)


@router.delete(PROJECT + "/categories/{item_id}")
def delete_category(key: str, item_id: uuid.UUID, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    """Delete a category; its cases lose it (each change on their timeline)."""
    project = service.get_project(db, actor, key)
    moved = project_settings.delete_category(db, actor, project, item_id)
    return {"deleted": str(item_id), "movedCases": moved}


# --- milestones --------------------------------------------------------------------------

_MILESTONE_NAMES = {"start_date": "start_date", "release_due_date": "release_due_date"}


@router.get(PROJECT + "/milestones")
def list_milestones(key: str, actor: ApiActor, db: DbSession) -> list[dict[str, Any]]:
    project = service.get_project(db, actor, key)
    return [_milestone_json(m) for m in service.milestones(db, project.id)]


@router.post(PROJECT + "/milestones", status_code=201)
def add_milestone(key: str, body: MilestoneIn, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    values = body.model_dump()
    return _milestone_json(project_settings.add_milestone(db, actor, project, values))


@router.patch(PROJECT + "/milestones/{item_id}")
def update_milestone(
    key: str, item_id: uuid.UUID, body: MilestoneUpdate, actor: ApiActor, db: DbSession
) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    values = _given(body, _MILESTONE_NAMES)
    for name in ("name", "archived"):
        if name in values and values[name] is None:
            values.pop(name)
    milestone = project_settings.update_milestone(db, actor, project, item_id, values)
    return _milestone_json(milestone)


@router.delete(PROJECT + "/milestones/{item_id}")
def delete_milestone(
    key: str, item_id: uuid.UUID, actor: ApiActor, db: DbSession
) -> dict[str, Any]:
    """Delete a milestone; its cases lose it (each change on their timeline)."""
    project = service.get_project(db, actor, key)
    moved = project_settings.delete_milestone(db, actor, project, item_id)
    return {"deleted": str(item_id), "movedCases": moved}


# --- custom fields -----------------------------------------------------------------------


@router.get(PROJECT + "/customFields")
def list_custom_fields(key: str, actor: ApiActor, db: DbSession) -> list[dict[str, Any]]:
    project = service.get_project(db, actor, key)
    return [_field_json(f) for f in service.custom_fields(db, project.id)]


@router.post(PROJECT + "/customFields", status_code=201)
def add_custom_field(
    key: str, body: CustomFieldIn, actor: ApiActor, db: DbSession
) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    field = project_settings.add_custom_field(
        db,
        actor,
        project,
        name=body.name,
        kind=body.kind,
        options=body.options,
        required=body.required,
    )
    return _field_json(field)


@router.patch(PROJECT + "/customFields/{item_id}")
def update_custom_field(
    key: str, item_id: uuid.UUID, body: CustomFieldUpdate, actor: ApiActor, db: DbSession
) -> dict[str, Any]:
    """Rename, toggle ``required`` or change ``options``; removing an option that cases
    hold is refused (409 ``option_in_use``) unless ``renames`` maps it to a kept option."""
    project = service.get_project(db, actor, key)
    values = {k: v for k, v in _given(body, {}).items() if k != "renames" and v is not None}
    field = project_settings.update_custom_field(
        db, actor, project, item_id, values, renames=body.renames
    )
    return _field_json(field)


@router.delete(PROJECT + "/customFields/{item_id}", status_code=204)
def delete_custom_field(key: str, item_id: uuid.UUID, actor: ApiActor, db: DbSession) -> Response:
    """Delete a custom field with every value cases hold in it."""
    project = service.get_project(db, actor, key)
    project_settings.delete_custom_field(db, actor, project, item_id)
    return Response(status_code=204)
