"""The outbox drain: send queued ``Notification`` rows over SMTP (``smtplib``).

One round (``send_due``) takes the mails that are due (not sent, ``next_attempt_at`` empty
or past, fewer than ``MAX_ATTEMPTS`` tries), sends each, and commits after each one so a
mail that went out is never sent twice.  A mail that fails (the server is down, refuses
it) stays queued with ``attempts`` + 1, ``last_error`` and a later ``next_attempt_at``
(back-off: 1, 2, 4 … minutes, at most an hour); after ``MAX_ATTEMPTS`` it is left alone
(``last_error`` says why).  Without ``Settings.smtp_host`` nothing is sent: mails stay
queued until a server is configured.

Rows with ``to_address`` (an inquirer) go to that address; the others to the staff user's
current address.  ``dispatch.BASE_URL_MARK`` in a body becomes ``public_base_url``.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tsunagu.cases.dispatch import BASE_URL_MARK
from tsunagu.cases.models import Notification as Outbox
from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings
from tsunagu.identity.models import StaffUser

MAX_ATTEMPTS = 10
#: at most this many mails per round
BATCH = 200
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class MailRound:
    """What one round did: mails sent, mails that failed (and stay queued)."""

    sent: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure."""
    delay: timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(delay, LONGEST_RETRY)


def due_mails(session: Session, now: datetime, limit: int = BATCH) -> list[Outbox]:
    return list(
        session.scalars(
            select(Outbox)
            .where(
                Outbox.sent_at.is_(None),
                or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
                Outbox.attempts < MAX_ATTEMPTS,
            )
            .order_by(Outbox.created_at)
            .limit(limit)
        )
    )


def pending_count(session: Session) -> int:
    """Mails still waiting to go out (including those waiting for a retry)."""
    return len(
        session.scalars(
            select(Outbox.id).where(Outbox.sent_at.is_(None), Outbox.attempts < MAX_ATTEMPTS)
        ).all()
    )


def _address(session: Session, row: Outbox) -> str | None:
    if row.to_address:
        return row.to_address
    if row.user_id is None:
        return None
    user = session.get(StaffUser, row.user_id)
    return user.email if user is not None and user.is_active else None


def message(settings: Settings, row: Outbox, to: str) -> EmailMessage:
    """The e-mail of one outbox row (plain text, UTF-8)."""
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = to
    mail["Subject"] = row.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(idstring=str(row.id))
    base = settings.public_base_url.rstrip("/")
    mail.set_content(row.body.replace(BASE_URL_MARK, base))
    return mail


def _connect(settings: Settings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(
        settings.smtp_host or "localhost", settings.smtp_port, timeout=settings.smtp_timeout_seconds
    )
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _claim(session: Session, row_id: object) -> Outbox | None:
    """The mail, locked for this sender (PostgreSQL: ``FOR UPDATE SKIP LOCKED``) while
    still unsent; None when another sender holds it or it went out meanwhile."""
    return session.scalars(
        select(Outbox)
        .where(Outbox.id == row_id, Outbox.sent_at.is_(None))
        .with_for_update(skip_locked=True)
    ).first()


def _failed(row: Outbox, error: str, now: datetime) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    row.next_attempt_at = now + retry_delay(row.attempts)


def send_due(session: Session, settings: Settings, *, now: datetime | None = None) -> MailRound:
    """Send the mails that are due (one round); commits after each mail."""
    if not settings.smtp_host:
        return MailRound()
    now = now or utcnow()
    rows = due_mails(session, now)
    if not rows:
        return MailRound()
    sent = failed = 0
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        for waiting in rows:
            _failed(waiting, f"SMTP server unreachable: {exc}", now)
        session.commit()
        return MailRound(failed=len(rows))
    try:
        for listed in rows:
            row = _claim(session, listed.id)
            if row is None:  # another sender has it, or sent it meanwhile
                continue
            to = _address(session, row)
            if to is None:
                row.attempts = MAX_ATTEMPTS
                row.last_error = "no address to send to"
                failed += 1
            else:
                try:
                    smtp.send_message(message(settings, row, to))
                except (OSError, smtplib.SMTPException) as exc:
                    _failed(row, f"{type(exc).__name__}: {exc}", now)
                    failed += 1
                else:
                    row.sent_at = utcnow()
                    row.attempts += 1
                    row.last_error = None
                    sent += 1
            session.commit()
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return MailRound(sent=sent, failed=failed)
