"""Import of transition history from CSV (``entity_id,from_stage,to_stage,at,amount``).

One row is one move of an entity: ``entity_id`` is the organization's own ref for it (a ref
not known yet creates the entity, named after its ref, in the same transaction);
``from_stage`` is empty for an entity's first event; ``at`` is ISO 8601 **with** an offset
(``2026-04-01T10:00:00+09:00``; a time without one is refused, never guessed);
``amount`` is an optional whole number of yen.

All or nothing, through ``core.imports.run_import``: the cells are checked first, then the
file as a whole against the database —

- both stages must be in the organization's stage model, and the model must allow the move
  (``service.check_move`` with ``source="import"``: a reason for ``lost`` is optional here);
- each entity's rows, in time order (file order breaking ties), must form one chain that
  starts where the entity is now — its current stage, or no stage for a new entity — each
  row moving *from* the stage the previous one moved *to*;
- no row may be dated before the entity's last existing transition, nor in the future.

Every problem is a row error (row number as Excel shows it, column, reason) and nothing is
written.  Only then are the new entities and the transitions inserted with one executemany
per batch (``insert_rows``): the existing refs and current stages are read with one indexed
query per chunk of refs, and no ORM object is made per row.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from tsunagu.core.clock import utcnow
from tsunagu.core.errors import AppError
from tsunagu.core.imports import (
    DEFAULT_MAX_BYTES,
    Column,
    ProgressCallback,
    RowError,
    ValidRow,
    bulk_ids,
    insert_rows,
    run_import,
    to_int,
)
from tsunagu.crm.errors import StaleStage
from tsunagu.crm.models import CrmEntity, CrmTransition
from tsunagu.crm.schemas import MAX_AMOUNT, in_range
from tsunagu.crm.service import FUTURE_TOLERANCE, check_move, load_model
from tsunagu.crm.stages import StageModel

#: the actor the transitions of an import name unless the caller says who imported them
IMPORT_ACTOR = "import"
_CHUNK = {"sqlite": 900}
_DEFAULT_CHUNK = 5000


# --- converters ------------------------------------------------------------------------


def to_aware_datetime(text: str) -> datetime:
    """An ISO 8601 time with a UTC offset (``Z`` or ``+09:00``); naive times are refused."""
    value = text if text.isascii() else unicodedata.normalize("NFKC", text)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time like 2026-04-01T10:00:00+09:00"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset: write it like 2026-04-01T10:00:00+09:00")
    return in_range(parsed)


def to_amount(text: str) -> int:
    """A whole, non-negative number of yen (``1,200,000`` and full-width digits accepted)."""
    value = to_int(text.removeprefix("¥").removeprefix("￥"))
    if value < 0:
        raise ValueError(f"{text!r} is negative")
    if value > MAX_AMOUNT:
        raise ValueError(f"{text!r} is larger than {MAX_AMOUNT:,}")
    return value


COLUMNS = (
    Column("entity_id", required=True, max_length=100, aliases=("ref", "エンティティID")),
    Column("from_stage", max_length=40, aliases=("遷移元",)),
    Column("to_stage", required=True, max_length=40, aliases=("遷移先",)),
    Column("at", to_aware_datetime, required=True, aliases=("日時",)),
    Column("amount", to_amount, aliases=("金額",)),
)


@dataclass(frozen=True, slots=True)
class TransitionImport:
    """What an import of transitions did."""

    imported: int
    created_entities: int
    encoding: str


@dataclass(slots=True)
class _Where:
    """An entity's place while the file's rows are replayed: its id, stage, seq and time."""

    entity_id: uuid.UUID | None
    stage: str | None
    seq: int
    at: datetime | None


def _existing(session: Session, organization_id: uuid.UUID, refs: list[str]) -> dict[str, _Where]:
    """Where each already known ref is now: one indexed query per chunk of refs."""
    last = aliased(CrmTransition)
    latest_seq = (
        select(func.max(CrmTransition.seq))
        .where(CrmTransition.entity_id == CrmEntity.id)
        .correlate(CrmEntity)
        .scalar_subquery()
    )
    size = _CHUNK.get(session.get_bind().dialect.name, _DEFAULT_CHUNK)
    found: dict[str, _Where] = {}
    for start in range(0, len(refs), size):
        chunk = refs[start : start + size]
        rows = session.execute(
            select(CrmEntity.ref, CrmEntity.id, last.to_stage, last.seq, last.at)
            .outerjoin(last, (last.entity_id == CrmEntity.id) & (last.seq == latest_seq))
            .where(CrmEntity.organization_id == organization_id, CrmEntity.ref.in_(chunk))
        ).all()
        for ref, entity_id, stage, seq, at in rows:
            found[ref] = _Where(entity_id, stage, seq or 0, at)
    return found


def _move_errors(model: StageModel) -> Any:
    """``check(from, to)`` → the reason the model refuses the move, or ``None`` (cached: a
    file has a handful of distinct moves and many rows)."""
    cache: dict[tuple[str | None, str], str | None] = {}

    def check(from_stage: str | None, to_stage: str) -> str | None:
        key = (from_stage, to_stage)
        if key not in cache:
            try:
                check_move(model, from_stage, to_stage, reason="", source="import")
                cache[key] = None
            except AppError as exc:
                cache[key] = exc.message
        return cache[key]

    return check


def import_transitions(
    session: Session,
    organization_id: uuid.UUID,
    data: bytes,
    *,
    actor: str = IMPORT_ACTOR,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: ProgressCallback | None = None,
) -> TransitionImport:
    """Import the transitions of ``data`` for the organization: every row, or none.

    Raises ``InvalidInput`` (422) listing row errors; flushes only (the caller commits).
    """
    model = load_model(session, organization_id)
    refuse = _move_errors(model)
    stage_keys = frozenset(model.keys)
    now = utcnow()
    latest_allowed = now + FUTURE_TOLERANCE
    new_refs: list[str] = []
    entity_of: dict[str, uuid.UUID] = {}

    def check(rows: list[ValidRow]) -> Iterable[RowError]:
        refs = sorted({values["entity_id"] for _, values in rows})
        places = _existing(session, organization_id, refs)
        for ref in refs:
            if ref not in places:
                places[ref] = _Where(None, None, 0, None)
        # each entity's rows in time order, the file's order breaking ties
        ordered = sorted(rows, key=lambda item: (item[1]["entity_id"], item[1]["at"], item[0]))
        broken: set[str] = set()
        for number, values in ordered:
            ref = values["entity_id"]
            to_stage, at = values["to_stage"], values["at"]
            from_stage = values.get("from_stage")
            if to_stage not in stage_keys:
                yield RowError(number, "to_stage", f"unknown stage {to_stage!r}")
                broken.add(ref)
                continue
            if from_stage is not None and from_stage not in stage_keys:
                yield RowError(number, "from_stage", f"unknown stage {from_stage!r}")
                broken.add(ref)
                continue
            if at > latest_allowed:
                yield RowError(number, "at", "lies in the future")
                broken.add(ref)
                continue
            if ref in broken:
                continue  # the chain is already broken above: one error per cause
            where = places[ref]
            if where.at is not None and at < where.at:
                yield RowError(
                    number,
                    "at",
                    f"lies before the entity's last transition ({where.at.isoformat()})",
                )
                broken.add(ref)
                continue
            if from_stage != where.stage:
                now_in = repr(where.stage) if where.stage else "no stage yet"
                given = repr(from_stage) if from_stage else "an empty from_stage"
                yield RowError(
                    number,
                    "from_stage",
                    f"the entity is in {now_in} at this point, not {given}",
                )
                broken.add(ref)
                continue
            reason = refuse(from_stage, to_stage)
            if reason is not None:
                yield RowError(number, "to_stage", reason)
                broken.add(ref)
                continue
            where.stage, where.at, where.seq = to_stage, at, where.seq + 1
            # the writer needs the seq and the entity; the values dict is the row it gets
            values["seq"] = where.seq
            values["ref"] = ref
        for ref in refs:
            known = places[ref].entity_id
            if known is None:
                new_refs.append(ref)
            else:
                entity_of[ref] = known

    created = False

    def write(batch: list[dict[str, Any]]) -> None:
        nonlocal created
        if not created:
            created = True
            rows = []
            for ref, entity_id in zip(new_refs, bulk_ids(len(new_refs)), strict=True):
                entity_of[ref] = entity_id
                rows.append(
                    {
                        "id": entity_id,
                        "organization_id": organization_id,
                        "ref": ref,
                        "name": ref,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            for start in range(0, len(rows), 10_000):
                insert_rows(session, CrmEntity.__table__, rows[start : start + 10_000])  # type: ignore[arg-type]
        ids = bulk_ids(len(batch))
        rows = [
            {
                "id": id_,
                "organization_id": organization_id,
                "entity_id": entity_of[values["ref"]],
                "seq": values["seq"],
                "from_stage": values.get("from_stage"),
                "to_stage": values["to_stage"],
                "at": values["at"],
                "actor": actor,
                "reason": "",
                "amount": values.get("amount"),
                "source": "import",
                "campaign_id": None,
                "recorded_at": now,
            }
            for values, id_ in zip(batch, ids, strict=True)
        ]
        insert_rows(session, CrmTransition.__table__, rows)  # type: ignore[arg-type]

    try:
        result = run_import(
            data,
            COLUMNS,
            write,
            check=check,
            encoding=encoding,
            max_bytes=max_bytes,
            progress=progress,
        )
        session.flush()
    except IntegrityError as exc:
        # someone moved one of the entities (or created one of the refs) meanwhile
        raise StaleStage(
            "the pipeline changed while the file was imported; nothing was written — "
            "import it again"
        ) from exc
    return TransitionImport(
        imported=result.imported, created_entities=len(new_refs), encoding=result.encoding
    )


__all__ = ["COLUMNS", "TransitionImport", "import_transitions", "to_amount", "to_aware_datetime"]
