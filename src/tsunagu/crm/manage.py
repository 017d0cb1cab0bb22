"""Use cases the API and the CLI add beside ``service``: pages of entities and of transitions,
changing an entity's details, conversion targets, and the stage model as plain data.

Like ``service``, every function takes the session first, sees one organization only, and
flushes without committing.  Pages of entities use ``limit``/``offset``; the export of
transitions uses a keyset cursor on ``(at, id)`` so that rows arriving while a client pages
never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput
from tsunagu.crm.errors import CampaignNotFound
from tsunagu.crm.models import CrmCampaign, CrmEntity, CrmTarget, CrmTransition
from tsunagu.crm.service import (
    current_stages_query,
    load_model,
    organization_timezone,
    save_model,
)
from tsunagu.crm.stages import Stage, StageModel, model_from_rows
from tsunagu.identity.service import find_membership

SEGMENTS = ("industry", "size", "channel", "region")

SKIP_RULE_JA = (
    "本線（リード→…→更新）で段階を飛ばす前進、および最初の段階より先から始まるエンティティは"
    "ファストパスとして数えます。"
)
SKIP_RULE_EN = (
    "A forward move along the main line that skips a stage, and an entity whose first stage "
    "is past the first, is a fast pass."
)


# --- entities --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntityRow:
    entity: CrmEntity
    stage: str | None
    stage_since: datetime | None


def list_entities(
    session: Session,
    organization_id: uuid.UUID,
    *,
    stage: str | None = None,
    ref: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[EntityRow]:
    """The organization's entities with their current stage, in ref order (``stage``:
    only those in it now; ``ref``: the one with that ref)."""
    cur = current_stages_query(organization_id).subquery()
    query = (
        select(CrmEntity, cur.c.stage, cur.c.at)
        .outerjoin(cur, cur.c.entity_id == CrmEntity.id)
        .where(CrmEntity.organization_id == organization_id)
        .order_by(CrmEntity.ref)
        .limit(limit)
        .offset(offset)
    )
    if stage is not None:
        query = query.where(cur.c.stage == stage)
    if ref is not None:
        query = query.where(CrmEntity.ref == ref)
    return [EntityRow(entity, st, at) for entity, st, at in session.execute(query).all()]


_UNSET: Any = object()


def update_entity(
    session: Session,
    entity: CrmEntity,
    *,
    segments: dict[str, str | None] | None = None,
    amount: Any = _UNSET,
    close_date: Any = _UNSET,
    owner_user_id: Any = _UNSET,
) -> CrmEntity:
    """Change the details of ``entity`` (its stage only ever changes by a transition)."""
    if segments is not None:
        for key, value in segments.items():
            if key not in SEGMENTS:
                raise InvalidInput(f"unknown segment {key!r}")
            setattr(entity, key, value or None)
    if amount is not _UNSET:
        if amount is not None and amount < 0:
            raise InvalidInput("amount must not be negative")
        entity.amount = amount
    if close_date is not _UNSET:
        entity.close_date = close_date
    if owner_user_id is not _UNSET:
        check_owner(session, entity.organization_id, owner_user_id)
        entity.owner_user_id = owner_user_id
    session.flush()
    return entity


def check_owner(session: Session, organization_id: uuid.UUID, user_id: uuid.UUID | None) -> None:
    """An owner must be staff of the organization (any other id reads as unknown)."""
    if user_id is not None and find_membership(session, organization_id, user_id) is None:
        raise InvalidInput(f"no staff member with id {user_id} in this organization")


def check_campaign(
    session: Session, organization_id: uuid.UUID, campaign_id: uuid.UUID | None
) -> None:
    """A campaign credited with a move must be the organization's own."""
    if campaign_id is None:
        return
    campaign = session.get(CrmCampaign, campaign_id)
    if campaign is None or campaign.organization_id != organization_id:
        raise CampaignNotFound(f"no campaign with id {campaign_id}")


# --- the export of transitions -----------------------------------------------------------


def encode_cursor(at: datetime, transition_id: uuid.UUID) -> str:
    raw = f"{at.isoformat()}|{transition_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, _, id_text = raw.partition("|")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError(at_text)
        return at.astimezone(UTC), uuid.UUID(id_text)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("the cursor is not one this API gave out") from None


