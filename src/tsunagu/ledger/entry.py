"""Ledger entries: what is recorded, in one canonical byte encoding — pure, no I/O.

An entry is a JSON object canonicalised by RFC 8785 (JCS); those exact bytes are the
``leaf_input`` hashed into the tree.  Fields::

    v           1
    time        UTC instant, RFC 3339 with microseconds and "Z"
    kind        "consent.given", "access.denied", "provision", "org.<name>", …
    org         the organization's slug (the actor's organization)
    actor       "staff:<uuid>", "api_key:<uuid>", "person", "system", "witness:<name>"
    purpose     a purpose code, when the action is bound to one
    categories  sorted data categories, when any
    subject     {"pseudonym": base64 HMAC} for one person, or
                {"count": n, "root": base64 Merkle root of the sorted pseudonyms} for many
    refs        {"receipt": base64 SHA-256, "records": [...], …} — hashes, never payloads
    body        a public statement's own JSON (``org.*`` kinds only)

Never a personal payload, a name, an e-mail address or a person id in clear: a person
appears only as ``pseudonym(ledger_key, person_id)``, which the person's portal recomputes
to find their entries, and a bulk operation commits to its set of pseudonyms so each person
can be shown an inclusion proof of their own pseudonym in it.
"""

from __future__ import annotations

import base64
import hmac
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import rfc8785

from tsunagu.ledger.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes

VERSION = 1
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)*$")
KNOWN_KINDS = frozenset(
    {
        "consent.given",
        "consent.withdrawn",
        "consent.expired",
        "consent.superseded",
        "access.allowed",
        "access.denied",
        "provision",
        "erasure",
        "export",
        "cleanroom.query",
        "linkage.match",
        "linkage.proposed",
        "linkage.accepted",
        "linkage.dataset",
        "linkage.ended",
        "ledger.genesis",
    }
)
#: keys a person could be identified by; refused anywhere in an entry
FORBIDDEN_KEYS = frozenset(
    {
        "name",
        "email",
        "e-mail",
        "mail",
        "phone",
        "address",
        "person_id",
        "birth_date",
        "family_name",
        "given_name",
        "my_number",
        "payload",
    }
)


class EntryError(ValueError):
    """An entry that must not be recorded (unknown kind, personal data in clear …)."""


_PSEUDONYM_CONTEXT = b"tsunagu/person/v1\n"


def pseudonym(ledger_key: bytes, person_id: uuid.UUID) -> bytes:
    """The keyed pseudonym of a person in the ledger (HMAC-SHA-256)."""
    return pseudonym_of_bytes(ledger_key, person_id.bytes)


def pseudonym_of_bytes(ledger_key: bytes, person_id: bytes) -> bytes:
    """``pseudonym`` of a person id given as its 16 bytes (the bulk path: no UUID objects)."""
    return hmac.digest(ledger_key, _PSEUDONYM_CONTEXT + person_id, "sha256")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def subject_set_root(pseudonyms: Iterable[bytes]) -> tuple[int, bytes, list[bytes]]:
    """The count, Merkle root and sorted members of a set of pseudonyms.

    Members are sorted so the same set always gives the same root; each member is hashed as
    a leaf, so a person is shown an ordinary RFC 9162 inclusion proof of their pseudonym.
    """
    members = sorted(set(pseudonyms))
    return len(members), root_from_leaf_hashes([leaf_hash(m) for m in members]), members


def subject_set_proof(members: Sequence[bytes], member: bytes) -> tuple[int, list[bytes]]:
    """Index and inclusion proof of ``member`` in a sorted pseudonym set."""
    hashes = [leaf_hash(m) for m in members]
    index = list(members).index(member)

    def reader(level: int, idx: int) -> bytes:
        return root_from_leaf_hashes(hashes[idx << level : (idx + 1) << level])

    return index, inclusion_proof(index, len(hashes), reader)


