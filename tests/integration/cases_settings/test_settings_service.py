"""Project settings: statuses keep Open first and Closed last, deleting what cases use moves
them with a timeline event, custom field options are never orphaned, partner visibility."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import create_org, create_staff
from tsunagu.cases import service, settings
from tsunagu.cases.errors import NameTaken, ProjectRoleTooLow
from tsunagu.cases.models import Project
from tsunagu.core.errors import InvalidInput
from tsunagu.identity.models import Organization, StaffUser
from tsunagu.identity.service import Actor


def staff_actor(user: StaffUser, org: Organization, role: str) -> Actor:
    return Actor(kind="staff", organization_id=org.id, role=role, user_id=user.id)


@pytest.fixture
def org(db: Session) -> Organization:
    return create_org(db)


@pytest.fixture
def owner(db: Session, org: Organization) -> Actor:
    return staff_actor(create_staff(db, org, role="owner", display_name="管理 太郎"), org, "owner")


@pytest.fixture
def project(db: Session, owner: Actor) -> Project:
    return service.create_project(db, owner, key="SUP", name="サポート")


def status_names(db: Session, project: Project) -> list[str | None]:
    return [s.name_en or s.name for s in service.statuses(db, project.id)]


class TestStatuses:
    def test_a_new_status_goes_just_before_closed(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        settings.add_status(db, owner, project, name="確認待ち", color="#123abc", name_en="Waiting")
        assert status_names(db, project) == ["Open", "In Progress", "Resolved", "Waiting", "Closed"]

    def test_a_status_name_is_unique_in_the_project(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        with pytest.raises(NameTaken):
            settings.add_status(db, owner, project, name="処理中", color="#123abc")

    def test_a_colour_must_be_a_hex_colour(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        with pytest.raises(InvalidInput, match="colour"):
            settings.add_status(db, owner, project, name="保留", color="red")

    def test_a_builtin_status_can_be_renamed(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        first = service.statuses(db, project.id)[0]
        settings.update_status(db, owner, project, first.id, {"name": "新規", "name_en": "New"})
        assert status_names(db, project)[0] == "New"

    def test_reordering_keeps_open_first_and_closed_last(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        settings.add_status(db, owner, project, name="保留", color="#123abc", name_en="On hold")
        ids = [s.id for s in service.statuses(db, project.id)]
        with pytest.raises(settings.BuiltinStatus):
            settings.reorder_statuses(db, owner, project, [ids[1], ids[0], *ids[2:]])
        with pytest.raises(settings.BuiltinStatus):
            settings.reorder_statuses(db, owner, project, [*ids[:-2], ids[-1], ids[-2]])
        settings.reorder_statuses(db, owner, project, [ids[0], ids[3], ids[1], ids[2], ids[4]])
        assert status_names(db, project) == [
            "Open",
            "On hold",
            "In Progress",
            "Resolved",
            "Closed",
        ]

    def test_a_reorder_must_name_every_status_once(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        ids = [s.id for s in service.statuses(db, project.id)]
        with pytest.raises(InvalidInput):
            settings.reorder_statuses(db, owner, project, [ids[0], ids[0], ids[3]])

    def test_a_builtin_status_cannot_be_deleted(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        resolved = service.statuses(db, project.id)[2]
        with pytest.raises(settings.BuiltinStatus):
            settings.delete_status(db, owner, project, resolved.id)

    def test_deleting_a_status_with_cases_needs_a_substitute(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        extra = settings.add_status(db, owner, project, name="保留", color="#123abc")
        service.create_case(db, owner, project, {"summary": "車庫証明", "status": extra.id})
        with pytest.raises(settings.SubstituteRequired):
            settings.delete_status(db, owner, project, extra.id)

    def test_deleting_a_status_moves_its_cases_and_records_it_on_their_timeline(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        extra = settings.add_status(db, owner, project, name="保留", color="#123abc")
        case = service.create_case(db, owner, project, {"summary": "車庫証明", "status": extra.id})
        in_progress = service.statuses(db, project.id)[1]
        moved = settings.delete_status(db, owner, project, extra.id, substitute_id=in_progress.id)
        assert moved == 1
        assert case.status_id == in_progress.id
        last = service.timeline(db, case.id)[-1]
        assert (last.actor_label, last.changes) == (
            "管理 太郎",
            [{"field": "status", "from": "保留", "to": "処理中"}],
        )
        assert status_names(db, project) == ["Open", "In Progress", "Resolved", "Closed"]

    def test_a_substitute_of_another_project_is_not_found(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        other = service.create_project(db, owner, key="ENG", name="開発")
        extra = settings.add_status(db, owner, project, name="保留", color="#123abc")
        service.create_case(db, owner, project, {"summary": "x", "status": extra.id})
        foreign = service.statuses(db, other.id)[1]
        with pytest.raises(settings.ItemNotFound):
            settings.delete_status(db, owner, project, extra.id, substitute_id=foreign.id)

    def test_a_project_member_cannot_change_statuses(
        self, db: Session, org: Organization, owner: Actor, project: Project
    ) -> None:
        user = create_staff(db, org, role="member")
        service.set_member(db, owner, project, user.id, "member")
        with pytest.raises(ProjectRoleTooLow):
            settings.add_status(
                db, staff_actor(user, org, "member"), project, name="x", color="#000000"
            )


class TestIssueTypesCategoriesMilestones:
    def test_deleting_an_issue_type_in_use_moves_cases_to_the_substitute(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        task, bug = service.issue_types(db, project.id)[:2]
        case = service.create_case(db, owner, project, {"summary": "x", "issue_type": task.id})
        with pytest.raises(settings.SubstituteRequired):
            settings.delete_issue_type(db, owner, project, task.id)
        settings.delete_issue_type(db, owner, project, task.id, substitute_id=bug.id)
        assert case.issue_type_id == bug.id
        assert service.timeline(db, case.id)[-1].changes == [
            {"field": "issueType", "from": "タスク", "to": "バグ"}
        ]

    def test_the_last_issue_type_stays(self, db: Session, owner: Actor, project: Project) -> None:
        *others, last = service.issue_types(db, project.id)
        for issue_type in others:
            settings.delete_issue_type(db, owner, project, issue_type.id)
        with pytest.raises(settings.InUse):
            settings.delete_issue_type(db, owner, project, last.id)

    def test_deleting_a_category_clears_it_on_the_timeline(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        category = settings.add_category(db, owner, project, name="窓口")
        case = service.create_case(db, owner, project, {"summary": "x", "category": category.id})
        settings.delete_category(db, owner, project, category.id)
        assert case.category_id is None
        assert service.timeline(db, case.id)[-1].changes == [
            {"field": "category", "from": "窓口", "to": None}
        ]

    def test_a_milestone_keeps_its_dates_in_order(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        with pytest.raises(InvalidInput, match="startDate"):
            settings.add_milestone(
                db,
                owner,
                project,
                {"name": "v1", "start_date": "2026-12-10", "release_due_date": "2026-12-01"},
            )

    def test_a_milestone_can_be_archived(self, db: Session, owner: Actor, project: Project) -> None:
        milestone = settings.add_milestone(db, owner, project, {"name": "v1"})
        settings.update_milestone(db, owner, project, milestone.id, {"archived": True})
        assert service.milestones(db, project.id)[0].archived is True


class TestCustomFields:
    @pytest.fixture
    def field(self, db: Session, owner: Actor, project: Project) -> uuid.UUID:
        created = settings.add_custom_field(
            db, owner, project, name="窓口", kind="multi", options=["本庁", "支所", "電話"]
        )
        return created.id

    def test_a_choice_field_needs_options(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        with pytest.raises(InvalidInput, match="at least one option"):
            settings.add_custom_field(db, owner, project, name="x", kind="single")

    def test_a_text_field_takes_no_options(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        with pytest.raises(InvalidInput, match="only choice fields"):
            settings.add_custom_field(db, owner, project, name="x", kind="text", options=["a"])

    def test_an_unused_option_can_be_removed(
        self, db: Session, owner: Actor, project: Project, field: uuid.UUID
    ) -> None:
        service.create_case(
            db, owner, project, {"summary": "x", "custom_fields": {"窓口": ["本庁"]}}
        )
        updated = settings.update_custom_field(
            db, owner, project, field, {"options": ["本庁", "支所"]}
        )
        assert updated.options == ["本庁", "支所"]

    def test_an_option_a_case_holds_cannot_be_removed(
        self, db: Session, owner: Actor, project: Project, field: uuid.UUID
    ) -> None:
        service.create_case(
            db, owner, project, {"summary": "x", "custom_fields": {"窓口": ["電話"]}}
        )
        with pytest.raises(settings.OptionInUse, match="電話"):
            settings.update_custom_field(db, owner, project, field, {"options": ["本庁", "支所"]})

    def test_a_renamed_option_migrates_the_stored_values(
        self, db: Session, owner: Actor, project: Project, field: uuid.UUID
    ) -> None:
        case = service.create_case(
            db, owner, project, {"summary": "x", "custom_fields": {"窓口": ["本庁", "電話"]}}
        )
        settings.update_custom_field(
            db,
            owner,
            project,
            field,
            {"options": ["本庁", "支所", "コールセンター"]},
            renames={"電話": "コールセンター"},
        )
        assert service.field_values(db, case.id)[field] == ["本庁", "コールセンター"]


class TestProjectSettings:
    def test_partner_visibility_needs_an_existing_other_organization(
        self, db: Session, org: Organization, owner: Actor, project: Project
    ) -> None:
        with pytest.raises(InvalidInput):
            settings.update_project(db, owner, project, {"visibility": "partner"})
        with pytest.raises(InvalidInput, match="other organization"):
            settings.update_project(
                db, owner, project, {"visibility": "partner", "partner_organization_id": org.id}
            )
        with pytest.raises(InvalidInput, match="other organization"):
            settings.update_project(
                db,
                owner,
                project,
                {"visibility": "partner", "partner_organization_id": uuid.uuid4()},
            )

    def test_leaving_partner_visibility_removes_the_partner_staff(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        partner = create_org(db)
        settings.update_project(
            db, owner, project, {"visibility": "partner", "partner_organization_id": partner.id}
        )
        outsider = create_staff(db, partner, role="member")
        service.set_member(db, owner, project, outsider.id, "member")
        settings.update_project(db, owner, project, {"visibility": "internal"})
        assert project.partner_organization_id is None
        assert outsider.id not in {u.id for _m, u in service.members(db, project)}

    def test_an_archived_project_leaves_the_list(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        settings.update_project(db, owner, project, {"archived": True})
        assert service.visible_projects(db, owner) == []
        assert service.visible_projects(db, owner, archived=True) == [project]

    def test_the_inquiry_form_settings_are_kept(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        settings.update_project(
            db,
            owner,
            project,
            {"inquiry_enabled": True, "inquiry_notice_ja": "回答のみに使います"},
        )
        assert (project.inquiry_enabled, project.inquiry_notice_ja) == (True, "回答のみに使います")