def export_transitions(
    session: Session,
    organization_id: uuid.UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 1000,
) -> Sequence[tuple[CrmTransition, str]]:
    """Transitions with ``since <= at < until``, in (at, id) order after the cursor, with
    the ref of their entity."""
    query = (
        select(CrmTransition, CrmEntity.ref)
        .join(CrmEntity, CrmEntity.id == CrmTransition.entity_id)
        .where(CrmTransition.organization_id == organization_id)
        .order_by(CrmTransition.at, CrmTransition.id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(CrmTransition.at >= since)
    if until is not None:
        query = query.where(CrmTransition.at < until)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(
                CrmTransition.at > at,
                and_(CrmTransition.at == at, CrmTransition.id > last_id),
            )
        )
    return [(t, ref) for t, ref in session.execute(query).all()]


#: the columns of the transitions CSV, in the order the import reads them
CSV_COLUMNS = ("entity_id", "from_stage", "to_stage", "at", "amount")


def transitions_csv(
    session: Session,
    organization_id: uuid.UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[str, int]:
    """The transitions as the CSV ``import_transitions`` reads (UTF-8 with BOM, times with
    the organization's offset), and how many rows it has: exporting from one organization
    and importing into another gives the same history."""
    zone = ZoneInfo(organization_timezone(session, organization_id))
    query = (
        select(
            CrmEntity.ref,
            CrmTransition.from_stage,
            CrmTransition.to_stage,
            CrmTransition.at,
            CrmTransition.amount,
        )
        .join(CrmEntity, CrmEntity.id == CrmTransition.entity_id)
        .where(CrmTransition.organization_id == organization_id)
        .order_by(CrmTransition.at, CrmEntity.ref, CrmTransition.seq)
    )
    if since is not None:
        query = query.where(CrmTransition.at >= since)
    if until is not None:
        query = query.where(CrmTransition.at < until)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads the Japanese text right only with a BOM
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for rows in session.execute(query.execution_options(yield_per=10_000)).partitions():
        writer.writerows(
            (ref, a or "", b, at.astimezone(zone).isoformat(), "" if amount is None else amount)
            for ref, a, b, at, amount in rows
        )
        count += len(rows)
    return out.getvalue(), count


# --- targets -----------------------------------------------------------------------------


def load_targets(session: Session, organization_id: uuid.UUID) -> dict[tuple[str, str], float]:
    """The organization's conversion targets by (from, to) step."""
    rows = session.execute(
        select(CrmTarget.from_stage, CrmTarget.to_stage, CrmTarget.rate)
        .where(CrmTarget.organization_id == organization_id)
        .order_by(CrmTarget.from_stage, CrmTarget.to_stage)
    ).all()
    return {(a, b): float(rate) for a, b, rate in rows}


def save_targets(
    session: Session, organization_id: uuid.UUID, targets: Iterable[tuple[str, str, float]]
) -> dict[tuple[str, str], float]:
    """Replace the targets; each names two main stages of the model, the second later."""
    model = load_model(session, organization_id)
    main = model.main_line
    wanted: dict[tuple[str, str], float] = {}
    for a, b, rate in targets:
        if a not in main or b not in main:
            raise InvalidInput(f"a target needs two main-line stages, not {a} → {b}")
        if main.index(b) <= main.index(a):
            raise InvalidInput(f"a target's step goes forward: {a} → {b} does not")
        if not 0 <= rate <= 1:
            raise InvalidInput(f"a target rate lies in [0, 1], not {rate}")
        if (a, b) in wanted:
            raise InvalidInput(f"the step {a} → {b} has two targets")
        wanted[(a, b)] = rate
    session.execute(delete(CrmTarget).where(CrmTarget.organization_id == organization_id))
    session.add_all(
        CrmTarget(organization_id=organization_id, from_stage=a, to_stage=b, rate=rate)
        for (a, b), rate in wanted.items()
    )
    session.flush()
    return wanted


# --- the stage model as data -------------------------------------------------------------


def model_as_data(model: StageModel) -> dict[str, Any]:
    """The model as JSON-ready data: stages, main line, side moves, every allowed move."""
    keys = model.keys
    allowed = {"": [b for b in keys if model.allows(None, b)]}
    for a in keys:
        allowed[a] = [b for b in keys if model.allows(a, b)]
    return {
        "stages": [
            {
                "key": s.key,
                "department": s.department,
                "label_ja": s.label_ja,
                "label_en": s.label_en,
                "position": s.position,
                "role": s.role,
                "terminal": s.terminal,
                "criterion_ja": s.criterion_ja,
                "criterion_en": s.criterion_en,
                "auto_on": list(s.auto_on),
            }
            for s in sorted(model.stages, key=_main_first)
        ],
        "main_line": list(model.main_line),
        "moves": [{"from": a, "to": b} for a, b in sorted(model.extra_moves)],
        "allowed": allowed,
        "fast_pass_rule_ja": SKIP_RULE_JA,
        "fast_pass_rule_en": SKIP_RULE_EN,
    }


def _main_first(stage: Stage) -> tuple[int, int]:
    return (0, stage.position) if stage.position is not None else (1, 0)


def replace_model(
    session: Session,
    organization_id: uuid.UUID,
    stages: Sequence[Stage],
    moves: Iterable[tuple[str, str]] | None,
) -> StageModel:
    """Validate a model given as stages (and side moves, or THE MODEL's by role) and make it
    the organization's, dropping the targets of steps it no longer has; a model that does
    not hold together is ``InvalidInput``."""
    try:
        model = model_from_rows(stages, None if moves is None else list(moves))
    except (KeyError, IndexError) as exc:
        raise InvalidInput(
            f"the model lacks a stage THE MODEL's moves need (role {exc}): give every role "
            "won, lost, churned, renewal, recycle, dead_end to one stage, or list the moves"
        ) from None
    except ValueError as exc:
        raise InvalidInput(f"the stage model is not valid: {exc}") from None
    save_model(session, organization_id, model)
    # a target whose step the new model no longer has would name stages nobody can enter
    main = model.main_line
    for a, b in load_targets(session, organization_id):
        if a not in main or b not in main or main.index(b) <= main.index(a):
            session.execute(
                delete(CrmTarget).where(
                    CrmTarget.organization_id == organization_id,
                    CrmTarget.from_stage == a,
                    CrmTarget.to_stage == b,
                )
            )
    session.flush()
    return model


__all__ = [
    "EntityRow",
    "check_campaign",
    "check_owner",
    "decode_cursor",
    "encode_cursor",
    "export_transitions",
    "list_entities",
    "load_targets",
    "model_as_data",
    "replace_model",
    "save_targets",
    "transitions_csv",
    "update_entity",
]
