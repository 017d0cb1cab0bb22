"""Collaboration pages of the staff console (ja/en): the agreements between organizations.

- ``/linkage`` — the organization's collaborations (status, partner, purpose, expiry);
- ``/linkage/new`` — an admin proposes one (partner, role, purpose, categories, allowed
  dimensions and measures, forbidden uses, expiry, minimum group size, privacy budget);
- ``/linkage/{id}`` — the agreement in plain language, each side's acceptance (an Accept
  button for the admin of a side that has not accepted), the uploaded tables and the
  latest match run (counts only; a Run match button for the provider's admin);
- ``/linkage/{id}/record`` — the privacy officer's record of both sides: the acceptances,
  the ledger entries of the collaboration, the APPI third-party provision records
  (第三者提供記録) grouped by release, and every clean-room question asked.

Every page is for signed-in staff of a participant; another organization's collaboration
answers 404 (``access_collaboration``), a page without a session sends the browser to the
sign-in page.  Writes need a CSRF token and the admin role (``RoleTooLow`` → the friendly
403 page).  Nothing here shows a person: the pages hold counts, labels and ledger indexes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_for, gettext_noop
from tsunagu.core.settings import Settings
from tsunagu.core.templating import request_locale
from tsunagu.identity.models import Organization, StaffUser
from tsunagu.identity.web_auth import StaffPage, csrf_protect, page_staff, redirect, render_page
from tsunagu.linkage import service
from tsunagu.linkage.errors import NotParticipant
from tsunagu.linkage.models import CleanroomQuery, Collaboration, Dataset, MatchRun, Participant
from tsunagu.vault import service as vault_service

router = APIRouter(include_in_schema=False)

LINKAGE = "/linkage"
TOKYO = ZoneInfo("Asia/Tokyo")

STATUS_LABELS = {
    "proposed": gettext_noop("Waiting for acceptance"),
    "active": gettext_noop("Active"),
    "expired": gettext_noop("Expired"),
    "ended": gettext_noop("Ended"),
}
ROLE_LABELS = {
    "provider": gettext_noop("Provider (holds the customer data)"),
    "recipient": gettext_noop("Recipient (asks aggregate questions)"),
}
DIMENSION_LABELS = {
    "category": gettext_noop("Product category"),
    "age_band": gettext_noop("Age band"),
    "prefecture": gettext_noop("Prefecture"),
    "segment": gettext_noop("Member segment"),
    "week": gettext_noop("Week"),
    "promotion_period": gettext_noop("Before / during / after the promotion"),
    "member": gettext_noop("Member or not"),
}
MEASURE_LABELS = {
    "persons": gettext_noop("Persons"),
    "orders": gettext_noop("Orders"),
    "amount_sum": gettext_noop("Amount (sum, yen)"),
    "amount_avg": gettext_noop("Amount per order (average, yen)"),
}
DATASET_LABELS = {
    "customers": gettext_noop("Customers (provider)"),
    "orders": gettext_noop("Orders (provider)"),
    "members": gettext_noop("Members (recipient)"),
}
KIND_LABELS = {
    "linkage.accepted": gettext_noop("Terms accepted"),
    "linkage.dataset": gettext_noop("Table uploaded"),
    "linkage.match": gettext_noop("Records matched"),
    "consent.batch": gettext_noop("Consent checked for the match"),
    "cleanroom.query": gettext_noop("Clean-room question answered"),
    "provision": gettext_noop("Provision recorded (APPI)"),
}
#: dimensions and measures in the order the forms list them
DIMENSIONS = ("category", "age_band", "prefecture", "segment", "week", "promotion_period", "member")
MEASURES = ("persons", "orders", "amount_sum", "amount_avg")
DEFAULT_EXPIRY_DAYS = 365


def label(locale: str, labels: Mapping[str, str], key: str) -> str:
    """``labels[key]`` in ``locale``, or the key itself when it has no label."""
    return gettext_for(locale, labels[key]) if key in labels else key


def is_admin(page: StaffPage) -> bool:
    return page.membership.role in ("owner", "admin")


# --- views -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    role: str
    organization: Organization
    accepted: bool
    accepted_at: datetime | None
    accepted_by: str | None
    ledger_index: int | None
    mine: bool


@dataclass(frozen=True)
class Agreement:
    """A collaboration as its pages show it."""

    collab: Collaboration
    status: str
    my_role: str
    sides: list[Side]
    partner: Organization
    purpose_label: str
    categories: list[str]
    dimensions: list[str]
    measures: list[str]
    min_group_size: int
    epsilon_per_query: float | None
    forbidden_uses: str

    @property
    def mine_accepted(self) -> bool:
        return any(s.mine and s.accepted for s in self.sides)


def _staff_names(db: Session, labels: Sequence[str | None]) -> dict[str, str]:
    """Display names for ``staff:<uuid>`` actor labels (others keep their label)."""
    ids: dict[str, uuid.UUID] = {}
    for text in labels:
        if text and text.startswith("staff:"):
            try:
                ids[text] = uuid.UUID(text.removeprefix("staff:"))
            except ValueError:
                continue
    names: dict[str, str] = {}
    if ids:
        found = dict(
            db.execute(
                select(StaffUser.id, StaffUser.display_name).where(
                    StaffUser.id.in_(set(ids.values()))
                )
            ).all()
        )
        names = {text: str(found[uid]) for text, uid in ids.items() if uid in found}
    return names


def who(locale: str, names: Mapping[str, str], actor: str | None) -> str:
    """An actor label in words: a staff user's name, or "a system (API key)"."""
    if not actor:
        return "—"
    if actor in names:
        return names[actor]
    if actor.startswith("api_key:"):
        return gettext_for(locale, gettext_noop("A system of the organization (API key)"))
    return actor


