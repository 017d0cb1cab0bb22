"""JSON API of webhooks, their delivery log, and the caller's notification settings.

Mounted under ``/api/v1``; every endpoint needs an organization's API key.  Webhooks need
the project's ``admin`` role; another organization's project, webhook or delivery answers
404 exactly as an unknown one.  JSON field names are camelCase.

=========================================================  ==============================
path                                                       what
=========================================================  ==============================
GET  /cases/projects/{key}/webhooks                         the project's webhooks
POST /cases/projects/{key}/webhooks                         a new one (201; its ``secret``
                                                            is in this answer only)
DELETE /cases/projects/{key}/webhooks/{id}                  delete it (204)
GET  /cases/projects/{key}/webhooks/{id}/deliveries         its delivery log, newest first
POST /cases/projects/{key}/deliveries/{id}/redeliver        queue a delivery again (201)
GET/PUT /cases/notification-settings                        a staff user's settings: an API
                                                            key has no user, so 403
                                                            ``no_user`` (use the web page)
=========================================================  ==============================
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from tsunagu.cases import service, webhooks
from tsunagu.cases.models import Webhook, WebhookDelivery
from tsunagu.core.errors import PermissionDenied
from tsunagu.identity.dependencies import ApiActor, DbSession

router = APIRouter(tags=["cases: webhooks and notifications"])

PROJECT = "/cases/projects/{key}"


class NoUser(PermissionDenied):
    code = "no_user"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)


class WebhookIn(_In):
    name: str = Field(max_length=100)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, max_length=20)


class NotificationSettingsIn(_In):
    email_enabled: bool = True
    on_assigned: bool = True
    on_comment: bool = True
    on_status: bool = True
    on_due: bool = True
    remind_days_before: int = Field(default=1, ge=0, le=30)


def webhook_json(hook: Webhook) -> dict[str, Any]:
    return {
        "id": str(hook.id),
        "name": hook.name,
        "url": hook.url,
        "events": hook.events,
        "active": hook.active,
        "createdAt": hook.created_at.isoformat(),
    }


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "webhookId": str(delivery.webhook_id),
        "event": delivery.event,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error,
        "nextAttemptAt": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
        "createdAt": delivery.created_at.isoformat(),
        "deliveredAt": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
        "payload": delivery.payload,
    }


@router.get(PROJECT + "/webhooks")
def list_webhooks(key: str, actor: ApiActor, db: DbSession) -> list[dict[str, Any]]:
    project = service.get_project(db, actor, key)
    return [webhook_json(h) for h in webhooks.webhooks_of(db, actor, project)]


@router.post(PROJECT + "/webhooks", status_code=201)
def create_webhook(key: str, body: WebhookIn, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    created = webhooks.create_webhook(
        db, actor, project, name=body.name, url=body.url, events=body.events
    )
    return {**webhook_json(created.webhook), "secret": created.secret}


@router.delete(PROJECT + "/webhooks/{webhook_id}", status_code=204)
def delete_webhook(key: str, webhook_id: uuid.UUID, actor: ApiActor, db: DbSession) -> Response:
    project = service.get_project(db, actor, key)
    webhooks.delete_webhook(db, actor, project, webhook_id)
    return Response(status_code=204)


@router.get(PROJECT + "/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    key: str, webhook_id: uuid.UUID, actor: ApiActor, db: DbSession
) -> list[dict[str, Any]]:
    project = service.get_project(db, actor, key)
    return [delivery_json(d) for d in webhooks.deliveries(db, actor, project, webhook_id)]


@router.post(PROJECT + "/deliveries/{delivery_id}/redeliver", status_code=201)
def redeliver(key: str, delivery_id: uuid.UUID, actor: ApiActor, db: DbSession) -> dict[str, Any]:
    project = service.get_project(db, actor, key)
    return delivery_json(webhooks.redeliver(db, actor, project, delivery_id))


def _no_user() -> NoUser:
    return NoUser(
        "notification settings belong to a staff user, and an API key has none: "
        "sign in and use /cases/settings/notifications"
    )


@router.get("/cases/notification-settings")
def get_notification_settings(actor: ApiActor) -> dict[str, Any]:
    del actor
    raise _no_user()


@router.put("/cases/notification-settings")
def put_notification_settings(body: NotificationSettingsIn, actor: ApiActor) -> dict[str, Any]:
    del body, actor
    raise _no_user()
