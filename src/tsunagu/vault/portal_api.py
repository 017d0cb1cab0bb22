"""The person's own JSON API (issue 5 §5): what the personal portal's pages do, for a
program the person runs — their own records, consents, re-consent requests, the ledger's
entries about them, export, erasure and requests to organizations.

Persons have no API keys: the API is authenticated by the person's portal session cookie
(``tsunagu_session``, from signing in at ``/portal/signin``).  Without a live session the
answer is ``401`` problem+json (never a redirect to the sign-in page); a staff session is
refused with ``403``.  Every POST must carry the header ``X-CSRF-Token`` equal to the
session's CSRF token (``GET /api/v1/me/session`` hands it out), else ``403`` and the
endpoint never runs — a cookie alone cannot change anything.

==============================================  =============================================
method and path (under ``/api/v1/me``)          what
==============================================  =============================================
GET  /session                                   the person, their current wards and the
                                                session's ``csrf_token``
GET  /records                                   every record about the person, grouped
                                                ``[{"organization", "category", "records"}]``
POST /records                                   ``{"category", "payload"}`` — a record about
                                                themself → ``201 {"id"}``
GET  /consents                                  consents with their effective state,
                                                recipient, purpose, categories, receipts
POST /consents/{id}/withdraw                    withdraw now → ``200`` the consent
POST /consents/{id}/narrow                      ``{"categories"}`` → ``201`` the new consent
                                                (supersedes the old one)
GET  /consent-requests                          organizations' pending re-consent requests
POST /consent-requests/{id}                     ``{"accept": true|false}`` → ``200``
GET  /usage                                     the ledger entries about the person
POST /export                                    the ZIP of everything (``application/zip``)
POST /erase                                     ``{"confirm": "ERASE"}`` → crypto-shredding,
                                                ``200`` the summary; otherwise ``422``
GET  /requests                                  the person's requests to organizations
POST /requests                                  ``{"organization", "kind", "detail"}`` → ``201``
==============================================  =============================================

A guardian acts for a current ward with ``?for=<ward id>`` on the consent and
consent-request endpoints (the consent is then given by ``guardian``); anyone who is not a
current ward — and any consent that is not the subject's — answers ``404``, exactly as one
that does not exist.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.consent import views as consent_views
from tsunagu.consent.errors import ConsentNotActive, ConsentNotFound, ConsentRequestNotFound
from tsunagu.consent.models import Consent, ConsentRequest, Purpose
from tsunagu.consent.schemas import ConsentDetail, ConsentRequestOut
from tsunagu.core.clock import utcnow
from tsunagu.core.crypto import constant_time_equal
from tsunagu.core.errors import AppError, InvalidInput, NotAuthenticated, PermissionDenied
from tsunagu.core.http import db_session
from tsunagu.core.templating import request_locale
from tsunagu.identity.errors import PersonNotFound
from tsunagu.identity.models import Organization, Person
from tsunagu.identity.service import find_organization_by_slug
from tsunagu.identity.web_auth import PersonPage, find_web_session, page_person, settings_of
from tsunagu.vault import service as vault_service

router = APIRouter(prefix="/api/v1/me", tags=["me"])
logger = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"
#: what the person sends to confirm erasure (either language's word)
ERASE_WORDS = ("ERASE", "削除")


class PortalSignInRequired(NotAuthenticated):
    code = "portal_session_required"


class NotAPerson(PermissionDenied):
    code = "person_session_required"


class CsrfHeaderInvalid(PermissionDenied):
    code = "csrf_failed"


class ConfirmationRequired(InvalidInput):
    code = "confirmation_required"


class NotNarrower(InvalidInput):
    code = "not_narrower"


# --- authentication ------------------------------------------------------------------


def me(request: Request, db: Session = Depends(db_session, scope="function")) -> PersonPage:
    """The person signed in to the portal; 401 without a live session, 403 for staff."""
    found = find_web_session(request, db)
    if found is None:
        raise PortalSignInRequired("sign in to the personal portal first")
    if found[1].kind != "person" or found[1].person_id is None:
        raise NotAPerson("this API is for persons signed in to the personal portal")
    return page_person(request, db)


def me_writing(request: Request, page: PersonPage = Depends(me)) -> PersonPage:
    """``me`` for a POST: the ``X-CSRF-Token`` header must be the session's token."""
    submitted = request.headers.get(CSRF_HEADER, "")
    expected = page.web_session.csrf_token
    if not submitted or not expected or not constant_time_equal(expected, submitted):
        raise CsrfHeaderInvalid(f"the {CSRF_HEADER} header must carry the session's CSRF token")
    return page


Me = Annotated[PersonPage, Depends(me)]
MeWriting = Annotated[PersonPage, Depends(me_writing)]
Db = Annotated[Session, Depends(db_session, scope="function")]
Ward = Annotated[str, Query(alias="for")]


