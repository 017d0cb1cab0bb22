"""Use cases of consent: the vocabulary, giving / narrowing / withdrawing, expiry,
guardians, receipts and re-consent requests.

Every change of a consent issues a receipt (ISO/IEC TS 27560-aligned JSON, see
``receipts``) and one ledger entry in the caller's transaction whose ``refs.receipt`` is
the receipt's SHA-256.  A consent is never edited in scope: a new consent for the same
person, recipient and purpose *supersedes* the one in force (that is how a person narrows
or widens), and ``ended_at`` records when a consent stopped counting, so the decision
point can answer for any instant.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, cast

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.orm import Session

from tsunagu.consent import receipts
from tsunagu.consent.errors import (
    ConsentNotActive,
    ConsentNotFound,
    ConsentRequestNotFound,
    ExpiryInPast,
    MinorMustUseGuardian,
    NotGuardian,
    PurposeTaken,
    UnknownCategory,
    UnknownPurpose,
)
from tsunagu.consent.models import (
    Consent,
    ConsentCategory,
    ConsentReceipt,
    ConsentRequest,
    DataCategory,
    Guardianship,
    Purpose,
)
from tsunagu.consent.vocabulary import parent_of
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.identity.errors import PersonNotFound
from tsunagu.identity.models import Organization, Person
from tsunagu.identity.service import Actor, get_organization, get_person
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry, b64, canonical, pseudonym

#: age of majority in Japan (Civil Code art. 4, since April 2022)
MAJORITY_AGE = 18
_PURPOSE_CODE = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
GivenBy = Literal["person", "guardian", "organization"]


# --- vocabulary ------------------------------------------------------------------------


def list_categories(session: Session) -> list[DataCategory]:
    return list(session.scalars(select(DataCategory).order_by(DataCategory.code)))


def category_map(session: Session) -> dict[str, DataCategory]:
    return {c.code: c for c in list_categories(session)}


#: category codes known to exist (categories are only ever added): the hot paths check
#: against this before asking the database
_known_categories: set[str] = set()


def check_categories(session: Session, codes: Sequence[str]) -> tuple[str, ...]:
    """The codes, sorted and unique, or ``UnknownCategory`` naming the unknown ones."""
    wanted = sorted(set(codes))
    if not wanted:
        raise InvalidInput("name at least one data category")
    if _known_categories.issuperset(wanted):
        return tuple(wanted)
    known = set(session.scalars(select(DataCategory.code).where(DataCategory.code.in_(wanted))))
    _known_categories.update(known)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise UnknownCategory(
            f"unknown data category: {', '.join(unknown)}",
            errors=[{"field": "categories", "value": c, "reason": "unknown"} for c in unknown],
        )
    return tuple(wanted)


def add_category(
    session: Session, *, code: str, label_ja: str, label_en: str, sensitive: bool = False
) -> DataCategory:
    """An operator extends the vocabulary (its parent must exist already)."""
    if not re.match(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", code):
        raise InvalidInput(f"category code {code!r} must be lower-case dot notation")
    if session.get(DataCategory, code) is not None:
        raise InvalidInput(f"category {code!r} exists already")
    parent = parent_of(code)
    if parent is not None:
        parent_row = session.get(DataCategory, parent)
        if parent_row is None:
            raise UnknownCategory(f"parent category {parent!r} does not exist")
        sensitive = sensitive or parent_row.sensitive
    row = DataCategory(
        code=code, parent=parent, sensitive=sensitive, label_ja=label_ja, label_en=label_en
    )
    session.add(row)
    session.flush()
    return row


def list_purposes(session: Session, organization_id: uuid.UUID | None) -> list[Purpose]:
    """The defaults and, given an organization, its own purposes."""
    query = select(Purpose).order_by(Purpose.organization_id.is_not(None), Purpose.code)
    if organization_id is None:
        query = query.where(Purpose.organization_id.is_(None))
    else:
        query = query.where(
            or_(Purpose.organization_id.is_(None), Purpose.organization_id == organization_id)
        )
    return list(session.scalars(query))


def purpose_codes(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Purpose.id, Purpose.code).where(Purpose.id.in_(ids))).all())


def resolve_purpose(session: Session, organization_id: uuid.UUID, code: str) -> Purpose:
    """A purpose ``code`` as the organization may use it: a default or its own."""
    purpose = session.scalar(
        select(Purpose)
        .where(
            Purpose.code == code,
            or_(Purpose.organization_id.is_(None), Purpose.organization_id == organization_id),
        )
        .limit(1)
    )
    if purpose is None:
        raise UnknownPurpose(
            f"unknown purpose {code!r}: use a default purpose or one of your organization's",
            errors=[{"field": "purpose", "value": code, "reason": "unknown"}],
        )
    return purpose


def create_purpose(
    session: Session,
    actor: Actor,
    *,
    code: str,
    label_ja: str,
    label_en: str,
    description_ja: str = "",
    description_en: str = "",
    dpv: str | None = None,
) -> Purpose:
    actor.require_role("admin")
    if not _PURPOSE_CODE.match(code):
        raise InvalidInput(
            "a purpose code is 2–63 lower-case letters, digits and hyphens, starting with a letter"
        )
    clash = session.scalar(
        select(Purpose.id).where(
            Purpose.code == code,
            or_(Purpose.organization_id.is_(None), Purpose.organization_id == actor.org_id),
        )
    )
    if clash is not None:
        raise PurposeTaken(f"the purpose {code!r} exists already")
    purpose = Purpose(
        organization_id=actor.org_id,
        code=code,
        dpv=dpv,
        label_ja=label_ja,
        label_en=label_en,
        description_ja=description_ja,
        description_en=description_en,
    )
    session.add(purpose)
    session.flush()
    return purpose


# --- giving and ending -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """How consent was obtained: the exact notice text shown, its version, the method."""

    notice_text: str
    method: str
    notice_version: str = "1"
    language: Literal["ja", "en"] = "ja"

    @property
    def notice_hash(self) -> str:
        return hashlib.sha256(self.notice_text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Issued:
    consent: Consent
    receipt: dict[str, Any]
    receipt_row: ConsentReceipt


def actor_label(actor: Actor) -> str:
    """How the ledger names an actor (never a person's id: persons are "person")."""
    if actor.kind == "api_key":
        return f"api_key:{actor.api_key_id}"
    if actor.kind == "staff":
        return f"staff:{actor.user_id}"
    return "person"


def age_on(birth: date, day: date) -> int:
    years = day.year - birth.year
    return years - ((day.month, day.day) < (birth.month, birth.day))


def is_minor(person: Person, day: date) -> bool:
    return person.birth_date is not None and age_on(person.birth_date, day) < MAJORITY_AGE


def give_consent(
    session: Session,
    pseudonym_key: bytes,
    *,
    person_id: uuid.UUID,
    recipient: Organization,
    purpose: str,
    categories: Sequence[str],
    evidence: Evidence,
    actor: str,
    given_by: GivenBy,
    recorded_by: Organization | None = None,
    guardian_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Issued:
    """Record a consent; one in force for the same person, recipient and purpose is
    superseded by it (its scope replaces the old one)."""
    now = now or utcnow()
    cats = check_categories(session, categories)
    purpose_row = resolve_purpose(session, recipient.id, purpose)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidInput("expires_at needs a time zone (e.g. +09:00 or Z)")
        if expires_at <= now:
            raise ExpiryInPast("the expiry lies in the past: a consent must end in the future")
    if not evidence.notice_text.strip():
        raise InvalidInput("evidence.notice_text: the notice shown to the person is required")
    person = get_person(session, person_id)
    if given_by == "person" and is_minor(person, now.date()):
        raise MinorMustUseGuardian(
            "this person is a minor: a guardian gives consent until they come of age"
        )
    if given_by == "guardian" and (
        guardian_id is None or not is_guardian_of(session, guardian_id, person_id, now.date())
    ):
        raise NotGuardian("only the minor's guardian may consent on their behalf")
    current = session.scalars(
        select(Consent)
        .where(
            Consent.person_id == person_id,
            Consent.recipient_id == recipient.id,
            Consent.purpose_id == purpose_row.id,
            Consent.state == "given",
        )
        .with_for_update()
    ).all()
    consent = Consent(
        person_id=person_id,
        recipient_id=recipient.id,
        purpose_id=purpose_row.id,
        recorded_by_id=recorded_by.id if recorded_by is not None else None,
        actor=actor,
        given_by=given_by,
        guardian_id=guardian_id,
        state="given",
        given_at=now,
        expires_at=expires_at,
        method=evidence.method,
        notice_hash=evidence.notice_hash,
        notice_version=evidence.notice_version,
        notice_language=evidence.language,
    )
    session.add(consent)
    session.flush()
    session.add_all(ConsentCategory(consent_id=consent.id, category=c) for c in cats)
    for old in current:
        old.state = "superseded"
        old.ended_at = now
        old.superseded_by_id = consent.id
    session.flush()
    for old in current:
        _issue(session, pseudonym_key, old, "superseded", now, actor)
    return _issue(session, pseudonym_key, consent, "given", now, actor)


def withdraw_consent(
    session: Session,
    pseudonym_key: bytes,
    consent: Consent,
    *,
    actor: str,
    now: datetime | None = None,
) -> Issued:
    """Withdrawal takes effect at once: the very next read is denied."""
    now = now or utcnow()
    if consent.state != "given" or (consent.expires_at is not None and consent.expires_at <= now):
        raise ConsentNotActive(f"the consent is {effective_state(consent, now)}, not in force")
    consent.state = "withdrawn"
    consent.ended_at = now
    session.flush()
    return _issue(session, pseudonym_key, consent, "withdrawn", now, actor)


def expire_due(
    session: Session,
    pseudonym_key: bytes,
    *,
    now: datetime | None = None,
    person_id: uuid.UUID | None = None,
) -> int:
    """Mark consents past their expiry as expired, with receipts and ledger entries.

    The decision point already denies them by time; this makes the state and the ledger
    say so too (run by ``tsunagu consent expire`` and when a person opens the portal)."""
    now = now or utcnow()
    query = select(Consent).where(
        Consent.state == "given", Consent.expires_at.is_not(None), Consent.expires_at <= now
    )
    if person_id is not None:
        query = query.where(Consent.person_id == person_id)
    due = list(session.scalars(query))
    for consent in due:
        consent.state = "expired"
        consent.ended_at = consent.expires_at
    session.flush()
    for consent in due:
        _issue(session, pseudonym_key, consent, "expired", now, "system")
    return len(due)


def effective_state(consent: Consent, now: datetime) -> str:
    """The state at ``now``: a consent past its expiry is expired even before the sweep."""
    if consent.state == "given" and consent.expires_at is not None and consent.expires_at <= now:
        return "expired"
    return consent.state


# --- receipts --------------------------------------------------------------------------


def _party(org: Organization) -> receipts.Party:
    return receipts.Party(slug=org.slug, name=org.name)


def receipt_facts(
    session: Session,
    pseudonym_key: bytes,
    consent: Consent,
    event: str,
    event_time: datetime,
    receipt_id: uuid.UUID,
    actor: str,
) -> receipts.ReceiptFacts:
    """The facts of one receipt, rebuilt from the consent's rows."""
    recipient = get_organization(session, consent.recipient_id)
    recorder = (
        _party(get_organization(session, consent.recorded_by_id))
        if consent.recorded_by_id is not None
        else None
    )
    purpose = session.get_one(Purpose, consent.purpose_id)
    cats = category_map(session)
    codes = consent_categories(session, consent.id)
    supersedes = session.scalar(
        select(Consent.id).where(Consent.superseded_by_id == consent.id).limit(1)
    )
    event_by: receipts.EventActor
    if event == "expired" or actor == "system":
        event_by = "system"
    elif actor.startswith(("api_key:", "staff:")):
        event_by = "organization"
    elif actor == "guardian":
        event_by = "guardian"
    else:
        event_by = "person"
    return receipts.ReceiptFacts(
        receipt_id=str(receipt_id),
        consent_id=str(consent.id),
        subject_pseudonym=b64(pseudonym(pseudonym_key, consent.person_id)),
        given_by=cast(receipts.GivenBy, consent.given_by),  # a CHECK constraint holds it
        controller=_party(recipient),
        recipient=_party(recipient),
        recorded_by=recorder,
        purpose=receipts.Purpose(
            code=purpose.code,
            label_ja=purpose.label_ja,
            label_en=purpose.label_en,
            dpv_iri=purpose.dpv,
        ),
        categories=tuple(
            receipts.Category(
                code=c,
                label_ja=cats[c].label_ja,
                label_en=cats[c].label_en,
                sensitive=cats[c].sensitive,
            )
            for c in codes
        ),
        method=consent.method,
        notice=receipts.Notice(
            sha256=consent.notice_hash or hashlib.sha256(b"").hexdigest(),
            version=consent.notice_version or "1",
            language=cast(receipts.Language, consent.notice_language or "ja"),
        ),
        state=cast(receipts.ConsentState, event),
        event_time=event_time,
        given_at=consent.given_at,
        expires_at=consent.expires_at,
        supersedes=str(supersedes) if supersedes else None,
        superseded_by=str(consent.superseded_by_id) if consent.superseded_by_id else None,
        event_by=event_by,
        language=cast(receipts.Language, consent.notice_language or "ja"),
    )


_KIND = {
    "given": "consent.given",
    "withdrawn": "consent.withdrawn",
    "expired": "consent.expired",
    "superseded": "consent.superseded",
}


def _issue(
    session: Session,
    pseudonym_key: bytes,
    consent: Consent,
    event: str,
    now: datetime,
    actor: str,
) -> Issued:
    receipt_id = uuid.uuid4()
    facts = receipt_facts(session, pseudonym_key, consent, event, now, receipt_id, actor)
    body = receipts.iso27560_receipt(facts)
    digest = receipts.receipt_hash(body)
    recipient = get_organization(session, consent.recipient_id)
    purpose = session.get_one(Purpose, consent.purpose_id)
    (appended,) = ledger.append(
        session,
        [
            Entry(
                kind=_KIND[event],
                org=recipient.slug,
                actor=actor,
                time=now,
                purpose=purpose.code,
                categories=tuple(consent_categories(session, consent.id)),
                subject={"pseudonym": facts.subject_pseudonym},
                refs={"receipt": b64(digest), "consent": str(consent.id)},
            )
        ],
    )
    row = ConsentReceipt(
        id=receipt_id,
        consent_id=consent.id,
        event=event,
        body=canonical(body).decode(),
        digest=digest,
        actor=actor,
        ledger_index=appended.index,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return Issued(consent=consent, receipt=body, receipt_row=row)


def kantara_receipt(
    session: Session, pseudonym_key: bytes, receipt_row: ConsentReceipt
) -> dict[str, Any]:
    """The Kantara Consent Receipt v1.1 form of a stored receipt."""
    consent = session.get_one(Consent, receipt_row.consent_id)
    facts = receipt_facts(
        session,
        pseudonym_key,
        consent,
        receipt_row.event,
        receipt_row.created_at,
        receipt_row.id,
        receipt_row.actor,
    )
    return receipts.kantara_receipt(facts)


def receipts_of(session: Session, consent_id: uuid.UUID) -> list[ConsentReceipt]:
    return list(
        session.scalars(
            select(ConsentReceipt)
            .where(ConsentReceipt.consent_id == consent_id)
            .order_by(ConsentReceipt.created_at, ConsentReceipt.event)
        )
    )


# --- reading consents ------------------------------------------------------------------


def consent_categories(session: Session, consent_id: uuid.UUID) -> list[str]:
    return list(
        session.scalars(
            select(ConsentCategory.category)
            .where(ConsentCategory.consent_id == consent_id)
            .order_by(ConsentCategory.category)
        )
    )


def get_consent(session: Session, consent_id: uuid.UUID) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise ConsentNotFound("no such consent")
    return consent


def access_consent(session: Session, organization_id: uuid.UUID, consent_id: uuid.UUID) -> Consent:
    """A consent the organization may see: it is the recipient or recorded it."""
    consent = session.get(Consent, consent_id)
    if consent is None or organization_id not in (consent.recipient_id, consent.recorded_by_id):
        raise ConsentNotFound("no such consent")
    return consent


def access_consent_of_person(
    session: Session, person_id: uuid.UUID, consent_id: uuid.UUID, *, today: date | None = None
) -> Consent:
    """A consent the person (or their guardian, for a minor) may manage."""
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise ConsentNotFound("no such consent")
    if consent.person_id == person_id:
        return consent
    if is_guardian_of(session, person_id, consent.person_id, today or utcnow().date()):
        return consent
    raise ConsentNotFound("no such consent")


def consents_of_person(session: Session, person_id: uuid.UUID) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent).where(Consent.person_id == person_id).order_by(Consent.given_at.desc())
        )
    )


