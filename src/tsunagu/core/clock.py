"""Time: every datetime in tsunagu is timezone-aware.

Storage is UTC.  SQLite has no time zone type, so ``UTCDateTime`` stores naive UTC and
hands back aware UTC values on both SQLite and PostgreSQL; a naive datetime given to it is
a programming error and is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

TOKYO = ZoneInfo("Asia/Tokyo")


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def to_zone(value: datetime, zone: str | ZoneInfo = TOKYO) -> datetime:
    """``value`` shown in ``zone`` (Asia/Tokyo unless told otherwise)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return value.astimezone(tz)


class UTCDateTime(TypeDecorator[datetime]):
    """A column that only accepts aware datetimes and always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 (the signature SQLAlchemy calls)
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
