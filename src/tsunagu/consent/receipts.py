"""Consent receipts: what a person is handed for every consent change — pure, no I/O.

Each change of a consent (given, withdrawn, expired, superseded) issues one receipt, built
from a frozen :class:`ReceiptFacts` and written in two forms:

``iso27560_receipt``
    aligned with ISO/IEC TS 27560:2023 (consent record information structure), following
    the W3C DPV profile ``dpv-27560`` (https://w3id.org/dpv/guides/consent-27560)::

        header        schema_version, conforms_to, receipt_id, record_id,
                      pii_principal_id, issued_at, record_state, jurisdiction, language
        notice        recorded, notice_id (RFC 6920 ni: URI of the text's SHA-256), sha256,
                      version, language[, url] — or only ``recorded: false`` where no
                      notice was recorded (ISO 27560 expects one: always pass it)
        presentation  how the notice was shown and consent expressed: collection_method,
                      given_by, consent_type, language
        processing    privacy_notice, language, purposes[{purpose, purpose_type,
                      labels, lawful_basis, pii_information[{pii_type, sensitive,
                      labels}], pii_controllers, recipient_third_parties,
                      collection_method, storage_locations, retention_period,
                      jurisdiction, withdrawal_method}]
        parties       [{party_id, party_name, party_roles, party_type, party_contact,
                      party_url?, party_email?, party_phone?, party_address?}]
        events        [{event_time, event_type, event_state, entity_role, entity_id,
                      validity_duration, valid_until?, supersedes?, superseded_by?}]

    Field names are the 27560 information fields in snake_case.  The events list always
    holds the "given" event and, for an ended consent, the event that ended it — so a
    withdrawal receipt carries the withdrawal.

``kantara_receipt``
    the same consent as a Kantara Initiative Consent Receipt Specification v1.1 JSON
    (``KI-CR-v1.1.0``), for tools that read that older format.

``receipt_hash`` is the SHA-256 of a receipt's RFC 8785 bytes; the ledger entry of the
change carries it (``refs.receipt``), so the receipt a person holds can be checked against
the public log.  ``validate_receipt`` lists what is wrong with a receipt given as input.

What must stay true: a receipt never names the person.  The person appears only as the
ledger pseudonym (base64 HMAC-SHA-256, :func:`tsunagu.ledger.entry.pseudonym`);
:class:`ReceiptFacts` refuses anything else as ``subject_pseudonym``, and it has no field a
name, an e-mail address or a person id could travel in.  The contact details in a receipt
are the organizations' own.  Times are RFC 3339 in UTC.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, get_args

from tsunagu.core.errors import InvalidInput
from tsunagu.ledger.entry import canonical, format_time

__all__ = [
    "ISO_SCHEMA_VERSION",
    "KANTARA_VERSION",
    "Category",
    "ConsentState",
    "GivenBy",
    "InvalidReceipt",
    "Notice",
    "Party",
    "Purpose",
    "ReceiptFacts",
    "iso27560_receipt",
    "kantara_receipt",
    "receipt_hash",
    "require_valid_receipt",
    "validate_receipt",
]

GivenBy = Literal["person", "guardian", "organization"]
ConsentState = Literal["given", "withdrawn", "expired", "superseded"]
EventActor = Literal["person", "guardian", "organization", "system"]
Language = Literal["ja", "en"]

ISO_SCHEMA_VERSION: Final = "tsunagu-27560/1"
ISO_CONFORMS_TO: Final = (
    "ISO/IEC TS 27560:2023",
    "https://w3id.org/dpv/schema/dpv-27560#receipt",
)
KANTARA_VERSION: Final = "KI-CR-v1.1.0"
DPV: Final = "https://w3id.org/dpv#"
#: what Kantara v1.1 requires but a party did not give us; visibly "not available", and
#: never anything personal
NOT_AVAILABLE: Final = "n/a"

_GIVEN_BY: Final = frozenset(get_args(GivenBy))
_STATES: Final = frozenset(get_args(ConsentState))
_ACTORS: Final = frozenset(get_args(EventActor))
_LANGUAGES: Final = frozenset(get_args(Language))
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
_JURISDICTION = re.compile(r"^[A-Z]{2}$")
_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
#: the DPV role of each party role a receipt names
_ROLE_IRI: Final = {
    "controller": DPV + "DataController",
    "recipient": DPV + "Recipient",
    "recorder": DPV + "LegalEntity",
}
_GIVEN_BY_ROLE: Final = {
    "person": "pii_principal",
    "guardian": "guardian",
    "organization": "controller",
}
_STATE_IRI: Final = {
    "given": DPV + "ConsentGiven",
    "withdrawn": DPV + "ConsentWithdrawn",
    "expired": DPV + "ConsentExpired",
    "superseded": DPV + "ConsentInvalidated",
}


class InvalidReceipt(InvalidInput):
    """Receipt facts or a receipt that cannot be issued or accepted (422)."""

    code = "invalid_receipt"
    title = "Invalid consent receipt"


@dataclass(frozen=True)
class Party:
    """An organization named in a receipt (controller, recipient, recorder).

    Only the organization's own, public contact details: never a staff member's.
    """

    slug: str
    name: str
    url: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    #: the desk to contact, e.g. "個人情報保護窓口 / Privacy desk"
    contact: str | None = None

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise InvalidReceipt(f"malformed organization slug {self.slug!r}")
        if not self.name.strip():
            raise InvalidReceipt(f"organization {self.slug!r} has no name")


@dataclass(frozen=True)
class Purpose:
    """The purpose consented to, with its W3C DPV concept where one fits."""

    code: str
    label_ja: str
    label_en: str
    dpv_iri: str | None = None
    #: part of the core service the person asked for (Kantara ``primaryPurpose``)
    primary: bool = False

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise InvalidReceipt(f"malformed purpose code {self.code!r}")


@dataclass(frozen=True)
class Category:
    """A data category in scope; ``sensitive`` marks 要配慮個人情報 (special care data)."""

    code: str
    label_ja: str
    label_en: str
    sensitive: bool = False

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise InvalidReceipt(f"malformed category code {self.code!r}")


@dataclass(frozen=True)
class Notice:
    """The exact notice shown when consent was asked: its text's hash and version."""

    sha256: str
    version: str
    language: Language
    url: str | None = None

    def __post_init__(self) -> None:
        if not _SHA256_HEX.match(self.sha256):
            raise InvalidReceipt("notice sha256 must be 64 lower-case hex digits")
        if not self.version.strip():
            raise InvalidReceipt("notice version is empty")
        if self.language not in _LANGUAGES:
            raise InvalidReceipt(f"unsupported notice language {self.language!r}")

    @property
    def notice_id(self) -> str:
        """RFC 6920 named-information URI of the notice text (``ni:///sha-256;…``)."""
        digest = base64.urlsafe_b64encode(bytes.fromhex(self.sha256)).rstrip(b"=").decode()
        return f"ni:///sha-256;{digest}"


