"""The demo world's vault and consents: what each organization holds, under which consent.

Each organization knows a share of the generated persons under its own customer numbers
(``PersonLink`` refs: ``HM-100042`` at the retailer, ``TC-…`` at the city …) and holds
sealed records about them; a part of them consented, and some of those consents were
later withdrawn, narrowed (superseded by a consent to fewer categories) or left to expire.
Some residents of the city have a child (a minor) for whom they consent as guardian.

The two portal persons get the whole picture: records from several organizations (a
sensitive ``health.blood_pressure`` among them), a consent in every state, a minor ward
(Hanako), a pending re-consent request, provisions (another organization read their data
under consent: an APPI provision record) and an open request to an organization.

Everything goes through the services (``vault.service``, ``consent.service``), so receipts
and ledger entries are written as in real use, at fixed times in 2025–2026.  Deterministic
(``plan`` is pure and draws from the seed) and idempotent.  Two steps report: records
(``records_step``: refs, minors, guardianships, records — skipped when the retailer already
knows Hanako under her customer number) and consents (``consents_step``: consents, reads,
requests, then a signed checkpoint — skipped when the retailer already holds consents).
Cost, measured on the 2-core machine for 10,000 persons: about 9 s of CPU (≈1,100
consents given through ``give_consent``, each with its receipt and ledger entry).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.consent.decision import Reader
from tsunagu.core.clock import utcnow
from tsunagu.core.ids import new_id
from tsunagu.core.settings import Settings, get_settings
from tsunagu.demo.names import FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES
from tsunagu.demo.persons import PORTAL_PERSONS, PersonSeed, generate_persons
from tsunagu.identity.models import Organization, Person, PersonLink, StaffUser
from tsunagu.identity.service import Actor
from tsunagu.ledger import service as ledger
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import NewRecord, Vault

if TYPE_CHECKING:
    from tsunagu.demo.world import StepReport, WorldContext

#: each organization's customer-number prefix
REF_PREFIX = {
    "hikari-mart": "HM",
    "minamoto-foods": "MF",
    "sakura-motors": "SM",
    "tsunagino-city": "TC",
}
#: the share of generated persons each organization knows
LINK_SHARE = {
    "hikari-mart": 0.20,
    "minamoto-foods": 0.06,
    "sakura-motors": 0.06,
    "tsunagino-city": 0.12,
}


@dataclass(frozen=True, slots=True)
class ConsentPlan:
    """What an organization asks its customers for, and how many agree."""

    org: str
    purpose: str
    categories: tuple[str, ...]
    share: float
    method: str
    notice: str


NOTICES = {
    "hikari-mart": "ひかりマートからのお知らせメールに、購入履歴に基づくおすすめを含めます。",
    "minamoto-foods": "ひかりマートでのご購入履歴を、みなもと食品の商品開発に統計的に利用します。",
    "sakura-motors": "車検・点検のご案内のため、登録車両と運転免許の情報を利用します。",
    "tsunagino-city": "安全運転支援のため、血圧の記録と運転免許の情報を市が利用します。",
}

CONSENT_PLANS = (
    ConsentPlan("hikari-mart", "marketing", ("contact.email", "purchase.order"), 0.25,
                "web-form", NOTICES["hikari-mart"]),
    ConsentPlan("minamoto-foods", "research-development", ("purchase.order",), 0.45,
                "web-form", NOTICES["minamoto-foods"]),
    ConsentPlan("sakura-motors", "service-provision", ("vehicle.registration", "licence.driving"),
                0.30, "paper", NOTICES["sakura-motors"]),
    ConsentPlan("tsunagino-city", "public-service", ("health.blood_pressure", "licence.driving"),
                0.25, "counter", NOTICES["tsunagino-city"]),
)  # fmt: skip

#: fixed times: the demo never depends on the day it is built
PERIOD_START = datetime(2025, 10, 1, 0, 0, tzinfo=UTC)
ACTIVE_UNTIL = datetime(2029, 3, 31, 15, 0, tzinfo=UTC)
#: minors are born in these years (under 18 until 2030 at the earliest)
MINOR_BIRTH_YEARS = (2012, 2019)
MINOR_SHARE = 0.04
GUARDIAN_NOTICE = "お子さまの学校健診の結果を、市の健康相談で利用します(保護者の同意)。"
READS = 60

ITEMS = (
    "有機にんじん 1kg",
    "みなもと醤油 1L",
    "国産大豆の豆腐 3個",
    "玄米 5kg",
    "緑茶ティーバッグ 50袋",
    "だし入り味噌 750g",
    "ヨーグルト 400g",
    "天然水 2L×6本",
)
MODELS = ("さくら コンパクト", "さくら ミニバン", "さくら 軽ワゴン", "さくら ハイブリッド")


@dataclass(frozen=True, slots=True)
class Event:
    """One consent event, at a fixed time: given (``categories``) or withdrawn."""

    at: datetime
    kind: str  # "give" | "withdraw"
    person_id: uuid.UUID
    plan: ConsentPlan
    categories: tuple[str, ...] = ()
    expires_at: datetime | None = None
    given_by: consent_service.GivenBy = "organization"
    guardian_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Minor:
    id: uuid.UUID
    guardian_id: uuid.UUID
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date


@dataclass
class Plan:
    """The whole vault side of the demo, drawn from the seed (pure data)."""

    links: dict[str, list[tuple[uuid.UUID, str]]] = field(default_factory=dict)
    records: dict[str, list[NewRecord]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    minors: list[Minor] = field(default_factory=list)
    #: (reader slug, person id, purpose, categories, at)
    reads: list[tuple[str, uuid.UUID, str, tuple[str, ...], datetime]] = field(default_factory=list)

    @property
    def record_count(self) -> int:
        return sum(len(v) for v in self.records.values())


def _when(rng: random.Random, start: datetime, days: int) -> datetime:
    return start + timedelta(days=rng.randint(0, days), minutes=rng.randint(0, 60 * 12))


def _payload(rng: random.Random, category: str, seed: PersonSeed | None, n: int) -> dict[str, Any]:
    if category == "contact.email":
        return {"email": seed.email if seed else f"customer{n}@example.jp"}
    if category == "contact.phone":
        return {"phone": seed.phone if seed else "090-0000-0000"}
    if category == "contact.address":
        return {
            "postal_code": seed.postal_code if seed else "369-0101",
            "address": seed.address if seed else "埼玉県つなぎ野市本町1丁目",
        }
    if category == "purchase.order":
        quantity = rng.randint(1, 4)
        return {
            "order_no": f"HM-O{rng.randint(1_000_000, 9_999_999)}",
            "item": rng.choice(ITEMS),
            "quantity": quantity,
            "amount_jpy": quantity * rng.choice((298, 480, 650, 980, 1280, 2380)),
        }
    if category == "vehicle.registration":
        return {
            "plate": f"つなぎ野 {rng.randint(300, 599)} さ {rng.randint(1000, 9999)}",
            "model": rng.choice(MODELS),
            "first_registered": f"{rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}",
        }
    if category == "licence.driving":
        return {
            "licence_class": "普通",
            "colour": rng.choice(("ゴールド", "ブルー", "グリーン")),
            "expires_on": date(
                rng.randint(2026, 2030), rng.randint(1, 12), rng.randint(1, 28)
            ).isoformat(),
        }
    if category == "health.blood_pressure":
        return {
            "systolic": rng.randint(105, 165),
            "diastolic": rng.randint(65, 100),
            "pulse": rng.randint(55, 90),
            "measured_on": f"2026-{rng.randint(4, 10):02d}-{rng.randint(1, 28):02d}",
        }
    if category == "health.checkup":
        return {"year": 2025, "bmi": round(rng.uniform(16, 30), 1), "result": rng.choice("AABBC")}
    raise ValueError(category)


#: what each organization keeps about a linked person (category, how many at most)
HOLDINGS = {
    "hikari-mart": (("contact.email", 1), ("purchase.order", 3)),
    "minamoto-foods": (("contact.email", 1),),
    "sakura-motors": (("vehicle.registration", 1), ("licence.driving", 1), ("contact.phone", 1)),
    "tsunagino-city": (("contact.address", 1), ("health.blood_pressure", 2)),
}


def plan(seeds: Sequence[PersonSeed], seed: int) -> Plan:
    """The generated persons' refs, records, minors and consent events (pure)."""
    rng = random.Random(seed ^ 0xC0A5E47)  # noqa: S311 (demo data, not secrets)
    out = Plan()
    by_org: dict[str, list[PersonSeed]] = {slug: [] for slug in REF_PREFIX}
    for person in seeds:
        for slug, share in LINK_SHARE.items():
            if rng.random() < share:
                by_org[slug].append(person)
    for slug, persons in by_org.items():
        out.links[slug] = [
            (p.id, f"{REF_PREFIX[slug]}-{100_000 + k}") for k, p in enumerate(persons)
        ]
        recs: list[NewRecord] = []
        for p in persons:
            for category, most in HOLDINGS[slug]:
                for _ in range(rng.randint(1, most)):
                    recs.append(
                        NewRecord(
                            person_id=p.id,
                            category=category,
                            payload=_payload(rng, category, p, len(recs)),
                            collected_at=_when(rng, PERIOD_START - timedelta(days=365), 360),
                        )
                    )
        out.records[slug] = recs
    hikari_customers = {p.id for p in by_org["hikari-mart"]}
    for consent_plan in CONSENT_PLANS:
        pool = by_org[consent_plan.org]
        if consent_plan.org == "minamoto-foods":
            # the maker asks its members who also shop at the retailer
            pool = [p for p in pool if p.id in hikari_customers]
        for p in pool:
            if rng.random() >= consent_plan.share:
                continue
            _consent_story(rng, out, p.id, consent_plan)
    # children of some residents: the parent consents for them as guardian
    city = out.records["tsunagino-city"]
    for p in by_org["tsunagino-city"]:
        if rng.random() >= MINOR_SHARE:
            continue
        girl = rng.random() < 0.5
        name = rng.choice(FEMALE_GIVEN_NAMES if girl else MALE_GIVEN_NAMES)
        minor = Minor(
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"tsunagu-demo/{seed}/minor/{p.id}"),
            guardian_id=p.id,
            family_name=p.family_name,
            given_name=name.kanji,
            family_name_kana=p.family_name_kana,
            given_name_kana=name.kana,
            birth_date=date(
                rng.randint(*MINOR_BIRTH_YEARS), rng.randint(1, 12), rng.randint(1, 28)
            ),
        )
        out.minors.append(minor)
        out.links["tsunagino-city"].append((minor.id, f"TC-{200_000 + len(out.minors)}"))
        city.append(
            NewRecord(
                person_id=minor.id,
                category="health.checkup",
                payload=_payload(rng, "health.checkup", None, len(city)),
                collected_at=_when(rng, PERIOD_START, 60),
            )
        )
        if rng.random() < 0.7:
            out.events.append(
                Event(
                    at=_when(rng, PERIOD_START + timedelta(days=90), 120),
                    kind="give",
                    person_id=minor.id,
                    plan=GUARDIAN_PLAN,
                    categories=GUARDIAN_PLAN.categories,
                    expires_at=ACTIVE_UNTIL,
                    given_by="guardian",
                    guardian_id=p.id,
                )
            )
    _plan_reads(rng, out)
    out.events.sort(key=lambda e: (e.at, e.kind))
    return out


