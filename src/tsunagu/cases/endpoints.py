"""JSON API of cases (``/api/v1/cases…``): cases, their comments, attachments, links,
watchers and escalation; lists with Backlog's filters, saved searches and the views.

Thin: every rule lives in ``cases.service`` (who may see and change what; anything not
visible answers 404), ``cases.saved_searches`` and ``cases.api_read`` (what is shown).
The fixed paths (``/cases/saved-searches``, ``/cases/views/…``) are declared before
``/cases/{case_key}``; the projects API (``/cases/projects…``) lives in
``settings_endpoints`` and is mounted before this router.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tsunagu.cases import api_read, saved_searches, service
from tsunagu.cases.errors import (
    AttachmentTooLarge,
    CaseNotFound,
    InvalidCaseField,
    ItemNotFound,
)
from tsunagu.cases.models import Case
from tsunagu.cases.schemas import (
    AttachmentOut,
    BoardOut,
    ByAssigneeOut,
    CaseCreate,
    CaseDetailOut,
    CaseFields,
    CaseOut,
    CasePageOut,
    CaseUpdate,
    CommentCreate,
    CommentOut,
    EscalationCreate,
    EventOut,
    GanttOut,
    LinkCreate,
    LinkOut,
    Named,
    SavedSearchCreate,
    SavedSearchOut,
    WatcherCreate,
)
from tsunagu.core.errors import InvalidInput
from tsunagu.core.settings import Settings
from tsunagu.identity.dependencies import ApiActor, DbSession, MemberActor
from tsunagu.identity.service import Actor
from tsunagu.vault.dependencies import RecordingSession, VaultDep

router = APIRouter(tags=["cases"])

CASES = "/cases"
CASE = "/cases/{case_key}"
#: Backlog's sort names → the service's
SORTS: dict[str, str] = {
    "updated": "updated",
    "created": "created",
    "dueDate": "due_date",
    "startDate": "start_date",
    "priority": "priority",
    "status": "status",
    "issueKey": "key",
}
MAX_FILTER_VALUES = 100
MAX_OFFSET = 10_000_000


# --- the list's query parameters ----------------------------------------------------------


@dataclass(frozen=True)
class ListParams:
    """The case list's filters as sent (Backlog's names; ``[]`` marks repeatable ones)."""

    project: list[str]
    keyword: str | None
    status_id: list[uuid.UUID]
    assignee_id: list[uuid.UUID]
    created_user_id: list[uuid.UUID]
    issue_type_id: list[uuid.UUID]
    priority: list[Literal["high", "normal", "low"]]
    category_id: list[uuid.UUID]
    milestone_id: list[uuid.UUID]
    parent_issue_id: uuid.UUID | None
    parent_child: Literal["all", "parents", "children"]
    overdue: bool
    not_closed: bool
    unassigned: bool
    due_since: date | None
    due_until: date | None
    start_since: date | None
    start_until: date | None
    created_since: date | None
    created_until: date | None
    updated_since: date | None
    updated_until: date | None
    sort: str
    order: Literal["asc", "desc"]
    count: int
    offset: int


def list_params(
    project: Annotated[list[str] | None, Query(description="project keys (or ids)")] = None,
    keyword: Annotated[str | None, Query(max_length=200)] = None,
    status_id: Annotated[list[uuid.UUID] | None, Query(alias="statusId[]")] = None,
    assignee_id: Annotated[list[uuid.UUID] | None, Query(alias="assigneeId[]")] = None,
    created_user_id: Annotated[list[uuid.UUID] | None, Query(alias="createdUserId[]")] = None,
    issue_type_id: Annotated[list[uuid.UUID] | None, Query(alias="issueTypeId[]")] = None,
    priority: Annotated[list[Literal["high", "normal", "low"]] | None, Query()] = None,
    category_id: Annotated[list[uuid.UUID] | None, Query(alias="categoryId[]")] = None,
    milestone_id: Annotated[list[uuid.UUID] | None, Query(alias="milestoneId[]")] = None,
    parent_issue_id: Annotated[uuid.UUID | None, Query(alias="parentIssueId")] = None,
    parent_child: Annotated[
        Literal["all", "parents", "children"], Query(alias="parentChild")
    ] = "all",
    overdue: bool = False,
    not_closed: Annotated[bool, Query(alias="notClosed")] = False,
    unassigned: bool = False,
    due_since: Annotated[date | None, Query(alias="dueDateSince")] = None,
    due_until: Annotated[date | None, Query(alias="dueDateUntil")] = None,
    start_since: Annotated[date | None, Query(alias="startDateSince")] = None,
    start_until: Annotated[date | None, Query(alias="startDateUntil")] = None,
    created_since: Annotated[date | None, Query(alias="createdSince")] = None,
    created_until: Annotated[date | None, Query(alias="createdUntil")] = None,
    updated_since: Annotated[date | None, Query(alias="updatedSince")] = None,
    updated_until: Annotated[date | None, Query(alias="updatedUntil")] = None,
    sort: Annotated[
        Literal["updated", "created", "dueDate", "startDate", "priority", "status", "issueKey"],
        Query(),
    ] = "updated",
    order: Literal["asc", "desc"] = "desc",
    count: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ListParams:
    lists: dict[str, list[Any]] = {
        "project": project or [],
        "statusId[]": status_id or [],
        "assigneeId[]": assignee_id or [],
        "createdUserId[]": created_user_id or [],
        "issueTypeId[]": issue_type_id or [],
        "priority": priority or [],
        "categoryId[]": category_id or [],
        "milestoneId[]": milestone_id or [],
    }
    for name, values in lists.items():
        if len(values) > MAX_FILTER_VALUES:
            raise InvalidInput(f"{name}: at most {MAX_FILTER_VALUES} values")
    if keyword is not None and "\x00" in keyword:
        raise InvalidInput("keyword: NUL characters are not allowed")
    return ListParams(
        project=project or [],
        keyword=keyword,
        status_id=status_id or [],
        assignee_id=assignee_id or [],
        created_user_id=created_user_id or [],
        issue_type_id=issue_type_id or [],
        priority=priority or [],
        category_id=category_id or [],
        milestone_id=milestone_id or [],
        parent_issue_id=parent_issue_id,
        parent_child=parent_child,
        overdue=overdue,
        not_closed=not_closed,
        unassigned=unassigned,
        due_since=due_since,
        due_until=due_until,
        start_since=start_since,
        start_until=start_until,
        created_since=created_since,
        created_until=created_until,
        updated_since=updated_since,
        updated_until=updated_until,
        sort=SORTS[sort],
        order=order,
        count=count,
        offset=offset,
    )


Params = Annotated[ListParams, Depends(list_params)]


def _project_ref(value: str) -> str | uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        return value


def _since(day: date | None, actor_zone: Any) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=actor_zone)


def _until(day: date | None, actor_zone: Any) -> datetime | None:
    return None if day is None else datetime.combine(day, time.max, tzinfo=actor_zone)


def case_query(db: DbSession, actor: Actor, params: ListParams) -> service.CaseQuery:
    """The service's query of the list's parameters (project keys resolved: a project the
    caller cannot see answers 404).  Dates of creation and update are days in the
    organization's time zone."""
    projects = tuple(service.get_project(db, actor, _project_ref(p)).id for p in params.project)
    zone = api_read.zone_of(db, actor)
    return service.CaseQuery(
        project_ids=projects,
        keyword=params.keyword,
        status_ids=tuple(params.status_id),
        not_closed=params.not_closed,
        assignee_ids=tuple(params.assignee_id),
        unassigned=params.unassigned,
        created_by_ids=tuple(params.created_user_id),
        issue_type_ids=tuple(params.issue_type_id),
        priorities=tuple(params.priority),
        category_ids=tuple(params.category_id),
        milestone_ids=tuple(params.milestone_id),
        parent_id=params.parent_issue_id,
        parent_child=params.parent_child,
        overdue_on=api_read.today_for(db, actor) if params.overdue else None,
        due_from=params.due_since,
        due_to=params.due_until,
        start_from=params.start_since,
        start_to=params.start_until,
        created_from=_since(params.created_since, zone),
        created_to=_until(params.created_until, zone),
        updated_from=_since(params.updated_since, zone),
        updated_to=_until(params.updated_until, zone),
        sort=params.sort,
        order=params.order,
        limit=params.count,
        offset=params.offset,
    )


