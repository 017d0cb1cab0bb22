"""The retailer × manufacturer scenario (DESIGN.md §2, issue 6): a collaboration, end to end.

ひかりマート (the e-commerce retailer) knows its customers as tsunagu persons and holds a
year of their orders; みなもと食品 (the manufacturer) has a member list of its own.  The
maker runs a promotion of its categories (調味料, 冷凍食品) in June 2026 and wants to learn
whether its members bought more than comparable non-members — without a name, an address
or a phone number leaving the retailer, and only for customers who consented.

What the step builds, all drawn from ``context.seed`` (sizes: :func:`scale_for`):

* the retailer's customers (``persons`` rows from ``tsunagu.linkage.synthetic``, canonical
  form; one executemany per chunk) under customer numbers ``HM-C0000001`` …;
* their consents to the provision to みなもと食品 for research and development
  (``purchase.order``): about 70 % gave it, about one in ten of those withdrew later, the
  rest never answered — each with its ISO/IEC 27560 receipt and ledger entry, written in
  bulk by :func:`record_consents` (the consent service issues them one at a time);
* the orders, generated in DuckDB (``range`` and ``hash``, no Python loop over rows): eight
  categories, amounts in yen, one year of weeks, segments with their own buying rates, and
  the promotion window during which the maker's members buy more of its categories;
* the maker's member list: about 65 % of the members are retailer customers, rendered with
  the variants real files have (old kanji, half-width kana, era dates, phone formats, moves,
  marriages …);
* a collaboration proposed by the retailer's admin and accepted by the maker's admin, the
  three tables uploaded through ``tsunagu.linkage.service``, one match run and a few
  clean-room questions already asked (so the query log, the privacy officer's provision
  records and the persons' portals show them);
* two more staff users who sign in with the demo password: the maker's analyst
  (``analyst@minamoto-foods.example.jp``, member) and the retailer's privacy officer
  (``privacy@hikari-mart.example.jp``, viewer);
* the portal person 山田花子, when she exists, in both files (``HM-900001`` / ``MF-900001``),
  so that her portal shows the match and the analyses under her consent of the consents
  step.

Cost at the default size (100,000 customers, about 1,070,000 orders), measured on the
2-core development machine: about 2 minutes, most of it in the uploads' per-row work and
the 77,000 consent receipts (docs/linkage/demo.md has the phases).

Idempotent: when the collaboration exists the step adds nothing.  Everything is written in
the caller's transaction (the Parquet files of the uploads are written at once, as the
linkage service does).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.cleanroom import service as cleanroom
from tsunagu.consent import receipts
from tsunagu.consent import service as consent_service
from tsunagu.consent.models import Consent, ConsentCategory, ConsentReceipt
from tsunagu.core.imports import insert_rows
from tsunagu.core.settings import Settings, get_settings
from tsunagu.demo.passwords import demo_password_hash
from tsunagu.demo.persons import demo_person_id
from tsunagu.demo.staff import DemoStaff
from tsunagu.identity import service as identity
from tsunagu.identity.models import Membership, Organization, Person, PersonLink, StaffUser
from tsunagu.identity.service import Actor
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import Entry, b64, canonical, pseudonym
from tsunagu.linkage import service as linkage
from tsunagu.linkage import synthetic
from tsunagu.linkage.models import Collaboration
from tsunagu.linkage.rules import DIMENSIONS, MEASURES, AnalysisRules

if TYPE_CHECKING:
    from tsunagu.demo.world import StepReport, WorldContext

RETAILER = "hikari-mart"
MAKER = "minamoto-foods"
COLLABORATION_NAME = "ひかりマート × みなもと食品 購買分析"
PURPOSE = "research-development"
CATEGORIES = ("purchase.order",)
NOTICE = (
    "ひかりマートでのご購入履歴を、みなもと食品による商品開発と販促効果の測定のために、"
    "氏名・住所・電話番号を含まない統計の形でのみ提供します。"
)
FORBIDDEN_USES_JA = (
    "個人の特定・再識別の試み、個人単位での広告配信やダイレクトメール、与信・採用・保険の"
    "判断への利用、第三者への再提供。"
)
FORBIDDEN_USES_EN = (
    "Any attempt to single out or re-identify a person; targeting individuals with ads or "
    "mail; credit, hiring or insurance decisions; passing the results on to third parties."
)

#: product categories of the retailer; the maker makes the first two
MAKER_CATEGORIES = ("調味料", "冷凍食品")
PRODUCT_CATEGORIES = (*MAKER_CATEGORIES, "食品", "飲料", "菓子", "米・パン", "酒類", "日用品")
#: the retailer's customer segments and how many orders a year each places on average
SEGMENTS = (("新規", 5), ("ライト", 8), ("ミドル", 13), ("ロイヤル", 22))
#: one year of orders: whole ISO weeks, Monday 2025-10-06 to Sunday 2026-10-04
ORDERS_FROM = date(2025, 10, 6)
ORDER_DAYS = 364
#: the maker's promotion of its categories (whole weeks, as the clean room wants them)
PROMOTION_START = date(2026, 6, 1)
PROMOTION_END = date(2026, 6, 28)
#: when each step of the collaboration happened (fixed: the demo never depends on today)
PROPOSED_AT = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)
ACCEPTED_AT = datetime(2026, 10, 6, 2, 0, tzinfo=UTC)
UPLOADED_AT = datetime(2026, 10, 7, 3, 0, tzinfo=UTC)
MATCHED_AT = datetime(2026, 10, 8, 4, 0, tzinfo=UTC)
ASKED_AT = datetime(2026, 10, 9, 5, 0, tzinfo=UTC)
AGREEMENT_EXPIRES = datetime(2029, 3, 31, 15, 0, tzinfo=UTC)
BUDGET_EPSILON = 10.0
EPSILON_PER_QUERY = 1.0
#: consents to the provision are given in this window; withdrawals come later, before matching
CONSENTS_FROM = datetime(2025, 9, 1, tzinfo=UTC)
CONSENT_SHARE = 0.70
WITHDRAWN_SHARE = 0.10
#: the share of the maker's members who also shop at the retailer
OVERLAP_SHARE = 0.65
#: how many format variants the two files carry (the maker's list is the messier one)
RETAILER_VARIANT_RATE = 0.02
MAKER_VARIANT_RATE = 0.35
#: the demo persons' ids of this scenario start here (after the other demo persons')
_ID_OFFSET = 100_000_000
_CHUNK = 1000
_LEDGER_CHUNK = 10_000

ANALYST_EMAIL = f"analyst@{MAKER}.example.jp"
PRIVACY_OFFICER_EMAIL = f"privacy@{RETAILER}.example.jp"
#: (organization, e-mail, role, display name) of the scenario's own staff users
SCENARIO_STAFF = (
    (MAKER, ANALYST_EMAIL, "member", "源 分析"),
    (RETAILER, PRIVACY_OFFICER_EMAIL, "viewer", "光 守"),
)


@dataclass(frozen=True, slots=True)
class Scale:
    """How big the scenario is: customers, members and the average orders per customer."""

    customers: int
    members: int

    @property
    def overlap(self) -> int:
        """Members who are also retailer customers."""
        return min(self.customers, round(self.members * OVERLAP_SHARE))


def scale_for(person_count: int) -> Scale:
    """The scenario's size for a demo of ``person_count`` persons: ten customers per demo
    person (100,000 at the default 10,000, with about 1,100,000 orders) and members worth 30 %
    of the customers."""
    customers = max(person_count, 1) * 10
    return Scale(customers=customers, members=customers * 3 // 10)


@dataclass(frozen=True, slots=True)
class Customer:
    """One retailer customer of the scenario (index, person, customer number, segment)."""

    index: int
    person: synthetic.Person
    person_id: uuid.UUID
    ref: str
    segment: str
    #: the maker's member number, when the customer is also a member
    member_id: str | None


@dataclass(frozen=True, slots=True)
class ConsentStory:
    """A customer's answer to the provision: given at ``given_at``, maybe withdrawn later."""

    person_id: uuid.UUID
    given_at: datetime
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class PortalCustomer:
    """A portal person who shops at the retailer and is a member of the maker, so that
    their portal shows the match and the analyses (their consent comes from the consents
    step)."""

    ref: str
    segment: str
    customer_row: dict[str, str]
    member_row: dict[str, str]


