"""Bulk import of identity data from CSV: persons (operators only) and staff (per tenant).

Both go through ``tsunagu.core.imports``: every row is checked first, then the rows are
written with one Core ``insert()`` executemany per batch — never ORM objects row by row —
in the caller's transaction.  A file with one bad row writes nothing.

- ``import_persons`` — persons are global (not owned by an organization), so only an
  operator imports them (the ``tsunagu person import`` command); no organization is involved.
- ``import_staff`` — staff of one organization.  As in ``create_staff_user``, an e-mail
  already registered as staff is refused (a row error), so no organization can pull
  another's staff into itself; only an operator may let existing staff join
  (``join_existing``).  Imported staff get no password (an unusable hash: they set one
  through a reset before they can sign in).  Nothing another tenant owns is changed, and
  errors never say which organization someone belongs to.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from tsunagu.core.clock import TOKYO, utcnow
from tsunagu.core.crypto import random_token
from tsunagu.core.ids import new_id
from tsunagu.core.imports import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_BYTES,
    Column,
    ImportResult,
    ProgressCallback,
    RowError,
    ValidRow,
    bulk_ids,
    insert_rows,
    one_of,
    run_import,
)
from tsunagu.identity.models import Membership, Organization, Person, StaffUser
from tsunagu.identity.service import ROLE_RANK

#: how many values one ``IN (…)`` lookup carries (below every backend's parameter limit)
_LOOKUP_CHUNK = 900
#: prefix of the password hash of staff imported without a password; never a valid hash
UNUSABLE_PASSWORD_PREFIX = "!unusable:"  # noqa: S105 - a marker, not a secret

# --- converters: plain functions, one per column, raising ValueError(reason) -----------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_POSTAL = re.compile(r"(\d{3})-?(\d{4})")
_PHONE_CHARS = re.compile(r"[\s\-()]")
#: what people type for a hyphen in Japanese text (after NFKC): minus, dashes, the long vowel
_DASHES = re.compile(r"[\u2010-\u2015\u2212\u30fc\uff70]")
_PHONE = re.compile(r"\+?\d{10,15}")
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
#: katakana after NFKC (half-width → full-width), the long vowel mark, middle dot, spaces
_KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc\u30fb\u30fd\u30fe 　]+")
_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(0x3041, 0x3097)} | {
    0x309D: 0x30FD,
    0x309E: 0x30FE,
}


def to_email(text: str) -> str:
    """An e-mail address, compared and stored in lower case."""
    value = (text if text.isascii() else unicodedata.normalize("NFKC", text).strip()).lower()
    if len(value) > 320 or not _EMAIL.fullmatch(value):
        raise ValueError(f"{text!r} is not an e-mail address")
    return value


def to_kana(text: str) -> str:
    """Reading in katakana: hiragana and half-width katakana become katakana, and a
    full-width space an ASCII one (as NFKC makes it)."""
    if _KATAKANA.fullmatch(text):  # already full-width katakana: the usual case
        value = text.replace("\u3000", " ")
    else:
        value = unicodedata.normalize("NFKC", text).translate(_HIRAGANA_TO_KATAKANA)
    if not _KATAKANA.fullmatch(value):
        raise ValueError(f"{text!r} must be written in katakana or hiragana")
    if len(value) > 100:
        raise ValueError("is longer than 100 characters")
    return value


def to_postal_code(text: str) -> str:
    """A Japanese postal code, 123-4567 or 1234567, stored as 123-4567."""
    value = text if text.isascii() else unicodedata.normalize("NFKC", text)
    m = _POSTAL.fullmatch(_DASHES.sub("-", value))
    if m is None:
        raise ValueError(f"{text!r} is not a postal code like 123-4567")
    return f"{m[1]}-{m[2]}"


def to_phone(text: str) -> str:
    """A telephone number with 10 to 15 digits (hyphens, spaces and brackets allowed)."""
    value = text if text.isascii() else _DASHES.sub("-", unicodedata.normalize("NFKC", text))
    if not _PHONE.fullmatch(_PHONE_CHARS.sub("", value)) or len(value) > 32:
        raise ValueError(f"{text!r} is not a telephone number")
    return value


def to_date(text: str) -> date:
    """A date as 1957-03-29 or 1957/3/29."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass  # the pattern below gives the reason
    m = _DATE.fullmatch(text if text.isascii() else unicodedata.normalize("NFKC", text))
    if m is None:
        raise ValueError(f"{text!r} is not a date like 1957-03-29 or 1957/3/29")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"{text!r} is not a date in the calendar") from None


