"""Public inquiry forms: a submission opens one case, the inquirer follows it by a link.

- ``open_form(session, org_slug, key)`` — the project whose form is open (anything else,
  a closed, archived or unknown one, is ``InquiryFormNotFound``: 404 like nothing);
- ``check_form`` — the typed fields cleaned, or ``InvalidInquiry`` listing each problem;
- ``submit_inquiry`` — opens ONE case (``source="inquiry"``) and its ``Inquiry`` row.  The
  form carries a random *idempotency key* per rendering; a second submission with the same
  key (a double click, a retry) answers with the first one's reference and creates nothing.
  The project row is locked first (PostgreSQL ``FOR UPDATE``; SQLite serialises writers)
  so the check for an earlier submission and the insert cannot interleave, and the insert
  runs in a savepoint: should a twin still win the unique constraint, the savepoint is
  rolled back and the twin's reference returned;
- with the consent box ticked, the inquirer is registered with the organization
  (``vault.register_person``, ref ``inquiry:<reference>``, the address as a
  ``contact.email`` record) and a consent is recorded for the default purpose
  ``customer-care`` (DPV ``CustomerCare``: "to answer your inquiries and support you") on
  ``identity.name`` and ``contact.email``, with the exact notice shown as evidence.
  Without it nothing but the case and the ``Inquiry`` row are kept;
- ``follow_token`` / ``inquiry_for_token`` — the signed, non-expiring follow-up link;
  ``public_comments`` — what the follow-up page shows (replies marked public and the
  inquirer's own; internal comments never);
- ``notify_inquirer`` / ``notify_received`` — e-mails to the inquirer, queued as
  ``Notification`` rows (the outbox; the notifications engine sends them after commit);
- ``RateLimiter`` — a thread-safe sliding window per client address (kept in
  ``app.state`` by the pages).

Like every service here these only ``flush()``; the request commits.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.cases import service
from tsunagu.cases.models import Case, Comment, Inquiry, Notification, Project, Status
from tsunagu.consent import service as consent_service
from tsunagu.core.errors import InvalidInput, NotFound
from tsunagu.core.i18n import SUPPORTED_LOCALES, gettext_for, gettext_noop
from tsunagu.core.settings import Settings, get_settings
from tsunagu.identity.models import Organization
from tsunagu.vault import service as vault_service

#: the reference alphabet: digits and capitals without 0/O, 1/I/L (read aloud, typed back)
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_PREFIX = "Q-"
REFERENCE_LENGTH = 8
#: the purpose an inquirer's consent is for (a default purpose, DPV CustomerCare)
CONSENT_PURPOSE = "customer-care"
#: what the inquirer's consent covers (``consent.vocabulary``)
CONSENT_CATEGORIES = ("identity.name", "contact.email")
CONSENT_METHOD = "web-form"
#: how the case's timeline names the inquirer
AUTHOR_SUFFIX = " (inquiry form / お問い合わせフォーム)"
MAX_NAME = 100
MAX_EMAIL = 254
MAX_SUBJECT = 200
MAX_MESSAGE = 20_000
MAX_KEY = 80
_FOLLOW_SALT = "tsunagu.cases.inquiry-follow"

#: why a field was refused, as the form explains it (msgids of cases_inquiry.po)
FIELD_PROBLEMS = {
    "required": gettext_noop("Please fill this in."),
    "too_long": gettext_noop("This is too long."),
    "nul": gettext_noop("This contains a character that cannot be accepted."),
    "email": gettext_noop("This does not look like an e-mail address."),
    "key": gettext_noop("The form was incomplete. Please send it again."),
}


class InquiryFormNotFound(NotFound):
    """No open inquiry form here (unknown organization or project, or the form is off)."""

    code = "inquiry_form_not_found"


class InquiryNotFound(NotFound):
    """No inquiry for this follow-up link (unknown, or the link was altered)."""

    code = "inquiry_not_found"


class InvalidInquiry(InvalidInput):
    """Fields of the form were refused; ``errors`` names each (``field``, ``reason``)."""

    code = "invalid_inquiry"


@dataclass(frozen=True, slots=True)
class InquiryForm:
    """What the inquirer typed, cleaned."""

    name: str
    email: str
    subject: str
    message: str
    consent: bool
    idempotency_key: str
    locale: str = "ja"


@dataclass(frozen=True, slots=True)
class Submitted:
    inquiry: Inquiry
    case: Case
    #: False when an earlier submission with the same idempotency key answered
    created: bool


# --- the form ---------------------------------------------------------------------------


def open_form(session: Session, org_slug: str, key: str) -> Project:
    """The project whose public form is at ``/inquiry/{org_slug}/{key}``."""
    project = session.scalar(
        select(Project)
        .join(Organization, Organization.id == Project.organization_id)
        .where(
            Organization.slug == org_slug,
            Project.key == key.upper(),
            Project.inquiry_enabled.is_(True),
            Project.archived_at.is_(None),
        )
    )
    if project is None:
        raise InquiryFormNotFound("no open inquiry form here")
    return project


def notice_for(project: Project, locale: str) -> tuple[str, str]:
    """The consent notice to show in ``locale`` and its language (the other language's
    when this one has none; ``""`` when the project has none, and then no checkbox)."""
    ja, en = project.inquiry_notice_ja.strip(), project.inquiry_notice_en.strip()
    if locale == "en":
        return (en, "en") if en else (ja, "ja")
    return (ja, "ja") if ja else (en, "en")


def _field(values: dict[str, str], name: str, limit: int, problems: list[dict[str, str]]) -> str:
    value = (values.get(name) or "").strip()
    if "\x00" in value:
        problems.append({"field": name, "reason": "nul"})
    elif not value:
        problems.append({"field": name, "reason": "required"})
    elif len(value) > limit:
        problems.append({"field": name, "reason": "too_long"})
    return value


def check_form(values: dict[str, str], *, consent: bool, locale: str) -> InquiryForm:
    """The cleaned form, or ``InvalidInquiry`` naming every field that was refused."""
    problems: list[dict[str, str]] = []
    name = _field(values, "name", MAX_NAME, problems)
    email = _field(values, "email", MAX_EMAIL, problems)
    subject = _field(values, "subject", MAX_SUBJECT, problems)
    message = _field(values, "message", MAX_MESSAGE, problems)
    if email and not any(p["field"] == "email" for p in problems):
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append({"field": "email", "reason": "email"})
    key = (values.get("idempotency_key") or "").strip()
    if not key or len(key) > MAX_KEY or not key.replace("-", "").replace("_", "").isalnum():
        problems.append({"field": "idempotency_key", "reason": "key"})
    if problems:
        raise InvalidInquiry("the inquiry form was not filled in right", errors=problems)
    return InquiryForm(
        name=name,
        email=email,
        subject=subject,
        message=message,
        consent=consent,
        idempotency_key=key,
        locale=locale if locale in SUPPORTED_LOCALES else "ja",
    )


def new_idempotency_key() -> str:
    """A fresh key for one rendering of the form."""
    return secrets.token_urlsafe(18)


def new_reference() -> str:
    """``Q-`` and eight characters nobody misreads (about 8.5 × 10¹¹ of them)."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return REFERENCE_PREFIX + body


