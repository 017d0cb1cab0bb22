"""Campaigns and channels: who a campaign touched, and which stages it moved (reports in SQL).

A campaign (``CrmCampaign``) is a seminar, webinar, mail, exhibition, ad or piece of web
content with dates, a cost and the purpose its audience must have consented to.  Its
members (``CrmCampaignMember``) are entities with a status::

    invited → registered → attended | no_show → followed_up

A status only moves forward along that order (steps may be skipped — a walk-in is
``attended`` without ``registering`` — but ``attended`` and ``no_show`` exclude each
other and nothing moves back).  ``touched_at`` is when the campaign first touched the
entity (the invitation) and never changes.

**Credit.**  A *forward move* is a transition into a main-line stage from an earlier main
stage, or an entity's first transition when it goes into a main stage (``crm.stages``).  A
forward move is credited

* to the campaign its transition names (``CrmTransition.campaign_id``), when it names one
  — explicit attribution wins, and then credits that campaign only;
* otherwise to **every** campaign that touched the entity at most ``window_days`` (90 by
  default) before the move (``touched_at ≤ at ≤ touched_at + window``).  An entity touched
  by several campaigns credits each of them.

Per campaign the report has members by status, the forward moves credited to it, the
entities they moved, the explicitly attributed ones among them, and cost per forward move.
The channel map counts, per channel and stage, the *distinct* forward moves into the stage
credited to a campaign of the channel (two seminars crediting one move count it once for
seminars; a seminar and a webinar count it once each).

All report numbers come from one SQL statement each (SQLite and PostgreSQL), never from a
Python loop over rows.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.crm import contacts
from tsunagu.crm import service as crm_service
from tsunagu.crm.errors import CampaignNotFound, EntityNotFound
from tsunagu.crm.models import (
    CHANNELS,
    MEMBER_STATUSES,
    CrmCampaign,
    CrmCampaignMember,
    CrmEntity,
    CrmTransition,
)
from tsunagu.crm.stages import StageModel

#: how long after the touch a forward move is credited to the campaign
DEFAULT_WINDOW_DAYS = 90
MAX_WINDOW_DAYS = 3660
#: the order of member statuses (``attended`` and ``no_show`` share a rank)
STATUS_RANK = {"invited": 0, "registered": 1, "attended": 2, "no_show": 2, "followed_up": 3}
#: most entities one bulk call may add or update
MAX_BULK = 10_000


class InvalidMemberStatus(InvalidInput):
    """A member status change against the order invited → registered → attended | no_show
    → followed_up."""

    code = "invalid_member_status"


# --- campaigns -------------------------------------------------------------------------


def _check_fields(
    session: Session,
    organization_id: uuid.UUID,
    *,
    name: str,
    channel: str,
    starts_on: date,
    ends_on: date | None,
    cost: int,
    purpose: str,
) -> None:
    if not name.strip():
        raise InvalidInput("name: a campaign needs a name")
    if len(name.strip()) > 200:
        raise InvalidInput("name: at most 200 characters")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: one of {', '.join(CHANNELS)}")
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput("ends_on: the last day lies before the first day")
    crm_service.check_amount(cost, "cost")
    crm_service.check_text(name, purpose)
    consent_service.resolve_purpose(session, organization_id, purpose)


def create_campaign(
    session: Session,
    organization_id: uuid.UUID,
    *,
    name: str,
    channel: str,
    starts_on: date,
    ends_on: date | None = None,
    cost: int = 0,
    purpose: str = "marketing",
) -> CrmCampaign:
    _check_fields(
        session,
        organization_id,
        name=name,
        channel=channel,
        starts_on=starts_on,
        ends_on=ends_on,
        cost=cost,
        purpose=purpose,
    )
    campaign = CrmCampaign(
        organization_id=organization_id,
        name=name.strip(),
        channel=channel,
        starts_on=starts_on,
        ends_on=ends_on,
        cost=cost,
        purpose=purpose,
    )
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(
    session: Session, organization_id: uuid.UUID, campaign_id: uuid.UUID
) -> CrmCampaign:
    """The organization's campaign, or ``CampaignNotFound`` (also for another tenant's)."""
    campaign = session.get(CrmCampaign, campaign_id)
    if campaign is None or campaign.organization_id != organization_id:
        raise CampaignNotFound(f"no campaign with id {campaign_id}")
    return campaign


def list_campaigns(session: Session, organization_id: uuid.UUID) -> Sequence[CrmCampaign]:
    """The organization's campaigns, latest first."""
    return session.scalars(
        select(CrmCampaign)
        .where(CrmCampaign.organization_id == organization_id)
        .order_by(CrmCampaign.starts_on.desc(), CrmCampaign.name)
    ).all()


