"""Clean-room pages of the staff console (ja/en): the maker's analyst asks aggregates.

- ``/cleanroom/{id}`` — a form to ask one aggregate (measures × dimensions allowed by the
  agreement, filters, noise on or off); the answer as a table and a bar chart, the number of
  withheld cells explained, the privacy budget left.  A refused question (the rules, a spent
  budget, an agreement not active) is a message on the page, not an error page;
- ``/cleanroom/{id}/promotion`` — the promotion report (``cleanroom.reports``): uplift of
  members against non-members by segment, before vs during a promotion window, as grouped
  bars, a weekly line and tables; withheld figures read "—".

Only the collaboration's **recipient** uses these pages (the provider: 403; any other
organization: 404).  Asking writes ledger entries, provision records and the query log, so
it is a POST with a CSRF token, and it runs inside a savepoint: a question refused half-way
(after the budget was charged or consent asked) leaves nothing behind.  Charts travel as
ECharts options in ``<script type="application/json">`` blocks drawn by
``/static/linkage.js`` (the CSP allows no inline script); every chart has its table.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.cleanroom import reports
from tsunagu.cleanroom import service as cleanroom
from tsunagu.cleanroom.engine import QueryResult
from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_for, gettext_noop
from tsunagu.core.templating import request_locale
from tsunagu.identity.web_auth import StaffPage, csrf_protect, page_staff, render_page
from tsunagu.linkage import pages as linkage_pages
from tsunagu.linkage import service as linkage
from tsunagu.linkage.errors import NotParticipant
from tsunagu.linkage.models import CleanroomQuery, Collaboration

router = APIRouter(include_in_schema=False)

CLEANROOM = "/cleanroom"
TOKYO = ZoneInfo("Asia/Tokyo")

VALUE_LABELS = {
    "member": gettext_noop("Member customers"),
    "non_member": gettext_noop("Non-members"),
    "before": gettext_noop("Before"),
    "during": gettext_noop("During"),
    "after": gettext_noop("After"),
}
TOTAL = gettext_noop("Total")
MEMBERS_BEFORE = gettext_noop("Members, before")
MEMBERS_DURING = gettext_noop("Members, during")
NON_MEMBERS_BEFORE = gettext_noop("Non-members, before")
NON_MEMBERS_DURING = gettext_noop("Non-members, during")
AMOUNT_AXIS = gettext_noop("Yen per person and week")
ORDERS_AXIS = gettext_noop("Orders per person and week")
WEEK_AMOUNT_AXIS = gettext_noop("Yen per purchasing person")
WEEK_ORDERS_AXIS = gettext_noop("Orders per purchasing person")
PROMOTION = gettext_noop("Promotion")
#: how many logged questions the promotion form looks through for a window to suggest
_LOG_LOOKBACK = 50
#: refusals whose status is shown on the page instead of an error page
_ON_PAGE = (404, 409, 422)
#: the heading of a refusal on the page, by error code
REFUSALS = {
    "query_refused": gettext_noop("The clean room refused this question"),
    "budget_exhausted": gettext_noop("The privacy budget is spent"),
    "collaboration_not_active": gettext_noop("The agreement is not active"),
    "no_match_run": gettext_noop("No records have been matched yet"),
    "dataset_missing": gettext_noop("A table has not been uploaded yet"),
}
REFUSED = gettext_noop("The question could not be answered")


def refusal_of(locale: str, exc: AppError) -> dict[str, str]:
    """What the page says about a refused question: a heading in the reader's language and
    the clean room's own explanation."""
    return {
        "heading": gettext_for(locale, REFUSALS.get(exc.code, REFUSED)),
        "detail": str(exc),
        "code": exc.code,
    }


def _recipient(db: Session, page: StaffPage, collaboration_id: uuid.UUID) -> Collaboration:
    collab = linkage.access_collaboration(db, page.organization.id, collaboration_id)
    if linkage.role_of(db, collab.id, page.organization.id) != "recipient":
        raise NotParticipant("only the collaboration's recipient asks the clean room")
    return collab


def value_label(locale: str, dimension: str, value: Any) -> str:
    """A released dimension value as the reader reads it."""
    if value is None:
        return "—"
    if dimension in ("member", "promotion_period"):
        return linkage_pages.label(locale, VALUE_LABELS, str(value))
    return str(value)


