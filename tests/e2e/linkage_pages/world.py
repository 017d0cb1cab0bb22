"""The data of the collaboration and clean-room page tests, made through the services: a
retailer (provider) and a maker (recipient) under an active agreement whose tables are
uploaded and matched, with orders before and during a promotion, and a third organization.

The retailer knows 44 persons in three segments; 40 consent to the maker using their
purchases for research.  The maker's members are the consenting persons whose number is not
a multiple of 3, written differently (upper-case e-mail, slashed birth dates).  Everyone
orders once a week from 2026-02-16 to 2026-03-15 (but see ``vip`` below); members spend
600 yen more a week during the promotion (2026-03-02 – 2026-03-15), non-members 100 yen
more.  The segment ``vip`` holds three members and two non-members who bought nothing, so
the report has no vip non-member figures; two customers of ``new`` also bought one order of
category ``rare``, a cell withheld whenever asked about (minimum group size 3).

Used by the TestClient tests (``conftest.py``) and by the browser tests' live server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.consent import service as consent_service
from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings
from tsunagu.identity.models import Organization, StaffUser
from tsunagu.identity.service import Actor
from tsunagu.linkage import service
from tsunagu.linkage.models import Collaboration
from tsunagu.vault import service as vault_service
from tsunagu.vault.service import Vault

PERSONS = 44
CONSENTING = range(40)
PURPOSE = "research-development"
CATEGORIES = ("purchase",)
PROMOTION = (date(2026, 3, 2), date(2026, 3, 15))
FIRST_WEEK = date(2026, 2, 16)
WEEKS = 4
FAMILY = ["山田", "佐藤", "鈴木", "髙橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤", "吉田"]
GIVEN = ["花子", "太郎", "一郎", "美咲"]
RULES: dict[str, Any] = {
    "dimensions": ["member", "segment", "category", "age_band", "week", "promotion_period"],
    "measures": ["persons", "orders", "amount_sum", "amount_avg"],
    "min_group_size": 3,
    "epsilon_per_query": 0.5,
}
EVIDENCE = consent_service.Evidence(
    notice_text="購買情報を研究開発のためメーカーに提供します。"
    "We share your purchases with the maker for research.",
    method="web-form",
)


def segment(i: int) -> str:
    return "vip" if i < 5 else ("loyal" if i % 2 else "new")


def is_member(i: int) -> bool:
    return i in CONSENTING and i % 3 != 0


def _buys(i: int) -> bool:
    """False for the vip non-members, who bought nothing: the vip row of the promotion report
    has no non-member figures (it reads "—"), and no question holds them in one answer and
    not in another (the difference check would refuse such a report)."""
    return not (segment(i) == "vip" and not is_member(i))


#: two customers of segment ``new`` who also bought one order of category ``rare`` in the
#: first week: a category cell of two persons, withheld whenever asked about
RARE_BUYERS = (6, 8)


@dataclass
class LinkageWorld:
    retailer: Organization
    maker: Organization
    other: Organization
    retailer_admin: StaffUser
    retailer_member: StaffUser
    maker_admin: StaffUser
    maker_analyst: StaffUser
    other_admin: StaffUser
    collab: Collaboration
    proposed: Collaboration
    password: str = DEFAULT_PASSWORD


def _actor(org: Organization, user: StaffUser, role: str) -> Actor:
    return Actor(kind="staff", organization_id=org.id, role=role, user_id=user.id)


def _identifiers(i: int) -> dict[str, str]:
    birth = date(1950, 1, 1) + timedelta(days=311 * i)
    return {
        "family_name": FAMILY[i % len(FAMILY)],
        "given_name": GIVEN[i % len(GIVEN)],
        "birth_date": birth.isoformat(),
        "email": f"person{i}@example.jp",
        "phone": f"090-{1000 + i:04d}-{2000 + i:04d}",
        "postal_code": f"100-{i:04d}",
        "address": f"東京都千代田区千代田{i + 1}-1-1",
    }


def customers_csv() -> bytes:
    lines = [
        "customer_id,family_name,given_name,birth_date,email,phone,postal_code,address,segment"
    ]
    for i in range(PERSONS):
        d = _identifiers(i)
        lines.append(
            f"C{i:04d},{d['family_name']},{d['given_name']},{d['birth_date']},{d['email']},"
            f"{d['phone']},{d['postal_code']},{d['address']},{segment(i)}"
        )
    return ("\n".join(lines) + "\n").encode()


def orders_csv() -> bytes:
    lines = ["order_id,customer,ordered_at,category,amount"]
    for i in RARE_BUYERS:
        lines.append(f"R{i:04d},C{i:04d},{FIRST_WEEK.isoformat()},rare,500")
    for i in filter(_buys, range(PERSONS)):
        for week in range(WEEKS):
            day = FIRST_WEEK + timedelta(weeks=week, days=i % 7)
            during = PROMOTION[0] <= day <= PROMOTION[1]
            extra = (600 if is_member(i) else 100) if during else 0
            category = ("food", "drink")[week % 2]
            lines.append(f"O{i:04d}-{week},C{i:04d},{day.isoformat()},{category},{1000 + extra}")
    return ("\n".join(lines) + "\n").encode()


def members_jsonl() -> bytes:
    rows = []
    for i in range(PERSONS):
        if not is_member(i):
            continue
        d = _identifiers(i)
        b = date.fromisoformat(d["birth_date"])
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
    return b"\n".join(orjson.dumps(r) for r in rows) + b"\n"


def terms(**overrides: Any) -> service.Terms:
    values: dict[str, Any] = {
        "purpose": PURPOSE,
        "categories": CATEGORIES,
        "rules": dict(RULES),
        "expires_at": utcnow() + timedelta(days=90),
        "forbidden_uses_ja": "個人の特定、広告配信への利用",
        "forbidden_uses_en": "Re-identification; ad targeting",
        "budget_epsilon": 2.0,
    }
    values.update(overrides)
    return service.Terms(**values)


def build_linkage_world(db: Session, settings: Settings, vault: Vault) -> LinkageWorld:
    tag = uuid.uuid4().hex[:6]
    retailer = create_org(db, slug=f"retailer-{tag}", name="みなと百貨店")
    maker = create_org(db, slug=f"maker-{tag}", name="さくら食品")
    other = create_org(db, slug=f"other-{tag}", name="べつの商事")
    retailer_admin = create_staff(db, retailer, role="admin", display_name="個人情報 保護子")
    retailer_member = create_staff(db, retailer, role="member", display_name="販売 一郎")
    maker_admin = create_staff(db, maker, role="admin", display_name="契約 次郎")
    maker_analyst = create_staff(db, maker, role="member", display_name="分析 花子")
    other_admin = create_staff(db, other, role="admin", display_name="他社 三郎")
    for i in range(PERSONS):
        d = _identifiers(i)
        person = vault_service.register_person(
            db,
            vault,
            retailer,
            ref=f"C{i:04d}",
            family_name=d["family_name"],
            given_name=d["given_name"],
            birth_date=date.fromisoformat(d["birth_date"]),
            actor="api_key:test",
        )
        if i in CONSENTING:
            consent_service.give_consent(
                db,
                vault.pseudonym_key,
                person_id=person.id,
                recipient=maker,
                purpose=PURPOSE,
                categories=list(CATEGORIES),
                evidence=EVIDENCE,
                actor="person",
                given_by="person",
            )
    r_admin = _actor(retailer, retailer_admin, "admin")
    m_admin = _actor(maker, maker_admin, "admin")
    collab = service.propose(
        db,
        actor=r_admin,
        name="購買 × 会員 分析",
        participants=[(retailer.slug, "provider"), (maker.slug, "recipient")],
        terms=terms(),
    )
    service.accept(db, actor=m_admin, collaboration_id=collab.id)
    service.upload_customers(
        db, settings, actor=r_admin, collaboration_id=collab.id, data=customers_csv()
    )
    service.upload_orders(
        db, settings, actor=r_admin, collaboration_id=collab.id, data=orders_csv()
    )
    service.upload_members(
        db, settings, actor=m_admin, collaboration_id=collab.id, data=members_jsonl(), fmt="jsonl"
    )
    service.run_match(db, settings, vault.pseudonym_key, actor=r_admin, collaboration_id=collab.id)
    proposed = service.propose(
        db,
        actor=r_admin,
        name="来店分析(提案中)",
        participants=[(retailer.slug, "provider"), (maker.slug, "recipient")],
        terms=terms(),
    )
    return LinkageWorld(
        retailer=retailer,
        maker=maker,
        other=other,
        retailer_admin=retailer_admin,
        retailer_member=retailer_member,
        maker_admin=maker_admin,
        maker_analyst=maker_analyst,
        other_admin=other_admin,
        collab=collab,
        proposed=proposed,
    )
