"""The person's own pages of the portal (issue 5 §5), in Japanese and English.

- ``/portal/data`` — "My data": every record any organization holds about the signed-in
  person (``vault.service.subject_view``), grouped by organization, then category; its
  form posts to ``/portal/data/records`` to add a record about themself;
- ``/portal/consents`` — their consents with withdraw / narrow (a new consent for the same
  recipient and purpose supersedes the old one), organizations' re-consent requests, and
  each receipt as ISO/IEC TS 27560 JSON or Kantara v1.1 (``…/receipts/{id}``).  A
  guardian switches to a ward with ``?for=<ward id>``; a minor sees that their guardian
  manages consent until they turn 18;
- ``/portal/export`` — a ZIP of everything (POST, so a link cannot trigger it);
- ``/portal/erase`` — crypto-shredding after typing a confirmation word;
- ``/portal/requests`` — disclosure / correction / stop using / deletion requests.

Thin: check the form, call the consent and vault services, render.  Every POST is
CSRF-checked before it runs; a failing service call is rolled back to a savepoint and the
page is shown again with a friendly message.  The person only ever reaches their own data
(or a current ward's): consents go through ``access_consent_of_person``, which answers 404
for anyone else's.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.consent.errors import ConsentNotActive, ConsentNotFound, ConsentRequestNotFound
from tsunagu.consent.models import Consent, Purpose
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.templating import request_locale
from tsunagu.identity.models import Organization, Person, PersonLink
from tsunagu.identity.service import find_organization_by_slug, get_person
from tsunagu.identity.web_auth import (
    PersonPage,
    csrf_protect,
    page_person,
    redirect,
    render_page,
    settings_of,
)
from tsunagu.vault import service as vault_service
from tsunagu.vault.models import REQUEST_KINDS, Record

router = APIRouter(include_in_schema=False)
logger = logging.getLogger(__name__)

DATA = "/portal/data"
CONSENTS = "/portal/consents"
EXPORT = "/portal/export"
ERASE = "/portal/erase"
REQUESTS = "/portal/requests"
#: what the person types to confirm erasure (either language's word is accepted)
ERASE_WORDS = {"ja": "削除", "en": "ERASE"}


def _vault(request: Request) -> vault_service.Vault:
    return vault_service.Vault.from_settings(settings_of(request))


def _label(locale: str, ja: str, en: str) -> str:
    return ja if locale == "ja" else en


def _org_name(db: Session, slug: str | None) -> str | None:
    if slug is None:
        return None
    org = find_organization_by_slug(db, slug)
    return org.name if org is not None else slug


def _attempt(db: Session, action: Callable[[], Any]) -> AppError | None:
    """Run ``action`` in a savepoint: on an ``AppError`` its writes are undone and the
    error is returned for the page to explain."""
    try:
        with db.begin_nested():
            action()
    except AppError as exc:
        return exc
    return None


# --- my data -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CategoryGroup:
    code: str
    label: str
    sensitive: bool
    records: list[vault_service.RecordView]


@dataclass(frozen=True, slots=True)
class SourceGroup:
    slug: str | None
    name: str | None
    categories: list[CategoryGroup]


def payload_lines(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """A payload as (field, value) pairs a person can read; nested values as JSON."""
    lines: list[tuple[str, str]] = []
    for key, value in payload.items():
        if isinstance(value, str):
            text = value
        elif value is None:
            text = "—"
        else:
            text = json.dumps(value, ensure_ascii=False)
        lines.append((str(key), text))
    return lines


@router.get(DATA)
def my_data(
    request: Request,
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    locale = request_locale(request)
    view = vault_service.subject_view(db, _vault(request), page.person.id)
    cats = consent_service.category_map(db)
    groups: list[SourceGroup] = []
    for slug in sorted(view.by_source, key=lambda s: (s is None, s or "")):
        by_cat = view.by_source[slug]
        groups.append(
            SourceGroup(
                slug=slug,
                name=_org_name(db, slug),
                categories=[
                    CategoryGroup(
                        code=code,
                        label=_label(locale, cats[code].label_ja, cats[code].label_en)
                        if code in cats
                        else code,
                        sensitive=code in cats and cats[code].sensitive,
                        records=records,
                    )
                    for code, records in sorted(by_cat.items())
                ],
            )
        )
    context = {
        "groups": groups,
        "erased": view.erased,
        "count": view.count,
        "lines": payload_lines,
        "own_categories": _own_record_choices(db, locale),
        "own_error": getattr(request.state, "own_record_error", None),
        "done": request.query_params.get("done", ""),
    }
    return render_page(request, "vault/portal_data.html", context)


# --- a record the person adds about themself ------------------------------------------

OWN_RECORD = DATA + "/records"


def _own_record_choices(db: Session, locale: str) -> list[tuple[str, str]]:
    """The categories a person may file a record of their own under (code, label)."""
    return [
        (c.code, _label(locale, c.label_ja, c.label_en))
        for c in consent_service.list_categories(db)
    ]


@router.post(OWN_RECORD, dependencies=[Depends(csrf_protect)])
def add_own_record(
    request: Request,
    category: str = Form(default=""),
    value: str = Form(default=""),
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    """The person adds a record about themself (source: the person); the form holds one
    free-text value, stored as ``{"value": …}``.  On a refusal the data page is shown
    again with the reason."""

    def enter() -> None:
        if not category or not value.strip():
            raise InvalidInput("choose a category and write the value")
        vault_service.enter_own_record(
            db, _vault(request), page.person.id, category=category, payload={"value": value.strip()}
        )

    error = _attempt(db, enter)
    if error is not None:
        request.state.own_record_error = error.code
        response = my_data(request, page, db)
        response.status_code = error.status_code
        return response
    return redirect(DATA + "?done=added")


# --- consents ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentView:
    id: uuid.UUID
    state: str
    recipient: str
    purpose: str
    purpose_description: str
    categories: list[tuple[str, str, bool, bool]]  # code, label, sensitive, consented
    given_at: Any
    expires_at: Any
    ended_at: Any
    given_by: str
    receipts: list[Any]


@dataclass(frozen=True, slots=True)
class RequestView:
    id: uuid.UUID
    organization: str
    purpose: str
    categories: list[tuple[str, bool]]
    message: str
    notice_text: str
    expires_at: Any


def _recipient_categories(db: Session, person_id: uuid.UUID, org_id: uuid.UUID) -> set[str]:
    """Categories the organization supplied about the person (offered when narrowing or
    widening a consent)."""
    # metadata only (no payload is opened): the categories, never the sealed versions
    return set(
        db.scalars(
            select(Record.category)
            .where(Record.person_id == person_id, Record.source_id == org_id)
            .distinct()
        )
    )


def _consent_views(db: Session, subject: Person, locale: str) -> list[ConsentView]:
    now = utcnow()
    cats = consent_service.category_map(db)
    out: list[ConsentView] = []
    for consent in consent_service.consents_of_person(db, subject.id):
        purpose = db.get_one(Purpose, consent.purpose_id)
        recipient = db.get_one(Organization, consent.recipient_id)
        mine = consent_service.consent_categories(db, consent.id)
        offered = sorted(set(mine) | _recipient_categories(db, subject.id, recipient.id))
        out.append(
            ConsentView(
                id=consent.id,
                state=consent_service.effective_state(consent, now),
                recipient=recipient.name,
                purpose=_label(locale, purpose.label_ja, purpose.label_en),
                purpose_description=_label(locale, purpose.description_ja, purpose.description_en),
                categories=[
                    (
                        code,
                        _label(locale, cats[code].label_ja, cats[code].label_en),
                        cats[code].sensitive,
                        code in mine,
                    )
                    for code in offered
                    if code in cats
                ],
                given_at=consent.given_at,
                expires_at=consent.expires_at,
                ended_at=consent.ended_at,
                given_by=consent.given_by,
                receipts=consent_service.receipts_of(db, consent.id),
            )
        )
    return out


def _request_views(db: Session, subject: Person, locale: str) -> list[RequestView]:
    cats = consent_service.category_map(db)
    out: list[RequestView] = []
    for row in consent_service.pending_requests(db, subject.id):
        purpose = db.get_one(Purpose, row.purpose_id)
        org = db.get_one(Organization, row.organization_id)
        out.append(
            RequestView(
                id=row.id,
                organization=org.name,
                purpose=_label(locale, purpose.label_ja, purpose.label_en),
                categories=[
                    (_label(locale, cats[c].label_ja, cats[c].label_en), cats[c].sensitive)
                    if c in cats
                    else (c, False)
                    for c in row.categories.split()
                ],
                message=row.message,
                notice_text=row.notice_text,
                expires_at=row.expires_at,
            )
        )
    return out


def _expire_due(db: Session, request: Request, person_id: uuid.UUID) -> None:
    """Mark the person's lapsed consents expired (best-effort on a GET: another writer
    holding the SQLite lock only delays it; the page shows the effective state anyway)."""
    try:
        with db.begin_nested():
            consent_service.expire_due(db, _vault(request).pseudonym_key, person_id=person_id)
    except OperationalError:
        pass
    except AppError:
        # the sweep failing must not hide the person's consents; the ledger job retries
        logger.warning("expiring the consents of a person failed", exc_info=True)


def _consents_page(
    request: Request,
    db: Session,
    page: PersonPage,
    subject: Person,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    today = utcnow().date()
    acting_for_ward = subject.id != page.person.id
    context = {
        "subject": subject,
        "ward_id": str(subject.id) if acting_for_ward else "",
        "acting_for_ward": acting_for_ward,
        "wards": consent_service.wards_of(db, page.person.id, today),
        "is_minor": not acting_for_ward and consent_service.is_minor(page.person, today),
        "consents": _consent_views(db, subject, locale),
        "requests": _request_views(db, subject, locale),
        "done": request.query_params.get("done", ""),
        "error": error,
    }
    return render_page(request, "vault/portal_consents.html", context, status_code=status_code)


def _consents_url(ward_id: str, done: str) -> str:
    url = f"{CONSENTS}?done={done}"
    return url + (f"&for={ward_id}" if ward_id else "")


@router.get(CONSENTS)
def consents(
    request: Request,
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    subject = consent_service.acting_subject(db, page.person, request.query_params.get("for", ""))
    _expire_due(db, request, subject.id)
    return _consents_page(request, db, page, subject)


def _own_consent(db: Session, page: PersonPage, consent_id: str) -> Consent:
    try:
        wanted = uuid.UUID(consent_id)
    except ValueError:
        raise ConsentNotFound("no such consent") from None
    return consent_service.access_consent_of_person(db, page.person.id, wanted)


def _actor(page: PersonPage, consent: Consent) -> str:
    return "person" if consent.person_id == page.person.id else "guardian"


@router.post(CONSENTS + "/{consent_id}/withdraw", dependencies=[Depends(csrf_protect)])
def withdraw(
    request: Request,
    consent_id: str,
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    consent = _own_consent(db, page, consent_id)
    subject = get_person(db, consent.person_id)
    ward_id = "" if subject.id == page.person.id else str(subject.id)
    key = _vault(request).pseudonym_key
    error = _attempt(
        db,
        lambda: consent_service.withdraw_consent(db, key, consent, actor=_actor(page, consent)),
    )
    if error is not None:
        return _consents_page(
            request, db, page, subject, error=error.code, status_code=error.status_code
        )
    return redirect(_consents_url(ward_id, "withdrawn"))


@router.post(CONSENTS + "/{consent_id}/narrow", dependencies=[Depends(csrf_protect)])
def narrow(
    request: Request,
    consent_id: str,
    categories: list[str] = Form(default=[]),
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    consent = _own_consent(db, page, consent_id)
    subject = get_person(db, consent.person_id)
    guardian = subject.id != page.person.id
    ward_id = str(subject.id) if guardian else ""
    locale = request_locale(request)
    purpose = db.get_one(Purpose, consent.purpose_id)
    recipient = db.get_one(Organization, consent.recipient_id)
    notice = _label(locale, purpose.description_ja, purpose.description_en) or _label(
        locale, purpose.label_ja, purpose.label_en
    )
    now = utcnow()
    key = _vault(request).pseudonym_key

    def give() -> None:
        if consent_service.effective_state(consent, now) != "given":
            raise ConsentNotActive("the consent is not in force")
        if not categories:
            raise InvalidInput("choose at least one category")
        consent_service.give_consent(
            db,
            key,
            person_id=subject.id,
            recipient=recipient,
            purpose=purpose.code,
            categories=categories,
            evidence=consent_service.Evidence(
                notice_text=notice,
                method="portal",
                language="ja" if locale == "ja" else "en",
            ),
            actor="guardian" if guardian else "person",
            given_by="guardian" if guardian else "person",
            guardian_id=page.person.id if guardian else None,
            expires_at=consent.expires_at,
            now=now,
        )

    error = _attempt(db, give)
    if error is not None:
        return _consents_page(
            request, db, page, subject, error=error.code, status_code=error.status_code
        )
    return redirect(_consents_url(ward_id, "changed"))


@router.post("/portal/consent-requests/{request_id}", dependencies=[Depends(csrf_protect)])
def answer(
    request: Request,
    request_id: str,
    decision: str = Form(default=""),
    ward: str = Form(default="", alias="for"),
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    subject = consent_service.acting_subject(db, page.person, ward)
    ward_id = ward if subject.id != page.person.id else ""
    key = _vault(request).pseudonym_key

    def reply() -> None:
        try:
            wanted = uuid.UUID(request_id)
        except ValueError:
            raise ConsentRequestNotFound("no such pending request") from None
        consent_service.answer_request(
            db,
            key,
            person_id=subject.id,
            request_id=wanted,
            accept=decision == "accept",
            acting_person_id=page.person.id,
        )

    error = _attempt(db, reply)
    if error is not None:
        return _consents_page(
            request, db, page, subject, error=error.code, status_code=error.status_code
        )
    return redirect(_consents_url(ward_id, "accepted" if decision == "accept" else "declined"))


@router.get(CONSENTS + "/{consent_id}/receipts/{receipt_id}")
def receipt(
    request: Request,
    consent_id: str,
    receipt_id: str,
    format: str = "iso",
    download: bool = False,
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> JSONResponse:
    consent = _own_consent(db, page, consent_id)
    row = next(
        (r for r in consent_service.receipts_of(db, consent.id) if str(r.id) == receipt_id),
        None,
    )
    if row is None:
        raise ConsentNotFound("no such receipt")
    if format == "kantara":
        body = consent_service.kantara_receipt(db, _vault(request).pseudonym_key, row)
    else:
        body = json.loads(row.body)
    headers = {"Cache-Control": "no-store"}
    if download:
        suffix = "kantara" if format == "kantara" else "iso27560"
        headers["Content-Disposition"] = f'attachment; filename="receipt-{row.id}-{suffix}.json"'
    return JSONResponse(body, headers=headers)


# --- export --------------------------------------------------------------------------


@router.get(EXPORT)
def export_form(request: Request, _page: PersonPage = Depends(page_person)) -> HTMLResponse:
    return render_page(request, "vault/portal_export.html", {})


@router.post(EXPORT, dependencies=[Depends(csrf_protect)])
def export(
    request: Request,
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
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


# --- erasure -------------------------------------------------------------------------


def _erase_page(request: Request, *, error: bool = False, status_code: int = 200) -> HTMLResponse:
    word = ERASE_WORDS.get(request_locale(request), ERASE_WORDS["en"])
    context = {"word": word, "error": error}
    return render_page(request, "vault/portal_erase.html", context, status_code=status_code)


@router.get(ERASE)
def erase_form(request: Request, _page: PersonPage = Depends(page_person)) -> HTMLResponse:
    return _erase_page(request)


@router.post(ERASE, dependencies=[Depends(csrf_protect)])
def erase(
    request: Request,
    confirm: str = Form(default=""),
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    typed = confirm.strip()
    if typed not in ERASE_WORDS.values() and typed.upper() != ERASE_WORDS["en"]:
        return _erase_page(request, error=True, status_code=422)
    vault_service.erase_person(db, _vault(request), page.person.id, actor="person")
    return redirect(DATA + "?erased=1")


# --- requests to organizations -------------------------------------------------------


def _organizations_of(db: Session, person_id: uuid.UUID) -> list[Organization]:
    """Organizations that hold something about the person (a request can go to them)."""
    ids = set(
        db.scalars(select(PersonLink.organization_id).where(PersonLink.person_id == person_id))
    )
    ids |= {c.recipient_id for c in consent_service.consents_of_person(db, person_id)}
    ids |= {
        i
        for i in db.scalars(
            select(Record.source_id).where(Record.person_id == person_id).distinct()
        )
        if i is not None
    }
    if not ids:
        return []
    return list(
        db.scalars(select(Organization).where(Organization.id.in_(ids)).order_by(Organization.name))
    )


def _requests_page(
    request: Request,
    db: Session,
    page: PersonPage,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = vault_service.requests_of(db, page.person.id)
    wanted = {r.organization_id for r in rows}
    names = (
        dict(
            db.execute(
                select(Organization.id, Organization.name).where(Organization.id.in_(wanted))
            ).all()
        )
        if wanted
        else {}
    )
    context = {
        "organizations": _organizations_of(db, page.person.id),
        "kinds": REQUEST_KINDS,
        "rows": rows,
        "names": names,
        "done": request.query_params.get("done", ""),
        "error": error,
    }
    return render_page(request, "vault/portal_requests.html", context, status_code=status_code)


@router.get(REQUESTS)
def requests(
    request: Request,
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    return _requests_page(request, db, page)


@router.post(REQUESTS, dependencies=[Depends(csrf_protect)])
def file_request(
    request: Request,
    organization: str = Form(default=""),
    kind: str = Form(default=""),
    detail: str = Form(default=""),
    page: PersonPage = Depends(page_person),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    def file() -> None:
        try:
            org_id = uuid.UUID(organization)
        except ValueError:
            raise InvalidInput("choose an organization") from None
        vault_service.file_request(
            db, person_id=page.person.id, organization_id=org_id, kind=kind, detail=detail
        )

    error = _attempt(db, file)
    if error is not None:
        return _requests_page(request, db, page, error=error.code, status_code=error.status_code)
    return redirect(REQUESTS + "?done=filed")


__all__ = ["CONSENTS", "DATA", "ERASE", "EXPORT", "OWN_RECORD", "REQUESTS", "router"]
