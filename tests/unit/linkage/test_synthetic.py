"""The synthetic customer files: deterministic, realistic, with a truth that means what it says."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

import jaconv
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.linkage import _synthetic_data as data
from tsunagu.linkage.synthetic import (
    COLUMNS,
    Person,
    SyntheticDataError,
    _format_birth_date,
    _tables,
    canonical_row,
    generate_population,
    make_pair,
    render,
    write_csv,
    write_truth_csv,
)

_FULL = str.maketrans("０１２３４５６７８９", "0123456789")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text.translate(_FULL))


def _phone_digits(text: str) -> str:
    digits = _digits(text)
    return "0" + digits[2:] if text.strip().startswith("+81") else digits


@pytest.fixture(scope="module")
def population() -> list[Person]:
    return generate_population(5000, seed=11)


@pytest.fixture(scope="module")
def canonical_pair() -> tuple[list[dict[str, str]], list[dict[str, str]], set[tuple[str, str]]]:
    return make_pair(3000, 2000, 1200, seed=5, variant_rate=0.0)


class TestDeterminism:
    def test_same_seed_gives_the_same_population(self) -> None:
        assert generate_population(500, seed=3) == generate_population(500, seed=3)

    def test_same_seed_gives_the_same_files_and_truth(self) -> None:
        first = make_pair(400, 300, 150, seed=9, variant_rate=0.5)
        second = make_pair(400, 300, 150, seed=9, variant_rate=0.5)
        assert first == second

    def test_written_files_are_byte_identical(self, tmp_path: Path) -> None:
        for name in ("a.csv", "b.csv"):
            left, _, _ = make_pair(300, 300, 100, seed=4, variant_rate=0.7)
            write_csv(left, tmp_path / name, encoding="cp932")
        assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()

    def test_another_seed_gives_other_persons(self) -> None:
        first = generate_population(200, seed=1)
        second = generate_population(200, seed=2)
        assert [p.family_name + p.given_name for p in first] != [
            p.family_name + p.given_name for p in second
        ]

    def test_a_smaller_population_is_a_prefix_of_a_larger_one(self) -> None:
        assert generate_population(300, seed=8) == generate_population(600, seed=8)[:300]


class TestEmbeddedLists:
    def test_hold_at_least_100_surnames_and_80_given_names_with_readings(self) -> None:
        assert len(data.SURNAMES) >= 100
        assert len(data.MALE_NAMES) + len(data.FEMALE_NAMES) >= 80
        for row in (*data.SURNAMES, *data.MALE_NAMES, *data.FEMALE_NAMES):
            assert row[0]
            assert re.fullmatch(r"[ァ-ヶー]+", str(row[1])), row

    def test_drawn_names_have_katakana_readings(self, population: list[Person]) -> None:
        for person in population:
            assert re.fullmatch(r"[ァ-ヶー]+", person.family_name_kana + person.given_name_kana)

    def test_listed_names_are_a_minority_so_namesakes_stay_realistic(
        self, population: list[Person]
    ) -> None:
        listed = {row[0] for row in data.SURNAMES}
        share = sum(p.family_name in listed for p in population) / len(population)
        assert 0.2 <= share <= 0.5

    def test_the_commonest_surnames_weigh_most(self) -> None:
        weights = {kanji: weight for kanji, _, weight in data.SURNAMES}
        assert weights["佐藤"] > weights["山田"] > weights["長尾"]

    def test_cover_hundreds_of_towns_each_with_its_own_postal_code(self) -> None:
        towns = _tables().towns
        assert len(towns) >= 300
        assert len({t.postal_code for t in towns}) == len(towns)
        assert len({(t.prefecture, t.city, t.name) for t in towns}) == len(towns)
        assert all(re.fullmatch(r"\d{3}-\d{4}", t.postal_code) for t in towns)

    def test_every_embedded_string_is_cp932(self) -> None:
        strings = [s for row in (*data.SURNAMES, *data.MALE_NAMES, *data.FEMALE_NAMES) for s in row]
        strings += [s for row in data.CITIES for s in row]
        strings += [s for forms in data.OLD_FORMS.values() for s in forms]
        strings += [*data.HOMOPHONES.values(), *data.BUILDING_WORDS, *data.BUILDING_KINDS]
        for text in strings:
            if isinstance(text, str):
                assert text.encode("cp932").decode("cp932") == text


class TestPopulation:
    def test_has_the_requested_size_and_unique_ids(self, population: list[Person]) -> None:
        assert len(population) == 5000
        assert len({p.id for p in population}) == 5000

    def test_a_fifth_to_a_third_live_with_family(self, population: list[Person]) -> None:
        sizes = Counter(p.household for p in population)
        in_family = sum(1 for p in population if sizes[p.household] > 1)
        assert 0.2 <= in_family / len(population) <= 0.33

    def test_household_members_share_surname_address_and_landline(
        self, population: list[Person]
    ) -> None:
        households: dict[str, list[Person]] = defaultdict(list)
        for person in population:
            households[person.household].append(person)
        families = [m for m in households.values() if len(m) > 1]
        assert families
        for members in families:
            assert len({m.family_name for m in members}) == 1
            assert len({m.residence for m in members}) == 1
            assert len({m.landline for m in members}) == 1
            assert len({m.id for m in members}) == len(members)

    def test_some_households_share_one_email(self, population: list[Person]) -> None:
        shared = Counter(p.email for p in population if p.email)
        owners = {
            frozenset(p.household for p in population if p.email == email)
            for email, count in shared.items()
            if count > 1
        }
        assert owners
        assert all(len(households) == 1 for households in owners)

    def test_namesakes_are_born_on_other_days(self, population: list[Person]) -> None:
        by_name: dict[str, set[dt.date]] = defaultdict(set)
        for person in population:
            by_name[person.family_name + person.given_name].add(person.birth_date)
        assert sum(1 for days in by_name.values() if len(days) > 1) >= 50

    def test_some_namesakes_live_in_the_same_town(self) -> None:
        people = generate_population(20_000, seed=2)
        seen: dict[tuple[str, str, str], dt.date] = {}
        same_town = 0
        for p in people:
            key = (p.family_name + p.given_name, p.residence.town.city, p.residence.town.name)
            if key in seen and seen[key] != p.birth_date:
                same_town += 1
            seen[key] = p.birth_date
        assert same_town >= 5

    def test_every_phone_number_is_valid_and_landlines_fit_the_city(
        self, population: list[Person]
    ) -> None:
        for person in population:
            for number in (person.mobile, person.landline):
                if number:
                    assert phonenumbers.is_valid_number(phonenumbers.parse(number, "JP")), number
            if person.mobile:
                assert person.mobile[:3] in {"090", "080", "070"}
            if person.landline:
                assert person.landline.split("-")[0] == person.residence.town.area_code

    def test_everyone_can_be_reached_by_phone(self, population: list[Person]) -> None:
        assert all(p.mobile or p.landline for p in population)

    def test_mobiles_belong_to_one_person_each(self, population: list[Person]) -> None:
        mobiles = [p.mobile for p in population if p.mobile]
        assert len(mobiles) == len(set(mobiles))

    def test_emails_are_derived_from_the_romanised_name(self, population: list[Person]) -> None:
        def romaji(kana: str) -> set[str]:
            full = str(jaconv.kana2alphabet(jaconv.kata2hira(kana))).replace("'", "")
            return {full, full.replace("ou", "o").replace("uu", "u").replace("oo", "o")}

        household_names: dict[str, set[str]] = defaultdict(set)
        for person in population:  # a spouse may use the household's address
            household_names[person.household] |= romaji(person.given_name_kana)
        for person in population:
            names = romaji(person.family_name_kana) | household_names[person.household]
            for email in (person.email, person.alt_email):
                if email:
                    local = email.split("@")[0]
                    assert any(name in local for name in names), (email, person)

    def test_everyone_is_an_adult(self, population: list[Person]) -> None:
        adult_by = dt.date(2026 - 18, 4, 1)
        assert all(p.birth_date <= adult_by for p in population)

    def test_a_negative_size_is_refused(self) -> None:
        with pytest.raises(SyntheticDataError, match="0 or more"):
            generate_population(-1, seed=0)


class TestRender:
    @settings(max_examples=25, deadline=None)
    @given(seed=st.integers(0, 2**32), index=st.integers(0, 299))
    def test_rate_zero_gives_the_canonical_row(self, seed: int, index: int) -> None:
        person = generate_population(300, seed=seed % 7)[index]
        row = render(person, variant_rate=0.0, rng=random.Random(seed))
        assert row == canonical_row(person)

    def test_canonical_row_uses_the_standard_forms(self, population: list[Person]) -> None:
        person = next(p for p in population if p.residence.chome and p.mobile)
        row = canonical_row(person)
        assert tuple(row) == COLUMNS
        assert row["birth_date"] == person.birth_date.isoformat()
        assert re.fullmatch(r"[ァ-ヶー]+", row["family_name_kana"])
        assert re.fullmatch(r"\d{3}-\d{4}", row["postal_code"])
        assert re.fullmatch(r"0[789]0-\d{4}-\d{4}", row["phone"])
        assert row["address"].startswith(person.residence.town.prefecture)
        assert row["sex"] in {"男", "女"}

    def test_every_rendered_row_has_the_eleven_columns(self, population: list[Person]) -> None:
        rng = random.Random(1)
        for person in population[:500]:
            row = render(person, variant_rate=1.0, change_rate=1.0, rng=rng)
            assert tuple(row) == COLUMNS
            assert all(isinstance(value, str) for value in row.values())

    def test_format_variants_appear_at_the_requested_rate(self, population: list[Person]) -> None:
        rng = random.Random(2)
        rows = [render(p, variant_rate=0.5, change_rate=0.0, rng=rng) for p in population]
        changed = sum(
            row["birth_date"] != canonical_row(p)["birth_date"]
            for p, row in zip(population, rows, strict=True)
        )
        assert 0.4 <= changed / len(rows) <= 0.6

    def test_format_variants_keep_dates_phones_and_postal_codes(
        self, population: list[Person]
    ) -> None:
        rng = random.Random(3)
        for person in population[:1000]:
            row = render(person, variant_rate=1.0, change_rate=0.0, rng=rng)
            canonical = canonical_row(person)
            assert _phone_digits(row["phone"]) == _digits(canonical["phone"])
            assert _digits(row["postal_code"]) == _digits(canonical["postal_code"])
            assert row["given_name"] in {person.given_name, ""}
            assert person.given_name in row["family_name"] + row["given_name"]

    def test_variants_include_the_realistic_forms(self, population: list[Person]) -> None:
        rng = random.Random(4)
        text = "\n".join(
            "|".join(render(p, variant_rate=1.0, change_rate=0.0, rng=rng).values())
            for p in population
        )
        for pattern in (
            r"昭和\d+年\d+月\d+日",
            r"\bS\d+\.\d+\.\d+",
            r"\d{8}",
            r"\d丁目",
            r"[一二三四五六七八九十]+丁目\d+番",
            r"\(0\d0\)\d{4}-\d{4}",
            r"\+81 \d0-",
            r"０[７８９]０－",
            r"〒\d{3}-\d{4}",
            r"[ｱ-ﾝ]",
            r"[ぁ-ん]",
            r"[髙﨑嵜邊邉齋齊濵櫻]",
            r"　",
            r"＠",
        ):
            assert re.search(pattern, text), pattern

    def test_moves_keep_phone_and_email(self, population: list[Person]) -> None:
        rng = random.Random(5)
        moved = 0
        for person in population:
            row = render(person, variant_rate=0.0, change_rate=1.0, rng=rng)
            canonical = canonical_row(person)
            if row["address"] != canonical["address"]:
                moved += 1
                assert row["email"] in {canonical["email"], person.alt_email or "", ""}
                assert row["phone"] in {canonical["phone"], person.landline or "", ""}
        assert moved > 0

    def test_some_rows_carry_the_second_email_address(self, population: list[Person]) -> None:
        rng = random.Random(7)
        with_second = [p for p in population if p.alt_email]
        rows = [render(p, variant_rate=0.0, change_rate=0.5, rng=rng) for p in with_second]
        assert with_second
        assert any(row["email"] == p.alt_email for p, row in zip(with_second, rows, strict=True))

    def test_marriage_changes_the_surname_only(self, population: list[Person]) -> None:
        rng = random.Random(6)
        married = 0
        for person in population:
            row = render(person, variant_rate=0.0, change_rate=1.0, rng=rng)
            if row["family_name"] not in {
                person.family_name,
                data.HOMOPHONES.get(person.family_name),
            }:
                married += 1
                assert person.sex == "f"
                assert row["given_name"] == person.given_name
        assert married > 0

    @pytest.mark.parametrize(("variant", "change"), [(-0.1, None), (1.5, None), (0.5, 2.0)])
    def test_rates_outside_zero_to_one_are_refused(
        self, population: list[Person], variant: float, change: float | None
    ) -> None:
        with pytest.raises(SyntheticDataError, match="0 to 1"):
            render(population[0], variant_rate=variant, change_rate=change, rng=random.Random())


class TestEraDates:
    @pytest.mark.parametrize(
        ("day", "style", "text"),
        [
            (dt.date(1957, 3, 29), 4, "昭和32年3月29日"),
            (dt.date(1957, 3, 29), 5, "S32.3.29"),
            (dt.date(1957, 3, 29), 6, "S32/03/29"),
            (dt.date(1957, 3, 29), 7, "昭和３２年３月２９日"),
            (dt.date(1989, 1, 8), 4, "平成元年1月8日"),
            (dt.date(1989, 1, 7), 5, "S64.1.7"),
            (dt.date(1926, 12, 24), 4, "大正15年12月24日"),
            (dt.date(1957, 3, 29), 0, "1957/3/29"),
            (dt.date(1957, 3, 29), 1, "19570329"),
        ],
    )
    def test_birth_dates_are_written_like_japanese_forms(
        self, day: dt.date, style: int, text: str
    ) -> None:
        assert _format_birth_date(day, style) == text


class TestMakePair:
    @settings(max_examples=20, deadline=None)
    @given(
        n_left=st.integers(0, 60),
        n_right=st.integers(0, 60),
        share=st.floats(0, 1),
        seed=st.integers(0, 1000),
    )
    def test_overlap_count_equals_the_truth_size(
        self, n_left: int, n_right: int, share: float, seed: int
    ) -> None:
        overlap = int(min(n_left, n_right) * share)
        left, right, truth = make_pair(n_left, n_right, overlap, seed=seed, variant_rate=0.3)
        assert (len(left), len(right), len(truth)) == (n_left, n_right, overlap)
        assert len({lid for lid, _ in truth}) == overlap
        assert len({rid for _, rid in truth}) == overlap

    def test_rows_are_numbered_per_file(
        self, canonical_pair: tuple[list[dict[str, str]], list[dict[str, str]], set[object]]
    ) -> None:
        left, right, _ = canonical_pair
        assert [r["id"] for r in left] == [f"L{i:06d}" for i in range(1, 3001)]
        assert [r["id"] for r in right] == [f"R{i:06d}" for i in range(1, 2001)]

    def test_true_links_join_the_same_person(
        self,
        canonical_pair: tuple[list[dict[str, str]], list[dict[str, str]], set[tuple[str, str]]],
    ) -> None:
        left, right, truth = canonical_pair
        by_id = {r["id"]: r for r in left + right}
        for lid, rid in truth:
            assert {**by_id[lid], "id": ""} == {**by_id[rid], "id": ""}

    def test_household_members_across_files_are_not_linked(
        self,
        canonical_pair: tuple[list[dict[str, str]], list[dict[str, str]], set[tuple[str, str]]],
    ) -> None:
        left, right, truth = canonical_pair
        right_by_address: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in right:
            right_by_address[row["address"]].append(row)
        relatives = [
            (l_row["id"], r_row["id"])
            for l_row in left
            for r_row in right_by_address[l_row["address"]]
            if r_row["family_name"] == l_row["family_name"]
            and r_row["given_name"] != l_row["given_name"]
        ]
        assert relatives
        assert not truth & set(relatives)

    def test_namesakes_across_files_are_not_linked(
        self,
        canonical_pair: tuple[list[dict[str, str]], list[dict[str, str]], set[tuple[str, str]]],
    ) -> None:
        left, right, truth = canonical_pair
        right_by_name: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in right:
            right_by_name[row["family_name"] + row["given_name"]].append(row)
        namesakes = [
            (l_row["id"], r_row["id"])
            for l_row in left
            for r_row in right_by_name[l_row["family_name"] + l_row["given_name"]]
            if r_row["birth_date"] != l_row["birth_date"]
        ]
        assert namesakes
        assert not truth & set(namesakes)

    @pytest.mark.parametrize(("n_left", "n_right", "overlap"), [(10, 5, 6), (-1, 5, 0), (5, 5, -1)])
    def test_an_impossible_overlap_is_refused(
        self, n_left: int, n_right: int, overlap: int
    ) -> None:
        with pytest.raises(SyntheticDataError, match="overlap must be between 0"):
            make_pair(n_left, n_right, overlap, seed=0, variant_rate=0.0)


class TestWriteCsv:
    def test_cp932_round_trips(self, tmp_path: Path) -> None:
        left, _, _ = make_pair(1000, 10, 0, seed=12, variant_rate=1.0)
        path = tmp_path / "left.csv"
        write_csv(left, path, encoding="cp932")
        with path.open(encoding="cp932", newline="") as handle:
            assert list(csv.DictReader(handle)) == left

    def test_the_header_is_the_eleven_columns(self, tmp_path: Path) -> None:
        path = tmp_path / "left.csv"
        write_csv([], path)
        assert path.read_bytes() == (",".join(COLUMNS) + "\r\n").encode()

    def test_utf8_sig_starts_with_a_byte_order_mark(self, tmp_path: Path) -> None:
        path = tmp_path / "left.csv"
        write_csv([], path, encoding="utf-8-sig")
        assert path.read_bytes().startswith(b"\xef\xbb\xbfid,")

    def test_a_value_cp932_cannot_hold_is_refused(self, tmp_path: Path) -> None:
        row = dict.fromkeys(COLUMNS, "") | {"id": "X1", "family_name": "𠮷田"}
        with pytest.raises(SyntheticDataError, match="write UTF-8 instead"):
            write_csv([row], tmp_path / "bad.csv", encoding="cp932")

    def test_an_unknown_encoding_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(SyntheticDataError, match="Unknown encoding"):
            write_csv([], tmp_path / "x.csv", encoding="no-such-codec")

    def test_the_truth_is_written_sorted_with_its_header(self, tmp_path: Path) -> None:
        path = tmp_path / "truth.csv"
        write_truth_csv({("L000002", "R000001"), ("L000001", "R000003")}, path)
        assert path.read_bytes() == b"left_id,right_id\r\nL000001,R000003\r\nL000002,R000001\r\n"
