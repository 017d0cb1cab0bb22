"""JSON API of consent (thin: parse, check the caller may, call the service, shape it).

Mounted under ``/api/v1``.  Every endpoint needs an organization's API key; writing needs
the member role (a viewer key reads only), a new purpose the admin role.  A person, a
consent or a request the caller has no relationship with answers 404, exactly as one that
does not exist; the answer never carries another organization's data.

==========================================  ======  =====================================
path                                        role    what
==========================================  ======  =====================================
POST /consents                              member  record a consent the person gave the
                                                    organization (201 {"id","receipt"})
GET  /consents?limit=&offset=               any     consents naming the caller as
                                                    recipient, newest first, paged
GET  /consents/{id}                         any     one consent with its receipts
GET  /consents/{id}/receipts/{rid}          any     a receipt, ``?format=iso27560``
                                                    (default) or ``kantara``
POST /consents/{id}/withdraw                member  withdraw it now (200, consent +
                                                    withdrawal receipt)
POST /consent/decide                        any     the policy decision point for one
                                                    person (recorded in the ledger)
POST /consent/decide-batch                  any     the same for up to 10,000 persons
GET  /purposes                              any     default purposes and the caller's own
POST /purposes                              admin   a purpose of the caller's own (201)
GET  /categories                            any     the data categories (hierarchical)
POST /consent-requests                      member  ask a person for new or wider consent
                                                    (they answer in the portal; 201)
==========================================  ======  =====================================

Deciding is open to viewer keys: a decision changes no data, and the ledger records who
asked.  The person must be known to the caller — under its own reference (``POST
/persons``) or through a consent naming it — before it records, asks for or decides on
their consent.
"""

from __future__ import annotations

import asyncio
import uuid
from functools import lru_cache
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.consent import decision as pdp
from tsunagu.consent import service
from tsunagu.consent.models import Consent, ConsentReceipt, ConsentRequest
from tsunagu.consent.schemas import (
    BatchDecisionOut,
    CategoryOut,
    ConsentCreate,
    ConsentCreated,
    ConsentDetail,
    ConsentPage,
    ConsentRequestCreate,
    ConsentRequestOut,
    DecideBatchIn,
    DecideIn,
    DecisionOut,
    PurposeCreate,
    PurposeOut,
    WithdrawalOut,
)
from tsunagu.consent.views import consent_detail, consent_out
from tsunagu.core.errors import InvalidInput, NotFound
from tsunagu.identity import service as identity_service
from tsunagu.identity.dependencies import (
    AdminActor,
    ApiActor,
    DbSession,
    MemberActor,
    api_actor,
)
from tsunagu.identity.errors import PersonNotFound
from tsunagu.identity.models import PersonLink
from tsunagu.identity.service import Actor
from tsunagu.ledger.group_commit import GroupAppender

router = APIRouter(tags=["consent"])


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"


class UnknownRecipient(InvalidInput):
    code = "unknown_recipient"


def pseudonym_key(request: Request) -> bytes:
    """The ledger's HMAC key for person pseudonyms (receipts and decisions name no one),
    read once per app and kept in ``app.state``."""
    state = request.app.state
    key: bytes | None = getattr(state, "ledger_pseudonym_key", None)
    if key is None:
        key = state.ledger_pseudonym_key = state.settings.resolved_ledger_pseudonym_key()
    return key


PseudonymKey = Annotated[bytes, Depends(pseudonym_key)]


def require_known_person(
    session: Session, organization_id: uuid.UUID, person_id: uuid.UUID
) -> None:
    """404 unless the organization knows the person: its own reference or a consent that
    names it.  (Consent sits below the vault, so records alone do not count here; the
    vault's ``person_known_to`` says the same plus records the organization supplied.)"""
    if not session.scalar(_known_person_statement(), {"o": organization_id, "p": person_id}):
        raise PersonNotFound("no such person")


@lru_cache(maxsize=1)
def _known_person_statement() -> Any:
    """Built once: the check runs on every decision."""
    org = bindparam("o", type_=PersonLink.organization_id.type)
    person = bindparam("p", type_=PersonLink.person_id.type)
    linked = exists().where(PersonLink.organization_id == org, PersonLink.person_id == person)
    consented = exists().where(
        Consent.person_id == person, or_(Consent.recipient_id == org, Consent.recorded_by_id == org)
    )
    return select(linked | consented)


def _decision_out(decision: pdp.Decision) -> DecisionOut:
    return DecisionOut(
        allow=decision.allow,
        consents=list(decision.consent_ids),
        reason=decision.reason,
        reason_text=decision.reason_text,
        person=decision.person_id,
        purpose=decision.purpose,
        categories=list(decision.categories),
        at=decision.at,
        ledger_index=decision.ledger_index,
    )