@dataclass(frozen=True)
class ReceiptFacts:
    """Everything one receipt states: one consent, at one change of its state."""

    receipt_id: str
    consent_id: str
    #: base64 of the 32-byte ledger pseudonym; never a name, e-mail or person id
    subject_pseudonym: str
    given_by: GivenBy
    controller: Party
    recipient: Party
    #: the organization that recorded the consent; ``None``: the person, in the portal
    recorded_by: Party | None
    purpose: Purpose
    categories: tuple[Category, ...]
    #: how the notice was shown and consent expressed: "portal", "web-form", "paper",
    #: "api", "verbal", …
    method: str
    #: the notice shown; ``None`` only where none was recorded (ISO 27560 expects one)
    notice: Notice | None
    state: ConsentState
    #: when this change happened (equals ``given_at`` for the "given" receipt)
    event_time: datetime
    given_at: datetime
    expires_at: datetime | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    #: who caused the change; by default the giver for "given" and "superseded", the
    #: person for "withdrawn", the system for "expired"
    event_by: EventActor | None = None
    legal_basis: Literal["consent"] = "consent"
    jurisdiction: str = "JP"
    language: Language = "ja"
    #: where the data is kept (ISO "storage locations"), ISO 3166 codes
    storage_locations: tuple[str, ...] = field(default=("JP",))

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise InvalidReceipt(
                "consent receipt facts are invalid: " + "; ".join(problems),
                errors=[{"message": p} for p in problems],
            )

    def problems(self) -> list[str]:
        found: list[str] = []
        for name in ("receipt_id", "consent_id"):
            if not _is_uuid(getattr(self, name)):
                found.append(f"{name} is not a UUID")
        for name in ("supersedes", "superseded_by"):
            value = getattr(self, name)
            if value is not None and not _is_uuid(value):
                found.append(f"{name} is not a UUID")
        if not _is_pseudonym(self.subject_pseudonym):
            found.append("subject_pseudonym is not a base64 32-byte pseudonym")
        if self.given_by not in _GIVEN_BY:
            found.append(f"given_by {self.given_by!r} is not one of {sorted(_GIVEN_BY)}")
        if self.state not in _STATES:
            found.append(f"state {self.state!r} is not one of {sorted(_STATES)}")
        if self.event_by is not None and self.event_by not in _ACTORS:
            found.append(f"event_by {self.event_by!r} is not one of {sorted(_ACTORS)}")
        if self.legal_basis != "consent":
            found.append("legal_basis of a consent receipt is 'consent'")
        if self.language not in _LANGUAGES:
            found.append(f"language {self.language!r} is not one of {sorted(_LANGUAGES)}")
        if not _JURISDICTION.match(self.jurisdiction):
            found.append("jurisdiction is not an ISO 3166 alpha-2 code")
        if not all(_JURISDICTION.match(loc) for loc in self.storage_locations):
            found.append("storage_locations are not ISO 3166 alpha-2 codes")
        if not self.method.strip():
            found.append("method is empty")
        if not self.categories:
            found.append("no data categories")
        codes = [c.code for c in self.categories]
        if len(set(codes)) != len(codes):
            found.append("a data category appears twice")
        times = {"event_time": self.event_time, "given_at": self.given_at}
        if self.expires_at is not None:
            times["expires_at"] = self.expires_at
        naive = [name for name, value in times.items() if value.utcoffset() is None]
        found.extend(f"{name} is a naive datetime" for name in naive)
        if not naive:
            if self.event_time < self.given_at:
                found.append("event_time is before given_at")
            if self.expires_at is not None and self.expires_at <= self.given_at:
                found.append("expires_at is not after given_at")
        return found

    @property
    def actor(self) -> EventActor:
        if self.event_by is not None:
            return self.event_by
        if self.state == "withdrawn":
            return "person"
        if self.state == "expired":
            return "system"
        return self.given_by

    @property
    def sensitive_codes(self) -> list[str]:
        return sorted(c.code for c in self.categories if c.sensitive)

    @property
    def third_party_disclosure(self) -> bool:
        return self.recipient.slug != self.controller.slug


