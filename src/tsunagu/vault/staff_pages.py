"""The privacy officer's pages of the staff console (個人情報保護管理者の画面).

- ``/privacy`` — overview: how many purposes, consents in force, open and overdue
  requests, recent provisions, with links to the pages below;
- ``/privacy/catalogue`` — the data categories (hierarchy, 要配慮 sensitive flag) and the
  purposes (the defaults with their W3C DPV IRI, and the organization's own), with the
  form that adds an organization purpose;
- ``/privacy/consents`` — consents per purpose and state as a server-rendered SVG chart
  (stacked bars, with the same numbers in a table) and the latest consents, each person
  shown only by the organization's own reference number — never a payload;
- ``/privacy/requests`` — the queue of persons' requests (disclosure, correction, stop
  using, deletion) by due date, overdue ones marked, with the answer / reject form;
- ``/privacy/provisions`` and ``/privacy/provisions.csv`` — the APPI third-party
  provision records (persons as their ledger pseudonym) and their CSV for a regulator.

Every page is for signed-in staff and shows only their own organization's data; every
write needs the admin role and a CSRF token.  The pages are thin: the use cases live in
``consent.service`` and ``vault.service``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.consent.errors import PurposeTaken
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_noop
from tsunagu.core.templating import request_locale
from tsunagu.identity.models import Organization, PersonLink
from tsunagu.identity.web_auth import (
    StaffPage,
    csrf_protect,
    page_staff,
    redirect,
    render_page,
    settings_of,
)
from tsunagu.vault import service as vault_service
from tsunagu.vault.errors import RequestNotFound

router = APIRouter(include_in_schema=False)

OVERVIEW = "/privacy"
CATALOGUE = "/privacy/catalogue"
CONSENTS = "/privacy/consents"
REQUESTS = "/privacy/requests"
PROVISIONS = "/privacy/provisions"
PROVISIONS_CSV = "/privacy/provisions.csv"

#: how many of the latest consents the consents page lists
LATEST_CONSENTS = 50
#: the overview counts provisions of this many past days
RECENT_DAYS = 30
#: the states of a consent, in the order the chart stacks them
STATES = ("given", "withdrawn", "expired", "superseded")
STATE_LABELS = {
    "given": gettext_noop("In force"),
    "withdrawn": gettext_noop("Withdrawn"),
    "expired": gettext_noop("Expired"),
    "superseded": gettext_noop("Superseded"),
}
REQUEST_KIND_LABELS = {
    "disclosure": gettext_noop("Disclosure"),
    "correction": gettext_noop("Correction"),
    "stop_use": gettext_noop("Stop using"),
    "deletion": gettext_noop("Deletion"),
}
REQUEST_STATE_LABELS = {
    "open": gettext_noop("Open"),
    "answered": gettext_noop("Answered"),
    "rejected": gettext_noop("Rejected"),
}


# --- views the templates read ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CategoryView:
    code: str
    label: str
    depth: int
    sensitive: bool


@dataclass(frozen=True, slots=True)
class PurposeView:
    code: str
    label: str
    description: str
    dpv: str | None
    own: bool


@dataclass(frozen=True, slots=True)
class Segment:
    """One state's part of a bar: where it starts and how wide it is (chart units)."""

    state: str
    count: int
    x: float
    width: float


@dataclass(frozen=True, slots=True)
class BarView:
    purpose: str
    label: str
    total: int
    y: float
    counts: dict[str, int]
    segments: list[Segment]


@dataclass(frozen=True, slots=True)
class Chart:
    """A horizontal stacked bar chart laid out for an inline SVG."""

    bars: list[BarView]
    width: float
    height: float
    label_width: float
    bar_width: float
    bar_height: float
    maximum: int
    ticks: list[tuple[float, int]]


@dataclass(frozen=True, slots=True)
class ConsentRow:
    given_at: datetime
    ref: str | None
    purpose: str
    categories: list[str]
    state: str
    given_by: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class RequestRow:
    id: uuid.UUID
    ref: str | None
    kind: str
    detail: str
    state: str
    created_at: datetime
    due_at: datetime
    overdue: bool
    answered_at: datetime | None
    answer: str | None


