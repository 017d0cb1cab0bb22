"""The seeded vocabulary: the category hierarchy and the purposes' DPV concepts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tsunagu.consent.vocabulary import (
    CATEGORIES,
    DPV,
    PURPOSES,
    ancestors_or_self,
    covers,
    parent_of,
)

CODES = [c.code for c in CATEGORIES]
_segment = st.from_regex(r"[a-z][a-z_]{0,6}", fullmatch=True)
_code = st.lists(_segment, min_size=1, max_size=4).map(".".join)


class TestCovers:
    def test_a_parent_covers_its_child(self) -> None:
        assert covers("contact", "contact.email")

    def test_a_category_covers_itself(self) -> None:
        assert covers("contact.email", "contact.email")

    def test_a_child_does_not_cover_its_parent(self) -> None:
        assert not covers("contact.email", "contact")

    def test_a_sibling_does_not_cover(self) -> None:
        assert not covers("contact.email", "contact.phone")

    def test_a_shared_prefix_without_a_dot_does_not_cover(self) -> None:
        assert not covers("health", "healthcare")

    @given(granted=_code, wanted=_code)
    def test_covers_iff_granted_is_among_the_ancestors(self, granted: str, wanted: str) -> None:
        assert covers(granted, wanted) is (granted in ancestors_or_self(wanted))


class TestAncestors:
    def test_lists_each_prefix_at_a_dot_then_the_code(self) -> None:
        assert ancestors_or_self("a.b.c") == ("a", "a.b", "a.b.c")

    def test_parent_of_a_top_level_code_is_none(self) -> None:
        assert parent_of("contact") is None

    def test_parent_of_a_child_is_the_prefix(self) -> None:
        assert parent_of("health.checkup") == "health"


class TestSeededCategories:
    def test_codes_are_unique(self) -> None:
        assert len(CODES) == len(set(CODES))

    def test_every_parent_is_seeded_before_its_children(self) -> None:
        for index, code in enumerate(CODES):
            parent = parent_of(code)
            assert parent is None or parent in CODES[:index], code

    def test_children_of_a_sensitive_category_are_sensitive(self) -> None:
        sensitive = {c.code for c in CATEGORIES if c.sensitive}
        for c in CATEGORIES:
            parent = parent_of(c.code)
            if parent in sensitive:
                assert c.sensitive, c.code

    def test_health_is_sensitive(self) -> None:
        assert {c.code for c in CATEGORIES if c.sensitive} >= {"health", "health.checkup"}

    def test_every_category_has_a_japanese_and_an_english_label(self) -> None:
        assert all(c.label_ja and c.label_en for c in CATEGORIES)


class TestSeededPurposes:
    def test_codes_are_unique(self) -> None:
        codes = [p.code for p in PURPOSES]
        assert len(codes) == len(set(codes))

    def test_each_names_a_dpv_concept(self) -> None:
        assert all(p.dpv.startswith(DPV) and len(p.dpv) > len(DPV) for p in PURPOSES)

    def test_each_is_described_in_japanese_and_english(self) -> None:
        assert all(
            p.label_ja and p.label_en and p.description_ja and p.description_en for p in PURPOSES
        )
