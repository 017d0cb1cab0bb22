"""The data of the case pages' tests, made with the cases services: an organization with
an owner, a member and a viewer; a support project ``SUP`` (the member and the viewer in
it; a single-choice custom field) with an overdue case assigned to the member, a
sub-case, a case whose description tries to inject a script and a case that came from
the inquiry form; an engineering project ``ENG`` to escalate to; and another
organization's project ``OTH`` with a case.

Used by the TestClient fixtures (``conftest.py``) and by the browser test's live server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.cases import service
from tsunagu.cases.models import Case, CustomField, Inquiry, Project
from tsunagu.core.clock import utcnow
from tsunagu.identity.models import Organization, StaffUser
from tsunagu.identity.service import Actor

SCRIPT = "<script>alert('x')</script> **太字**"


@dataclass
class CasesWorld:
    org: Organization
    other_org: Organization
    owner: StaffUser
    member: StaffUser
    viewer: StaffUser
    support: Project
    engineering: Project
    other: Project
    cases: dict[str, Case] = field(default_factory=dict)
    password: str = DEFAULT_PASSWORD


def actor_of(user: StaffUser, org: Organization, role: str) -> Actor:
    return Actor(kind="staff", organization_id=org.id, role=role, user_id=user.id)


def build_cases_world(db: Session, *, locale: str | None = None) -> CasesWorld:
    org = create_org(db, name="つなぐサポート株式会社")
    other_org = create_org(db, name="べつの会社")
    owner = create_staff(db, org, role="owner", display_name="管理 一郎")
    member = create_staff(db, org, role="member", display_name="担当 次郎")
    viewer = create_staff(db, org, role="viewer", display_name="閲覧 三子")
    if locale is not None:
        for user in (owner, member, viewer):
            user.locale = locale
    boss = actor_of(owner, org, "owner")
    support = service.create_project(db, boss, key="SUP", name="サポート窓口")
    engineering = service.create_project(db, boss, key="ENG", name="開発")
    service.set_member(db, boss, support, member.id, "member")
    service.set_member(db, boss, support, viewer.id, "viewer")
    service.set_member(db, boss, engineering, member.id, "member")
    stranger = create_staff(db, other_org, role="owner", display_name="他社 太郎")
    other = service.create_project(
        db, actor_of(stranger, other_org, "owner"), key="OTH", name="他社の案件"
    )
    db.add(
        CustomField(project_id=support.id, name="顧客区分", kind="single", options=["法人", "個人"])
    )
    db.flush()
    today = utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()
    world = CasesWorld(org, other_org, owner, member, viewer, support, engineering, other)
    world.cases["late"] = service.create_case(
        db,
        boss,
        support,
        {
            "summary": "車庫証明の申請が遅れている",
            "assignee": member.id,
            "start_date": today - timedelta(days=10),
            "due_date": today - timedelta(days=2),
            "priority": "high",
        },
        source="ui",
    )
    world.cases["child"] = service.create_case(
        db,
        boss,
        support,
        {
            "summary": "書類の確認",
            "parent": world.cases["late"].id,
            "due_date": today + timedelta(days=3),
        },
        source="ui",
    )
    world.cases["script"] = service.create_case(
        db, boss, support, {"summary": "スクリプトの説明", "description": SCRIPT}, source="ui"
    )
    inquiry_case = service.new_case(
        db,
        support,
        service.Author(None, "inquiry form"),
        {"summary": "ログインできません", "description": "パスワードを忘れました"},
        source="inquiry",
    )
    db.add(
        Inquiry(
            project_id=support.id,
            case_id=inquiry_case.id,
            reference=f"Q-{inquiry_case.id.hex[:8].upper()}",
            idempotency_key="k-1",
            name="問合 花子",
            email="hanako@example.jp",
        )
    )
    world.cases["inquiry"] = inquiry_case
    world.cases["other"] = service.create_case(
        db, actor_of(stranger, other_org, "owner"), other, {"summary": "他社の課題"}, source="ui"
    )
    db.flush()
    return world