# --- helpers ---------------------------------------------------------------------------


def _label(locale: str, ja: str, en: str) -> str:
    return ja if locale == "ja" else en


def refs_of(
    db: Session, organization_id: uuid.UUID, person_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The organization's own reference numbers of many persons, in one query."""
    wanted = set(person_ids)
    if not wanted:
        return {}
    rows = db.execute(
        select(PersonLink.person_id, PersonLink.ref).where(
            PersonLink.organization_id == organization_id, PersonLink.person_id.in_(wanted)
        )
    )
    return dict(rows.all())


def org_names(db: Session, slugs: Iterable[str]) -> dict[str, str]:
    """The names of organizations by their slug (provision records name them by slug)."""
    wanted = set(slugs)
    if not wanted:
        return {}
    rows = db.execute(
        select(Organization.slug, Organization.name).where(Organization.slug.in_(wanted))
    )
    return dict(rows.all())


def _nice_maximum(value: int) -> int:
    """The axis end: 1, 2 or 5 times a power of ten, at least ``value``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def build_chart(stats: Sequence[consent_service.PurposeStats], locale: str) -> Chart:
    """Lay out one stacked bar per purpose (states in ``STATES`` order)."""
    label_width, bar_width, bar_height, gap, top = 170.0, 340.0, 24.0, 12.0, 10.0
    maximum = _nice_maximum(
        max((s.given + s.withdrawn + s.expired + s.superseded for s in stats), default=1) or 1
    )
    bars: list[BarView] = []
    for index, stat in enumerate(stats):
        counts = {state: int(getattr(stat, state)) for state in STATES}
        y = top + index * (bar_height + gap)
        segments: list[Segment] = []
        x = label_width
        for state in STATES:
            if counts[state]:
                width = bar_width * counts[state] / maximum
                segments.append(Segment(state, counts[state], round(x, 2), round(width, 2)))
                x += width
        bars.append(
            BarView(
                purpose=stat.purpose,
                label=_label(locale, stat.label_ja, stat.label_en),
                total=sum(counts.values()),
                y=y,
                counts=counts,
                segments=segments,
            )
        )
    height = top + len(bars) * (bar_height + gap) + 24
    parts = next((n for n in (4, 5, 2) if maximum % n == 0), 1)
    ticks = [
        (round(label_width + bar_width * i / parts, 2), maximum * i // parts)
        for i in range(parts + 1)
    ]
    return Chart(
        bars=bars,
        width=label_width + bar_width + 20,
        height=height,
        label_width=label_width,
        bar_width=bar_width,
        bar_height=bar_height,
        maximum=maximum,
        ticks=ticks,
    )


def _zone(page: StaffPage) -> ZoneInfo:
    return ZoneInfo(page.organization.timezone or "Asia/Tokyo")


def _parse_day(value: str | None, field: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field}: a date is written YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class Period:
    """A range of days (both ends included) in the organization's time zone."""

    since: date | None
    until: date | None
    zone: ZoneInfo

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.since, time(0), self.zone) if self.since else None

    @property
    def end(self) -> datetime | None:
        if self.until is None:
            return None
        return datetime.combine(self.until + timedelta(days=1), time(0), self.zone)

    def filename(self) -> str:
        first = self.since.isoformat() if self.since else "start"
        last = self.until.isoformat() if self.until else utcnow().astimezone(self.zone).date()
        return f"provisions_{first}_{last}.csv"


def _period(page: StaffPage, since: str | None, until: str | None) -> Period:
    period = Period(_parse_day(since, "since"), _parse_day(until, "until"), _zone(page))
    if period.since and period.until and period.since > period.until:
        raise InvalidInput("since: the first day lies after the last day")
    return period


def _is_admin(page: StaffPage) -> bool:
    return page.membership.role in ("owner", "admin")


