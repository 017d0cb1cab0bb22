"""Entries: canonical bytes (RFC 8785) and what may never enter the ledger."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.ledger.entry import (
    Entry,
    EntryError,
    bulk_subject,
    canonical,
    pseudonym,
    single_subject,
)

NOW = datetime(2026, 11, 27, 3, 4, 5, 123456, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(json_values)
def test_fast_path_writes_exactly_what_rfc8785_writes(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except Exception:  # values JCS itself refuses (lone surrogates)
        with pytest.raises(EntryError):
            canonical(value)
        return
    assert canonical(value) == expected


def test_floats_take_the_rfc8785_path() -> None:
    assert canonical({"b": 1.5, "a": 1e21}) == rfc8785.dumps({"b": 1.5, "a": 1e21})


class TestEntryEncoding:
    def test_fields_are_sorted_and_time_is_utc_with_microseconds(self) -> None:
        entry = Entry(
            kind="consent.given",
            org="acme",
            purpose="marketing",
            categories=("contact.email", "contact.address"),
        )
        obj = json.loads(entry.encode(NOW))
        assert obj["time"] == "2026-11-27T03:04:05.123456Z"
        assert obj["categories"] == ["contact.address", "contact.email"]
        assert list(obj) == sorted(obj)

    def test_same_entry_same_bytes(self) -> None:
        entry = Entry(kind="access.allowed", org="acme")
        assert entry.encode(NOW) == entry.encode(NOW)

    def test_unknown_kind_is_refused(self) -> None:
        with pytest.raises(EntryError):
            Entry(kind="made.up").encode(NOW)

    @pytest.mark.parametrize("kind", ["provision", "erasure", "export", "access.denied"])
    def test_every_known_kind_encodes(self, kind: str) -> None:
        assert json.loads(Entry(kind=kind).encode(NOW))["kind"] == kind

    def test_organization_statement_kinds_are_open(self) -> None:
        data = Entry(kind="org.privacy_notice", org="acme", body={"version": "3"}).encode(NOW)
        assert json.loads(data)["body"] == {"version": "3"}

    @pytest.mark.parametrize("key", ["email", "name", "phone", "person_id", "payload"])
    def test_personal_fields_are_refused_anywhere(self, key: str) -> None:
        with pytest.raises(EntryError):
            Entry(kind="access.allowed", refs={"nested": {key: "x"}}).encode(NOW)


class TestPseudonyms:
    def test_pseudonym_depends_on_the_key(self) -> None:
        person = uuid.uuid4()
        assert pseudonym(b"a" * 32, person) != pseudonym(b"b" * 32, person)

    def test_single_subject_holds_no_person_id(self) -> None:
        person = uuid.uuid4()
        data = Entry(kind="access.allowed", subject=single_subject(b"k" * 32, person)).encode(NOW)
        assert str(person).encode() not in data
        assert person.hex.encode() not in data

    def test_bulk_subject_is_order_independent(self) -> None:
        people = [uuid.uuid4() for _ in range(4)]
        assert bulk_subject(b"k" * 32, people) == bulk_subject(b"k" * 32, people[::-1])
        assert bulk_subject(b"k" * 32, people)["count"] == 4
