"""JSON API of the vault (thin: parse, check the caller may, call the service, shape it).

Mounted under ``/api/v1``.  Every endpoint needs an organization's API key; writing needs
the member role (a viewer key reads only).  A person, record or request the caller has no
relationship with answers 404, exactly as one that does not exist.

==========================================  ======  =====================================
path                                        role    what
==========================================  ======  =====================================
POST /persons                               member  a person the organization holds data
                                                    about, under its ref (201 {"id"};
                                                    409 when the ref is taken)
GET  /persons?ref=                          any     the person with that ref (a list of
                                                    at most one)
GET  /persons/{id}                          any     a person known to the caller
POST /vault/records                         member  a sealed record about a known person
                                                    (201 {"id"})
PUT  /vault/records/{id}                    member  a new version (only the record's
                                                    source organization)
GET  /vault/persons/{id}/records            any     read ``?purpose=P&category=C…``
                                                    through the policy decision point:
                                                    200 records, 403 ``consent_required``
GET  /requests?state=                       any     persons' requests to the caller
                                                    (``open`` by default, or ``all``)
POST /requests/{id}/answer                  member  answer (or reject) a request
GET  /provisions                            any     APPI provision records (JSON)
GET  /provisions.csv                        any     the same as CSV (UTF-8 with BOM)
==========================================  ======  =====================================

Every read of records — allowed or denied — is a ledger entry committed before the answer
leaves, so the read endpoint takes the writing session (``RecordingSession``) and answers
a denial as a response rather than an exception (an exception would roll the entry back).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Protocol

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from tsunagu.consent import decision as pdp
from tsunagu.consent.errors import ConsentRequired
from tsunagu.consent.service import actor_label
from tsunagu.core.http import problem_response
from tsunagu.identity import service as identity_service
from tsunagu.identity.dependencies import ApiActor, DbSession, MemberActor
from tsunagu.identity.errors import PersonNotFound
from tsunagu.identity.models import Person
from tsunagu.vault import service
from tsunagu.vault.dependencies import RecordingSession, VaultDep
from tsunagu.vault.schemas import (
    Created,
    PersonCreate,
    PersonOut,
    ProvisionOut,
    RecordCreate,
    RecordUpdate,
    RecordVersionOut,
    RequestAnswer,
    RequestOut,
)

router = APIRouter(tags=["vault"])


def _person_out(session: Session, organization_id: uuid.UUID, person: Person) -> PersonOut:
    return PersonOut(
        id=person.id,
        ref=service.ref_of(session, organization_id, person.id),
        family_name=person.family_name,
        given_name=person.given_name,
        family_name_kana=person.family_name_kana,
        given_name_kana=person.given_name_kana,
        birth_date=person.birth_date,
    )


# --- persons ---------------------------------------------------------------------------


@router.post("/persons", response_model=Created, status_code=status.HTTP_201_CREATED)
def create_person(
    body: PersonCreate, actor: MemberActor, db: DbSession, vault: VaultDep
) -> Created:
    org = identity_service.get_organization(db, actor.org_id)
    person = service.register_person(
        db,
        vault,
        org,
        ref=body.ref,
        family_name=body.family_name,
        given_name=body.given_name,
        family_name_kana=body.family_name_kana,
        given_name_kana=body.given_name_kana,
        birth_date=body.birth_date,
        email=str(body.email) if body.email else None,
        actor=actor_label(actor),
    )
    return Created(id=person.id)


@router.get("/persons", response_model=list[PersonOut])
def find_persons(
    actor: ApiActor, db: DbSession, ref: Annotated[str, Query(min_length=1, max_length=100)]
) -> list[PersonOut]:
    try:
        person = service.person_by_ref(db, actor.org_id, ref)
    except PersonNotFound:
        return []
    return [_person_out(db, actor.org_id, person)]


@router.get("/persons/{person_id}", response_model=PersonOut)
def get_person(person_id: uuid.UUID, actor: ApiActor, db: DbSession) -> PersonOut:
    return _person_out(db, actor.org_id, service.access_person(db, actor.org_id, person_id))


# --- records ---------------------------------------------------------------------------


@router.post("/vault/records", response_model=Created, status_code=status.HTTP_201_CREATED)
def create_record(
    body: RecordCreate, actor: MemberActor, db: DbSession, vault: VaultDep
) -> Created:
    service.access_person(db, actor.org_id, body.person)
    record = service.create_record(
        db,
        vault,
        person_id=body.person,
        category=body.category,
        payload=body.payload,
        source=identity_service.get_organization(db, actor.org_id),
        source_kind="api",
        actor=actor_label(actor),
        collected_at=body.collected_at,
        legal_basis=body.legal_basis,
    )
    return Created(id=record.id)


@router.put("/vault/records/{record_id}", response_model=RecordVersionOut)
def update_record(
    record_id: uuid.UUID, body: RecordUpdate, actor: MemberActor, db: DbSession, vault: VaultDep
) -> RecordVersionOut:
    record = service.access_record(db, actor.org_id, record_id)
    record = service.update_record(
        db, vault, record, payload=body.payload, actor=actor_label(actor)
    )
    return RecordVersionOut(
        id=record.id, category=record.category, version=record.version, updated_at=record.updated_at
    )


def _denied(request: Request, decision: pdp.Decision) -> JSONResponse:
    refusal = ConsentRequired(decision.reason_text)
    return problem_response(
        request,
        status=refusal.status_code,
        code=refusal.code,
        title=refusal.title,
        detail=refusal.message,
        errors=[
            {
                "field": "consent",
                "reason": decision.reason,
                "ledger_index": decision.ledger_index,
            }
        ],
    )


@router.get("/vault/persons/{person_id}/records", response_model=None)
def read_records(
    request: Request,
    person_id: uuid.UUID,
    actor: ApiActor,
    db: RecordingSession,
    vault: VaultDep,
    purpose: Annotated[str, Query(min_length=1, max_length=63)],
    category: Annotated[list[str], Query(min_length=1, max_length=100)],
) -> JSONResponse:
    service.access_person(db, actor.org_id, person_id)
    org = identity_service.get_organization(db, actor.org_id)
    read = service.read_records(
        db,
        vault,
        pdp.Reader(id=org.id, slug=org.slug),
        person_id,
        purpose=purpose,
        categories=category,
        actor=actor_label(actor),
    )
    decision = read.decision
    if not decision.allow:
        return _denied(request, decision)
    return JSONResponse(
        {
            "decision": {
                "allow": decision.allow,
                "consents": [str(c) for c in decision.consent_ids],
                "reason": decision.reason,
                "reason_text": decision.reason_text,
                "purpose": decision.purpose,
                "categories": list(decision.categories),
                "at": decision.at.isoformat(),
                "ledger_index": decision.ledger_index,
            },
            "records": [view.as_json() for view in read.records],
        }
    )


# --- persons' requests -----------------------------------------------------------------


class _RequestRow(Protocol):
    # the shape of a ``SubjectRequest`` row (the vault's models stay behind its service)
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    detail: str
    state: str
    created_at: datetime
    due_at: datetime
    answered_at: datetime | None
    answer: str | None


def _request_out(row: _RequestRow) -> RequestOut:
    return RequestOut(
        id=row.id,
        person=row.person_id,
        kind=row.kind,
        detail=row.detail,
        state=row.state,
        created_at=row.created_at,
        due_at=row.due_at,
        answered_at=row.answered_at,
        answer=row.answer,
    )


@router.get("/requests", response_model=list[RequestOut])
def request_queue(
    actor: ApiActor,
    db: DbSession,
    state: Literal["open", "answered", "rejected", "all"] = "open",
) -> list[RequestOut]:
    rows = service.request_queue(db, actor.org_id, state=None if state == "all" else state)
    return [_request_out(r) for r in rows]


@router.post("/requests/{request_id}/answer", response_model=RequestOut)
def answer_request(
    request_id: uuid.UUID, body: RequestAnswer, actor: MemberActor, db: DbSession
) -> RequestOut:
    row = service.answer_request(
        db,
        actor.org_id,
        request_id,
        answer=body.answer,
        actor=actor_label(actor),
        reject=body.reject,
    )
    return _request_out(row)


# --- APPI provision records ------------------------------------------------------------


ProvisionLimit = Annotated[int, Query(ge=1, le=10_000)]


@router.get("/provisions", response_model=list[ProvisionOut])
def list_provisions(
    actor: ApiActor,
    db: DbSession,
    vault: VaultDep,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: ProvisionLimit = 1000,
) -> list[ProvisionOut]:
    lines = service.provision_records(
        db, vault, actor.org_id, since=since, until=until, limit=limit
    )
    return [
        ProvisionOut(
            provided_at=line.provided_at,
            provider=line.provider,
            recipient=line.recipient,
            subject=line.subject,
            purpose=line.purpose,
            categories=line.categories.split(),
            confirmation=line.confirmation,
            ledger_index=line.ledger_index,
            retain_until=line.retain_until,
        )
        for line in lines
    ]


@router.get("/provisions.csv", response_class=Response)
def provisions_csv(
    actor: ApiActor,
    db: DbSession,
    vault: VaultDep,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> Response:
    lines = service.provision_records(db, vault, actor.org_id, since=since, until=until)
    return Response(
        content=service.provision_csv(lines).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="provisions.csv"'},
    )