#: organization id → slug (a slug never changes): the hot path skips the lookup
_slugs: dict[uuid.UUID, str] = {}


def _reader(session: Session, actor: Actor) -> pdp.Reader:
    slug = _slugs.get(actor.org_id)
    if slug is None:
        slug = _slugs[actor.org_id] = identity_service.get_organization(session, actor.org_id).slug
    return pdp.Reader(id=actor.org_id, slug=slug)


# --- consents --------------------------------------------------------------------------


@router.post("/consents", response_model=ConsentCreated, status_code=status.HTTP_201_CREATED)
def create_consent(
    body: ConsentCreate, actor: MemberActor, db: DbSession, key: PseudonymKey
) -> ConsentCreated:
    caller = identity_service.get_organization(db, actor.org_id)
    recipient = caller
    if body.recipient is not None and body.recipient != caller.slug:
        found = identity_service.find_organization_by_slug(db, body.recipient)
        if found is None:
            raise UnknownRecipient(
                f"unknown recipient {body.recipient!r}",
                errors=[{"field": "recipient", "value": body.recipient, "reason": "unknown"}],
            )
        recipient = found
    require_known_person(db, caller.id, body.person)
    issued = service.give_consent(
        db,
        key,
        person_id=body.person,
        recipient=recipient,
        purpose=body.purpose,
        categories=body.categories,
        evidence=service.Evidence(
            notice_text=body.evidence.notice_text,
            method=body.evidence.method,
            notice_version=body.evidence.notice_version,
            language=body.evidence.language,
        ),
        actor=service.actor_label(actor),
        given_by="organization",
        recorded_by=caller,
        expires_at=body.expires_at,
    )
    return ConsentCreated(id=issued.consent.id, receipt=issued.receipt)