GUARDIAN_PLAN = ConsentPlan(
    "tsunagino-city", "public-service", ("health.checkup",), 1.0, "portal", GUARDIAN_NOTICE
)


def _consent_story(rng: random.Random, out: Plan, person_id: uuid.UUID, cp: ConsentPlan) -> None:
    """One consent and what became of it: kept, withdrawn, narrowed or expired."""
    fate = rng.random()
    given_at = _when(rng, PERIOD_START, 200)
    if fate < 0.10:  # expired: given for six months, long past
        out.events.append(
            Event(given_at, "give", person_id, cp, cp.categories, given_at + timedelta(days=180))
        )
        return
    expires = ACTIVE_UNTIL if rng.random() < 0.7 else None
    out.events.append(Event(given_at, "give", person_id, cp, cp.categories, expires))
    later = given_at + timedelta(days=rng.randint(10, 150), minutes=rng.randint(0, 600))
    if fate < 0.22:
        out.events.append(Event(later, "withdraw", person_id, cp))
    elif fate < 0.34 and len(cp.categories) > 1:
        out.events.append(Event(later, "give", person_id, cp, cp.categories[:1], expires))


def _plan_reads(rng: random.Random, out: Plan) -> None:
    """The maker reads purchase orders of consenting shoppers (provisions from the
    retailer), and is refused for some who withdrew."""
    given = [e for e in out.events if e.plan.org == "minamoto-foods" and e.kind == "give"]
    withdrawn = {
        e.person_id for e in out.events if e.plan.org == "minamoto-foods" and e.kind == "withdraw"
    }
    latest = datetime(2026, 10, 31, tzinfo=UTC)
    for e in rng.sample(given, min(READS, len(given))):
        at = min(e.at + timedelta(days=rng.randint(1, 30)), latest)
        if e.expires_at is not None and e.expires_at <= at:
            continue
        if e.person_id in withdrawn:
            at = latest  # after the withdrawal: the read is refused (and recorded)
        out.reads.append(("minamoto-foods", e.person_id, e.plan.purpose, ("purchase.order",), at))