def _page(db: DbSession, actor: Actor, query: service.CaseQuery) -> CasePageOut:
    page = service.list_cases(db, actor, query)
    return CasePageOut(
        items=api_read.present_cases(db, page.items),
        total=page.total,
        more=page.more,
        count=page.limit,
        offset=page.offset,
    )


# --- saved searches -----------------------------------------------------------------------


def _saved_out(row: Any) -> SavedSearchOut:
    return SavedSearchOut(
        id=row.id, user_id=row.user_id, name=row.name, query=row.query, created=row.created_at
    )


@router.get(CASES + "/saved-searches", response_model=list[SavedSearchOut])
def list_saved_searches(
    actor: ApiActor,
    db: DbSession,
    user_id: Annotated[uuid.UUID, Query(alias="userId", description="whose saved searches")],
) -> list[SavedSearchOut]:
    """A staff user's saved searches (API keys have no user: say whose with ``userId``)."""
    rows = saved_searches.list_searches(db, actor.org_id, user_id)
    return [_saved_out(row) for row in rows]


@router.post(
    CASES + "/saved-searches",
    status_code=status.HTTP_201_CREATED,
    response_model=SavedSearchOut,
)
def create_saved_search(
    body: SavedSearchCreate, actor: MemberActor, db: DbSession
) -> SavedSearchOut:
    row = saved_searches.save_search(db, actor.org_id, body.user_id, body.name, body.query)
    return _saved_out(row)