def _birth_date(today: date) -> Any:
    def convert(text: str) -> date:
        value = to_date(text)
        if value > today or value.year < 1880:
            raise ValueError(f"{text!r} is not a possible birth date")
        return value

    return convert


# --- persons -----------------------------------------------------------------------------


def person_columns(today: date | None = None) -> tuple[Column, ...]:
    """The columns a person file may have, with the Japanese headers Excel users write."""
    today = today or utcnow().astimezone(TOKYO).date()
    return (
        Column("family_name", required=True, max_length=100, aliases=("姓", "氏", "名字", "苗字")),
        Column("given_name", required=True, max_length=100, aliases=("名", "下の名前")),
        Column(
            "family_name_kana",
            to_kana,
            aliases=("セイ", "せい", "姓カナ", "姓(カナ)", "姓(フリガナ)", "フリガナ(姓)"),
        ),
        Column(
            "given_name_kana",
            to_kana,
            aliases=("メイ", "めい", "名カナ", "名(カナ)", "名(フリガナ)", "フリガナ(名)"),
        ),
        Column(
            "email",
            to_email,
            unique=True,
            aliases=("メール", "メールアドレス", "Eメール", "e-mail", "mail"),
        ),
        Column("phone", to_phone, aliases=("電話", "電話番号", "TEL", "携帯電話", "携帯電話番号")),
        Column("postal_code", to_postal_code, aliases=("郵便番号", "〒")),
        Column("address", aliases=("住所",), max_length=400),
        Column("birth_date", _birth_date(today), aliases=("生年月日", "誕生日")),
    )