def consents_for_recipient(
    session: Session, organization_id: uuid.UUID, *, limit: int = 100, offset: int = 0
) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.recipient_id == organization_id)
            .order_by(Consent.given_at.desc())
            .limit(limit)
            .offset(offset)
        )
    )


@dataclass(frozen=True, slots=True)
class PurposeStats:
    purpose: str
    label_ja: str
    label_en: str
    given: int
    withdrawn: int
    expired: int
    superseded: int


def statistics(
    session: Session, organization_id: uuid.UUID, now: datetime | None = None
) -> list[PurposeStats]:
    """Consents per purpose and effective state, for the organization as recipient."""
    now = now or utcnow()
    expired_now = (
        (Consent.state == "given") & Consent.expires_at.is_not(None) & (Consent.expires_at <= now)
    )
    rows = session.execute(
        select(
            Purpose.code,
            Purpose.label_ja,
            Purpose.label_en,
            Consent.state,
            func.sum(case((expired_now, 1), else_=0)),
            func.count(),
        )
        .join(Purpose, Purpose.id == Consent.purpose_id)
        .where(Consent.recipient_id == organization_id)
        .group_by(Purpose.code, Purpose.label_ja, Purpose.label_en, Consent.state)
    ).all()
    table: dict[str, dict[str, Any]] = {}
    for code, label_ja, label_en, state, lapsed, count in rows:
        slot = table.setdefault(
            code,
            {
                "label_ja": label_ja,
                "label_en": label_en,
                "given": 0,
                "withdrawn": 0,
                "expired": 0,
                "superseded": 0,
            },
        )
        lapsed = int(lapsed or 0)
        if state == "given":
            slot["given"] += count - lapsed
            slot["expired"] += lapsed
        else:
            slot[state] += count
    return [PurposeStats(purpose=code, **values) for code, values in sorted(table.items())]