# --- writing ---------------------------------------------------------------------------


def _settings(context: WorldContext) -> Settings:
    return context.settings or get_settings()


def _portal_ids(session: Session) -> dict[str, uuid.UUID]:
    emails = [p.email for p in PORTAL_PERSONS]
    return {
        str(email): pid
        for email, pid in session.execute(
            select(Person.email, Person.id).where(Person.email.in_(emails))
        ).all()
    }


PORTAL_REFS = {
    "hanako.yamada@example.jp": {
        "hikari-mart": "HM-900001",
        "minamoto-foods": "MF-900001",
        "sakura-motors": "SM-900001",
        "tsunagino-city": "TC-900001",
    },
    "kenichi.sato@example.jp": {
        "hikari-mart": "HM-900002",
        "sakura-motors": "SM-900002",
        "tsunagino-city": "TC-900002",
    },
}


def already_built(session: Session, organizations: dict[str, Organization]) -> bool:
    marker = session.scalar(
        select(PersonLink.id).where(
            PersonLink.organization_id == organizations["hikari-mart"].id,
            PersonLink.ref == PORTAL_REFS["hanako.yamada@example.jp"]["hikari-mart"],
        )
    )
    return marker is not None


def _hanako_child(seed: int, guardian_id: uuid.UUID) -> Minor:
    return Minor(
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"tsunagu-demo/{seed}/minor/{guardian_id}"),
        guardian_id=guardian_id,
        family_name="山田",
        given_name="陽葵",
        family_name_kana="ヤマダ",
        given_name_kana="ヒマリ",
        birth_date=date(2015, 8, 20),
    )


