"""Invariants of the normalisers on arbitrary text: idempotent, NFKC-invariant, total."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.linkage.normalize import (
    COLUMNS,
    normalize_address,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_record,
    normalize_sex,
    parse_birth_date,
)

# Text biased towards what shows up in Japanese files: kana of both widths, kanji including
# variant forms and numerals, digits of both widths, dashes, spaces, markers — plus anything.
_JAPANESE = (
    "あいうえおかきくけこさしすせそがぎぐげごぁぃぅぇぉっゃゅょゔ"
    "アイウエオカキクケコサシスセソガギグゲゴァィゥェォッャュョヴヂヅヲヰヱーｰｱｲｳｶﾞﾊﾟ"
    "山崎﨑嵜髙高邊邉辺齋齊斎濵澤櫻廣佐々〻木田中一二三四五六七八九十百千〇○元年月日"
    "東京都千代田区丸の内大阪府市町村郡字番地号丁目条の霞が関ケヶ"
    "明治大正昭和平成令和MTSHR"
    "0123456789０１２３４５６７８９-‐−–—―－~〜/.()（）＠@〒+ 　\u3000\ufe00\U000e0100"
)
japanese_text = st.text(alphabet=st.sampled_from(_JAPANESE), max_size=30)
any_text = st.one_of(japanese_text, st.text(max_size=30))

STRING_NORMALISERS: dict[str, Callable[[str], str | None]] = {
    "name": normalize_name,
    "kana": normalize_kana,
    "phone": normalize_phone,
    "email": normalize_email,
    "postal_code": normalize_postal_code,
    "sex": normalize_sex,
    "address_key": lambda t: a.key if (a := normalize_address(t)) else None,
}


@pytest.mark.parametrize("field", sorted(STRING_NORMALISERS))
class TestStringNormalisers:
    @settings(max_examples=300)
    @given(text=any_text)
    def test_normalising_twice_equals_once(self, field: str, text: str) -> None:
        normalise = STRING_NORMALISERS[field]
        once = normalise(text)
        assert once is None or normalise(once) == once

    @settings(max_examples=300)
    @given(text=any_text)
    def test_nfkc_of_the_input_changes_nothing(self, field: str, text: str) -> None:
        normalise = STRING_NORMALISERS[field]
        assert normalise(unicodedata.normalize("NFKC", text)) == normalise(text)


# Lone surrogates (from badly decoded files) and combining marks next to Japanese text.
odd_text = st.text(
    alphabet=st.characters(categories=("Cs", "Lo", "Mn", "Nd", "Pd", "Zs", "Lu")), max_size=20
)


class TestTotality:
    @given(text=odd_text)
    def test_no_field_normaliser_raises(self, text: str) -> None:
        results: list[object] = [normalise(text) for normalise in STRING_NORMALISERS.values()]
        results.append(parse_birth_date(text))
        assert all(r is None or isinstance(r, str | dt.date) for r in results)

    @given(text=odd_text)
    def test_records_of_odd_text_keep_their_shape(self, text: str) -> None:
        assert set(COLUMNS) <= set(normalize_record(dict.fromkeys(COLUMNS, text)))


class TestBirthDate:
    @given(date=st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2199, 12, 31)))
    def test_iso_form_round_trips(self, date: dt.date) -> None:
        assert parse_birth_date(date.isoformat()) == date

    @given(date=st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2199, 12, 31)))
    def test_compact_and_slashed_forms_agree(self, date: dt.date) -> None:
        compact = date.strftime("%Y%m%d")
        slashed = f"{date.year}/{date.month}/{date.day}"
        assert parse_birth_date(compact) == parse_birth_date(slashed) == date

    @given(date=st.dates(min_value=dt.date(1926, 12, 25), max_value=dt.date(1989, 1, 7)))
    def test_showa_dates_round_trip(self, date: dt.date) -> None:
        text = f"昭和{date.year - 1925}年{date.month}月{date.day}日"
        assert parse_birth_date(text) == date

    @settings(max_examples=300)
    @given(text=any_text)
    def test_nfkc_of_the_input_changes_nothing(self, text: str) -> None:
        assert parse_birth_date(unicodedata.normalize("NFKC", text)) == parse_birth_date(text)


class TestRecord:
    @settings(max_examples=100)
    @given(values=st.lists(st.one_of(st.none(), any_text), min_size=11, max_size=11))
    def test_never_raises_and_keeps_its_shape(self, values: list[str | None]) -> None:
        result = normalize_record(dict(zip(COLUMNS, values, strict=True)))
        assert set(COLUMNS) <= set(result)

    @settings(max_examples=100)
    @given(values=st.lists(st.one_of(st.none(), any_text), min_size=11, max_size=11))
    def test_normalising_a_normalised_record_changes_nothing_but_the_address_text(
        self, values: list[str | None]
    ) -> None:
        once = normalize_record(dict(zip(COLUMNS, values, strict=True)))
        twice = normalize_record({k: once[k] for k in COLUMNS})
        stable = (
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "birth_date",
            "sex",
            "postal_code",
            "phone",
            "email",
        )
        assert {k: twice[k] for k in stable} == {k: once[k] for k in stable}
