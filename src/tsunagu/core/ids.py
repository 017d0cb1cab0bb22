"""Identifiers: UUIDs ordered by creation time (the UUIDv7 layout of RFC 9562).

Time-ordered ids keep B-tree inserts local and let lists sort by id ≈ creation order.
``new_ids(n)`` makes many at once for bulk work: one request for randomness, and UUID
objects built without re-validating a value that is valid by construction.
"""

from __future__ import annotations

import secrets
import time
import uuid

_HEAD_MASK = (1 << 48) - 1
_LOW_MASK = (1 << 62) - 1


def new_id() -> uuid.UUID:
    """A fresh UUIDv7: 48 bits of Unix milliseconds, version, variant, 74 random bits."""
    millis = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 62) << 64  # 12 bits rand_a
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def new_ids(count: int) -> list[uuid.UUID]:
    """``count`` fresh UUIDv7 sharing one millisecond (in random order within it)."""
    millis = time.time_ns() // 1_000_000
    head = ((millis & _HEAD_MASK) << 80) | (0x7 << 76) | (0b10 << 62)
    entropy = secrets.token_bytes(10 * count)
    from_bytes = int.from_bytes
    new = object.__new__
    set_attr = object.__setattr__
    unknown = uuid.SafeUUID.unknown
    ids: list[uuid.UUID] = []
    append = ids.append
    for start in range(0, 10 * count, 10):
        rand = from_bytes(entropy[start : start + 10]) >> 6  # 74 random bits
        value = new(uuid.UUID)
        # what uuid.UUID(int=...) stores, without its checks: the value is in range
        set_attr(value, "int", head | ((rand >> 62) << 64) | (rand & _LOW_MASK))
        set_attr(value, "is_safe", unknown)
        append(value)
    return ids
