"""JSON API of collaborations (thin: parse, call the service, shape the answer).

Mounted under ``/api/v1``.  Every endpoint needs an organization's API key; a collaboration
the key's organization does not take part in answers 404, exactly as one that does not
exist.  Roles: proposing and accepting need the admin role, uploads and matching the member
role, reading any role.

=====================================================  ======  ==============================
path                                                   role    what
=====================================================  ======  ==============================
POST /linkage/collaborations                           admin   propose (201)
GET  /linkage/collaborations                           any     the organization's ones
GET  /linkage/collaborations/{id}                      any     one, with terms and acceptances
POST /linkage/collaborations/{id}/accept               admin   accept the current terms
PUT  /linkage/collaborations/{id}/terms                admin   amend: a new version (everyone
                                                               accepts again)
POST /linkage/collaborations/{id}/end                  admin   end it (logs and ledger stay)
POST /linkage/collaborations/{id}/datasets/customers   member  provider: customers (CSV/JSONL)
POST /linkage/collaborations/{id}/datasets/orders      member  provider: orders
POST /linkage/collaborations/{id}/datasets/members     member  recipient: member list
POST /linkage/collaborations/{id}/match                member  consent filter, then match (201);
                                                               body (optional): method,
                                                               threshold
GET  /linkage/collaborations/{id}/match                any     the latest run's counts, method
                                                               and quality report
=====================================================  ======  ==============================

Uploads take ``text/csv`` (or a multipart ``file``; the project's import core: UTF-8 with or
without BOM, or CP932) or JSON lines (``application/x-ndjson``); all rows or none.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from tsunagu.core.settings import Settings
from tsunagu.identity.dependencies import ApiActor, DbSession
from tsunagu.identity.import_endpoints import CSV_BODY, read_csv
from tsunagu.identity.service import Actor
from tsunagu.linkage import service
from tsunagu.linkage.models import Collaboration, Dataset, MatchRun
from tsunagu.linkage.schemas import (
    AcceptIn,
    CollaborationCreate,
    CollaborationOut,
    DatasetOut,
    MatchIn,
    MatchRunOut,
    ParticipantOut,
    TermsIn,
    TermsOut,
)

router = APIRouter(tags=["linkage"])

PREFIX = "/linkage/collaborations"
JSONL_MEDIA_TYPES = frozenset(
    {"application/x-ndjson", "application/jsonl", "application/json-lines"}
)


def collaboration_out(
    session: Session, collab: Collaboration, now: datetime | None = None
) -> CollaborationOut:
    """The API's view of a collaboration (also for the pages)."""
    slugs = {p.organization_id: p for p in service.participants_of(session, collab.id)}
    parties = service.parties_of(session, collab.id)
    orgs = {
        parties.provider.id: parties.provider.slug,
        parties.recipient.id: parties.recipient.slug,
    }
    return CollaborationOut(
        id=collab.id,
        name=collab.name,
        status=service.effective_status(collab, now),
        version=collab.version,
        terms=TermsOut(
            purpose=collab.purpose,
            categories=list(collab.categories),
            rules=dict(collab.rules),
            forbidden_uses_ja=collab.forbidden_uses_ja,
            forbidden_uses_en=collab.forbidden_uses_en,
            expires_at=collab.expires_at,
            budget_epsilon=collab.budget_epsilon,
        ),
        participants=[
            ParticipantOut(
                organization=orgs.get(org_id, ""),
                role=p.role,
                accepted=p.accepted_version == collab.version,
                accepted_version=p.accepted_version,
                accepted_at=p.accepted_at,
            )
            for org_id, p in slugs.items()
        ],
        created_at=collab.created_at,
        activated_at=collab.activated_at,
        budget_spent=collab.budget_spent,
    )


def dataset_out(dataset: Dataset) -> DatasetOut:
    return DatasetOut(
        kind=dataset.kind,
        rows=dataset.rows,
        sha256=dataset.sha256,
        uploaded_at=dataset.uploaded_at,
        ledger_index=dataset.ledger_index,
    )


def match_out(run: MatchRun, *, provider: bool) -> MatchRunOut:
    return MatchRunOut(
        id=run.id,
        ran_at=run.ran_at,
        version=run.version,
        method=run.method,
        customers=run.customers if provider else None,
        consenting=run.consenting,
        members=run.members,
        matched=run.matched,
        by_rule=dict(run.by_rule),
        threshold=run.quality.get("threshold") if run.quality else None,
        quality=dict(run.quality) if run.quality else None,
        ledger_index=run.ledger_index,
    )


@router.post(PREFIX, status_code=status.HTTP_201_CREATED)
def propose(body: CollaborationCreate, actor: ApiActor, db: DbSession) -> CollaborationOut:
    """Propose a collaboration (your organization accepts its terms by proposing)."""
    collab = service.propose(
        db,
        actor=actor,
        name=body.name,
        participants=[(p.organization, p.role) for p in body.participants],
        terms=_terms(body.terms),
    )
    return collaboration_out(db, collab)


@router.get(PREFIX)
def list_collaborations(actor: ApiActor, db: DbSession) -> list[CollaborationOut]:
    return [collaboration_out(db, c) for c in service.list_collaborations(db, actor.org_id)]


@router.get(PREFIX + "/{collaboration_id}")
def get_collaboration(
    collaboration_id: uuid.UUID, actor: ApiActor, db: DbSession
) -> CollaborationOut:
    return collaboration_out(db, service.access_collaboration(db, actor.org_id, collaboration_id))


