"""Private set intersection against a collaboration: the platform answers for the provider.

The recipient (e.g. the maker) keeps its member list on its own machine and runs the PSI
client there (``tsunagu linkage psi``); the platform plays the PSI server over the
provider's **consenting** customers only, with a blinding key drawn fresh for every exchange
and never stored.  No shared key exists, and the platform never sees the members:

1. the recipient sends its members' identifier items blinded with its own secret scalar;
2. ``answer`` asks the decision point which uploaded customers' consent covers the
   agreement at this instant (``service.consenting_customers``, whose ledger entries commit
   to the allowed and denied sets), builds those customers' items, re-blinds the
   recipient's points and blinds its own set with a fresh scalar (``psi.PsiServer``), and
   writes one ``linkage.match`` ledger entry with ``method: "psi"`` and counts only;
3. the recipient keeps the members whose items meet the server's doubly blinded set.

Items (``items_of``, the one function both sides use): for each rule of ``PSI_RULES`` — the
first two of the pseudonym rules, e-mail + birth date and phone (E.164) + birth date — the
normalised values (``normalize.normalize_record``) encoded as
``tsunagu/linkage/psi-item/v1 ␟ rule ␟ len:value len:value`` (byte lengths, injective).
Every item holds the birth date: a household shares an e-mail address and a landline, and
without the birth date the mother's account would meet her daughter's membership.  A member
with neither an e-mail nor a phone, or without a birth date, has no item and is never
matched here (use pseudonym matching or probabilistic linkage for such files).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session

from tsunagu.consent.service import actor_label
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput, PayloadTooLarge
from tsunagu.core.settings import Settings
from tsunagu.identity.service import Actor
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry
from tsunagu.linkage import normalize, pseudonym, service
from tsunagu.linkage.errors import NotParticipant
from tsunagu.linkage.psi import PsiRequest, PsiResponse, PsiServer

__all__ = [
    "MAX_REQUEST_POINTS",
    "PSI_RULES",
    "PsiAnswer",
    "PsiRequestInvalid",
    "PsiRequestTooLarge",
    "answer",
    "decode_points",
    "encode_points",
    "items_of",
    "member_items",
    "provider_items",
]

#: the rules whose normalised values form the intersected items, in priority order
PSI_RULES: tuple[pseudonym.Rule, ...] = tuple(
    r for r in pseudonym.RULES if r.name in ("email_birth", "phone_birth")
)
#: the most blinded points one request may carry (two per member: 25,000 members);
#: bounds the server's work per exchange and what a probing client can test at once
MAX_REQUEST_POINTS = 50_000
_ITEM_DOMAIN = "tsunagu/linkage/psi-item/v1"
_COLUMNS = tuple(sorted({c for r in PSI_RULES for c in r.columns}))


class PsiRequestTooLarge(PayloadTooLarge):
    """More blinded points than one exchange may carry."""

    code = "psi_request_too_large"


class PsiRequestInvalid(InvalidInput):
    """A PSI request that is empty or not a list of points."""

    code = "psi_request_invalid"


def items_of(record: Mapping[str, str | None]) -> list[bytes]:
    """The PSI items of one *normalised* record (keys of ``normalize.normalize_record``):
    one per rule of ``PSI_RULES`` whose values are all present, in rule order."""
    out: list[bytes] = []
    for rule in PSI_RULES:
        values = [record.get(c) for c in rule.columns]
        present = [v for v in values if v]
        if len(present) != len(rule.columns):
            continue
        parts = " ".join(f"{len(v.encode('utf-8'))}:{v}" for v in present)
        out.append(f"{_ITEM_DOMAIN}\x1f{rule.name}\x1f{parts}".encode())
    return out


def member_items(table: pa.Table) -> dict[bytes, list[str]]:
    """Item → the member ids holding it, for a raw people table (``files.read_people_csv``:
    ``id`` plus identifier columns); each row is normalised first."""
    by_item: dict[bytes, list[str]] = {}
    for row in table.to_pylist():
        record = normalize.normalize_record(row)
        for item in items_of(record):
            by_item.setdefault(item, []).append(str(row["id"]))
    return by_item


def provider_items(path: str, person_ids: Sequence[uuid.UUID]) -> list[bytes]:
    """The distinct items of the stored (already normalised) customer table's rows whose
    ``person_id`` is in ``person_ids``; the consent filter is the join, in DuckDB."""
    allowed = pa.table({"person_id": pa.array([str(p) for p in person_ids], type=pa.string())})
    con = duckdb.connect()
    try:
        con.register("allowed", allowed)
        columns = ", ".join(f"c.{c}" for c in _COLUMNS)
        rows = con.execute(
            f"SELECT {columns} FROM read_parquet(?) c "  # noqa: S608 — fixed column names
            "JOIN allowed a USING (person_id)",
            [path],
        ).fetchall()
    finally:
        con.close()
    items: dict[bytes, None] = {}
    for values in rows:
        for item in items_of(dict(zip(_COLUMNS, values, strict=True))):
            items[item] = None
    return list(items)


def encode_points(points: Iterable[bytes]) -> list[str]:
    """Points (bytes) as standard base64 strings, the wire form of both messages."""
    return [base64.b64encode(p).decode("ascii") for p in points]


def decode_points(values: Any, what: str = "points") -> list[bytes]:
    """The wire form back to bytes; anything but a list of base64 strings is refused."""
    if not isinstance(values, list):
        raise PsiRequestInvalid(f"{what!r} must be a list of base64 strings")
    out: list[bytes] = []
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise PsiRequestInvalid(f"{what}[{i}] is not a base64 string")
        try:
            out.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise PsiRequestInvalid(f"{what}[{i}] is not valid base64") from None
    return out


@dataclass(frozen=True)
class PsiAnswer:
    """The server's message and what the platform recorded about the exchange."""

    response: PsiResponse
    consenting: int
    ledger_index: int


