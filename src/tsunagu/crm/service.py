"""Use cases of the pipeline core: the stage model, entities, and moving them (transitions).

Every move goes through ``move`` (or, for imports of history, ``crm.importing``): it checks
the organization's stage model, that the move starts from the entity's current stage, that
time does not run backwards for the entity, and that a move to ``lost`` has a reason; then it
appends a ``CrmTransition`` with the next ``seq``.  The unique (entity, seq) makes two
concurrent moves of one entity collide instead of both landing.

An entity, transition or campaign of another organization answers ``…NotFound`` exactly as
one that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.crm.errors import (
    CampaignNotFound,
    EntityNotFound,
    EntityRefTaken,
    InvalidTransition,
    ReasonRequired,
    StaleStage,
    UnknownStage,
)
from tsunagu.crm.models import CrmCampaign, CrmEntity, CrmMove, CrmStage, CrmTransition
from tsunagu.crm.stages import DEFAULT_MODEL, Stage, StageModel, model_from_rows
from tsunagu.identity.errors import PersonNotFound
from tsunagu.identity.models import Organization
from tsunagu.identity.service import find_membership
from tsunagu.vault.service import access_person

#: how far in the future a move may be dated (clock skew between a client and the server)
FUTURE_TOLERANCE = timedelta(minutes=5)
#: moves dated before this year are typing mistakes (and some cannot be stored at all)
EARLIEST_YEAR = 1900
#: the largest amount accepted, in yen (far above any deal; well inside a BIGINT)
MAX_AMOUNT = 10**15

Source = Literal["ui", "api", "import", "rule", "demo"]


# --- the stage model ---------------------------------------------------------------------


def load_model(session: Session, organization_id: uuid.UUID) -> StageModel:
    """The organization's stage model: its own rows, or THE MODEL's default."""
    rows = session.scalars(
        select(CrmStage).where(CrmStage.organization_id == organization_id)
    ).all()
    if not rows:
        return DEFAULT_MODEL
    moves = session.execute(
        select(CrmMove.from_stage, CrmMove.to_stage).where(
            CrmMove.organization_id == organization_id
        )
    ).all()
    stages = [
        Stage(
            key=row.key,
            department=row.department,  # type: ignore[arg-type]
            label_ja=row.label_ja,
            label_en=row.label_en,
            position=row.position,
            role=row.role,  # type: ignore[arg-type]
            terminal=row.terminal,
            criterion_ja=row.criterion_ja,
            criterion_en=row.criterion_en,
            auto_on=tuple(k for k in row.auto_on.split(",") if k),
        )
        for row in rows
    ]
    return model_from_rows(stages, [(a, b) for a, b in moves])


def save_model(session: Session, organization_id: uuid.UUID, model: StageModel) -> None:
    """Replace the organization's stage model; every stage its history uses must remain."""
    used = set(
        session.scalars(
            select(CrmTransition.to_stage)
            .where(CrmTransition.organization_id == organization_id)
            .distinct()
        )
    )
    missing = sorted(used - set(model.keys))
    if missing:
        raise InvalidInput(
            "the new model drops stages that transitions already use: " + ", ".join(missing)
        )
    session.execute(delete(CrmMove).where(CrmMove.organization_id == organization_id))
    session.execute(delete(CrmStage).where(CrmStage.organization_id == organization_id))
    session.add_all(
        CrmStage(
            organization_id=organization_id,
            key=s.key,
            department=s.department,
            label_ja=s.label_ja,
            label_en=s.label_en,
            position=s.position,
            role=s.role,
            terminal=s.terminal,
            criterion_ja=s.criterion_ja,
            criterion_en=s.criterion_en,
            auto_on=",".join(s.auto_on),
        )
        for s in model.stages
    )
    session.add_all(
        CrmMove(organization_id=organization_id, from_stage=a, to_stage=b)
        for a, b in sorted(model.extra_moves)
    )
    session.flush()


def organization_timezone(session: Session, organization_id: uuid.UUID) -> str:
    zone = session.scalar(select(Organization.timezone).where(Organization.id == organization_id))
    return zone or "Asia/Tokyo"


# --- entities ----------------------------------------------------------------------------