@router.get("/consents", response_model=ConsentPage)
def list_consents(
    actor: ApiActor,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ConsentPage:
    rows = service.consents_for_recipient(db, actor.org_id, limit=limit + 1, offset=offset)
    return ConsentPage(
        items=[consent_out(db, c) for c in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


@router.get("/consents/{consent_id}", response_model=ConsentDetail)
def get_consent(consent_id: uuid.UUID, actor: ApiActor, db: DbSession) -> ConsentDetail:
    consent = service.access_consent(db, actor.org_id, consent_id)
    return consent_detail(db, consent)


@router.get("/consents/{consent_id}/receipts/{receipt_id}")
def get_receipt(
    consent_id: uuid.UUID,
    receipt_id: uuid.UUID,
    actor: ApiActor,
    db: DbSession,
    key: PseudonymKey,
    format: Literal["iso27560", "kantara"] = "iso27560",
) -> dict[str, Any]:
    consent = service.access_consent(db, actor.org_id, consent_id)
    row = db.get(ConsentReceipt, receipt_id)
    if row is None or row.consent_id != consent.id:
        raise ReceiptNotFound("no such receipt")
    if format == "kantara":
        return service.kantara_receipt(db, key, row)
    body: dict[str, Any] = orjson.loads(row.body)
    return body


@router.post("/consents/{consent_id}/withdraw", response_model=WithdrawalOut)
def withdraw_consent(
    consent_id: uuid.UUID, actor: MemberActor, db: DbSession, key: PseudonymKey
) -> WithdrawalOut:
    consent = service.access_consent(db, actor.org_id, consent_id)
    issued = service.withdraw_consent(db, key, consent, actor=service.actor_label(actor))
    return WithdrawalOut(consent=consent_out(db, issued.consent), receipt=issued.receipt)


# --- the policy decision point ---------------------------------------------------------


@router.post("/consent/decide", response_model=DecisionOut)
async def decide(
    body: DecideIn, actor: ApiActor, request: Request, db: DbSession, key: PseudonymKey
) -> DecisionOut:
    """Decide in a read transaction; the decision's entry goes to the ledger's group
    appender (one transaction for every decision of the last milliseconds) and the answer
    leaves once it is committed.  Without a running appender (tests that bring their own
    sessions) the entry is appended inline, in the request's transaction."""
    appender: GroupAppender | None = getattr(request.app.state, "ledger_appender", None)
    if appender is None or not appender.running:
        decision = await run_in_threadpool(_decide_inline, db, body, actor, key)
        return _decision_out(decision)
    decision = await run_in_threadpool(
        _evaluate_read, request.app.state.read_session_factory, body, actor
    )
    (appended,) = await asyncio.wrap_future(appender.submit([pdp.entry_of(key, decision)]))
    return _decision_out(pdp.recorded(decision, appended.index))


def _checked_decision(db: Session, body: DecideIn, actor: Actor) -> pdp.Decision:
    reader = _reader(db, actor)
    cats = service.check_categories(db, body.categories)
    if not pdp.purpose_ids(db, reader.id, body.purpose):
        service.resolve_purpose(db, reader.id, body.purpose)  # raises UnknownPurpose
    require_known_person(db, reader.id, body.person)
    return pdp.evaluate(
        db, reader, body.person, body.purpose, cats, actor=service.actor_label(actor)
    )


def _decide_inline(db: Session, body: DecideIn, actor: Actor, key: bytes) -> pdp.Decision:
    return pdp.record(db, key, _checked_decision(db, body, actor))


def _evaluate_read(factory: sessionmaker[Session], body: DecideIn, actor: Actor) -> pdp.Decision:
    with factory() as db:
        return _checked_decision(db, body, actor)


@router.post("/consent/decide-batch", response_model=BatchDecisionOut)
def decide_batch(
    body: DecideBatchIn, actor: ApiActor, db: DbSession, key: PseudonymKey
) -> BatchDecisionOut:
    # persons the caller does not know are simply denied: only a consent naming the
    # caller as recipient allows, so the answer tells nothing about anyone else
    reader = _reader(db, actor)
    cats = service.check_categories(db, body.categories)
    service.resolve_purpose(db, reader.id, body.purpose)
    batch = pdp.decide_many(
        db,
        key,
        reader,
        body.purpose,
        cats,
        actor=service.actor_label(actor),
        person_ids=body.persons,
    )
    return BatchDecisionOut(
        purpose=batch.purpose,
        categories=list(batch.categories),
        at=batch.at,
        decisions=batch.decisions,
        allowed_count=len(batch.allowed),
        denied_count=len(batch.denied),
        allowed=batch.allowed,
        ledger_indexes=list(batch.ledger_indexes),
    )


# --- vocabulary ------------------------------------------------------------------------


def _purpose_out(purpose: Any) -> PurposeOut:
    return PurposeOut(
        code=purpose.code,
        own=purpose.organization_id is not None,
        dpv=purpose.dpv,
        label_ja=purpose.label_ja,
        label_en=purpose.label_en,
        description_ja=purpose.description_ja,
        description_en=purpose.description_en,
    )


@router.get("/purposes", response_model=list[PurposeOut])
def list_purposes(actor: ApiActor, db: DbSession) -> list[PurposeOut]:
    return [_purpose_out(p) for p in service.list_purposes(db, actor.org_id)]


@router.post("/purposes", response_model=PurposeOut, status_code=status.HTTP_201_CREATED)
def create_purpose(body: PurposeCreate, actor: AdminActor, db: DbSession) -> PurposeOut:
    purpose = service.create_purpose(
        db,
        actor,
        code=body.code,
        label_ja=body.label_ja,
        label_en=body.label_en,
        description_ja=body.description_ja,
        description_en=body.description_en,
        dpv=body.dpv,
    )
    return _purpose_out(purpose)


@router.get("/categories", response_model=list[CategoryOut], dependencies=[Depends(api_actor)])
def list_categories(db: DbSession) -> list[CategoryOut]:
    return [
        CategoryOut(
            code=c.code,
            parent=c.parent,
            sensitive=c.sensitive,
            label_ja=c.label_ja,
            label_en=c.label_en,
        )
        for c in service.list_categories(db)
    ]


# --- re-consent requests ---------------------------------------------------------------


def _request_out(session: Session, row: ConsentRequest) -> ConsentRequestOut:
    return ConsentRequestOut(
        id=row.id,
        person=row.person_id,
        purpose=service.purpose_codes(session, {row.purpose_id})[row.purpose_id],
        categories=row.categories.split(),
        message=row.message,
        state=row.state,
        created_at=row.created_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
        consent=row.consent_id,
    )


@router.post(
    "/consent-requests", response_model=ConsentRequestOut, status_code=status.HTTP_201_CREATED
)
def create_consent_request(
    body: ConsentRequestCreate, actor: MemberActor, db: DbSession
) -> ConsentRequestOut:
    require_known_person(db, actor.org_id, body.person)
    row = service.request_consent(
        db,
        actor,
        person_id=body.person,
        purpose=body.purpose,
        categories=body.categories,
        notice_text=body.notice_text,
        message=body.message,
        expires_at=body.expires_at,
    )
    return _request_out(db, row)
