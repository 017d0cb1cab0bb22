"""The demo world's usage history in the transparency ledger.

What the demo organizations did with the data of the portal persons and of a sample of the
generated persons — consents given and withdrawn, reads allowed and refused, a provision,
and one clean-room query over a few hundred persons (a bulk entry that commits to their set
of pseudonyms) — so that "who used my data" and the staff console's ledger page have
something true to show.  Then one signed checkpoint.

Deterministic (times and choices come from the seed) and idempotent: when the ledger
already holds an entry of a demo organization, nothing is written.  Everything is appended
in one ``ledger.service.append`` batch, so the step stays fast.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.settings import Settings
from tsunagu.demo.organizations import ORGANIZATIONS
from tsunagu.demo.persons import PORTAL_PERSONS
from tsunagu.identity.models import Person
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry, b64, pseudonym
from tsunagu.ledger.models import LedgerEntry
from tsunagu.ledger.note import Signer

#: the history runs from here, one step of minutes at a time (times are fixed, not "now")
HISTORY_START = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
#: generated persons with a history of their own, besides the portal persons
SAMPLE_SIZE = 150
#: persons whose purchases the clean-room query aggregated
CLEANROOM_SIZE = 300


@dataclass(frozen=True, slots=True)
class Use:
    """One thing an organization did with one person's data."""

    kind: str
    org: str
    purpose: str
    categories: tuple[str, ...]
    actor: str = "api_key"
    recipient: str | None = None


#: the story of a portal person, in order
PORTAL_STORY = (
    Use("consent.given", "hikari-mart", "marketing.personalised_offers",
        ("contact.email", "purchase.order"), actor="person"),
    Use("access.allowed", "hikari-mart", "marketing.personalised_offers",
        ("purchase.order",)),
    Use("consent.given", "hikari-mart", "analytics.product_improvement",
        ("purchase.order",), actor="person"),
    Use("provision", "hikari-mart", "analytics.product_improvement",
        ("purchase.order",), recipient="minamoto-foods"),
    Use("access.denied", "minamoto-foods", "marketing.direct_mail",
        ("contact.postal_address",)),
    Use("consent.given", "tsunagino-city", "public.safe_driving_support",
        ("health.blood_pressure", "licence.driving"), actor="person"),
    Use("access.allowed", "tsunagino-city", "public.safe_driving_support",
        ("health.blood_pressure", "licence.driving"), actor="staff"),
    Use("access.allowed", "sakura-motors", "vehicle.registration",
        ("contact.postal_address", "vehicle.registration"), actor="staff"),
    Use("consent.withdrawn", "hikari-mart", "marketing.personalised_offers",
        ("contact.email", "purchase.order"), actor="person"),
)  # fmt: skip

#: what may happen to a sampled person
SAMPLE_USES = (
    Use("consent.given", "hikari-mart", "marketing.personalised_offers",
        ("contact.email", "purchase.order"), actor="person"),
    Use("access.allowed", "hikari-mart", "service.delivery",
        ("contact.postal_address", "purchase.order")),
    Use("access.denied", "minamoto-foods", "marketing.direct_mail",
        ("contact.postal_address",)),
    Use("consent.given", "tsunagino-city", "public.safe_driving_support",
        ("health.blood_pressure",), actor="person"),
    Use("access.allowed", "sakura-motors", "vehicle.registration",
        ("vehicle.registration",), actor="staff"),
)  # fmt: skip

_ACTOR_IDS = {slug: uuid.uuid5(uuid.NAMESPACE_URL, f"tsunagu-demo/{slug}") for slug in
              (o.slug for o in ORGANIZATIONS)}  # fmt: skip


def _actor(use: Use) -> str:
    if use.actor in ("person", "system"):
        return use.actor
    return f"{use.actor}:{_ACTOR_IDS[use.org]}"


def _entry(use: Use, person: bytes, when: datetime) -> Entry:
    refs = {"recipient": use.recipient} if use.recipient else {}
    return Entry(
        kind=use.kind,
        org=use.org,
        actor=_actor(use),
        time=when,
        purpose=use.purpose,
        categories=use.categories,
        subject={"pseudonym": b64(person)},
        refs=refs,
    )