@router.delete(CASES + "/saved-searches/{search_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_saved_search(search_id: uuid.UUID, actor: MemberActor, db: DbSession) -> Response:
    saved_searches.delete_search(db, actor.org_id, search_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- views ----------------------------------------------------------------------------------


@router.get(CASES + "/views/overdue", response_model=CasePageOut)
def overdue_view(actor: ApiActor, db: DbSession, params: Params) -> CasePageOut:
    """Open cases whose due date has passed (today in the organization's time zone), the
    most overdue first unless another sort is asked for."""
    query = replace(case_query(db, actor, params), overdue_on=api_read.today_for(db, actor))
    if params.sort == "updated" and params.order == "desc":
        query = replace(query, sort="due_date", order="asc")
    return _page(db, actor, query)


@router.get(CASES + "/views/by-assignee", response_model=ByAssigneeOut)
def by_assignee_view(actor: ApiActor, db: DbSession, params: Params) -> ByAssigneeOut:
    """How many cases each assignee has in each status (the list's filters apply)."""
    return api_read.by_assignee(db, actor, case_query(db, actor, params))


@router.get(CASES + "/views/board", response_model=BoardOut)
def board_view(
    actor: ApiActor,
    db: DbSession,
    params: Params,
    cards: Annotated[int, Query(ge=0, le=api_read.MAX_BOARD_CARDS)] = 20,
) -> BoardOut:
    """One project's statuses as columns: each with its count and its first ``cards``
    cases (the list's filters apply)."""
    if len(params.project) != 1:
        raise InvalidInput("project: the board shows exactly one project (e.g. project=SUP)")
    project = service.get_project(db, actor, _project_ref(params.project[0]))
    return api_read.board(db, actor, project, case_query(db, actor, params), cards)


@router.get(CASES + "/views/gantt", response_model=GanttOut)
def gantt_view(
    actor: ApiActor,
    db: DbSession,
    params: Params,
    since: date | None = None,
    until: date | None = None,
) -> GanttOut:
    """Cases with a start or due date whose span meets the window (``since``…``until``;
    a month back and two ahead by default), by start date."""
    low, high = api_read.window(api_read.today_for(db, actor), since, until)
    if low > high:
        raise InvalidInput("since: the window's start lies after its end")
    query = case_query(db, actor, params)
    items, total = api_read.gantt(db, actor, query, low, high)
    return GanttOut(since=low, until=high, items=api_read.present_cases(db, items), total=total)


# --- cases ----------------------------------------------------------------------------------

#: the API's field names → the service's (``UPDATABLE``)
FIELDS = {
    "summary": "summary",
    "description": "description",
    "issue_type_id": "issue_type",
    "priority": "priority",
    "status_id": "status",
    "assignee_id": "assignee",
    "start_date": "start_date",
    "due_date": "due_date",
    "estimated_hours": "estimated_hours",
    "actual_hours": "actual_hours",
    "category_id": "category",
    "milestone_id": "milestone",
    "custom_fields": "custom_fields",
}


def _values(db: DbSession, actor: Actor, body: CaseFields) -> dict[str, Any]:
    """The fields the body sent, as ``service`` takes them."""
    values: dict[str, Any] = {}
    for name in body.model_fields_set:
        if name in FIELDS:
            values[FIELDS[name]] = getattr(body, name)
    if "parent_issue" in body.model_fields_set:
        values["parent"] = _parent(db, actor, body.parent_issue)
    if values.get("custom_fields") is None:
        values.pop("custom_fields", None)
    return values


def _parent(db: DbSession, actor: Actor, key: str | None) -> uuid.UUID | None:
    if not key:
        return None
    try:
        return service.get_case(db, actor, key).id
    except CaseNotFound:
        raise InvalidCaseField(f"parentIssue: no case {key}") from None


def _case(db: DbSession, actor: Actor, case_key: str) -> Case:
    return service.get_case(db, actor, case_key)


@router.post(CASES, status_code=status.HTTP_201_CREATED, response_model=CaseOut)
def create_case(body: CaseCreate, actor: ApiActor, db: DbSession) -> CaseOut:
    """A new case ``KEY-n`` in the project (the member role in it)."""
    project = service.get_project(db, actor, body.project)
    values = _values(db, actor, body)
    values["summary"] = body.summary
    case = service.create_case(
        db, actor, project, values, source="api", notify=body.notified_user_id
    )
    return api_read.present_case(db, case)


@router.get(CASES, response_model=CasePageOut)
def list_cases(actor: ApiActor, db: DbSession, params: Params) -> CasePageOut:
    """One page of the cases the key sees that match the filters, and ``total``."""
    return _page(db, actor, case_query(db, actor, params))


@router.get(CASE, response_model=CaseDetailOut)
def get_case(
    case_key: str, actor: ApiActor, db: RecordingSession, vault: VaultDep
) -> CaseDetailOut:
    """Everything about a case.  Reading a linked person's name and e-mail goes through
    the consent decision point and is recorded, hence the writing session."""
    case = _case(db, actor, case_key)
    return api_read.present_detail(db, vault, actor, case)


@router.patch(CASE, response_model=EventOut, responses={204: {"description": "nothing changed"}})
def update_case(case_key: str, body: CaseUpdate, actor: ApiActor, db: DbSession) -> Any:
    """Change fields (and comment in the same timeline entry); the new event, or 204 when
    nothing changed."""
    case = _case(db, actor, case_key)
    values = _values(db, actor, body)
    event = service.update_case(
        db, actor, case, values, comment=body.comment, notify=body.notified_user_id
    )
    if event is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return api_read.present_event(event)


# --- comments ---------------------------------------------------------------------------


@router.get(CASE + "/comments", response_model=list[CommentOut])
def list_comments(
    case_key: str,
    actor: ApiActor,
    db: DbSession,
    order: Literal["asc", "desc"] = "asc",
) -> list[CommentOut]:
    case = _case(db, actor, case_key)
    rows = sorted(
        service.comments_by_id(db, case.id).values(),
        key=lambda c: (c.created_at, c.id),
        reverse=order == "desc",
    )
    return [api_read.present_comment(c) for c in rows]


@router.post(CASE + "/comments", status_code=status.HTTP_201_CREATED, response_model=CommentOut)
def add_comment(case_key: str, body: CommentCreate, actor: ApiActor, db: DbSession) -> CommentOut:
    """A comment (``public``: a reply the inquirer sees), notifying ``notifiedUserId``."""
    case = _case(db, actor, case_key)
    row = service.comment(
        db, actor, case, body.content, notify=body.notified_user_id, public=body.public
    )
    return api_read.present_comment(row)


# --- attachments ------------------------------------------------------------------------


def _store(request: Request) -> Any:
    settings: Settings = request.app.state.settings
    return settings.attachment_dir()


@router.post(
    CASE + "/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentOut,
    responses={413: {"description": "file too large"}, 422: {"description": "type refused"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    },
)
async def add_attachment(
    case_key: str, request: Request, actor: ApiActor, db: DbSession
) -> AttachmentOut:
    """Attach a file (multipart field ``file``): at most 5 MiB, of a type the store takes,
    whose bytes match its extension."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidInput("send the file as multipart/form-data in the field 'file'")
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("send the file as multipart/form-data in the field 'file'")
        data = await upload.read(service.MAX_ATTACHMENT_BYTES + 1)
        filename = upload.filename
    if len(data) > service.MAX_ATTACHMENT_BYTES:
        raise AttachmentTooLarge(
            f"attachments are at most {service.MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB"
        )
    store = _store(request)

    def attach() -> AttachmentOut:
        case = _case(db, actor, case_key)
        row = service.attach(db, store, actor, case, filename, data)
        return api_read.present_attachment(row)

    return await run_in_threadpool(attach)


@router.get(CASE + "/attachments", response_model=list[AttachmentOut])
def list_attachments(case_key: str, actor: ApiActor, db: DbSession) -> list[AttachmentOut]:
    case = _case(db, actor, case_key)
    return [api_read.present_attachment(a) for a in service.attachments_of(db, case.id)]


@router.get(
    CASE + "/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_attachment(
    case_key: str, attachment_id: uuid.UUID, request: Request, actor: ApiActor, db: DbSession
) -> Response:
    """The file as it was stored, with its content type, as a download (never shown
    inline: ``Content-Disposition: attachment`` and ``nosniff``)."""
    case = _case(db, actor, case_key)
    row, data = service.read_attachment(db, _store(request), actor, attachment_id)
    if row.case_id != case.id:
        raise ItemNotFound("no such attachment on this case")
    ascii_name = row.filename.encode("ascii", "replace").decode().replace('"', "_")
    return Response(
        content=data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row.filename)}"
            ),
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- links, watchers, escalation -------------------------------------------------------


@router.post(CASE + "/links", status_code=status.HTTP_201_CREATED, response_model=LinkOut)
def add_link(case_key: str, body: LinkCreate, actor: ApiActor, db: DbSession) -> LinkOut:
    """Link the case to a person, a CRM deal (``id``) or another case (``key`` or ``id``)."""
    case = _case(db, actor, case_key)
    if body.kind == "case" and body.key:
        target_id = service.get_case(db, actor, body.key).id
    elif body.id is not None:
        target_id = body.id
    else:
        raise InvalidInput("id: the id of the person, deal or case to link (or key of a case)")
    link = service.add_link(db, actor, case, body.kind, target_id, body.relation)
    db.flush()
    label = None
    if link.kind == "case":
        other = db.get(Case, link.target_id)
        label = other.key if other else None
    return LinkOut(
        id=link.id, kind=link.kind, relation=link.relation, target_id=link.target_id, label=label
    )


@router.delete(CASE + "/links/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_link(case_key: str, link_id: uuid.UUID, actor: ApiActor, db: DbSession) -> Response:
    case = _case(db, actor, case_key)
    service.remove_link(db, actor, case, link_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _watchers(db: DbSession, case: Case) -> list[Named]:
    ids = service.watchers(db, case.id)
    names = api_read.user_names(db, ids)
    return [Named(id=str(u), name=names.get(u, "?")) for u in ids]


@router.post(CASE + "/watchers", response_model=list[Named])
def add_watcher(case_key: str, body: WatcherCreate, actor: ApiActor, db: DbSession) -> list[Named]:
    """Add a watcher (someone who can see the project); the watchers now."""
    case = _case(db, actor, case_key)
    service.set_watching(db, actor, case, body.user_id, watching=True)
    return _watchers(db, case)


@router.delete(CASE + "/watchers/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_watcher(case_key: str, user_id: uuid.UUID, actor: ApiActor, db: DbSession) -> Response:
    case = _case(db, actor, case_key)
    service.set_watching(db, actor, case, user_id, watching=False)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(CASE + "/escalate", status_code=status.HTTP_201_CREATED, response_model=CaseOut)
def escalate(case_key: str, body: EscalationCreate, actor: ApiActor, db: DbSession) -> CaseOut:
    """Copy or move the case to another project; the new (copy) or moved case."""
    case = _case(db, actor, case_key)
    target = service.get_project(db, actor, body.project)
    result = service.escalate(db, actor, case, target, mode=body.mode, comment=body.comment)
    return api_read.present_case(db, result)