#: 山田花子 (the first portal person): the retailer's HM-900001, the maker's MF-900001
HANAKO = PortalCustomer(
    ref="HM-900001",
    segment="ミドル",
    customer_row={
        "family_name": "山田",
        "given_name": "花子",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "ハナコ",
        "birth_date": "1985-06-12",
        "sex": "女",
        "postal_code": "369-0101",
        "address": "埼玉県つなぎ野市本町2丁目3番4号",
        "phone": "090-1234-5678",
        "email": "hanako.yamada@example.jp",
    },
    member_row={
        "id": "MF-900001",
        "family_name": "山田",
        "given_name": "花子",
        "family_name_kana": "やまだ",
        "given_name_kana": "はなこ",
        "birth_date": "昭和60年6月12日",
        "sex": "F",
        "postal_code": "〒369-0101",
        "address": "つなぎ野市本町二丁目3-4",
        "phone": "09012345678",
        "email": "Hanako.Yamada@example.jp",
    },
)


@dataclass
class Scenario:
    """The whole scenario drawn from the seed (pure data)."""

    customers: list[Customer]
    #: the maker's member file rows (``id`` is the member number), shuffled
    members: list[dict[str, str]]
    consents: list[ConsentStory]
    #: portal persons in both files (added by ``build`` when they exist)
    portal: list[PortalCustomer] = field(default_factory=list)

    def consenting_at(self, at: datetime) -> set[uuid.UUID]:
        """Persons whose consent is in force at ``at``."""
        return {
            c.person_id
            for c in self.consents
            if c.given_at <= at and (c.withdrawn_at is None or c.withdrawn_at > at)
        }

    def true_links(self) -> dict[uuid.UUID, str]:
        """Person id → member number, for the customers who are members."""
        return {c.person_id: c.member_id for c in self.customers if c.member_id is not None}