def floor_of(request: Request) -> int:
    """The platform's minimum group size under every agreement."""
    settings: Settings = request.app.state.settings
    return settings.cleanroom_min_group_floor


def agreement(
    db: Session, page: StaffPage, collab: Collaboration, locale: str, *, floor: int = 1
) -> Agreement:
    """The view of one collaboration the page's organization takes part in; ``floor`` is
    the platform's minimum group size (``Settings.cleanroom_min_group_floor``), shown when
    it is above the agreement's."""
    org_id = page.organization.id
    rows = db.execute(
        select(Participant, Organization)
        .join(Organization, Organization.id == Participant.organization_id)
        .where(Participant.collaboration_id == collab.id)
        .order_by(Participant.role)
    ).all()
    names = _staff_names(db, [p.accepted_by for p, _ in rows])
    sides = [
        Side(
            role=p.role,
            organization=o,
            accepted=p.accepted_version == collab.version,
            accepted_at=p.accepted_at if p.accepted_version == collab.version else None,
            accepted_by=who(locale, names, p.accepted_by) if p.accepted_by else None,
            ledger_index=p.ledger_index,
            mine=o.id == org_id,
        )
        for p, o in rows
    ]
    mine = next(s for s in sides if s.mine)
    partner = next(s.organization for s in sides if not s.mine)
    recipient = next(s.organization for s in sides if s.role == "recipient")
    try:
        purpose = consent_service.resolve_purpose(db, recipient.id, collab.purpose)
        purpose_label = purpose.label_ja if locale == "ja" else purpose.label_en
    except AppError:
        purpose_label = collab.purpose
    cats = consent_service.category_map(db)
    rules = collab.rules
    eps = rules.get("epsilon_per_query")
    return Agreement(
        collab=collab,
        status=service.effective_status(collab),
        my_role=mine.role,
        sides=sides,
        partner=partner,
        purpose_label=purpose_label,
        categories=[
            (cats[c].label_ja if locale == "ja" else cats[c].label_en) if c in cats else c
            for c in collab.categories
        ],
        dimensions=[label(locale, DIMENSION_LABELS, d) for d in rules.get("dimensions", [])],
        measures=[label(locale, MEASURE_LABELS, m) for m in rules.get("measures", [])],
        min_group_size=max(floor, int(rules.get("min_group_size", service.DEFAULT_MIN_GROUP_SIZE))),
        epsilon_per_query=None if eps is None else float(eps),
        forbidden_uses=collab.forbidden_uses_ja if locale == "ja" else collab.forbidden_uses_en,
    )


def describe_spec(locale: str, spec: Mapping[str, Any]) -> str:
    """A clean-room question in words, e.g. "Persons, Orders by Member segment × Week"."""
    t = gettext_for
    measures = ", ".join(label(locale, MEASURE_LABELS, m) for m in spec.get("measures", []))
    dims = [label(locale, DIMENSION_LABELS, d) for d in spec.get("dimensions", [])]
    text = (
        t(locale, gettext_noop("%(measures)s by %(dimensions)s"))
        % {"measures": measures, "dimensions": " × ".join(dims)}
        if dims
        else t(locale, gettext_noop("%(measures)s in total")) % {"measures": measures}
    )
    parts = [text]
    filters = spec.get("filters") or {}
    if "period" in filters:
        parts.append(t(locale, gettext_noop("orders %(start)s – %(end)s")) % filters["period"])
    if "category" in filters:
        parts.append(
            t(locale, gettext_noop("categories: %(values)s"))
            % {"values": ", ".join(filters["category"])}
        )
    if "prefecture" in filters:
        parts.append(
            t(locale, gettext_noop("prefectures: %(values)s"))
            % {"values": ", ".join(filters["prefecture"])}
        )
    if spec.get("promotion"):
        parts.append(t(locale, gettext_noop("promotion %(start)s – %(end)s")) % spec["promotion"])
    if spec.get("noise"):
        parts.append(t(locale, gettext_noop("with noise")))
    return "; ".join(parts)