def _portal_records(rng: random.Random, portal: dict[str, uuid.UUID]) -> dict[str, list[NewRecord]]:
    """Records of the portal persons, by source organization."""
    out: dict[str, list[NewRecord]] = {slug: [] for slug in REF_PREFIX}
    spec = {p.email: p for p in PORTAL_PERSONS}
    holdings = {
        "hanako.yamada@example.jp": {
            "hikari-mart": ("contact.email", "purchase.order", "purchase.order", "purchase.order"),
            "minamoto-foods": ("contact.email",),
            "sakura-motors": ("vehicle.registration", "licence.driving", "contact.phone"),
            "tsunagino-city": ("contact.address", "health.blood_pressure",
                               "health.blood_pressure", "health.checkup"),
        },
        "kenichi.sato@example.jp": {
            "hikari-mart": ("contact.email", "purchase.order", "purchase.order"),
            "sakura-motors": ("vehicle.registration", "licence.driving", "contact.phone"),
            "tsunagino-city": ("contact.address", "health.blood_pressure",
                               "health.blood_pressure", "health.blood_pressure"),
        },
    }  # fmt: skip
    for email, by_org in holdings.items():
        if email not in portal:
            continue
        person = spec[email]
        for slug, categories in by_org.items():
            for category in categories:
                if category == "contact.email":
                    payload: dict[str, Any] = {"email": person.email}
                elif category == "contact.phone":
                    payload = {"phone": person.phone}
                elif category == "contact.address":
                    payload = {"postal_code": person.postal_code, "address": person.address}
                else:
                    payload = _payload(rng, category, None, 0)
                out[slug].append(
                    NewRecord(
                        person_id=portal[email],
                        category=category,
                        payload=payload,
                        collected_at=_when(rng, PERIOD_START - timedelta(days=180), 300),
                    )
                )
    return out