def create_entity(
    session: Session,
    organization_id: uuid.UUID,
    *,
    ref: str,
    name: str,
    person_id: uuid.UUID | None = None,
    owner_user_id: uuid.UUID | None = None,
    industry: str | None = None,
    size: str | None = None,
    channel: str | None = None,
    region: str | None = None,
    amount: int | None = None,
    close_date: date | None = None,
) -> CrmEntity:
    """A new entity (no stage until its first transition)."""
    ref = ref.strip()
    if not ref or not name.strip():
        raise InvalidInput("an entity needs a ref and a name")
    check_text(ref, name, industry, size, channel, region)
    check_amount(amount)
    if person_id is not None:
        try:
            access_person(session, organization_id, person_id)
        except PersonNotFound as exc:
            raise InvalidInput(f"no person with id {person_id} is known to you") from exc
    if (
        owner_user_id is not None
        and find_membership(session, organization_id, owner_user_id) is None
    ):
        raise InvalidInput(f"the owner {owner_user_id} is not staff of your organization")
    taken = session.scalar(
        select(CrmEntity.id).where(
            CrmEntity.organization_id == organization_id, CrmEntity.ref == ref
        )
    )
    if taken is not None:
        raise EntityRefTaken(f"the entity ref {ref!r} is taken")
    entity = CrmEntity(
        organization_id=organization_id,
        ref=ref,
        name=name.strip(),
        person_id=person_id,
        owner_user_id=owner_user_id,
        industry=industry,
        size=size,
        channel=channel,
        region=region,
        amount=amount,
        close_date=close_date,
    )
    session.add(entity)
    try:
        session.flush()
    except IntegrityError as exc:
        raise EntityRefTaken(f"the entity ref {ref!r} is taken") from exc
    return entity


def get_entity(session: Session, organization_id: uuid.UUID, entity_id: uuid.UUID) -> CrmEntity:
    """The organization's entity, or ``EntityNotFound`` (also for another tenant's id)."""
    entity = session.get(CrmEntity, entity_id)
    if entity is None or entity.organization_id != organization_id:
        raise EntityNotFound(f"no entity with id {entity_id}")
    return entity


def entity_by_ref(session: Session, organization_id: uuid.UUID, ref: str) -> CrmEntity:
    entity = session.scalar(
        select(CrmEntity).where(CrmEntity.organization_id == organization_id, CrmEntity.ref == ref)
    )
    if entity is None:
        raise EntityNotFound(f"no entity with ref {ref!r}")
    return entity


@dataclass(frozen=True, slots=True)
class Position:
    """Where an entity is: its last transition."""

    stage: str
    seq: int
    at: datetime


