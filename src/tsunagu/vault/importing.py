"""Bulk import of vault records from CSV, through the foundation's import core.

One row is one record about a person the organization already knows under its own
customer number (a ``PersonLink`` ref).  The columns:

- ``ref`` (顧客番号, 会員番号, 顧客ID) — required; must be a ref of *this* organization,
  otherwise a row error that never says whether the person exists elsewhere;
- ``category`` (区分, カテゴリ, データ区分) — required; a code of the vocabulary;
- ``collected_at`` (取得日時, 取得日, 収集日時) — optional; ISO 8601 or ``2026/4/1 10:00``,
  a time without a zone is Japan time, a date alone is midnight in Japan; never in the
  future;
- the payload, either as a ``payload`` (内容, データ) column holding a JSON object, or as
  ``field:<name>`` (``項目:<name>``) columns — one payload key per column, blank cells
  left out.  A row gives one form or the other, not both.

All or nothing (``core.imports.run_import``): every row is checked first — row, column
and reason for each problem — and only then sealed and stored with
``service.create_records`` (``source_kind="import"``) in the caller's transaction.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.core.clock import TOKYO, utcnow
from tsunagu.core.imports import (
    DEFAULT_MAX_BYTES,
    Column,
    ImportResult,
    ProgressCallback,
    RowError,
    ValidRow,
    decode,
    run_import,
)
from tsunagu.identity.models import Organization, PersonLink
from tsunagu.vault.service import MAX_PAYLOAD_BYTES, NewRecord, Vault, create_records

#: header prefixes of payload columns (``field:email`` → payload key ``email``)
FIELD_PREFIXES = ("field:", "項目:")
_LOOKUP_CHUNK = 900
_DATE_TIME = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


# --- converters ------------------------------------------------------------------------


def to_collected_at(text: str) -> datetime:
    """A time of collection: ISO 8601 with or without zone, or ``2026/4/1 10:00``."""
    value = text if text.isascii() else unicodedata.normalize("NFKC", text)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        m = _DATE_TIME.fullmatch(value.strip())
        if m is None:
            raise ValueError(
                f"{text!r} is not a date or time like 2026-04-01T10:00+09:00"
            ) from None
        try:
            parsed = datetime(
                int(m[1]),
                int(m[2]),
                int(m[3]),
                int(m[4] or 0),
                int(m[5] or 0),
                int(m[6] or 0),
                tzinfo=TOKYO,
            )
        except ValueError:
            raise ValueError(f"{text!r} is not a time in the calendar") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TOKYO)
    if parsed > utcnow():
        raise ValueError(f"{text!r} lies in the future")
    return parsed


def to_payload(text: str) -> dict[str, Any]:
    """A JSON object (the record's payload)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValueError("is not valid JSON") from None
    if not isinstance(value, dict) or not value:
        raise ValueError("must be a non-empty JSON object")
    return value


def _category(known: set[str]) -> Any:
    def convert(text: str) -> str:
        value = text.strip().lower()
        if value not in known:
            raise ValueError(f"{text!r} is not a known data category")
        return value

    return convert


def _field_key(header: str) -> str | None:
    name = unicodedata.normalize("NFKC", header).strip()
    for prefix in FIELD_PREFIXES:
        if name.casefold().startswith(unicodedata.normalize("NFKC", prefix)):
            key = name[len(prefix) :].strip()
            return key or None
    return None


def _payload_fields(data: bytes, encoding: str | None) -> list[tuple[str, str]]:
    """``(column field, payload key)`` for the ``field:`` columns of the file's header."""
    text, _codec = decode(data, encoding)
    for row in csv.reader(io.StringIO(text, newline="")):
        if any(cell.strip() for cell in row):
            out: list[tuple[str, str]] = []
            for cell in row:
                key = _field_key(cell)
                if key is not None:
                    out.append((cell.strip(), key))
            return out
        continue
    return []


def record_columns(
    known_categories: set[str], payload_fields: Iterable[tuple[str, str]] = ()
) -> tuple[Column, ...]:
    """The columns a record file may have (``payload_fields`` from its header)."""
    base = (
        Column(
            "ref",
            required=True,
            max_length=100,
            aliases=("顧客番号", "会員番号", "顧客ID", "顧客id", "お客様番号", "customer_number"),
        ),
        Column(
            "category",
            _category(known_categories),
            required=True,
            aliases=("区分", "カテゴリ", "カテゴリー", "データ区分", "種別"),
        ),
        Column(
            "collected_at",
            to_collected_at,
            aliases=("取得日時", "取得日", "収集日時", "収集日"),
        ),
        Column("payload", to_payload, aliases=("内容", "データ", "ペイロード")),
    )
    extra = tuple(Column(name, max_length=10_000) for name, _key in payload_fields)
    return base + extra


def _person_ids(session: Session, organization_id: uuid.UUID, refs: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(refs), _LOOKUP_CHUNK):
        chunk = refs[start : start + _LOOKUP_CHUNK]
        found.update(
            session.execute(
                select(PersonLink.ref, PersonLink.person_id).where(
                    PersonLink.organization_id == organization_id, PersonLink.ref.in_(chunk)
                )
            ).all()
        )
    return found


def import_records(
    session: Session,
    vault: Vault,
    organization: Organization,
    data: bytes,
    *,
    actor: str,
    legal_basis: str = "consent",
    encoding: str | None = None,
    mapping: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImportResult:
    """Store one record per row of the CSV ``data`` for ``organization`` — all, or none."""
    fields = _payload_fields(data, encoding) if data.strip() and b"\x00" not in data else []
    keys = dict(fields)
    columns = record_columns(set(consent_service.category_map(session)), fields)
    persons: dict[str, Any] = {}

    def payload_of(values: Mapping[str, Any]) -> dict[str, Any] | None:
        if values.get("payload") is not None:
            return dict(values["payload"])
        built = {keys[f]: values[f] for f in keys if values.get(f) is not None}
        return built or None

    def check(rows: list[ValidRow]) -> Iterable[RowError]:
        refs = sorted({values["ref"] for _, values in rows})
        persons.update(_person_ids(session, organization.id, refs))
        for number, values in rows:
            if values["ref"] not in persons:
                yield RowError(number, "ref", "no person has this customer number here")
            has_fields = any(values.get(f) is not None for f in keys)
            if values.get("payload") is not None and has_fields:
                yield RowError(
                    number, "payload", "give the payload as JSON or as field: columns, not both"
                )
                continue
            payload = payload_of(values)
            if payload is None:
                yield RowError(number, "payload", "the record has no payload")
            elif len(orjson.dumps(payload)) > MAX_PAYLOAD_BYTES:
                yield RowError(
                    number, "payload", f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes"
                )

    def write(batch: list[dict[str, Any]]) -> None:
        records = []
        for values in batch:
            payload = payload_of(values)
            assert payload is not None  # noqa: S101 - check() refused rows without one
            records.append(
                NewRecord(
                    person_id=persons[values["ref"]],
                    category=values["category"],
                    payload=payload,
                    collected_at=values.get("collected_at"),
                )
            )
        create_records(
            session,
            vault,
            records,
            source=organization,
            source_kind="import",
            actor=actor,
            legal_basis=legal_basis,
        )

    return run_import(
        data,
        columns,
        write,
        check=check,
        encoding=encoding,
        mapping=mapping,
        progress=progress,
        max_bytes=max_bytes,
        batch_size=2_000,
    )


__all__ = ["FIELD_PREFIXES", "import_records", "record_columns", "to_collected_at", "to_payload"]