def build_plan(session: Session, context: WorldContext) -> tuple[Plan, dict[str, uuid.UUID]]:
    seeds = list(generate_persons(context.person_count, context.seed))
    world = plan(seeds, context.seed)
    portal = _portal_ids(session)
    rng = random.Random(context.seed ^ 0x9047A1)  # noqa: S311 (demo data)
    for slug, recs in _portal_records(rng, portal).items():
        world.records[slug].extend(recs)
    for email, refs in PORTAL_REFS.items():
        if email in portal:
            for slug, ref in refs.items():
                world.links[slug].append((portal[email], ref))
    hanako = portal.get("hanako.yamada@example.jp")
    if hanako is not None:
        child = _hanako_child(context.seed, hanako)
        world.minors.append(child)
        world.links["tsunagino-city"].append((child.id, "TC-900003"))
        world.records["tsunagino-city"].append(
            NewRecord(
                person_id=child.id,
                category="health.checkup",
                payload={"year": 2025, "bmi": 16.8, "result": "A"},
                collected_at=datetime(2025, 6, 10, 1, 0, tzinfo=UTC),
            )
        )
    return world, portal


def records_step(session: Session, context: WorldContext) -> StepReport:
    """Customer numbers, minors with their guardians, and sealed records."""
    from tsunagu.demo.world import StepReport

    world, _portal = build_plan(session, context)
    total = world.record_count
    if already_built(session, context.organizations):
        return StepReport("vault records", total, 0)
    context.progress.start("vault records", total)
    now = utcnow()
    if world.minors:
        session.execute(
            insert(Person),
            [
                {
                    "id": m.id,
                    "family_name": m.family_name,
                    "given_name": m.given_name,
                    "family_name_kana": m.family_name_kana,
                    "given_name_kana": m.given_name_kana,
                    "birth_date": m.birth_date,
                    "created_at": now,
                }
                for m in world.minors
            ],
        )
    link_rows = [
        {
            "id": new_id(),
            "organization_id": context.organizations[slug].id,
            "person_id": person_id,
            "ref": ref,
            "created_at": now,
        }
        for slug, links in world.links.items()
        for person_id, ref in links
    ]
    session.execute(insert(PersonLink), link_rows)
    session.flush()
    for m in world.minors:
        consent_service.add_guardian(
            session, guardian_id=m.guardian_id, minor_id=m.id, today=date(2025, 9, 1)
        )
    vault = Vault.from_settings(_settings(context))
    created = 0
    for slug, recs in world.records.items():
        created += vault_service.create_records(
            session,
            vault,
            recs,
            source=context.organizations[slug],
            source_kind="demo",
            actor=_org_actor(session, context, slug),
            legal_basis="public-task" if slug == "tsunagino-city" else "contract",
        )
        context.progress.advance(len(recs))
    return StepReport("vault records", total, created)


def _org_actor(session: Session, context: WorldContext, slug: str) -> str:
    """The ledger's name for the organization's member staff user (who did the demo work)."""
    emails = [s.email for s in context.staff if s.org_slug == slug and s.role == "member"]
    user_id = (
        session.scalar(select(StaffUser.id).where(StaffUser.email == emails[0])) if emails else None
    )
    return f"staff:{user_id}" if user_id else "system"


def _staff_actor(session: Session, context: WorldContext, slug: str) -> Actor:
    label = _org_actor(session, context, slug)
    user_id = uuid.UUID(label.split(":", 1)[1]) if label.startswith("staff:") else None
    return Actor(
        kind="staff",
        organization_id=context.organizations[slug].id,
        role="member",
        user_id=user_id,
    )