# --- submitting -------------------------------------------------------------------------


def find_submission(session: Session, project: Project, idempotency_key: str) -> Inquiry | None:
    return session.scalar(
        select(Inquiry).where(
            Inquiry.project_id == project.id, Inquiry.idempotency_key == idempotency_key
        )
    )


def _answered(session: Session, inquiry: Inquiry) -> Submitted:
    case = session.get(Case, inquiry.case_id)
    if case is None:  # pragma: no cover - the FK cascades
        raise InquiryNotFound("the case of this inquiry is gone")
    return Submitted(inquiry, case, created=False)


def _unused_reference(session: Session) -> str:
    for _ in range(5):
        reference = new_reference()
        if session.scalar(select(Inquiry.id).where(Inquiry.reference == reference)) is None:
            return reference
    raise RuntimeError("no free inquiry reference after 5 tries")  # pragma: no cover


def submit_inquiry(
    session: Session,
    vault: vault_service.Vault,
    project: Project,
    form: InquiryForm,
    *,
    notice: tuple[str, str] = ("", "ja"),
    settings: Settings | None = None,
) -> Submitted:
    """Open the inquiry's case (once per idempotency key) and queue the inquirer's
    acknowledgement.  ``notice`` is the consent notice shown and its language."""
    session.scalars(select(Project.id).where(Project.id == project.id).with_for_update()).one()
    earlier = find_submission(session, project, form.idempotency_key)
    if earlier is not None:
        return _answered(session, earlier)
    try:
        with session.begin_nested():
            inquiry, case = _open_case(session, vault, project, form, notice)
    except IntegrityError:
        twin = find_submission(session, project, form.idempotency_key)
        if twin is None:
            raise
        return _answered(session, twin)
    notify_received(session, case, inquiry, settings=settings)
    return Submitted(inquiry, case, created=True)