def update_campaign(
    session: Session,
    organization_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    name: str | None = None,
    channel: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    clear_ends_on: bool = False,
    cost: int | None = None,
    purpose: str | None = None,
) -> CrmCampaign:
    """Change the given fields (``clear_ends_on`` removes the last day)."""
    campaign = get_campaign(session, organization_id, campaign_id)
    new_name = (name if name is not None else campaign.name).strip()
    new_channel = channel if channel is not None else campaign.channel
    new_start = starts_on if starts_on is not None else campaign.starts_on
    new_end = None if clear_ends_on else (ends_on if ends_on is not None else campaign.ends_on)
    new_cost = cost if cost is not None else campaign.cost
    new_purpose = purpose if purpose is not None else campaign.purpose
    _check_fields(
        session,
        organization_id,
        name=new_name,
        channel=new_channel,
        starts_on=new_start,
        ends_on=new_end,
        cost=new_cost,
        purpose=new_purpose,
    )
    campaign.name = new_name
    campaign.channel = new_channel
    campaign.starts_on = new_start
    campaign.ends_on = new_end
    campaign.cost = new_cost
    campaign.purpose = new_purpose
    session.flush()
    return campaign


def delete_campaign(session: Session, organization_id: uuid.UUID, campaign_id: uuid.UUID) -> None:
    """Delete the campaign and its members (transitions keep their move, losing the
    attribution)."""
    campaign = get_campaign(session, organization_id, campaign_id)
    session.execute(delete(CrmCampaignMember).where(CrmCampaignMember.campaign_id == campaign.id))
    session.execute(
        update(CrmTransition)
        .where(CrmTransition.campaign_id == campaign.id)
        .values(campaign_id=None)
    )
    session.delete(campaign)
    session.flush()


# --- members ---------------------------------------------------------------------------


def status_allowed(old: str, new: str) -> bool:
    """May a member in ``old`` move to ``new``?  Forward only; the same status is a no-op."""
    if old not in STATUS_RANK or new not in STATUS_RANK:
        return False
    return old == new or STATUS_RANK[new] > STATUS_RANK[old]


def resolve_entities(
    session: Session,
    organization_id: uuid.UUID,
    *,
    entity_ids: Iterable[uuid.UUID] = (),
    refs: Iterable[str] = (),
) -> list[uuid.UUID]:
    """The ids of the organization's entities named by id or ref (each once, in order);
    ``EntityNotFound`` naming every one that is not the organization's."""
    ids = list(dict.fromkeys(entity_ids))
    wanted_refs = list(dict.fromkeys(r.strip() for r in refs))
    crm_service.check_text(*wanted_refs)
    if len(ids) + len(wanted_refs) > MAX_BULK:
        raise InvalidInput(f"at most {MAX_BULK} entities per call")
    found_ids: set[uuid.UUID] = set()
    if ids:
        found_ids = set(
            session.scalars(
                select(CrmEntity.id).where(
                    CrmEntity.organization_id == organization_id, CrmEntity.id.in_(ids)
                )
            )
        )
    by_ref: dict[str, uuid.UUID] = {}
    if wanted_refs:
        by_ref = dict(
            session.execute(
                select(CrmEntity.ref, CrmEntity.id).where(
                    CrmEntity.organization_id == organization_id,
                    CrmEntity.ref.in_(wanted_refs),
                )
            ).all()
        )
    missing = [str(i) for i in ids if i not in found_ids] + [
        r for r in wanted_refs if r not in by_ref
    ]
    if missing:
        raise EntityNotFound(
            "no such entity: " + ", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""),
            errors=[{"entity": m} for m in missing[:100]],
        )
    return list(dict.fromkeys([*ids, *(by_ref[r] for r in wanted_refs)]))


