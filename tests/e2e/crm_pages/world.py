"""The data of the pipeline pages' tests, made with the CRM services: an organization
with a member (the owner of most entities) and a viewer, entities at several stages —
one that came by a fast pass, one lost with a reason, one recycled — with moves dated over
the last months so the metrics have periods to show, and another organization's entity.

Used by the TestClient fixtures (``conftest.py``) and by the live server of the browser
tests, so both see the same world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.core.clock import utcnow
from tsunagu.crm import service
from tsunagu.crm.models import CrmEntity
from tsunagu.identity.models import Organization, StaffUser

#: (ref, name, industry, region, amount, [(stage, days ago, reason, amount)])
PLAN: tuple[tuple[str, str, str, str, int, list[tuple[str, int, str, int | None]]], ...] = (
    ("D-001", "青空製作所", "製造業", "関東", 1_200_000,
     [("lead", 150, "", None), ("nurturing", 140, "", None), ("promising", 120, "", None),
      ("qualified", 100, "", None), ("opportunity", 90, "", None),
      ("won", 60, "", 1_500_000), ("onboarding", 50, "", None)]),
    ("D-002", "みなと物流", "物流", "関東", 800_000,
     [("lead", 130, "", None), ("nurturing", 120, "", None), ("qualified", 80, "", None),
      ("opportunity", 70, "", None), ("lost", 40, "価格が合わなかった", 800_000)]),
    ("D-003", "さくら食品", "食品", "関西", 500_000,
     [("promising", 110, "", None), ("recycle", 70, "来期に再検討", None),
      ("nurturing", 20, "", None)]),
    ("D-004", "北斗精機", "製造業", "北海道", 2_000_000,
     [("lead", 90, "", None), ("nurturing", 60, "", None), ("promising", 30, "", None),
      ("qualified", 10, "", None)]),
    ("D-005", "東雲システム", "IT", "関東", 3_000_000,
     [("lead", 100, "", None), ("opportunity", 60, "", None), ("won", 30, "", 2_800_000)]),
    ("D-006", "学生 田中", "教育", "関西", 0,
     [("lead", 45, "", None), ("dead_end", 44, "学生のため対象外", None)]),
    ("D-007", "若葉商事", "卸売", "九州", 600_000, [("lead", 5, "", None)]),
    ("D-008", "朝日電機", "製造業", "東海", 1_500_000,
     [("lead", 40, "", None), ("opportunity", 15, "", None)]),
)  # fmt: skip


@dataclass
class CrmWorld:
    org: Organization
    other_org: Organization
    member: StaffUser
    viewer: StaffUser
    entities: dict[str, CrmEntity] = field(default_factory=dict)
    other_entity: CrmEntity | None = None
    password: str = DEFAULT_PASSWORD

    def entity(self, ref: str) -> CrmEntity:
        return self.entities[ref]


def _at(now: datetime, days_ago: int) -> datetime:
    return now - timedelta(days=days_ago, hours=1)


def build_crm_world(db: Session, *, member_locale: str | None = None) -> CrmWorld:
    org = create_org(db, name="つなぐ製作所", kind="company")
    other = create_org(db, name="べつの商事株式会社", kind="company")
    member = create_staff(db, org, role="member", display_name="営業 太郎")
    if member_locale is not None:
        member.locale = member_locale
    viewer = create_staff(db, org, role="viewer", display_name="閲覧 花子")
    world = CrmWorld(org=org, other_org=other, member=member, viewer=viewer)
    now = utcnow()
    for ref, name, industry, region, amount, moves in PLAN:
        entity = service.create_entity(
            db,
            org.id,
            ref=ref,
            name=name,
            industry=industry,
            region=region,
            size="中堅",
            channel="seminar",
            amount=amount,
            owner_user_id=member.id,
        )
        for stage, days_ago, reason, value in moves:
            service.move(
                db,
                org.id,
                entity.id,
                stage,
                actor=f"user:{member.id}",
                source="ui",
                at=_at(now, days_ago),
                reason=reason,
                amount=value,
            )
        world.entities[ref] = entity
    stranger = service.create_entity(db, other.id, ref="X-1", name="他社の案件")
    service.move(db, other.id, stranger.id, "lead", actor="import", source="import")
    world.other_entity = stranger
    db.flush()
    return world