# --- guardians -------------------------------------------------------------------------


def add_guardian(
    session: Session, *, guardian_id: uuid.UUID, minor_id: uuid.UUID, today: date | None = None
) -> Guardianship:
    """Register a guardian for a minor; the guardianship ends when the minor turns 18."""
    today = today or utcnow().date()
    minor = get_person(session, minor_id)
    get_person(session, guardian_id)
    if guardian_id == minor_id:
        raise InvalidInput("a person cannot be their own guardian")
    if minor.birth_date is None or not is_minor(minor, today):
        raise InvalidInput("only a minor (under 18, with a known birth date) has a guardian")
    birth = minor.birth_date
    try:
        ends = birth.replace(year=birth.year + MAJORITY_AGE)
    except ValueError:  # born on 29 February
        ends = date(birth.year + MAJORITY_AGE, 3, 1)
    row = Guardianship(guardian_id=guardian_id, minor_id=minor_id, ends_on=ends)
    session.add(row)
    session.flush()
    return row


def is_guardian_of(
    session: Session, guardian_id: uuid.UUID, minor_id: uuid.UUID, today: date
) -> bool:
    """True while ``guardian_id`` may act for ``minor_id`` (until the minor comes of age)."""
    return (
        session.scalar(
            select(Guardianship.id).where(
                Guardianship.guardian_id == guardian_id,
                Guardianship.minor_id == minor_id,
                Guardianship.ends_on > today,
            )
        )
        is not None
    )


