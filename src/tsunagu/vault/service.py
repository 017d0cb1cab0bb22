"""Use cases of the vault: persons an organization knows, records, reads, the person's
own view, export, erasure, requests, and APPI provision records.

There are exactly two doors to a payload, both here:

* ``read_records`` — an organization's read.  It asks the policy decision point
  (``consent.decision``), fetches the sealed versions only when the decision allows,
  records the decision in the ledger *with the digests of the versions read*, writes a
  provision record (and a ``provision`` ledger entry) for every record that came from
  another organization, and only then opens the seals.  ``_open`` refuses a decision that
  the policy point did not issue and record.
* ``subject_view`` / ``export_archive`` — the person's own access to their data (APPI
  art. 33 disclosure), for the authenticated person only.

Everything else in the code base reaches records through these functions: the vault's
models, key store and crypto may not be imported outside ``tsunagu.vault`` (an import
contract in ``pyproject.toml``), and a test checks that ``open_sealed`` is called only here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, exists, func, insert, or_, select
from sqlalchemy.orm import Session

from tsunagu.consent import decision as pdp
from tsunagu.consent import service as consent_service
from tsunagu.consent.models import Consent
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput, PayloadTooLarge
from tsunagu.core.ids import new_id
from tsunagu.core.imports import bulk_ids, insert_rows
from tsunagu.core.settings import Settings
from tsunagu.identity.errors import PersonNotFound
from tsunagu.identity.models import Organization, Person, PersonLink
from tsunagu.identity.service import get_person, normalise_email
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry, b64, pseudonym, pseudonym_of_bytes
from tsunagu.vault.crypto import open_sealed, seal
from tsunagu.vault.errors import (
    PersonErased,
    RecordNotFound,
    RefTaken,
    RequestNotFound,
)
from tsunagu.vault.keystore import KeyStore, open_keystore
from tsunagu.vault.models import (
    REQUEST_KINDS,
    ProvisionRecord,
    Record,
    RecordVersion,
    SubjectRequest,
)

#: largest payload one record version may hold (canonical JSON bytes)
MAX_PAYLOAD_BYTES = 64 * 1024
#: APPI art. 29/30 and rules art. 14/18: provision records are kept for 3 years
PROVISION_RETENTION_YEARS = 3
#: the organization answers a person's request within this time (APPI: 遅滞なく)
REQUEST_DUE = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Vault:
    """What the vault needs besides a session: the key store and the ledger's HMAC key."""

    keystore: KeyStore
    pseudonym_key: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(
            keystore=open_keystore(settings),
            pseudonym_key=settings.resolved_ledger_pseudonym_key(),
        )


# --- persons an organization knows -----------------------------------------------------


def register_person(
    session: Session,
    vault: Vault,
    organization: Organization,
    *,
    ref: str,
    family_name: str,
    given_name: str,
    actor: str,
    family_name_kana: str | None = None,
    given_name_kana: str | None = None,
    birth_date: date | None = None,
    email: str | None = None,
) -> Person:
    """A person the organization holds data about, under its own reference number.

    The e-mail address is the organization's data about the person, so it becomes a
    ``contact.email`` record (sealed), not a sign-in identity."""
    ref = ref.strip()
    if not ref:
        raise InvalidInput("ref: the organization's customer number is required")
    taken = session.scalar(
        select(PersonLink.id).where(
            PersonLink.organization_id == organization.id, PersonLink.ref == ref
        )
    )
    if taken is not None:
        raise RefTaken(f"a person with ref {ref!r} exists already in this organization")
    person = Person(
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        birth_date=birth_date,
    )
    session.add(person)
    session.flush()
    session.add(PersonLink(organization_id=organization.id, person_id=person.id, ref=ref))
    session.flush()
    if email:
        create_record(
            session,
            vault,
            person_id=person.id,
            category="contact.email",
            payload={"email": normalise_email(email)},
            source=organization,
            source_kind="api",
            actor=actor,
            legal_basis="contract",
        )
    return person


