"""Japanese normalisation of personal identifiers before any matching.

Pure functions, no I/O: each takes the raw text of one field (or None) and returns the
canonical form, or None when the input carries no usable value.  The same person written
two ways — 髙橋/高橋, ｻﾄｳ/さとう/サトウ, オオノ/オーノ/オウノ,
０９０（１２３４）５６７８/+81 90 1234 5678, 昭和32年3月29日/S32.3.29/1957-03-29,
東京都千代田区丸の内一丁目９番２号/丸の内1-9-2 — normalises to the same value;
two different people who merely sound alike (伊藤/伊東, オオノ/オノ) do not.

What must stay true (hypothesis tests check it):

* idempotence — normalising a normalised value changes nothing;
* NFKC invariance — ``f(NFKC(x)) == f(x)``;
* totality — no input text raises; junk gives None.

They run on 100k+ rows, so tables and regular expressions are built once at import.
Libraries do what they do well: phonenumbers (E.164), jaconv (hiragana → katakana); the
variant-kanji, era and address rules they lack live in ``_kanji``, ``_era`` and
``_address``.  docs/linkage/normalisation.md lists every rule and what is not folded.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import jaconv
import phonenumbers

from tsunagu.linkage import _address
from tsunagu.linkage._era import era_date
from tsunagu.linkage._kanji import KANJI_NUMERAL_CHARS, VARIANT_TABLE, kanji_number

__all__ = [
    "COLUMNS",
    "Address",
    "nfkc",
    "normalize_address",
    "normalize_email",
    "normalize_kana",
    "normalize_name",
    "normalize_phone",
    "normalize_postal_code",
    "normalize_record",
    "normalize_sex",
    "parse_birth_date",
]

COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "postal_code",
    "address",
    "phone",
    "email",
)

_WHITESPACE_RE: Final = re.compile(r"\s+")
# Names, readings and birth dates repeat across rows (佐藤, サトウ, 1957-03-29): memoise.
_CACHE_SIZE: Final = 1 << 17
# Variation selectors (IVS U+E0100–E01EF, SVS U+FE00–FE0F) pick a glyph, not a character:
# 葛󠄀 and 葛 are the same name.  Zero-width characters come from copy and paste.
_INVISIBLE: Final[dict[int, None]] = dict.fromkeys(
    [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
)
# Name separators that are punctuation, not part of a name: 山田・太郎, ジョン･スミス
_NAME_DROP: Final[dict[int, None]] = {**_INVISIBLE, **dict.fromkeys(map(ord, "・･.,"))}
_REPEATED_KANJI_RE: Final = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff])\1")
# Honorifics copied from letters and CRM exports (山田太郎様, 山田太郎殿) are not the name.
_HONORIFIC_RE: Final = re.compile(r"(?<=.)[様殿]+$")


def _nfkc_casefold(text: str) -> str:
    """NFKC, then case folding, repeated until stable (casefold can leave non-NFKC text)."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text.lower()
    for _ in range(4):
        folded = text.casefold()
        if folded == text and unicodedata.is_normalized("NFKC", folded):
            break
        text = unicodedata.normalize("NFKC", folded)
    return text


def nfkc(text: str) -> str:
    """NFKC-normalise, strip, and collapse each internal run of whitespace to one space."""
    text = unicodedata.normalize("NFKC", text)
    return _WHITESPACE_RE.sub(" ", text).strip()


