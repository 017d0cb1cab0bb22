"""Format variants of the synthetic files are exactly what ``normalize`` undoes.

With ``change_rate=0`` a rendered row differs from its canonical row only in how values are
written (old kanji, kana script and width, long vowels, spacing, era dates, phone and postal
formats, address forms, e-mail case), never in what they say; after ``normalize_record``
both rows agree.
"""

from __future__ import annotations

import random

import pytest

from tsunagu.linkage.normalize import COLUMNS as NORMALIZE_COLUMNS
from tsunagu.linkage.normalize import normalize_address, normalize_record
from tsunagu.linkage.synthetic import COLUMNS, Person, canonical_row, generate_population, render


@pytest.fixture(scope="module")
def normalised_pairs() -> list[tuple[dict[str, str | None], dict[str, str | None]]]:
    rng = random.Random(21)
    people: list[Person] = generate_population(2000, seed=21)
    return [
        (
            normalize_record(render(person, variant_rate=1.0, change_rate=0.0, rng=rng)),
            normalize_record(canonical_row(person)),
        )
        for person in people
    ]


@pytest.fixture(scope="module")
def addresses() -> list[tuple[Person, str]]:
    rng = random.Random(22)
    return [
        (person, render(person, variant_rate=1.0, change_rate=0.0, rng=rng)["address"])
        for person in generate_population(2000, seed=22)
    ]


class TestVariantsNormaliseToTheCanonicalRow:
    def test_both_modules_agree_on_the_columns(self) -> None:
        assert COLUMNS == NORMALIZE_COLUMNS

    @pytest.mark.parametrize("field", ["full_name", "full_name_kana"])
    def test_names_and_readings_are_equal(
        self,
        normalised_pairs: list[tuple[dict[str, str | None], dict[str, str | None]]],
        field: str,
    ) -> None:
        differing = [(v[field], c[field]) for v, c in normalised_pairs if v[field] != c[field]]
        assert differing == []

    def test_birth_dates_are_equal(
        self, normalised_pairs: list[tuple[dict[str, str | None], dict[str, str | None]]]
    ) -> None:
        differing = [
            (v["birth_date"], c["birth_date"])
            for v, c in normalised_pairs
            if v["birth_date"] != c["birth_date"]
        ]
        assert differing == []

    @pytest.mark.parametrize("field", ["sex", "postal_code", "phone", "email"])
    def test_contact_fields_are_equal(
        self,
        normalised_pairs: list[tuple[dict[str, str | None], dict[str, str | None]]],
        field: str,
    ) -> None:
        differing = [(v[field], c[field]) for v, c in normalised_pairs if v[field] != c[field]]
        assert differing == []

    def test_address_forms_give_one_address_key(self, addresses: list[tuple[Person, str]]) -> None:
        differing = []
        for person, variant in addresses:
            building = person.residence.building
            if building is not None and building not in variant:
                continue  # a file that left the building out holds less, not another form
            canonical = normalize_address(canonical_row(person)["address"])
            written = normalize_address(variant)
            assert canonical is not None
            assert written is not None
            if written.key != canonical.key:
                differing.append((variant, written.key, canonical.key))
        assert differing == []
