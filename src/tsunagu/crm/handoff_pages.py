"""Handoff feedback pages of the staff console (引き渡しの評価).

- ``/crm/handoffs`` — the receiver's inbox: the handoffs between departments not rated yet
  (entity, from → to, who handed over, when), each with a 1–5 rating form and a comment,
  and the latest rated ones (editable by their rater for 7 days);
- ``POST /crm/handoffs/{transition_id}/rating`` — rate (member role, CSRF);
- ``/crm/handoffs/report`` — the feedback report per period (with an ECharts chart of the
  average rating per period; the same numbers in a table), per department and giving
  stage, per person who handed over, and per campaign.

Every page is for signed-in staff and shows only their own organization's handoffs; another
organization's transition answers 404.  The use cases live in ``crm.handoffs``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_for, gettext_noop
from tsunagu.core.templating import request_locale
from tsunagu.crm import handoffs
from tsunagu.crm.activities import kind_label
from tsunagu.crm.service import load_model
from tsunagu.crm.stages import StageModel
from tsunagu.identity import service as identity_service
from tsunagu.identity.web_auth import StaffPage, csrf_protect, page_staff, redirect, render_page

router = APIRouter(include_in_schema=False)

INBOX = "/crm/handoffs"
REPORT = "/crm/handoffs/report"
#: how many handoffs the inbox lists (pending, and rated)
INBOX_LIMIT = 100
RATED_LIMIT = 20

DEPARTMENTS = {
    "marketing": gettext_noop("Marketing"),
    "inside_sales": gettext_noop("Inside sales"),
    "field_sales": gettext_noop("Field sales"),
    "customer_success": gettext_noop("Customer success"),
}
RATING_LABELS = {
    1: gettext_noop("1 — not usable"),
    2: gettext_noop("2 — poor"),
    3: gettext_noop("3 — acceptable"),
    4: gettext_noop("4 — good"),
    5: gettext_noop("5 — excellent"),
}
PERIODS = {"week": gettext_noop("Weeks"), "month": gettext_noop("Months")}
#: how a move made by an automatic rule names its mover
RULE_ACTOR = gettext_noop("Automatic rule: %(kind)s")


def _rater(page: StaffPage) -> str:
    """How the pages name the staff member who rates (as moves name them)."""
    return f"user:{page.user.id}"


def _can_rate(page: StaffPage) -> bool:
    return page.membership.role in ("owner", "admin", "member")


def _staff_names(db: Session, organization_id: uuid.UUID) -> dict[str, str]:
    """``user:<id>`` → display name, for the organization's staff."""
    return {
        f"user:{user_id}": name
        for user_id, name in identity_service.staff_names(db, organization_id).items()
    }


def who(actor: str, names: dict[str, str], locale: str) -> str:
    """A mover or rater as people read it: a staff member's name, an automatic rule by the
    activity kind that fired it, anything else as recorded."""
    if actor in names:
        return names[actor]
    kind, _, rest = actor.partition(":")
    if kind == "staff" and f"user:{rest}" in names:
        return names[f"user:{rest}"]
    if kind == "rule" and rest:
        return gettext_for(locale, RULE_ACTOR) % {"kind": kind_label(rest, locale)}
    return actor


def _who_in(locale: str, names: dict[str, str]) -> Callable[[str], str]:
    return lambda actor: who(actor, names, locale)


def _stage_labels(model: StageModel, locale: str) -> dict[str, str]:
    return {s.key: s.label(locale) for s in model.stages}


def _inbox(
    request: Request,
    db: Session,
    page: StaffPage,
    *,
    error_id: uuid.UUID | None = None,
    form: dict[str, str] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    org_id = page.organization.id
    model = load_model(db, org_id)
    pending = handoffs.handoffs(db, org_id, state="pending", limit=INBOX_LIMIT, model=model)
    rated = handoffs.handoffs(db, org_id, state="rated", limit=RATED_LIMIT, model=model)
    now = utcnow()
    me = _rater(page)
    context = {
        "pending": pending,
        "rated": rated,
        "editable": {h.transition_id for h in rated if h.editable_by(me, now)},
        "stages": _stage_labels(model, request_locale(request)),
        "departments": DEPARTMENTS,
        "rating_labels": RATING_LABELS,
        "who": _who_in(request_locale(request), _staff_names(db, org_id)),
        "can_rate": _can_rate(page),
        "error_id": error_id,
        "form": form or {},
        "done": done,
    }
    return render_page(request, "crm/handoff_inbox.html", context, status_code=status_code)


@router.get(INBOX)
def inbox(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    done: str | None = None,
) -> HTMLResponse:
    return _inbox(request, db, page, done="rated" if done == "rated" else None)


@router.post(INBOX + "/{transition_id}/rating")
def rate(
    request: Request,
    transition_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    rating: str = Form(default=""),
    comment: str = Form(default=""),
) -> Response:
    page.actor.require_role("member")
    # 404 / 422 (another tenant's, or not a handoff) before the form is looked at
    handoffs.get_handoff(db, page.organization.id, transition_id)
    value = int(rating) if rating.strip().isdigit() else None
    try:
        handoffs.rate(
            db,
            page.organization.id,
            transition_id,
            rating=value,
            comment=comment,
            rater=_rater(page),
        )
    except handoffs.InvalidRating:
        form = {"rating": rating, "comment": comment}
        return _inbox(request, db, page, error_id=transition_id, form=form, status_code=422)
    return redirect(f"{INBOX}?done=rated")


def _parse_day(value: str | None, field: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field}: a date is written YYYY-MM-DD") from None


def chart_data(report: handoffs.HandoffReport, labels: dict[str, str]) -> dict[str, Any]:
    """What ``crm-handoffs.js`` draws: the average rating and the count per period."""
    return {
        "periods": [p.start.isoformat() for p in report.by_period],
        "average": [
            None if p.figures.average is None else round(p.figures.average, 2)
            for p in report.by_period
        ],
        "handoffs": [p.figures.handoffs for p in report.by_period],
        "labels": labels,
    }


@router.get(REPORT)
def report(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    period: str = "week",
    start: str | None = None,
    end: str | None = None,
) -> HTMLResponse:
    if period not in ("week", "month"):
        raise InvalidInput("period is week or month")
    unit = cast(Literal["week", "month"], period)
    org_id = page.organization.id
    zone = page.organization.timezone or "Asia/Tokyo"
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    first, stop = handoffs.default_range(today, unit)
    start_day = _parse_day(start, "start") or first
    end_day = _parse_day(end, "end") or stop
    model = load_model(db, org_id)
    result = handoffs.report(
        db,
        org_id,
        start=start_day,
        end=end_day,
        period=unit,
        model=model,
    )
    locale = request_locale(request)
    context = {
        "report": result,
        "period": period,
        "periods": PERIODS,
        "start": start_day.isoformat(),
        "end": end_day.isoformat(),
        "stages": _stage_labels(model, locale),
        "departments": DEPARTMENTS,
        "who": _who_in(locale, _staff_names(db, org_id)),
        "chart": chart_data(
            result,
            {
                "average": gettext_for(locale, "Average rating"),
                "handoffs": gettext_for(locale, "Handoffs"),
            },
        ),
    }
    return render_page(request, "crm/handoff_report.html", context)


__all__ = ["INBOX", "REPORT", "chart_data", "router"]
