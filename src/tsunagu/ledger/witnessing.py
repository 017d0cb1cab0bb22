"""Witness-facing use cases of the ledger, on top of ``service``: registering a witness for
an organization, what each witness last cosigned, the confirmed checkpoint, signed alarms.

What must stay true:

- a witness name belongs to the organization that registered it first: another
  organization can never replace its key (that would let it cosign in the witness's name);
- an alarm is stored only when it carries a valid Ed25519 signature, by a registered and
  active witness's key, over the exact UTF-8 bytes of its detail;
- "confirmed" means cosigned by at least ``quorum`` distinct registered witnesses.

Like the rest of the ledger this module imports only ``core``; organizations are ids here.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.core.errors import AppError, Conflict
from tsunagu.ledger import service
from tsunagu.ledger.errors import CosignatureRejected
from tsunagu.ledger.models import LedgerAlarm, LedgerCheckpoint, LedgerCosignature, LedgerWitness
from tsunagu.ledger.note import NoteError, Verifier, alarm_message

#: the widths of ``ledger_witnesses.name`` and ``ledger_alarms.source``
MAX_WITNESS_NAME = 200
MAX_VKEY = 400
ALARM_SOURCE_PREFIX = "witness:"


class WitnessNameTaken(Conflict):
    code = "witness_name_taken"


class AlarmRejected(AppError):
    status_code = 422
    code = "alarm_rejected"
    title = "Alarm rejected"


@dataclass(frozen=True, slots=True)
class WitnessActivity:
    """A registered witness and the largest checkpoint it cosigned, if any."""

    name: str
    vkey: str
    active: bool
    organization_id: uuid.UUID | None
    registered_at: datetime
    last_cosigned_size: int | None
    last_cosigned_at: datetime | None


def parse_witness_key(vkey: str) -> Verifier:
    """The witness verifier key ``vkey``, refused unless it could name a witness here."""
    if len(vkey.strip()) > MAX_VKEY:
        raise CosignatureRejected(f"a witness key is at most {MAX_VKEY} characters")
    try:
        verifier = Verifier.from_vkey(vkey)
    except NoteError as exc:
        raise CosignatureRejected(f"not a witness key: {exc}") from exc
    name = verifier.name
    # the name becomes a signature line's second word: no spaces, no control characters
    if not name or len(name) > MAX_WITNESS_NAME or not name.isprintable() or " " in name:
        raise CosignatureRejected(
            f"a witness name is 1 to {MAX_WITNESS_NAME} printable characters without spaces"
        )
    return verifier


def register_witness_for(
    session: Session, vkey: str, organization_id: uuid.UUID
) -> tuple[LedgerWitness, bool]:
    """Register (or re-key) the witness of ``vkey`` for an organization.

    Returns the witness and whether it is new.  A name already registered by another
    organization raises ``WitnessNameTaken``.
    """
    verifier = parse_witness_key(vkey)
    existing = session.scalar(select(LedgerWitness).where(LedgerWitness.name == verifier.name))
    if existing is not None and existing.organization_id != organization_id:
        raise WitnessNameTaken(f"the witness name {verifier.name!r} is taken")
    witness = service.register_witness(session, vkey, organization_id=organization_id)
    return witness, existing is None


def witness_activity(session: Session) -> list[WitnessActivity]:
    """Every registered witness with what it last cosigned, by name."""
    latest = (
        select(
            LedgerCosignature.witness_id,
            func.max(LedgerCheckpoint.size).label("size"),
        )
        .join(LedgerCheckpoint, LedgerCheckpoint.id == LedgerCosignature.checkpoint_id)
        .group_by(LedgerCosignature.witness_id)
        .subquery()
    )
    received = (
        select(LedgerCosignature.witness_id, LedgerCheckpoint.size, LedgerCosignature.created_at)
        .join(LedgerCheckpoint, LedgerCheckpoint.id == LedgerCosignature.checkpoint_id)
        .join(
            latest,
            (latest.c.witness_id == LedgerCosignature.witness_id)
            & (latest.c.size == LedgerCheckpoint.size),
        )
    )
    last = {witness_id: (size, at) for witness_id, size, at in session.execute(received)}
    out: list[WitnessActivity] = []
    for witness in service.list_witnesses(session):
        size, at = last.get(witness.id, (None, None))
        out.append(
            WitnessActivity(
                name=witness.name,
                vkey=witness.vkey,
                active=witness.active,
                organization_id=witness.organization_id,
                registered_at=witness.created_at,
                last_cosigned_size=size,
                last_cosigned_at=at,
            )
        )
    return out


def confirmed_checkpoint(session: Session, quorum: int) -> LedgerCheckpoint | None:
    """The largest checkpoint cosigned by at least ``quorum`` distinct witnesses."""
    if quorum <= 0:
        return service.latest_checkpoint(session)
    cosigned = (
        select(LedgerCosignature.checkpoint_id)
        .group_by(LedgerCosignature.checkpoint_id)
        .having(func.count(func.distinct(LedgerCosignature.witness_id)) >= quorum)
    )
    return session.scalar(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.id.in_(cosigned))
        .order_by(LedgerCheckpoint.size.desc())
        .limit(1)
    )


def accept_alarm(
    session: Session, witness_name: str, detail: str, signature_b64: str
) -> LedgerAlarm:
    """Store a witness's alarm once its signature over ``detail`` verifies."""
    witness = session.scalar(select(LedgerWitness).where(LedgerWitness.name == witness_name))
    if witness is None or not witness.active:
        raise AlarmRejected("the alarm does not come from a registered, active witness")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AlarmRejected("the alarm's signature is not standard base64") from exc
    try:
        message = alarm_message(detail)
    except UnicodeEncodeError as exc:
        raise AlarmRejected("the alarm's detail is not valid Unicode text") from exc
    if "\x00" in detail:
        raise AlarmRejected("the alarm's detail may not contain NUL characters")
    verifier = Verifier.from_vkey(witness.vkey)
    if len(signature) != 64 or not verifier.verify(message, signature):
        raise AlarmRejected("the alarm's signature does not verify under the witness's key")
    return service.raise_alarm(session, ALARM_SOURCE_PREFIX + witness.name, detail)
