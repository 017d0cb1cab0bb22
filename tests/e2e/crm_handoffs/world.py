"""The data of the handoff pages' tests, made with the CRM services: an organization with a
member (who rates), a viewer and a salesperson who hands over, three handoffs (inside
sales → field sales, a fast pass marketing → field sales, field sales → customer success),
a move that is not a handoff, one rated handoff with a comment, and another organization's
handoff.  Used by the TestClient tests and by the live server of the browser test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.core.clock import utcnow
from tsunagu.crm import handoffs, service
from tsunagu.crm.models import CrmEntity, CrmTransition
from tsunagu.identity.models import Organization, StaffUser


@dataclass(frozen=True)
class HandoffWorld:
    org: Organization
    other_org: Organization
    member: StaffUser
    viewer: StaffUser
    seller: StaffUser
    #: ref → the entity's handoff transition (pending unless named in ``rated``)
    handoffs: dict[str, CrmTransition]
    rated: CrmTransition
    not_a_handoff: CrmTransition
    other_handoff: CrmTransition
    password: str = DEFAULT_PASSWORD


def _entity(db: Session, org: Organization, ref: str, name: str) -> CrmEntity:
    return service.create_entity(db, org.id, ref=ref, name=name)


def _walk(
    db: Session, entity: CrmEntity, start: datetime, stages: list[str], actor: str
) -> list[CrmTransition]:
    return [
        service.move(
            db, entity.organization_id, entity.id, stage, actor=actor,
            at=start + timedelta(days=i),
        )
        for i, stage in enumerate(stages)
    ]  # fmt: skip


def build_handoff_world(db: Session, *, member_locale: str | None = None) -> HandoffWorld:
    org = create_org(db, name="つなぐ製作所", kind="company")
    other = create_org(db, name="よその商事", kind="company")
    member = create_staff(db, org, role="member", display_name="高橋 営業")
    if member_locale is not None:
        member.locale = member_locale
    viewer = create_staff(db, org, role="viewer")
    seller = create_staff(db, org, role="member", display_name="伊藤 インサイド")
    actor = f"user:{seller.id}"
    start = utcnow() - timedelta(days=20)
    a = _walk(db, _entity(db, org, "H-001", "青空製作所"), start,
              ["promising", "qualified", "opportunity"], actor)  # fmt: skip
    b = _walk(db, _entity(db, org, "H-002", "みなと物流"), start,
              ["nurturing", "opportunity"], actor)  # fmt: skip
    c = _walk(db, _entity(db, org, "H-003", "東雲システム"), start,
              ["opportunity", "won", "onboarding"], actor)  # fmt: skip
    d = _walk(db, _entity(db, org, "H-004", "北斗精機"), start, ["lead", "nurturing"], actor)
    e = _walk(db, _entity(db, other, "X-001", "よその客"), start,
              ["qualified", "opportunity"], "test")  # fmt: skip
    handoffs.rate(db, org.id, a[1].id, rating=2, comment="予算が未確認でした",
                  rater=f"user:{member.id}")  # fmt: skip
    db.flush()
    return HandoffWorld(
        org=org,
        other_org=other,
        member=member,
        viewer=viewer,
        seller=seller,
        handoffs={"H-001": a[2], "H-002": b[1], "H-003": c[2]},
        rated=a[1],
        not_a_handoff=d[1],
        other_handoff=e[1],
    )