def consents_step(session: Session, context: WorldContext) -> StepReport:
    """Consents and their fates, reads with provision records, requests, expiry."""
    from tsunagu.demo.world import StepReport

    world, portal = build_plan(session, context)
    portal_events = _portal_events(context.seed, portal)
    events = sorted([*world.events, *portal_events], key=lambda e: (e.at, e.kind))
    total = sum(1 for e in events if e.kind == "give")
    # the retailer holds consents only once this step has run
    if not events or _consents_exist(session, context):
        return StepReport("consents", total, 0)
    settings = _settings(context)
    vault = Vault.from_settings(settings)
    key = vault.pseudonym_key
    actors = {slug: _org_actor(session, context, slug) for slug in REF_PREFIX}
    context.progress.start("consents", len(events))
    current: dict[tuple[uuid.UUID, str, str], Any] = {}
    created = 0
    for event in events:
        org = context.organizations[event.plan.org]
        scope = (event.person_id, event.plan.org, event.plan.purpose)
        if event.kind == "give":
            by_person = event.given_by in ("person", "guardian")
            issued = consent_service.give_consent(
                session,
                key,
                person_id=event.person_id,
                recipient=org,
                purpose=event.plan.purpose,
                categories=event.categories,
                evidence=consent_service.Evidence(
                    notice_text=event.plan.notice, method=event.plan.method
                ),
                actor=event.given_by if by_person else actors[event.plan.org],
                given_by=event.given_by,
                recorded_by=None if by_person else org,
                guardian_id=event.guardian_id,
                expires_at=event.expires_at,
                now=event.at,
            )
            current[scope] = issued.consent
            created += 1
        else:
            consent_service.withdraw_consent(
                session,
                key,
                current[scope],
                actor="person",
                now=event.at,
            )
        context.progress.advance(1)
    consent_service.expire_due(session, key)
    reads = sorted([*world.reads, *_portal_reads(portal)], key=lambda r: r[4])
    for slug, person_id, purpose, categories, at in reads:
        org = context.organizations[slug]
        vault_service.read_records(
            session,
            vault,
            Reader(org.id, org.slug),
            person_id,
            purpose=purpose,
            categories=categories,
            actor=actors[slug],
            at=at,
        )
    _portal_requests(session, context, portal)
    signer = ledger.log_signer(settings.ledger_origin, settings.resolved_ledger_signing_seed())
    ledger.publish_checkpoint(session, signer)
    return StepReport("consents", total, created)


def _consents_exist(session: Session, context: WorldContext) -> bool:
    hikari = context.organizations["hikari-mart"]
    return bool(consent_service.consents_for_recipient(session, hikari.id, limit=1))


# --- the portal persons' stories -------------------------------------------------------


