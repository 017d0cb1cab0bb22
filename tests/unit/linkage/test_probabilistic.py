"""Probabilistic linkage: households and namesakes stay apart, variants of a person link,
pairs are one-to-one, the threshold and the report say what they promise."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.linkage.files import COLUMNS
from tsunagu.linkage.probabilistic import LinkageError, LinkResult, link
from tsunagu.linkage.synthetic import make_pair

SEED = 7

#: hand-made people, added to a synthetic background population (for training)
LEFT_CASES: list[dict[str, str]] = [
    # a person whose variants must link
    {
        "id": "X-TAKAHASHI",
        "family_name": "髙橋",
        "given_name": "誠一",
        "family_name_kana": "タカハシ",
        "given_name_kana": "セイイチ",
        "birth_date": "昭和32年3月29日",
        "sex": "男",
        "postal_code": "〒100-0001",
        "address": "東京都千代田区千代田一丁目１番１号",
        "phone": "090-1111-2222",
        "email": "seiichi.takahashi@example.jp",
    },
    # a household: father here …
    {
        "id": "X-FATHER",
        "family_name": "鷲見",
        "given_name": "健太郎",
        "family_name_kana": "スミ",
        "given_name_kana": "ケンタロウ",
        "birth_date": "1965-04-12",
        "sex": "男",
        "postal_code": "460-0008",
        "address": "愛知県名古屋市中区栄三丁目5番12号",
        "phone": "052-261-3344",
        "email": "sumi.family@example.jp",
    },
    # a namesake of someone on the right
    {
        "id": "X-NAMESAKE",
        "family_name": "渡邊",
        "given_name": "花子",
        "family_name_kana": "ワタナベ",
        "given_name_kana": "ハナコ",
        "birth_date": "1971-08-03",
        "sex": "女",
        "postal_code": "530-0001",
        "address": "大阪府大阪市北区梅田1-2-3",
        "phone": "06-6341-0001",
        "email": "hanako.w71@example.jp",
    },
]
RIGHT_CASES: list[dict[str, str]] = [
    # the same person: old kanji folded, kana in hiragana, ISO date, other phone format, moved
    {
        "id": "Y-TAKAHASHI",
        "family_name": "高橋",
        "given_name": "誠一",
        "family_name_kana": "たかはし",
        "given_name_kana": "せいいち",
        "birth_date": "1957-03-29",
        "sex": "M",
        "postal_code": "2310023",
        "address": "神奈川県横浜市中区山下町２－３",
        "phone": "+81 90 1111 2222",
        "email": "Seiichi.Takahashi@example.jp",
    },
    # … the mother and the son of the household: same address, landline and e-mail
    {
        "id": "Y-MOTHER",
        "family_name": "鷲見",
        "given_name": "由美子",
        "family_name_kana": "スミ",
        "given_name_kana": "ユミコ",
        "birth_date": "1968-11-30",
        "sex": "女",
        "postal_code": "460-0008",
        "address": "愛知県名古屋市中区栄3-5-12",
        "phone": "052-261-3344",
        "email": "sumi.family@example.jp",
    },
    {
        "id": "Y-SON",
        "family_name": "鷲見",
        "given_name": "翔",
        "family_name_kana": "スミ",
        "given_name_kana": "ショウ",
        "birth_date": "1996-02-14",
        "sex": "男",
        "postal_code": "460-0008",
        "address": "愛知県名古屋市中区栄3-5-12",
        "phone": "(052)261-3344",
        "email": "sumi.family@example.jp",
    },
    # the namesake: same name, another birth date, another place
    {
        "id": "Y-NAMESAKE",
        "family_name": "渡辺",
        "given_name": "花子",
        "family_name_kana": "ワタナベ",
        "given_name_kana": "ハナコ",
        "birth_date": "1984-01-22",
        "sex": "女",
        "postal_code": "060-0001",
        "address": "北海道札幌市中央区北一条西2-1",
        "phone": "011-222-3333",
        "email": "watanabe.h84@example.jp",
    },
]


def table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in rows], type=pa.string()) for c in COLUMNS})


def pairs_of(result: LinkResult) -> set[tuple[str, str]]:
    return set(
        zip(
            result.pairs.column("left_id").to_pylist(),
            result.pairs.column("right_id").to_pylist(),
            strict=True,
        )
    )


@pytest.fixture(scope="module")
def data() -> tuple[pa.Table, pa.Table, set[tuple[str, str]]]:
    left, right, truth = make_pair(400, 400, 200, seed=SEED, variant_rate=0.3)
    return table(left + LEFT_CASES), table(right + RIGHT_CASES), truth


@pytest.fixture(scope="module")
def linked(data: tuple[pa.Table, pa.Table, set[tuple[str, str]]]) -> LinkResult:
    left, right, _ = data
    return link(left, right)


class TestHouseholdsAndNamesakes:
    def test_variants_of_one_person_are_linked(self, linked: LinkResult) -> None:
        assert ("X-TAKAHASHI", "Y-TAKAHASHI") in pairs_of(linked)

    def test_household_members_are_not_linked(self, linked: LinkResult) -> None:
        linked_ids = {right for left, right in pairs_of(linked) if left == "X-FATHER"}
        assert linked_ids.isdisjoint({"Y-MOTHER", "Y-SON"})

    def test_namesakes_with_other_birth_dates_are_not_linked(self, linked: LinkResult) -> None:
        assert ("X-NAMESAKE", "Y-NAMESAKE") not in pairs_of(linked)


class TestQualityOnSyntheticData:
    def test_f1_against_the_true_links_is_high(
        self, data: tuple[pa.Table, pa.Table, set[tuple[str, str]]], linked: LinkResult
    ) -> None:
        truth = data[2] | {("X-TAKAHASHI", "Y-TAKAHASHI")}
        found = pairs_of(linked)
        f1 = 2 * len(found & truth) / (len(found) + len(truth))
        assert f1 >= 0.95


class TestOneToOne:
    def test_each_record_is_in_at_most_one_pair(self, linked: LinkResult) -> None:
        lefts = linked.pairs.column("left_id").to_pylist()
        rights = linked.pairs.column("right_id").to_pylist()
        assert len(set(lefts)) == len(lefts)
        assert len(set(rights)) == len(rights)

    def test_all_candidates_include_every_one_to_one_pair(
        self, data: tuple[pa.Table, pa.Table, set[tuple[str, str]]], linked: LinkResult
    ) -> None:
        left, right, _ = data
        everything = link(left, right, threshold=linked.threshold, one_to_one=False)
        assert pairs_of(linked) <= pairs_of(everything)


class TestThreshold:
    def test_default_threshold_is_chosen_by_expected_f1(self, linked: LinkResult) -> None:
        assert linked.report.threshold_source == "expected_f1"
        best = max(e.f1 for e in linked.report.by_threshold)
        assert linked.report.estimate.f1 == pytest.approx(best, abs=1e-6)

    def test_every_pair_is_at_or_above_the_threshold(self, linked: LinkResult) -> None:
        assert min(linked.pairs.column("match_probability").to_pylist()) >= linked.threshold

    def test_a_given_threshold_is_used(
        self, data: tuple[pa.Table, pa.Table, set[tuple[str, str]]]
    ) -> None:
        left, right, _ = data
        result = link(left, right, threshold=0.99)
        assert result.report.threshold_source == "analyst"
        assert min(result.pairs.column("match_probability").to_pylist()) >= 0.99

    def test_a_threshold_outside_zero_one_is_refused(self) -> None:
        rows = table([{"id": "A", "family_name": "佐藤"}])
        with pytest.raises(LinkageError, match="threshold"):
            link(rows, rows, threshold=1.5)


class TestReport:
    def test_report_lists_estimates_by_threshold_in_order(self, linked: LinkResult) -> None:
        thresholds = [e.threshold for e in linked.report.by_threshold]
        assert thresholds == sorted(thresholds)
        assert linked.threshold in thresholds

    def test_estimated_precision_falls_as_the_threshold_falls(self, linked: LinkResult) -> None:
        precisions = [e.precision for e in linked.report.by_threshold]
        assert precisions == sorted(precisions)

    def test_report_summarises_m_and_u_for_each_comparison(self, linked: LinkResult) -> None:
        names = {p["comparison"] for p in linked.report.parameters}
        assert {"family", "given", "birth_date", "location", "phone", "email"} <= names

    def test_borderline_pairs_show_both_sides_for_review(self, linked: LinkResult) -> None:
        first = linked.report.borderline[0]
        assert {"left_id", "right_id", "match_probability", "linked"} <= set(first)
        assert "birth_date_l" in first
        assert "birth_date_r" in first

    def test_report_is_json_ready(self, linked: LinkResult) -> None:
        report = linked.report.to_dict()
        assert report["threshold"] == linked.threshold
        assert report["estimate"]["f1"] == linked.report.estimate.f1


class TestInputs:
    def test_files_without_an_identifying_column_in_common_are_refused(self) -> None:
        left = table([{"id": "A", "sex": "男"}, {"id": "B", "sex": "女"}])
        with pytest.raises(LinkageError, match="no identifying column"):
            link(left, left)

    @pytest.mark.parametrize(
        "columns",
        [("id", "phone", "email"), ("id", "family_name", "given_name")],
        ids=["contacts-only", "names-only"],
    )
    def test_files_with_few_columns_still_link(self, columns: tuple[str, ...]) -> None:
        left, right, truth = make_pair(200, 200, 100, seed=5, variant_rate=0.2)

        def only(rows: list[dict[str, str]]) -> pa.Table:
            return pa.table(
                {c: pa.array([r.get(c) for r in rows], type=pa.string()) for c in columns}
            )

        found = pairs_of(link(only(left), only(right)))
        assert len(found & truth) >= 0.5 * len(truth)

    def test_linking_is_deterministic(
        self, data: tuple[pa.Table, pa.Table, set[tuple[str, str]]], linked: LinkResult
    ) -> None:
        left, right, _ = data
        again = link(left, right)
        assert again.pairs.equals(linked.pairs)


class TestOneToOneProperty:
    @settings(max_examples=3, deadline=None)
    @given(drop=st.sets(st.integers(min_value=0, max_value=99), max_size=30))
    def test_pairs_stay_one_to_one_whatever_rows_are_missing(self, drop: set[int]) -> None:
        left, right, _ = make_pair(100, 100, 80, seed=3, variant_rate=0.5)
        kept = [row for i, row in enumerate(right) if i not in drop]
        result = link(table(left), table(kept))
        lefts = result.pairs.column("left_id").to_pylist()
        rights = result.pairs.column("right_id").to_pylist()
        assert len(set(lefts)) == len(lefts) == len(set(rights))
