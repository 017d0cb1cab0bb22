"""The data of the KPT page tests, made with the cases services: an organization with an
owner, a member and a viewer of its support project ``SUP``, which has a KPT board for
``2026-11`` with a Keep, a Problem and a Try; and another organization with a project and
a board of its own.

Used by the TestClient fixtures (``conftest.py``) and by the browser test's live server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tests.support.factories import DEFAULT_PASSWORD, create_org, create_staff
from tsunagu.cases import kpt, service
from tsunagu.cases.models import KptBoard, KptCard, Project
from tsunagu.identity.models import Organization, StaffUser
from tsunagu.identity.service import Actor


@dataclass
class KptWorld:
    org: Organization
    owner: StaffUser
    member: StaffUser
    viewer: StaffUser
    support: Project
    board: KptBoard
    other_board: KptBoard
    cards: dict[str, KptCard] = field(default_factory=dict)
    password: str = DEFAULT_PASSWORD


def actor_of(user: StaffUser, org: Organization, role: str) -> Actor:
    return Actor(kind="staff", organization_id=org.id, role=role, user_id=user.id)


def build_kpt_world(db: Session, *, locale: str | None = None) -> KptWorld:
    org = create_org(db, name="つなぐ市役所")
    owner = create_staff(db, org, role="owner", display_name="管理 一郎")
    member = create_staff(db, org, role="member", display_name="担当 次郎")
    viewer = create_staff(db, org, role="viewer", display_name="閲覧 三子")
    if locale is not None:
        for user in (owner, member, viewer):
            user.locale = locale
    boss = actor_of(owner, org, "owner")
    support = service.create_project(db, boss, key="SUP", name="サポート窓口")
    service.set_member(db, boss, support, member.id, "member")
    service.set_member(db, boss, support, viewer.id, "viewer")
    board = kpt.create_board(db, boss, support, "2026-11", title="11月のふりかえり")
    someone = actor_of(member, org, "member")
    world = KptWorld(org, owner, member, viewer, support, board, board)
    world.cards["keep"] = kpt.add_card(db, someone, board.id, "keep", "朝会が15分で終わる")
    world.cards["problem"] = kpt.add_card(
        db, someone, board.id, "problem", "車庫証明の問い合わせが多い"
    )
    world.cards["try"] = kpt.add_card(db, boss, board.id, "try", "FAQ ページを作る")
    other_org = create_org(db, name="べつの会社")
    stranger = create_staff(db, other_org, role="owner", display_name="他社 太郎")
    theirs = actor_of(stranger, other_org, "owner")
    other = service.create_project(db, theirs, key="OTH", name="他社の案件")
    world.other_board = kpt.create_board(db, theirs, other, "2026-11")
    world.cards["other"] = kpt.add_card(db, theirs, world.other_board.id, "try", "他社の Try")
    db.flush()
    return world