def _request_rows(db: Session, page: StaffPage, *, state: str | None) -> list[RequestRow]:
    """The organization's requests (in ``state``, or all) by due date, for the pages."""
    rows = vault_service.request_queue(db, page.organization.id, state=state)
    refs = refs_of(db, page.organization.id, (r.person_id for r in rows))
    now = utcnow()
    return [
        RequestRow(
            id=r.id,
            ref=refs.get(r.person_id),
            kind=r.kind,
            detail=r.detail,
            state=r.state,
            created_at=r.created_at,
            due_at=r.due_at,
            overdue=r.state == "open" and r.due_at < now,
            answered_at=r.answered_at,
            answer=r.answer,
        )
        for r in rows
    ]


# --- overview --------------------------------------------------------------------------


@router.get(OVERVIEW)
def overview(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    org_id = page.organization.id
    stats = consent_service.statistics(db, org_id)
    queue = _request_rows(db, page, state="open")
    vault = vault_service.Vault.from_settings(settings_of(request))
    recent = vault_service.provision_records(
        db, vault, org_id, since=utcnow() - timedelta(days=RECENT_DAYS)
    )
    purposes = consent_service.list_purposes(db, org_id)
    context = {
        "own_purposes": sum(1 for p in purposes if p.organization_id == org_id),
        "consents_in_force": sum(s.given for s in stats),
        "open_requests": len(queue),
        "overdue_requests": sum(1 for r in queue if r.overdue),
        "recent_provisions": len(recent),
        "recent_days": RECENT_DAYS,
    }
    return render_page(request, "vault/staff_overview.html", context)


# --- catalogue -------------------------------------------------------------------------


def _catalogue_page(
    request: Request,
    db: Session,
    page: StaffPage,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    added: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    org_id = page.organization.id
    categories = [
        CategoryView(
            code=c.code,
            label=_label(locale, c.label_ja, c.label_en),
            depth=c.code.count("."),
            sensitive=c.sensitive,
        )
        for c in consent_service.list_categories(db)
    ]
    purposes = [
        PurposeView(
            code=p.code,
            label=_label(locale, p.label_ja, p.label_en),
            description=_label(locale, p.description_ja, p.description_en),
            dpv=p.dpv,
            own=p.organization_id == org_id,
        )
        for p in consent_service.list_purposes(db, org_id)
    ]
    context = {
        "categories": categories,
        "defaults": [p for p in purposes if not p.own],
        "own": [p for p in purposes if p.own],
        "can_edit": _is_admin(page),
        "form": form or {},
        "error": error,
        # only a purpose that exists is announced (the code arrives in the URL)
        "added": added if any(p.own and p.code == added for p in purposes) else None,
    }
    return render_page(request, "vault/staff_catalogue.html", context, status_code=status_code)


@router.get(CATALOGUE)
def catalogue(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    added: str | None = None,
) -> HTMLResponse:
    return _catalogue_page(request, db, page, added=added)


@router.post(CATALOGUE + "/purposes")
def add_purpose(
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    code: str = Form(default=""),
    label_ja: str = Form(default=""),
    label_en: str = Form(default=""),
    description_ja: str = Form(default=""),
    description_en: str = Form(default=""),
) -> Response:
    page.actor.require_role("admin")
    form = {
        "code": code.strip(),
        "label_ja": label_ja.strip(),
        "label_en": label_en.strip(),
        "description_ja": description_ja.strip(),
        "description_en": description_en.strip(),
    }
    if not form["label_ja"] or not form["label_en"]:
        return _catalogue_page(request, db, page, form=form, error="labels", status_code=422)
    try:
        purpose = consent_service.create_purpose(db, page.actor, **form)
    except PurposeTaken:
        return _catalogue_page(request, db, page, form=form, error="taken", status_code=409)
    except InvalidInput:
        return _catalogue_page(request, db, page, form=form, error="code", status_code=422)
    return redirect(f"{CATALOGUE}?added={purpose.code}")


# --- consents --------------------------------------------------------------------------


@router.get(CONSENTS)
def consents(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    locale = request_locale(request)
    org_id = page.organization.id
    stats = consent_service.statistics(db, org_id)
    latest = consent_service.consents_for_recipient(db, org_id, limit=LATEST_CONSENTS)
    refs = refs_of(db, org_id, (c.person_id for c in latest))
    codes = consent_service.purpose_codes(db, {c.purpose_id for c in latest})
    now = utcnow()
    rows = [
        ConsentRow(
            given_at=c.given_at,
            ref=refs.get(c.person_id),
            purpose=codes.get(c.purpose_id, ""),
            categories=consent_service.consent_categories(db, c.id),
            state=consent_service.effective_state(c, now),
            given_by=c.given_by,
            expires_at=c.expires_at,
        )
        for c in latest
    ]
    context = {
        "chart": build_chart(stats, locale),
        "states": STATES,
        "state_labels": STATE_LABELS,
        "consents": rows,
    }
    return render_page(request, "vault/staff_consents.html", context)


# --- requests --------------------------------------------------------------------------


def _requests_page(
    request: Request,
    db: Session,
    page: StaffPage,
    *,
    error_id: uuid.UUID | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = _request_rows(db, page, state=None)
    context = {
        "open": [r for r in rows if r.state == "open"],
        "closed": sorted(
            (r for r in rows if r.state != "open"),
            key=lambda r: r.answered_at or r.due_at,
            reverse=True,
        ),
        "kind_labels": REQUEST_KIND_LABELS,
        "state_labels": REQUEST_STATE_LABELS,
        "can_answer": _is_admin(page),
        "error_id": error_id,
        "done": done,
    }
    return render_page(request, "vault/staff_requests.html", context, status_code=status_code)


@router.get(REQUESTS)
def requests(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    done: str | None = None,
) -> HTMLResponse:
    return _requests_page(request, db, page, done=done)


@router.post(REQUESTS + "/{request_id}/answer")
def answer_submit(
    request: Request,
    request_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    answer: str = Form(default=""),
    outcome: str = Form(default="answer"),
) -> Response:
    page.actor.require_role("admin")
    if not answer.strip():
        # an unknown id is still a 404, even with an empty answer
        rows = vault_service.request_queue(db, page.organization.id, state=None)
        if not any(r.id == request_id for r in rows):
            raise RequestNotFound("no such request")
        return _requests_page(request, db, page, error_id=request_id, status_code=422)
    row = vault_service.answer_request(
        db,
        page.organization.id,
        request_id,
        answer=answer.strip(),
        actor=consent_service.actor_label(page.actor),
        reject=outcome == "reject",
    )
    return redirect(f"{REQUESTS}?done={row.state}")


# --- provisions ------------------------------------------------------------------------


@router.get(PROVISIONS)
def provisions(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    since: str | None = None,
    until: str | None = None,
) -> HTMLResponse:
    period = _period(page, since, until)
    vault = vault_service.Vault.from_settings(settings_of(request))
    lines = vault_service.provision_records(
        db, vault, page.organization.id, since=period.start, until=period.end
    )
    query: dict[str, Any] = {}
    if period.since:
        query["since"] = period.since.isoformat()
    if period.until:
        query["until"] = period.until.isoformat()
    slugs = {line.provider for line in lines} | {line.recipient for line in lines}
    context = {
        "lines": lines,
        "org_names": org_names(db, slugs),
        "since": query.get("since", ""),
        "until": query.get("until", ""),
        "csv_query": "&".join(f"{k}={v}" for k, v in query.items()),
    }
    return render_page(request, "vault/staff_provisions.html", context)


@router.get(PROVISIONS_CSV)
def provisions_csv(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    since: str | None = None,
    until: str | None = None,
) -> Response:
    period = _period(page, since, until)
    vault = vault_service.Vault.from_settings(settings_of(request))
    lines = vault_service.provision_records(
        db, vault, page.organization.id, since=period.start, until=period.end
    )
    return Response(
        content=vault_service.provision_csv(lines).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{period.filename()}"',
            "Cache-Control": "no-store",
        },
    )


__all__ = [
    "CATALOGUE",
    "CONSENTS",
    "OVERVIEW",
    "PROVISIONS",
    "PROVISIONS_CSV",
    "REQUESTS",
    "build_chart",
    "refs_of",
    "router",
]
