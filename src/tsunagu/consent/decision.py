"""The policy decision point: may organization O read categories C of person P for U at t?

Every read of personal data asks ``decide`` (one person) or ``decide_many`` (a batch, up
to millions of persons, computed in one SQL statement).  The rule, deny by default:

* a consent **covers** a read when it names the reader as recipient and the read's purpose,
  it was given at or before ``t``, it had not ended (withdrawn or superseded) by ``t``, it
  had not expired by ``t``, and *every* category read is one of its categories or below one
  of them (a consent to ``contact`` covers ``contact.email``);
* one consent must cover all categories of the read — separate consents are never pooled
  into a combination nobody agreed to;
* anything else is a denial, with the reason a person can act on.

Each decision is written to the ledger (``access.allowed`` / ``access.denied``) in the
caller's transaction; a batch writes one entry per outcome that commits to the set of
persons.  A ``Decision`` is minted only here: the vault refuses any decision that was not
issued and recorded by this module (``require_recorded``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, exists, literal, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from tsunagu.consent.errors import ConsentRequired
from tsunagu.consent.models import Consent, ConsentCategory, Purpose
from tsunagu.consent.vocabulary import ancestors_or_self
from tsunagu.core.bulk import collector_paused
from tsunagu.core.clock import utcnow
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry, b64, pseudonym, pseudonym_of_bytes

#: why a read was allowed or denied (stable codes, shown to people translated)
REASONS = {
    "consent_covers": "a consent covers the recipient, the purpose and every category",
    "no_consent": "the person has not consented to this organization's use",
    "purpose_not_consented": "the person has not consented to this purpose",
    "categories_not_covered": "no single consent covers every category read",
    "withdrawn": "the person withdrew the consent",
    "expired": "the consent has expired",
    "not_yet_valid": "the consent starts later",
}

_MINTED = object()


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of the policy decision point for one person at one instant."""

    allow: bool
    reason: str
    consent_ids: tuple[uuid.UUID, ...]
    organization_id: uuid.UUID
    organization_slug: str
    person_id: uuid.UUID
    purpose: str
    categories: tuple[str, ...]
    at: datetime
    actor: str
    ledger_index: int | None = None
    _mint: object = field(default=None, repr=False, compare=False)

    @property
    def reason_text(self) -> str:
        return REASONS[self.reason]

    def covers(self, organization_id: uuid.UUID, person_id: uuid.UUID, category: str) -> bool:
        """True when this allowing decision lets the org read ``category`` of the person."""
        return (
            self.allow
            and organization_id == self.organization_id
            and person_id == self.person_id
            and any(category == c or category.startswith(c + ".") for c in self.categories)
        )


def is_genuine(decision: Decision) -> bool:
    """True for a decision this module issued (not one built by hand elsewhere)."""
    return decision._mint is _MINTED


def require_recorded(decision: Decision) -> Decision:
    """The decision, if this module issued it, it allows, and the ledger holds it."""
    if not is_genuine(decision) or decision.ledger_index is None:
        raise ConsentRequired("the read has no recorded decision of the policy point")
    if not decision.allow:
        raise ConsentRequired(decision.reason_text)
    return decision


# --- the rule in SQL -------------------------------------------------------------------


def _rule(purposes: Any, at: Any, covering_codes: Sequence[Any]) -> list[Any]:
    """THE rule as WHERE clauses: the consent row names one of ``purposes``, was in force
    at ``at``, and for each category read one of its categories is among that category's
    ``covering_codes`` (itself or an ancestor).  Values or bound parameters alike."""
    clauses: list[Any] = [
        Consent.purpose_id.in_(purposes),
        Consent.given_at <= at,
        or_(Consent.ended_at.is_(None), Consent.ended_at > at),
        or_(Consent.expires_at.is_(None), Consent.expires_at > at),
    ]
    clauses.extend(
        exists().where(
            ConsentCategory.consent_id == Consent.id, ConsentCategory.category.in_(codes)
        )
        for codes in covering_codes
    )
    return clauses


