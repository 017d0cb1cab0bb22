"""Due-date reminders: tell assignees of open cases that are due soon or overdue.

``queue_reminders`` adds one ``Notification`` (kind ``due`` / ``overdue``) per open case
with an assignee whose due date lies within the assignee's ``remind_days_before`` days
of today (the organization's time zone, Asia/Tokyo by default) or has passed — at most
one per case, per user, per day (``dedupe_key = due:<case>:<user>:<day>``), so running it
again the same day queues nothing new.  The mailer sends them.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.cases.dispatch import BASE_URL_MARK, case_link, settings_of, text
from tsunagu.cases.models import Case
from tsunagu.cases.models import Notification as Outbox
from tsunagu.core.clock import utcnow
from tsunagu.identity.models import Organization, StaffUser

#: the most days ahead a reminder may be asked for (``remind_days_before``)
MAX_DAYS_BEFORE = 30


def today_in(zone: str) -> date:
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("Asia/Tokyo")
    return utcnow().astimezone(tz).date()


def queue_reminders(session: Session, *, on: date | None = None) -> int:
    """Queue today's reminders (``on``: the day to act as, in every organization); returns
    how many were queued."""
    horizon = (on or utcnow().date()) + timedelta(days=MAX_DAYS_BEFORE + 1)
    rows = session.execute(
        select(Case, StaffUser, Organization.timezone)
        .join(StaffUser, StaffUser.id == Case.assignee_id)
        .join(Organization, Organization.id == Case.organization_id)
        .where(
            Case.closed.is_(False),
            Case.due_date.is_not(None),
            Case.due_date <= horizon,
            StaffUser.is_active.is_(True),
        )
        .order_by(Case.due_date)
    ).all()
    queued = 0
    for case, user, zone in rows:
        if case.due_date is None:
            continue
        day = on or today_in(zone)
        setting = settings_of(session, user.id)
        if not (setting.email_enabled and setting.on_due):
            continue
        days = min(max(setting.remind_days_before, 0), MAX_DAYS_BEFORE)
        if case.due_date > day + timedelta(days=days):
            continue
        key = f"due:{case.id}:{user.id}:{day.isoformat()}"
        if session.scalar(select(Outbox.id).where(Outbox.dedupe_key == key)) is not None:
            continue
        reason = "overdue" if case.due_date < day else "due"
        subject = text(user.locale, reason, key=case.key, summary=case.summary)
        body = "\n".join(
            [
                subject,
                "",
                text(user.locale, "due_on", due=case.due_date.isoformat()),
                "",
                text(user.locale, "open", link=case_link(case.key)),
                "",
                "--",
                text(
                    user.locale,
                    "footer",
                    settings=f"{BASE_URL_MARK}/cases/settings/notifications",
                ),
            ]
        )
        session.add(
            Outbox(
                user_id=user.id,
                case_id=case.id,
                kind=reason,
                subject=subject[:300],
                body=body,
                dedupe_key=key,
            )
        )
        queued += 1
    session.flush()
    return queued
