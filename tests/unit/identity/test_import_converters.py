"""The cell converters of the person and staff imports: what they accept and how they store it."""

from __future__ import annotations

from datetime import date

import pytest

from tsunagu.identity.importing import to_date, to_email, to_kana, to_phone, to_postal_code


class TestToKana:
    @pytest.mark.parametrize("text", ["タナカ", "たなか", "ﾀﾅｶ"])
    def test_any_kana_is_stored_as_full_width_katakana(self, text: str) -> None:
        assert to_kana(text) == "タナカ"

    @pytest.mark.parametrize("text", ["ゆうこ　ー", "ユウコ　ー", "ユウコ ー"])
    def test_long_vowel_mark_is_kana_and_spaces_become_ascii(self, text: str) -> None:
        assert to_kana(text) == "ユウコ ー"

    @pytest.mark.parametrize("text", ["田中", "Tanaka", "タナカ1"])
    def test_kanji_latin_and_digits_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="must be written in katakana or hiragana"):
            to_kana(text)


class TestToPostalCode:
    @pytest.mark.parametrize("text", ["100-0001", "1000001", "１００－０００１", "100ー0001"])
    def test_written_forms_are_stored_as_123_4567(self, text: str) -> None:
        assert to_postal_code(text) == "100-0001"

    @pytest.mark.parametrize("text", ["100-001", "10-00001", "〒100-0001"])
    def test_other_shapes_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="is not a postal code"):
            to_postal_code(text)


class TestToPhone:
    @pytest.mark.parametrize(
        ("text", "stored"),
        [
            ("03-1234-5678", "03-1234-5678"),
            ("０９０ー１２３４ー５６７８", "090-1234-5678"),
            ("+81 90 1234 5678", "+81 90 1234 5678"),
            ("(03) 1234-5678", "(03) 1234-5678"),
        ],
    )
    def test_numbers_keep_their_layout_with_plain_hyphens(self, text: str, stored: str) -> None:
        assert to_phone(text) == stored

    @pytest.mark.parametrize("text", ["110", "03-1234-567x", "1" * 16])
    def test_too_short_long_or_lettered_numbers_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="is not a telephone number"):
            to_phone(text)


class TestToDate:
    @pytest.mark.parametrize("text", ["1957-03-29", "1957/3/29", "1957-3-29", "１９５７／３／２９"])
    def test_iso_and_slashed_dates_are_read(self, text: str) -> None:
        assert to_date(text) == date(1957, 3, 29)

    def test_impossible_calendar_date_is_refused(self) -> None:
        with pytest.raises(ValueError, match="is not a date in the calendar"):
            to_date("2023/2/29")

    @pytest.mark.parametrize("text", ["29/3/1957", "昭和32年3月29日", "19570329"])
    def test_other_formats_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="is not a date like 1957-03-29 or 1957/3/29"):
            to_date(text)


class TestToEmail:
    def test_addresses_are_stored_in_lower_case(self) -> None:
        assert to_email("Taro.Yamada@Example.JP") == "taro.yamada@example.jp"

    def test_full_width_addresses_are_normalised(self) -> None:
        assert to_email("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ") == "taro@example.jp"

    @pytest.mark.parametrize("text", ["taro", "taro@", "taro@example", "a b@example.jp"])
    def test_malformed_addresses_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="is not an e-mail address"):
            to_email(text)