def _covering(
    purpose_ids: Sequence[uuid.UUID], categories: Sequence[str], at: datetime
) -> list[Any]:
    """The rule for literal values (the batch form)."""
    return _rule(list(purpose_ids), at, [ancestors_or_self(c) for c in sorted(set(categories))])


#: resolved purpose codes are kept this long (purposes are only ever added; a stale entry
#: can only make a decision deny, never allow)
_PURPOSE_TTL = 60.0
_purpose_cache: OrderedDict[tuple[uuid.UUID, str], tuple[float, tuple[uuid.UUID, ...]]] = (
    OrderedDict()
)
_purpose_lock = threading.Lock()


def purpose_ids(session: Session, organization_id: uuid.UUID, code: str) -> tuple[uuid.UUID, ...]:
    """The purpose rows ``code`` can mean for this recipient: its own and the default
    (empty for an unknown code).  Found ones are cached for a minute per process."""
    key = (organization_id, code)
    now = time.monotonic()
    with _purpose_lock:
        hit = _purpose_cache.get(key)
        if hit is not None and hit[0] > now:
            _purpose_cache.move_to_end(key)
            return hit[1]
    found = tuple(
        session.scalars(
            select(Purpose.id).where(
                Purpose.code == code,
                or_(Purpose.organization_id.is_(None), Purpose.organization_id == organization_id),
            )
        )
    )
    if found:
        with _purpose_lock:
            _purpose_cache[key] = (now + _PURPOSE_TTL, found)
            while len(_purpose_cache) > 4096:
                _purpose_cache.popitem(last=False)
    return found


@lru_cache(maxsize=32)
def _single_statement(categories: int) -> Select[uuid.UUID]:
    """The covering query for one person, built once per number of categories (its
    parameters: person ``p``, recipient ``r``, purposes ``u``, instant ``t``, ``a0`` …
    the codes that cover each category read)."""
    at = bindparam("t", type_=Consent.given_at.type)
    codes: list[Any] = [bindparam(f"a{i}", expanding=True) for i in range(categories)]
    clauses = [
        Consent.person_id == bindparam("p"),
        Consent.recipient_id == bindparam("r"),
        *_rule(bindparam("u", expanding=True), at, codes),
    ]
    return select(Consent.id).where(*clauses).order_by(Consent.given_at.desc()).limit(1)


@dataclass(frozen=True, slots=True)
class Reader:
    """The organization that reads: id and slug (the slug is what the ledger records)."""

    id: uuid.UUID
    slug: str


def evaluate(
    session: Session,
    reader: Reader,
    person_id: uuid.UUID,
    purpose: str,
    categories: Sequence[str],
    *,
    actor: str,
    at: datetime | None = None,
) -> Decision:
    """Decide without recording (the caller records with ``record``)."""
    at = at or utcnow()
    cats = tuple(sorted(set(categories)))
    purposes = purpose_ids(session, reader.id, purpose)
    covering: list[uuid.UUID] = []
    if purposes and cats:
        params: dict[str, Any] = {"p": person_id, "r": reader.id, "u": list(purposes), "t": at}
        params.update({f"a{i}": list(ancestors_or_self(c)) for i, c in enumerate(cats)})
        covering = list(session.scalars(_single_statement(len(cats)), params))
    reason = (
        "consent_covers"
        if covering
        else _denial_reason(session, reader.id, person_id, purposes, at)
    )
    return Decision(
        allow=bool(covering),
        reason=reason,
        consent_ids=tuple(covering),
        organization_id=reader.id,
        organization_slug=reader.slug,
        person_id=person_id,
        purpose=purpose,
        categories=cats,
        at=at,
        actor=actor,
        _mint=_MINTED,
    )