def bar_chart(
    locale: str, cells: Sequence[Mapping[str, Any]], dimensions: Sequence[str], measure: str
) -> dict[str, Any]:
    """An ECharts bar option of one measure: the first dimension along the axis, one series
    per combination of the others (pure)."""
    first, rest = (dimensions[0], list(dimensions[1:])) if dimensions else (None, [])
    xs: list[str] = []
    series: dict[str, dict[str, Any]] = {}
    name = linkage_pages.label(locale, linkage_pages.MEASURE_LABELS, measure)
    for cell in cells:
        x = value_label(locale, first, cell[first]) if first else gettext_for(locale, TOTAL)
        if x not in xs:
            xs.append(x)
        key = " / ".join(value_label(locale, d, cell[d]) for d in rest) if rest else name
        series.setdefault(key, {})[x] = cell.get(measure)
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 20, "top": 40, "bottom": 60, "containLabel": True},
        "xAxis": {"type": "category", "data": xs, "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": {"type": "value", "name": name},
        "series": [
            {"type": "bar", "name": key, "data": [values.get(x) for x in xs]}
            for key, values in series.items()
        ],
    }


def _budget(db: Session, page: StaffPage, collab: Collaboration) -> cleanroom.BudgetView:
    return cleanroom.budget_view(db, page.organization.id, collab.id)


def _noise_required(collab: Collaboration) -> bool:
    """The agreement answers only noisy questions (the form's box is ticked and fixed)."""
    return collab.rules.get("require_noise") is True


def _split(text: str) -> list[str]:
    return [v.strip() for v in text.replace("、", ",").split(",") if v.strip()]


def _period(start: str, end: str, what: str) -> dict[str, str] | None:
    if not start.strip() and not end.strip():
        return None
    if not start.strip() or not end.strip():
        raise InvalidInput(f"{what}: give both the first and the last day")
    return {"start": start.strip(), "end": end.strip()}


# --- asking ------------------------------------------------------------------------------


