"""Realistic Japanese customer files with known truth, for matching tests, benchmarks and the demo.

Three steps, every one seeded and deterministic (same arguments → byte-identical files):

1. ``generate_population(n, seed=…)`` draws ``Person`` records from embedded lists
   (``_synthetic_data``): surnames weighted by real frequency with their katakana readings
   (and second readings: 中島 ナカジマ/ナカシマ), given names by sex and birth cohort, towns
   with one postal code each, 丁目-番-号 addresses with or without a building, mobile numbers
   (090/080/070) and landlines whose area code fits the city, e-mail addresses derived from
   the romanised name. Real files are hard because of *other* people who look alike, so the
   population has them on purpose:

   * households (about a quarter of all persons): family members share the surname, the
     address, the landline and sometimes one e-mail address, but are different people;
   * namesakes: the same full name with another birth date, from the name frequencies
     themselves and injected on purpose, a few of them in the very same town.

2. ``render(person, variant_rate=…, rng=…)`` writes one person as one file row (the issue's
   eleven columns, all strings, ``""`` for a missing value). With ``variant_rate`` each field
   independently takes a *format* variant that normalisation should undo: old kanji
   (髙/高, 﨑/崎, 邊/辺 …), hiragana or half-width readings, long vowels (オオノ/オーノ), small
   kana written large, the full name in one column with or without a (full-width) space,
   full-width digits, phone formats (``09012345678``, ``(090)1234-5678``,
   ``+81 90-1234-5678`` …), birth dates (``19570329``, ``1957/3/29``, ``昭和32年3月29日``,
   ``S32.3.29`` …), address forms (``二丁目8番1号``, ``2丁目8-1``, without the prefecture,
   without the building), e-mail case. With ``change_rate`` (default: half the variant rate)
   the row also carries *real* differences a linker has to tolerate: a move (new address
   and postal code, same phone and e-mail), a marriage (new surname, same given name and
   birth date), a typo in a reading, the kanji an input method picks for the same reading
   (斎藤/斉藤), the other of two phone numbers or e-mail addresses, a swapped day and
   month, missing values.
   ``variant_rate=0`` gives the canonical row (see ``canonical_row``).

3. ``make_pair(n_left, n_right, overlap, seed=…, variant_rate=…)`` renders two files from one
   population: ``overlap`` persons appear in both, the others in one only (so relatives and
   namesakes of a matched person sit on the other side as traps), rows shuffled and
   numbered ``L000001`` / ``R000001``; the third element is the set of true links.

``write_csv`` writes rows as UTF-8 (with or without BOM) or CP932; every embedded string is
CP932-encodable. This module is a generator, not a pipeline: plain Python and
``random.Random`` are the right tools here (100,000 rows take a couple of seconds).
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import itertools
import random
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

import jaconv
import phonenumbers

from tsunagu.core.errors import InvalidInput
from tsunagu.linkage import _synthetic_data as data
from tsunagu.linkage import normalize

__all__ = [
    "COLUMNS",
    "REFERENCE_DATE",
    "Person",
    "Residence",
    "SyntheticDataError",
    "Town",
    "canonical_row",
    "generate_population",
    "make_pair",
    "render",
    "write_csv",
    "write_truth_csv",
]

#: the columns of a customer file (the issue's contract), in this order
COLUMNS = normalize.COLUMNS

#: ages are counted at this date, not today, so that a seed always gives the same people
REFERENCE_DATE = dt.date(2026, 4, 1)

#: share of households that are families (2-5 persons); about 25% of persons live in one
FAMILY_HOUSEHOLD_SHARE = 0.12
#: share of new households that are a namesake of someone already drawn, elsewhere
NAMESAKE_SHARE = 0.006
#: share of new households that are a namesake of someone already drawn, in the same town
SAME_TOWN_NAMESAKE_SHARE = 0.002

# Age bands of adult customers and their weights (roughly Japan's population pyramid).
_AGE_BANDS: tuple[tuple[int, int, int], ...] = (
    (18, 29, 12),
    (30, 39, 13),
    (40, 49, 17),
    (50, 59, 17),
    (60, 69, 15),
    (70, 79, 16),
    (80, 92, 8),
)

# Japanese eras: (first day, kanji name, initial).
_ERAS: tuple[tuple[dt.date, str, str], ...] = (
    (dt.date(2019, 5, 1), "令和", "R"),
    (dt.date(1989, 1, 8), "平成", "H"),
    (dt.date(1926, 12, 25), "昭和", "S"),
    (dt.date(1912, 7, 30), "大正", "T"),
    (dt.date(1868, 1, 25), "明治", "M"),
)

_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
_KANJI_DIGITS = "〇一二三四五六七八九"
_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮ", "アイウエオツヤユヨワ")
_O_ROW = "オコソトノホモヨロゴゾドボポョ"
_U_ROW = "ウクスツヌフムユルグズヅブプュ"
# Readings a careless typist confuses: voiced and unvoiced, near neighbours on the keyboard.
_KANA_TYPOS: dict[str, str] = dict(pair.split(":") for pair in data.KANA_TYPOS.split())
_LONG_VOWEL_RE = re.compile(f"(?<=[{_O_ROW}])[ウオ]|(?<=[{_U_ROW}])ウ")


class SyntheticDataError(InvalidInput):
    """The generator was asked for something impossible (negative sizes, overlap too large)."""

    code = "synthetic_data_invalid"
    title = "Invalid synthetic data request"


@dataclass(frozen=True, slots=True)
class Town:
    """A town (町名) with its one postal code and its city's landline area code."""

    prefecture: str
    city: str
    name: str
    postal_code: str  # "160-0023"
    area_code: str  # "03", "042", "0422"
    max_chome: int  # 0: addresses use 番地 without 丁目


