"""The demo world: a deterministic synthetic Japan that ``tsunagu demo`` builds and serves.

Four organizations (an e-commerce retailer, a manufacturer, a car dealer, a municipality),
staff in every role, 10,000 persons with kanji names and matching katakana readings, birth
dates, addresses and phone numbers, and two persons who can sign in to the portal.

Invariants: the same seed builds the same world; building twice changes nothing the second
time.  Modules, one per part: ``world`` (the ordered steps), ``organizations``, ``staff``,
``persons``, and the pure generators ``names`` and ``addresses``.
"""

from tsunagu.demo.persons import PORTAL_PERSONS, generate_persons
from tsunagu.demo.progress import NO_PROGRESS, Progress
from tsunagu.demo.world import (
    DEFAULT_PERSON_COUNT,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    STEPS,
    StepReport,
    WorldSummary,
    build_world,
)

__all__ = [
    "DEFAULT_PERSON_COUNT",
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "NO_PROGRESS",
    "PORTAL_PERSONS",
    "STEPS",
    "Progress",
    "StepReport",
    "WorldSummary",
    "build_world",
    "generate_persons",
]