def plan(scale: Scale, seed: int) -> Scenario:
    """Customers, member rows and consent stories of the scenario (pure, from ``seed``)."""
    extra = scale.members - scale.overlap
    population = synthetic.generate_population(scale.customers + extra, seed=seed ^ 0x11A6)
    rng = random.Random(seed ^ 0x5C3A)  # noqa: S311 (demo data, not secrets)
    ids = [demo_person_id(rng, _ID_OFFSET + i) for i in range(scale.customers)]
    overlap = set(rng.sample(range(scale.customers), scale.overlap))
    member_people = [population[i] for i in sorted(overlap)] + population[scale.customers :]
    order = list(range(len(member_people)))
    rng.shuffle(order)
    member_no = {}
    members: list[dict[str, str]] = []
    for number, k in enumerate(order, start=1):
        person = member_people[k]
        ref = f"MF-M{number:07d}"
        member_no[person.id] = ref
        members.append(
            synthetic.render(person, variant_rate=MAKER_VARIANT_RATE, rng=rng, row_id=ref)
        )
    members.sort(key=lambda row: row["id"])
    segments = [name for name, _ in SEGMENTS]
    weights = (0.25, 0.35, 0.28, 0.12)
    customers = [
        Customer(
            index=i,
            person=population[i],
            person_id=ids[i],
            ref=f"HM-C{i + 1:07d}",
            segment=rng.choices(segments, weights)[0],
            member_id=member_no.get(population[i].id) if i in overlap else None,
        )
        for i in range(scale.customers)
    ]
    consents = []
    for c in customers:
        if rng.random() >= CONSENT_SHARE:
            continue  # never answered
        given = CONSENTS_FROM + timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 1439))
        withdrawn = None
        if rng.random() < WITHDRAWN_SHARE:
            latest = (MATCHED_AT - given).days - 1
            withdrawn = given + timedelta(days=rng.randint(1, max(latest, 1)), minutes=7)
        consents.append(ConsentStory(c.person_id, given, withdrawn))
    return Scenario(customers=customers, members=members, consents=consents)


# --- persons, customer numbers, staff ------------------------------------------------------


def _person_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """``persons`` rows in canonical form; a shared household e-mail stays with its first
    holder (an e-mail address is unique among persons)."""
    rows = []
    seen: set[str] = set()
    for c in scenario.customers:
        row = synthetic.canonical_row(c.person)
        email = row["email"] or None
        if email is not None and email in seen:
            email = None
        if email is not None:
            seen.add(email)
        rows.append(
            {
                "id": c.person_id,
                "family_name": row["family_name"],
                "given_name": row["given_name"],
                "family_name_kana": row["family_name_kana"],
                "given_name_kana": row["given_name_kana"],
                "birth_date": c.person.birth_date,
                "email": email,
                "phone": row["phone"] or None,
                "postal_code": row["postal_code"],
                "address": row["address"],
                "created_at": CONSENTS_FROM,
            }
        )
    return rows