def person_known_to(session: Session, organization_id: uuid.UUID, person_id: uuid.UUID) -> bool:
    """True when the organization has a relationship with the person: its own reference,
    a record it supplied, or a consent naming it."""
    linked = exists().where(
        PersonLink.organization_id == organization_id, PersonLink.person_id == person_id
    )
    supplied = exists().where(Record.source_id == organization_id, Record.person_id == person_id)
    consented = exists().where(
        Consent.person_id == person_id,
        or_(Consent.recipient_id == organization_id, Consent.recorded_by_id == organization_id),
    )
    return bool(session.scalar(select(linked | supplied | consented)))


def access_person(session: Session, organization_id: uuid.UUID, person_id: uuid.UUID) -> Person:
    """The person, if the organization knows them; otherwise 404 (it may not learn more)."""
    if not person_known_to(session, organization_id, person_id):
        raise PersonNotFound("no such person")
    return get_person(session, person_id)


def person_by_ref(session: Session, organization_id: uuid.UUID, ref: str) -> Person:
    person_id = session.scalar(
        select(PersonLink.person_id).where(
            PersonLink.organization_id == organization_id, PersonLink.ref == ref
        )
    )
    if person_id is None:
        raise PersonNotFound(f"no person with ref {ref!r}")
    return get_person(session, person_id)


def ref_of(session: Session, organization_id: uuid.UUID, person_id: uuid.UUID) -> str | None:
    return session.scalar(
        select(PersonLink.ref).where(
            PersonLink.organization_id == organization_id, PersonLink.person_id == person_id
        )
    )


# --- records ---------------------------------------------------------------------------


def _payload_bytes(payload: Mapping[str, Any]) -> bytes:
    if not isinstance(payload, Mapping) or not payload:
        raise InvalidInput("payload must be a non-empty JSON object")
    try:
        data = orjson.dumps(dict(payload), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise InvalidInput(f"payload cannot be stored: {exc}") from exc
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"a record's payload may hold at most {MAX_PAYLOAD_BYTES} bytes")
    return data


def _aad(record_id: uuid.UUID, version: int, category: str) -> bytes:
    return f"{record_id}:{version}:{category}".encode()


def _data_key(vault: Vault, person_id: uuid.UUID) -> bytes:
    key = vault.keystore.data_key(person_id)
    if key is None:
        raise PersonErased("this person's data was erased; nothing can be stored or read")
    return key


