"""What happens after a case changes: e-mail notifications and webhook deliveries.

``on_event`` runs in the same transaction as the change (the service calls it after every
timeline event): it only *queues* — ``Notification`` rows (the outbox) for the staff
users to tell, ``WebhookDelivery`` rows for the project's webhooks.  Sending happens later,
outside that transaction (``cases.mailer``, ``cases.webhooks``, ``cases.worker``).

Who is told (each per their ``NotificationSetting``, defaults on; never the actor):

- the assignee changed (or a new case has one): the new assignee (``on_assigned``);
- a comment: the members chosen in ``notify``, the assignee and the watchers
  (``on_comment``);
- the status changed: the assignee, the watchers and the creator (``on_status``).

The mail is written in the recipient's locale (``StaffUser.locale``, default ``ja``).  Its
link names ``BASE_URL_MARK``, which the mailer replaces with ``Settings.public_base_url``
when it sends (the services know no settings).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.cases.models import (
    Case,
    Comment,
    Event,
    NotificationSetting,
    Project,
    Watcher,
    Webhook,
    WebhookDelivery,
)
from tsunagu.cases.models import Notification as Outbox
from tsunagu.core.clock import to_zone
from tsunagu.core.errors import InvalidInput
from tsunagu.identity.models import StaffUser

#: replaced with ``Settings.public_base_url`` by the mailer when a mail goes out
BASE_URL_MARK = "{tsunagu_base_url}"
#: timeline event kind → webhook event kind (other kinds send nothing)
WEBHOOK_EVENTS = {
    "created": "case.created",
    "changed": "case.updated",
    "commented": "case.commented",
    "attached": "case.attached",
    "escalated": "case.escalated",
    "moved": "case.moved",
}
WEBHOOK_EVENT_KINDS = tuple(WEBHOOK_EVENTS.values())
#: how long a comment may be quoted in a mail
QUOTE_LIMIT = 1000

_TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "assigned": "[{key}] 担当者に設定されました: {summary}",
        "comment": "[{key}] コメントが追加されました: {summary}",
        "status": "[{key}] 状態が変更されました: {summary}",
        "due": "[{key}] 期限が近づいています: {summary}",
        "overdue": "[{key}] 期限を過ぎています: {summary}",
        "by": "{actor} さんによる更新",
        "changes": "変更内容:",
        "comment_head": "コメント:",
        "due_on": "期限日: {due}",
        "open": "課題を開く: {link}",
        "footer": "このメールは tsunagu から自動送信されています。通知設定: {settings}",
    },
    "en": {
        "assigned": "[{key}] You were assigned: {summary}",
        "comment": "[{key}] New comment: {summary}",
        "status": "[{key}] Status changed: {summary}",
        "due": "[{key}] Due soon: {summary}",
        "overdue": "[{key}] Overdue: {summary}",
        "by": "Updated by {actor}",
        "changes": "Changes:",
        "comment_head": "Comment:",
        "due_on": "Due date: {due}",
        "open": "Open the case: {link}",
        "footer": "Sent automatically by tsunagu. Notification settings: {settings}",
    },
}


def text(locale: str | None, name: str, **values: Any) -> str:
    """One line of a mail in ``locale`` (ja unless it is ``en``)."""
    table = _TEXT["en"] if locale == "en" else _TEXT["ja"]
    return table[name].format(**values)


def case_link(case_key: str) -> str:
    return f"{BASE_URL_MARK}/cases/view/{case_key}"


def settings_of(session: Session, user_id: uuid.UUID) -> NotificationSetting:
    """A user's notification settings (the defaults when they never saved any; not added)."""
    row = session.get(NotificationSetting, user_id)
    if row is None:
        row = NotificationSetting(
            user_id=user_id,
            email_enabled=True,
            on_assigned=True,
            on_comment=True,
            on_status=True,
            on_due=True,
            remind_days_before=1,
        )
    return row


def _wants(setting: NotificationSetting, reason: str) -> bool:
    if not setting.email_enabled:
        return False
    return bool(
        {
            "assigned": setting.on_assigned,
            "comment": setting.on_comment,
            "status": setting.on_status,
            "due": setting.on_due,
            "overdue": setting.on_due,
        }[reason]
    )