@router.post(PREFIX + "/{collaboration_id}/accept")
def accept(
    collaboration_id: uuid.UUID, actor: ApiActor, db: DbSession, body: AcceptIn
) -> CollaborationOut:
    """Accept the terms of the version you read (``{"version": N}``; refused with 409 when
    the other side has amended them since, so nobody accepts terms they never saw)."""
    collab = service.accept(
        db, actor=actor, collaboration_id=collaboration_id, version=body.version
    )
    return collaboration_out(db, collab)


def _terms(body: TermsIn) -> service.Terms:
    return service.Terms(
        purpose=body.purpose,
        categories=tuple(body.categories),
        rules=body.rules,
        expires_at=body.expires_at,
        forbidden_uses_ja=body.forbidden_uses_ja,
        forbidden_uses_en=body.forbidden_uses_en,
        budget_epsilon=body.budget_epsilon,
    )


@router.put(PREFIX + "/{collaboration_id}/terms")
def amend_terms(
    collaboration_id: uuid.UUID, body: TermsIn, actor: ApiActor, db: DbSession
) -> CollaborationOut:
    """New terms: a new version that every participant's admin accepts again."""
    collab = service.amend_terms(
        db, actor=actor, collaboration_id=collaboration_id, terms=_terms(body)
    )
    return collaboration_out(db, collab)


@router.post(PREFIX + "/{collaboration_id}/end")
def end(collaboration_id: uuid.UUID, actor: ApiActor, db: DbSession) -> CollaborationOut:
    """End the collaboration: no more uploads, matching or questions."""
    return collaboration_out(db, service.end(db, actor=actor, collaboration_id=collaboration_id))


async def _upload(
    request: Request,
    actor: Actor,
    db: Session,
    collaboration_id: uuid.UUID,
    kind: str,
    encoding: str | None,
) -> DatasetOut:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: bytes
    fmt: service.Format
    if media in JSONL_MEDIA_TYPES:
        data, fmt = await request.body(), "jsonl"
    else:
        data, charset = await read_csv(request)
        encoding = encoding or charset
        fmt = "csv"
    settings: Settings = request.app.state.settings
    upload: Any = {
        "customers": service.upload_customers,
        "orders": service.upload_orders,
        "members": service.upload_members,
    }[kind]
    dataset: Dataset = await run_in_threadpool(
        lambda: upload(
            db,
            settings,
            actor=actor,
            collaboration_id=collaboration_id,
            data=data,
            fmt=fmt,
            encoding=encoding,
        )
    )
    return dataset_out(dataset)


_UPLOAD_DOC: dict[str, Any] = {
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {
                **CSV_BODY["requestBody"]["content"],
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
    "responses": {413: {"description": "file too large"}, 422: {"description": "row errors"}},
}
Encoding = Annotated[
    str | None, Query(description="CSV: auto, utf-8 or cp932 (default: charset, else auto)")
]


@router.post(PREFIX + "/{collaboration_id}/datasets/customers", **_UPLOAD_DOC)
async def upload_customers(
    collaboration_id: uuid.UUID,
    request: Request,
    actor: ApiActor,
    db: DbSession,
    encoding: Encoding = None,
) -> DatasetOut:
    """The provider's customers: person_id or customer_id, identifier columns, segment."""
    return await _upload(request, actor, db, collaboration_id, "customers", encoding)


@router.post(PREFIX + "/{collaboration_id}/datasets/orders", **_UPLOAD_DOC)
async def upload_orders(
    collaboration_id: uuid.UUID,
    request: Request,
    actor: ApiActor,
    db: DbSession,
    encoding: Encoding = None,
) -> DatasetOut:
    """The provider's orders: order_id, customer, ordered_at, category, amount."""
    return await _upload(request, actor, db, collaboration_id, "orders", encoding)


@router.post(PREFIX + "/{collaboration_id}/datasets/members", **_UPLOAD_DOC)
async def upload_members(
    collaboration_id: uuid.UUID,
    request: Request,
    actor: ApiActor,
    db: DbSession,
    encoding: Encoding = None,
) -> DatasetOut:
    """The recipient's member list: id and identifier columns."""
    return await _upload(request, actor, db, collaboration_id, "members", encoding)


@router.post(PREFIX + "/{collaboration_id}/match", status_code=status.HTTP_201_CREATED)
def run_match(
    collaboration_id: uuid.UUID,
    request: Request,
    actor: ApiActor,
    db: DbSession,
    body: MatchIn | None = None,
) -> MatchRunOut:
    """Restrict to consenting customers, then match (keyed pseudonyms by default, or
    ``{"method": "probabilistic", "threshold": 0.9}``); answers the counts and, for a
    probabilistic run, its quality report.  The provider's admin runs it."""
    settings: Settings = request.app.state.settings
    body = body or MatchIn()
    run = service.run_match(
        db,
        settings,
        settings.resolved_ledger_pseudonym_key(),
        actor=actor,
        collaboration_id=collaboration_id,
        method=body.method,
        threshold=body.threshold,
    )
    return match_out(run, provider=True)


@router.get(PREFIX + "/{collaboration_id}/match")
def match_summary(collaboration_id: uuid.UUID, actor: ApiActor, db: DbSession) -> MatchRunOut:
    """The latest run's counts (no pair, no pseudonym); the customer table's size only to
    the provider."""
    run = service.match_summary(db, actor.org_id, collaboration_id)
    provider = service.role_of(db, collaboration_id, actor.org_id) == "provider"
    return match_out(run, provider=provider)


__all__ = ["collaboration_out", "dataset_out", "match_out", "router"]
