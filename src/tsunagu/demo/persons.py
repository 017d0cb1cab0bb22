"""The demo world's persons (data subjects): a deterministic generator and a bulk insert.

``generate_persons(count, seed)`` is pure: the same seed yields the same persons — ids
included — in every run and on every machine, so the demo can be rebuilt and compared.
Ids are UUIDv7-shaped with a fixed timestamp base (2026-01-01 UTC plus the index in
milliseconds), keeping tsunagu's "ids sort by creation order" property.

``insert_persons`` writes them with one executemany per chunk (SQLAlchemy Core), skipping the
ids that are already there, so re-running the demo adds nothing and fails on nothing.  These
persons have no password (hashing 10,000 passwords with argon2 would take minutes); the
few who can sign in to the portal are made by ``portal_persons`` through the identity
service.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tsunagu.demo.addresses import city_of, random_address, random_phone
from tsunagu.demo.names import FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES
from tsunagu.demo.passwords import demo_password_hash
from tsunagu.demo.progress import NO_PROGRESS, Progress
from tsunagu.identity import service as identity
from tsunagu.identity.models import Person

#: ids of demo persons start here (2026-01-01T00:00:00Z in Unix milliseconds)
_ID_EPOCH_MS = 1_767_225_600_000
#: ages are computed against this day, not today, so that the output never drifts
REFERENCE_DATE = date(2026, 4, 1)
#: e-mail domains of generated persons: sub-domains of example.jp, which JPRS reserves
EMAIL_DOMAINS = ("mail.example.jp", "mobile.example.jp", "web.example.jp", "example.ne.jp")
CHUNK_SIZE = 1000


@dataclass(frozen=True, slots=True)
class PersonSeed:
    """One generated person, in the columns of the ``persons`` table."""

    id: uuid.UUID
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    email: str
    phone: str
    postal_code: str
    address: str


def demo_person_id(rng: random.Random, index: int) -> uuid.UUID:
    """A UUIDv7-shaped id whose time part is the fixed epoch plus ``index`` ms."""
    value = ((_ID_EPOCH_MS + index) & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rng.getrandbits(12) << 64
    value |= 0b10 << 62
    value |= rng.getrandbits(62)
    return uuid.UUID(int=value)


def _email(rng: random.Random, family: str, given: str, index: int) -> str:
    style = rng.randrange(3)
    if style == 0:
        local = f"{given}.{family}"
    elif style == 1:
        local = f"{family}_{given}"
    else:
        local = f"{given[0]}{family}"
    # the index keeps the address unique however often a name repeats
    return f"{local}{index}@{rng.choice(EMAIL_DOMAINS)}"


def generate_persons(count: int, seed: int) -> Iterator[PersonSeed]:
    """``count`` persons drawn from ``seed``; the n-th person depends only on the seed."""
    # a seeded generator on purpose: the demo must be reproducible, not secret
    rng = random.Random(seed)  # noqa: S311
    for index in range(count):
        family = rng.choice(FAMILY_NAMES)
        given = rng.choice(MALE_GIVEN_NAMES if rng.random() < 0.5 else FEMALE_GIVEN_NAMES)
        age_days = rng.randint(18 * 365 + 5, 92 * 365)
        address = random_address(rng)
        landline = rng.random() < 0.25
        phone = random_phone(rng, city_of(address) if landline else None)
        yield PersonSeed(
            id=demo_person_id(rng, index),
            family_name=family.kanji,
            given_name=given.kanji,
            family_name_kana=family.kana,
            given_name_kana=given.kana,
            birth_date=REFERENCE_DATE - timedelta(days=age_days),
            email=_email(rng, family.romaji, given.romaji, index),
            phone=phone,
            postal_code=address.postal_code,
            address=address.full,
        )


def _existing_ids(session: Session, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    return set(session.scalars(select(Person.id).where(Person.id.in_(ids))))


def insert_persons(
    session: Session, seeds: Sequence[PersonSeed], *, progress: Progress = NO_PROGRESS
) -> int:
    """Insert the seeds that are not in the database yet; return how many were new."""
    progress.start("persons", len(seeds))
    created = 0
    for start in range(0, len(seeds), CHUNK_SIZE):
        chunk = seeds[start : start + CHUNK_SIZE]
        known = _existing_ids(session, [seed.id for seed in chunk])
        rows = [asdict(seed) for seed in chunk if seed.id not in known]
        if rows:
            session.execute(insert(Person), rows)
            created += len(rows)
        progress.advance(len(chunk))
    session.flush()
    return created


@dataclass(frozen=True, slots=True)
class PortalPerson:
    """A demo person who can sign in to the personal portal."""

    email: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    phone: str
    postal_code: str
    address: str
    locale: str


PORTAL_PERSONS = (
    PortalPerson(
        email="hanako.yamada@example.jp",
        family_name="山田",
        given_name="花子",
        family_name_kana="ヤマダ",
        given_name_kana="ハナコ",
        birth_date=date(1985, 6, 12),
        phone="090-1234-5678",
        postal_code="369-0101",
        address="埼玉県つなぎ野市本町2丁目3番4号",
        locale="ja",
    ),
    PortalPerson(
        email="kenichi.sato@example.jp",
        family_name="佐藤",
        given_name="健一",
        family_name_kana="サトウ",
        given_name_kana="ケンイチ",
        birth_date=date(1958, 11, 3),
        phone="080-2345-6789",
        postal_code="222-0033",
        address="神奈川県横浜市港北区新横浜1-5-8 新横浜ハイツ 305号室",
        locale="en",
    ),
)


def ensure_portal_persons(session: Session, password: str) -> tuple[int, int]:
    """Create the portal persons that are missing; return (created, already there)."""
    created = existing = 0
    for spec in PORTAL_PERSONS:
        found = session.scalar(select(Person).where(Person.email == spec.email))
        if found is not None:
            existing += 1
            continue
        person = identity.create_person(
            session,
            family_name=spec.family_name,
            given_name=spec.given_name,
            family_name_kana=spec.family_name_kana,
            given_name_kana=spec.given_name_kana,
            email=spec.email,
            locale=spec.locale,
        )
        person.password_hash = demo_password_hash(password)
        person.birth_date = spec.birth_date
        person.phone = spec.phone
        person.postal_code = spec.postal_code
        person.address = spec.address
        created += 1
    session.flush()
    return created, existing