def has_demo_history(session: Session) -> bool:
    slugs = [o.slug for o in ORGANIZATIONS]
    found = session.scalar(select(LedgerEntry.seq).where(LedgerEntry.org.in_(slugs)).limit(1))
    return found is not None


def demo_entries(
    portal_ids: Sequence[uuid.UUID], others: Sequence[uuid.UUID], key: bytes, seed: int
) -> list[Entry]:
    """The demo history, oldest first (pure: the same inputs give the same entries).

    The first ``SAMPLE_SIZE`` of ``others`` get a history of their own; the clean-room
    query covers the portal persons and ``others`` up to ``CLEANROOM_SIZE`` persons.
    """
    sample_ids = others[:SAMPLE_SIZE]
    rng = random.Random(seed ^ 0x1ED6E5)  # noqa: S311 (demo data, not secrets)
    timed: list[tuple[datetime, int, Entry]] = []
    order = 0
    for number, person_id in enumerate(portal_ids):
        me = pseudonym(key, person_id)
        when = HISTORY_START + timedelta(hours=3 * number)
        for use in PORTAL_STORY:
            when += timedelta(days=rng.randint(2, 9), minutes=rng.randint(0, 600))
            timed.append((when, order, _entry(use, me, when)))
            order += 1
    for person_id in sample_ids:
        me = pseudonym(key, person_id)
        when = HISTORY_START + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
        for use in rng.sample(SAMPLE_USES, rng.randint(1, 3)):
            when += timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 900))
            timed.append((when, order, _entry(use, me, when)))
            order += 1
    # the clean-room query: the maker counted purchases by age band over a few hundred
    # customers of the retailer, the portal persons among them
    crowd = [*portal_ids, *others][:CLEANROOM_SIZE]
    if crowd:
        query_time = HISTORY_START + timedelta(days=45, hours=5)
        timed.append(
            (
                query_time,
                order,
                Entry(
                    kind="cleanroom.query",
                    org="minamoto-foods",
                    actor=_actor(Use("cleanroom.query", "minamoto-foods", "", ())),
                    time=query_time,
                    purpose="analytics.product_improvement",
                    categories=("purchase.order",),
                    refs={"query": "purchases-by-age-band", "partner": "hikari-mart"},
                    members=tuple(pseudonym(key, p) for p in crowd),
                ),
            )
        )
    timed.sort(key=lambda item: (item[0], item[1]))
    return [entry for _when, _order, entry in timed]


def ensure_demo_ledger(session: Session, *, pseudonym_key: bytes, signer: Signer, seed: int) -> int:
    """Write the demo history unless it is there; return how many entries were written."""
    if has_demo_history(session):
        ledger.publish_checkpoint(session, signer)
        return 0
    emails = [p.email for p in PORTAL_PERSONS]
    portal: dict[str | None, uuid.UUID] = {}
    for row in session.execute(select(Person.email, Person.id).where(Person.email.in_(emails))):
        portal[row.email] = row.id
    portal_ids = [portal[e] for e in emails if e in portal]
    others = list(
        session.scalars(
            select(Person.id)
            .where(Person.email.not_in(emails))
            .order_by(Person.id)
            .limit(CLEANROOM_SIZE)
        )
    )
    entries = demo_entries(portal_ids, others, pseudonym_key, seed)
    ledger.append(session, entries)
    ledger.publish_checkpoint(session, signer)
    return len(entries)


def ensure_demo_ledger_for(session: Session, settings: Settings, seed: int) -> int:
    """``ensure_demo_ledger`` with the keys of ``settings``."""
    signer = ledger.log_signer(settings.ledger_origin, settings.resolved_ledger_signing_seed())
    return ensure_demo_ledger(
        session,
        pseudonym_key=settings.resolved_ledger_pseudonym_key(),
        signer=signer,
        seed=seed,
    )


__all__ = [
    "demo_entries",
    "ensure_demo_ledger",
    "ensure_demo_ledger_for",
    "has_demo_history",
]
