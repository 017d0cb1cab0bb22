"""Projects and cases: keys, roles, the timeline, sub-cases, escalation and lists."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import create_org, create_staff
from tsunagu.cases import service
from tsunagu.cases.errors import (
    CaseNotFound,
    InvalidCaseField,
    ProjectKeyTaken,
    ProjectNotFound,
    ProjectRoleTooLow,
)
from tsunagu.cases.models import Case, Project
from tsunagu.identity.models import Organization, StaffUser
from tsunagu.identity.service import Actor


def staff_actor(user: StaffUser, org: Organization, role: str) -> Actor:
    return Actor(kind="staff", organization_id=org.id, role=role, user_id=user.id)


@pytest.fixture
def org(db: Session) -> Organization:
    return create_org(db)


@pytest.fixture
def owner(db: Session, org: Organization) -> Actor:
    return staff_actor(create_staff(db, org, role="owner"), org, "owner")


@pytest.fixture
def project(db: Session, owner: Actor) -> Project:
    return service.create_project(db, owner, key="SUP", name="サポート")


class TestProjects:
    def test_a_project_starts_with_open_first_and_closed_last(
        self, db: Session, project: Project
    ) -> None:
        names = [s.name_en for s in service.statuses(db, project.id)]
        assert names == ["Open", "In Progress", "Resolved", "Closed"]

    def test_a_key_is_unique_within_the_organization(self, db: Session, owner: Actor) -> None:
        service.create_project(db, owner, key="ENG", name="Engineering")
        with pytest.raises(ProjectKeyTaken):
            service.create_project(db, owner, key="eng", name="Again")

    def test_a_lowercase_or_odd_key_is_refused_with_the_rule(
        self, db: Session, owner: Actor
    ) -> None:
        with pytest.raises(Exception, match="capital letters"):
            service.create_project(db, owner, key="1X", name="x")

    def test_an_internal_project_is_invisible_to_staff_who_are_not_members(
        self, db: Session, org: Organization, project: Project
    ) -> None:
        assert project.visibility == "internal"
        other = staff_actor(create_staff(db, org, role="member"), org, "member")
        with pytest.raises(ProjectNotFound):
            service.get_project(db, other, "SUP")

    def test_a_partner_member_sees_only_the_shared_project(self, db: Session, owner: Actor) -> None:
        partner = create_org(db)
        shared = service.create_project(
            db,
            owner,
            key="PRT",
            name="共同",
            visibility="partner",
            partner_organization_id=partner.id,
        )
        open_to_all = service.create_project(
            db, owner, key="ALL", name="全社", visibility="cross_department"
        )
        user = create_staff(db, partner, role="member")
        service.set_member(db, owner, shared, user.id, "member")
        outsider = staff_actor(user, partner, "member")
        visible = {p.key for p in service.visible_projects(db, outsider)}
        assert visible == {"PRT"}
        with pytest.raises(ProjectNotFound):
            service.get_project(db, outsider, open_to_all.id)


class TestCases:
    def test_cases_are_numbered_per_project(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        first = service.create_case(db, owner, project, {"summary": "一件目"})
        second = service.create_case(db, owner, project, {"summary": "二件目"})
        assert (first.key, second.key) == ("SUP-1", "SUP-2")

    def test_a_case_is_found_by_its_key(self, db: Session, owner: Actor, project: Project) -> None:
        case = service.create_case(db, owner, project, {"summary": "申請"})
        assert service.get_case(db, owner, "sup-1").id == case.id

    def test_every_field_change_is_on_the_timeline(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = service.create_case(db, owner, project, {"summary": "車庫証明"})
        in_progress = service.statuses(db, project.id)[1]
        service.update_case(
            db,
            owner,
            case,
            {"status": in_progress.id, "priority": "high", "due_date": date(2026, 12, 1)},
            comment="着手します",
        )
        events = service.timeline(db, case.id)
        assert [e.kind for e in events] == ["created", "changed"]
        assert {(c["field"], c["from"], c["to"]) for c in events[1].changes} == {
            ("status", "未対応", "処理中"),
            ("priority", "normal", "high"),
            ("dueDate", None, "2026-12-01"),
        }
        assert events[1].comment_id is not None

    def test_a_viewer_cannot_change_a_case(
        self, db: Session, org: Organization, owner: Actor, project: Project
    ) -> None:
        case = service.create_case(db, owner, project, {"summary": "x"})
        user = create_staff(db, org, role="member")
        service.set_member(db, owner, project, user.id, "viewer")
        viewer = staff_actor(user, org, "member")
        with pytest.raises(ProjectRoleTooLow):
            service.update_case(db, viewer, case, {"summary": "y"})

    def test_a_sub_case_cannot_have_sub_cases(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        parent = service.create_case(db, owner, project, {"summary": "親"})
        child = service.create_case(db, owner, project, {"summary": "子", "parent": parent.id})
        with pytest.raises(InvalidCaseField, match="one level"):
            service.create_case(db, owner, project, {"summary": "孫", "parent": child.id})

    def test_a_start_after_the_due_date_is_refused(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        with pytest.raises(InvalidCaseField, match="start date"):
            service.create_case(
                db,
                owner,
                project,
                {"summary": "x", "start_date": "2026-12-02", "due_date": "2026-12-01"},
            )


class TestEscalation:
    def test_a_copy_is_linked_both_ways_and_keeps_the_timeline(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        engineering = service.create_project(db, owner, key="ENG", name="開発")
        case = service.create_case(db, owner, project, {"summary": "ログインできない"})
        service.comment(db, owner, case, "再現しました")
        copy = service.escalate(db, owner, case, engineering, mode="copy")
        assert copy.key == "ENG-1"
        kinds = [e.kind for e in service.timeline(db, copy.id)]
        assert kinds == ["created", "commented", "created", "escalated"]
        relations = {(link.relation, link.target_id) for link in service.links_of(db, case.id)}
        assert ("escalated_to", copy.id) in relations
        back = {(link.relation, link.target_id) for link in service.links_of(db, copy.id)}
        assert ("escalated_from", case.id) in back

    def test_a_moved_case_is_still_found_by_its_old_key(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        engineering = service.create_project(db, owner, key="ENG", name="開発")
        case = service.create_case(db, owner, project, {"summary": "障害"})
        moved = service.escalate(db, owner, case, engineering, mode="move")
        assert moved.key == "ENG-1"
        assert service.get_case(db, owner, "SUP-1").id == case.id


class TestLists:
    def test_overdue_lists_open_cases_past_their_due_date(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        late = service.create_case(
            db, owner, project, {"summary": "遅れ", "due_date": "2026-11-01"}
        )
        service.create_case(db, owner, project, {"summary": "先", "due_date": "2026-12-31"})
        page = service.list_cases(db, owner, service.CaseQuery(overdue_on=date(2026, 11, 27)))
        assert [c.id for c in page.items] == [late.id]

    def test_another_organizations_cases_never_appear(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        service.create_case(db, owner, project, {"summary": "社内"})
        other_org = create_org(db)
        stranger = staff_actor(create_staff(db, other_org, role="owner"), other_org, "owner")
        assert service.list_cases(db, stranger, service.CaseQuery()).total == 0
        with pytest.raises(CaseNotFound):
            service.get_case(db, stranger, db.query(Case).first().id)  # type: ignore[union-attr]


class TestCounting:
    def test_a_list_counts_up_to_the_cap_and_says_there_are_more(
        self, db: Session, owner: Actor, project: Project, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(service, "COUNT_CAP", 2)
        for n in range(3):
            service.create_case(db, owner, project, {"summary": f"件 {n}"})
        page = service.list_cases(db, owner, service.CaseQuery())
        assert (page.total, page.more, len(page.items)) == (2, True, 3)

    def test_an_organization_member_administers_the_project_they_created(
        self, db: Session, org: Organization
    ) -> None:
        member = staff_actor(create_staff(db, org, role="member"), org, "member")
        created = service.create_project(db, member, key="OWN", name="自分の")
        assert service.project_role(db, member, created) == "admin"

    def test_an_organization_viewer_only_reads_whatever_their_project_role(
        self, db: Session, org: Organization, owner: Actor, project: Project
    ) -> None:
        user = create_staff(db, org, role="viewer")
        service.set_member(db, owner, project, user.id, "admin")
        viewer = staff_actor(user, org, "viewer")
        assert service.project_role(db, viewer, project) == "viewer"


class TestProjectPeople:
    def test_an_internal_project_lists_admins_and_members_only(
        self, db: Session, org: Organization, owner: Actor, project: Project
    ) -> None:
        member = create_staff(db, org, role="member")
        outsider = create_staff(db, org, role="member")
        service.set_member(db, owner, project, member.id, "member")
        people = service.project_people(db, project)
        assert owner.user_id in people
        assert member.id in people
        assert outsider.id not in people

    def test_a_partner_project_lists_partner_staff_who_are_members(
        self, db: Session, owner: Actor
    ) -> None:
        partner = create_org(db)
        shared = service.create_project(
            db, owner, key="PRT", name="共同", visibility="partner",
            partner_organization_id=partner.id,
        )  # fmt: skip
        joined = create_staff(db, partner, role="member")
        other = create_staff(db, partner, role="admin")
        service.set_member(db, owner, shared, joined.id, "member")
        people = service.project_people(db, shared)
        assert joined.id in people
        assert other.id not in people