@dataclass(frozen=True, slots=True)
class MembersAdded:
    added: int
    already: int


def add_members(
    session: Session,
    organization_id: uuid.UUID,
    campaign_id: uuid.UUID,
    entity_ids: Sequence[uuid.UUID],
    *,
    status: str = "invited",
    touched_at: datetime | None = None,
) -> MembersAdded:
    """Add entities (already resolved, see ``resolve_entities``) as members; an entity that
    is a member already keeps its status and touch."""
    campaign = get_campaign(session, organization_id, campaign_id)
    if status not in MEMBER_STATUSES:
        raise InvalidMemberStatus(f"status: one of {', '.join(MEMBER_STATUSES)}")
    now = utcnow()
    touched_at = touched_at or now
    if touched_at.tzinfo is None:
        raise InvalidInput("touched_at needs a UTC offset")
    if touched_at > now + crm_service.FUTURE_TOLERANCE:
        raise InvalidInput("touched_at: the invitation cannot lie in the future")
    wanted = list(dict.fromkeys(entity_ids))
    existing = set(
        session.scalars(
            select(CrmCampaignMember.entity_id).where(
                CrmCampaignMember.campaign_id == campaign.id,
                CrmCampaignMember.entity_id.in_(wanted),
            )
        )
        if wanted
        else ()
    )
    new = [e for e in wanted if e not in existing]
    session.add_all(
        CrmCampaignMember(
            campaign_id=campaign.id,
            entity_id=e,
            status=status,
            touched_at=touched_at,
            updated_at=now,
        )
        for e in new
    )
    session.flush()
    return MembersAdded(added=len(new), already=len(wanted) - len(new))


def set_member_status(
    session: Session,
    organization_id: uuid.UUID,
    campaign_id: uuid.UUID,
    entity_ids: Sequence[uuid.UUID],
    status: str,
) -> int:
    """Move members to ``status`` — all or none: an entity that is not a member, or whose
    status may not move to ``status``, refuses the whole call.  Returns how many changed."""
    campaign = get_campaign(session, organization_id, campaign_id)
    if status not in MEMBER_STATUSES:
        raise InvalidMemberStatus(f"status: one of {', '.join(MEMBER_STATUSES)}")
    wanted = list(dict.fromkeys(entity_ids))
    if not wanted:
        return 0
    current = dict(
        session.execute(
            select(CrmCampaignMember.entity_id, CrmCampaignMember.status).where(
                CrmCampaignMember.campaign_id == campaign.id,
                CrmCampaignMember.entity_id.in_(wanted),
            )
        ).all()
    )
    not_members = [str(e) for e in wanted if e not in current]
    if not_members:
        raise EntityNotFound(
            "not a member of the campaign: " + ", ".join(not_members[:20]),
            errors=[{"entity": e} for e in not_members[:100]],
        )
    refused = {str(e): current[e] for e in wanted if not status_allowed(current[e], status)}
    if refused:
        raise InvalidMemberStatus(
            f"a member cannot move back or sideways to {status} "
            "(invited → registered → attended | no_show → followed_up)",
            errors=[{"entity": e, "status": s, "to": status} for e, s in refused.items()],
        )
    changing = [e for e in wanted if current[e] != status]
    if changing:
        session.execute(
            update(CrmCampaignMember)
            .where(
                CrmCampaignMember.campaign_id == campaign.id,
                CrmCampaignMember.entity_id.in_(changing),
            )
            .values(status=status, updated_at=utcnow())
        )
    session.flush()
    return len(changing)


@dataclass(frozen=True, slots=True)
class MemberRow:
    entity_id: uuid.UUID
    ref: str
    name: str
    has_person: bool
    status: str
    touched_at: datetime