def insert_customers(session: Session, scenario: Scenario, retailer: Organization) -> int:
    """The customers as persons with the retailer's customer numbers (one executemany per
    chunk); persons or e-mails already there are skipped.  Returns how many were new."""
    rows = _person_rows(scenario)
    created = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        known = set(
            session.scalars(select(Person.id).where(Person.id.in_([r["id"] for r in chunk])))
        )
        fresh = [r for r in chunk if r["id"] not in known]
        emails = [r["email"] for r in fresh if r["email"]]
        taken = set(session.scalars(select(Person.email).where(Person.email.in_(emails))))
        for r in fresh:
            if r["email"] in taken:
                r["email"] = None
        insert_rows(session, Person.__table__, fresh)  # type: ignore[arg-type]
        created += len(fresh)
    links = [
        {
            "id": uuid.uuid5(c.person_id, "hikari-mart"),
            "organization_id": retailer.id,
            "person_id": c.person_id,
            "ref": c.ref,
            "created_at": CONSENTS_FROM,
        }
        for c in scenario.customers
    ]
    for start in range(0, len(links), _LEDGER_CHUNK):
        chunk = links[start : start + _LEDGER_CHUNK]
        known_links = set(
            session.scalars(
                select(PersonLink.ref).where(
                    PersonLink.organization_id == retailer.id,
                    PersonLink.ref.in_([r["ref"] for r in chunk]),
                )
            )
        )
        insert_rows(
            session,
            PersonLink.__table__,  # type: ignore[arg-type]
            [r for r in chunk if r["ref"] not in known_links],
        )
    session.flush()
    return created


def ensure_scenario_staff(
    session: Session, organizations: dict[str, Organization], password: str
) -> int:
    """The analyst and the privacy officer (demo password); returns how many were new."""
    created = 0
    for slug, email, role, name in SCENARIO_STAFF:
        org = organizations[slug]
        user = session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None:
            user = StaffUser(
                email=email,
                display_name=name,
                password_hash=demo_password_hash(password),
                locale="ja",
            )
            session.add(user)
            session.flush()
        if identity.find_membership(session, org.id, user.id) is None:
            session.add(Membership(organization_id=org.id, user_id=user.id, role=role))
            created += 1
    session.flush()
    return created


def staff_actor(session: Session, org: Organization, email: str, role: str) -> Actor:
    """The demo staff user ``email`` acting for ``org`` in ``role``."""
    user_id = session.scalar(select(StaffUser.id).where(StaffUser.email == email))
    return Actor(kind="staff", organization_id=org.id, role=role, user_id=user_id)


# --- consents in bulk ---------------------------------------------------------------------