def _ask_page(
    request: Request,
    db: Session,
    page: StaffPage,
    collab: Collaboration,
    form: Mapping[str, Any],
    *,
    result: QueryResult | None = None,
    ledger_index: int | None = None,
    refusal: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    view = linkage_pages.agreement(db, page, collab, locale, floor=linkage_pages.floor_of(request))
    rules = collab.rules
    dims = [d for d in linkage_pages.DIMENSIONS if d in rules.get("dimensions", [])]
    measures = [m for m in linkage_pages.MEASURES if m in rules.get("measures", [])]
    context: dict[str, Any] = {
        "a": view,
        "form": form,
        "dimensions": dims,
        "measures": measures,
        "dimension_labels": linkage_pages.DIMENSION_LABELS,
        "measure_labels": linkage_pages.MEASURE_LABELS,
        "noise_possible": rules.get("epsilon_per_query") is not None,
        "noise_required": _noise_required(collab),
        "budget": _budget(db, page, collab),
        "refusal": refusal,
        "result": result,
        "ledger_index": ledger_index,
    }
    if result is not None:
        asked_dims = [str(d) for d in form.get("dimensions", [])]
        asked_measures = [str(m) for m in form.get("measures", [])]
        context["asked_dimensions"] = asked_dims
        context["asked_measures"] = asked_measures
        context["rows"] = [
            [value_label(locale, d, c.get(d)) for d in asked_dims]
            + [c.get(m) for m in asked_measures]
            for c in result.cells
        ]
        if result.cells and asked_measures:
            context["chart"] = bar_chart(locale, result.cells, asked_dims, asked_measures[0])
    return render_page(request, "cleanroom/ask.html", context, status_code=status_code)


@router.get(CLEANROOM + "/{collaboration_id}")
def ask_form(
    collaboration_id: uuid.UUID,
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    collab = _recipient(db, page, collaboration_id)
    form = {"measures": ["persons"], "dimensions": [], "noise": _noise_required(collab)}
    return _ask_page(request, db, page, collab, form)


@router.post(CLEANROOM + "/{collaboration_id}")
def ask(
    collaboration_id: uuid.UUID,
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    measures: list[str] = Form(default=[]),
    dimensions: list[str] = Form(default=[]),
    category: str = Form(default=""),
    prefecture: str = Form(default=""),
    period_start: str = Form(default=""),
    period_end: str = Form(default=""),
    promotion_start: str = Form(default=""),
    promotion_end: str = Form(default=""),
    noise: str = Form(default=""),
) -> HTMLResponse:
    collab = _recipient(db, page, collaboration_id)
    form: dict[str, Any] = {
        "measures": measures,
        "dimensions": dimensions,
        "category": category,
        "prefecture": prefecture,
        "period_start": period_start,
        "period_end": period_end,
        "promotion_start": promotion_start,
        "promotion_end": promotion_end,
        "noise": bool(noise) or _noise_required(collab),
    }
    settings = request.app.state.settings
    try:
        filters: dict[str, Any] = {}
        if _split(category):
            filters["category"] = _split(category)
        if _split(prefecture):
            filters["prefecture"] = _split(prefecture)
        period = _period(period_start, period_end, "period")
        if period is not None:
            filters["period"] = period
        spec: dict[str, Any] = {
            "measures": measures,
            "dimensions": dimensions,
            "filters": filters,
            "noise": form["noise"],
        }
        promotion = _period(promotion_start, promotion_end, "promotion")
        if promotion is not None:
            spec["promotion"] = promotion
        with db.begin_nested():
            answer = cleanroom.ask_logged(
                db,
                settings,
                settings.resolved_ledger_pseudonym_key(),
                collaboration_id=collab.id,
                actor=page.actor,
                spec_json=spec,
            )
    except AppError as exc:
        if exc.status_code not in _ON_PAGE:
            raise
        return _ask_page(
            request,
            db,
            page,
            collab,
            form,
            refusal=refusal_of(request_locale(request), exc),
            status_code=exc.status_code,
        )
    return _ask_page(
        request,
        db,
        page,
        collab,
        form,
        result=answer.result,
        ledger_index=answer.query.ledger_index,
    )


# --- the promotion report ----------------------------------------------------------------


def _round(measure: str, value: float | None) -> float | None:
    if value is None:
        return None
    return round(value) if measure == "amount" else round(value, 2)


def _figure(row: reports.SegmentRow, group: str, period: str) -> float | None:
    figures = row.members if group == "members" else row.non_members
    return figures.before if period == "before" else figures.during


def promotion_charts(locale: str, report: reports.PromotionReport) -> dict[str, Any]:
    """The report's two ECharts options: grouped bars by segment, weekly lines (pure)."""
    t = gettext_for
    m = report.measure
    segments = [r.segment for r in report.segments]
    axis = t(locale, AMOUNT_AXIS if m == "amount" else ORDERS_AXIS)
    bars = {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 20, "top": 50, "bottom": 40, "containLabel": True},
        "xAxis": {"type": "category", "data": segments},
        "yAxis": {"type": "value", "name": axis},
        "series": [
            {
                "type": "bar",
                "name": t(locale, name),
                "data": [_round(m, _figure(r, group, period)) for r in report.segments],
            }
            for name, group, period in (
                (MEMBERS_BEFORE, "members", "before"),
                (MEMBERS_DURING, "members", "during"),
                (NON_MEMBERS_BEFORE, "non_members", "before"),
                (NON_MEMBERS_DURING, "non_members", "during"),
            )
        ],
    }
    weeks = [w.week for w in report.weeks]
    promo_weeks = [
        w
        for w in weeks
        if report.window.start.isoformat() <= _week_end(w) and w <= report.window.end.isoformat()
    ]
    line: dict[str, Any] = {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 20, "top": 50, "bottom": 40, "containLabel": True},
        "xAxis": {"type": "category", "data": weeks},
        "yAxis": {
            "type": "value",
            "name": t(locale, WEEK_AMOUNT_AXIS if m == "amount" else WEEK_ORDERS_AXIS),
        },
        "series": [
            {
                "type": "line",
                "name": t(locale, VALUE_LABELS["member"]),
                "connectNulls": False,
                "data": [_round(m, w.members) for w in report.weeks],
            },
            {
                "type": "line",
                "name": t(locale, VALUE_LABELS["non_member"]),
                "connectNulls": False,
                "data": [_round(m, w.non_members) for w in report.weeks],
            },
        ],
    }
    if promo_weeks:
        line["series"][0]["markArea"] = {
            "itemStyle": {"color": "rgba(9, 105, 218, 0.08)"},
            "data": [
                [
                    {"name": t(locale, PROMOTION), "xAxis": promo_weeks[0]},
                    {"xAxis": promo_weeks[-1]},
                ]
            ],
        }
    return {"bars": bars, "line": line}


