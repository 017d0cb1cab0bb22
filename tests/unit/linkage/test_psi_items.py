"""The PSI items: one function for both sides, always with the birth date."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.linkage import normalize
from tsunagu.linkage.psi_service import decode_points, encode_points, items_of, member_items

values = st.text(min_size=1, max_size=20)


class TestItems:
    @given(email=values, phone=values)
    def test_no_birth_date_means_no_item(self, email: str, phone: str) -> None:
        assert items_of({"email": email, "phone": phone, "birth_date": None}) == []

    @given(email=values, birth=values, other=values)
    def test_a_household_member_with_another_birth_date_shares_no_item(
        self, email: str, birth: str, other: str
    ) -> None:
        mother = set(items_of({"email": email, "phone": "+81312345678", "birth_date": birth}))
        daughter = set(items_of({"email": email, "phone": "+81312345678", "birth_date": other}))
        assert (mother & daughter == set()) == (birth != other)

    def test_an_e_mail_and_a_phone_give_two_items(self) -> None:
        record = {"email": "a@example.jp", "phone": "+819012345678", "birth_date": "1957-03-29"}
        assert len(items_of(record)) == 2

    @given(a=values, b=values)
    def test_the_encoding_is_injective_across_value_boundaries(self, a: str, b: str) -> None:
        left = items_of({"email": a + b, "birth_date": "1957-03-29"})
        right = items_of({"email": a, "birth_date": b + "1957-03-29"})
        assert left != right


class TestMemberItems:
    def test_variant_spellings_give_the_same_item(self) -> None:
        table = pa.table(
            {
                "id": ["M1", "M2"],
                "email": ["Hanako@Example.JP", "hanako@example.jp"],
                "birth_date": ["昭和32年3月29日", "1957-03-29"],
            }
        )
        assert list(member_items(table).values()) == [["M1", "M2"]]

    def test_items_match_the_stored_normalised_form(self) -> None:
        raw = {"id": "M1", "email": "Hanako@Example.JP", "birth_date": "S32.3.29"}
        stored = normalize.normalize_record(raw)
        assert list(member_items(pa.table({k: [v] for k, v in raw.items()}))) == items_of(stored)


class TestWireForm:
    @given(st.lists(st.binary(min_size=32, max_size=32), max_size=5))
    def test_points_survive_the_wire(self, points: list[bytes]) -> None:
        assert decode_points(encode_points(points)) == points
