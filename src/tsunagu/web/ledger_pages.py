"""HTML pages of the transparency ledger (thin: read the ledger, render).

- ``/portal/ledger`` — "who used my data": every ledger entry about the signed-in person
  (their own entries and the bulk operations whose set of persons holds them), newest
  first, in plain language;
- ``/portal/ledger/proofs.json`` — what the browser needs to check each of those entries
  itself (``static/ledger-verify.js``): the leaf inputs, their inclusion proofs against the
  latest signed checkpoint, the person's pseudonym with its proof in each bulk entry's set,
  the signed checkpoint note and the log's verifier key.  The page never asks the person to
  trust the server's word: a row turns "verified" only when WebCrypto agrees;
- ``/ledger`` — the staff console's view of the log: size, checkpoints with their
  cosignatures against the quorum, witnesses, alarms, the verifier key.

Both portal endpoints publish a checkpoint first when the tree has grown, so the proofs are
against a checkpoint that covers every entry shown.  The person is found in the ledger only
by ``entry.pseudonym(ledger key, person id)``; their id never reaches the page.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_for, gettext_noop
from tsunagu.core.settings import Settings
from tsunagu.core.templating import request_locale
from tsunagu.identity.models import Organization
from tsunagu.identity.service import find_organization_by_slug
from tsunagu.identity.web_auth import (
    PersonPage,
    StaffPage,
    page_person,
    page_staff,
    render_page,
    settings_of,
)
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import b64, pseudonym, subject_set_proof
from tsunagu.ledger.models import LedgerCheckpoint
from tsunagu.ledger.note import Signer
from tsunagu.ledger.witnessing import witness_activity

router = APIRouter(include_in_schema=False)

PORTAL_LEDGER = "/portal/ledger"
PORTAL_PROOFS = "/portal/ledger/proofs.json"
STAFF_LEDGER = "/ledger"

#: what happened, in the words a person reads on "who used my data"
KIND_LABELS = {
    "consent.given": gettext_noop("Consent given"),
    "consent.withdrawn": gettext_noop("Consent withdrawn"),
    "consent.expired": gettext_noop("Consent expired"),
    "consent.superseded": gettext_noop("Consent replaced by a new one"),
    "access.allowed": gettext_noop("Your data was read (allowed)"),
    "access.denied": gettext_noop("A read of your data was refused"),
    "provision": gettext_noop("Your data was provided to another organization"),
    "erasure": gettext_noop("Your data was erased"),
    "export": gettext_noop("Your data was exported"),
    "cleanroom.query": gettext_noop("Your data was part of an aggregate analysis"),
    "linkage.match": gettext_noop("Your records were linked across organizations"),
}
OTHER_KIND = gettext_noop("Other event")

ACTOR_LABELS = {
    "staff": gettext_noop("A staff member"),
    "api_key": gettext_noop("A system of the organization (API)"),
    "person": gettext_noop("You"),
    "guardian": gettext_noop("Your guardian"),
    "operator": gettext_noop("The operator of tsunagu"),
    "system": gettext_noop("tsunagu, automatically"),
    "witness": gettext_noop("A witness"),
}

#: purposes and data categories of the demo world and the first issues; others show as codes
PURPOSE_LABELS = {
    "marketing.personalised_offers": gettext_noop("Personalised offers"),
    "marketing.direct_mail": gettext_noop("Direct mail"),
    "analytics.product_improvement": gettext_noop("Improving products (aggregate analysis)"),
    "service.delivery": gettext_noop("Delivering a service you asked for"),
    "public.safe_driving_support": gettext_noop("Support for driving safely"),
    "vehicle.registration": gettext_noop("Registering your vehicle"),
}
CATEGORY_LABELS = {
    "contact.email": gettext_noop("E-mail address"),
    "contact.phone": gettext_noop("Phone number"),
    "contact.postal_address": gettext_noop("Postal address"),
    "purchase.order": gettext_noop("Purchase history"),
    "vehicle.registration": gettext_noop("Vehicle registration"),
    "licence.driving": gettext_noop("Driving licence"),
    "health.blood_pressure": gettext_noop("Blood pressure"),
    "health.checkup": gettext_noop("Health check-up results"),
    "activity.daily": gettext_noop("Daily activity"),
}


@dataclass(frozen=True, slots=True)
class EntryView:
    """One ledger entry as the person's portal shows it."""

    index: int
    time: datetime
    time_text: str
    kind: str
    kind_label: str
    org_name: str
    org_slug: str | None
    actor_label: str
    purpose_label: str | None
    category_labels: list[str]
    recipient_name: str | None
    #: size of the set of persons of a bulk entry, None for an entry about one person
    group_size: int | None


