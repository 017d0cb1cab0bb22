"""Outgoing webhooks of a project: create, list, delete; deliver signed JSON with retries.

A delivery is an HTTP ``POST`` of the event's JSON (see ``dispatch.payload``) with::

    Content-Type: application/json
    X-Tsunagu-Event: case.updated
    X-Tsunagu-Delivery: <the delivery's id>
    X-Tsunagu-Timestamp: <seconds since the epoch>
    X-Tsunagu-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>

The secret is generated when the webhook is created and shown once.  A receiver
recomputes the signature over the raw body and compares in constant time (and refuses
old timestamps) — see docs/cases/webhooks.md and ``signature``.

A 2xx answer delivers; anything else (another status, a timeout, no connection) is a
failed attempt: ``attempts`` + 1, ``last_status_code`` / ``last_error`` and a retry after
an exponential back-off with jitter; after ``Settings.webhook_max_attempts`` the delivery
is ``dead``.  ``redeliver`` queues a dead (or any) delivery again as a new delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tsunagu.cases import service
from tsunagu.cases.dispatch import WEBHOOK_EVENT_KINDS
from tsunagu.cases.errors import ItemNotFound
from tsunagu.cases.models import Project, Webhook, WebhookDelivery
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput
from tsunagu.core.settings import Settings
from tsunagu.identity.service import Actor

MAX_URL = 2000
MAX_NAME = 100
FIRST_RETRY_SECONDS = 10.0
LONGEST_RETRY_SECONDS = 3600.0
BATCH = 100
USER_AGENT = "tsunagu-webhooks/1"


class InvalidWebhook(InvalidInput):
    code = "invalid_webhook"


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    """A new webhook and its secret (the only time the secret is shown)."""

    webhook: Webhook
    secret: str


@dataclass(frozen=True, slots=True)
class DeliveryRound:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host (422 ``invalid_webhook`` otherwise)."""
    url = (url or "").strip()
    if not url:
        raise InvalidWebhook("url is required")
    if len(url) > MAX_URL:
        raise InvalidWebhook(f"url: at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise InvalidWebhook(f"url: not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidWebhook("url: only http:// and https:// URLs are allowed")
    if not parts.hostname:
        raise InvalidWebhook("url: a host name is required")
    if any(c.isspace() for c in url):
        raise InvalidWebhook("url: must not contain spaces")
    return url


def check_events(events: list[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(events or []))
    unknown = [e for e in chosen if e not in WEBHOOK_EVENT_KINDS]
    if unknown:
        raise InvalidWebhook(
            f"events: unknown {', '.join(unknown)}; use {', '.join(WEBHOOK_EVENT_KINDS)}"
        )
    return chosen


def create_webhook(
    session: Session,
    actor: Actor,
    project: Project,
    *,
    name: str,
    url: str,
    events: list[str] | None = None,
) -> CreatedWebhook:
    """A new webhook of the project (the admin role in it), with a fresh secret."""
    service.require(session, actor, project, "admin")
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidWebhook(f"name: 1 to {MAX_NAME} characters")
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook(
        project_id=project.id,
        name=name,
        url=check_url(url),
        secret=secret,
        events=check_events(events),
        active=True,
    )
    session.add(hook)
    session.flush()
    return CreatedWebhook(hook, secret)


def webhooks_of(session: Session, actor: Actor, project: Project) -> list[Webhook]:
    service.require(session, actor, project, "admin")
    return list(
        session.scalars(
            select(Webhook).where(Webhook.project_id == project.id).order_by(Webhook.created_at)
        )
    )


def get_webhook(session: Session, actor: Actor, project: Project, webhook_id: uuid.UUID) -> Webhook:
    service.require(session, actor, project, "admin")
    hook = session.get(Webhook, webhook_id)
    if hook is None or hook.project_id != project.id:
        raise ItemNotFound("no such webhook")
    return hook


def delete_webhook(session: Session, actor: Actor, project: Project, webhook_id: uuid.UUID) -> None:
    hook = get_webhook(session, actor, project, webhook_id)
    session.delete(hook)
    session.flush()


def deliveries(
    session: Session, actor: Actor, project: Project, webhook_id: uuid.UUID, limit: int = 50
) -> list[WebhookDelivery]:
    """The webhook's delivery log, newest first."""
    hook = get_webhook(session, actor, project, webhook_id)
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == hook.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
            .limit(limit)
        )
    )


def redeliver(
    session: Session, actor: Actor, project: Project, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Queue a delivery's payload again, as a new delivery (the old one stays logged)."""
    service.require(session, actor, project, "admin")
    old = session.get(WebhookDelivery, delivery_id)
    hook = session.get(Webhook, old.webhook_id) if old is not None else None
    if old is None or hook is None or hook.project_id != project.id:
        raise ItemNotFound("no such delivery")
    again = WebhookDelivery(
        webhook_id=hook.id, event=old.event, payload=old.payload, state="pending", attempts=0
    )
    session.add(again)
    session.flush()
    return again


# --- delivering ------------------------------------------------------------------------------


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential back-off after the ``attempts``-th failure, with up to 25 % jitter."""
    base = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_RETRY_SECONDS)
    jitter = (rng or random).uniform(0, base * 0.25)
    return timedelta(seconds=base + jitter)


def due_deliveries(session: Session, now: datetime, limit: int = BATCH) -> list[WebhookDelivery]:
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.state.in_(("pending", "failed")),
                or_(
                    WebhookDelivery.next_attempt_at.is_(None),
                    WebhookDelivery.next_attempt_at <= now,
                ),
            )
            .order_by(WebhookDelivery.created_at)
            .limit(limit)
        )
    )


def attempt(
    client: httpx.Client, hook: Webhook, delivery: WebhookDelivery
) -> tuple[int | None, str | None]:
    """One POST: (status code, error) — error is None on a 2xx answer."""
    body = delivery.payload.encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Tsunagu-Event": delivery.event,
        "X-Tsunagu-Delivery": str(delivery.id),
        "X-Tsunagu-Timestamp": stamp,
        "X-Tsunagu-Signature": signature(hook.secret, stamp, body),
    }
    try:
        response = client.post(hook.url, content=body, headers=headers)
    except httpx.TimeoutException:
        return None, "timed out"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:2000]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def deliver_due(
    session: Session,
    settings: Settings,
    *,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
) -> DeliveryRound:
    """Deliver what is due (one round); commits after each attempt."""
    now = now or utcnow()
    rows = due_deliveries(session, now)
    delivered = failed = dead = 0
    with httpx.Client(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False, transport=transport
    ) as client:
        for listed in rows:
            # locked for this sender while still due (PostgreSQL: FOR UPDATE SKIP LOCKED)
            delivery = session.scalars(
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.id == listed.id,
                    WebhookDelivery.state.in_(("pending", "failed")),
                )
                .with_for_update(skip_locked=True)
            ).first()
            hook = session.get(Webhook, delivery.webhook_id) if delivery is not None else None
            if delivery is None or hook is None:
                continue
            code, error = attempt(client, hook, delivery)
            delivery.attempts += 1
            delivery.last_status_code = code
            delivery.last_error = error
            if error is None:
                delivery.state = "delivered"
                delivery.delivered_at = utcnow()
                delivery.next_attempt_at = None
                delivered += 1
            elif delivery.attempts >= settings.webhook_max_attempts:
                delivery.state = "dead"
                delivery.next_attempt_at = None
                dead += 1
            else:
                delivery.state = "failed"
                delivery.next_attempt_at = now + retry_delay(delivery.attempts)
                failed += 1
            session.commit()
    return DeliveryRound(delivered=delivered, failed=failed, dead=dead)