def acting_subject(
    session: Session, person: Person, ward: str, today: date | None = None
) -> Person:
    """Whom a person acts for: themself (``ward`` empty) or a current ward, given by id
    as text from a query string; anyone else is ``PersonNotFound``, exactly as an id that
    does not exist."""
    if not ward:
        return person
    try:
        ward_id = uuid.UUID(ward)
    except ValueError:
        raise PersonNotFound("no such person") from None
    if not is_guardian_of(session, person.id, ward_id, today or utcnow().date()):
        raise PersonNotFound("no such person")
    return get_person(session, ward_id)


def wards_of(session: Session, guardian_id: uuid.UUID, today: date) -> list[Person]:
    """The minors a person may currently act for."""
    return list(
        session.scalars(
            select(Person)
            .join(Guardianship, Guardianship.minor_id == Person.id)
            .where(Guardianship.guardian_id == guardian_id, Guardianship.ends_on > today)
            .order_by(Person.family_name_kana, Person.given_name_kana)
        )
    )


# --- re-consent requests ---------------------------------------------------------------


def request_consent(
    session: Session,
    actor: Actor,
    *,
    person_id: uuid.UUID,
    purpose: str,
    categories: Sequence[str],
    notice_text: str,
    message: str = "",
    expires_at: datetime | None = None,
) -> ConsentRequest:
    """An organization asks a person for a (new or wider) consent; the person answers in
    the portal.  An old consent never stretches to cover a new purpose or category."""
    actor.require_role("member")
    cats = check_categories(session, categories)
    purpose_row = resolve_purpose(session, actor.org_id, purpose)
    if not notice_text.strip():
        raise InvalidInput("notice_text: say what the person is asked to agree to")
    if expires_at is not None and expires_at <= utcnow():
        raise ExpiryInPast("the expiry lies in the past: a consent must end in the future")
    row = ConsentRequest(
        person_id=person_id,
        organization_id=actor.org_id,
        purpose_id=purpose_row.id,
        categories=" ".join(cats),
        expires_at=expires_at,
        message=message,
        notice_text=notice_text,
    )
    session.add(row)
    session.flush()
    return row


