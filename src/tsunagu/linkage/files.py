"""Reading the customer files that ``tsunagu linkage link`` links: CSV bytes in, a typed table out.

A file is one person per row with a header.  Its columns are recognised by header name among
the issue's eleven (``id, family_name, given_name, family_name_kana, given_name_kana,
birth_date, sex, postal_code, address, phone, email``) or a few Japanese aliases (``姓``,
``セイ``, ``生年月日`` …), compared after NFKC, trimming and case folding, so ``ＩＤ``,
`` Email `` and a header behind a byte order mark all count.  Unknown columns are ignored;
missing ones are allowed except ``id``, which must be present, filled and unique.

Encodings: UTF-8 with or without BOM, else CP932 (what Excel for Japanese Windows writes),
detected by ``tsunagu.core.imports.decode`` like every other import of the project.

Every problem is a ``LinkageFileError`` whose one-line message names the file and says what
to fix; nothing is half read.  The result is a ``pyarrow.Table`` of strings (blank cells are
nulls), one column per recognised field, in ``COLUMNS`` order: pyarrow is a runtime
dependency (pandas is not), and DuckDB and Splink read it without a copy.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter
from pathlib import Path

import pyarrow as pa

from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.imports import decode
from tsunagu.linkage import normalize

__all__ = ["COLUMNS", "LinkageFileError", "read_people_csv"]

#: the columns a customer file may carry, in this order (the issue's contract)
COLUMNS = normalize.COLUMNS

#: header names that also mean a field (Japanese spreadsheets)
_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("ID", "顧客ID", "会員ID", "顧客番号", "会員番号"),
    "family_name": ("姓", "氏", "surname", "last_name"),
    "given_name": ("名", "first_name"),
    "family_name_kana": ("セイ", "姓カナ", "せい", "姓（カナ）"),
    "given_name_kana": ("メイ", "名カナ", "めい", "名（カナ）"),
    "birth_date": ("生年月日", "date_of_birth", "dob"),
    "sex": ("性別", "gender"),
    "postal_code": ("郵便番号", "postcode", "zip"),
    "address": ("住所",),
    "phone": ("電話番号", "電話", "tel"),
    "email": ("メールアドレス", "メール", "e-mail", "mail"),
}


class LinkageFileError(InvalidInput):
    """A customer file that cannot be linked as it is (missing, empty, undecodable, no ids …)."""

    code = "linkage_file"
    title = "Unusable customer file"


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name.replace("\ufeff", "")).strip().casefold()


_LOOKUP: dict[str, str] = {}
for _field in COLUMNS:
    for _name in (_field, *_ALIASES.get(_field, ())):
        _LOOKUP.setdefault(_key(_name), _field)


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise LinkageFileError(f"{path}: no such file")
    if path.is_dir():
        raise LinkageFileError(f"{path}: is a folder, not a CSV file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LinkageFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _decode(path: Path, data: bytes) -> str:
    if not data.strip():
        raise LinkageFileError(f"{path}: the file is empty; expected a CSV with a header row")
    if b"\x00" in data:
        raise LinkageFileError(
            f"{path}: not a CSV text file (it holds NUL bytes: a spreadsheet, UTF-16 or binary "
            "file?); save it as CSV UTF-8"
        )
    try:
        text, _encoding = decode(data)
    except AppError as exc:
        raise LinkageFileError(f"{path}: {exc.message}") from None
    return text


def _parse(path: Path, text: str) -> list[list[str]]:
    try:
        rows = [
            row for row in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in row)
        ]
    except csv.Error as exc:
        raise LinkageFileError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise LinkageFileError(f"{path}: the file is empty; expected a CSV with a header row")
    return rows


def _header(path: Path, header: list[str]) -> dict[str, int]:
    slots: dict[str, int] = {}
    for index, name in enumerate(header):
        field = _LOOKUP.get(_key(name))
        if field is None:
            continue
        if field in slots:
            raise LinkageFileError(
                f"{path}: two columns mean {field!r} ({header[slots[field]]!r} and {name!r}); "
                "keep one"
            )
        slots[field] = index
    if "id" not in slots:
        raise LinkageFileError(
            f"{path}: no 'id' column; the header must name an id column and any of "
            + ", ".join(COLUMNS[1:])
        )
    return slots


def read_people_csv(path: Path) -> pa.Table:
    """The persons of the CSV file at ``path``: one string column per recognised field.

    Raises ``LinkageFileError`` (one line naming the file) for a missing, empty, binary or
    undecodable file, a header without ``id``, a blank id or an id used twice.
    """
    path = Path(path)
    rows = _parse(path, _decode(path, _read_bytes(path)))
    slots = _header(path, rows[0])
    records = rows[1:]
    if not records:
        raise LinkageFileError(f"{path}: the header has no records under it")
    columns: dict[str, list[str | None]] = {}
    for field in COLUMNS:
        if field not in slots:
            continue
        index = slots[field]
        values = [row[index].strip() if index < len(row) else "" for row in records]
        columns[field] = [value or None for value in values]
    ids = columns["id"]
    if None in ids:
        row = ids.index(None) + 2
        raise LinkageFileError(f"{path}: row {row} has no id; every record needs one")
    repeated = [value for value, count in Counter(ids).items() if count > 1]
    if repeated:
        raise LinkageFileError(
            f"{path}: ids must be unique; {len(repeated)} repeat, e.g. {repeated[0]!r}"
        )
    return pa.table(
        {field: pa.array(values, type=pa.string()) for field, values in columns.items()}
    )