def _vault(request: Request) -> vault_service.Vault:
    return vault_service.Vault.from_settings(settings_of(request))


def _subjects_consent(db: Session, page: PersonPage, subject: Person, consent_id: str) -> Consent:
    try:
        wanted = uuid.UUID(consent_id)
    except ValueError:
        raise ConsentNotFound("no such consent") from None
    consent = consent_service.access_consent_of_person(db, page.person.id, wanted)
    if consent.person_id != subject.id:
        raise ConsentNotFound("no such consent")
    return consent


def _guardian(page: PersonPage, subject: Person) -> bool:
    return subject.id != page.person.id


# --- shapes --------------------------------------------------------------------------


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RecordIn(StrictInput):
    category: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any]


class NarrowIn(StrictInput):
    categories: list[str] = Field(min_length=1, max_length=100)


class AnswerIn(StrictInput):
    accept: bool


class EraseIn(StrictInput):
    confirm: str = ""


class RequestIn(StrictInput):
    organization: str = Field(min_length=1, max_length=63)
    kind: str = Field(min_length=1, max_length=40)
    detail: str = Field(default="", max_length=4000)


def _consent_request_json(db: Session, row: ConsentRequest) -> dict[str, Any]:
    out = ConsentRequestOut(
        id=row.id,
        person=row.person_id,
        purpose=consent_service.purpose_codes(db, {row.purpose_id})[row.purpose_id],
        categories=row.categories.split(),
        message=row.message,
        state=row.state,
        created_at=row.created_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
        consent=row.consent_id,
    ).model_dump(mode="json")
    out["organization"] = vault_service.slugs_of(db, {row.organization_id})[row.organization_id]
    out["notice_text"] = row.notice_text
    return out


# --- the session ---------------------------------------------------------------------


@router.get("/session")
def session_info(page: Me, db: Db) -> dict[str, Any]:
    person = page.person
    wards = consent_service.wards_of(db, person.id, utcnow().date())
    return {
        "person": {
            "id": str(person.id),
            "family_name": person.family_name,
            "given_name": person.given_name,
            "locale": person.locale,
        },
        "wards": [
            {"id": str(w.id), "family_name": w.family_name, "given_name": w.given_name}
            for w in wards
        ],
        "csrf_token": page.web_session.csrf_token,
    }


# --- records -------------------------------------------------------------------------


@router.get("/records")
def records(request: Request, page: Me, db: Db) -> list[dict[str, Any]]:
    view = vault_service.subject_view(db, _vault(request), page.person.id)
    return [
        {
            "organization": slug,
            "category": category,
            "records": [r.as_json() for r in view.by_source[slug][category]],
        }
        for slug in sorted(view.by_source, key=lambda s: (s is None, s or ""))
        for category in sorted(view.by_source[slug])
    ]


@router.post("/records", status_code=status.HTTP_201_CREATED)
def add_record(request: Request, body: RecordIn, page: MeWriting, db: Db) -> dict[str, str]:
    record = vault_service.enter_own_record(
        db, _vault(request), page.person.id, category=body.category, payload=body.payload
    )
    return {"id": str(record.id)}


# --- consents ------------------------------------------------------------------------


def _expire_due(db: Session, request: Request, person_id: uuid.UUID) -> None:
    """Mark the subject's lapsed consents expired; best-effort on a GET (the effective
    state is shown either way)."""
    try:
        with db.begin_nested():
            consent_service.expire_due(db, _vault(request).pseudonym_key, person_id=person_id)
    except OperationalError:
        pass
    except AppError:
        logger.warning("expiring the consents of a person failed", exc_info=True)


@router.get("/consents", response_model=list[ConsentDetail])
def consents(request: Request, page: Me, db: Db, ward: Ward = "") -> list[ConsentDetail]:
    subject = consent_service.acting_subject(db, page.person, ward)
    _expire_due(db, request, subject.id)
    return [
        consent_views.consent_detail(db, c)
        for c in consent_service.consents_of_person(db, subject.id)
    ]


@router.post("/consents/{consent_id}/withdraw", response_model=ConsentDetail)
def withdraw(
    request: Request, consent_id: str, page: MeWriting, db: Db, ward: Ward = ""
) -> ConsentDetail:
    subject = consent_service.acting_subject(db, page.person, ward)
    consent = _subjects_consent(db, page, subject, consent_id)
    actor = "guardian" if _guardian(page, subject) else "person"
    issued = consent_service.withdraw_consent(
        db, _vault(request).pseudonym_key, consent, actor=actor
    )
    return consent_views.consent_detail(db, issued.consent)


def _covered(code: str, granted: list[str]) -> bool:
    return any(code == g or code.startswith(g + ".") for g in granted)


