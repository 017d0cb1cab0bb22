"""Tables of the cases domain (Backlog-style issue tracking).

A *project* (key ``SUP``) belongs to one organization and holds *cases* numbered per
project (``SUP-123``).  Statuses, issue types, categories, milestones and custom fields
are per project.  Every change of a case is an *event* on its timeline (``cases_events``,
append-only, numbered per case); comments and attachments are events too.  Attachment
bytes live outside the database (``Settings.home / "attachments"``); the row keeps their
SHA-256, size and type.

Japanese full-text search keeps one *search document* per case (``cases_search_docs``):
on SQLite an FTS5 table ``cases_fts`` (created by the migration) holds its n-grams; on
PostgreSQL the ``grams`` column holds them as a ``tsvector`` with a GIN index (see
``cases.search``).

Persons and CRM deals appear by id only (``cases_links``): what is shown about a person
goes through the consent decision point.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.clock import UTCDateTime, utcnow
from tsunagu.core.database import Base
from tsunagu.core.ids import new_id

VISIBILITIES = ("internal", "cross_department", "partner")
PROJECT_ROLES = ("admin", "member", "viewer")
PRIORITIES = ("high", "normal", "low")
FIELD_KINDS = ("text", "number", "date", "single", "multi")
LINK_KINDS = ("person", "deal", "case")
CASE_RELATIONS = ("relates", "escalated_to", "escalated_from", "duplicates", "blocks")
CASE_SOURCES = ("ui", "api", "inquiry", "kpt", "escalation", "demo")
KPT_KINDS = ("keep", "problem", "try")
DELIVERY_STATES = ("pending", "delivered", "failed", "dead")


class Project(Base):
    """A project: a department's, several departments', or one shared with a partner."""

    __tablename__ = "cases_projects"
    __table_args__ = (
        UniqueConstraint("organization_id", "key"),
        CheckConstraint(f"visibility IN {VISIBILITIES}", name="visibility"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str | None] = mapped_column(String(100))
    visibility: Mapped[str] = mapped_column(String(20), default="internal")
    #: the partner organization whose members may see this project (visibility ``partner``)
    partner_organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    #: the number the next case gets (``KEY-n``); taken under a row lock
    next_number: Mapped[int] = mapped_column(Integer, default=1)
    #: the public inquiry form is open
    inquiry_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the notice shown beside the inquiry form's consent checkbox (ja / en)
    inquiry_notice_ja: Mapped[str] = mapped_column(Text, default="")
    inquiry_notice_en: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProjectMember(Base):
    """A staff user's role in one project (partner staff reach a project only this way)."""

    __tablename__ = "cases_project_members"
    __table_args__ = (CheckConstraint(f"role IN {PROJECT_ROLES}", name="role"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="member")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Status(Base):
    """A status of a project, ordered: ``Open`` first and ``Closed`` last always."""

    __tablename__ = "cases_statuses"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str | None] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(SmallInteger)
    color: Mapped[str] = mapped_column(String(7), default="#888888")
    #: ``open`` / ``in_progress`` / ``resolved`` / ``closed`` for the four built-ins
    builtin: Mapped[str | None] = mapped_column(String(12))


class IssueType(Base):
    """An issue type of a project (タスク, バグ, 要望, その他 by default)."""

    __tablename__ = "cases_types"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str | None] = mapped_column(String(60))
    color: Mapped[str] = mapped_column(String(7), default="#7ea800")
    position: Mapped[int] = mapped_column(SmallInteger, default=0)


class Category(Base):
    __tablename__ = "cases_categories"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))


class Milestone(Base):
    __tablename__ = "cases_milestones"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date | None] = mapped_column(Date)
    release_due_date: Mapped[date | None] = mapped_column(Date)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class CustomField(Base):
    """A custom field of a project: text, number, date, single or multiple choice."""

    __tablename__ = "cases_custom_fields"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        CheckConstraint(f"kind IN {FIELD_KINDS}", name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    #: the choices of ``single`` / ``multi`` fields
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(SmallInteger, default=0)


class Case(Base):
    """A case (Backlog's "issue"): ``KEY-number`` within its project."""

    __tablename__ = "cases_cases"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        CheckConstraint(f"priority IN {PRIORITIES}", name="priority"),
        CheckConstraint(f"source IN {CASE_SOURCES}", name="source"),
        Index("ix_cases_cases_project_updated", "project_id", "updated_at"),
        Index("ix_cases_cases_project_status", "project_id", "status_id", "updated_at"),
        Index("ix_cases_cases_assignee", "assignee_id", "status_id", "due_date"),
        Index("ix_cases_cases_project_due", "project_id", "due_date"),
        Index("ix_cases_cases_org_due", "organization_id", "closed", "due_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    #: ``KEY-number``, kept with the row so lists and search need no join for it
    key: Mapped[str] = mapped_column(String(24))
    summary: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    issue_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_types.id", ondelete="SET NULL")
    )
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    status_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases_statuses.id"))
    #: the status is the project's last (Closed); kept with the row for the overdue views
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    #: who opened it, as shown on the timeline ("山田 花子", "inquiry form", "API key …")
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    start_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    estimated_hours: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    actual_hours: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_categories.id", ondelete="SET NULL")
    )
    milestone_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_milestones.id", ondelete="SET NULL")
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(12), default="ui")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the timeline's last event number (events are numbered 1, 2, … per case)
    last_event: Mapped[int] = mapped_column(Integer, default=0)


