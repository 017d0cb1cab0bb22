"""A small retailer × maker world for the collaboration, clean-room and API tests.

The retailer (provider) knows 16 persons (refs ``C0000`` … ``C0015``); persons 0–11 consent
to the maker (recipient) using their purchases for research, 12–15 do not.  The maker's
member list holds persons 0–9 and 12–15 (written differently: upper-case e-mail, slashed
birth dates, full-width digits) plus two strangers.  So a match restricted to consenting
persons links exactly persons 0–9; persons 10 and 11 are consenting non-members.

Everything goes through the real services; the ``db`` fixture rolls it all back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson
from sqlalchemy.orm import Session

from tests.support.factories import create_org
from tsunagu.consent import service as consent_service
from tsunagu.consent.models import Consent
from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings
from tsunagu.identity.models import Organization, Person
from tsunagu.identity.service import Actor
from tsunagu.linkage import service
from tsunagu.linkage.models import Collaboration, MatchRun
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

PERSONS = 16
CONSENTING = range(12)
MEMBERS = [*range(10), *range(12, 16)]
LINKED = range(10)
PURPOSE = "research-development"
CATEGORIES = ["purchase"]
FAMILY = ["山田", "佐藤", "鈴木", "髙橋", "田中", "伊藤", "渡辺", "中村"]
GIVEN = ["花子", "太郎", "一郎", "美咲"]
EVIDENCE = consent_service.Evidence(
    notice_text="購買情報を研究開発のためメーカーに提供します。"
    "We share your purchases with the maker for research.",
    method="web-form",
)
RULES: dict[str, Any] = {
    "dimensions": ["member", "segment", "category", "age_band", "prefecture"],
    "measures": ["persons", "orders", "amount_sum", "amount_avg"],
    "min_group_size": 3,
    "epsilon_per_query": 0.5,
}


def staff_actor(org: Organization, role: str) -> Actor:
    """An API-key actor of ``org`` with ``role`` (what the API resolves a key to)."""
    return Actor(kind="api_key", organization_id=org.id, role=role, api_key_id=uuid.uuid4())


@dataclass
class Scenario:
    retailer: Organization
    maker: Organization
    persons: list[Person]
    consents: dict[uuid.UUID, Consent] = field(default_factory=dict)

    @property
    def retailer_admin(self) -> Actor:
        return staff_actor(self.retailer, "admin")

    @property
    def maker_admin(self) -> Actor:
        return staff_actor(self.maker, "admin")

    def birth(self, i: int) -> date:
        return date(1950, 1, 1) + timedelta(days=997 * i)

    def identifiers(self, i: int) -> dict[str, str]:
        return {
            "family_name": FAMILY[i % len(FAMILY)],
            "given_name": GIVEN[i % len(GIVEN)],
            "birth_date": self.birth(i).isoformat(),
            "email": f"person{i}@example.jp",
            "phone": f"090-{1000 + i:04d}-{2000 + i:04d}",
            "postal_code": f"100-{i:04d}",
            "address": f"東京都千代田区千代田{i + 1}-1-1",
        }

    def customers_csv(self, *, extra: str = "") -> bytes:
        header = (
            "customer_id,family_name,given_name,birth_date,email,phone,postal_code,address,segment"
        )
        lines = [header]
        for i in range(PERSONS):
            d = self.identifiers(i)
            lines.append(
                f"C{i:04d},{d['family_name']},{d['given_name']},{d['birth_date']},{d['email']},"
                f"{d['phone']},{d['postal_code']},{d['address']},{'loyal' if i % 2 else 'new'}"
            )
        return ("\n".join(lines) + "\n" + extra).encode()

    def orders_csv(self) -> bytes:
        lines = ["order_id,customer,ordered_at,category,amount"]
        for i in range(PERSONS):
            for k, category in enumerate(("food", "drink", "snack")):
                lines.append(f"O{i:04d}-{k},C{i:04d},2026-0{k + 4}-1{k},{category},{1000 + 10 * i}")
        return ("\n".join(lines) + "\n").encode()

    def members_jsonl(self) -> bytes:
        rows: list[dict[str, str]] = []
        for i in MEMBERS:
            d = self.identifiers(i)
            b = self.birth(i)
            rows.append(
                {
                    "id": f"M{i:05d}",
                    "family_name": d["family_name"],
                    "given_name": d["given_name"],
                    "birth_date": f"{b.year}/{b.month}/{b.day}",
                    "email": d["email"].upper(),
                    "phone": d["phone"].replace("-", ""),
                }
            )
        for k in range(2):
            rows.append(
                {
                    "id": f"X{k}",
                    "family_name": "他人",
                    "given_name": "次郎",
                    "birth_date": "1990-01-0" + str(k + 1),
                    "email": f"stranger{k}@example.jp",
                }
            )
        return b"\n".join(orjson.dumps(r) for r in rows) + b"\n"


def build(db: Session, vault: Vault) -> Scenario:
    retailer = create_org(db, slug=f"retailer-{uuid.uuid4().hex[:8]}")
    maker = create_org(db, slug=f"maker-{uuid.uuid4().hex[:8]}")
    persons: list[Person] = []
    sc = Scenario(retailer=retailer, maker=maker, persons=persons)
    for i in range(PERSONS):
        d = sc.identifiers(i)
        persons.append(
            vault_service.register_person(
                db,
                vault,
                retailer,
                ref=f"C{i:04d}",
                family_name=d["family_name"],
                given_name=d["given_name"],
                birth_date=sc.birth(i),
                actor="api_key:test",
            )
        )
    for i in CONSENTING:
        issued = consent_service.give_consent(
            db,
            vault.pseudonym_key,
            person_id=persons[i].id,
            recipient=maker,
            purpose=PURPOSE,
            categories=CATEGORIES,
            evidence=EVIDENCE,
            actor="person",
            given_by="person",
        )
        sc.consents[persons[i].id] = issued.consent
    return sc


def terms(**overrides: Any) -> service.Terms:
    rules = dict(RULES)
    rules.update(overrides.pop("rules", {}))
    values: dict[str, Any] = {
        "purpose": PURPOSE,
        "categories": tuple(CATEGORIES),
        "rules": rules,
        "expires_at": utcnow() + timedelta(days=90),
        "forbidden_uses_ja": "個人の特定、広告配信への利用",
        "forbidden_uses_en": "Re-identification; ad targeting",
        "budget_epsilon": 1.0,
    }
    values.update(overrides)
    return service.Terms(**values)


def proposed(db: Session, sc: Scenario, **overrides: Any) -> Collaboration:
    return service.propose(
        db,
        actor=sc.retailer_admin,
        name="購買 × 会員 分析",
        participants=[(sc.retailer.slug, "provider"), (sc.maker.slug, "recipient")],
        terms=terms(**overrides),
    )


def active(db: Session, sc: Scenario, **overrides: Any) -> Collaboration:
    collab = proposed(db, sc, **overrides)
    return service.accept(db, actor=sc.maker_admin, collaboration_id=collab.id)


def uploaded(db: Session, settings: Settings, sc: Scenario, collab: Collaboration) -> None:
    member = staff_actor(sc.retailer, "member")
    service.upload_customers(
        db, settings, actor=member, collaboration_id=collab.id, data=sc.customers_csv()
    )
    service.upload_orders(
        db, settings, actor=member, collaboration_id=collab.id, data=sc.orders_csv()
    )
    service.upload_members(
        db,
        settings,
        actor=staff_actor(sc.maker, "member"),
        collaboration_id=collab.id,
        data=sc.members_jsonl(),
        fmt="jsonl",
    )


def matched(
    db: Session, settings: Settings, vault: Vault, sc: Scenario, **overrides: Any
) -> tuple[Collaboration, MatchRun]:
    collab = active(db, sc, **overrides)
    uploaded(db, settings, sc, collab)
    run = service.run_match(
        db, settings, vault.pseudonym_key, actor=sc.retailer_admin, collaboration_id=collab.id
    )
    return collab, run