# ---------------------------------------------------------------------------------------
# ISO/IEC TS 27560


def iso27560_receipt(facts: ReceiptFacts) -> dict[str, Any]:
    """The receipt aligned with ISO/IEC TS 27560:2023 (groups listed in the module doc)."""
    categories = sorted(facts.categories, key=lambda c: c.code)
    purpose: dict[str, Any] = {
        "purpose": facts.purpose.code,
        "labels": {"ja": facts.purpose.label_ja, "en": facts.purpose.label_en},
        "lawful_basis": DPV + "Consent",
        "pii_information": [
            {
                "pii_type": c.code,
                "sensitive": c.sensitive,
                "labels": {"ja": c.label_ja, "en": c.label_en},
            }
            for c in categories
        ],
        "pii_controllers": [facts.controller.slug],
        "recipient_third_parties": ([facts.recipient.slug] if facts.third_party_disclosure else []),
        "collection_method": facts.method,
        "storage_locations": sorted(set(facts.storage_locations)),
        "retention_period": {
            "until": _time(facts.expires_at) if facts.expires_at is not None else None,
            "rule": "until withdrawal, expiry or erasure",
        },
        "jurisdiction": facts.jurisdiction,
        "withdrawal_method": {
            "ja": "個人ポータルからいつでも撤回でき、撤回は直ちに効力を生じます。",
            "en": "Withdraw at any time in the personal portal; it takes effect at once.",
        },
    }
    if facts.purpose.dpv_iri is not None:
        purpose["purpose_type"] = facts.purpose.dpv_iri
    if facts.sensitive_codes:
        purpose["sensitive_pii_categories"] = facts.sensitive_codes
    notice_id = facts.notice.notice_id if facts.notice else None

    return {
        "header": {
            "schema_version": ISO_SCHEMA_VERSION,
            "conforms_to": list(ISO_CONFORMS_TO),
            "receipt_id": facts.receipt_id,
            "record_id": facts.consent_id,
            "pii_principal_id": facts.subject_pseudonym,
            "issued_at": _time(facts.event_time),
            "record_state": facts.state,
            "jurisdiction": facts.jurisdiction,
            "language": facts.language,
        },
        "notice": _notice(facts.notice),
        "presentation": {
            "collection_method": facts.method,
            "given_by": facts.given_by,
            "consent_type": DPV + "ExpressedConsent",
            "notice_id": notice_id,
            "language": facts.notice.language if facts.notice else facts.language,
        },
        "processing": {
            "privacy_notice": notice_id,
            "language": facts.language,
            "purposes": [purpose],
        },
        "parties": _parties(facts),
        "events": _events(facts),
    }