def pending_requests(session: Session, person_id: uuid.UUID) -> list[ConsentRequest]:
    return list(
        session.scalars(
            select(ConsentRequest)
            .where(ConsentRequest.person_id == person_id, ConsentRequest.state == "pending")
            .order_by(ConsentRequest.created_at.desc())
        )
    )


def answer_request(
    session: Session,
    pseudonym_key: bytes,
    *,
    person_id: uuid.UUID,
    request_id: uuid.UUID,
    accept: bool,
    acting_person_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Issued | None:
    """The person (or their guardian) accepts — a consent is given — or declines."""
    now = now or utcnow()
    row = session.get(ConsentRequest, request_id)
    if row is None or row.person_id != person_id or row.state != "pending":
        raise ConsentRequestNotFound("no such pending request")
    row.answered_at = now
    if not accept:
        row.state = "declined"
        session.flush()
        return None
    guardian = acting_person_id if acting_person_id not in (None, person_id) else None
    purpose = session.get_one(Purpose, row.purpose_id)
    issued = give_consent(
        session,
        pseudonym_key,
        person_id=person_id,
        recipient=get_organization(session, row.organization_id),
        purpose=purpose.code,
        categories=row.categories.split(),
        evidence=Evidence(notice_text=row.notice_text, method="portal"),
        actor="person",
        given_by="guardian" if guardian else "person",
        guardian_id=guardian,
        expires_at=row.expires_at if row.expires_at and row.expires_at > now else None,
        now=now,
    )
    row.state = "accepted"
    row.consent_id = issued.consent.id
    session.flush()
    return issued


def forget_requests(session: Session, person_id: uuid.UUID) -> None:
    """Drop the person's pending requests (part of erasure)."""
    session.execute(
        delete(ConsentRequest).where(
            ConsentRequest.person_id == person_id, ConsentRequest.state == "pending"
        )
    )