class KeyAlias(Base):
    """A key a case had before it moved to another project (``SUP-12`` still finds it)."""

    __tablename__ = "cases_key_aliases"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(24))
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="CASCADE"), index=True
    )


class FieldValue(Base):
    """A case's value of a custom field (JSON: a string, number, ISO date or a list)."""

    __tablename__ = "cases_field_values"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="CASCADE"), primary_key=True
    )
    field_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_custom_fields.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[Any] = mapped_column(JSON)


class Watcher(Base):
    __tablename__ = "cases_watchers"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Link(Base):
    """A case's link to a person, a CRM deal (entity) or another case."""

    __tablename__ = "cases_links"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "target_id", "relation"),
        CheckConstraint(f"kind IN {LINK_KINDS}", name="kind"),
        Index("ix_cases_links_target", "kind", "target_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases_cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[uuid.UUID] = mapped_column()
    relation: Mapped[str] = mapped_column(String(16), default="relates")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(Base):
    """A comment on a case (Markdown); ``public`` ones are shown to the inquirer."""

    __tablename__ = "cases_comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    author_label: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    #: visible to the outside inquirer on their follow-up page (replies to them / from them)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    #: written by the inquirer through their signed link
    from_inquirer: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the members this comment notified
    notified: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A file attached to a case; the bytes lie outside the database under ``storage_key``."""

    __tablename__ = "cases_attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="CASCADE"), index=True
    )
    comment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_comments.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    #: path relative to the attachment store (content-addressed: ``ab/cd/<sha256>``)
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    uploaded_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """One entry of a case's timeline; never updated, never deleted.

    ``changes`` lists ``{"field": …, "from": …, "to": …}`` with display values (names, not
    ids) as they were at that moment, so the timeline reads right even after a status or a
    member is renamed or removed.
    """

    __tablename__ = "cases_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases_cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    actor_label: Mapped[str] = mapped_column(String(200))
    #: created, changed, commented, attached, escalated, moved, copied, linked, unlinked
    kind: Mapped[str] = mapped_column(String(16))
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    comment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_comments.id", ondelete="SET NULL")
    )
    attachment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_attachments.id", ondelete="SET NULL")
    )


class SearchDoc(Base):
    """The full-text search document of a case (an integer rowid for FTS5 / the GIN index).

    On PostgreSQL ``grams`` is a ``tsvector`` (the migration creates the column); the ORM
    never reads it — ``cases.search`` writes and queries it in SQL."""

    __tablename__ = "cases_search_docs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="CASCADE"), unique=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE"), index=True
    )


class SavedSearch(Base):
    """A user's saved filter of the case list (``query`` holds the list's query string)."""

    __tablename__ = "cases_saved_searches"
    __table_args__ = (UniqueConstraint("user_id", "organization_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Inquiry(Base):
    """A submission of a project's public inquiry form and the case it opened."""

    __tablename__ = "cases_inquiries"
    __table_args__ = (UniqueConstraint("project_id", "idempotency_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE")
    )
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="CASCADE"), index=True
    )
    #: the reference number the inquirer is given (e.g. ``Q-7K3M9P2X``)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL")
    )
    consent_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationSetting(Base):
    """What a staff user wants to be told by e-mail (defaults: everything on)."""

    __tablename__ = "cases_notification_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    on_assigned: Mapped[bool] = mapped_column(Boolean, default=True)
    on_comment: Mapped[bool] = mapped_column(Boolean, default=True)
    on_status: Mapped[bool] = mapped_column(Boolean, default=True)
    on_due: Mapped[bool] = mapped_column(Boolean, default=True)
    #: days before the due date a reminder goes out
    remind_days_before: Mapped[int] = mapped_column(SmallInteger, default=1)


class Notification(Base):
    """An e-mail waiting to go out (the outbox), or gone; ``dedupe_key`` stops doubles."""

    __tablename__ = "cases_notifications"
    __table_args__ = (Index("ix_cases_notifications_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    #: set for mails to outsiders (an inquirer), else the user's address at send time
    to_address: Mapped[str | None] = mapped_column(String(320))
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Webhook(Base):
    """An outgoing webhook of a project; payloads are signed with HMAC-SHA256 under
    ``secret`` (shown once when created)."""

    __tablename__ = "cases_webhooks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    #: event kinds it receives, e.g. ``["case.created", "case.updated", "case.commented"]``
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event to deliver to one webhook, with its attempts (the delivery log)."""

    __tablename__ = "cases_webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"state IN {DELIVERY_STATES}", name="state"),
        Index("ix_cases_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_cases_webhook_deliveries_hook", "webhook_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_webhooks.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KptBoard(Base):
    """A KPT retrospective board of a project for one period (e.g. ``2026-11``)."""

    __tablename__ = "cases_kpt_boards"
    __table_args__ = (UniqueConstraint("project_id", "period"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_projects.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KptCard(Base):
    """A Keep, Problem or Try card; a Try can become a case (``case_id``)."""

    __tablename__ = "cases_kpt_cards"
    __table_args__ = (CheckConstraint(f"kind IN {KPT_KINDS}", name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    board_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_kpt_boards.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    author_label: Mapped[str] = mapped_column(String(200), default="")
    #: the card of an earlier period this one carries over (a Keep kept, a Problem open)
    carried_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_kpt_cards.id", ondelete="SET NULL")
    )
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases_cases.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KptVote(Base):
    __tablename__ = "cases_kpt_votes"

    card_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases_kpt_cards.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