def record_consents(
    session: Session,
    pseudonym_key: bytes,
    stories: Sequence[ConsentStory],
    *,
    recipient: Organization,
    recorded_by: Organization,
) -> int:
    """Write the consents with their receipts and ledger entries, as
    ``consent_service.give_consent`` / ``withdraw_consent`` would, in bulk: the receipt facts
    are built from what is known here (no query per consent), the ledger entries appended in
    time order in batches, the rows inserted with one executemany per table and batch.
    Returns how many consents were written."""
    purpose_row = consent_service.resolve_purpose(session, recipient.id, PURPOSE)
    cats = consent_service.check_categories(session, CATEGORIES)
    labels = consent_service.category_map(session)
    evidence = consent_service.Evidence(notice_text=NOTICE, method="web-form")
    party = receipts.Party(slug=recipient.slug, name=recipient.name)
    recorder = receipts.Party(slug=recorded_by.slug, name=recorded_by.name)
    purpose = receipts.Purpose(
        code=purpose_row.code,
        label_ja=purpose_row.label_ja,
        label_en=purpose_row.label_en,
        dpv_iri=purpose_row.dpv,
    )
    categories = tuple(
        receipts.Category(
            code=c, label_ja=labels[c].label_ja, label_en=labels[c].label_en,
            sensitive=labels[c].sensitive,
        )
        for c in cats
    )  # fmt: skip
    notice = receipts.Notice(sha256=evidence.notice_hash, version="1", language="ja")
    consent_rows: list[dict[str, Any]] = []
    category_rows: list[dict[str, Any]] = []
    # (time, consent id, event, receipt facts)
    events: list[tuple[datetime, uuid.UUID, str, receipts.ReceiptFacts]] = []
    for story in stories:
        consent_id = uuid.uuid5(story.person_id, f"consent/{recipient.slug}/{PURPOSE}")
        subject = b64(pseudonym(pseudonym_key, story.person_id))
        consent_rows.append(
            {
                "id": consent_id,
                "person_id": story.person_id,
                "recipient_id": recipient.id,
                "purpose_id": purpose_row.id,
                "recorded_by_id": recorded_by.id,
                "actor": "person",
                "given_by": "person",
                "guardian_id": None,
                "state": "given" if story.withdrawn_at is None else "withdrawn",
                "given_at": story.given_at,
                "expires_at": None,
                "ended_at": story.withdrawn_at,
                "superseded_by_id": None,
                "method": evidence.method,
                "notice_hash": evidence.notice_hash,
                "notice_version": evidence.notice_version,
                "notice_language": evidence.language,
            }
        )
        category_rows.extend({"consent_id": consent_id, "category": c} for c in cats)
        changes = [("given", story.given_at)]
        if story.withdrawn_at is not None:
            changes.append(("withdrawn", story.withdrawn_at))
        for event, at in changes:
            receipt_id = uuid.uuid5(consent_id, event)
            facts = receipts.ReceiptFacts(
                receipt_id=str(receipt_id),
                consent_id=str(consent_id),
                subject_pseudonym=subject,
                given_by="person",
                controller=party,
                recipient=party,
                recorded_by=recorder,
                purpose=purpose,
                categories=categories,
                method=evidence.method,
                notice=notice,
                state=event,  # type: ignore[arg-type]
                event_time=at,
                given_at=story.given_at,
                event_by="person",
            )
            events.append((at, consent_id, event, facts))
    for start in range(0, len(consent_rows), _LEDGER_CHUNK):
        insert_rows(session, Consent.__table__, consent_rows[start : start + _LEDGER_CHUNK])  # type: ignore[arg-type]
    for start in range(0, len(category_rows), _LEDGER_CHUNK):
        insert_rows(
            session,
            ConsentCategory.__table__,  # type: ignore[arg-type]
            category_rows[start : start + _LEDGER_CHUNK],
        )
    events.sort(key=lambda e: (e[0], e[1].bytes))
    for start in range(0, len(events), _LEDGER_CHUNK):
        batch = events[start : start + _LEDGER_CHUNK]
        # the canonical bytes once: stored as the body, hashed as ``receipts.receipt_hash``
        bodies = [canonical(receipts.iso27560_receipt(facts)) for _, _, _, facts in batch]
        digests = [hashlib.sha256(body).digest() for body in bodies]
        appended = ledger.append(
            session,
            [
                Entry(
                    kind=f"consent.{event}",
                    org=recipient.slug,
                    actor="person",
                    time=at,
                    purpose=purpose_row.code,
                    categories=cats,
                    subject={"pseudonym": facts.subject_pseudonym},
                    refs={"receipt": b64(digest), "consent": str(consent_id)},
                )
                for (at, consent_id, event, facts), digest in zip(batch, digests, strict=True)
            ],
        )
        insert_rows(
            session,
            ConsentReceipt.__table__,  # type: ignore[arg-type]
            [
                {
                    "id": uuid.UUID(facts.receipt_id),
                    "consent_id": consent_id,
                    "event": event,
                    "body": body.decode(),
                    "digest": digest,
                    "actor": "person",
                    "ledger_index": done.index,
                    "created_at": at,
                }
                for (at, consent_id, event, facts), body, digest, done in zip(
                    batch, bodies, digests, appended, strict=True
                )
            ],
        )
    session.flush()
    return len(consent_rows)


# --- files ----------------------------------------------------------------------------------