@dataclass(frozen=True, slots=True)
class Residence:
    """Where a household lives: town, 丁目 (0 if none), 番, 号 (0 if none), building and room."""

    town: Town
    chome: int
    ban: int
    go: int
    building: str | None
    room: str | None


@dataclass(frozen=True, slots=True)
class Person:
    """One real person of the synthetic world, in canonical form."""

    id: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    sex: str  # "m" or "f"
    birth_date: dt.date
    residence: Residence
    mobile: str | None  # "090-1234-5678"
    landline: str | None  # "03-1234-5678"
    email: str | None
    household: str  # shared by the members of one household
    alt_email: str | None = None  # a second address some companies get instead


# --------------------------------------------------------------------------- tables

T = TypeVar("T")


class _Weighted(Generic[T]):
    """Items with cumulative weights, drawn with one ``random()`` and a bisection."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        pairs = [(item, w) for item, w in zip(items, weights, strict=True) if w > 0]
        self._items = [item for item, _ in pairs]
        self._cum = list(itertools.accumulate(w for _, w in pairs))
        self._total = self._cum[-1]

    def draw(self, rng: random.Random) -> T:
        return self._items[bisect.bisect_right(self._cum, rng.random() * self._total)]


@dataclass(frozen=True, slots=True)
class _Tables:
    surnames: _Weighted[tuple[str, str, int]]
    given: dict[tuple[str, int], _Weighted[tuple[str, str, int, int, int]]]
    towns: tuple[Town, ...]
    domains: _Weighted[str]


def _between(rng: random.Random, low: int, high: int) -> int:
    """An integer in ``[low, high]`` at a third of ``randint``'s cost; as deterministic."""
    return low + int(rng.random() * (high - low + 1))


def _seeded(seed: int | str) -> random.Random:
    return random.Random(seed)  # noqa: S311 (synthetic data, not secrets)


@cache
def _tables() -> _Tables:
    surnames = _surnames()
    given: dict[tuple[str, int], _Weighted[tuple[str, str, int, int, int]]] = {}
    for sex, names, heads, tails in (
        ("m", data.MALE_NAMES, data.MALE_HEADS, data.MALE_TAILS),
        ("f", data.FEMALE_NAMES, data.FEMALE_HEADS, data.FEMALE_TAILS),
    ):
        composed = _composed_given_names(names, heads, tails)
        for cohort in range(3):
            listed = [float(row[2 + cohort]) for row in names]
            tail = [float(row[2 + cohort]) for row in composed]
            scale = sum(listed) / sum(tail)  # the tail holds half of each cohort's names
            given[sex, cohort] = _Weighted(
                [*names, *composed], [*listed, *(w * scale for w in tail)]
            )
    return _Tables(
        surnames=_Weighted(surnames, [row[2] for row in surnames]),
        given=given,
        towns=_build_towns(),
        domains=_Weighted([d for d, _ in data.EMAIL_DOMAINS], [w for _, w in data.EMAIL_DOMAINS]),
    )


@cache
def _ages(low: int, high: int) -> _Weighted[int]:
    """Ages from ``low`` to ``high``, each weighted by its band's share of the population."""
    ages = [
        (age, weight / (hi - lo + 1))
        for lo, hi, weight in _AGE_BANDS
        for age in range(max(lo, low), min(hi, high) + 1)
    ]
    return _Weighted([age for age, _ in ages], [weight for _, weight in ages])