def _denial_reason(
    session: Session,
    org_id: uuid.UUID,
    person_id: uuid.UUID,
    purpose_ids: Sequence[uuid.UUID],
    at: datetime,
) -> str:
    if not purpose_ids:
        return "purpose_not_consented"
    rows = session.execute(
        select(Consent.given_at, Consent.ended_at, Consent.expires_at, Consent.state)
        .where(
            Consent.person_id == person_id,
            Consent.recipient_id == org_id,
            Consent.purpose_id.in_(purpose_ids),
        )
        .order_by(Consent.given_at.desc())
    ).all()
    if not rows:
        has_any = session.scalar(
            select(literal(1))
            .where(Consent.person_id == person_id, Consent.recipient_id == org_id)
            .limit(1)
        )
        return "purpose_not_consented" if has_any else "no_consent"
    in_force = [
        r
        for r in rows
        if r.given_at <= at
        and (r.ended_at is None or r.ended_at > at)
        and (r.expires_at is None or r.expires_at > at)
    ]
    if in_force:
        return "categories_not_covered"
    started = [r for r in rows if r.given_at <= at]
    if not started:
        return "not_yet_valid"
    latest = started[0]
    if (
        latest.expires_at is not None
        and latest.expires_at <= at
        and (latest.ended_at is None or latest.ended_at >= latest.expires_at)
    ):
        return "expired"
    return "withdrawn"


def entry_of(
    pseudonym_key: bytes, decision: Decision, *, refs: Mapping[str, Any] | None = None
) -> Entry:
    """The ledger entry that records ``decision``."""
    if not is_genuine(decision):
        raise ConsentRequired("only the policy decision point issues decisions")
    entry_refs: dict[str, Any] = {"reason": decision.reason}
    if decision.consent_ids:
        entry_refs["consents"] = [str(c) for c in decision.consent_ids]
    if refs:
        entry_refs.update(refs)
    return Entry(
        kind="access.allowed" if decision.allow else "access.denied",
        org=decision.organization_slug,
        actor=decision.actor,
        time=decision.at,
        purpose=decision.purpose,
        categories=decision.categories,
        subject={"pseudonym": b64(pseudonym(pseudonym_key, decision.person_id))},
        refs=entry_refs,
    )


def recorded(decision: Decision, ledger_index: int) -> Decision:
    """``decision`` once its entry (``entry_of``) is committed at ``ledger_index`` — for
    callers that append through the ledger's group appender."""
    if not is_genuine(decision):
        raise ConsentRequired("only the policy decision point issues decisions")
    return replace(decision, ledger_index=ledger_index)


def record(
    session: Session,
    pseudonym_key: bytes,
    decision: Decision,
    *,
    refs: Mapping[str, Any] | None = None,
) -> Decision:
    """Write the decision to the ledger in the caller's transaction; returns it recorded."""
    entry = entry_of(pseudonym_key, decision, refs=refs)
    (appended,) = ledger.append(session, [entry])
    return replace(decision, ledger_index=appended.index)


def decide(
    session: Session,
    pseudonym_key: bytes,
    reader: Reader,
    person_id: uuid.UUID,
    purpose: str,
    categories: Sequence[str],
    *,
    actor: str,
    at: datetime | None = None,
) -> Decision:
    """Decide and record: the single form every caller outside the vault uses."""
    decision = evaluate(session, reader, person_id, purpose, categories, actor=actor, at=at)
    return record(session, pseudonym_key, decision)


# --- batches ---------------------------------------------------------------------------
#
# A batch handles persons as raw 16-byte ids end to end (the rows come back without being
# turned into UUID objects, pseudonyms are computed from the bytes): at a million persons,
# object construction would cost more than the query.


@dataclass(frozen=True)
class BatchDecision:
    """The outcome for a set of persons: who may be read, under which consent."""

    organization_slug: str
    purpose: str
    categories: tuple[str, ...]
    at: datetime
    #: person id (16 bytes) → the covering consent's id (16 bytes)
    allowed_raw: dict[bytes, bytes]
    denied_raw: frozenset[bytes]
    ledger_indexes: tuple[int, ...] = ()

    @property
    def decisions(self) -> int:
        return len(self.allowed_raw) + len(self.denied_raw)

    @cached_property
    def allowed(self) -> dict[uuid.UUID, uuid.UUID]:
        """Person id → covering consent id (as UUIDs; built on first use)."""
        return {uuid.UUID(bytes=p): uuid.UUID(bytes=c) for p, c in self.allowed_raw.items()}

    @cached_property
    def denied(self) -> frozenset[uuid.UUID]:
        return frozenset(uuid.UUID(bytes=p) for p in self.denied_raw)


