"""Tables of the CRM domain (THE MODEL): stage models, entities, transitions, campaigns.

The current stage of an entity is *derived*: the ``to_stage`` of its last transition (the
highest ``seq``).  Nothing stores it, nothing edits it in place; a transition row is never
updated.  Amounts are whole units of the organization's currency (yen), as integers.
Persons appear by id only: contact details are read from the vault through the consent
decision point, never copied here.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.clock import UTCDateTime, utcnow
from tsunagu.core.database import Base
from tsunagu.core.ids import new_id

CHANNELS = ("seminar", "webinar", "mail", "exhibition", "ads", "web_content")
MEMBER_STATUSES = ("invited", "registered", "attended", "no_show", "followed_up")
TRANSITION_SOURCES = ("ui", "api", "import", "rule", "demo")


class CrmStage(Base):
    """A stage of an organization's own model (an organization without rows uses the
    default model of ``crm.stages``)."""

    __tablename__ = "crm_stages"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(20))
    label_ja: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    position: Mapped[int | None] = mapped_column(SmallInteger)
    role: Mapped[str | None] = mapped_column(String(20))
    terminal: Mapped[bool] = mapped_column(Boolean, default=False)
    criterion_ja: Mapped[str] = mapped_column(Text, default="")
    criterion_en: Mapped[str] = mapped_column(Text, default="")
    #: activity kinds that move an entity here by themselves, comma-separated
    auto_on: Mapped[str] = mapped_column(String(200), default="")


class CrmMove(Base):
    """A side move an organization's own model allows (forward main-line moves always are)."""

    __tablename__ = "crm_moves"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    from_stage: Mapped[str] = mapped_column(String(40), primary_key=True)
    to_stage: Mapped[str] = mapped_column(String(40), primary_key=True)


class CrmEntity(Base):
    """A company, contact or deal moving through the pipeline."""

    __tablename__ = "crm_entities"
    __table_args__ = (
        UniqueConstraint("organization_id", "ref"),
        Index("ix_crm_entities_org_updated", "organization_id", "updated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    #: the organization's own id for it (``entity_id`` in the transitions CSV)
    ref: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    #: the contact, a person of the vault (details only through the decision point)
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # segments the win rates break down by
    industry: Mapped[str | None] = mapped_column(String(60))
    size: Mapped[str | None] = mapped_column(String(30))
    channel: Mapped[str | None] = mapped_column(String(30))
    region: Mapped[str | None] = mapped_column(String(30))
    #: the deal's expected amount and close date (the won amount is on the transition)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    close_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when segments, amount or owner last changed (the metrics cache watches it)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CrmTransition(Base):
    """One move of an entity into a stage: an event, never edited."""

    __tablename__ = "crm_transitions"
    __table_args__ = (
        UniqueConstraint("entity_id", "seq"),
        Index("ix_crm_transitions_org_at", "organization_id", "at"),
        # every entity's last transition (stage and time) read from the index alone
        Index(
            "ix_crm_transitions_org_entity",
            "organization_id",
            "entity_id",
            "seq",
            "to_stage",
            "at",
        ),
        # the moves of one kind (handoffs: from → to) in a time range
        Index("ix_crm_transitions_org_move", "organization_id", "from_stage", "to_stage", "at"),
        # count and latest write of an organization's history (the metrics cache's check)
        Index("ix_crm_transitions_org_recorded", "organization_id", "recorded_at"),
        CheckConstraint(f"source IN {TRANSITION_SOURCES}", name="source"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_entities.id", ondelete="CASCADE"))
    #: 1, 2, 3 … per entity, in time order; the unique (entity, seq) serialises moves
    seq: Mapped[int] = mapped_column(Integer)
    from_stage: Mapped[str | None] = mapped_column(String(40))
    to_stage: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: who moved it: ``user:<uuid>``, ``apikey:<prefix>``, ``import``, ``rule:<kind>``
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(10), default="api")
    #: the campaign the move is credited to, when someone says so
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_campaigns.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrmActivity(Base):
    """Something an entity did (clicked a mail, visited, asked for material, inquired …)."""

    __tablename__ = "crm_activities"
    __table_args__ = (Index("ix_crm_activities_entity", "entity_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_entities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_campaigns.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(Text, default="")
    #: the transition the activity caused by an automatic rule, if any
    transition_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_transitions.id", ondelete="SET NULL")
    )


class CrmCampaign(Base):
    """A seminar, webinar, mail, exhibition, ad or piece of web content."""

    __tablename__ = "crm_campaigns"
    __table_args__ = (CheckConstraint(f"channel IN {CHANNELS}", name="channel"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the purpose its audience must have consented to (``marketing`` by default)
    purpose: Mapped[str] = mapped_column(String(63), default="marketing")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrmCampaignMember(Base):
    """An entity in a campaign: invited → registered → attended / no_show → followed_up."""

    __tablename__ = "crm_campaign_members"
    __table_args__ = (
        UniqueConstraint("campaign_id", "entity_id"),
        CheckConstraint(f"status IN {MEMBER_STATUSES}", name="status"),
        Index("ix_crm_campaign_members_entity", "entity_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_campaigns.id", ondelete="CASCADE")
    )
    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_entities.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="invited")
    #: when the campaign first touched the entity (invitation sent)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrmHandoffRating(Base):
    """The receiving department's rating (1–5) of a handoff transition, with a comment."""

    __tablename__ = "crm_handoff_ratings"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    transition_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_transitions.id", ondelete="CASCADE"), unique=True
    )
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_by: Mapped[str] = mapped_column(String(100))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrmTarget(Base):
    """A target conversion rate for one step (the bottleneck compares against it; without
    one, a step's own trailing average is its target)."""

    __tablename__ = "crm_targets"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    from_stage: Mapped[str] = mapped_column(String(40), primary_key=True)
    to_stage: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: in [0, 1]
    rate: Mapped[float] = mapped_column()
