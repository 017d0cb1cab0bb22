"""Contacts of the pipeline: the persons of the vault behind CRM entities.

An entity (``CrmEntity``) names its contact by ``person_id`` only; the CRM copies no
contact detail.  Where the details live:

* the e-mail address, phone number and postal address an organization holds about a
  person are **vault records** (``contact.email``, ``contact.phone``, ``contact.address``,
  sealed; ``vault.service.register_person`` turns the e-mail it is given into a
  ``contact.email`` record).  ``identity.Person.email`` is the person's own sign-in for the
  portal, not the organization's data, and is never read here;
* the name is on ``identity.Person`` (the vault's person API shows it to an organization
  that knows the person); it is returned only together with an allowed read.

Both doors go through the consent decision point (``consent.decision``) and every
decision is a ledger entry in the caller's transaction:

* ``read_contact`` — one person: ``vault.service.read_records`` asks ``evaluate``,
  records the decision (with the digests of the versions read) and opens the seals only
  when it allows.  ``None`` means denied.
* ``audience`` — many entities: **one** ``decide_many`` for the persons behind them (one
  SQL statement, one ledger entry per outcome), never a loop of single decisions.  The
  answer is the entities whose person's consent covers the purpose and categories *now*,
  so a person who withdraws leaves every audience by themself — no campaign is edited.
  An entity without a person is never in an audience.

``audience(..., record=False)`` is the dry count the decision module allows for a number
that reads no data (the campaign page's "N of M may be contacted"); every list of who may
be contacted is recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tsunagu.consent import decision as pdp
from tsunagu.consent import service as consent_service
from tsunagu.crm.models import CrmEntity
from tsunagu.identity.models import Organization, Person
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

#: what a campaign reads of its audience unless it says otherwise
DEFAULT_CATEGORIES: tuple[str, ...] = ("contact.email",)


@dataclass(frozen=True, slots=True)
class Contact:
    """A person's contact details as one allowed read returned them."""

    person_id: uuid.UUID
    family_name: str
    given_name: str
    #: category → payload of each record read (``{"contact.email": {"email": …}}``)
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: the ledger index of the allowing decision
    ledger_index: int | None = None

    @property
    def email(self) -> str | None:
        payload = self.records.get("contact.email")
        value = payload.get("email") if payload else None
        return value if isinstance(value, str) else None


def _reader(session: Session, organization_id: uuid.UUID) -> pdp.Reader:
    slug = session.scalar(select(Organization.slug).where(Organization.id == organization_id))
    if slug is None:
        raise ValueError(f"no organization with id {organization_id}")
    return pdp.Reader(organization_id, slug)


def read_contact(
    session: Session,
    vault: Vault,
    *,
    organization_id: uuid.UUID,
    person_id: uuid.UUID,
    actor: str,
    purpose: str = "marketing",
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    at: datetime | None = None,
) -> Contact | None:
    """The person's contact details for ``purpose``, or ``None`` when the decision point
    denies (the decision is in the ledger either way)."""
    read = vault_service.read_records(
        session,
        vault,
        _reader(session, organization_id),
        person_id,
        purpose=purpose,
        categories=categories,
        actor=actor,
        at=at,
    )
    if not read.decision.allow:
        return None
    person = session.get(Person, person_id)
    if person is None:  # pragma: no cover - an allowed decision needs the person's consent
        return None
    return Contact(
        person_id=person_id,
        family_name=person.family_name,
        given_name=person.given_name,
        records={r.category: r.payload for r in read.records},
        ledger_index=read.decision.ledger_index,
    )


@dataclass(frozen=True, slots=True)
class Audience:
    """Who of a set of entities may be contacted now: ``allowed`` ⊆ the entities asked."""

    asked: int
    allowed: tuple[uuid.UUID, ...]
    ledger_indexes: tuple[int, ...] = ()


def decide_audience(
    session: Session,
    pseudonym_key: bytes,
    *,
    organization_id: uuid.UUID,
    entity_ids: Iterable[uuid.UUID] | Select[Any],
    actor: str,
    purpose: str = "marketing",
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    at: datetime | None = None,
    record: bool = True,
) -> Audience:
    """The entities of the organization among ``entity_ids`` (ids, or a select of ids such
    as a campaign's members) whose person may be contacted for ``purpose`` — one bulk
    decision; entities of other organizations count as absent."""
    cats = consent_service.check_categories(session, categories)
    consent_service.resolve_purpose(session, organization_id, purpose)
    if isinstance(entity_ids, Select):
        chosen_ids: Any = entity_ids.scalar_subquery()
    else:
        chosen_ids = list(set(entity_ids))
        if not chosen_ids:
            return Audience(asked=0, allowed=())
    rows = session.execute(
        select(CrmEntity.id, CrmEntity.person_id).where(
            CrmEntity.organization_id == organization_id, CrmEntity.id.in_(chosen_ids)
        )
    ).all()
    persons = {person for _, person in rows if person is not None}
    if not persons:
        return Audience(asked=len(rows), allowed=())
    batch = pdp.decide_many(
        session,
        pseudonym_key,
        _reader(session, organization_id),
        purpose,
        cats,
        actor=actor,
        person_ids=persons,
        at=at,
        record_entries=record,
    )
    allowed = batch.allowed_raw.keys()
    chosen = sorted(
        (entity for entity, person in rows if person is not None and person.bytes in allowed),
        key=str,
    )
    return Audience(asked=len(rows), allowed=tuple(chosen), ledger_indexes=batch.ledger_indexes)


def audience(
    session: Session,
    vault: Vault,
    *,
    organization_id: uuid.UUID,
    entity_ids: Iterable[uuid.UUID],
    actor: str,
    purpose: str = "marketing",
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    at: datetime | None = None,
) -> list[uuid.UUID]:
    """The entity ids allowed now (one recorded bulk decision); see ``decide_audience``."""
    return list(
        decide_audience(
            session,
            vault.pseudonym_key,
            organization_id=organization_id,
            entity_ids=entity_ids,
            actor=actor,
            purpose=purpose,
            categories=categories,
            at=at,
        ).allowed
    )


__all__ = [
    "DEFAULT_CATEGORIES",
    "Audience",
    "Contact",
    "audience",
    "decide_audience",
    "read_contact",
]