def _open_case(
    session: Session,
    vault: vault_service.Vault,
    project: Project,
    form: InquiryForm,
    notice: tuple[str, str],
) -> tuple[Inquiry, Case]:
    reference = _unused_reference(session)
    case = service.new_case(
        session,
        project,
        service.Author(None, form.name + AUTHOR_SUFFIX),
        {"summary": form.subject, "description": form.message},
        source="inquiry",
    )
    inquiry = Inquiry(
        project_id=project.id,
        case_id=case.id,
        reference=reference,
        idempotency_key=form.idempotency_key,
        name=form.name,
        email=form.email,
        locale=form.locale,
    )
    session.add(inquiry)
    session.flush()
    notice_text, notice_language = notice
    if form.consent and notice_text:
        _record_consent(session, vault, project, inquiry, notice_text, notice_language)
    return inquiry, case


def _record_consent(
    session: Session,
    vault: vault_service.Vault,
    project: Project,
    inquiry: Inquiry,
    notice_text: str,
    language: str,
) -> None:
    organization = session.get(Organization, project.organization_id)
    if organization is None:  # pragma: no cover - the FK cascades
        raise InquiryFormNotFound("no open inquiry form here")
    person = vault_service.register_person(
        session,
        vault,
        organization,
        ref=f"inquiry:{inquiry.reference}",
        family_name=inquiry.name,
        given_name="",
        actor="inquiry_form",
        email=inquiry.email,
    )
    issued = consent_service.give_consent(
        session,
        vault.pseudonym_key,
        person_id=person.id,
        recipient=organization,
        purpose=CONSENT_PURPOSE,
        categories=CONSENT_CATEGORIES,
        evidence=consent_service.Evidence(
            notice_text=notice_text,
            method=CONSENT_METHOD,
            notice_version=f"inquiry-form:{project.key}",
            language="en" if language == "en" else "ja",
        ),
        actor="person",
        given_by="person",
        recorded_by=organization,
    )
    inquiry.person_id = person.id
    inquiry.consent_id = issued.consent.id
    session.flush()


# --- following --------------------------------------------------------------------------


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_FOLLOW_SALT)


def follow_token(secret_key: str, inquiry: Inquiry) -> str:
    """The signed part of the inquirer's follow-up link (it does not expire)."""
    return str(_serializer(secret_key).dumps({"r": inquiry.reference}))


def follow_url(settings: Settings, inquiry: Inquiry) -> str:
    base = settings.public_base_url.rstrip("/")
    return f"{base}/inquiry/follow/{follow_token(settings.resolved_secret_key(), inquiry)}"


def inquiry_for_token(session: Session, secret_key: str, token: str) -> Inquiry:
    """The inquiry a follow-up link names; an altered or unknown one is a 404."""
    try:
        data: Any = _serializer(secret_key).loads(token)
    except BadSignature as exc:
        raise InquiryNotFound("no such inquiry") from exc
    reference = data.get("r") if isinstance(data, dict) else None
    inquiry = (
        session.scalar(select(Inquiry).where(Inquiry.reference == reference))
        if isinstance(reference, str)
        else None
    )
    if inquiry is None:
        raise InquiryNotFound("no such inquiry")
    return inquiry


def case_of(session: Session, inquiry: Inquiry) -> Case:
    case = session.get(Case, inquiry.case_id)
    if case is None:  # pragma: no cover - the FK cascades
        raise InquiryNotFound("no such inquiry")
    return case


def inquiry_of_case(session: Session, case_id: uuid.UUID) -> Inquiry | None:
    """The inquiry that opened a case, if one did (for staff pages and notifications)."""
    return session.scalar(select(Inquiry).where(Inquiry.case_id == case_id))


def status_name(session: Session, case: Case, locale: str) -> str:
    status = session.get(Status, case.status_id)
    return service.status_label(status, locale) if status is not None else ""


def public_comments(session: Session, case: Case) -> list[Comment]:
    """The comments the inquirer sees: staff replies marked public and their own."""
    return list(
        session.scalars(
            select(Comment)
            .where(Comment.case_id == case.id, Comment.public.is_(True))
            .order_by(Comment.created_at, Comment.id)
        )
    )


def reply(session: Session, inquiry: Inquiry, body: str) -> Comment:
    """The inquirer's reply through their link: a comment on the case's timeline."""
    if "\x00" in body:
        raise InvalidInquiry(
            "the reply contains a character that cannot be accepted",
            errors=[{"field": "body", "reason": "nul"}],
        )
    text = body.strip()
    if not text:
        raise InvalidInquiry("write a reply", errors=[{"field": "body", "reason": "required"}])
    if len(text) > MAX_MESSAGE:
        raise InvalidInquiry(
            "the reply is too long", errors=[{"field": "body", "reason": "too_long"}]
        )
    case = case_of(session, inquiry)
    author = service.Author(None, inquiry.name + AUTHOR_SUFFIX)
    return service.add_comment(session, case, author, text, from_inquirer=True)