def members(
    session: Session,
    organization_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    limit: int | None = None,
) -> list[MemberRow]:
    """The campaign's members by entity ref (the first ``limit`` when given)."""
    campaign = get_campaign(session, organization_id, campaign_id)
    query = (
        select(
            CrmEntity.id,
            CrmEntity.ref,
            CrmEntity.name,
            CrmEntity.person_id,
            CrmCampaignMember.status,
            CrmCampaignMember.touched_at,
        )
        .join(CrmEntity, CrmEntity.id == CrmCampaignMember.entity_id)
        .where(CrmCampaignMember.campaign_id == campaign.id)
        .order_by(CrmEntity.ref)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    return [
        MemberRow(r[0], r[1], r[2], r[3] is not None, r[4], r[5])  # one row per member
        for r in rows
    ]


def campaign_audience(
    session: Session,
    pseudonym_key: bytes,
    organization_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    actor: str,
    categories: Sequence[str] = contacts.DEFAULT_CATEGORIES,
    record: bool = True,
) -> contacts.Audience:
    """The members that may be contacted now for the campaign's purpose — one bulk
    decision of the consent decision point (``record=False``: a dry count, see
    ``crm.contacts``)."""
    campaign = get_campaign(session, organization_id, campaign_id)
    return contacts.decide_audience(
        session,
        pseudonym_key,
        organization_id=organization_id,
        entity_ids=select(CrmCampaignMember.entity_id).where(
            CrmCampaignMember.campaign_id == campaign.id
        ),
        actor=actor,
        purpose=campaign.purpose,
        categories=categories,
        record=record,
    )


# --- reports ---------------------------------------------------------------------------


def _check_window(window_days: int) -> None:
    if not 0 <= window_days <= MAX_WINDOW_DAYS:
        raise InvalidInput(f"window_days: between 0 and {MAX_WINDOW_DAYS}")


def _forward(model: StageModel) -> ColumnElement[bool]:
    """A transition into a main stage from nothing or from an earlier main stage."""
    positions = {key: model.position(key) for key in model.main_line}
    to_pos = case(positions, value=CrmTransition.to_stage, else_=None)
    from_pos = case(positions, value=CrmTransition.from_stage, else_=None)
    return and_(
        to_pos.is_not(None),
        or_(
            CrmTransition.from_stage.is_(None),
            and_(from_pos.is_not(None), to_pos > from_pos),
        ),
    )


def _within(session: Session, at: Any, touched: Any, days: int) -> ColumnElement[bool]:
    """``touched ≤ at ≤ touched + days`` in the database's own date arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        return and_(
            at >= touched,
            func.julianday(at) <= func.julianday(touched) + literal(days),
        )
    return and_(at >= touched, at <= touched + func.make_interval(0, 0, 0, days))


def _credited(
    session: Session, organization_id: uuid.UUID, model: StageModel, window_days: int
) -> Select[Any]:
    """(campaign_id, transition_id, entity_id, to_stage, explicit) for every credit."""
    forward = _forward(model)
    by_window = (
        select(
            CrmCampaignMember.campaign_id.label("campaign_id"),
            CrmTransition.id.label("transition_id"),
            CrmTransition.entity_id.label("entity_id"),
            CrmTransition.to_stage.label("to_stage"),
            literal(0).label("explicit"),
        )
        .join(CrmTransition, CrmTransition.entity_id == CrmCampaignMember.entity_id)
        .join(CrmCampaign, CrmCampaign.id == CrmCampaignMember.campaign_id)
        .where(
            CrmCampaign.organization_id == organization_id,
            CrmTransition.organization_id == organization_id,
            CrmTransition.campaign_id.is_(None),
            forward,
            _within(session, CrmTransition.at, CrmCampaignMember.touched_at, window_days),
        )
    )
    named = (
        select(
            CrmTransition.campaign_id.label("campaign_id"),
            CrmTransition.id.label("transition_id"),
            CrmTransition.entity_id.label("entity_id"),
            CrmTransition.to_stage.label("to_stage"),
            literal(1).label("explicit"),
        )
        .join(CrmCampaign, CrmCampaign.id == CrmTransition.campaign_id)
        .where(
            CrmCampaign.organization_id == organization_id,
            CrmTransition.organization_id == organization_id,
            forward,
        )
    )
    return union_all(by_window, named)  # type: ignore[return-value]


# --- the credit, kept while what it reads stays the same ---------------------------------

_MEMO_SIZE = 32
#: (database, organization, what, window, model) → (fingerprint, answer)
_memo: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = OrderedDict()
_memo_lock = threading.Lock()


def _credit_fingerprint(session: Session, organization_id: uuid.UUID) -> tuple[Any, ...]:
    """What the credit reads, in three cheap queries: the count and latest ``recorded_at``
    of the organization's transitions (they are only appended; deleting a campaign, which
    clears their attribution, changes the campaigns), the count and latest ``updated_at``
    of its campaigns' members (``touched_at`` never changes; a new member is the latest
    write), and every campaign's id and channel."""
    transitions = session.execute(
        select(func.count(), func.max(CrmTransition.recorded_at)).where(
            CrmTransition.organization_id == organization_id
        )
    ).one()
    members = session.execute(
        select(func.count(), func.max(CrmCampaignMember.updated_at))
        .join(CrmCampaign, CrmCampaign.id == CrmCampaignMember.campaign_id)
        .where(CrmCampaign.organization_id == organization_id)
    ).one()
    campaigns = session.execute(
        select(CrmCampaign.id, CrmCampaign.channel)
        .where(CrmCampaign.organization_id == organization_id)
        .order_by(CrmCampaign.id)
    ).all()
    return (tuple(transitions), tuple(members), tuple(tuple(c) for c in campaigns))


