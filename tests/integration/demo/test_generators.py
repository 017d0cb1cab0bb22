"""The demo's person generator: deterministic, with consistent Japanese names and
well-formed contact data.  (Pure functions; no database.)"""

from __future__ import annotations

import re
from datetime import date

from pydantic import EmailStr, TypeAdapter

from tsunagu.demo.names import (
    FAMILY_NAMES,
    FEMALE_GIVEN_NAMES,
    MALE_GIVEN_NAMES,
    is_kanji,
    is_katakana,
)
from tsunagu.demo.persons import EMAIL_DOMAINS, REFERENCE_DATE, generate_persons

SEED = 7
SAMPLE = list(generate_persons(2_000, SEED))
ALL_GIVEN = MALE_GIVEN_NAMES + FEMALE_GIVEN_NAMES

MOBILE = re.compile(r"^0[789]0-\d{4}-\d{4}$")
LANDLINE = re.compile(r"^0\d{1,4}-\d{1,4}-\d{4}$")
POSTAL_CODE = re.compile(r"^\d{3}-\d{4}$")


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class TestDeterminism:
    def test_same_seed_gives_the_same_persons(self) -> None:
        assert list(generate_persons(50, SEED)) == SAMPLE[:50]

    def test_other_seed_gives_other_persons(self) -> None:
        assert list(generate_persons(50, SEED + 1)) != SAMPLE[:50]

    def test_the_first_persons_do_not_depend_on_the_count(self) -> None:
        assert list(generate_persons(10, SEED)) == SAMPLE[:10]

    def test_ids_are_unique_and_ordered(self) -> None:
        ids = [p.id for p in SAMPLE]

        assert len(set(ids)) == len(ids)
        assert ids == sorted(ids)
        assert all(i.version == 7 for i in ids)


class TestNames:
    def test_family_and_given_names_are_kanji(self) -> None:
        assert all(is_kanji(p.family_name) and is_kanji(p.given_name) for p in SAMPLE)

    def test_readings_are_katakana(self) -> None:
        assert all(is_katakana(p.family_name_kana) for p in SAMPLE)
        assert all(is_katakana(p.given_name_kana) for p in SAMPLE)

    def test_reading_belongs_to_the_same_name(self) -> None:
        family = {(n.kanji, n.kana) for n in FAMILY_NAMES}
        given = {(n.kanji, n.kana) for n in ALL_GIVEN}

        assert all((p.family_name, p.family_name_kana) in family for p in SAMPLE)
        assert all((p.given_name, p.given_name_kana) in given for p in SAMPLE)

    def test_name_tables_are_kanji_with_katakana_readings(self) -> None:
        for name in FAMILY_NAMES + ALL_GIVEN:
            assert is_kanji(name.kanji), name
            assert is_katakana(name.kana), name
            assert re.fullmatch("[a-z]+", name.romaji), name

    def test_names_vary(self) -> None:
        assert len({p.family_name for p in SAMPLE}) > 50
        assert len({p.given_name for p in SAMPLE}) > 50


class TestIsKanji:
    def test_hiragana_and_latin_are_not_kanji(self) -> None:
        assert not is_kanji("さくら")
        assert not is_kanji("Sato")
        assert not is_kanji("")

    def test_iteration_mark_counts_as_kanji(self) -> None:
        assert is_kanji("佐々木")

    def test_hiragana_is_not_katakana(self) -> None:
        assert not is_katakana("さとう")
        assert is_katakana("サトウ")


class TestContactData:
    def test_emails_are_valid_and_unique(self) -> None:
        adapter: TypeAdapter[str] = TypeAdapter(EmailStr)
        emails = [p.email for p in SAMPLE]

        assert len(set(emails)) == len(emails)
        assert all(adapter.validate_python(e) == e for e in emails[:200])

    def test_emails_use_reserved_example_domains(self) -> None:
        # JPRS reserves example.jp and example.<second level>.jp for documentation
        assert all(p.email.split("@", 1)[1] in EMAIL_DOMAINS for p in SAMPLE)
        assert all(re.search(r"(^|\.)example(\.[a-z]{2})?\.jp$", d) for d in EMAIL_DOMAINS)

    def test_phones_are_mobile_or_landline_numbers(self) -> None:
        assert all(MOBILE.match(p.phone) or LANDLINE.match(p.phone) for p in SAMPLE)
        assert any(MOBILE.match(p.phone) for p in SAMPLE)
        assert any(not MOBILE.match(p.phone) for p in SAMPLE)

    def test_landlines_have_ten_digits(self) -> None:
        landlines = [p.phone for p in SAMPLE if not MOBILE.match(p.phone)]

        assert all(len(n.replace("-", "")) == 10 for n in landlines)

    def test_postal_codes_have_seven_digits(self) -> None:
        assert all(POSTAL_CODE.match(p.postal_code) for p in SAMPLE)

    def test_addresses_name_a_prefecture_and_block_numbers(self) -> None:
        pattern = re.compile(
            r"^(東京都|北海道|(京都|大阪)府|.{2,3}県).+(\d+丁目\d+番\d+号|\d+-\d+-\d+)"
        )

        assert all(pattern.match(p.address) for p in SAMPLE)

    def test_persons_are_adults(self) -> None:
        ages = [age_on(p.birth_date, REFERENCE_DATE) for p in SAMPLE]

        assert min(ages) >= 18
        assert max(ages) <= 92