# --- e-mail to the inquirer -------------------------------------------------------------

_RECEIVED_SUBJECT = gettext_noop("We received your inquiry (%(reference)s)")
_RECEIVED_BODY = gettext_noop(
    'Dear %(name)s,\n\nThank you for your inquiry "%(subject)s". Your reference number is '
    "%(reference)s.\n\nYou can follow our replies and answer them here:\n%(url)s\n\n"
    "Please keep this link to yourself: anyone who has it can read the replies."
)
_REPLY_SUBJECT = gettext_noop("A reply to your inquiry (%(reference)s)")
_REPLY_BODY = gettext_noop(
    "Dear %(name)s,\n\nThere is a reply to your inquiry %(reference)s:\n\n%(body)s\n\n"
    "Read it and answer here:\n%(url)s"
)


def _queue(
    session: Session,
    case: Case,
    inquiry: Inquiry,
    *,
    kind: str,
    dedupe_key: str,
    subject: str,
    body: str,
) -> Notification | None:
    taken = session.scalar(select(Notification).where(Notification.dedupe_key == dedupe_key))
    if taken is not None:
        return None
    row = Notification(
        user_id=None,
        to_address=inquiry.email,
        case_id=case.id,
        kind=kind,
        subject=subject[:300],
        body=body,
        dedupe_key=dedupe_key,
    )
    session.add(row)
    session.flush()
    return row


def _say(locale: str) -> Callable[[str], str]:
    return lambda message: gettext_for(locale, message)


def notify_received(
    session: Session, case: Case, inquiry: Inquiry, *, settings: Settings | None = None
) -> Notification | None:
    """Queue the acknowledgement: the reference number and the follow-up link."""
    settings = settings or get_settings()
    say = _say(inquiry.locale)
    values = {
        "name": inquiry.name,
        "subject": case.summary,
        "reference": inquiry.reference,
        "url": follow_url(settings, inquiry),
    }
    return _queue(
        session,
        case,
        inquiry,
        kind="inquiry_received",
        dedupe_key=f"inquiry-received:{inquiry.id}",
        subject=say(_RECEIVED_SUBJECT) % values,
        body=say(_RECEIVED_BODY) % values,
    )


def notify_inquirer(
    session: Session, case: Case, comment: Comment, *, settings: Settings | None = None
) -> Notification | None:
    """Queue an e-mail to the inquirer about a staff reply marked public (once per
    comment); nothing for internal comments, the inquirer's own, or cases no inquiry
    opened."""
    if not comment.public or comment.from_inquirer or comment.case_id != case.id:
        return None
    inquiry = inquiry_of_case(session, case.id)
    if inquiry is None:
        return None
    settings = settings or get_settings()
    say = _say(inquiry.locale)
    values = {
        "name": inquiry.name,
        "reference": inquiry.reference,
        "body": comment.body,
        "url": follow_url(settings, inquiry),
    }
    return _queue(
        session,
        case,
        inquiry,
        kind="inquiry_reply",
        dedupe_key=f"inquiry-reply:{comment.id}",
        subject=say(_REPLY_SUBJECT) % values,
        body=say(_REPLY_BODY) % values,
    )


# --- spam: a sliding window per address -------------------------------------------------


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (a client address).

    Thread-safe (pages run in the thread pool); idle keys are dropped as the map grows so
    a flood of addresses cannot grow it without bound."""

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count a hit for ``key``; False (and not counted) when over the limit."""
        now = self._clock()
        horizon = now - self.window
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:
                self._prune(horizon)
            return True

    def _prune(self, horizon: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= horizon]:
            del self._hits[key]


__all__ = [
    "CONSENT_CATEGORIES",
    "CONSENT_PURPOSE",
    "FIELD_PROBLEMS",
    "InquiryForm",
    "InquiryFormNotFound",
    "InquiryNotFound",
    "InvalidInquiry",
    "RateLimiter",
    "Submitted",
    "case_of",
    "check_form",
    "follow_token",
    "follow_url",
    "inquiry_for_token",
    "inquiry_of_case",
    "new_idempotency_key",
    "notice_for",
    "notify_inquirer",
    "notify_received",
    "open_form",
    "public_comments",
    "reply",
    "status_name",
    "submit_inquiry",
]