# --- the list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRow:
    collab: Collaboration
    status: str
    role: str
    partner: Organization


@router.get(LINKAGE)
def collaboration_list(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    org_id = page.organization.id
    collabs = service.list_collaborations(db, org_id)
    rows: list[ListRow] = []
    if collabs:
        parts = db.execute(
            select(Participant.collaboration_id, Participant.role, Organization)
            .join(Organization, Organization.id == Participant.organization_id)
            .where(Participant.collaboration_id.in_([c.id for c in collabs]))
        ).all()
        mine = {cid: role for cid, role, o in parts if o.id == org_id}
        partner = {cid: o for cid, _, o in parts if o.id != org_id}
        rows = [
            ListRow(
                collab=c, status=service.effective_status(c), role=mine[c.id], partner=partner[c.id]
            )
            for c in collabs
            if c.id in partner
        ]
    context = {
        "rows": rows,
        "status_labels": STATUS_LABELS,
        "role_labels": ROLE_LABELS,
        "can_propose": is_admin(page),
    }
    return render_page(request, "linkage/list.html", context)


# --- proposing ---------------------------------------------------------------------------


def _new_page(
    request: Request,
    db: Session,
    page: StaffPage,
    form: Mapping[str, Any],
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    context = {
        "form": form,
        "error": error,
        "purposes": [
            (p.code, p.label_ja if locale == "ja" else p.label_en)
            for p in consent_service.list_purposes(db, page.organization.id)
        ],
        "categories": [
            (c.code, c.label_ja if locale == "ja" else c.label_en)
            for c in consent_service.list_categories(db)
        ],
        "dimensions": DIMENSIONS,
        "measures": MEASURES,
        "dimension_labels": DIMENSION_LABELS,
        "measure_labels": MEASURE_LABELS,
        "role_labels": ROLE_LABELS,
    }
    return render_page(request, "linkage/new.html", context, status_code=status_code)


def _today() -> date:
    return datetime.now(TOKYO).date()


@router.get(LINKAGE + "/new")
def new_collaboration(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    page.actor.require_role("admin")
    form = {
        "role": "provider",
        "purpose": "research-development",
        "categories": ["purchase"],
        "dimensions": list(DIMENSIONS),
        "measures": list(MEASURES),
        "expires_on": (_today() + timedelta(days=DEFAULT_EXPIRY_DAYS)).isoformat(),
        "min_group_size": "50",
        "epsilon_per_query": "",
        "budget_epsilon": "",
    }
    return _new_page(request, db, page, form)


def _number(text: str, what: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text.strip())
    except ValueError:
        raise InvalidInput(f"{what}: a number, e.g. 0.5") from None


def _expiry(text: str) -> datetime:
    """The end of the given day in Tokyo (the agreement holds through that day)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("expires_on: a date is written YYYY-MM-DD") from None
    return datetime.combine(day + timedelta(days=1), time(0), TOKYO)


@router.post(LINKAGE + "/new")
def propose(
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    partner: str = Form(default=""),
    role: str = Form(default="provider"),
    purpose: str = Form(default=""),
    categories: list[str] = Form(default=[]),
    dimensions: list[str] = Form(default=[]),
    measures: list[str] = Form(default=[]),
    forbidden_uses_ja: str = Form(default=""),
    forbidden_uses_en: str = Form(default=""),
    expires_on: str = Form(default=""),
    min_group_size: str = Form(default="50"),
    epsilon_per_query: str = Form(default=""),
    budget_epsilon: str = Form(default=""),
) -> Response:
    page.actor.require_role("admin")
    form: dict[str, Any] = {
        "name": name.strip(),
        "partner": partner.strip(),
        "role": role,
        "purpose": purpose.strip(),
        "categories": categories,
        "dimensions": dimensions,
        "measures": measures,
        "forbidden_uses_ja": forbidden_uses_ja,
        "forbidden_uses_en": forbidden_uses_en,
        "expires_on": expires_on.strip(),
        "min_group_size": min_group_size.strip(),
        "epsilon_per_query": epsilon_per_query.strip(),
        "budget_epsilon": budget_epsilon.strip(),
    }
    try:
        if role not in ("provider", "recipient"):
            raise InvalidInput("role: provider or recipient")
        if not form["partner"]:
            raise InvalidInput("partner: the other organization's identifier (slug)")
        if form["partner"] == page.organization.slug:
            raise InvalidInput("partner: another organization than your own")
        try:
            size = int(form["min_group_size"] or "50")
        except ValueError:
            raise InvalidInput("min_group_size: a whole number of persons") from None
        rules: dict[str, Any] = {
            "dimensions": dimensions,
            "measures": measures,
            "min_group_size": size,
            "epsilon_per_query": _number(form["epsilon_per_query"], "epsilon_per_query"),
        }
        other = "recipient" if role == "provider" else "provider"
        collab = service.propose(
            db,
            actor=page.actor,
            name=form["name"],
            participants=[(page.organization.slug, role), (form["partner"], other)],  # type: ignore[list-item]
            terms=service.Terms(
                purpose=form["purpose"],
                categories=tuple(categories),
                rules=rules,
                expires_at=_expiry(form["expires_on"]),
                forbidden_uses_ja=forbidden_uses_ja,
                forbidden_uses_en=forbidden_uses_en,
                budget_epsilon=_number(form["budget_epsilon"], "budget_epsilon"),
            ),
        )
    except AppError as exc:
        if exc.status_code not in (404, 422):
            raise
        return _new_page(request, db, page, form, error=str(exc), status_code=422)
    return redirect(f"{LINKAGE}/{collab.id}?proposed=1")


# --- one collaboration -------------------------------------------------------------------


def _detail_page(
    request: Request,
    db: Session,
    page: StaffPage,
    collaboration_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    collab = service.access_collaboration(db, page.organization.id, collaboration_id)
    view = agreement(db, page, collab, locale, floor=floor_of(request))
    datasets = {
        d.kind: d for d in db.scalars(select(Dataset).where(Dataset.collaboration_id == collab.id))
    }
    run = db.scalars(
        select(MatchRun)
        .where(MatchRun.collaboration_id == collab.id)
        .order_by(MatchRun.ran_at.desc(), MatchRun.id.desc())
        .limit(1)
    ).one_or_none()
    admin = is_admin(page)
    context = {
        "a": view,
        "status_labels": STATUS_LABELS,
        "role_labels": ROLE_LABELS,
        "dataset_labels": DATASET_LABELS,
        "datasets": datasets,
        "run": run,
        "can_accept": admin and not view.mine_accepted and view.status == "proposed",
        "can_match": admin and view.my_role == "provider" and view.status == "active",
        "notice": notice,
        "error": error,
    }
    return render_page(request, "linkage/detail.html", context, status_code=status_code)


_NOTICES = {
    "proposed": gettext_noop(
        "The collaboration was proposed. It becomes active once the other side's admin accepts."
    ),
    "accepted": gettext_noop("Your organization accepted the terms."),
    "matched": gettext_noop("The match ran; the summary below shows its counts."),
}


@router.get(LINKAGE + "/{collaboration_id}")
def collaboration_detail(
    collaboration_id: uuid.UUID,
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    proposed: int = 0,
    accepted: int = 0,
    matched: int = 0,
) -> HTMLResponse:
    locale = request_locale(request)
    key = "proposed" if proposed else "accepted" if accepted else "matched" if matched else None
    notice = gettext_for(locale, _NOTICES[key]) if key else None
    return _detail_page(request, db, page, collaboration_id, notice=notice)


@router.post(LINKAGE + "/{collaboration_id}/accept")
def accept(
    collaboration_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    version: int = Form(),
) -> Response:
    page.actor.require_role("admin")
    service.accept(db, actor=page.actor, collaboration_id=collaboration_id, version=version)
    return redirect(f"{LINKAGE}/{collaboration_id}?accepted=1")


@router.post(LINKAGE + "/{collaboration_id}/match")
def run_match(
    collaboration_id: uuid.UUID,
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    method: str = Form(default="pseudonym"),
    threshold: str = Form(default=""),
) -> Response:
    page.actor.require_role("admin")
    collab = service.access_collaboration(db, page.organization.id, collaboration_id)
    if service.role_of(db, collab.id, page.organization.id) != "provider":
        raise NotParticipant("only the provider's admin runs the match from this page")
    settings = request.app.state.settings
    try:
        service.run_match(
            db,
            settings,
            settings.resolved_ledger_pseudonym_key(),
            actor=page.actor,
            collaboration_id=collab.id,
            method=method,
            threshold=_number(threshold, "threshold"),
        )
    except AppError as exc:
        # the service refuses (no tables yet, not active, a bad method or threshold) before
        # it writes anything; the page says why
        if exc.status_code not in (409, 422):
            raise
        return _detail_page(
            request, db, page, collaboration_id, error=str(exc), status_code=exc.status_code
        )
    return redirect(f"{LINKAGE}/{collaboration_id}?matched=1")


# --- the privacy officer's record --------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    kind: str
    at: datetime | None
    index: int
    what: str


@dataclass(frozen=True)
class QueryLine:
    query: CleanroomQuery
    who: str
    spec: str


def _provision_groups(
    db: Session, collab: Collaboration, parties: service.Parties, times: Sequence[datetime]
) -> list[vault_service.ProvisionRelease]:
    """The collaboration's provision records (from the provider to the recipient at the
    times of its clean-room answers), one line per release."""
    return vault_service.provision_releases(
        db,
        provider_id=parties.provider.id,
        recipient_id=parties.recipient.id,
        purpose=collab.purpose,
        times=times,
    )


@router.get(LINKAGE + "/{collaboration_id}/record")
def collaboration_record(
    collaboration_id: uuid.UUID,
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    locale = request_locale(request)
    collab = service.access_collaboration(db, page.organization.id, collaboration_id)
    view = agreement(db, page, collab, locale, floor=floor_of(request))
    parties = service.parties_of(db, collab.id)
    queries = list(
        db.scalars(
            select(CleanroomQuery)
            .where(CleanroomQuery.collaboration_id == collab.id)
            .order_by(CleanroomQuery.asked_at.desc(), CleanroomQuery.id.desc())
        )
    )
    datasets = list(
        db.scalars(
            select(Dataset)
            .where(Dataset.collaboration_id == collab.id)
            .order_by(Dataset.uploaded_at)
        )
    )
    runs = list(
        db.scalars(
            select(MatchRun)
            .where(MatchRun.collaboration_id == collab.id)
            .order_by(MatchRun.ran_at.desc())
        )
    )
    names = _staff_names(db, [q.actor for q in queries] + [r.actor for r in runs])
    t = gettext_for
    lines: list[LedgerLine] = []
    for side in view.sides:
        if side.ledger_index is not None:
            lines.append(
                LedgerLine(
                    "linkage.accepted", side.accepted_at, side.ledger_index, side.organization.name
                )
            )
    for d in datasets:
        if d.ledger_index is not None:
            lines.append(
                LedgerLine(
                    "linkage.dataset",
                    d.uploaded_at,
                    d.ledger_index,
                    t(locale, DATASET_LABELS.get(d.kind, d.kind)),
                )
            )
    for r in runs:
        for index in r.consent_ledger_indexes:
            lines.append(LedgerLine("consent.batch", r.ran_at, int(index), ""))
        if r.ledger_index is not None:
            lines.append(
                LedgerLine(
                    "linkage.match",
                    r.ran_at,
                    r.ledger_index,
                    t(locale, gettext_noop("%(n)s pairs")) % {"n": r.matched},
                )
            )
    for q in queries:
        if q.ledger_index is not None:
            lines.append(
                LedgerLine(
                    "cleanroom.query", q.asked_at, q.ledger_index, describe_spec(locale, q.spec)
                )
            )
    provisions = _provision_groups(db, collab, parties, [q.asked_at for q in queries])
    for g in provisions:
        if g.ledger_index is not None:
            lines.append(
                LedgerLine(
                    "provision",
                    g.provided_at,
                    g.ledger_index,
                    # exact counts of persons: the provider's staff only
                    t(locale, gettext_noop("%(n)s persons")) % {"n": g.persons}
                    if view.my_role == "provider"
                    else "",
                )
            )
    lines.sort(key=lambda line: line.index, reverse=True)
    context = {
        "a": view,
        "status_labels": STATUS_LABELS,
        "role_labels": ROLE_LABELS,
        "kind_labels": KIND_LABELS,
        "ledger": lines,
        "provisions": provisions,
        "parties": parties,
        "queries": [
            QueryLine(query=q, who=who(locale, names, q.actor), spec=describe_spec(locale, q.spec))
            for q in queries
        ],
        "runs": runs,
    }
    return render_page(request, "linkage/record.html", context)


__all__ = [
    "DIMENSION_LABELS",
    "MEASURE_LABELS",
    "Agreement",
    "agreement",
    "describe_spec",
    "label",
    "router",
]