def _chunks(values: Sequence[Any], size: int = _LOOKUP_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _existing_person_emails(session: Session, emails: Sequence[str]) -> set[str]:
    """Which of ``emails`` belong to a person already.

    When the table holds fewer e-mails than the file, reading them all is one query; else
    they are looked up in chunks.
    """
    known = session.scalar(select(func.count(Person.email))) or 0
    if known == 0:
        return set()
    if known <= len(emails):
        wanted = set(emails)
        return {
            e
            for e in session.scalars(select(Person.email).where(Person.email.is_not(None)))
            if e in wanted
        }
    found: set[str] = set()
    for chunk in _chunks(emails):
        found.update(
            e for e in session.scalars(select(Person.email).where(Person.email.in_(chunk))) if e
        )
    return found


def _person_table() -> Table:
    return cast(Table, Person.__table__)


def import_persons(
    session: Session,
    data: bytes,
    *,
    encoding: str | None = None,
    mapping: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImportResult:
    """Create one person per row of the CSV ``data`` — all of them, or none.

    An e-mail may appear once in the file and must not belong to a person already.
    Operators only: persons belong to no organization.
    """

    def check(rows: list[ValidRow]) -> Iterable[RowError]:
        emails = [values["email"] for _, values in rows if values.get("email")]
        if not emails:
            return
        taken = _existing_person_emails(session, emails)
        for number, values in rows:
            if values.get("email") in taken:
                yield RowError(number, "email", "a person with this e-mail already exists")

    table = _person_table()
    now = utcnow()

    def write(batch: list[dict[str, Any]]) -> None:
        for values, person_id in zip(batch, bulk_ids(len(batch)), strict=True):
            values["id"] = person_id
            values["created_at"] = now
        insert_rows(session, table, batch)

    return run_import(
        data,
        person_columns(),
        write,
        check=check,
        encoding=encoding,
        mapping=mapping,
        progress=progress,
        batch_size=batch_size,
        max_bytes=max_bytes,
    )


# --- staff -------------------------------------------------------------------------------

STAFF_COLUMNS = (
    Column("email", to_email, required=True, unique=True, aliases=("メール", "メールアドレス")),
    Column("display_name", aliases=("氏名", "名前", "表示名"), max_length=200),
    Column(
        "role",
        one_of("owner", "admin", "member", "viewer"),
        aliases=("役割", "権限", "ロール"),
    ),
)


def unusable_password_hash() -> str:
    """A password hash no password matches (``verify_password`` refuses it)."""
    return UNUSABLE_PASSWORD_PREFIX + random_token(16)


def import_staff(
    session: Session,
    organization: Organization,
    data: bytes,
    *,
    max_role: str = "owner",
    join_existing: bool = False,
    encoding: str | None = None,
    mapping: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImportResult:
    """Add one staff member to ``organization`` per row — all of them, or none.

    ``role`` defaults to member and may not exceed ``max_role`` (an admin API key cannot
    make owners).  New e-mails become staff users without a password.  An e-mail already
    registered as staff is a row error, unless ``join_existing`` (operators only) lets it
    join this organization; a member of it already is a row error either way.
    """
    ceiling = ROLE_RANK[max_role]
    known: dict[str, uuid.UUID] = {}

    def check(rows: list[ValidRow]) -> Iterable[RowError]:
        emails = [values["email"] for _, values in rows]
        members: set[uuid.UUID] = set()
        for chunk in _chunks(emails):
            known.update(
                (email, user_id)
                for email, user_id in session.execute(
                    select(StaffUser.email, StaffUser.id).where(StaffUser.email.in_(chunk))
                )
            )
        ids = list(known.values())
        for chunk in _chunks(ids):
            members.update(
                session.scalars(
                    select(Membership.user_id).where(
                        Membership.organization_id == organization.id,
                        Membership.user_id.in_(chunk),
                    )
                )
            )
        for number, values in rows:
            role = values.get("role") or "member"
            if ROLE_RANK[role] > ceiling:
                yield RowError(number, "role", f"you may give at most the {max_role} role")
            user_id = known.get(values["email"])
            if user_id is None:
                continue
            if user_id in members:
                yield RowError(number, "email", "is already a member of this organization")
            elif not join_existing:
                yield RowError(number, "email", "is already registered as a staff account")

    users = cast(Table, StaffUser.__table__)
    memberships = cast(Table, Membership.__table__)
    now = utcnow()

    def write(batch: list[dict[str, Any]]) -> None:
        new_users: list[dict[str, Any]] = []
        new_memberships: list[dict[str, Any]] = []
        for values in batch:
            email = values["email"]
            user_id = known.get(email)
            if user_id is None:
                user_id = new_id()
                new_users.append(
                    {
                        "id": user_id,
                        "email": email,
                        "display_name": values.get("display_name") or email.split("@", 1)[0],
                        "password_hash": unusable_password_hash(),
                        "locale": None,
                        "is_active": True,
                        "created_at": now,
                    }
                )
            new_memberships.append(
                {
                    "id": new_id(),
                    "organization_id": organization.id,
                    "user_id": user_id,
                    "role": values.get("role") or "member",
                    "created_at": now,
                }
            )
        insert_rows(session, users, new_users)
        insert_rows(session, memberships, new_memberships)

    return run_import(
        data,
        STAFF_COLUMNS,
        write,
        check=check,
        encoding=encoding,
        mapping=mapping,
        progress=progress,
        max_bytes=max_bytes,
    )


__all__ = [
    "STAFF_COLUMNS",
    "import_persons",
    "import_staff",
    "person_columns",
    "to_date",
    "to_email",
    "to_kana",
    "to_phone",
    "to_postal_code",
    "unusable_password_hash",
]