def _notice(notice: Notice | None) -> dict[str, Any]:
    if notice is None:
        return {"recorded": False}
    out: dict[str, Any] = {
        "recorded": True,
        "notice_id": notice.notice_id,
        "sha256": notice.sha256,
        "version": notice.version,
        "language": notice.language,
    }
    if notice.url is not None:
        out["url"] = notice.url
    return out


def _parties(facts: ReceiptFacts) -> list[dict[str, Any]]:
    """One entry per organization, with every role it plays in this consent."""
    roles: dict[str, set[str]] = {}
    by_slug: dict[str, Party] = {}
    named = [("controller", facts.controller), ("recipient", facts.recipient)]
    if facts.recorded_by is not None:
        named.append(("recorder", facts.recorded_by))
    for role, party in named:
        roles.setdefault(party.slug, set()).add(role)
        by_slug.setdefault(party.slug, party)
    out: list[dict[str, Any]] = []
    for slug in sorted(by_slug):
        party = by_slug[slug]
        role_list = sorted(roles[slug])
        entry: dict[str, Any] = {
            "party_id": slug,
            "party_name": party.name,
            "party_roles": role_list,
            "party_role_iris": [_ROLE_IRI[r] for r in role_list],
            "party_type": DPV + "Organisation",
            "party_contact": party.contact or party.email or party.url or NOT_AVAILABLE,
        }
        for key, value in (
            ("party_url", party.url),
            ("party_email", party.email),
            ("party_phone", party.phone),
            ("party_address", party.address),
        ):
            if value is not None:
                entry[key] = value
        out.append(entry)
    return out


def _events(facts: ReceiptFacts) -> list[dict[str, Any]]:
    given: dict[str, Any] = {
        "event_time": _time(facts.given_at),
        "event_type": DPV + "ExpressedConsent",
        "event_state": "given",
        "event_state_iri": _STATE_IRI["given"],
        **_entity(facts, facts.given_by),
        "validity_duration": _duration(facts.given_at, facts.expires_at),
    }
    if facts.expires_at is not None:
        given["valid_until"] = _time(facts.expires_at)
    if facts.supersedes is not None:
        given["supersedes"] = facts.supersedes
    events = [given]
    if facts.state != "given":
        ended: dict[str, Any] = {
            "event_time": _time(facts.event_time),
            "event_type": DPV + "ExpressedConsent",
            "event_state": facts.state,
            "event_state_iri": _STATE_IRI[facts.state],
            **_entity(facts, facts.actor),
            "validity_duration": "PT0S",
        }
        if facts.superseded_by is not None:
            ended["superseded_by"] = facts.superseded_by
        events.append(ended)
    return events


def _entity(facts: ReceiptFacts, actor: EventActor) -> dict[str, str]:
    """Who acted: the person by pseudonym, an organization by slug, or the system."""
    if actor == "person":
        return {"entity_role": "pii_principal", "entity_id": facts.subject_pseudonym}
    if actor == "guardian":
        # the guardian acts for the person; the receipt still names only the person
        return {"entity_role": "guardian", "entity_id": facts.subject_pseudonym}
    if actor == "organization":
        party = facts.recorded_by or facts.controller
        return {"entity_role": "controller", "entity_id": party.slug}
    return {"entity_role": "system", "entity_id": "tsunagu"}


