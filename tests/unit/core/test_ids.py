"""Time-ordered ids (UUIDv7)."""

from __future__ import annotations

import time
import uuid

from tsunagu.core.ids import new_id, new_ids


class TestNewId:
    def test_is_a_version_7_uuid(self) -> None:
        value = new_id()
        assert value.version == 7
        assert value.variant == uuid.RFC_4122

    def test_carries_the_current_unix_milliseconds(self) -> None:
        before = time.time_ns() // 1_000_000
        value = new_id()
        after = time.time_ns() // 1_000_000
        assert before <= value.int >> 80 <= after

    def test_later_ids_sort_after_earlier_ones(self) -> None:
        first = new_id()
        time.sleep(0.002)
        assert new_id() > first


class TestNewIds:
    def test_bulk_ids_are_valid_distinct_version_7_uuids(self) -> None:
        values = new_ids(10_000)
        assert len(set(values)) == 10_000
        assert {v.version for v in values} == {7}
        assert all(uuid.UUID(str(v)) == v for v in values[:100])

    def test_bulk_ids_behave_as_ordinary_uuids(self) -> None:
        (value,) = new_ids(1)
        assert uuid.UUID(hex=value.hex) == value
        assert hash(value) == hash(uuid.UUID(int=value.int))