def normalize_name(text: str | None) -> str | None:
    """A name in kanji or Latin letters, canonical for comparison.

    NFKC, Latin case-folded, every space removed (U+3000 included) with ・ and dots,
    old/variant kanji folded to the standard form (髙→高, 﨑→崎, 邊→辺, 齋→斎 …) and a
    doubled kanji written with 々 (佐佐木 → 佐々木), a trailing 様/殿 dropped.  Kana is kept
    as written.
    """
    return None if text is None else _normalize_name(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _normalize_name(text: str) -> str | None:
    for _ in range(4):
        previous = text
        text = _nfkc_casefold(text).translate(VARIANT_TABLE).translate(_NAME_DROP)
        text = _WHITESPACE_RE.sub("", text)
        text = _REPEATED_KANJI_RE.sub(r"\1々", _HONORIFIC_RE.sub("", text))
        if text == previous:
            break
    return text or None


# Reading (furigana) rules, applied in this order.
_VU_PAIRS: Final[tuple[tuple[str, str], ...]] = (
    ("ヴァ", "バ"),
    ("ヴィ", "ビ"),
    ("ヴェ", "ベ"),
    ("ヴォ", "ボ"),
    ("ヴュ", "ビュ"),
    ("ヴ", "ブ"),
)
_VU_RE: Final = re.compile("|".join(p for p, _ in _VU_PAIRS))
_VU_MAP: Final[dict[str, str]] = dict(_VU_PAIRS)
_KANA_TABLE: Final[dict[int, str | None]] = {
    **{
        ord(k): v
        for k, v in zip("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ", strict=True)
    },
    **{ord(k): v for k, v in zip("ヂヅヰヱヲヷヸヹヺ", "ジズイエオバビベボ", strict=True)},
    # dashes typed for the long-vowel mark (サト− for サトー)
    **dict.fromkeys(map(ord, "-‐‑‒–—―−〜～~"), "ー"),
    **dict.fromkeys(map(ord, "・･.,"), None),
    **_INVISIBLE,
}
_VOWEL: Final[dict[str, str]] = {}
for _vowel, _row in (
    ("a", "アカサタナハマヤラワガザダバパ"),
    ("i", "イキシチニヒミリギジヂビピ"),
    ("u", "ウクスツヌフムユルグズヅブプ"),
    ("e", "エケセテネヘメレゲゼデベペ"),
    ("o", "オコソトノホモヨロヲゴゾドボポ"),
):
    for _kana in _row:
        _VOWEL[_kana] = _vowel
# Which kana lengthen the vowel before them: オオ/オウ/オー → オー, ユウ → ユー, ケイ → ケー.
_LENGTHENERS: Final[dict[str, str]] = {"a": "ア", "i": "イ", "u": "ウ", "e": "エイ", "o": "オウ"}


def _fold_long_vowels(text: str) -> str:
    """Write every lengthened vowel as ー (オオタ/オウタ/オータ/オーータ → オータ)."""
    out: list[str] = []
    vowel: str | None = None
    for ch in text:
        if ch == "ー" and out and out[-1] == "ー":
            continue  # ーー is one long vowel
        if vowel is not None and (ch == "ー" or ch in _LENGTHENERS[vowel]):
            out.append("ー")
            # one lengthening per syllable: the next vowel starts a syllable of its own,
            # so オオウチ (大内) stays apart from オオチ and ケイイチ from ケイチ
            vowel = None
            continue
        out.append(ch)
        vowel = _VOWEL.get(ch)
    return "".join(out)


def normalize_kana(text: str | None) -> str | None:
    """A reading (フリガナ), canonical for comparison.

    Hiragana and half-width kana become full-width katakana; spaces and ・ go; small kana
    become large (ァ→ア, ッ→ツ, ャ→ヤ); ヴ/ヂ/ヅ/ヰ/ヱ/ヲ fold to the common kana (ヴァ→バ,
    ヂ→ジ, ヅ→ズ, ヲ→オ); a lengthened vowel — ー, a dash typed for it, or a repeated
    vowel (オオ, オウ, ユウ, エイ) — is written ー once.  Latin (romaji) is case-folded.
    """
    return None if text is None else _normalize_kana(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _normalize_kana(text: str) -> str | None:
    for _ in range(4):
        previous = text
        text = jaconv.hira2kata(_nfkc_casefold(text))
        text = _WHITESPACE_RE.sub("", text)
        text = _VU_RE.sub(lambda m: _VU_MAP[m.group(0)], text)
        text = text.translate(_KANA_TABLE)
        text = _fold_long_vowels(text)
        if text == previous:
            break
    return text or None


_PHONE_KEEP_RE: Final = re.compile(r"[^0-9+]")
_INTERNATIONAL_PREFIX_RE: Final = re.compile(r"^(?:00|010)(?=[1-9])")


@lru_cache(maxsize=65_536)
def _e164(digits: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(text: str | None, region: str = "JP") -> str | None:
    """A telephone number in E.164 (``+819012345678``), or None when it is not valid.

    Width, brackets, dashes and spaces do not matter; ``+81 (0)90…`` and ``0081…`` are
    understood; validity (length, number ranges) is phonenumbers' for ``region``.
    """
    if text is None:
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    plus = text.startswith("+")
    digits = _PHONE_KEEP_RE.sub("", text).replace("+", "")
    if not 6 <= len(digits) <= 17:
        return None
    digits = "+" + digits if plus else _INTERNATIONAL_PREFIX_RE.sub("+", digits)
    return _e164(digits, region)


# Local part: RFC 5322 atoms, dots anywhere (old Japanese carrier addresses such as
# taro..yamada.@docomo.ne.jp exist and still receive mail).  Domain: dotted labels.
_EMAIL_RE: Final = re.compile(
    r"(?P<local>[^\s@\"(),:;<>\[\]\\]{1,64})"
    r"@(?P<domain>(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_][\w-]*[^\W_])"
)


def normalize_email(text: str | None) -> str | None:
    """An e-mail address, trimmed, NFKC and lower-cased — local part included — or None.

    The local part is case-sensitive by RFC 5321, but no provider a Japanese customer uses
    treats it so, and the same person types ``Taro@`` and ``taro@``; folding it finds
    them.  Provider-specific aliases (Gmail dots and ``+tag``) are *not* folded.
    """
    if text is None:
        return None
    text = _nfkc_casefold(text).strip()
    if text.startswith("mailto:"):
        text = text[len("mailto:") :]
    match = _EMAIL_RE.fullmatch(text)
    return text if match else None


_POSTAL_RE: Final = re.compile(r"(?:〒|郵便番号:?)?([0-9]{3})[-‐‑–—―−ー]?([0-9]{4})")


def normalize_postal_code(text: str | None) -> str | None:
    """A Japanese postal code as 7 ASCII digits (``〒100-0001`` → ``1000001``), or None."""
    if text is None:
        return None
    text = _WHITESPACE_RE.sub("", unicodedata.normalize("NFKC", text))
    match = _POSTAL_RE.fullmatch(text)
    return match[1] + match[2] if match else None


_DATE_DROP_RE: Final = re.compile(r"\s+|^西暦|生まれ$|生$")
_KANJI_RUN_RE: Final = re.compile(f"[{KANJI_NUMERAL_CHARS}]+")
_WESTERN_RE: Final = re.compile(
    r"(?P<y>[0-9]{4})(?:年|[-/.])(?P<m>[0-9]{1,2})(?:月|[-/.])(?P<d>[0-9]{1,2})日?"
    r"(?:T?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
    r"|(?P<y8>[0-9]{4})(?P<m8>[0-9]{2})(?P<d8>[0-9]{2})"
)
_ERA_RE: Final = re.compile(
    r"(?P<era>明治|大正|昭和|平成|令和|[明大昭平令MTSHRmtshr])\.?"
    r"(?P<y>元|[0-9]{1,2})(?:年|[-/.])(?P<m>[0-9]{1,2})(?:月|[-/.])(?P<d>[0-9]{1,2})日?"
    r"|(?P<era7>[1-5MTSHRmtshr])(?P<y7>[0-9]{2})(?P<m7>[0-9]{2})(?P<d7>[0-9]{2})"
)
_EARLIEST_YEAR: Final = 1800
_LATEST_YEAR: Final = 2199


def _kanji_run_to_digits(match: re.Match[str]) -> str:
    value = kanji_number(match.group(0))
    return match.group(0) if value is None else str(value)


def parse_birth_date(text: str | None) -> dt.date | None:
    """A birth date from Western or Japanese-era text, or None.

    Western: ``1957-03-29``, ``19570329``, ``1957/3/29``, ``1957.3.29``, ``1957年3月29日``
    (a trailing time of day from a spreadsheet export is ignored).  Era: ``昭和32年3月29日``,
    ``S32.3.29``, ``S32/03/29``, ``昭32.3.29``, ``昭和三十二年三月二十九日``, ``平成元年1月8日``,
    7-digit codes ``S320329`` / ``3320329`` (1 明治 … 5 令和).  Years outside 1800–2199, dates
    that do not exist, and era dates before the era began give None.
    """
    return None if text is None else _parse_birth_date(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_birth_date(text: str) -> dt.date | None:
    text = _DATE_DROP_RE.sub("", unicodedata.normalize("NFKC", text))
    if not text:
        return None
    if not text.isascii():
        text = _KANJI_RUN_RE.sub(_kanji_run_to_digits, text)
    match = _WESTERN_RE.fullmatch(text)
    if match:
        year, month, day = (
            (match["y"], match["m"], match["d"])
            if match["y"]
            else (match["y8"], match["m8"], match["d8"])
        )
        try:
            date = dt.date(int(year), int(month), int(day))
        except ValueError:
            return None
        return date if _EARLIEST_YEAR <= date.year <= _LATEST_YEAR else None
    match = _ERA_RE.fullmatch(text)
    if match is None:
        return None
    if match["era"]:
        year_text = match["y"]
        era_year = 1 if year_text == "元" else int(year_text)
        return era_date(match["era"], era_year, int(match["m"]), int(match["d"]))
    return era_date(match["era7"], int(match["y7"]), int(match["m7"]), int(match["d7"]))


_SEX: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "m",
            "male",
            "man",
            "男",
            "男性",
            "男子",
            "おとこ",
            "オトコ",
            "だんせい",
            "ダンセイ",
            "1",
            "♂",
        ),
        "m",
    ),
    **dict.fromkeys(
        (
            "f",
            "female",
            "woman",
            "女",
            "女性",
            "女子",
            "おんな",
            "オンナ",
            "じょせい",
            "ジョセイ",
            "2",
            "♀",
        ),
        "f",
    ),
}


def normalize_sex(text: str | None) -> str | None:
    """``"m"`` / ``"f"`` from 男/男性/M/male/1 or 女/女性/F/female/2 (ISO/IEC 5218), else None.

    Unknown, not applicable (0, 9) and anything else give None: linkage then treats the
    field as missing rather than as a disagreement.
    """
    if text is None:
        return None
    return _SEX.get(_WHITESPACE_RE.sub("", _nfkc_casefold(text)))


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed address: prefecture and municipality when found, the rest, and the key.

    ``key`` is the one string to compare: prefecture + municipality + block part in hyphen
    form with the building and room kept (東京都千代田区丸の内1-9-2).
    """

    prefecture: str | None
    city: str | None
    rest: str
    key: str


# 〒 carries nothing once the code after it is gone (strip_prefixes removes a leading one).
_ADDRESS_DROP: Final[dict[int, None]] = {**_INVISIBLE, ord("〒"): None}


def _compact(text: str) -> str:
    """NFKC, case-folded, variant kanji folded, no whitespace or invisible characters."""
    for _ in range(4):
        text = _nfkc_casefold(text).translate(VARIANT_TABLE).translate(_ADDRESS_DROP)
        text = _WHITESPACE_RE.sub("", text)
        # removing a space NFKC made (¨ → " ̈") can leave a combining mark to compose
        if text.isascii() or unicodedata.is_normalized("NFKC", text):
            break
    return text


def _address_once(text: str) -> Address | None:
    text = _address.strip_prefixes(_compact(text))
    prefecture, city, rest = _address.split(text)
    rest = _address.block_key(rest)
    if not rest.isascii() and not unicodedata.is_normalized("NFKC", rest):
        rest = unicodedata.normalize("NFKC", rest)  # a dropped dash let a mark compose
    key = (prefecture or "") + (city or "") + rest
    return Address(prefecture, city, rest, key) if key else None


def normalize_address(text: str | None) -> Address | None:
    """A Japanese address split into prefecture / municipality / rest, with its key.

    NFKC, variant kanji folded, spaces removed, leading 〒 code and 日本 dropped; the
    prefecture (inferred from a designated city or a Tokyo ward when missing) and the
    municipality (横浜市港北区, 余市郡余市町, 千代田区) split off; 大字/字 markers dropped;
    kanji block numbers made arabic; 丁目・番地・番・号 and every dash variant written
    ``1-2-3``.  Empty text gives None.
    """
    if text is None:
        return None
    address = _address_once(text)
    for _ in range(3):
        if address is None:
            return None
        again = _address_once(address.key)
        if again is None or again.key == address.key:
            return again
        address = again
    return address


def _joined(first: str | None, second: str | None) -> str | None:
    if first is None and second is None:
        return None
    return (first or "") + (second or "")


def normalize_record(row: Mapping[str, str | None]) -> dict[str, str | None]:
    """One person row of the issue's columns, normalised field by field.

    Every column of ``COLUMNS`` is in the result (None when missing or unusable), the
    birth date as ISO ``YYYY-MM-DD``, the address NFKC-cleaned, plus ``full_name``,
    ``full_name_kana``, ``prefecture``, ``city`` and ``address_key``.  Unknown columns are
    dropped; ``id`` is only stripped.
    """
    raw_id = row.get("id")
    birth = parse_birth_date(row.get("birth_date"))
    raw_address = row.get("address")
    address = normalize_address(raw_address)
    family = normalize_name(row.get("family_name"))
    given = normalize_name(row.get("given_name"))
    family_kana = normalize_kana(row.get("family_name_kana"))
    given_kana = normalize_kana(row.get("given_name_kana"))
    return {
        "id": raw_id.strip() if raw_id is not None else None,
        "family_name": family,
        "given_name": given,
        "family_name_kana": family_kana,
        "given_name_kana": given_kana,
        "birth_date": birth.isoformat() if birth else None,
        "sex": normalize_sex(row.get("sex")),
        "postal_code": normalize_postal_code(row.get("postal_code")),
        "address": (nfkc(raw_address) or None) if raw_address is not None else None,
        "phone": normalize_phone(row.get("phone")),
        "email": normalize_email(row.get("email")),
        "full_name": _joined(family, given),
        "full_name_kana": _joined(family_kana, given_kana),
        "prefecture": address.prefecture if address else None,
        "city": address.city if address else None,
        "address_key": address.key if address else None,
    }