def _csv(rows: Iterable[dict[str, str]], header: Sequence[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def customer_file(scenario: Scenario, seed: int) -> bytes:
    """The retailer's customer table (CSV): customer number, identifiers, segment."""
    rng = random.Random(seed ^ 0xC057)  # noqa: S311 (demo data)
    rows = []
    for c in scenario.customers:
        row = synthetic.render(c.person, variant_rate=RETAILER_VARIANT_RATE, rng=rng, row_id=c.ref)
        row["customer_id"] = row.pop("id")
        row["segment"] = c.segment
        rows.append(row)
    rows.extend(
        {**p.customer_row, "customer_id": p.ref, "segment": p.segment} for p in scenario.portal
    )
    header = ("customer_id", *synthetic.COLUMNS[1:], "segment")
    return _csv(rows, header)


def member_file(scenario: Scenario) -> bytes:
    """The maker's member list (CSV): member number and identifiers, with variants."""
    return _csv([*scenario.members, *(p.member_row for p in scenario.portal)], synthetic.COLUMNS)


def _order_sql(seed: int) -> str:
    """The DuckDB query of the orders: one row per (customer, k) from ``range``, every
    attribute from ``hash`` of the seed, the customer and k.  During the promotion the
    maker's members buy its categories more often (the ロイヤル segment most), plus a few
    extra orders of them."""
    segments = " ".join(f"WHEN '{name}' THEN {rate}" for name, rate in SEGMENTS)
    cats = "[" + ", ".join(f"'{c}'" for c in PRODUCT_CATEGORIES) + "]"
    others = len(PRODUCT_CATEGORIES) - len(MAKER_CATEGORIES)
    # the order's share of maker categories: 0.20 normally, more in the promotion
    lift = (
        "CASE WHEN NOT promo THEN 0.20 WHEN NOT member THEN 0.23 "
        "WHEN segment = 'ロイヤル' THEN 0.45 WHEN segment = 'ミドル' THEN 0.38 ELSE 0.32 END"
    )

    def h(tag: str, k: str = "k") -> str:
        return f"(hash({seed}, idx, {k}, '{tag}') % 1000000) / 1000000.0"

    # built from this module's constants and an integer seed only, never from input
    sql = f"""
    WITH base AS (
        SELECT idx, ref, segment, member,
               1 + CAST(floor({h("n", "-1")} * (2 * CASE segment {segments} END - 1)) AS INTEGER)
                   AS n_orders
        FROM customers
    ), extra AS (
        -- members buy 1 to 3 more orders during the promotion
        SELECT idx, ref, segment, member,
               CASE WHEN member THEN 1 + CAST(floor({h("x", "-1")} * 3) AS INTEGER) ELSE 0 END
                   AS n_orders
        FROM customers
    ), slots AS (
        SELECT idx, ref, segment, member, unnest(range(n_orders)) AS k, FALSE AS boosted
        FROM base
        UNION ALL
        SELECT idx, ref, segment, member, 1000 + k AS k, TRUE AS boosted
        FROM (SELECT idx, ref, segment, member, unnest(range(n_orders)) AS k FROM extra)
    ), dated AS (
        SELECT *,
               CASE WHEN boosted
                    THEN DATE '{PROMOTION_START}' + CAST(floor({h("pd")} * 28) AS INTEGER)
                    ELSE DATE '{ORDERS_FROM}' + CAST(floor({h("d")} * {ORDER_DAYS}) AS INTEGER)
               END AS ordered_at
        FROM slots
    ), flagged AS (
        SELECT *, ordered_at BETWEEN DATE '{PROMOTION_START}' AND DATE '{PROMOTION_END}'
                  AS promo
        FROM dated
    ), categorised AS (
        SELECT *,
               CASE WHEN boosted OR {h("m")} < {lift}
                    THEN {cats}[1 + CAST(floor({h("c")} * {len(MAKER_CATEGORIES)}) AS INTEGER)]
                    ELSE {cats}[{len(MAKER_CATEGORIES) + 1}
                                + CAST(floor({h("o")} * {others}) AS INTEGER)]
               END AS category
        FROM flagged
    )
    SELECT 'HMO-' || lpad(CAST(idx + 1 AS VARCHAR), 7, '0') || '-' || CAST(k AS VARCHAR)
               AS order_id,
           ref AS customer,
           ordered_at,
           category,
           CAST(round((CASE category WHEN '酒類' THEN 1800 WHEN '米・パン' THEN 1500
                                     WHEN '冷凍食品' THEN 900 WHEN '日用品' THEN 1200
                                     WHEN '調味料' THEN 600 ELSE 700 END)
                      * (0.4 + 1.6 * {h("a")}) / 10) * 10 AS DOUBLE) AS amount
    FROM categorised
    ORDER BY idx, k
    """  # noqa: S608
    return sql


def order_file(scenario: Scenario, seed: int, folder: Path) -> tuple[Path, int]:
    """The retailer's orders (CSV at ``folder/orders.csv``), generated in DuckDB; also how
    many there are."""
    rows = [(c.index, c.ref, c.segment, c.member_id is not None) for c in scenario.customers]
    rows += [(len(rows) + n, p.ref, p.segment, True) for n, p in enumerate(scenario.portal)]
    idx, refs, segments, members = zip(*rows, strict=True) if rows else ((), (), (), ())
    table = pa.table(
        {
            "idx": pa.array(idx, type=pa.int64()),
            "ref": pa.array(refs, type=pa.string()),
            "segment": pa.array(segments, type=pa.string()),
            "member": pa.array(members, type=pa.bool_()),
        }
    )
    path = folder / "orders.csv"
    con = duckdb.connect()
    try:
        con.register("customers_arrow", table)
        con.execute("CREATE TABLE customers AS SELECT * FROM customers_arrow")
        con.execute(f"CREATE TABLE orders AS {_order_sql(seed)}")
        row = con.execute("SELECT count(*) FROM orders").fetchone()
        con.execute(f"COPY orders TO '{path}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    return path, int(row[0]) if row else 0


# --- the clean-room questions already asked --------------------------------------------------

PROMOTION = {"start": PROMOTION_START.isoformat(), "end": PROMOTION_END.isoformat()}
DEMO_QUESTIONS: tuple[dict[str, Any], ...] = (
    # the promotion report: members vs non-members, before / during / after, maker categories
    {
        "measures": ["persons", "orders", "amount_sum", "amount_avg"],
        "dimensions": ["member", "promotion_period"],
        "filters": {"category": list(MAKER_CATEGORIES)},
        "promotion": PROMOTION,
    },
    # the same by segment (the uplift by segment)
    {
        "measures": ["persons", "orders", "amount_sum"],
        "dimensions": ["segment", "member", "promotion_period"],
        "filters": {"category": list(MAKER_CATEGORIES)},
        "promotion": PROMOTION,
    },
    # who buys which category, by age band, with noise (spends ε of the budget)
    {
        "measures": ["persons", "amount_sum"],
        "dimensions": ["category", "age_band"],
        "noise": True,
    },
)


def agreement_terms() -> linkage.Terms:
    """The sharing agreement of the scenario."""
    rules = AnalysisRules(
        dimensions=DIMENSIONS,
        measures=MEASURES,
        min_group_size=50,
        epsilon_per_query=EPSILON_PER_QUERY,
    )
    return linkage.Terms(
        purpose=PURPOSE,
        categories=CATEGORIES,
        rules=rules.to_dict(),
        expires_at=AGREEMENT_EXPIRES,
        forbidden_uses_ja=FORBIDDEN_USES_JA,
        forbidden_uses_en=FORBIDDEN_USES_EN,
        budget_epsilon=BUDGET_EPSILON,
    )


def find_collaboration(session: Session, retailer: Organization) -> Collaboration | None:
    """The scenario's collaboration, if an earlier run made it."""
    return session.scalar(
        select(Collaboration).where(
            Collaboration.name == COLLABORATION_NAME,
            Collaboration.proposed_by_id == retailer.id,
        )
    )


@dataclass(frozen=True, slots=True)
class Built:
    """What a build of the scenario made (counts)."""

    collaboration: Collaboration
    customers: int
    orders: int
    members: int
    consents: int
    matched: int
    queries: int


def build(
    session: Session,
    context: WorldContext,
    *,
    scale: Scale | None = None,
    settings: Settings | None = None,
) -> Built | None:
    """Build the scenario (None when the collaboration exists already: nothing is added)."""
    orgs = context.organizations
    retailer, maker = orgs[RETAILER], orgs[MAKER]
    ensure_scenario_staff(session, orgs, context.password)
    if find_collaboration(session, retailer) is not None:
        return None
    settings = settings or context.settings or get_settings()
    pseudonym_key = settings.resolved_ledger_pseudonym_key()
    scale = scale or scale_for(context.person_count)
    progress = context.progress
    progress.start("linkage scenario", 7)
    scenario = plan(scale, context.seed)
    hanako_email = HANAKO.customer_row["email"]
    if session.scalar(select(Person.id).where(Person.email == hanako_email)) is not None:
        scenario.portal.append(HANAKO)
    progress.advance(1)
    created = insert_customers(session, scenario, retailer)
    consents = record_consents(
        session, pseudonym_key, scenario.consents, recipient=maker, recorded_by=retailer
    )
    progress.advance(1)
    retailer_admin = staff_actor(session, retailer, f"admin@{RETAILER}.example.jp", "admin")
    maker_admin = staff_actor(session, maker, f"admin@{MAKER}.example.jp", "admin")
    retailer_member = staff_actor(session, retailer, f"member@{RETAILER}.example.jp", "member")
    analyst = staff_actor(session, maker, ANALYST_EMAIL, "member")
    collab = linkage.propose(
        session,
        actor=retailer_admin,
        name=COLLABORATION_NAME,
        participants=[(RETAILER, "provider"), (MAKER, "recipient")],
        terms=agreement_terms(),
        now=PROPOSED_AT,
    )
    linkage.accept(
        session, actor=maker_admin, collaboration_id=collab.id, version=1, now=ACCEPTED_AT
    )
    progress.advance(1)
    linkage.upload_customers(
        session,
        settings,
        actor=retailer_member,
        collaboration_id=collab.id,
        data=customer_file(scenario, context.seed),
        now=UPLOADED_AT,
    )
    progress.advance(1)
    with tempfile.TemporaryDirectory(prefix="tsunagu-demo-") as tmp:
        path, orders = order_file(scenario, context.seed, Path(tmp))
        linkage.upload_orders(
            session,
            settings,
            actor=retailer_member,
            collaboration_id=collab.id,
            data=path.read_bytes(),
            now=UPLOADED_AT,
        )
    progress.advance(1)
    linkage.upload_members(
        session,
        settings,
        actor=analyst,
        collaboration_id=collab.id,
        data=member_file(scenario),
        now=UPLOADED_AT,
    )
    run = linkage.run_match(
        session,
        settings,
        pseudonym_key,
        actor=retailer_admin,
        collaboration_id=collab.id,
        now=MATCHED_AT,
    )
    progress.advance(1)
    for n, question in enumerate(DEMO_QUESTIONS):
        cleanroom.ask_logged(
            session,
            settings,
            pseudonym_key,
            collaboration_id=collab.id,
            actor=analyst,
            spec_json=question,
            seed=context.seed + n,
            now=ASKED_AT + timedelta(minutes=10 * n),
        )
    progress.advance(1)
    # the entries above are under a signed checkpoint, like the rest of the demo's history
    ledger.publish_checkpoint(
        session, ledger.log_signer(settings.ledger_origin, settings.resolved_ledger_signing_seed())
    )
    session.flush()
    return Built(
        collaboration=collab,
        customers=created,
        orders=orders,
        members=len(scenario.members),
        consents=consents,
        matched=run.matched,
        queries=len(DEMO_QUESTIONS),
    )


def linkage_step(session: Session, context: WorldContext) -> StepReport:
    """The demo step: the retailer × manufacturer collaboration (see the module docstring)."""
    from tsunagu.demo.world import StepReport

    scale = scale_for(context.person_count)
    built = build(session, context, scale=scale)
    # the printed summary lists the analyst and the privacy officer with the other staff
    listed = {s.email for s in context.staff}
    context.staff.extend(
        DemoStaff(org_slug=slug, email=email, role=role, display_name=name)
        for slug, email, role, name in SCENARIO_STAFF
        if email not in listed
    )
    return StepReport("retail customers", scale.customers, built.customers if built else 0)


__all__ = [
    "ANALYST_EMAIL",
    "COLLABORATION_NAME",
    "DEMO_QUESTIONS",
    "HANAKO",
    "PRIVACY_OFFICER_EMAIL",
    "SCENARIO_STAFF",
    "Built",
    "ConsentStory",
    "Customer",
    "PortalCustomer",
    "Scale",
    "Scenario",
    "agreement_terms",
    "build",
    "customer_file",
    "ensure_scenario_staff",
    "find_collaboration",
    "insert_customers",
    "linkage_step",
    "member_file",
    "order_file",
    "plan",
    "record_consents",
    "scale_for",
    "staff_actor",
]
