"""Identifiers: UUIDs ordered by creation time (the UUIDv7 layout of RFC 9562).

Time-ordered ids keep B-tree inserts local and let lists sort by id ≈ creation order.
"""

from __future__ import annotations

import secrets
import time
import uuid


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
