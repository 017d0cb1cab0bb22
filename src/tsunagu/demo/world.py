"""Building the demo world: the steps, in order, and what they report.

Each step is a function ``(session, WorldContext) -> StepReport`` in its own module; later
issues append theirs (consent, CRM pipelines, cases …) to ``STEPS``.  A step must be

- **deterministic**: everything it draws comes from ``context.seed``;
- **idempotent**: it finds what an earlier run made and creates only what is missing, so
  ``tsunagu demo`` can run again and again on the same database.

The caller owns the transaction (the CLI commits once at the end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tsunagu.core.settings import Settings, get_settings
from tsunagu.demo.cases import cases_step
from tsunagu.demo.consents import consents_step, records_step
from tsunagu.demo.crm import crm_step
from tsunagu.demo.ledger import ensure_demo_ledger_for
from tsunagu.demo.linkage import linkage_step
from tsunagu.demo.organizations import ORGANIZATIONS, ensure_organizations
from tsunagu.demo.persons import (
    PORTAL_PERSONS,
    ensure_portal_persons,
    generate_persons,
    insert_persons,
)
from tsunagu.demo.progress import NO_PROGRESS, Progress
from tsunagu.demo.staff import DemoStaff, ensure_staff
from tsunagu.identity.models import Organization
from tsunagu.ledger.service import tree_size as ledger_size

DEFAULT_SEED = 20260401
DEFAULT_PERSON_COUNT = 10_000
#: the password of every demo account — demo data printed on screen, not a secret
DEMO_PASSWORD = "tsunagu-demo-2026"  # noqa: S105


@dataclass
class WorldContext:
    seed: int = DEFAULT_SEED
    person_count: int = DEFAULT_PERSON_COUNT
    password: str = DEMO_PASSWORD
    progress: Progress = NO_PROGRESS
    organizations: dict[str, Organization] = field(default_factory=dict)
    staff: list[DemoStaff] = field(default_factory=list)
    #: whose ledger keys the usage history is written with (None: this process's settings)
    settings: Settings | None = None


@dataclass(frozen=True, slots=True)
class StepReport:
    name: str
    total: int
    created: int


Step = Callable[[Session, WorldContext], StepReport]


def organizations_step(session: Session, context: WorldContext) -> StepReport:
    context.organizations, created = ensure_organizations(session)
    return StepReport("organizations", len(ORGANIZATIONS), created)


def staff_step(session: Session, context: WorldContext) -> StepReport:
    context.staff, created = ensure_staff(
        session,
        context.organizations,
        password=context.password,
        seed=context.seed,
        progress=context.progress,
    )
    return StepReport("staff users", len(context.staff), created)


def persons_step(session: Session, context: WorldContext) -> StepReport:
    seeds = list(generate_persons(context.person_count, context.seed))
    created = insert_persons(session, seeds, progress=context.progress)
    return StepReport("persons", len(seeds), created)


def portal_persons_step(session: Session, context: WorldContext) -> StepReport:
    created, _existing = ensure_portal_persons(session, context.password)
    return StepReport("portal accounts", len(PORTAL_PERSONS), created)


def ledger_step(session: Session, context: WorldContext) -> StepReport:
    settings = context.settings or get_settings()
    created = ensure_demo_ledger_for(session, settings, context.seed)
    return StepReport("ledger entries", ledger_size(session), created)


STEPS: list[Step] = [
    organizations_step,
    staff_step,
    persons_step,
    portal_persons_step,
    ledger_step,
    records_step,
    consents_step,
    crm_step,
    cases_step,
    linkage_step,
]


@dataclass(frozen=True, slots=True)
class WorldSummary:
    reports: list[StepReport]
    staff: list[DemoStaff]
    password: str


def build_world(
    session: Session,
    *,
    seed: int = DEFAULT_SEED,
    person_count: int = DEFAULT_PERSON_COUNT,
    progress: Progress = NO_PROGRESS,
    settings: Settings | None = None,
) -> WorldSummary:
    """Run every step on ``session`` (flushed, not committed) and report what each did."""
    context = WorldContext(
        seed=seed, person_count=person_count, progress=progress, settings=settings
    )
    reports = [step(session, context) for step in STEPS]
    session.flush()
    return WorldSummary(reports=reports, staff=context.staff, password=context.password)