@dataclass(frozen=True, slots=True)
class ProvenEntry:
    index: int
    leaf_input: bytes
    obj: dict[str, Any]
    proof: list[bytes]
    set_index: int | None = None
    set_proof: list[bytes] = field(default_factory=list)


def log_signer(settings: Settings) -> Signer:
    return ledger.log_signer(settings.ledger_origin, settings.resolved_ledger_signing_seed())


def _fresh_checkpoint(db: Session, settings: Settings) -> LedgerCheckpoint | None:
    """The latest checkpoint, publishing one first when the tree has grown since.

    Best-effort: a GET's SQLite transaction does not hold the write lock, so when another
    writer got there first the page uses the latest checkpoint (the server's publisher
    covers the newer entries within a second; they show on the next visit).
    """
    return ledger.current_checkpoint(db, log_signer(settings))


def _person_pseudonym(settings: Settings, person_id: uuid.UUID) -> bytes:
    return pseudonym(settings.resolved_ledger_pseudonym_key(), person_id)


def _entries_with_proofs(
    db: Session, me: bytes, checkpoint: LedgerCheckpoint | None, *, proofs: bool = True
) -> list[ProvenEntry]:
    """Every entry about the person covered by ``checkpoint``, newest first, with proofs
    (the page itself lists the entries; only the JSON the browser verifies needs proofs)."""
    out: list[ProvenEntry] = []
    if checkpoint is None:
        return out
    for index, leaf_input in ledger.entries_about(db, b64(me)):
        if index >= checkpoint.size:
            continue
        obj = json.loads(leaf_input)
        proof = ledger.inclusion_proof(db, index, checkpoint.size) if proofs else []
        subject = obj.get("subject") or {}
        if "root" in subject:
            members = ledger.subject_set_members(db, index)
            if me not in members:
                continue
            set_index, set_proof = subject_set_proof(members, me) if proofs else (0, [])
            out.append(ProvenEntry(index, leaf_input, obj, proof, set_index, set_proof))
        else:
            out.append(ProvenEntry(index, leaf_input, obj, proof))
    return out


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _org_names(db: Session, slugs: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for slug in slugs:
        org = find_organization_by_slug(db, slug)
        names[slug] = org.name if org is not None else slug
    return names


def _view(entry: ProvenEntry, locale: str, names: dict[str, str]) -> EntryView:
    obj = entry.obj

    def tr(message: str) -> str:
        return gettext_for(locale, message)

    kind = str(obj.get("kind", ""))
    slug = obj.get("org")
    actor = str(obj.get("actor", "system")).split(":", 1)[0]
    purpose = obj.get("purpose")
    refs = obj.get("refs") or {}
    recipient = refs.get("recipient") if isinstance(refs, dict) else None
    subject = obj.get("subject") or {}
    time = _parse_time(str(obj["time"]))
    return EntryView(
        index=entry.index,
        time=time,
        time_text=str(obj["time"]),
        kind=kind,
        kind_label=tr(KIND_LABELS.get(kind, OTHER_KIND)),
        org_name=names.get(slug, slug) if isinstance(slug, str) else tr("tsunagu"),
        org_slug=slug if isinstance(slug, str) else None,
        actor_label=tr(ACTOR_LABELS.get(actor, ACTOR_LABELS["system"])),
        purpose_label=(
            tr(PURPOSE_LABELS[purpose]) if purpose in PURPOSE_LABELS else purpose or None
        ),
        category_labels=[
            tr(CATEGORY_LABELS[c]) if c in CATEGORY_LABELS else str(c)
            for c in obj.get("categories", [])
        ],
        recipient_name=names.get(recipient, recipient) if isinstance(recipient, str) else None,
        group_size=int(subject["count"]) if "count" in subject else None,
    )


def _views(db: Session, entries: Sequence[ProvenEntry], locale: str) -> list[EntryView]:
    slugs: set[str] = set()
    for entry in entries:
        if isinstance(entry.obj.get("org"), str):
            slugs.add(entry.obj["org"])
        refs = entry.obj.get("refs") or {}
        if isinstance(refs, dict) and isinstance(refs.get("recipient"), str):
            slugs.add(refs["recipient"])
    names = _org_names(db, slugs)
    return [_view(entry, locale, names) for entry in entries]


# --- the person's portal ------------------------------------------------------------------


@router.get(PORTAL_LEDGER)
def portal_ledger(
    request: Request,
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    settings = settings_of(request)
    checkpoint = _fresh_checkpoint(db, settings)
    me = _person_pseudonym(settings, page.person.id)
    entries = _entries_with_proofs(db, me, checkpoint, proofs=False)
    context = {
        "entries": _views(db, entries, request_locale(request)),
        "checkpoint": checkpoint,
        "proofs_url": PORTAL_PROOFS,
    }
    return render_page(request, "ledger/portal.html", context)


@router.get(PORTAL_PROOFS)
def portal_ledger_proofs(
    request: Request,
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> JSONResponse:
    settings = settings_of(request)
    checkpoint = _fresh_checkpoint(db, settings)
    me = _person_pseudonym(settings, page.person.id)
    entries = _entries_with_proofs(db, me, checkpoint)
    body = {
        "checkpoint": checkpoint.note if checkpoint is not None else "",
        "vkey": log_signer(settings).vkey(),
        "pseudonym": b64(me),
        "entries": [
            {
                "leaf_index": e.index,
                "leaf_input": b64(e.leaf_input),
                "audit_path": [b64(h) for h in e.proof],
                **(
                    {"set": {"index": e.set_index, "audit_path": [b64(h) for h in e.set_proof]}}
                    if e.set_index is not None
                    else {}
                ),
            }
            for e in entries
        ],
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# --- the staff console ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckpointView:
    size: int
    created_at: datetime
    root: str
    cosignatures: int
    confirmed: bool


@dataclass(frozen=True, slots=True)
class WitnessView:
    name: str
    organization_name: str | None
    active: bool
    last_size: int | None
    last_time: datetime | None


def _witness_views(db: Session) -> list[WitnessView]:
    views: list[WitnessView] = []
    for activity in witness_activity(db):
        org_name = None
        if activity.organization_id is not None:
            org = db.get(Organization, activity.organization_id)
            org_name = org.name if org is not None else None
        views.append(
            WitnessView(
                name=activity.name,
                organization_name=org_name,
                active=activity.active,
                last_size=activity.last_cosigned_size,
                last_time=activity.last_cosigned_at,
            )
        )
    return views


@router.get(STAFF_LEDGER)
def staff_ledger(
    request: Request,
    _page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    # any staff role may look: the page shows the log's public state, no personal data
    settings = settings_of(request)
    if ledger.tree_size(db) > 0:
        _fresh_checkpoint(db, settings)
    quorum = settings.ledger_quorum
    checkpoints = []
    for row in ledger.checkpoint_history(db, limit=10):
        count = ledger.cosignature_count(db, row)
        checkpoints.append(
            CheckpointView(
                size=row.size,
                created_at=row.created_at,
                root=base64.b64encode(row.root).decode(),
                cosignatures=count,
                confirmed=count >= quorum,
            )
        )
    witnesses = _witness_views(db)
    context = {
        "size": ledger.tree_size(db),
        "checkpoints": checkpoints,
        "quorum": quorum,
        "witnesses": witnesses,
        "active_witnesses": sum(1 for w in witnesses if w.active),
        "alarms": ledger.recent_alarms(db, limit=20),
        "vkey": log_signer(settings).vkey(),
        "origin": settings.ledger_origin,
        "base_url": str(request.base_url).rstrip("/"),
    }
    return render_page(request, "ledger/console.html", context)


__all__ = ["PORTAL_LEDGER", "PORTAL_PROOFS", "STAFF_LEDGER", "router"]
