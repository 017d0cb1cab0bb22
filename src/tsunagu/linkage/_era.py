"""Japanese eras (元号) for birth dates: names, abbreviations, start dates, first year 元年.

An era year *n* is Gregorian year ``offset + n``; 元年 is year 1.  A date is accepted when
it falls on or after the era's first day (昭和元年12月24日 is refused: that day was still
大正15年).  Dates *past* an era's end are accepted as its continuation — 平成31年5月1日 is
2019-05-01 — because forms printed before an era change are filled in for months after
it, and a birth date written that way is still unambiguous.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Era:
    """One era: kanji name, Latin initial, first day, and the Gregorian year of 元年 - 1."""

    name: str
    initial: str
    start: dt.date

    @property
    def offset(self) -> int:
        return self.start.year - 1


ERAS: Final[tuple[Era, ...]] = (
    # 明治 counts from 慶応4年 (1868) by the 一世一元 decree; the Gregorian calendar came
    # in 明治6年, so earlier 明治 dates were lunar — nobody alive was born then.
    Era("明治", "M", dt.date(1868, 10, 23)),
    Era("大正", "T", dt.date(1912, 7, 30)),
    Era("昭和", "S", dt.date(1926, 12, 25)),
    Era("平成", "H", dt.date(1989, 1, 8)),
    Era("令和", "R", dt.date(2019, 5, 1)),
)

# Every way an era is written in data: full name, first kanji, Latin initial (either
# case), and the 1–5 code of Japanese administrative systems (住基: 1 明治 … 5 令和).
ERA_BY_TOKEN: Final[dict[str, Era]] = {}
for _code, _era in enumerate(ERAS, start=1):
    ERA_BY_TOKEN[_era.name] = _era
    ERA_BY_TOKEN[_era.name[0]] = _era
    ERA_BY_TOKEN[_era.initial] = _era
    ERA_BY_TOKEN[_era.initial.lower()] = _era
    ERA_BY_TOKEN[str(_code)] = _era


def era_date(token: str, year: int, month: int, day: int) -> dt.date | None:
    """The Gregorian date of era ``token`` year/month/day, or None when it does not exist."""
    era = ERA_BY_TOKEN.get(token)
    if era is None or not 1 <= year <= 99:
        return None
    try:
        date = dt.date(era.offset + year, month, day)
    except ValueError:
        return None
    return date if date >= era.start else None