def current(session: Session, entity_id: uuid.UUID) -> Position | None:
    """The entity's current stage (the ``to_stage`` of its last transition), or ``None``."""
    row = session.execute(
        select(CrmTransition.to_stage, CrmTransition.seq, CrmTransition.at)
        .where(CrmTransition.entity_id == entity_id)
        .order_by(CrmTransition.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else Position(row.to_stage, row.seq, row.at)


def current_stages_query(  # type: ignore[no-untyped-def]
    organization_id: uuid.UUID, *, entity_ids: Sequence[uuid.UUID] | None = None
):
    """A select of (entity_id, stage, seq, at) for every entity of the organization that has
    a stage — the last transition of each (use it as a subquery); only of ``entity_ids``
    when given (then it reads just their transitions)."""
    mine = [CrmTransition.organization_id == organization_id]
    if entity_ids is not None:
        mine.append(CrmTransition.entity_id.in_(list(entity_ids)))
    last = (
        select(CrmTransition.entity_id, func.max(CrmTransition.seq).label("seq"))
        .where(*mine)
        .group_by(CrmTransition.entity_id)
        .subquery()
    )
    return (
        select(
            CrmTransition.entity_id,
            CrmTransition.to_stage.label("stage"),
            CrmTransition.seq,
            CrmTransition.at,
        )
        .join(
            last,
            (CrmTransition.entity_id == last.c.entity_id) & (CrmTransition.seq == last.c.seq),
        )
        # lets the database read stage and time from ix_crm_transitions_org_entity alone
        .where(CrmTransition.organization_id == organization_id)
    )


def stage_counts(session: Session, organization_id: uuid.UUID) -> dict[str, int]:
    """How many entities are in each stage now (stages with none are absent)."""
    sub = current_stages_query(organization_id).subquery()
    rows = session.execute(select(sub.c.stage, func.count()).group_by(sub.c.stage)).all()
    return {stage: int(n) for stage, n in rows}


def history(
    session: Session, organization_id: uuid.UUID, entity_id: uuid.UUID
) -> Sequence[CrmTransition]:
    get_entity(session, organization_id, entity_id)
    return session.scalars(
        select(CrmTransition)
        .where(CrmTransition.entity_id == entity_id)
        .order_by(CrmTransition.seq)
    ).all()


def check_text(*values: str | None) -> None:
    """Refuse NUL characters (PostgreSQL cannot store them in text)."""
    if any(value is not None and "\x00" in value for value in values):
        raise InvalidInput("text must not contain NUL characters")


def check_amount(amount: int | None, what: str = "amount") -> None:
    """An amount in yen: not negative, not beyond ``MAX_AMOUNT``."""
    if amount is None:
        return
    if amount < 0:
        raise InvalidInput(f"{what} must not be negative")
    if amount > MAX_AMOUNT:
        raise InvalidInput(f"{what} must not be larger than {MAX_AMOUNT:,}")


def check_time(at: datetime) -> None:
    """An aware time that exists in UTC and lies in or after ``EARLIEST_YEAR``."""
    if at.tzinfo is None:
        raise InvalidInput("a time needs a UTC offset")
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("the time lies outside the calendar") from None
    if utc.year < EARLIEST_YEAR:
        raise InvalidInput(f"a time cannot lie before {EARLIEST_YEAR}")


# --- moving ------------------------------------------------------------------------------


_UNSET: object = object()


def check_move(
    model: StageModel,
    from_stage: str | None,
    to_stage: str,
    *,
    reason: str,
    source: Source,
) -> None:
    """Raise the error a person should read when ``from_stage → to_stage`` is not allowed."""
    if to_stage not in model:
        raise UnknownStage(f"unknown stage {to_stage!r}")
    if from_stage is not None and from_stage not in model:
        raise UnknownStage(f"unknown stage {from_stage!r}")
    if not model.allows(from_stage, to_stage):
        if from_stage is None:
            raise InvalidTransition(f"an entity cannot start in the terminal stage {to_stage!r}")
        if model.stage(from_stage).terminal:
            raise InvalidTransition(f"{from_stage!r} is terminal: nothing moves out of it")
        raise InvalidTransition(f"the stage model does not allow {from_stage} → {to_stage}")
    if (
        to_stage == model.by_role("lost")
        and source not in ("import", "demo")
        and not reason.strip()
    ):
        raise ReasonRequired("a move to lost needs a reason (why was the deal lost?)")


def move(
    session: Session,
    organization_id: uuid.UUID,
    entity_id: uuid.UUID,
    to_stage: str,
    *,
    actor: str,
    source: Source = "api",
    at: datetime | None = None,
    reason: str = "",
    amount: int | None = None,
    campaign_id: uuid.UUID | None = None,
    expected_from: str | object | None = _UNSET,
    model: StageModel | None = None,
) -> CrmTransition:
    """Move the entity into ``to_stage`` (an appended transition) and return the transition.

    ``expected_from`` (when given, ``None`` meaning "no stage yet") must be the entity's
    current stage, else ``StaleStage``: a board that shows an old stage cannot move from it.
    """
    get_entity(session, organization_id, entity_id)
    model = model or load_model(session, organization_id)
    now = utcnow()
    at = at or now
    if at.tzinfo is None:
        raise InvalidInput("the time of a move needs a UTC offset")
    check_time(at)
    if at > now + FUTURE_TOLERANCE:
        raise InvalidInput("a move cannot be dated in the future")
    check_amount(amount)
    check_text(reason, actor)
    if campaign_id is not None:
        campaign = session.get(CrmCampaign, campaign_id)
        if campaign is None or campaign.organization_id != organization_id:
            raise CampaignNotFound(f"no campaign with id {campaign_id}")
    here = current(session, entity_id)
    from_stage = here.stage if here else None
    if expected_from is not _UNSET and expected_from != from_stage:
        raise StaleStage(
            f"the entity is in {from_stage or 'no stage'}, not {expected_from or 'no stage'}"
        )
    check_move(model, from_stage, to_stage, reason=reason, source=source)
    if here is not None and at < here.at:
        raise InvalidTransition(
            f"the move is dated {at.isoformat()}, before the entity's last move "
            f"({here.at.isoformat()})"
        )
    transition = CrmTransition(
        organization_id=organization_id,
        entity_id=entity_id,
        seq=(here.seq if here else 0) + 1,
        from_stage=from_stage,
        to_stage=to_stage,
        at=at,
        actor=actor,
        reason=reason.strip(),
        amount=amount,
        source=source,
        campaign_id=campaign_id,
    )
    session.add(transition)
    try:
        session.flush()
    except IntegrityError as exc:
        raise StaleStage("the entity was moved at the same time; look again and retry") from exc
    return transition