def _at(month: int, day: int, hour: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


def _plan_of(
    org: str, purpose: str, cats: tuple[str, ...], method: str, notice: str
) -> ConsentPlan:
    return ConsentPlan(org, purpose, cats, 1.0, method, notice)


MARKETING = _plan_of(
    "hikari-mart",
    "marketing",
    ("contact.email", "purchase.order"),
    "portal",
    CONSENT_PLANS[0].notice,
)
RESEARCH = _plan_of(
    "minamoto-foods", "research-development", ("purchase.order",), "portal", CONSENT_PLANS[1].notice
)
DEALER_MARKETING = _plan_of(
    "sakura-motors",
    "marketing",
    ("contact.email", "contact.phone"),
    "portal",
    "新車・キャンペーンのご案内をメールと電話でお送りします。",
)
DEALER_SERVICE = CONSENT_PLANS[2]
SAFE_DRIVING = _plan_of(
    "tsunagino-city",
    "public-service",
    ("health.blood_pressure", "licence.driving"),
    "portal",
    CONSENT_PLANS[3].notice,
)
MAKER_MARKETING = _plan_of(
    "minamoto-foods",
    "marketing",
    ("contact.email",),
    "web-form",
    "みなもと食品の新商品のご案内をメールでお送りします。",
)
HIKARI_RESEARCH = _plan_of("hikari-mart", "research-development", ("purchase.order",),
                           "portal", "購入履歴を品揃えの改善に統計的に利用します。")  # fmt: skip


def _portal_events(seed: int, portal: dict[str, uuid.UUID]) -> list[Event]:
    """Every consent state for each portal person; times are fixed."""
    out: list[Event] = []
    hanako = portal.get("hanako.yamada@example.jp")
    if hanako is not None:
        child = _hanako_child(seed, hanako)
        out += [
            # given, then narrowed to e-mail only (superseded + given)
            Event(_at(1, 10), "give", hanako, MARKETING, MARKETING.categories, ACTIVE_UNTIL,
                  "person"),
            Event(_at(6, 2), "give", hanako, MARKETING, ("contact.email",), ACTIVE_UNTIL,
                  "person"),
            # the maker may study her purchases at the retailer (a provision follows)
            Event(_at(2, 3), "give", hanako, RESEARCH, RESEARCH.categories, ACTIVE_UNTIL,
                  "person"),
            # the dealer's marketing: given, then withdrawn
            Event(_at(3, 15), "give", hanako, DEALER_MARKETING, DEALER_MARKETING.categories,
                  None, "person"),
            Event(_at(8, 20), "withdraw", hanako, DEALER_MARKETING),
            # the maker's newsletter: given for six months, expired
            Event(_at(11, 1, year=2025), "give", hanako, MAKER_MARKETING,
                  MAKER_MARKETING.categories, _at(5, 1)),
            # safe-driving support: her blood pressure and licence (a provision follows)
            Event(_at(4, 5), "give", hanako, SAFE_DRIVING, SAFE_DRIVING.categories,
                  ACTIVE_UNTIL, "person"),
            # her daughter's school check-up, by Hanako as guardian
            Event(_at(4, 20), "give", child.id, GUARDIAN_PLAN, GUARDIAN_PLAN.categories,
                  ACTIVE_UNTIL, "guardian", hanako),
        ]  # fmt: skip
    kenichi = portal.get("kenichi.sato@example.jp")
    if kenichi is not None:
        out += [
            Event(_at(1, 20), "give", kenichi, SAFE_DRIVING, SAFE_DRIVING.categories,
                  ACTIVE_UNTIL, "person"),
            Event(_at(2, 1), "give", kenichi, DEALER_SERVICE,
                  (*DEALER_SERVICE.categories, "contact.phone"), ACTIVE_UNTIL),
            Event(_at(7, 1), "give", kenichi, DEALER_SERVICE, DEALER_SERVICE.categories,
                  ACTIVE_UNTIL, "person"),
            Event(_at(2, 14), "give", kenichi, MARKETING, MARKETING.categories, None, "person"),
            Event(_at(9, 9), "withdraw", kenichi, MARKETING),
            Event(_at(12, 1, year=2025), "give", kenichi, HIKARI_RESEARCH,
                  HIKARI_RESEARCH.categories, _at(6, 1)),
        ]  # fmt: skip
    return out


def _portal_reads(
    portal: dict[str, uuid.UUID],
) -> list[tuple[str, uuid.UUID, str, tuple[str, ...], datetime]]:
    out: list[tuple[str, uuid.UUID, str, tuple[str, ...], datetime]] = []
    hanako = portal.get("hanako.yamada@example.jp")
    if hanako is not None:
        out += [
            ("minamoto-foods", hanako, "research-development", ("purchase.order",), _at(3, 1)),
            ("tsunagino-city", hanako, "public-service", SAFE_DRIVING.categories, _at(5, 12)),
            ("hikari-mart", hanako, "marketing", ("purchase.order",), _at(7, 1)),
            ("sakura-motors", hanako, "marketing", ("contact.phone",), _at(9, 1)),
        ]
    kenichi = portal.get("kenichi.sato@example.jp")
    if kenichi is not None:
        out += [
            ("tsunagino-city", kenichi, "public-service", SAFE_DRIVING.categories, _at(3, 3)),
            ("sakura-motors", kenichi, "service-provision", ("vehicle.registration",), _at(8, 8)),
            ("hikari-mart", kenichi, "marketing", ("purchase.order",), _at(10, 1)),
        ]
    return out


def _portal_requests(session: Session, context: WorldContext, portal: dict[str, uuid.UUID]) -> None:
    """A pending re-consent request and an open request to an organization, each."""
    orgs = context.organizations
    hanako = portal.get("hanako.yamada@example.jp")
    if hanako is not None:
        consent_service.request_consent(
            session,
            _staff_actor(session, context, "hikari-mart"),
            person_id=hanako,
            purpose="personalisation",
            categories=["purchase.order", "behaviour.web"],
            notice_text="閲覧履歴と購入履歴から、あなたに合った商品をサイトに表示します。",
            message="おすすめ表示のため、新たに閲覧履歴の利用へのご同意をお願いします。",
        )
        vault_service.file_request(
            session,
            person_id=hanako,
            organization_id=orgs["sakura-motors"].id,
            kind="correction",
            detail="登録されている電話番号が古いので、新しい番号に訂正してください。",
        )
    kenichi = portal.get("kenichi.sato@example.jp")
    if kenichi is not None:
        consent_service.request_consent(
            session,
            _staff_actor(session, context, "sakura-motors"),
            person_id=kenichi,
            purpose="marketing",
            categories=["contact.email"],
            notice_text="New models and campaigns by e-mail from Sakura Motors.",
            message="May we send you news about new models by e-mail?",
        )
        vault_service.file_request(
            session,
            person_id=kenichi,
            organization_id=orgs["hikari-mart"].id,
            kind="disclosure",
            detail="Please disclose all purchase records you hold about me.",
        )


__all__ = ["consents_step", "plan", "records_step"]