@cache
def _fixed_line() -> re.Pattern[str]:
    """The numbering plan's pattern for Japanese landlines (national number, no leading 0)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("JP")
    if metadata is None or metadata.fixed_line is None:  # pragma: no cover - bundled data
        raise SyntheticDataError("phonenumbers has no Japanese numbering plan; reinstall it.")
    return re.compile(str(metadata.fixed_line.national_number_pattern))


@cache
def _exchange_heads(area: str) -> tuple[str, ...]:
    """The first digits of local exchanges that the numbering plan allows after ``area``
    (per ``phonenumbers``' metadata), so that every landline drawn is a valid number."""
    width = 6 - len(area)
    pattern = _fixed_line()
    heads = []
    for head in range(20, 100):
        digits = f"{head}"[:width]
        samples = (f"{area}{digits:0<{width}}0000", f"{area}{digits:9<{width}}9999")
        if all(pattern.fullmatch(number[1:]) for number in samples):
            heads.append(digits)
    if not heads:  # pragma: no cover - every area code of the data has valid exchanges
        raise SyntheticDataError(f"No valid local exchange for area code {area}.")
    return tuple(dict.fromkeys(heads))


def _pairs(spec: str) -> list[list[str]]:
    return [item.split(":") for item in spec.split()]


def _surnames() -> list[tuple[str, str, int]]:
    """The listed surnames plus a composed tail holding two thirds of the weight."""
    listed = list(data.SURNAMES)
    known = {kanji for kanji, _, _ in listed}
    composed: list[tuple[str, str]] = []
    for head, head_kana in _pairs(data.SURNAME_HEADS):
        for tail, tail_kana in _pairs(data.SURNAME_TAILS):
            kanji = head + tail
            if kanji in known or head == tail:
                continue
            plain, _, voiced = tail_kana.partition("/")
            stable = zlib.crc32(kanji.encode())
            kana = head_kana + (voiced if voiced and stable % 2 else plain)
            composed.append((kanji, kana))
            known.add(kanji)
    total = sum(weight for _, _, weight in listed)
    # Integer weights in units of 1/100 of the listed ones, varied by a stable hash.
    unit = 2 * total * 100 // len(composed)
    weighted = [
        (kanji, kana, max(1, unit * (50 + zlib.crc32(kanji.encode()) % 100) // 100))
        for kanji, kana in composed
    ]
    return [(kanji, kana, weight * 100) for kanji, kana, weight in listed] + weighted


def _composed_given_names(
    listed: Sequence[tuple[str, str, int, int, int]], heads: str, tails: str
) -> list[tuple[str, str, int, int, int]]:
    known = {row[0] for row in listed}
    composed = []
    for head, head_kana in _pairs(heads):
        for tail, tail_kana, old, mid, young in _pairs(tails):
            if head + tail not in known and head != tail:
                composed.append(
                    (head + tail, head_kana + tail_kana, int(old), int(mid), int(young))
                )
    return composed


def _build_towns() -> tuple[Town, ...]:
    """Every town of ``CITIES`` (padded with common town names) with a unique postal code."""
    used: dict[str, set[int]] = {}
    towns: list[Town] = []
    for prefecture, city, prefix, area, spec in data.CITIES:
        entries = [(name, int(chome)) for name, chome in (t.split(":") for t in spec.split())]
        names = {name for name, _ in entries}
        # Pad small cities with common town names, chosen by a stable hash of the city.
        pad_rng = _seeded(zlib.crc32(city.encode()))
        for generic in pad_rng.sample(data.GENERIC_TOWNS, 3):
            name, chome = generic.split(":")
            if name not in names and len(entries) < 7:
                entries.append((name, int(chome)))
                names.add(name)
        taken = used.setdefault(prefix, set())
        for name, max_chome in entries:
            code_rng = _seeded(zlib.crc32(f"{city}{name}".encode()))
            upper = 99 if prefecture == "東京都" and city.endswith("区") else 999
            suffix = _between(code_rng, 1, upper)
            while suffix in taken:
                suffix = suffix % 999 + 1
            taken.add(suffix)
            towns.append(Town(prefecture, city, name, f"{prefix}-{suffix:04d}", area, max_chome))
    return tuple(towns)


@cache
def _romaji(kana: str) -> str:
    return str(jaconv.kana2alphabet(jaconv.kata2hira(kana))).replace("'", "")


# --------------------------------------------------------------------------- population


class _World:
    """The state of one population draw: the generator, and the numbers already handed out."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.tables = _tables()
        self.phones: set[str] = set()
        self.emails: set[str] = set()
        self.households = 0
        self.persons = 0

    # identity ---------------------------------------------------------------

    def next_id(self) -> str:
        self.persons += 1
        return f"P{self.persons:07d}"

    def next_household(self) -> str:
        self.households += 1
        return f"H{self.households:07d}"

    def surname(self) -> tuple[str, str]:
        kanji, kana, _ = self.tables.surnames.draw(self.rng)
        second = data.SURNAME_READINGS.get(kanji)
        if second is not None and self.rng.random() < second[1]:
            kana = second[0]
        return kanji, kana

    def given_name(self, sex: str, birth: dt.date) -> tuple[str, str]:
        cohort = 0 if birth.year < 1960 else 1 if birth.year < 1990 else 2
        kanji, kana, *_ = self.tables.given[sex, cohort].draw(self.rng)
        return kanji, kana

    def birth_date(self, low: int = 18, high: int = 92) -> dt.date:
        rng = self.rng
        age = _ages(low, high).draw(rng)
        # aged exactly ``age`` at REFERENCE_DATE: born in the year up to that birthday
        last = _YEARS_BEFORE[age]
        return dt.date.fromordinal(last - int(rng.random() * (last - _YEARS_BEFORE[age + 1])))

    # places -----------------------------------------------------------------

    def residence(self, town: Town | None = None) -> Residence:
        return _draw_residence(self.rng, self.tables.towns, town)

    # contact ------------------------------------------------------------------

    def mobile(self) -> str:
        rng = self.rng
        while True:
            head = ("090", "080", "070")[bisect.bisect_right((0.5, 0.85), rng.random())]
            number = f"{head}-{_between(rng, 1000, 9999)}-{_between(rng, 0, 9999):04d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def landline(self, town: Town) -> str:
        rng = self.rng
        area = town.area_code
        heads = _exchange_heads(area)
        width = 6 - len(area)  # the exchange: 10 digits in all, the last 4 the subscriber
        while True:
            exchange = heads[int(rng.random() * len(heads))]
            if width > 2:
                exchange += f"{int(rng.random() * 10 ** (width - 2)):0{width - 2}d}"
            number = f"{area}-{exchange}-{int(rng.random() * 10000):04d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def email(self, family_kana: str, given_kana: str, birth: dt.date) -> str:
        rng = self.rng
        f, g = _romaji(family_kana), _romaji(given_kana)
        if rng.random() < 0.6:  # most people write Hepburn without long vowels
            f, g = _short_vowels(f), _short_vowels(g)
        pattern = int(rng.random() * 8)
        if pattern == 0:
            local = f"{g}.{f}"
        elif pattern == 1:
            local = f"{f}.{g}"
        elif pattern == 2:
            local = g[0] + f
        elif pattern == 3:
            local = f + g[0]
        elif pattern == 4:
            local = f"{g}{birth.year % 100:02d}"
        elif pattern == 5:
            local = f"{f}_{g}"
        elif pattern == 6:
            local = f"{g}.{f}{birth.month:02d}{birth.day:02d}"
        else:
            local = f"{f}{_between(rng, 1, 999)}"
        domain = self.tables.domains.draw(rng)
        address = f"{local}@{domain}"
        while address in self.emails:
            address = f"{local}{_between(rng, 1, 99)}@{domain}"
        self.emails.add(address)
        return address

    # people -------------------------------------------------------------------

    def person(
        self,
        *,
        household: str,
        residence: Residence,
        surname: tuple[str, str],
        sex: str,
        birth: dt.date,
        given: tuple[str, str] | None = None,
        landline: str | None = None,
        email: str | None = None,
        own_email: float = 0.85,
        own_mobile: float = 0.92,
    ) -> Person:
        rng = self.rng
        given = given or self.given_name(sex, birth)
        mobile = self.mobile() if rng.random() < own_mobile else None
        if email is None and rng.random() < own_email:
            email = self.email(surname[1], given[1], birth)
        alt_email = None
        if email is not None and rng.random() < 0.3:
            alt_email = self.email(surname[1], given[1], birth)
        if mobile is None and landline is None:
            mobile = self.mobile()  # everyone can be called
        return Person(
            id=self.next_id(),
            family_name=surname[0],
            given_name=given[0],
            family_name_kana=surname[1],
            given_name_kana=given[1],
            sex=sex,
            birth_date=birth,
            residence=residence,
            mobile=mobile,
            landline=landline,
            email=email,
            household=household,
            alt_email=alt_email,
        )

    def single(self) -> list[Person]:
        rng = self.rng
        residence = self.residence()
        landline = self.landline(residence.town) if rng.random() < 0.2 else None
        return [
            self.person(
                household=self.next_household(),
                residence=residence,
                surname=self.surname(),
                sex="m" if rng.random() < 0.49 else "f",
                birth=self.birth_date(),
                landline=landline,
            )
        ]

    def family(self) -> list[Person]:
        """A couple, with adult children or a parent in some households."""
        rng = self.rng
        household = self.next_household()
        residence = self.residence()
        surname = self.surname()
        landline = self.landline(residence.town) if rng.random() < 0.8 else None
        shared_email = None
        head_sex = "m" if rng.random() < 0.8 else "f"
        head_birth = self.birth_date(low=40, high=85)
        members = []
        head = self.person(
            household=household,
            residence=residence,
            surname=surname,
            sex=head_sex,
            birth=head_birth,
            landline=landline,
        )
        members.append(head)
        if head.email is not None and rng.random() < 0.3:
            shared_email = head.email  # the spouse uses the household's address
        spouse_birth = _shift_years(head_birth, _between(rng, -4, 6), rng)
        if spouse_birth.toordinal() > _ADULT_BORN_BY:
            spouse_birth = dt.date.fromordinal(_ADULT_BORN_BY)
        members.append(
            self.person(
                household=household,
                residence=residence,
                surname=surname,
                sex="f" if head_sex == "m" else "m",
                birth=spouse_birth,
                landline=landline,
                email=shared_email,
                own_mobile=0.85,
            )
        )
        youngest_parent = max(head_birth, spouse_birth)
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            birth = _shift_years(youngest_parent, _between(rng, 24, 38), rng)
            if birth.toordinal() > _ADULT_BORN_BY:
                continue  # minors are no customers
            members.append(
                self.person(
                    household=household,
                    residence=residence,
                    surname=surname,
                    sex="m" if rng.random() < 0.5 else "f",
                    birth=birth,
                    landline=landline,
                    own_email=0.9,
                )
            )
        return members

    def namesake(self, model: Person, *, same_town: bool) -> list[Person]:
        """Someone with ``model``'s full name and reading, born on another day."""
        rng = self.rng
        birth = model.birth_date
        while birth == model.birth_date:
            birth = self.birth_date()
        residence = self.residence(model.residence.town if same_town else None)
        landline = self.landline(residence.town) if rng.random() < 0.2 else None
        return [
            self.person(
                household=self.next_household(),
                residence=residence,
                surname=(model.family_name, model.family_name_kana),
                sex=model.sex,
                birth=birth,
                given=(model.given_name, model.given_name_kana),
                landline=landline,
            )
        ]


def _draw_residence(
    rng: random.Random, towns: Sequence[Town], town: Town | None = None
) -> Residence:
    """An address in ``town`` (else a random town): 丁目-番-号, a building for 40%."""
    if town is None:
        town = towns[int(rng.random() * len(towns))]
    if town.max_chome:
        chome, ban = _between(rng, 1, town.max_chome), _between(rng, 1, 30)
    else:
        chome, ban = 0, _between(rng, 1, 2400)
    go = _between(rng, 1, 28) if rng.random() < 0.8 else 0
    building = room = None
    if rng.random() < 0.4:
        word = data.BUILDING_WORDS[int(rng.random() * len(data.BUILDING_WORDS))]
        kind = data.BUILDING_KINDS[int(rng.random() * len(data.BUILDING_KINDS))]
        building = kind.format(w=word)
        room = f"{_between(rng, 1, 12)}{_between(rng, 1, 10):02d}"
    return Residence(town, chome, ban, go, building, room)


def _shift_years(day: dt.date, years: int, rng: random.Random) -> dt.date:
    """``day`` moved ``years`` later (earlier when negative), give or take half a year."""
    return dt.date.fromordinal(day.toordinal() + years * 365 + _between(rng, -180, 180))


_ADULT_BORN_BY = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - 18).toordinal()
# ordinal of REFERENCE_DATE ``n`` years back, for n = 0 … 100 (April 1: no leap-day trouble)
_YEARS_BEFORE = tuple(
    REFERENCE_DATE.replace(year=REFERENCE_DATE.year - n).toordinal() for n in range(101)
)


def _short_vowels(romaji: str) -> str:
    return romaji.replace("ou", "o").replace("uu", "u").replace("oo", "o")


def generate_population(n: int, *, seed: int) -> list[Person]:
    """Draw ``n`` persons (ids ``P0000001`` …); the same ``seed`` always gives the same persons.

    About a quarter of them live in family households (shared surname, address, landline
    and sometimes e-mail); namesakes (same full name, other birth date) occur from the name
    frequencies and are also injected, some in the same town.
    """
    if n < 0:
        raise SyntheticDataError(f"A population cannot have {n} persons; ask for 0 or more.")
    world = _World(_seeded(seed))
    people: list[Person] = []
    while len(people) < n:
        roll = world.rng.random()
        if roll < FAMILY_HOUSEHOLD_SHARE:
            drawn = world.family()
        elif people and roll < FAMILY_HOUSEHOLD_SHARE + NAMESAKE_SHARE:
            drawn = world.namesake(people[int(world.rng.random() * len(people))], same_town=False)
        elif people and roll < FAMILY_HOUSEHOLD_SHARE + NAMESAKE_SHARE + SAME_TOWN_NAMESAKE_SHARE:
            drawn = world.namesake(people[int(world.rng.random() * len(people))], same_town=True)
        else:
            drawn = world.single()
        people.extend(drawn[: n - len(people)])
    return people


# --------------------------------------------------------------------------- rendering


def _era(day: dt.date) -> tuple[str, str, int]:
    for start, name, initial in _ERAS:
        if day >= start:
            return name, initial, day.year - start.year + 1
    return "明治", "M", day.year - 1867


def _kanji_number(n: int) -> str:
    if n < 10:
        return _KANJI_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _KANJI_DIGITS[tens]) + "十" + (_KANJI_DIGITS[ones] if ones else "")


def _format_birth_date(day: dt.date, style: int) -> str:
    y, m, d = day.year, day.month, day.day
    if style == 0:
        return f"{y}/{m}/{d}"
    if style == 1:
        return f"{y}{m:02d}{d:02d}"
    if style == 2:
        return f"{y}/{m:02d}/{d:02d}"
    if style == 3:
        return f"{y}年{m}月{d}日"
    name, initial, year = _era(day)
    if style == 4:
        return f"{name}{'元' if year == 1 else year}年{m}月{d}日"
    if style == 5:
        return f"{initial}{year}.{m}.{d}"
    if style == 6:
        return f"{initial}{year:02d}/{m:02d}/{d:02d}"
    return f"{name}{year}年{m}月{d}日".translate(_FULL_WIDTH)  # 昭和３２年３月２９日


def _format_phone(number: str, style: int) -> str:
    head, middle, tail = number.split("-")
    if style == 0:
        return head + middle + tail
    if style == 1:
        return f"({head}){middle}-{tail}"
    if style == 2:
        return f"+81 {head[1:]}-{middle}-{tail}"
    if style == 3:
        return number.translate(_FULL_WIDTH)
    return f"{head} {middle} {tail}"


def _format_address(res: Residence, style: int) -> str:
    town = res.town
    prefix = town.prefecture + town.city + town.name
    if style == 1:  # without the prefecture
        prefix = town.city + town.name
    elif style == 6:  # a space between city and town, as some forms print it
        prefix = f"{town.prefecture}{town.city} {town.name}"
    block = f"{res.ban}-{res.go}" if res.go else str(res.ban)
    if res.chome:
        if style == 2:
            block = f"{_kanji_number(res.chome)}丁目{res.ban}番" + (f"{res.go}号" if res.go else "")
        elif style == 3:
            block = f"{res.chome}丁目{block}"
        else:
            block = f"{res.chome}-{block}"
    elif style == 2:
        block = f"{res.ban}番地" + (str(res.go) if res.go else "")
    if style == 4:
        block = block.translate(_FULL_WIDTH)
    elif style == 5:
        block = block.replace("-", "ー")  # a long-vowel mark typed for a hyphen
    if res.building is None or style == 7:
        return prefix + block
    room = f"{res.room}号室" if style in (2, 3) else res.room
    return (
        f"{prefix}{block} {res.building}{room}"
        if style != 4
        else f"{prefix}{block}　{res.building}　{room}"
    )


def canonical_row(person: Person, *, row_id: str | None = None) -> dict[str, str]:
    """The row ``render`` gives at ``variant_rate=0``: standard kanji, full-width katakana,
    ISO birth date, ``男``/``女``, ``160-0023``, ``東京都新宿区西新宿2-8-1 サンハイツ203``,
    the mobile number (the landline when there is none) as ``090-1234-5678``, the e-mail as
    stored."""
    return {
        "id": row_id or person.id,
        "family_name": person.family_name,
        "given_name": person.given_name,
        "family_name_kana": person.family_name_kana,
        "given_name_kana": person.given_name_kana,
        "birth_date": person.birth_date.isoformat(),
        "sex": "男" if person.sex == "m" else "女",
        "postal_code": person.residence.town.postal_code,
        "address": _format_address(person.residence, 0),
        "phone": person.mobile or person.landline or "",
        "email": person.email or "",
    }


def _old_form(name: str, rng: random.Random) -> str | None:
    for standard, old in data.OLD_FORMS.items():
        if standard in name:
            return name.replace(standard, old[int(rng.random() * len(old))])
    return None


def _lengthen(kana: str) -> str:
    """オオタ → オータ, ユウキ → ユーキ: one long mark per syllable (オオオカ → オーオカ)."""
    out: list[str] = []
    lengthened = False
    for i, ch in enumerate(kana):
        if i and not lengthened and _LONG_VOWEL_RE.match(kana, i):
            out.append("ー")
            lengthened = True
        else:
            out.append(ch)
            lengthened = False
    return "".join(out)


def _kana_variant(kana: str, rng: random.Random) -> str:
    style = int(rng.random() * 4)
    if style == 1:
        return str(jaconv.z2h(kana, kana=True, ascii=False, digit=False))
    if style == 2:
        long = _lengthen(kana)
        if long != kana:
            return long
    if style == 3:
        large = kana.translate(_SMALL_TO_LARGE)
        if large != kana:
            return large
    return str(jaconv.kata2hira(kana))


def _kana_typo(kana: str, rng: random.Random) -> str:
    if len(kana) < 2:
        return kana + "ー"
    i = int(rng.random() * len(kana))
    swap = _KANA_TYPOS.get(kana[i])
    if swap is not None:
        return kana[:i] + swap + kana[i + 1 :]
    if rng.random() < 0.5:
        return kana[:i] + kana[i + 1 :]  # a dropped character
    j = min(i + 1, len(kana) - 1) if i < len(kana) - 1 else i - 1
    chars = list(kana)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def _email_variant(email: str, rng: random.Random) -> str:
    local, _, domain = email.partition("@")
    style = int(rng.random() * 4)
    if style == 0:
        return f"{local[:1].upper()}{local[1:]}@{domain}"
    if style == 1:
        return f"{local}@{domain.upper()}"
    if style == 2:
        return f"{local}＠{domain}"  # typed with a Japanese input method on
    return f" {email} "


def render(
    person: Person,
    *,
    variant_rate: float,
    rng: random.Random,
    change_rate: float | None = None,
    row_id: str | None = None,
) -> dict[str, str]:
    """One file row (the eleven ``COLUMNS``) for ``person``, with variants drawn from ``rng``.

    Each field takes a format variant with probability ``variant_rate``; real differences
    (move, marriage, reading typo, homophone kanji, other phone, swapped day/month, missing
    values) come with probabilities proportional to ``change_rate`` (default
    ``variant_rate / 2``). Both 0 → ``canonical_row(person)``.
    """
    if not 0 <= variant_rate <= 1 or (change_rate is not None and not 0 <= change_rate <= 1):
        raise SyntheticDataError("Variant and change rates are probabilities: use 0 to 1.")
    row = canonical_row(person, row_id=row_id)
    vr = variant_rate
    cr = variant_rate / 2 if change_rate is None else change_rate
    if vr == 0 and cr == 0:
        return row
    rand = rng.random
    residence = person.residence

    # Real differences first: they change what the format variants then render.
    if cr:
        age = REFERENCE_DATE.year - person.birth_date.year
        if person.sex == "f" and age < 60 and rand() < 0.3 * cr:
            family, kana, _ = _tables().surnames.draw(rng)
            if family != person.family_name:
                row["family_name"], row["family_name_kana"] = family, kana
        elif rand() < 0.1 * cr and person.family_name in data.HOMOPHONES:
            row["family_name"] = data.HOMOPHONES[person.family_name]
        if rand() < 0.3 * cr:
            key = "family_name_kana" if rand() < 0.5 else "given_name_kana"
            row[key] = _kana_typo(row[key], rng)
        if rand() < 0.4 * cr:
            moved = _draw_residence(rng, _tables().towns)
            row["postal_code"] = moved.town.postal_code
            row["address"] = _format_address(moved, 0)
            residence = moved
        if person.mobile and person.landline and rand() < 0.3 * cr:
            row["phone"] = person.landline
        if person.alt_email and rand() < cr:
            row["email"] = person.alt_email  # given to this company instead
        day = person.birth_date
        if day.day <= 12 and day.day != day.month and rand() < 0.05 * cr:
            row["birth_date"] = dt.date(day.year, day.day, day.month).isoformat()
        for key, share in (
            ("family_name_kana", 0.1),
            ("given_name_kana", 0.05),
            ("birth_date", 0.1),
            ("sex", 0.3),
            ("postal_code", 0.15),
            ("phone", 0.15),
            ("email", 0.2),
        ):
            if rand() < share * cr:
                row[key] = ""

    if not vr:
        return row
    if rand() < vr:
        old = _old_form(row["family_name"], rng)
        if old is not None and rand() < 0.6:
            row["family_name"] = old
        else:  # the full name in the family-name column
            sep = ("", " ", "　")[int(rng.random() * 3)]
            row["family_name"] = f"{row['family_name']}{sep}{row['given_name']}"
            row["given_name"] = ""
    if rand() < vr and row["family_name_kana"]:
        row["family_name_kana"] = _kana_variant(row["family_name_kana"], rng)
    if rand() < vr and row["given_name_kana"]:
        row["given_name_kana"] = _kana_variant(row["given_name_kana"], rng)
    if rand() < vr and row["birth_date"] and len(row["birth_date"]) == 10:
        row["birth_date"] = _format_birth_date(
            dt.date.fromisoformat(row["birth_date"]), int(rng.random() * 8)
        )
    if rand() < vr and row["sex"]:
        male = row["sex"] == "男"
        row["sex"] = (("M", "F"), ("1", "2"), ("男性", "女性"))[int(rng.random() * 3)][
            0 if male else 1
        ]
    if rand() < vr and row["postal_code"]:
        code = row["postal_code"]
        row["postal_code"] = (
            code.replace("-", ""),
            f"〒{code}",
            code.translate(_FULL_WIDTH),
        )[int(rng.random() * 3)]
    if rand() < vr:
        row["address"] = _format_address(residence, _between(rng, 1, 7))
    if rand() < vr and row["phone"]:
        row["phone"] = _format_phone(row["phone"], int(rng.random() * 5))
    if rand() < vr and row["email"]:
        row["email"] = _email_variant(row["email"], rng)
    return row


# --------------------------------------------------------------------------- files


def make_pair(
    n_left: int,
    n_right: int,
    overlap: int,
    *,
    seed: int,
    variant_rate: float,
    change_rate: float | None = None,
) -> tuple[list[dict[str, str]], list[dict[str, str]], set[tuple[str, str]]]:
    """Two customer files sharing ``overlap`` persons, and the true links between them.

    The population has ``n_left + n_right - overlap`` persons; each file's rows are shuffled
    and numbered ``L000001`` … / ``R000001`` …, rendered independently with ``render``.
    Returns ``(left_rows, right_rows, {(left_id, right_id), …})`` with ``overlap`` links.
    """
    if min(n_left, n_right, overlap) < 0 or overlap > min(n_left, n_right):
        raise SyntheticDataError(
            f"Cannot share {overlap} persons between files of {n_left} and {n_right} rows: "
            "the overlap must be between 0 and the smaller file's size."
        )
    people = generate_population(n_left + n_right - overlap, seed=seed)
    rng = _seeded(f"tsunagu-pair-{seed}")
    order = list(range(len(people)))
    rng.shuffle(order)
    both = order[:overlap]
    left = both + order[overlap:n_left]
    right = both + order[n_left:]
    rng.shuffle(left)
    rng.shuffle(right)
    left_rows, left_ids = _render_file(people, left, "L", variant_rate, change_rate, rng)
    right_rows, right_ids = _render_file(people, right, "R", variant_rate, change_rate, rng)
    truth = {(left_ids[i], right_ids[i]) for i in both}
    return left_rows, right_rows, truth


def _render_file(
    people: Sequence[Person],
    order: Iterable[int],
    prefix: str,
    variant_rate: float,
    change_rate: float | None,
    rng: random.Random,
) -> tuple[list[dict[str, str]], dict[int, str]]:
    rows: list[dict[str, str]] = []
    ids: dict[int, str] = {}
    for number, index in enumerate(order, start=1):
        row_id = f"{prefix}{number:06d}"
        ids[index] = row_id
        rows.append(
            render(
                people[index],
                variant_rate=variant_rate,
                change_rate=change_rate,
                rng=rng,
                row_id=row_id,
            )
        )
    return rows, ids


def write_csv(
    rows: Iterable[Mapping[str, str]], path: Path | str, *, encoding: str = "utf-8"
) -> None:
    """Write ``rows`` with a ``COLUMNS`` header to ``path`` (``utf-8``, ``utf-8-sig``, ``cp932``).

    Raises ``SyntheticDataError`` when a value cannot be written in ``encoding``.
    """
    try:
        with Path(path).open("w", encoding=encoding, newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    except UnicodeEncodeError as exc:
        raise SyntheticDataError(
            f"{path}: {exc.object[exc.start : exc.end]!r} cannot be written as {encoding}; "
            "write UTF-8 instead."
        ) from exc
    except LookupError as exc:
        raise SyntheticDataError(
            f"Unknown encoding {encoding!r}: use utf-8, utf-8-sig or cp932."
        ) from exc


def write_truth_csv(truth: Iterable[tuple[str, str]], path: Path | str) -> None:
    """Write the true links as ``left_id,right_id`` (UTF-8, sorted), for benchmarks and demos."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("left_id", "right_id"))
        writer.writerows(sorted(truth))