def _remembered(
    session: Session,
    organization_id: uuid.UUID,
    key: tuple[Any, ...],
    compute: Callable[[], Any],
) -> Any:
    """``compute()``, or its earlier answer for ``key`` while the credit's inputs are the
    same (the credit joins every member with every transition of its entity: hundreds of
    milliseconds on a large organization)."""
    fingerprint = _credit_fingerprint(session, organization_id)
    full_key = (str(session.get_bind().engine.url), organization_id, *key)
    with _memo_lock:
        hit = _memo.get(full_key)
        if hit is not None and hit[0] == fingerprint:
            _memo.move_to_end(full_key)
            return copy.deepcopy(hit[1])
    answer = compute()
    with _memo_lock:
        _memo[full_key] = (fingerprint, copy.deepcopy(answer))
        _memo.move_to_end(full_key)
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return answer


def _credited_totals(
    session: Session, organization_id: uuid.UUID, model: StageModel, window_days: int
) -> dict[uuid.UUID, tuple[int, int, int]]:
    """campaign id → (credited moves, entities moved, explicitly attributed moves)."""
    credited = _credited(session, organization_id, model, window_days).subquery()
    rows = session.execute(
        select(
            credited.c.campaign_id,
            func.count(),
            func.count(func.distinct(credited.c.entity_id)),
            func.sum(credited.c.explicit),
        ).group_by(credited.c.campaign_id)
    ).all()
    return {row[0]: (int(row[1]), int(row[2]), int(row[3] or 0)) for row in rows}


@dataclass(frozen=True, slots=True)
class CampaignReport:
    campaign_id: uuid.UUID
    name: str
    channel: str
    starts_on: date
    ends_on: date | None
    cost: int
    purpose: str
    members: int
    by_status: dict[str, int]
    forward_moves: int
    entities_moved: int
    attributed_moves: int
    window_days: int

    @property
    def cost_per_forward_move(self) -> int | None:
        """Yen per credited forward move, rounded; ``None`` when nothing moved."""
        if not self.forward_moves:
            return None
        return round(self.cost / self.forward_moves)

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": str(self.campaign_id),
            "name": self.name,
            "channel": self.channel,
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
            "cost": self.cost,
            "purpose": self.purpose,
            "members": self.members,
            "by_status": self.by_status,
            "forward_moves": self.forward_moves,
            "entities_moved": self.entities_moved,
            "attributed_moves": self.attributed_moves,
            "cost_per_forward_move": self.cost_per_forward_move,
            "window_days": self.window_days,
        }


