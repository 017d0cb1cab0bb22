"""Activities of entities and the automatic stage rules on them.

An activity is something an entity did — clicked a targeted mail, visited the site, asked
for material, inquired, set an appointment … (``CrmActivity``).  ``KINDS`` is the known
vocabulary with Japanese and English labels; other kinds are accepted when they are written
like a key (``[a-z][a-z0-9_]*``, at most 40 characters), for organizations whose own stage
model names its own kinds, and are shown as written.

**The automatic rule.**  A stage may list activity kinds in ``auto_on`` (THE MODEL:
``nurturing`` on ``mail_click``/``site_visit``, ``promising`` on
``material_request``/``inquiry``, ``qualified`` on ``appointment``).  When an activity of
such a kind is recorded, the entity moves into that stage (``rule_target``) when

- the entity has no stage yet: it starts in the rule's stage;
- or the move is *forward* along the main line and the model allows it;
- or the entity is parked in ``recycle`` and the model allows the return ("recycle returns
  to nurturing when the contact re-engages").

It never moves backwards (a click of a ``qualified`` contact changes nothing), never out of
a terminal stage, never out of ``lost`` (a lost deal goes to recycle first, by a person),
and never to a time before the entity's last move (an activity dated earlier is recorded
without a move).  The move is a transition of ``source="rule"`` and
``actor="rule:<kind>"``, credited to the activity's campaign, and the activity links it
(``transition_id``).

``record_activities`` is the bulk form (a mail tool's click export): every row is checked
first (all or nothing, row-level errors), the entities, campaigns and current stages are
read in batches of ``BATCH`` ids, the rules are applied per entity in time order, and the
activities and transitions are inserted in bulk.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.core.ids import new_id
from tsunagu.crm import service
from tsunagu.crm.errors import CampaignNotFound, StaleStage
from tsunagu.crm.models import CrmActivity, CrmCampaign, CrmEntity, CrmTransition
from tsunagu.crm.stages import StageModel

#: the known kinds: (Japanese, English) labels
KINDS: Final[dict[str, tuple[str, str]]] = {
    "mail_open": ("メール開封", "Opened a mail"),
    "mail_click": ("メールのクリック", "Clicked a mail"),
    "site_visit": ("サイト訪問", "Visited the site"),
    "content_download": ("コンテンツのダウンロード", "Downloaded content"),
    "seminar_attended": ("セミナー参加", "Attended a seminar"),
    "material_request": ("資料請求", "Asked for material"),
    "inquiry": ("問い合わせ", "Inquired"),
    "call": ("電話", "Call"),
    "appointment": ("アポイント設定", "Appointment set"),
    "meeting": ("商談", "Sales meeting"),
    "proposal": ("提案", "Proposal sent"),
    "other": ("その他", "Other"),
}
KIND_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_NOTE = 2000
#: at most this many activities in one bulk call
MAX_BULK = 10_000
#: ids per ``IN (…)`` query
BATCH = 500
RULE_REASON = "rule: {kind}"


def kind_label(kind: str, locale: str) -> str:
    """The label of a kind in ``locale`` (a kind outside ``KINDS`` is shown as written)."""
    labels = KINDS.get(kind)
    if labels is None:
        return kind
    return labels[0] if locale == "ja" else labels[1]


def check_kind(kind: str) -> str:
    kind = kind.strip()
    if not KIND_PATTERN.match(kind):
        raise InvalidInput(
            f"an activity kind is written like mail_click (got {kind!r})",
            errors=[{"field": "kind", "message": "lower-case letters, digits and _"}],
        )
    return kind


def rule_target(model: StageModel, from_stage: str | None, kind: str) -> str | None:
    """The stage an activity of ``kind`` moves an entity in ``from_stage`` into, or ``None``.

    Among the stages whose ``auto_on`` names the kind, the furthest one on the main line
    that the rule may reach wins (see the module's rules)."""
    candidates = sorted(
        (s for s in model.stages if kind in s.auto_on and not s.terminal),
        key=lambda s: -1 if s.position is None else s.position,
        reverse=True,
    )
    if from_stage is None:
        return candidates[0].key if candidates else None
    if from_stage not in model:
        return None
    here = model.stage(from_stage)
    if here.terminal:
        return None
    returning = here.role == "recycle"
    for target in candidates:
        if target.key == from_stage or not model.allows(from_stage, target.key):
            continue
        forward = (
            here.position is not None
            and target.position is not None
            and target.position > here.position
        )
        if forward or (returning and target.position is not None):
            return target.key
    return None


def _check_when(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput(
            "the time of an activity needs a UTC offset",
            errors=[{"field": "at", "message": "ISO 8601 with an offset"}],
        )
    service.check_time(at)
    if at > now + service.FUTURE_TOLERANCE:
        raise InvalidInput(
            "an activity cannot be dated in the future",
            errors=[{"field": "at", "message": "in the future"}],
        )
    return at


def _check_note(note: str) -> str:
    text = note.strip()
    service.check_text(text)
    if len(text) > MAX_NOTE:
        raise InvalidInput(
            f"a note has at most {MAX_NOTE} characters",
            errors=[{"field": "note", "message": f"at most {MAX_NOTE} characters"}],
        )
    return text


def _check_campaign(
    session: Session, organization_id: uuid.UUID, campaign_id: uuid.UUID | None
) -> None:
    if campaign_id is None:
        return
    campaign = session.get(CrmCampaign, campaign_id)
    if campaign is None or campaign.organization_id != organization_id:
        raise CampaignNotFound(f"no campaign with id {campaign_id}")


@dataclass(frozen=True, slots=True)
class Recorded:
    """An activity and the transition its rule caused (``None`` when none)."""

    activity: CrmActivity
    transition: CrmTransition | None


def record_activity(
    session: Session,
    organization_id: uuid.UUID,
    entity_id: uuid.UUID,
    *,
    kind: str,
    at: datetime | None = None,
    campaign_id: uuid.UUID | None = None,
    note: str = "",
    model: StageModel | None = None,
) -> Recorded:
    """Record one activity and apply the automatic rule (a move through ``service.move``)."""
    service.get_entity(session, organization_id, entity_id)
    kind = check_kind(kind)
    at = _check_when(at, utcnow())
    text = _check_note(note)
    _check_campaign(session, organization_id, campaign_id)
    model = model or service.load_model(session, organization_id)
    here = service.current(session, entity_id)
    from_stage = here.stage if here else None
    target = rule_target(model, from_stage, kind)
    transition = None
    if target is not None and (here is None or at >= here.at):
        transition = service.move(
            session,
            organization_id,
            entity_id,
            target,
            actor=f"rule:{kind}",
            source="rule",
            at=at,
            reason=RULE_REASON.format(kind=kind),
            campaign_id=campaign_id,
            expected_from=from_stage,
            model=model,
        )
    activity = CrmActivity(
        organization_id=organization_id,
        entity_id=entity_id,
        kind=kind,
        at=at,
        campaign_id=campaign_id,
        note=text,
        transition_id=transition.id if transition else None,
    )
    session.add(activity)
    session.flush()
    return Recorded(activity, transition)


def activities_of(
    session: Session, organization_id: uuid.UUID, entity_id: uuid.UUID, *, limit: int = 200
) -> Sequence[CrmActivity]:
    """The entity's activities, newest first."""
    service.get_entity(session, organization_id, entity_id)
    return session.scalars(
        select(CrmActivity)
        .where(CrmActivity.entity_id == entity_id)
        .order_by(CrmActivity.at.desc(), CrmActivity.id)
        .limit(max(1, min(limit, 1000)))
    ).all()


# --- bulk ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityIn:
    """One row of a bulk call: the entity by id or by the organization's ref."""

    kind: str
    at: datetime
    entity_id: uuid.UUID | None = None
    entity_ref: str | None = None
    campaign_id: uuid.UUID | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Move:
    entity_id: uuid.UUID
    transition_id: uuid.UUID
    from_stage: str | None
    to_stage: str
    at: datetime
    kind: str


@dataclass(frozen=True, slots=True)
class BulkResult:
    recorded: int
    moves: list[Move]


def _batches(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(values), key=str)
    for i in range(0, len(items), BATCH):
        yield items[i : i + BATCH]


def _resolve(
    session: Session, organization_id: uuid.UUID, items: Sequence[ActivityIn]
) -> tuple[dict[uuid.UUID, uuid.UUID], dict[str, uuid.UUID], set[uuid.UUID]]:
    """The organization's entities named by id and by ref, and its campaigns named, read in
    batches."""
    by_id: dict[uuid.UUID, uuid.UUID] = {}
    by_ref: dict[str, uuid.UUID] = {}
    campaigns: set[uuid.UUID] = set()
    for batch in _batches(i.entity_id for i in items if i.entity_id is not None):
        by_id.update(
            (row, row)
            for row in session.scalars(
                select(CrmEntity.id).where(
                    CrmEntity.organization_id == organization_id, CrmEntity.id.in_(batch)
                )
            )
        )
    for batch in _batches(i.entity_ref for i in items if i.entity_ref is not None):
        by_ref.update(
            (row.ref, row.id)
            for row in session.execute(
                select(CrmEntity.ref, CrmEntity.id).where(
                    CrmEntity.organization_id == organization_id, CrmEntity.ref.in_(batch)
                )
            )
        )
    for batch in _batches(i.campaign_id for i in items if i.campaign_id is not None):
        campaigns.update(
            session.scalars(
                select(CrmCampaign.id).where(
                    CrmCampaign.organization_id == organization_id, CrmCampaign.id.in_(batch)
                )
            )
        )
    return by_id, by_ref, campaigns


def _positions(
    session: Session, organization_id: uuid.UUID, entity_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, service.Position]:
    sub = service.current_stages_query(organization_id).subquery()
    found: dict[uuid.UUID, service.Position] = {}
    for batch in _batches(entity_ids):
        rows = session.execute(
            select(sub.c.entity_id, sub.c.stage, sub.c.seq, sub.c.at).where(
                sub.c.entity_id.in_(batch)
            )
        )
        found.update((r.entity_id, service.Position(r.stage, r.seq, r.at)) for r in rows)
    return found


def record_activities(
    session: Session,
    organization_id: uuid.UUID,
    items: Sequence[ActivityIn],
    *,
    model: StageModel | None = None,
) -> BulkResult:
    """Record many activities and apply the rules (all or nothing; see the module)."""
    if not items:
        raise InvalidInput("no activities given")
    if len(items) > MAX_BULK:
        raise InvalidInput(f"at most {MAX_BULK} activities in one call")
    now = utcnow()
    by_id, by_ref, campaigns = _resolve(session, organization_id, items)
    errors: list[dict[str, Any]] = []
    rows: list[tuple[uuid.UUID, datetime, int, str, ActivityIn, str]] = []
    for index, item in enumerate(items):
        try:
            kind = check_kind(item.kind)
            at = _check_when(item.at, now)
            note = _check_note(item.note)
        except InvalidInput as exc:
            errors.append({"row": index, "message": exc.message})
            continue
        if (item.entity_id is None) == (item.entity_ref is None):
            errors.append({"row": index, "message": "give entity_id or entity_ref"})
            continue
        entity = (
            by_id.get(item.entity_id)
            if item.entity_id is not None
            else by_ref.get(item.entity_ref or "")
        )
        if entity is None:
            errors.append({"row": index, "message": "no such entity"})
            continue
        if item.campaign_id is not None and item.campaign_id not in campaigns:
            errors.append({"row": index, "message": "no such campaign"})
            continue
        rows.append((entity, at, index, kind, item, note))
    if errors:
        raise InvalidInput(
            f"{len(errors)} of {len(items)} activities are invalid; nothing was recorded",
            errors=errors,
        )
    model = model or service.load_model(session, organization_id)
    positions = _positions(session, organization_id, (r[0] for r in rows))
    transitions: list[dict[str, Any]] = []
    activities: list[dict[str, Any]] = []
    moves: list[Move] = []
    rows.sort(key=lambda r: (str(r[0]), r[1], r[2]))
    for entity_id, at, _index, kind, item, note in rows:
        here = positions.get(entity_id)
        from_stage = here.stage if here else None
        target = rule_target(model, from_stage, kind)
        transition_id: uuid.UUID | None = None
        if target is not None and (here is None or at >= here.at):
            reason = RULE_REASON.format(kind=kind)
            service.check_move(model, from_stage, target, reason=reason, source="rule")
            transition_id = new_id()
            seq = (here.seq if here else 0) + 1
            transitions.append(
                {
                    "id": transition_id,
                    "organization_id": organization_id,
                    "entity_id": entity_id,
                    "seq": seq,
                    "from_stage": from_stage,
                    "to_stage": target,
                    "at": at,
                    "actor": f"rule:{kind}",
                    "reason": reason,
                    "amount": None,
                    "source": "rule",
                    "campaign_id": item.campaign_id,
                    "recorded_at": now,
                }
            )
            moves.append(Move(entity_id, transition_id, from_stage, target, at, kind))
            positions[entity_id] = service.Position(target, seq, at)
        activities.append(
            {
                "id": new_id(),
                "organization_id": organization_id,
                "entity_id": entity_id,
                "kind": kind,
                "at": at,
                "campaign_id": item.campaign_id,
                "note": note,
                "transition_id": transition_id,
            }
        )
    try:
        if transitions:
            session.execute(insert(CrmTransition), transitions)
        session.execute(insert(CrmActivity), activities)
        session.flush()
    except IntegrityError as exc:
        raise StaleStage("entities were moved at the same time; look again and retry") from exc
    return BulkResult(recorded=len(activities), moves=moves)
