"""Staff pages of webhooks (per project, with their delivery log) and of one's own
notification settings, Japanese and English.

- ``/cases/projects/{key}/webhooks`` — the project's webhooks (its admins only): the list,
  each with its latest deliveries (state, attempts, last answer, redeliver), a form that
  adds one and shows its secret once, and delete;
- ``/cases/settings/notifications`` — the signed-in user's e-mail notifications: on/off,
  which events, how many days before the due date a reminder goes out.

Every POST checks the CSRF token, and the webhook forms the admin role again.  A refused
webhook (a URL that is not http/https …) re-renders the page with the reason (422).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tsunagu.cases import dispatch, service, webhooks
from tsunagu.cases.dispatch import WEBHOOK_EVENT_KINDS
from tsunagu.cases.models import Project, WebhookDelivery
from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.http import db_session
from tsunagu.core.i18n import gettext_noop
from tsunagu.identity.web_auth import (
    StaffPage,
    csrf_protect,
    page_staff,
    redirect,
    render_page,
)

router = APIRouter(include_in_schema=False)

HOOKS = "/cases/projects/{key}/webhooks"
NOTIFICATIONS = "/cases/settings/notifications"
#: deliveries shown per webhook
LOG_SIZE = 20

STATE_LABELS = {
    "pending": gettext_noop("Waiting"),
    "delivered": gettext_noop("Delivered"),
    "failed": gettext_noop("Failed, will retry"),
    "dead": gettext_noop("Given up"),
}


def _hooks_page(
    request: Request,
    db: Session,
    page: StaffPage,
    project: Project,
    *,
    created: webhooks.CreatedWebhook | None = None,
    error: AppError | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    hooks = webhooks.webhooks_of(db, page.actor, project)
    logs: dict[uuid.UUID, list[WebhookDelivery]] = {
        h.id: webhooks.deliveries(db, page.actor, project, h.id, LOG_SIZE) for h in hooks
    }
    context: dict[str, Any] = {
        "project": project,
        "hooks": hooks,
        "logs": logs,
        "created": created,
        "error": error,
        "form": form or {"events": []},
        "event_kinds": WEBHOOK_EVENT_KINDS,
        "state_labels": STATE_LABELS,
        "hooks_url": HOOKS.format(key=project.key),
    }
    return render_page(request, "cases/integration_webhooks.html", context, status_code)


@router.get(HOOKS)
def webhooks_page(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    project = service.get_project(db, page.actor, key)
    return _hooks_page(request, db, page, project)


@router.post(HOOKS)
async def add_webhook(
    request: Request,
    key: str,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    form = await request.form()
    name = str(form.get("name") or "")
    url = str(form.get("url") or "")
    events = [str(e) for e in form.getlist("events")]
    project = service.get_project(db, page.actor, key)
    try:
        with db.begin_nested():
            created = webhooks.create_webhook(
                db, page.actor, project, name=name, url=url, events=events
            )
    except InvalidInput as exc:
        values = {"name": name, "url": url, "events": events}
        return _hooks_page(
            request, db, page, project, error=exc, form=values, status_code=exc.status_code
        )
    return _hooks_page(request, db, page, project, created=created, status_code=201)


@router.post(HOOKS + "/{webhook_id}/delete")
def delete_webhook(
    key: str,
    webhook_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    project = service.get_project(db, page.actor, key)
    webhooks.delete_webhook(db, page.actor, project, webhook_id)
    return redirect(HOOKS.format(key=project.key))


@router.post("/cases/projects/{key}/deliveries/{delivery_id}/redeliver")
def redeliver(
    key: str,
    delivery_id: uuid.UUID,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
) -> Response:
    project = service.get_project(db, page.actor, key)
    webhooks.redeliver(db, page.actor, project, delivery_id)
    return redirect(HOOKS.format(key=project.key))


# --- one's own notification settings -------------------------------------------------------


@router.get(NOTIFICATIONS)
def notifications_page(
    request: Request,
    page: StaffPage = Depends(page_staff),
    db: Session = Depends(db_session, scope="function"),
) -> HTMLResponse:
    context = {
        "setting": dispatch.settings_of(db, page.user.id),
        "saved": request.query_params.get("saved") == "1",
        "error": None,
    }
    return render_page(request, "cases/integration_notifications.html", context)


@router.post(NOTIFICATIONS)
def save_notifications(
    request: Request,
    page: StaffPage = Depends(page_staff),
    _csrf: None = Depends(csrf_protect),
    db: Session = Depends(db_session, scope="function"),
    email_enabled: str = Form(default=""),
    on_assigned: str = Form(default=""),
    on_comment: str = Form(default=""),
    on_status: str = Form(default=""),
    on_due: str = Form(default=""),
    remind_days_before: str = Form(default="1"),
) -> Response:
    try:
        days = int(remind_days_before.strip())
        with db.begin_nested():
            dispatch.save_settings(
                db,
                page.user.id,
                email_enabled=bool(email_enabled),
                on_assigned=bool(on_assigned),
                on_comment=bool(on_comment),
                on_status=bool(on_status),
                on_due=bool(on_due),
                remind_days_before=days,
            )
    except (ValueError, InvalidInput) as exc:
        error = exc if isinstance(exc, InvalidInput) else InvalidInput("not a number of days")
        context = {"setting": dispatch.settings_of(db, page.user.id), "saved": False}
        context["error"] = error
        return render_page(request, "cases/integration_notifications.html", context, 422)
    return redirect(f"{NOTIFICATIONS}?saved=1")
