"""What the cases API shows: cases with names beside ids, a case's whole detail, and the
views (overdue, by assignee, board, Gantt).

A page of cases is presented with one query per kind of name (statuses, types, users …)
for the whole page, never a query per case.  The views count in SQL (``GROUP BY``; the
board's first cards per column through ``ROW_NUMBER() OVER (PARTITION BY status)``).

Persons linked to a case are shown by id and the organization's own reference
(``vault.service.ref_of``).  Their name and e-mail address are read only through
``crm.contacts.read_contact`` for the purpose ``customer-care`` (お問い合わせ対応): the
consent decision point decides, and the decision — allowed or denied — is a ledger entry
in the request's transaction.  A partner organization's caller is not the organization
that holds the person's data, so it gets the person's id only and no read is attempted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from tsunagu.cases import markdown, service
from tsunagu.cases.models import (
    Attachment,
    Case,
    Category,
    Comment,
    IssueType,
    Milestone,
    Project,
    Status,
)
from tsunagu.cases.schemas import (
    AssigneeRowOut,
    AttachmentOut,
    BoardColumnOut,
    BoardOut,
    ByAssigneeOut,
    CaseDetailOut,
    CaseOut,
    ChildOut,
    CommentOut,
    CountOut,
    CustomFieldValueOut,
    EventOut,
    LinkOut,
    Named,
    ProjectRef,
)
from tsunagu.consent.service import actor_label
from tsunagu.core.errors import InvalidInput
from tsunagu.crm import contacts
from tsunagu.crm.models import CrmEntity
from tsunagu.identity.models import Organization, StaffUser
from tsunagu.identity.service import Actor
from tsunagu.vault.service import Vault, ref_of

#: the purpose a case reads a linked person's contact details for
PERSON_PURPOSE = "customer-care"
PERSON_CATEGORIES = ("contact.email",)
MAX_BOARD_CARDS = 100
MAX_GANTT = 500


def zone_of(session: Session, actor: Actor) -> ZoneInfo:
    """The actor's organization's time zone (Asia/Tokyo unless set)."""
    zone = session.scalar(
        select(Organization.timezone).where(Organization.id == actor.organization_id)
    )
    try:
        return ZoneInfo(zone or "Asia/Tokyo")
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Tokyo")


def today_for(session: Session, actor: Actor) -> date:
    """Today in the actor's organization's time zone."""
    return datetime.now(zone_of(session, actor)).date()


# --- names of a page of cases -----------------------------------------------------------


def _hours(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _by_id(session: Session, model: Any, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}


def user_names(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(StaffUser.id, StaffUser.display_name, StaffUser.email).where(
            StaffUser.id.in_(wanted)
        )
    )
    return {row.id: row.display_name or row.email for row in rows}


def status_named(status: Status) -> Named:
    return Named(id=str(status.id), name=status.name, name_en=status.name_en)


def _named(item: Any) -> Named | None:
    if item is None:
        return None
    return Named(id=str(item.id), name=item.name, name_en=getattr(item, "name_en", None))


def priority_named(priority: str) -> Named:
    ja, en = service.PRIORITY_LABELS.get(priority, (priority, priority))
    return Named(id=priority, name=ja, name_en=en)


def user_named(names: dict[uuid.UUID, str], user_id: uuid.UUID | None) -> Named | None:
    if user_id is None:
        return None
    return Named(id=str(user_id), name=names.get(user_id, "?"))


def present_cases(session: Session, cases: Sequence[Case]) -> list[CaseOut]:
    """The cases with their names, one query per kind of name for all of them."""
    if not cases:
        return []
    projects = _by_id(session, Project, (c.project_id for c in cases))
    statuses = _by_id(session, Status, (c.status_id for c in cases))
    types = _by_id(session, IssueType, (c.issue_type_id for c in cases))
    categories = _by_id(session, Category, (c.category_id for c in cases))
    milestones = _by_id(session, Milestone, (c.milestone_id for c in cases))
    parents = _by_id(session, Case, (c.parent_id for c in cases))
    users = user_names(session, [c.assignee_id for c in cases] + [c.created_by_id for c in cases])
    out = []
    for case in cases:
        project = projects[case.project_id]
        status = statuses[case.status_id]
        parent = parents.get(case.parent_id) if case.parent_id else None
        out.append(
            CaseOut(
                id=case.id,
                key=case.key,
                issue_key=case.key,
                key_id=case.number,
                project=ProjectRef(id=project.id, key=project.key, name=project.name),
                summary=case.summary,
                description=case.description,
                issue_type=_named(types.get(case.issue_type_id) if case.issue_type_id else None),
                priority=priority_named(case.priority),
                status=status_named(status),
                closed=case.closed,
                assignee=user_named(users, case.assignee_id),
                start_date=case.start_date,
                due_date=case.due_date,
                estimated_hours=_hours(case.estimated_hours),
                actual_hours=_hours(case.actual_hours),
                category=_named(categories.get(case.category_id) if case.category_id else None),
                milestone=_named(milestones.get(case.milestone_id) if case.milestone_id else None),
                parent_issue_id=case.parent_id,
                parent_issue_key=parent.key if parent else None,
                source=case.source,
                created_user=Named(
                    id=str(case.created_by_id) if case.created_by_id else None,
                    name=case.created_by_label,
                ),
                created=case.created_at,
                updated=case.updated_at,
            )
        )
    return out


def present_case(session: Session, case: Case) -> CaseOut:
    return present_cases(session, [case])[0]


# --- the detail ------------------------------------------------------------------------


def present_comment(comment: Comment) -> CommentOut:
    return CommentOut(
        id=comment.id,
        content=comment.body,
        html=str(markdown.render(comment.body)),
        public=comment.public,
        from_inquirer=comment.from_inquirer,
        created_user=Named(
            id=str(comment.author_id) if comment.author_id else None, name=comment.author_label
        ),
        notified_user_id=list(comment.notified or []),
        created=comment.created_at,
        edited=comment.edited_at,
    )


def present_attachment(row: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=row.id,
        name=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        created_user=Named(
            id=str(row.uploaded_by_id) if row.uploaded_by_id else None,
            name=row.uploaded_by_label,
        ),
        created=row.created_at,
    )


def present_event(event: Any) -> EventOut:
    return EventOut(
        seq=event.seq,
        at=event.at,
        kind=event.kind,
        actor=Named(id=str(event.actor_id) if event.actor_id else None, name=event.actor_label),
        changes=list(event.changes or []),
        comment_id=event.comment_id,
        attachment_id=event.attachment_id,
    )


def _links(session: Session, vault: Vault, actor: Actor, case: Case) -> list[LinkOut]:
    links = service.links_of(session, case.id)
    other_cases = _by_id(session, Case, (li.target_id for li in links if li.kind == "case"))
    deals = _by_id(session, CrmEntity, (li.target_id for li in links if li.kind == "deal"))
    host = actor.organization_id == case.organization_id
    out = []
    for link in links:
        shown = LinkOut(
            id=link.id, kind=link.kind, relation=link.relation, target_id=link.target_id
        )
        if link.kind == "case":
            other = other_cases.get(link.target_id)
            shown.label = other.key if other else None
        elif link.kind == "deal":
            deal = deals.get(link.target_id)
            shown.label = deal.name if deal is not None and host else None
        elif link.kind == "person":
            shown.disclosed = False
            if host:
                shown.ref = ref_of(session, case.organization_id, link.target_id)
                contact = contacts.read_contact(
                    session,
                    vault,
                    organization_id=case.organization_id,
                    person_id=link.target_id,
                    actor=actor_label(actor),
                    purpose=PERSON_PURPOSE,
                    categories=PERSON_CATEGORIES,
                )
                if contact is not None:
                    shown.disclosed = True
                    shown.name = f"{contact.family_name} {contact.given_name}".strip()
                    shown.email = contact.email
        out.append(shown)
    return out


def present_detail(session: Session, vault: Vault, actor: Actor, case: Case) -> CaseDetailOut:
    """Everything about a case: fields with names, custom field values, watchers, links,
    sub-cases, attachments, comments (Markdown and sanitised HTML) and the timeline."""
    base = present_case(session, case)
    fields = service.custom_fields(session, case.project_id)
    values = service.field_values(session, case.id)
    watcher_ids = service.watchers(session, case.id)
    names = user_names(session, watcher_ids)
    kids = service.children(session, case.id)
    kid_statuses = _by_id(session, Status, (k.status_id for k in kids))
    comments = sorted(
        service.comments_by_id(session, case.id).values(), key=lambda c: (c.created_at, c.id)
    )
    return CaseDetailOut(
        **base.model_dump(),
        description_html=str(markdown.render(case.description)),
        custom_fields=[
            CustomFieldValueOut(id=f.id, name=f.name, kind=f.kind, value=values.get(f.id))
            for f in fields
        ],
        watchers=[Named(id=str(u), name=names.get(u, "?")) for u in watcher_ids],
        links=_links(session, vault, actor, case),
        children=[
            ChildOut(
                id=k.id,
                key=k.key,
                summary=k.summary,
                status=status_named(kid_statuses[k.status_id]),
            )
            for k in kids
        ],
        attachments=[present_attachment(a) for a in service.attachments_of(session, case.id)],
        comments=[present_comment(c) for c in comments],
        timeline=[present_event(e) for e in service.timeline(session, case.id)],
    )


# --- views ------------------------------------------------------------------------------


def by_assignee(session: Session, actor: Actor, query: service.CaseQuery) -> ByAssigneeOut:
    """How many cases each assignee has in each status (one ``GROUP BY``); statuses of
    several projects with the same name count together."""
    where = service.case_filter(session, actor, query)
    rows = session.execute(
        select(
            Case.assignee_id,
            Status.name,
            func.max(Status.name_en),
            func.min(Status.position),
            func.count(),
        )
        .join(Status, Status.id == Case.status_id)
        .where(*where)
        .group_by(Case.assignee_id, Status.name)
    ).all()
    users = user_names(session, (r[0] for r in rows))
    grouped: dict[uuid.UUID | None, list[tuple[int, CountOut]]] = {}
    for assignee_id, name, name_en, position, count in rows:
        grouped.setdefault(assignee_id, []).append(
            (position, CountOut(status=Named(id=None, name=name, name_en=name_en), count=count))
        )
    out = [
        AssigneeRowOut(
            assignee=user_named(users, assignee_id),
            counts=[c for _, c in sorted(counts, key=lambda pc: (pc[0], pc[1].status.name))],
            total=sum(c.count for _, c in counts),
        )
        for assignee_id, counts in grouped.items()
    ]
    out.sort(key=lambda r: (r.assignee is None, r.assignee.name if r.assignee else ""))
    return ByAssigneeOut(rows=out)


def board(
    session: Session, actor: Actor, project: Project, query: service.CaseQuery, cards: int
) -> BoardOut:
    """The project's statuses in order, each with its count and its first ``cards`` cases
    (most recently updated first)."""
    where = service.case_filter(session, actor, query)
    counts = dict(
        session.execute(
            select(Case.status_id, func.count()).where(*where).group_by(Case.status_id)
        ).all()
    )
    ranked = (
        select(
            Case.id.label("case_id"),
            func.row_number()
            .over(partition_by=Case.status_id, order_by=(Case.updated_at.desc(), Case.id.desc()))
            .label("rank"),
        )
        .where(*where)
        .subquery()
    )
    first = list(
        session.scalars(
            select(Case)
            .join(ranked, ranked.c.case_id == Case.id)
            .where(ranked.c.rank <= cards)
            .order_by(Case.updated_at.desc(), Case.id.desc())
        )
    )
    shown = present_cases(session, first)
    columns = []
    for status in service.statuses(session, project.id):
        columns.append(
            BoardColumnOut(
                status=status_named(status),
                count=counts.get(status.id, 0),
                cards=[c for c in shown if c.status.id == str(status.id)],
            )
        )
    return BoardOut(
        project=ProjectRef(id=project.id, key=project.key, name=project.name), columns=columns
    )


def gantt(
    session: Session, actor: Actor, query: service.CaseQuery, since: date, until: date
) -> tuple[list[Case], int]:
    """The cases with a start or due date whose span meets ``since``…``until``, by start."""
    where = service.case_filter(session, actor, query)
    begins = func.coalesce(Case.start_date, Case.due_date)
    ends = func.coalesce(Case.due_date, Case.start_date)
    where += [
        or_(Case.start_date.is_not(None), Case.due_date.is_not(None)),
        and_(begins <= until, ends >= since),
    ]
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    items = list(
        session.scalars(
            select(Case)
            .where(*where)
            .order_by(begins, ends, Case.number)
            .limit(min(query.limit, MAX_GANTT))
            .offset(query.offset)
        )
    )
    return items, total


def window(today: date, since: date | None, until: date | None) -> tuple[date, date]:
    """The Gantt window: a month back and two ahead unless given."""
    try:
        low = since or (until - timedelta(days=90) if until else today - timedelta(days=30))
        high = until or low + timedelta(days=90)
    except OverflowError:
        raise InvalidInput("since/until: the window lies outside the calendar") from None
    return low, high