def _duration(start: datetime, end: datetime | None) -> str:
    """ISO 8601 duration from ``start`` to ``end``; "until-withdrawn" when open-ended."""
    if end is None:
        return "until-withdrawn"
    span = max(end - start, timedelta(0))
    days, seconds = span.days, span.seconds
    text = "P"
    if days:
        text += f"{days}D"
    if seconds or not days:
        text += f"T{seconds}S"
    return text


# ---------------------------------------------------------------------------------------
# Kantara Consent Receipt v1.1


def kantara_receipt(facts: ReceiptFacts) -> dict[str, Any]:
    """The consent as a Kantara Initiative Consent Receipt v1.1 (``KI-CR-v1.1.0``).

    Where v1.1 requires a field we hold no data for:

    * ``contact``, ``email``, ``phone`` of a controller without them: ``"n/a"``;
      ``address`` is an object with ``addressCountry`` (the jurisdiction) and
      ``streetAddress`` when known.
    * ``policyUrl`` without a notice URL: the notice's RFC 6920 ``ni:`` URI (the SHA-256
      of the exact notice text), which identifies the text shown; without any notice, the
      controller's URL, else ``"n/a"``.
    * ``consentTimestamp``: integer epoch seconds of when consent was *given*; v1.1 has no
      consent state, so an ended consent says so in each purpose's ``termination`` text
      (the ISO receipt's ``events`` is the authoritative history).
    * ``consentType`` is ``"EXPLICIT"``: tsunagu only records consent expressed by an act.
    * ``piiPrincipalId`` is the ledger pseudonym, never a name, e-mail or person id.
    """
    controllers = [_kantara_controller(facts.controller, facts.jurisdiction)]
    purpose: dict[str, Any] = {
        "purpose": facts.purpose.label_en if facts.language == "en" else facts.purpose.label_ja,
        "purposeCategory": [facts.purpose.dpv_iri or facts.purpose.code],
        "consentType": "EXPLICIT",
        "piiCategory": sorted(c.code for c in facts.categories),
        "primaryPurpose": facts.purpose.primary,
        "termination": _termination(facts),
        "thirdPartyDisclosure": facts.third_party_disclosure,
    }
    if facts.third_party_disclosure:
        purpose["thirdPartyName"] = facts.recipient.name
    receipt: dict[str, Any] = {
        "version": KANTARA_VERSION,
        "jurisdiction": facts.jurisdiction,
        "consentTimestamp": int(facts.given_at.timestamp()),
        "collectionMethod": facts.method,
        "consentReceiptID": facts.receipt_id,
        "language": facts.language,
        "piiPrincipalId": facts.subject_pseudonym,
        "piiControllers": controllers,
        "policyUrl": _policy_url(facts),
        "services": [{"service": facts.recipient.name, "purposes": [purpose]}],
        "sensitive": bool(facts.sensitive_codes),
        "spiCat": facts.sensitive_codes,
    }
    return receipt


def _policy_url(facts: ReceiptFacts) -> str:
    if facts.notice is not None:
        return facts.notice.url or facts.notice.notice_id
    return facts.controller.url or NOT_AVAILABLE


def _kantara_controller(party: Party, jurisdiction: str) -> dict[str, Any]:
    address: dict[str, str] = {"addressCountry": jurisdiction}
    if party.address is not None:
        address["streetAddress"] = party.address
    controller: dict[str, Any] = {
        "piiController": party.name,
        "contact": party.contact or NOT_AVAILABLE,
        "address": address,
        "email": party.email or NOT_AVAILABLE,
        "phone": party.phone or NOT_AVAILABLE,
    }
    if party.url is not None:
        controller["piiControllerUrl"] = party.url
    return controller


def _termination(facts: ReceiptFacts) -> str:
    rule = "Withdraw at any time in the personal portal; effective immediately."
    if facts.expires_at is not None:
        rule += f" Expires at {_time(facts.expires_at)}."
    if facts.state != "given":
        rule = f"Ended ({facts.state}) at {_time(facts.event_time)}. " + rule
    return rule


# ---------------------------------------------------------------------------------------
# hashing and validation


def receipt_hash(receipt: Mapping[str, Any]) -> bytes:
    """SHA-256 of the receipt's RFC 8785 canonical bytes (what the ledger entry carries)."""
    return hashlib.sha256(canonical(dict(receipt))).digest()