#: batches up to this many persons filter in SQL; larger ones filter the scan's rows
_IN_LIST = 500


def _raw_reader(session: Session) -> Callable[[Any], bytes]:
    """How a raw id value of this database becomes 16 bytes (SQLite: 32 hex characters)."""
    if session.get_bind().dialect.name == "sqlite":
        return bytes.fromhex
    return lambda value: (
        value.bytes if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).bytes
    )


def decide_many(
    session: Session,
    pseudonym_key: bytes,
    reader: Reader,
    purpose: str,
    categories: Sequence[str],
    *,
    actor: str,
    person_ids: Iterable[uuid.UUID] | None = None,
    at: datetime | None = None,
    record_entries: bool = True,
) -> BatchDecision:
    """Decide for many persons in one statement; ``person_ids=None`` means every person
    whose consent covers the read (an audience).  Records one ledger entry per outcome
    that commits to the set of persons (``record_entries=False`` only for a dry count
    that reads no data)."""
    at = at or utcnow()
    cats = tuple(sorted(set(categories)))
    purposes = purpose_ids(session, reader.id, purpose)
    wanted = None if person_ids is None else {p.bytes for p in person_ids}
    allowed: dict[bytes, bytes] = {}
    with collector_paused():
        if purposes and cats and (wanted is None or wanted):
            query = select(
                type_coerce(Consent.person_id, NullType()), type_coerce(Consent.id, NullType())
            ).where(Consent.recipient_id == reader.id, *_covering(purposes, cats, at))
            if wanted is not None and len(wanted) <= _IN_LIST:
                query = query.where(Consent.person_id.in_([uuid.UUID(bytes=p) for p in wanted]))
            raw = _raw_reader(session)
            rows = session.execute(query).all()
            allowed = {raw(p): raw(c) for p, c in rows}
            if wanted is not None:
                allowed = {p: c for p, c in allowed.items() if p in wanted}
        denied = frozenset() if wanted is None else frozenset(wanted - allowed.keys())
        batch = BatchDecision(
            organization_slug=reader.slug,
            purpose=purpose,
            categories=cats,
            at=at,
            allowed_raw=allowed,
            denied_raw=denied,
        )
        if not record_entries:
            return batch
        return _record_batch(session, pseudonym_key, batch, actor)


def _record_batch(
    session: Session, pseudonym_key: bytes, batch: BatchDecision, actor: str
) -> BatchDecision:
    entries: list[Entry] = []
    outcomes: tuple[tuple[str, Iterable[bytes]], ...] = (
        ("access.allowed", batch.allowed_raw.keys()),
        ("access.denied", batch.denied_raw),
    )
    for kind, persons in outcomes:
        members = tuple(pseudonym_of_bytes(pseudonym_key, p) for p in persons)
        if not members:
            continue
        entries.append(
            Entry(
                kind=kind,
                org=batch.organization_slug,
                actor=actor,
                time=batch.at,
                purpose=batch.purpose,
                categories=batch.categories,
                refs={
                    "bulk": True,
                    "reason": "consent_covers" if kind == "access.allowed" else "denied",
                },
                members=members,
            )
        )
    appended = ledger.append(session, entries)
    return replace(batch, ledger_indexes=tuple(a.index for a in appended))


__all__ = [
    "REASONS",
    "BatchDecision",
    "Decision",
    "Reader",
    "decide",
    "decide_many",
    "entry_of",
    "evaluate",
    "is_genuine",
    "purpose_ids",
    "record",
    "recorded",
    "require_recorded",
]