def campaign_reports(
    session: Session,
    organization_id: uuid.UUID,
    *,
    campaign_ids: Sequence[uuid.UUID] | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    model: StageModel | None = None,
) -> list[CampaignReport]:
    """The report of each of the organization's campaigns (or of ``campaign_ids``)."""
    _check_window(window_days)
    model = model or crm_service.load_model(session, organization_id)
    totals: dict[uuid.UUID, tuple[int, int, int]] = _remembered(
        session,
        organization_id,
        ("totals", window_days, model),
        lambda: _credited_totals(session, organization_id, model, window_days),
    )
    status_counts = [
        func.count(case((CrmCampaignMember.status == s, 1), else_=None)).label(s)
        for s in MEMBER_STATUSES
    ]
    statuses = (
        select(
            CrmCampaignMember.campaign_id,
            func.count().label("members"),
            *status_counts,
        )
        .group_by(CrmCampaignMember.campaign_id)
        .subquery()
    )
    query = (
        select(
            CrmCampaign,
            func.coalesce(statuses.c.members, 0),
            *(func.coalesce(statuses.c[s], 0) for s in MEMBER_STATUSES),
        )
        .outerjoin(statuses, statuses.c.campaign_id == CrmCampaign.id)
        .where(CrmCampaign.organization_id == organization_id)
        .order_by(CrmCampaign.starts_on.desc(), CrmCampaign.name)
    )
    if campaign_ids is not None:
        query = query.where(CrmCampaign.id.in_(list(campaign_ids)))
    return [
        CampaignReport(
            campaign_id=row[0].id,
            name=row[0].name,
            channel=row[0].channel,
            starts_on=row[0].starts_on,
            ends_on=row[0].ends_on,
            cost=row[0].cost,
            purpose=row[0].purpose,
            members=int(row[1]),
            by_status={s: int(row[2 + i]) for i, s in enumerate(MEMBER_STATUSES)},
            forward_moves=totals.get(row[0].id, (0, 0, 0))[0],
            entities_moved=totals.get(row[0].id, (0, 0, 0))[1],
            attributed_moves=totals.get(row[0].id, (0, 0, 0))[2],
            window_days=window_days,
        )
        for row in session.execute(query).all()
    ]


def campaign_report(
    session: Session,
    organization_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> CampaignReport:
    get_campaign(session, organization_id, campaign_id)
    (report,) = campaign_reports(
        session, organization_id, campaign_ids=[campaign_id], window_days=window_days
    )
    return report


@dataclass(frozen=True, slots=True)
class ChannelMap:
    """Forward moves into each stage credited to each channel (absent pairs are 0)."""

    channels: tuple[str, ...]
    stages: tuple[str, ...]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    window_days: int = DEFAULT_WINDOW_DAYS

    def count(self, channel: str, stage: str) -> int:
        return self.counts.get(channel, {}).get(stage, 0)

    def as_json(self) -> dict[str, Any]:
        return {
            "channels": list(self.channels),
            "stages": list(self.stages),
            "counts": self.counts,
            "window_days": self.window_days,
        }


def channel_map(
    session: Session,
    organization_id: uuid.UUID,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    model: StageModel | None = None,
) -> ChannelMap:
    """The channel × stage map of forward moves (each move once per channel)."""
    _check_window(window_days)
    model = model or crm_service.load_model(session, organization_id)
    counts: dict[str, dict[str, int]] = _remembered(
        session,
        organization_id,
        ("channels", window_days, model),
        lambda: _channel_counts(session, organization_id, model, window_days),
    )
    return ChannelMap(
        channels=CHANNELS, stages=model.main_line, counts=counts, window_days=window_days
    )


def _channel_counts(
    session: Session, organization_id: uuid.UUID, model: StageModel, window_days: int
) -> dict[str, dict[str, int]]:
    credited = _credited(session, organization_id, model, window_days).subquery()
    pairs = (
        select(CrmCampaign.channel, credited.c.transition_id, credited.c.to_stage)
        .join(CrmCampaign, CrmCampaign.id == credited.c.campaign_id)
        .distinct()
        .subquery()
    )
    rows = session.execute(
        select(pairs.c.channel, pairs.c.to_stage, func.count()).group_by(
            pairs.c.channel, pairs.c.to_stage
        )
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for channel, stage, n in rows:  # one row per (channel, stage): at most 6 × stages
        counts.setdefault(channel, {})[stage] = int(n)
    return counts


__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "STATUS_RANK",
    "CampaignReport",
    "ChannelMap",
    "InvalidMemberStatus",
    "MemberRow",
    "MembersAdded",
    "add_members",
    "campaign_audience",
    "campaign_report",
    "campaign_reports",
    "channel_map",
    "create_campaign",
    "delete_campaign",
    "get_campaign",
    "list_campaigns",
    "members",
    "resolve_entities",
    "set_member_status",
    "update_campaign",
]