@dataclass(frozen=True)
class Entry:
    kind: str
    org: str | None = None
    actor: str = "system"
    time: datetime | None = None
    purpose: str | None = None
    categories: tuple[str, ...] = ()
    subject: Mapping[str, Any] | None = None
    refs: Mapping[str, Any] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    #: pseudonyms of the persons a bulk entry is about; the entry commits to their set
    members: tuple[bytes, ...] = field(default=(), compare=False)

    def to_json(self, now: datetime, now_text: str | None = None) -> dict[str, Any]:
        if not KIND_PATTERN.match(self.kind):
            raise EntryError(f"malformed entry kind {self.kind!r}")
        if self.kind not in KNOWN_KINDS and not self.kind.startswith("org."):
            raise EntryError(f"unknown entry kind {self.kind!r}")
        if self.body is not None and not self.kind.startswith("org."):
            raise EntryError("only organization statements carry a body")
        if self.time is None and now_text is not None:
            time_text = now_text
        else:
            time_text = format_time(self.time or now)
        obj: dict[str, Any] = {
            "v": VERSION,
            "time": time_text,
            "kind": self.kind,
            "actor": self.actor,
        }
        if self.org is not None:
            obj["org"] = self.org
        if self.purpose is not None:
            obj["purpose"] = self.purpose
        if self.categories:
            obj["categories"] = sorted(set(self.categories))
        if self.subject is not None and self.members:
            raise EntryError("an entry is about one person or a set of persons, not both")
        if self.subject is not None:
            obj["subject"] = dict(self.subject)
        elif self.members:
            count, root, _ = subject_set_root(self.members)
            obj["subject"] = {"count": count, "root": b64(root)}
        if self.refs:
            obj["refs"] = dict(self.refs)
        if self.body is not None:
            obj["body"] = dict(self.body)
        if self.subject is not None:
            _refuse_personal_keys(self.subject)
        if self.refs:
            _refuse_personal_keys(self.refs)
        return obj

    def encode(self, now: datetime, now_text: str | None = None) -> bytes:
        """The canonical bytes (RFC 8785) that become the leaf input."""
        obj = self.to_json(now, now_text)
        # the fixed fields are strings and small integers by construction; only the
        # free-form parts decide whether the fast canonical path applies
        free = [obj[k] for k in ("subject", "refs", "body") if k in obj]
        return canonical(obj, plain=_plain(free))


_MAX_SAFE_INT = 2**53 - 1


def _plain(value: Any) -> bool:
    """True when ``orjson`` (sorting keys) already writes RFC 8785 bytes for ``value``.

    That holds for objects with BMP-only keys (so the byte order ``orjson`` sorts keys by
    equals the UTF-16 order JCS asks for), strings, booleans, null and integers within
    ±2^53 — everything but floats, whose number formatting differs.  Entries are almost
    always plain; the rest go through the ``rfc8785`` package.  A property test checks that
    both paths agree.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INT <= value <= _MAX_SAFE_INT)
    if kind is dict:
        for key, inner in value.items():
            if type(key) is not str:
                return False
            if not key.isascii() and any(ord(c) > 0xFFFF for c in key):
                return False
            if not _plain(inner):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain(inner) for inner in value)
    return False


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with microseconds, as entries record time."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(obj: Any, *, plain: bool | None = None) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value (``plain``: the caller already checked)."""
    if plain if plain is not None else _plain(obj):
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as exc:  # e.g. a lone surrogate
            raise EntryError(f"entry cannot be canonicalised: {exc}") from exc
    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EntryError(f"entry cannot be canonicalised: {exc}") from exc


def _refuse_personal_keys(value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if str(key).lower() in FORBIDDEN_KEYS:
                raise EntryError(f"personal data field {key!r} may not enter the ledger")
            _refuse_personal_keys(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _refuse_personal_keys(inner)


def single_subject(ledger_key: bytes, person_id: uuid.UUID) -> dict[str, str]:
    return {"pseudonym": b64(pseudonym(ledger_key, person_id))}


def bulk_subject(ledger_key: bytes, person_ids: Iterable[uuid.UUID]) -> dict[str, Any]:
    count, root, _ = subject_set_root(pseudonym(ledger_key, p) for p in person_ids)
    return {"count": count, "root": b64(root)}