@router.post(
    "/consents/{consent_id}/narrow",
    response_model=ConsentDetail,
    status_code=status.HTTP_201_CREATED,
)
def narrow(
    request: Request, consent_id: str, body: NarrowIn, page: MeWriting, db: Db, ward: Ward = ""
) -> ConsentDetail:
    subject = consent_service.acting_subject(db, page.person, ward)
    consent = _subjects_consent(db, page, subject, consent_id)
    now = utcnow()
    if consent_service.effective_state(consent, now) != "given":
        raise ConsentNotActive("the consent is not in force")
    granted = consent_service.consent_categories(db, consent.id)
    wider = [c for c in body.categories if not _covered(c, granted)]
    if wider:
        raise NotNarrower(
            "narrowing keeps to the consent's categories; ask the organization to ask again",
            errors=[{"field": "categories", "value": c, "reason": "not_consented"} for c in wider],
        )
    locale: Literal["ja", "en"] = "ja" if request_locale(request) == "ja" else "en"
    purpose = db.get_one(Purpose, consent.purpose_id)
    if locale == "ja":
        notice = purpose.description_ja or purpose.label_ja
    else:
        notice = purpose.description_en or purpose.label_en
    guardian = _guardian(page, subject)
    issued = consent_service.give_consent(
        db,
        _vault(request).pseudonym_key,
        person_id=subject.id,
        recipient=db.get_one(Organization, consent.recipient_id),
        purpose=purpose.code,
        categories=body.categories,
        evidence=consent_service.Evidence(notice_text=notice, method="api", language=locale),
        actor="guardian" if guardian else "person",
        given_by="guardian" if guardian else "person",
        guardian_id=page.person.id if guardian else None,
        expires_at=consent.expires_at,
        now=now,
    )
    return consent_views.consent_detail(db, issued.consent)


# --- re-consent requests -------------------------------------------------------------


@router.get("/consent-requests")
def consent_requests(page: Me, db: Db, ward: Ward = "") -> list[dict[str, Any]]:
    subject = consent_service.acting_subject(db, page.person, ward)
    return [_consent_request_json(db, r) for r in consent_service.pending_requests(db, subject.id)]


@router.post("/consent-requests/{request_id}")
def answer_consent_request(
    request: Request, request_id: str, body: AnswerIn, page: MeWriting, db: Db, ward: Ward = ""
) -> dict[str, Any]:
    subject = consent_service.acting_subject(db, page.person, ward)
    try:
        wanted = uuid.UUID(request_id)
    except ValueError:
        raise ConsentRequestNotFound("no such pending request") from None
    issued = consent_service.answer_request(
        db,
        _vault(request).pseudonym_key,
        person_id=subject.id,
        request_id=wanted,
        accept=body.accept,
        acting_person_id=page.person.id,
    )
    row = db.get_one(ConsentRequest, wanted)
    out = _consent_request_json(db, row)
    out["consent"] = (
        consent_views.consent_detail(db, issued.consent).model_dump(mode="json") if issued else None
    )
    return out


# --- usage, export, erasure ----------------------------------------------------------


@router.get("/usage")
def usage(request: Request, page: Me, db: Db) -> list[dict[str, Any]]:
    return vault_service.usage_of(db, _vault(request), page.person.id)


@router.post("/export")
def export(request: Request, page: MeWriting, db: Db) -> Response:
    archive = vault_service.export_archive(db, _vault(request), page.person.id)
    name = f"tsunagu-export-{utcnow():%Y%m%d}.zip"
    return Response(
        archive,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/erase")
def erase(request: Request, body: EraseIn, page: MeWriting, db: Db) -> dict[str, Any]:
    if body.confirm not in ERASE_WORDS:
        raise ConfirmationRequired(
            'erasure cannot be undone: send {"confirm": "ERASE"} to confirm',
            errors=[{"field": "confirm", "reason": "must be ERASE"}],
        )
    done = vault_service.erase_person(db, _vault(request), page.person.id, actor="person")
    return {
        "records": done.records,
        "consents_withdrawn": done.consents_withdrawn,
        "key_destroyed": done.key_destroyed,
        "ledger_index": done.ledger_index,
    }


# --- requests to organizations -------------------------------------------------------


@router.get("/requests")
def requests(page: Me, db: Db) -> list[dict[str, Any]]:
    rows = vault_service.requests_of(db, page.person.id)
    slugs = vault_service.slugs_of(db, {r.organization_id for r in rows})
    return [vault_service.request_json(r, slugs) for r in rows]


@router.post("/requests", status_code=status.HTTP_201_CREATED)
def file_request(body: RequestIn, page: MeWriting, db: Db) -> dict[str, Any]:
    org = find_organization_by_slug(db, body.organization)
    if org is None:
        # the same answer as for an organization that holds nothing about the person
        raise PersonNotFound("this organization holds nothing about you")
    row = vault_service.file_request(
        db, person_id=page.person.id, organization_id=org.id, kind=body.kind, detail=body.detail
    )
    return vault_service.request_json(row, {org.id: org.slug})


__all__ = ["CSRF_HEADER", "router"]