def _recipients(
    session: Session, case: Case, event: Event, notify: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Who to tell, and why (the first reason wins: assigned, status, comment)."""
    fields = {c.get("field") for c in event.changes}
    reasons: dict[uuid.UUID, str] = {}
    watchers = list(session.scalars(select(Watcher.user_id).where(Watcher.case_id == case.id)))
    if case.assignee_id is not None and (
        "assignee" in fields or (event.kind == "created" and event.seq == 1)
    ):
        reasons.setdefault(case.assignee_id, "assigned")
    if "status" in fields:
        for user_id in (case.assignee_id, *watchers, case.created_by_id):
            if user_id is not None:
                reasons.setdefault(user_id, "status")
    if event.comment_id is not None:
        for user_id in (*notify, case.assignee_id, *watchers):
            if user_id is not None:
                reasons.setdefault(user_id, "comment")
    else:  # a new case or a change with people chosen to tell
        for user_id in notify:
            reasons.setdefault(user_id, "comment")
    if event.actor_id is not None:
        reasons.pop(event.actor_id, None)
    return reasons


def _body(
    session: Session, case: Case, event: Event, locale: str | None, reason: str
) -> tuple[str, str]:
    subject = text(locale, reason, key=case.key, summary=case.summary)
    lines = [subject, "", text(locale, "by", actor=event.actor_label)]
    if event.changes:
        lines += ["", text(locale, "changes")]
        for change in event.changes:
            before = "-" if change.get("from") is None else change.get("from")
            after = "-" if change.get("to") is None else change.get("to")
            lines.append(f"  {change.get('field')}: {before} → {after}")
    if event.comment_id is not None:
        comment = session.get(Comment, event.comment_id)
        if comment is not None:
            body = comment.body
            if len(body) > QUOTE_LIMIT:
                body = body[:QUOTE_LIMIT] + "…"
            lines += ["", text(locale, "comment_head"), body]
    lines += [
        "",
        text(locale, "open", link=case_link(case.key)),
        "",
        "--",
        text(locale, "footer", settings=f"{BASE_URL_MARK}/cases/settings/notifications"),
    ]
    return subject[:300], "\n".join(lines)


def queue_mails(
    session: Session, case: Case, event: Event, notify: Sequence[uuid.UUID]
) -> list[Outbox]:
    """The outbox rows of one event (already added to the session)."""
    queued: list[Outbox] = []
    for user_id, reason in _recipients(session, case, event, notify).items():
        user = session.get(StaffUser, user_id)
        if user is None or not user.is_active:
            continue
        if not _wants(settings_of(session, user_id), reason):
            continue
        subject, body = _body(session, case, event, user.locale, reason)
        row = Outbox(
            user_id=user_id,
            case_id=case.id,
            kind=reason,
            subject=subject,
            body=body,
            dedupe_key=f"event:{event.id}:{user_id}",
        )
        session.add(row)
        queued.append(row)
    return queued


def _actor_label(case: Case, event: Event) -> str:
    """Staff and API keys by name; anyone else (an inquirer) only as where it came from."""
    if event.actor_id is not None or event.actor_label.startswith("API"):
        return event.actor_label
    return case.source


#: fields whose text may quote people (an inquiry's words): webhooks hear only that they
#: changed, not what they say
FREE_TEXT_FIELDS = frozenset({"description"})


def _outward(change: dict[str, Any]) -> dict[str, Any]:
    if change.get("field") in FREE_TEXT_FIELDS:
        return {"field": change.get("field"), "from": None, "to": None, "redacted": True}
    return change


def payload(project: Project, case: Case, event: Event, kind: str) -> dict[str, Any]:
    """The JSON body a webhook receives for one event (no personal data of linked persons:
    no comment bodies, no links, no inquirer)."""
    return {
        "event": kind,
        "project": project.key,
        "case": {"key": case.key, "summary": case.summary},
        "changes": [_outward(c) for c in event.changes],
        "actor": _actor_label(case, event),
        "at": to_zone(event.at).isoformat(),
        "sequence": event.seq,
    }


def queue_webhooks(session: Session, case: Case, event: Event) -> list[WebhookDelivery]:
    """One pending delivery per active webhook of the case's project that takes this kind."""
    kind = WEBHOOK_EVENTS.get(event.kind)
    if kind is None:
        return []
    hooks = session.scalars(
        select(Webhook).where(Webhook.project_id == case.project_id, Webhook.active.is_(True))
    ).all()
    wanted = [h for h in hooks if not h.events or kind in h.events]
    if not wanted:
        return []
    project = session.get(Project, case.project_id)
    if project is None:
        return []
    body = json.dumps(payload(project, case, event, kind), ensure_ascii=False)
    queued = []
    for hook in wanted:
        delivery = WebhookDelivery(
            webhook_id=hook.id, event=kind, payload=body, state="pending", attempts=0
        )
        session.add(delivery)
        queued.append(delivery)
    return queued


def on_event(
    session: Session, case: Case, event: Event, *, notify: Sequence[uuid.UUID] = ()
) -> None:
    """Queue the notifications and webhook deliveries of one timeline event (same
    transaction as the change; sending happens later, outside it)."""
    queue_mails(session, case, event, notify)
    queue_webhooks(session, case, event)
    if event.kind == "commented" and event.comment_id is not None:
        comment = session.get(Comment, event.comment_id)
        if comment is not None and comment.public and not comment.from_inquirer:
            # imported here: inquiry → service → dispatch would be a cycle at import time
            from tsunagu.cases.inquiry import notify_inquirer

            notify_inquirer(session, case, comment)
    session.flush()


# --- a user's notification settings -----------------------------------------------------

#: the most days before the due date a reminder may go out
MAX_REMIND_DAYS = 30


def save_settings(
    session: Session,
    user_id: uuid.UUID,
    *,
    email_enabled: bool,
    on_assigned: bool,
    on_comment: bool,
    on_status: bool,
    on_due: bool,
    remind_days_before: int,
) -> NotificationSetting:
    """Store a user's notification settings (``remind_days_before``: 0 to 30)."""
    if not 0 <= remind_days_before <= MAX_REMIND_DAYS:
        raise InvalidInput(f"remind_days_before: 0 to {MAX_REMIND_DAYS} days")
    row = session.get(NotificationSetting, user_id)
    if row is None:
        row = NotificationSetting(user_id=user_id)
        session.add(row)
    row.email_enabled = email_enabled
    row.on_assigned = on_assigned
    row.on_comment = on_comment
    row.on_status = on_status
    row.on_due = on_due
    row.remind_days_before = remind_days_before
    session.flush()
    return row
