"""Campaign pages of the staff console (ja/en): campaign results and the channel map.

- ``/crm/campaigns`` — every campaign with its results (members by status, forward moves
  credited, cost per forward move) and the form that creates one;
- ``/crm/campaigns/{id}`` — one campaign: its results, its members with the form that
  moves a member's status forward, the form that adds members by ref, and how many of the
  members may be contacted for the campaign's purpose now ("N of M");
- ``/crm/channels`` — the channel × stage map of forward moves as a heatmap (ECharts,
  served locally; the numbers travel as JSON in a ``<script type="application/json">``
  because the CSP allows no inline script) and the same numbers as a table.

Every page is for signed-in staff of the organization and shows only its own data; every
write needs the member role and a CSRF token.  The "N of M" is a dry count of the consent
decision point (``crm.contacts``): a number that reads no contact detail, so it writes no
ledger entry; the list of who may be contacted comes only from the recorded API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_for, gettext_noop
from tsunagu.core.templating import request_locale
from tsunagu.crm import campaigns
from tsunagu.crm import service as crm_service
from tsunagu.crm.models import CHANNELS, MEMBER_STATUSES
from tsunagu.crm.stages import labels as stage_labels
from tsunagu.identity.web_auth import StaffPage, csrf_protect, page_staff, redirect, render_page
from tsunagu.vault.dependencies import vault_of

router = APIRouter(include_in_schema=False)

CAMPAIGNS = "/crm/campaigns"
#: how many members the campaign page lists (the counts cover them all)
MEMBERS_SHOWN = 500
CHANNEL_MAP = "/crm/channels"

CHANNEL_LABELS = {
    "seminar": gettext_noop("Seminar"),
    "webinar": gettext_noop("Webinar"),
    "mail": gettext_noop("Mail"),
    "exhibition": gettext_noop("Exhibition"),
    "ads": gettext_noop("Ads"),
    "web_content": gettext_noop("Web content"),
}
STATUS_LABELS = {
    "invited": gettext_noop("Invited"),
    "registered": gettext_noop("Registered"),
    "attended": gettext_noop("Attended"),
    "no_show": gettext_noop("No-show"),
    "followed_up": gettext_noop("Followed up"),
}


def _window(window_days: int | None) -> int:
    return campaigns.DEFAULT_WINDOW_DAYS if window_days is None else window_days


def _can_edit(page: StaffPage) -> bool:
    return page.membership.role in ("owner", "admin", "member")


def _common(page: StaffPage) -> dict[str, Any]:
    return {
        "channels": CHANNELS,
        "channel_labels": CHANNEL_LABELS,
        "statuses": MEMBER_STATUSES,
        "status_labels": STATUS_LABELS,
        "can_edit": _can_edit(page),
    }


# --- the list --------------------------------------------------------------------------


def _list_page(
    request: Request,
    db: Session,
    page: StaffPage,
    *,
    window_days: int,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    org_id = page.organization.id
    locale = request_locale(request)
    purposes = [
        (p.code, p.label_ja if locale == "ja" else p.label_en)
        for p in consent_service.list_purposes(db, org_id)
    ]
    context = {
        **_common(page),
        "reports": campaigns.campaign_reports(db, org_id, window_days=window_days),
        "window_days": window_days,
        "purposes": purposes,
        "form": form or {"purpose": "marketing", "channel": "seminar"},
        "error": error,
    }
    return render_page(request, "crm/campaign_list.html", context, status_code=status_code)


@router.get(CAMPAIGNS)
def campaign_list(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    window_days: int | None = Query(default=None, ge=0, le=campaigns.MAX_WINDOW_DAYS),
) -> HTMLResponse:
    return _list_page(request, db, page, window_days=_window(window_days))


def _form_date(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field}: a date is written YYYY-MM-DD") from None


@router.post(CAMPAIGNS)
def create_campaign(
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    name: str = Form(default=""),
    channel: str = Form(default=""),
    starts_on: str = Form(default=""),
    ends_on: str = Form(default=""),
    cost: str = Form(default="0"),
    purpose: str = Form(default="marketing"),
) -> Response:
    page.actor.require_role("member")
    form = {
        "name": name.strip(),
        "channel": channel,
        "starts_on": starts_on.strip(),
        "ends_on": ends_on.strip(),
        "cost": cost.strip(),
        "purpose": purpose,
    }
    try:
        try:
            cost_value = int(form["cost"] or "0")
        except ValueError:
            raise InvalidInput("cost: whole yen, e.g. 150000") from None
        start = _form_date(form["starts_on"], "starts_on")
        if start is None:
            raise InvalidInput("starts_on: the first day is required")
        campaign = campaigns.create_campaign(
            db,
            page.organization.id,
            name=form["name"],
            channel=form["channel"],
            starts_on=start,
            ends_on=_form_date(form["ends_on"], "ends_on"),
            cost=cost_value,
            purpose=form["purpose"],
        )
    except AppError as exc:
        if exc.status_code != 422:
            raise
        return _list_page(
            request,
            db,
            page,
            window_days=campaigns.DEFAULT_WINDOW_DAYS,
            form=form,
            error=str(exc),
            status_code=422,
        )
    return redirect(f"{CAMPAIGNS}/{campaign.id}?created=1")


# --- one campaign ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudienceCount:
    allowed: int
    members: int


@router.get(CAMPAIGNS + "/{campaign_id}")
def campaign_detail(
    campaign_id: uuid.UUID,
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    window_days: int | None = Query(default=None, ge=0, le=campaigns.MAX_WINDOW_DAYS),
    created: int = 0,
    changed: int = 0,
    added: int = -1,
) -> HTMLResponse:
    org_id = page.organization.id
    window = _window(window_days)
    report = campaigns.campaign_report(db, org_id, campaign_id, window_days=window)
    vault = vault_of(request)
    dry = campaigns.campaign_audience(
        db,
        vault.pseudonym_key,
        org_id,
        campaign_id,
        actor=f"staff:{page.user.id}",
        record=False,
    )
    members = campaigns.members(db, org_id, campaign_id, limit=MEMBERS_SHOWN)
    purpose = consent_service.resolve_purpose(db, org_id, report.purpose)
    locale = request_locale(request)
    context = {
        "purpose_label": purpose.label_ja if locale == "ja" else purpose.label_en,
        **_common(page),
        "report": report,
        "members": members,
        "members_shown": MEMBERS_SHOWN,
        "audience": AudienceCount(allowed=len(dry.allowed), members=dry.asked),
        "window_days": window,
        "allowed_next": {
            m.entity_id: [
                s
                for s in MEMBER_STATUSES
                if s != m.status and campaigns.status_allowed(m.status, s)
            ]
            for m in members
        },
        "created": bool(created),
        "changed": bool(changed),
        "added": added if added >= 0 else None,
    }
    return render_page(request, "crm/campaign_detail.html", context)


@router.post(CAMPAIGNS + "/{campaign_id}/members/status")
def change_member_status(
    campaign_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    entity_id: uuid.UUID = Form(),
    status: str = Form(default=""),
) -> Response:
    page.actor.require_role("member")
    campaigns.set_member_status(db, page.organization.id, campaign_id, [entity_id], status)
    return redirect(f"{CAMPAIGNS}/{campaign_id}?changed=1")


@router.post(CAMPAIGNS + "/{campaign_id}/members")
def add_members(
    campaign_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    refs: str = Form(default=""),
) -> Response:
    page.actor.require_role("member")
    org_id = page.organization.id
    campaigns.get_campaign(db, org_id, campaign_id)
    wanted = [r for r in refs.replace(",", "\n").splitlines() if r.strip()]
    if not wanted:
        raise InvalidInput("refs: write one entity ref per line")
    ids = campaigns.resolve_entities(db, org_id, refs=wanted)
    result = campaigns.add_members(db, org_id, campaign_id, ids)
    return redirect(f"{CAMPAIGNS}/{campaign_id}?added={result.added}")


# --- the channel map -------------------------------------------------------------------


@router.get(CHANNEL_MAP)
def channel_map(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
    window_days: int | None = Query(default=None, ge=0, le=campaigns.MAX_WINDOW_DAYS),
) -> HTMLResponse:
    org_id = page.organization.id
    locale = request_locale(request)
    model = crm_service.load_model(db, org_id)
    result = campaigns.channel_map(db, org_id, window_days=_window(window_days), model=model)
    names = stage_labels(model, locale)
    context = {
        **_common(page),
        "result": result,
        "stage_names": names,
        "window_days": result.window_days,
        "chart": {
            "stages": [names[s] for s in result.stages],
            "channels": [gettext_for(locale, CHANNEL_LABELS[c]) for c in result.channels],
            "cells": [
                [x, y, result.count(channel, stage)]
                for y, channel in enumerate(result.channels)
                for x, stage in enumerate(result.stages)
            ],
            "max": max(
                (n for by_stage in result.counts.values() for n in by_stage.values()), default=0
            ),
        },
    }
    return render_page(request, "crm/campaign_channels.html", context)