def _week_end(week: str) -> str:
    return date.fromordinal(date.fromisoformat(week).toordinal() + 6).isoformat()


def _promotion_page(
    request: Request,
    db: Session,
    page: StaffPage,
    collab: Collaboration,
    form: Mapping[str, Any],
    *,
    report: reports.PromotionReport | None = None,
    refusal: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    context: dict[str, Any] = {
        "a": linkage_pages.agreement(
            db, page, collab, locale, floor=linkage_pages.floor_of(request)
        ),
        "form": form,
        "report": report,
        "refusal": refusal,
        "budget": _budget(db, page, collab),
        "noise_possible": collab.rules.get("epsilon_per_query") is not None,
        "noise_required": _noise_required(collab),
        "missing": [
            linkage_pages.label(locale, linkage_pages.DIMENSION_LABELS, d)
            for d in reports.NEEDED_DIMENSIONS
            if d not in collab.rules.get("dimensions", [])
        ],
    }
    if report is not None:
        m = report.measure
        context["charts"] = promotion_charts(locale, report)
        context["fmt"] = lambda v: (
            "—"
            if v is None
            else (f"{_round(m, v):,.0f}" if m == "amount" else f"{_round(m, v):,.2f}")
        )
        context["signed"] = lambda v: (
            "—"
            if v is None
            else (f"{_round(m, v):+,.0f}" if m == "amount" else f"{_round(m, v):+,.2f}")
        )
    return render_page(request, "cleanroom/promotion.html", context, status_code=status_code)


def _today() -> date:
    return datetime.now(TOKYO).date()


@router.get(CLEANROOM + "/{collaboration_id}/promotion")
def promotion_form(
    collaboration_id: uuid.UUID,
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    start: str = "",
    end: str = "",
) -> HTMLResponse:
    collab = _recipient(db, page, collaboration_id)
    first, last = reports.default_window(_today())
    categories = ""
    logged = db.scalars(
        select(CleanroomQuery.spec)
        .where(CleanroomQuery.collaboration_id == collab.id)
        .order_by(CleanroomQuery.asked_at.desc(), CleanroomQuery.id.desc())
        .limit(_LOG_LOOKBACK)
    )
    found = reports.last_promotion(list(logged))
    if found is not None:
        first, last, categories = found.start, found.end, ", ".join(found.categories)
    form = {
        "start": start or first.isoformat(),
        "end": end or last.isoformat(),
        "category": categories,
        "measure": "amount",
        "noise": _noise_required(collab),
    }
    return _promotion_page(request, db, page, collab, form)


@router.post(CLEANROOM + "/{collaboration_id}/promotion")
def promotion_report(
    collaboration_id: uuid.UUID,
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    start: str = Form(default=""),
    end: str = Form(default=""),
    category: str = Form(default=""),
    measure: str = Form(default="amount"),
    noise: str = Form(default=""),
) -> HTMLResponse:
    collab = _recipient(db, page, collaboration_id)
    form = {
        "start": start,
        "end": end,
        "category": category,
        "measure": measure,
        "noise": bool(noise) or _noise_required(collab),
    }
    settings = request.app.state.settings
    try:
        try:
            first, last = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
        except ValueError:
            raise InvalidInput("the promotion's first and last day: dates as YYYY-MM-DD") from None
        if measure not in reports.MEASURES:
            raise InvalidInput("measure: amount or orders")
        with db.begin_nested():
            report = reports.run(
                db,
                settings,
                settings.resolved_ledger_pseudonym_key(),
                collaboration_id=collab.id,
                actor=page.actor,
                start=first,
                end=last,
                measure="amount" if measure == "amount" else "orders",
                noise=bool(form["noise"]),
                categories=_split(category),
            )
    except AppError as exc:
        if exc.status_code not in _ON_PAGE:
            raise
        return _promotion_page(
            request,
            db,
            page,
            collab,
            form,
            refusal=refusal_of(request_locale(request), exc),
            status_code=exc.status_code,
        )
    return _promotion_page(request, db, page, collab, form, report=report)


__all__ = ["bar_chart", "promotion_charts", "router", "value_label"]