def create_record(
    session: Session,
    vault: Vault,
    *,
    person_id: uuid.UUID,
    category: str,
    payload: Mapping[str, Any],
    source: Organization | None,
    source_kind: str,
    actor: str,
    collected_at: datetime | None = None,
    legal_basis: str = "consent",
    consent_id: uuid.UUID | None = None,
) -> Record:
    """Seal and store a new record (version 1) about ``person_id``."""
    (cat,) = consent_service.check_categories(session, [category])
    data = _payload_bytes(payload)
    key = _data_key(vault, person_id)
    now = utcnow()
    record = Record(
        id=new_id(),
        person_id=person_id,
        category=cat,
        source_id=source.id if source is not None else None,
        source_kind=source_kind,
        collected_at=collected_at or now,
        legal_basis=legal_basis,
        consent_id=consent_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    sealed = seal(key, data, _aad(record.id, 1, cat))
    session.add(record)
    session.flush()
    session.add(
        RecordVersion(
            record_id=record.id,
            version=1,
            sealed=sealed,
            digest=hashlib.sha256(sealed).digest(),
            actor=actor,
            created_at=now,
        )
    )
    session.flush()
    return record


@dataclass(frozen=True, slots=True)
class NewRecord:
    person_id: uuid.UUID
    category: str
    payload: Mapping[str, Any]
    collected_at: datetime | None = None


def create_records(
    session: Session,
    vault: Vault,
    records: Sequence[NewRecord],
    *,
    source: Organization | None,
    source_kind: str,
    actor: str,
    legal_basis: str = "consent",
) -> int:
    """Bulk form of ``create_record`` (imports, the demo): all or nothing."""
    if not records:
        return 0
    consent_service.check_categories(session, [r.category for r in records])
    keys = vault.keystore.data_keys({r.person_id for r in records})
    now = utcnow()
    record_rows: list[dict[str, Any]] = []
    version_rows: list[dict[str, Any]] = []
    for item in records:
        key = keys.get(item.person_id)
        if key is None:
            raise PersonErased("a person in this batch was erased; nothing was stored")
        record_id = new_id()
        sealed = seal(key, _payload_bytes(item.payload), _aad(record_id, 1, item.category))
        record_rows.append(
            {
                "id": record_id,
                "person_id": item.person_id,
                "category": item.category,
                "source_id": source.id if source is not None else None,
                "source_kind": source_kind,
                "collected_at": item.collected_at or now,
                "legal_basis": legal_basis,
                "consent_id": None,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        version_rows.append(
            {
                "record_id": record_id,
                "version": 1,
                "sealed": sealed,
                "digest": hashlib.sha256(sealed).digest(),
                "actor": actor,
                "created_at": now,
            }
        )
    session.execute(insert(Record), record_rows)
    session.execute(insert(RecordVersion), version_rows)
    return len(record_rows)


def access_record(session: Session, organization_id: uuid.UUID, record_id: uuid.UUID) -> Record:
    """A record the organization supplied (only the source may change its records)."""
    record = session.get(Record, record_id)
    if record is None or record.source_id != organization_id:
        raise RecordNotFound("no such record")
    return record


def update_record(
    session: Session,
    vault: Vault,
    record: Record,
    *,
    payload: Mapping[str, Any],
    actor: str,
) -> Record:
    """A new version; earlier versions stay (their digests are in the ledger)."""
    data = _payload_bytes(payload)
    key = _data_key(vault, record.person_id)
    version = record.version + 1
    sealed = seal(key, data, _aad(record.id, version, record.category))
    now = utcnow()
    session.add(
        RecordVersion(
            record_id=record.id,
            version=version,
            sealed=sealed,
            digest=hashlib.sha256(sealed).digest(),
            actor=actor,
            created_at=now,
        )
    )
    record.version = version
    record.updated_at = now
    session.flush()
    return record


@dataclass(frozen=True, slots=True)
class RecordView:
    """A record opened for a reader: metadata and the payload."""

    id: uuid.UUID
    category: str
    version: int
    source: str | None
    source_kind: str
    collected_at: datetime
    updated_at: datetime
    legal_basis: str
    payload: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "category": self.category,
            "version": self.version,
            "source": self.source,
            "source_kind": self.source_kind,
            "collected_at": self.collected_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "legal_basis": self.legal_basis,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True)
class RecordsRead:
    decision: pdp.Decision
    records: list[RecordView] = field(default_factory=list)


def _sealed_rows(
    session: Session, person_id: uuid.UUID, categories: Sequence[str] | None
) -> list[tuple[Record, RecordVersion]]:
    query = (
        select(Record, RecordVersion)
        .join(
            RecordVersion,
            (RecordVersion.record_id == Record.id) & (RecordVersion.version == Record.version),
        )
        .where(Record.person_id == person_id)
        .order_by(Record.category, Record.created_at)
    )
    if categories is not None:
        query = query.where(
            or_(
                *(
                    or_(
                        Record.category == c,
                        Record.category.like(c.replace("_", r"\_") + ".%", escape="\\"),
                    )
                    for c in categories
                )
            )
        )
    return [(r, v) for r, v in session.execute(query).all()]


def _slugs(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(
        session.execute(
            select(Organization.id, Organization.slug).where(Organization.id.in_(wanted))
        ).all()
    )


def _open(
    vault: Vault,
    rows: Sequence[tuple[Record, RecordVersion]],
    slugs: Mapping[uuid.UUID, str],
    *,
    decision: pdp.Decision | None,
    person_id: uuid.UUID,
) -> list[RecordView]:
    """Open sealed versions — for a recorded allowing decision, or the person themself."""
    if decision is not None:
        pdp.require_recorded(decision)
    if not rows:
        return []
    key = _data_key(vault, person_id)
    views: list[RecordView] = []
    for record, version in rows:
        if record.person_id != person_id or (
            decision is not None
            and not decision.covers(decision.organization_id, person_id, record.category)
        ):
            raise RecordNotFound("a record outside the decision was asked for")
        plain = open_sealed(key, version.sealed, _aad(record.id, version.version, record.category))
        views.append(
            RecordView(
                id=record.id,
                category=record.category,
                version=version.version,
                source=slugs.get(record.source_id) if record.source_id else None,
                source_kind=record.source_kind,
                collected_at=record.collected_at,
                updated_at=record.updated_at,
                legal_basis=record.legal_basis,
                payload=orjson.loads(plain),
            )
        )
    return views


def read_records(
    session: Session,
    vault: Vault,
    reader: pdp.Reader,
    person_id: uuid.UUID,
    *,
    purpose: str,
    categories: Sequence[str],
    actor: str,
    at: datetime | None = None,
) -> RecordsRead:
    """An organization reads categories of a person for a purpose — through the policy
    decision point, recorded in the ledger, with provision records for other sources."""
    cats = consent_service.check_categories(session, categories)
    consent_service.resolve_purpose(session, reader.id, purpose)
    decision = pdp.evaluate(session, reader, person_id, purpose, cats, actor=actor, at=at)
    rows = _sealed_rows(session, person_id, cats) if decision.allow else []
    refs: dict[str, Any] = {}
    if rows:
        refs["records"] = sorted(b64(version.digest) for _, version in rows)
    decision = pdp.record(session, vault.pseudonym_key, decision, refs=refs)
    if not decision.allow:
        return RecordsRead(decision=decision)
    slugs = _slugs(session, [r.source_id for r, _ in rows] + [reader.id])
    views = _open(vault, rows, slugs, decision=decision, person_id=person_id)
    _record_provisions(session, vault, decision, rows, slugs)
    return RecordsRead(decision=decision, records=views)


def _record_provisions(
    session: Session,
    vault: Vault,
    decision: pdp.Decision,
    rows: Sequence[tuple[Record, RecordVersion]],
    slugs: Mapping[uuid.UUID, str],
) -> None:
    """Records that came from another organization were provided to the reader: APPI
    asks the provider to keep a record of each provision (and the recipient to confirm)."""
    by_provider: dict[uuid.UUID, set[str]] = defaultdict(set)
    for record, _ in rows:
        if record.source_id is not None and record.source_id != decision.organization_id:
            by_provider[record.source_id].add(record.category)
    if not by_provider:
        return
    subject = {"pseudonym": b64(pseudonym(vault.pseudonym_key, decision.person_id))}
    confirmation = "consent:" + ",".join(str(c) for c in decision.consent_ids)
    retain = _add_years(decision.at.date(), PROVISION_RETENTION_YEARS)
    for provider_id, cats in sorted(by_provider.items()):
        (appended,) = ledger.append(
            session,
            [
                Entry(
                    kind="provision",
                    org=slugs.get(provider_id),
                    actor=decision.actor,
                    time=decision.at,
                    purpose=decision.purpose,
                    categories=tuple(sorted(cats)),
                    subject=subject,
                    refs={
                        "recipient": decision.organization_slug,
                        "decision": decision.ledger_index,
                        "consents": [str(c) for c in decision.consent_ids],
                    },
                )
            ],
        )
        session.add(
            ProvisionRecord(
                provider_id=provider_id,
                recipient_id=decision.organization_id,
                person_id=decision.person_id,
                purpose=decision.purpose,
                categories=" ".join(sorted(cats)),
                confirmation=confirmation,
                provided_at=decision.at,
                ledger_index=appended.index,
                retain_until=retain,
            )
        )
    session.flush()


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


#: rows per executemany when a bulk provision is recorded
_PROVISION_BATCH = 10_000


def record_bulk_provision(
    session: Session,
    pseudonym_key: bytes,
    *,
    provider: tuple[uuid.UUID, str],
    recipient: tuple[uuid.UUID, str],
    consents: Mapping[uuid.UUID, uuid.UUID],
    purpose: str,
    categories: Sequence[str],
    actor: str,
    at: datetime,
    refs: Mapping[str, object],
) -> int | None:
    """Record that data of the persons in ``consents`` (person id → the consent that allowed
    it) went from ``provider`` to ``recipient`` (id, slug) in one release (a clean-room
    answer, a linkage run): ONE ``provision`` ledger entry committing to the set of persons,
    and one APPI provision record (第三者提供記録) per person, written in chunks.  Returns the
    entry's ledger index, or None when the set is empty (nothing was provided)."""
    if not consents:
        return None
    members = tuple(pseudonym_of_bytes(pseudonym_key, p.bytes) for p in consents)
    cats = tuple(sorted(set(categories)))
    (appended,) = ledger.append(
        session,
        [
            Entry(
                kind="provision",
                org=provider[1],
                actor=actor,
                time=at,
                purpose=purpose,
                categories=cats,
                refs={"recipient": recipient[1], "bulk": True, **refs},
                members=members,
            )
        ],
    )
    retain = _add_years(at.date(), PROVISION_RETENTION_YEARS)
    people = sorted(consents.items())
    for start in range(0, len(people), _PROVISION_BATCH):
        chunk = people[start : start + _PROVISION_BATCH]
        insert_rows(
            session,
            ProvisionRecord.__table__,  # type: ignore[arg-type]
            [
                {
                    "id": row_id,
                    "provider_id": provider[0],
                    "recipient_id": recipient[0],
                    "person_id": person_id,
                    "purpose": purpose,
                    "categories": " ".join(cats),
                    "confirmation": f"consent:{consent_id}",
                    "provided_at": at,
                    "ledger_index": appended.index,
                    "retain_until": retain,
                }
                for row_id, (person_id, consent_id) in zip(bulk_ids(len(chunk)), chunk, strict=True)
            ],
        )
    return appended.index


@dataclass(frozen=True)
class ProvisionRelease:
    """One bulk release as the provider's privacy officer sees it: never per person."""

    provided_at: datetime
    ledger_index: int | None
    categories: str
    retain_until: date
    persons: int


def provision_releases(
    session: Session,
    *,
    provider_id: uuid.UUID,
    recipient_id: uuid.UUID,
    purpose: str,
    times: Sequence[datetime],
) -> list[ProvisionRelease]:
    """The provision records from ``provider_id`` to ``recipient_id`` for ``purpose`` made at
    ``times`` (the releases of one collaboration), grouped per release, newest first."""
    if not times:
        return []
    p = ProvisionRecord
    rows = session.execute(
        select(p.provided_at, p.ledger_index, p.categories, p.retain_until, func.count(p.id))
        .where(
            p.provider_id == provider_id,
            p.recipient_id == recipient_id,
            p.purpose == purpose,
            p.provided_at.in_(list(times)),
        )
        .group_by(p.provided_at, p.ledger_index, p.categories, p.retain_until)
        .order_by(p.provided_at.desc())
    ).all()
    return [
        ProvisionRelease(
            provided_at=at,
            ledger_index=index,
            categories=cats or "",
            retain_until=retain,
            persons=int(n),
        )
        for at, index, cats, retain, n in rows
    ]


# --- the person's own view -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubjectView:
    """Everything held about a person, grouped by source organization then category."""

    person: Person
    by_source: dict[str | None, dict[str, list[RecordView]]]
    erased: bool

    @property
    def count(self) -> int:
        return sum(len(v) for cats in self.by_source.values() for v in cats.values())


def subject_view(session: Session, vault: Vault, person_id: uuid.UUID) -> SubjectView:
    """The person's own access to their records (APPI art. 33): only ever called for the
    authenticated person (or their guardian), never on an organization's behalf."""
    person = get_person(session, person_id)
    erased = vault.keystore.is_destroyed(person_id)
    rows = [] if erased else _sealed_rows(session, person_id, None)
    slugs = _slugs(session, [r.source_id for r, _ in rows])
    views = _open(vault, rows, slugs, decision=None, person_id=person_id) if rows else []
    grouped: dict[str | None, dict[str, list[RecordView]]] = defaultdict(lambda: defaultdict(list))
    for view in views:
        grouped[view.source][view.category].append(view)
    return SubjectView(
        person=person,
        by_source={k: dict(v) for k, v in grouped.items()},
        erased=erased,
    )


def enter_own_record(
    session: Session,
    vault: Vault,
    person_id: uuid.UUID,
    *,
    category: str,
    payload: Mapping[str, Any],
) -> Record:
    """The person adds a record about themself (source: the person)."""
    return create_record(
        session,
        vault,
        person_id=person_id,
        category=category,
        payload=payload,
        source=None,
        source_kind="person",
        actor="person",
    )


def usage_of(session: Session, vault: Vault, person_id: uuid.UUID) -> list[dict[str, Any]]:
    """The ledger entries about the person (decoded), newest first."""
    mine = b64(pseudonym(vault.pseudonym_key, person_id))
    out: list[dict[str, Any]] = []
    for seq, leaf in ledger.entries_about(session, mine):
        item = orjson.loads(leaf)
        item["index"] = seq
        out.append(item)
    out.sort(key=lambda e: e["index"], reverse=True)
    return out


def export_archive(session: Session, vault: Vault, person_id: uuid.UUID) -> bytes:
    """A ZIP of everything about the person: ``tsunagu-export.json`` plus CSV files
    (records, consents, usage, requests).  The export itself is a ledger entry."""
    view = subject_view(session, vault, person_id)
    person = view.person
    consents = consent_service.consents_of_person(session, person_id)
    slugs = _slugs(session, [c.recipient_id for c in consents])
    purposes = consent_service.purpose_codes(session, {c.purpose_id for c in consents})
    now = utcnow()
    consent_rows: list[dict[str, Any]] = [
        {
            "id": str(c.id),
            "recipient": slugs.get(c.recipient_id),
            "purpose": purposes.get(c.purpose_id),
            "categories": consent_service.consent_categories(session, c.id),
            "state": consent_service.effective_state(c, now),
            "given_at": c.given_at.isoformat(),
            "expires_at": c.expires_at.isoformat() if c.expires_at else None,
            "ended_at": c.ended_at.isoformat() if c.ended_at else None,
            "given_by": c.given_by,
            "method": c.method,
            "receipts": [orjson.loads(r.body) for r in consent_service.receipts_of(session, c.id)],
        }
        for c in consents
    ]
    records = [v.as_json() for cats in view.by_source.values() for vs in cats.values() for v in vs]
    usage = usage_of(session, vault, person_id)
    requests = [
        request_json(r, slugs_of(session, [r.organization_id]))
        for r in requests_of(session, person_id)
    ]
    document = {
        "format": "tsunagu-export/1",
        "exported_at": now.isoformat(),
        "person": {
            "id": str(person.id),
            "family_name": person.family_name,
            "given_name": person.given_name,
            "family_name_kana": person.family_name_kana,
            "given_name_kana": person.given_name_kana,
            "birth_date": person.birth_date.isoformat() if person.birth_date else None,
            "email": person.email,
        },
        "erased": view.erased,
        "records": records,
        "consents": consent_rows,
        "usage": usage,
        "requests": requests,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tsunagu-export.json", orjson.dumps(document, option=orjson.OPT_INDENT_2))
        archive.writestr(
            "records.csv",
            _csv(
                ["id", "source", "category", "version", "collected_at", "payload"],
                (
                    [
                        r["id"],
                        r["source"] or "",
                        r["category"],
                        r["version"],
                        r["collected_at"],
                        orjson.dumps(r["payload"]).decode(),
                    ]
                    for r in records
                ),
            ),
        )
        archive.writestr(
            "consents.csv",
            _csv(
                ["id", "recipient", "purpose", "categories", "state", "given_at", "expires_at"],
                (
                    [
                        c["id"],
                        c["recipient"],
                        c["purpose"],
                        " ".join(c["categories"]),
                        c["state"],
                        c["given_at"],
                        c["expires_at"] or "",
                    ]
                    for c in consent_rows
                ),
            ),
        )
        archive.writestr(
            "usage.csv",
            _csv(
                ["index", "time", "kind", "org", "purpose", "categories"],
                (
                    [
                        u["index"],
                        u["time"],
                        u["kind"],
                        u.get("org", ""),
                        u.get("purpose", ""),
                        " ".join(u.get("categories", [])),
                    ]
                    for u in usage
                ),
            ),
        )
        archive.writestr(
            "requests.csv",
            _csv(
                ["id", "organization", "kind", "state", "created_at", "due_at"],
                (
                    [
                        r["id"],
                        r["organization"],
                        r["kind"],
                        r["state"],
                        r["created_at"],
                        r["due_at"],
                    ]
                    for r in requests
                ),
            ),
        )
    ledger.append(
        session,
        [
            Entry(
                kind="export",
                actor="person",
                time=now,
                subject={"pseudonym": b64(pseudonym(vault.pseudonym_key, person_id))},
                refs={"archive": b64(hashlib.sha256(buffer.getvalue()).digest())},
            )
        ],
    )
    return buffer.getvalue()


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV with a UTF-8 BOM, so Excel opens the Japanese text correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Erasure:
    records: int
    consents_withdrawn: int
    key_destroyed: bool
    ledger_index: int


def erase_person(
    session: Session, vault: Vault, person_id: uuid.UUID, *, actor: str = "person"
) -> Erasure:
    """Crypto-shredding: destroy the person's data key (copies of the database, backups
    included, become unreadable), delete the records, end every consent in force.  The
    erasure is a ledger entry; consent history and provision records stay as evidence."""
    get_person(session, person_id)
    destroyed = vault.keystore.destroy(person_id)
    record_ids = list(session.scalars(select(Record.id).where(Record.person_id == person_id)))
    if record_ids:
        session.execute(delete(RecordVersion).where(RecordVersion.record_id.in_(record_ids)))
        session.execute(delete(Record).where(Record.id.in_(record_ids)))
    withdrawn = 0
    now = utcnow()
    for consent in consent_service.consents_of_person(session, person_id):
        if consent_service.effective_state(consent, now) == "given":
            consent_service.withdraw_consent(
                session, vault.pseudonym_key, consent, actor=actor, now=now
            )
            withdrawn += 1
    consent_service.forget_requests(session, person_id)
    (appended,) = ledger.append(
        session,
        [
            Entry(
                kind="erasure",
                actor=actor,
                time=now,
                subject={"pseudonym": b64(pseudonym(vault.pseudonym_key, person_id))},
                refs={"records": len(record_ids), "key_destroyed": destroyed},
            )
        ],
    )
    session.flush()
    return Erasure(
        records=len(record_ids),
        consents_withdrawn=withdrawn,
        key_destroyed=destroyed,
        ledger_index=appended.index,
    )


# --- requests a person makes of an organization ----------------------------------------


def slugs_of(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    return _slugs(session, ids)


def request_json(row: SubjectRequest, slugs: Mapping[uuid.UUID, str]) -> dict[str, Any]:
    """A person's request as JSON (the export and the person's API)."""
    return {
        "id": str(row.id),
        "organization": slugs.get(row.organization_id),
        "kind": row.kind,
        "detail": row.detail,
        "state": row.state,
        "created_at": row.created_at.isoformat(),
        "due_at": row.due_at.isoformat(),
        "answered_at": row.answered_at.isoformat() if row.answered_at else None,
        "answer": row.answer,
    }


def file_request(
    session: Session,
    *,
    person_id: uuid.UUID,
    organization_id: uuid.UUID,
    kind: str,
    detail: str = "",
) -> SubjectRequest:
    """Disclosure, correction, stop using, deletion: lands in the organization's queue."""
    if kind not in REQUEST_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(REQUEST_KINDS)}")
    if not person_known_to(session, organization_id, person_id):
        raise PersonNotFound("this organization holds nothing about you")
    now = utcnow()
    row = SubjectRequest(
        person_id=person_id,
        organization_id=organization_id,
        kind=kind,
        detail=detail[:4000],
        created_at=now,
        due_at=now + REQUEST_DUE,
    )
    session.add(row)
    session.flush()
    return row


def requests_of(session: Session, person_id: uuid.UUID) -> list[SubjectRequest]:
    return list(
        session.scalars(
            select(SubjectRequest)
            .where(SubjectRequest.person_id == person_id)
            .order_by(SubjectRequest.created_at.desc())
        )
    )


def request_queue(
    session: Session, organization_id: uuid.UUID, *, state: str | None = "open"
) -> list[SubjectRequest]:
    query = select(SubjectRequest).where(SubjectRequest.organization_id == organization_id)
    if state is not None:
        query = query.where(SubjectRequest.state == state)
    return list(session.scalars(query.order_by(SubjectRequest.due_at)))


def answer_request(
    session: Session,
    organization_id: uuid.UUID,
    request_id: uuid.UUID,
    *,
    answer: str,
    actor: str,
    reject: bool = False,
) -> SubjectRequest:
    row = session.get(SubjectRequest, request_id)
    if row is None or row.organization_id != organization_id:
        raise RequestNotFound("no such request")
    if row.state != "open":
        raise InvalidInput("this request was answered already")
    if not answer.strip():
        raise InvalidInput("answer: write what was done (or why not)")
    row.state = "rejected" if reject else "answered"
    row.answer = answer
    row.answered_by = actor
    row.answered_at = utcnow()
    session.flush()
    return row


# --- APPI provision records ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvisionLine:
    provided_at: datetime
    provider: str
    recipient: str
    subject: str
    purpose: str
    categories: str
    confirmation: str
    ledger_index: int | None
    retain_until: date


def provision_records(
    session: Session,
    vault: Vault,
    organization_id: uuid.UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[ProvisionLine]:
    """Provisions the organization made or received, newest first; persons appear only
    as their ledger pseudonym (an export for a regulator carries no names)."""
    query = select(ProvisionRecord).where(
        or_(
            ProvisionRecord.provider_id == organization_id,
            ProvisionRecord.recipient_id == organization_id,
        )
    )
    if since is not None:
        query = query.where(ProvisionRecord.provided_at >= since)
    if until is not None:
        query = query.where(ProvisionRecord.provided_at < until)
    query = query.order_by(ProvisionRecord.provided_at.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.scalars(query))
    slugs = _slugs(session, [r.provider_id for r in rows] + [r.recipient_id for r in rows])
    return [
        ProvisionLine(
            provided_at=r.provided_at,
            provider=slugs.get(r.provider_id, ""),
            recipient=slugs.get(r.recipient_id, ""),
            subject=b64(pseudonym(vault.pseudonym_key, r.person_id)),
            purpose=r.purpose,
            categories=r.categories,
            confirmation=r.confirmation,
            ledger_index=r.ledger_index,
            retain_until=r.retain_until,
        )
        for r in rows
    ]


def provision_csv(lines: Sequence[ProvisionLine]) -> str:
    """The provision records as CSV (UTF-8 with BOM), in the items APPI's rules name."""
    return _csv(
        [
            "提供年月日 provided_at",
            "提供者 provider",
            "受領者 recipient",
            "本人(仮名) subject_pseudonym",
            "利用目的 purpose",
            "データ項目 data_items",
            "同意の確認 consent_confirmation",
            "台帳 ledger_index",
            "保存期限 retain_until",
        ],
        (
            [
                line.provided_at.isoformat(),
                line.provider,
                line.recipient,
                line.subject,
                line.purpose,
                line.categories,
                line.confirmation,
                "" if line.ledger_index is None else line.ledger_index,
                line.retain_until.isoformat(),
            ]
            for line in lines
        ),
    )


def purge_expired_provisions(session: Session, today: date | None = None) -> int:
    """Delete provision records past their retention (run by ``tsunagu vault purge``)."""
    today = today or utcnow().date()
    result = session.execute(delete(ProvisionRecord).where(ProvisionRecord.retain_until < today))
    return int(getattr(result, "rowcount", 0) or 0)