def answer(
    session: Session,
    settings: Settings,
    pseudonym_key: bytes,
    *,
    actor: Actor,
    collaboration_id: uuid.UUID,
    points: Sequence[bytes],
    max_points: int = MAX_REQUEST_POINTS,
    now: datetime | None = None,
) -> PsiAnswer:
    """Answer one PSI request of the collaboration's recipient (member role at least) over
    the provider's consenting customers; one ``linkage.match`` ledger entry, counts only.

    Another organization gets ``CollaborationNotFound``, the provider ``NotParticipant``; an
    inactive or expired collaboration ``CollaborationNotActive``; too many points
    ``PsiRequestTooLarge`` (413), none ``PsiRequestInvalid`` (422).  An invalid point is
    ``psi.InvalidPoint`` (422)."""
    actor.require_role("member")
    now = now or utcnow()
    collab = service.access_collaboration(session, actor.org_id, collaboration_id)
    if service.role_of(session, collab.id, actor.org_id) != "recipient":
        raise NotParticipant("only the collaboration's recipient runs private set intersection")
    service.require_usable(collab, now)
    if not points:
        raise PsiRequestInvalid("the request holds no points: blind at least one member's items")
    if len(points) > max_points:
        raise PsiRequestTooLarge(
            f"the request holds {len(points)} points, at most {max_points} are answered per "
            "exchange; split the member list and send it in parts"
        )
    path = service.dataset_path(settings, service.get_dataset(session, collab.id, "customers"))
    label = actor_label(actor)
    consenting = service.consenting_customers(
        session, settings, pseudonym_key, collab, actor=label, at=now
    )
    items = provider_items(str(path), list(consenting.by_pid.values()))
    # a fresh random scalar for this exchange only: it lives in this object and dies with it
    response = PsiServer(items).respond(PsiRequest(tuple(points)))
    parties = service.parties_of(session, collab.id)
    (appended,) = ledger.append(
        session,
        [
            Entry(
                kind="linkage.match",
                org=parties.provider.slug,
                actor=label,
                time=now,
                purpose=collab.purpose,
                categories=tuple(collab.categories),
                refs={
                    "collaboration": str(collab.id),
                    "method": "psi",
                    "recipient": parties.recipient.slug,
                    "consent_entries": list(consenting.batch.ledger_indexes),
                    "consenting": len(consenting.by_pid),
                    "request_points": len(points),
                    "server_points": len(response.server_points),
                },
            )
        ],
    )
    session.flush()
    return PsiAnswer(
        response=response, consenting=len(consenting.by_pid), ledger_index=appended.index
    )