def require_valid_receipt(receipt: Any) -> None:
    """Raise :class:`InvalidReceipt` (422) listing every problem ``validate_receipt`` finds."""
    problems = validate_receipt(receipt)
    if problems:
        raise InvalidReceipt(
            "malformed consent receipt: " + "; ".join(problems),
            errors=[{"message": p} for p in problems],
        )


def validate_receipt(receipt: Any) -> list[str]:
    """What is wrong with a receipt (ISO 27560 or Kantara v1.1 form); empty when fine."""
    if not isinstance(receipt, Mapping):
        return ["receipt: not a JSON object"]
    if "header" in receipt or "events" in receipt or "processing" in receipt:
        return _validate_iso(receipt)
    if "version" in receipt or "consentReceiptID" in receipt:
        return _validate_kantara(receipt)
    return ["receipt: neither an ISO/IEC TS 27560 nor a Kantara v1.1 receipt"]


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def group(self, obj: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
        value = obj.get(key)
        where = f"{path}{key}"
        if key not in obj:
            self.problems.append(f"{where}: missing")
        elif not isinstance(value, Mapping):
            self.problems.append(f"{where}: not an object")
        else:
            return value
        return {}

    def items(self, obj: Mapping[str, Any], key: str, path: str = "") -> list[Any]:
        value = obj.get(key)
        where = f"{path}{key}"
        if key not in obj:
            self.problems.append(f"{where}: missing")
        elif not isinstance(value, list):
            self.problems.append(f"{where}: not a list")
        elif not value:
            self.problems.append(f"{where}: empty")
        else:
            return value
        return []

    def objects(self, obj: Mapping[str, Any], key: str, path: str = "") -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        for i, item in enumerate(self.items(obj, key, path)):
            if isinstance(item, Mapping):
                out.append(item)
            else:
                self.problems.append(f"{path}{key}[{i}]: not an object")
        return out

    def text(self, obj: Mapping[str, Any], key: str, path: str) -> str | None:
        value = obj.get(key)
        if key not in obj:
            self.problems.append(f"{path}{key}: missing")
        elif not isinstance(value, str) or not value.strip():
            self.problems.append(f"{path}{key}: not a non-empty string")
        else:
            return value
        return None

    def flag(self, obj: Mapping[str, Any], key: str, path: str) -> None:
        if key not in obj:
            self.problems.append(f"{path}{key}: missing")
        elif not isinstance(obj[key], bool):
            self.problems.append(f"{path}{key}: not a boolean")

    def strings(self, obj: Mapping[str, Any], key: str, path: str, *, empty: bool) -> None:
        value = obj.get(key)
        if key not in obj:
            self.problems.append(f"{path}{key}: missing")
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{path}{key}: not a list of strings")
        elif not value and not empty:
            self.problems.append(f"{path}{key}: empty")

    def time(self, obj: Mapping[str, Any], key: str, path: str) -> None:
        value = self.text(obj, key, path)
        if value is not None and not _is_utc_time(value):
            self.problems.append(f"{path}{key}: not an RFC 3339 UTC time")

    def uuid(self, obj: Mapping[str, Any], key: str, path: str) -> None:
        value = self.text(obj, key, path)
        if value is not None and not _is_uuid(value):
            self.problems.append(f"{path}{key}: not a UUID")


def _validate_iso(receipt: Mapping[str, Any]) -> list[str]:
    check = _Checker()
    header = check.group(receipt, "header")
    if header:
        check.text(header, "schema_version", "header.")
        check.uuid(header, "receipt_id", "header.")
        check.uuid(header, "record_id", "header.")
        principal = check.text(header, "pii_principal_id", "header.")
        if principal is not None and not _is_pseudonym(principal):
            check.problems.append("header.pii_principal_id: not a base64 32-byte pseudonym")
        check.time(header, "issued_at", "header.")
        state = check.text(header, "record_state", "header.")
        if state is not None and state not in _STATES:
            check.problems.append(f"header.record_state: not one of {sorted(_STATES)}")
        check.text(header, "jurisdiction", "header.")
        check.text(header, "language", "header.")

    notice = check.group(receipt, "notice")
    if notice and notice.get("recorded") is not False:
        check.text(notice, "notice_id", "notice.")
        digest = check.text(notice, "sha256", "notice.")
        if digest is not None and not _SHA256_HEX.match(digest):
            check.problems.append("notice.sha256: not 64 lower-case hex digits")
        check.text(notice, "version", "notice.")

    processing = check.group(receipt, "processing")
    if processing:
        if notice.get("recorded") is not False:
            check.text(processing, "privacy_notice", "processing.")
        check.text(processing, "language", "processing.")
        for i, purpose in enumerate(check.objects(processing, "purposes", "processing.")):
            at = f"processing.purposes[{i}]."
            check.text(purpose, "purpose", at)
            check.text(purpose, "lawful_basis", at)
            for j, pii in enumerate(check.objects(purpose, "pii_information", at)):
                check.text(pii, "pii_type", f"{at}pii_information[{j}].")
                check.flag(pii, "sensitive", f"{at}pii_information[{j}].")
            check.strings(purpose, "pii_controllers", at, empty=False)
            check.strings(purpose, "recipient_third_parties", at, empty=True)
            check.text(purpose, "jurisdiction", at)
            check.strings(purpose, "storage_locations", at, empty=False)
            if "retention_period" not in purpose:
                check.problems.append(f"{at}retention_period: missing")
            if "withdrawal_method" not in purpose:
                check.problems.append(f"{at}withdrawal_method: missing")

    for i, party in enumerate(check.objects(receipt, "parties")):
        at = f"parties[{i}]."
        check.text(party, "party_id", at)
        check.text(party, "party_name", at)
        check.strings(party, "party_roles", at, empty=False)
        check.text(party, "party_type", at)
        check.text(party, "party_contact", at)

    for i, event in enumerate(check.objects(receipt, "events")):
        at = f"events[{i}]."
        check.time(event, "event_time", at)
        check.text(event, "event_type", at)
        state = check.text(event, "event_state", at)
        if state is not None and state not in _STATES:
            check.problems.append(f"{at}event_state: not one of {sorted(_STATES)}")
        check.text(event, "entity_id", at)
        check.text(event, "validity_duration", at)
    return check.problems


def _validate_kantara(receipt: Mapping[str, Any]) -> list[str]:
    check = _Checker()
    version = check.text(receipt, "version", "")
    if version is not None and version != KANTARA_VERSION:
        check.problems.append(f"version: not {KANTARA_VERSION!r}")
    check.text(receipt, "jurisdiction", "")
    stamp = receipt.get("consentTimestamp")
    if "consentTimestamp" not in receipt:
        check.problems.append("consentTimestamp: missing")
    elif isinstance(stamp, bool) or not isinstance(stamp, int):
        check.problems.append("consentTimestamp: not an integer (epoch seconds)")
    check.text(receipt, "collectionMethod", "")
    check.uuid(receipt, "consentReceiptID", "")
    check.text(receipt, "piiPrincipalId", "")
    check.text(receipt, "policyUrl", "")
    for i, controller in enumerate(check.objects(receipt, "piiControllers")):
        at = f"piiControllers[{i}]."
        for key in ("piiController", "contact", "email", "phone"):
            check.text(controller, key, at)
        check.group(controller, "address", at)
    for i, service in enumerate(check.objects(receipt, "services")):
        at = f"services[{i}]."
        check.text(service, "service", at)
        for j, purpose in enumerate(check.objects(service, "purposes", at)):
            pat = f"{at}purposes[{j}]."
            check.text(purpose, "purpose", pat)
            check.strings(purpose, "purposeCategory", pat, empty=False)
            check.text(purpose, "consentType", pat)
            check.strings(purpose, "piiCategory", pat, empty=False)
            check.text(purpose, "termination", pat)
            check.flag(purpose, "thirdPartyDisclosure", pat)
            if purpose.get("thirdPartyDisclosure") is True:
                check.text(purpose, "thirdPartyName", pat)
    check.flag(receipt, "sensitive", "")
    check.strings(receipt, "spiCat", "", empty=True)
    if receipt.get("sensitive") is True and not receipt.get("spiCat"):
        check.problems.append("spiCat: empty although sensitive is true")
    return check.problems


# ---------------------------------------------------------------------------------------
# small helpers


def _time(value: datetime) -> str:
    return format_time(value.astimezone(UTC))


def _is_utc_time(value: str) -> bool:
    if not _RFC3339_UTC.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _is_pseudonym(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False
