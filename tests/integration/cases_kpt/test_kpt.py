"""KPT boards: periods, cards, votes, closing, carrying over, Try → case and history."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import create_org, create_staff
from tsunagu.cases import kpt, service
from tsunagu.cases.errors import ProjectRoleTooLow
from tsunagu.cases.models import Case, KptBoard, Project
from tsunagu.core.errors import Conflict
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


@pytest.fixture
def member(db: Session, org: Organization, owner: Actor, project: Project) -> Actor:
    user = create_staff(db, org, role="member")
    service.set_member(db, owner, project, user.id, "member")
    return staff_actor(user, org, "member")


@pytest.fixture
def viewer(db: Session, org: Organization, owner: Actor, project: Project) -> Actor:
    user = create_staff(db, org, role="member")
    service.set_member(db, owner, project, user.id, "viewer")
    return staff_actor(user, org, "member")


@pytest.fixture
def board(db: Session, member: Actor, project: Project) -> KptBoard:
    return kpt.create_board(db, member, project, "2026-11")


class TestBoards:
    def test_a_period_has_one_board_per_project(
        self, db: Session, member: Actor, project: Project, board: KptBoard
    ) -> None:
        with pytest.raises(kpt.PeriodTaken):
            kpt.create_board(db, member, project, f" {board.period} ")

    def test_the_same_period_may_exist_in_another_project(
        self, db: Session, owner: Actor, board: KptBoard
    ) -> None:
        other = service.create_project(db, owner, key="ENG", name="開発")
        assert kpt.create_board(db, owner, other, board.period).project_id == other.id

    @pytest.mark.parametrize("period", ["", "   ", "a\x00b", "two\nlines", "x" * 41])
    def test_an_empty_or_odd_period_is_refused(
        self, db: Session, member: Actor, project: Project, period: str
    ) -> None:
        with pytest.raises(kpt.InvalidKpt):
            kpt.create_board(db, member, project, period)

    def test_a_viewer_cannot_start_a_board(
        self, db: Session, viewer: Actor, project: Project
    ) -> None:
        with pytest.raises(ProjectRoleTooLow):
            kpt.create_board(db, viewer, project, "2026-W48")

    def test_the_history_counts_cards_per_kind(
        self, db: Session, member: Actor, project: Project, board: KptBoard
    ) -> None:
        for kind in ("keep", "keep", "problem", "try"):
            kpt.add_card(db, member, board.id, kind, f"{kind} card")
        later = kpt.create_board(db, member, project, "2026-12")
        summaries = kpt.boards(db, member, project)
        assert [(s.board.id, s.keep, s.problem, s.try_) for s in summaries] == [
            (later.id, 0, 0, 0),
            (board.id, 2, 1, 1),
        ]

    def test_another_organization_sees_no_board(self, db: Session, board: KptBoard) -> None:
        stranger_org = create_org(db)
        stranger = staff_actor(create_staff(db, stranger_org, role="owner"), stranger_org, "owner")
        with pytest.raises(kpt.BoardNotFound):
            kpt.board_project(db, stranger, board.id)


class TestCards:
    def test_a_card_names_its_author(self, db: Session, member: Actor, board: KptBoard) -> None:
        card = kpt.add_card(db, member, board.id, "keep", "  朝会が短い  ")
        assert (card.body, card.author_id) == ("朝会が短い", member.user_id)

    @pytest.mark.parametrize(
        ("kind", "body"), [("keep", ""), ("keep", "x" * 2001), ("keep", "a\x00"), ("idea", "x")]
    )
    def test_bad_cards_are_refused(
        self, db: Session, member: Actor, board: KptBoard, kind: str, body: str
    ) -> None:
        with pytest.raises(kpt.InvalidKpt):
            kpt.add_card(db, member, board.id, kind, body)

    def test_a_body_of_2000_characters_is_taken(
        self, db: Session, member: Actor, board: KptBoard
    ) -> None:
        assert len(kpt.add_card(db, member, board.id, "try", "あ" * 2000).body) == 2000

    def test_a_viewer_cannot_add_a_card(self, db: Session, viewer: Actor, board: KptBoard) -> None:
        with pytest.raises(ProjectRoleTooLow):
            kpt.add_card(db, viewer, board.id, "keep", "x")

    def test_the_author_edits_their_card(self, db: Session, member: Actor, board: KptBoard) -> None:
        card = kpt.add_card(db, member, board.id, "problem", "遅延")
        assert kpt.edit_card(db, member, card.id, "申請の遅延").body == "申請の遅延"

    def test_someone_else_cannot_edit_or_delete_the_card(
        self,
        db: Session,
        org: Organization,
        owner: Actor,
        project: Project,
        member: Actor,
        board: KptBoard,
    ) -> None:
        card = kpt.add_card(db, member, board.id, "problem", "遅延")
        other_user = create_staff(db, org, role="member")
        service.set_member(db, owner, project, other_user.id, "member")
        other = staff_actor(other_user, org, "member")
        with pytest.raises(kpt.NotYourCard):
            kpt.edit_card(db, other, card.id, "x")
        with pytest.raises(kpt.NotYourCard):
            kpt.delete_card(db, other, card.id)

    def test_a_project_admin_may_delete_any_card(
        self, db: Session, owner: Actor, member: Actor, board: KptBoard
    ) -> None:
        card = kpt.add_card(db, member, board.id, "keep", "x")
        kpt.delete_card(db, owner, card.id)
        assert kpt.cards(db, owner, board) == []


class TestVotes:
    def test_one_vote_per_user_per_card(self, db: Session, member: Actor, board: KptBoard) -> None:
        card = kpt.add_card(db, member, board.id, "try", "ペアで対応")
        kpt.vote(db, member, card.id)
        assert kpt.vote(db, member, card.id) == 1

    def test_toggling_takes_the_vote_back(
        self, db: Session, member: Actor, board: KptBoard
    ) -> None:
        card = kpt.add_card(db, member, board.id, "try", "ペアで対応")
        assert kpt.toggle_vote(db, member, card.id) == 1
        assert kpt.toggle_vote(db, member, card.id) == 0

    def test_cards_list_most_votes_first_with_my_vote(
        self, db: Session, owner: Actor, member: Actor, board: KptBoard
    ) -> None:
        first = kpt.add_card(db, member, board.id, "keep", "a")
        second = kpt.add_card(db, member, board.id, "keep", "b")
        kpt.vote(db, owner, second.id)
        kpt.vote(db, member, second.id)
        views = kpt.cards(db, owner, board)
        assert [(v.card.id, v.votes, v.voted) for v in views] == [
            (second.id, 2, True),
            (first.id, 0, False),
        ]

    def test_an_api_key_cannot_vote(self, db: Session, org: Organization, board: KptBoard) -> None:
        key = Actor(kind="api_key", organization_id=org.id, role="admin")
        card = kpt.add_card(db, key, board.id, "keep", "x")
        with pytest.raises(kpt.VoteNeedsUser):
            kpt.vote(db, key, card.id)

    def test_a_viewer_cannot_vote(
        self, db: Session, member: Actor, viewer: Actor, board: KptBoard
    ) -> None:
        card = kpt.add_card(db, member, board.id, "keep", "x")
        with pytest.raises(ProjectRoleTooLow):
            kpt.vote(db, viewer, card.id)


class TestClosing:
    def test_a_closed_board_is_read_only(self, db: Session, member: Actor, board: KptBoard) -> None:
        card = kpt.add_card(db, member, board.id, "keep", "x")
        kpt.close_board(db, member, board.id)
        with pytest.raises(kpt.BoardClosed):
            kpt.add_card(db, member, board.id, "keep", "y")
        with pytest.raises(kpt.BoardClosed):
            kpt.edit_card(db, member, card.id, "y")
        with pytest.raises(kpt.BoardClosed):
            kpt.vote(db, member, card.id)
        with pytest.raises(kpt.BoardClosed):
            kpt.close_board(db, member, board.id)


class TestNextPeriod:
    def test_carries_keeps_unresolved_problems_and_open_tries(
        self, db: Session, member: Actor, board: KptBoard
    ) -> None:
        keep = kpt.add_card(db, member, board.id, "keep", "keep")
        open_problem = kpt.add_card(db, member, board.id, "problem", "open")
        solved = kpt.add_card(db, member, board.id, "problem", "solved")
        open_try = kpt.add_card(db, member, board.id, "try", "try later")
        done_try = kpt.add_card(db, member, board.id, "try", "done")
        kpt.make_case(db, member, done_try.id)
        following = kpt.start_next(db, member, board.id, "2026-12", resolved=[solved.id])
        carried = {v.card.carried_from_id for v in kpt.cards(db, member, following)}
        assert carried == {keep.id, open_problem.id, open_try.id}
        assert board.closed_at is not None

    def test_only_problems_can_be_resolved(
        self, db: Session, member: Actor, board: KptBoard
    ) -> None:
        keep = kpt.add_card(db, member, board.id, "keep", "keep")
        with pytest.raises(kpt.InvalidKpt):
            kpt.start_next(db, member, board.id, "2026-12", resolved=[keep.id])

    def test_a_board_carries_over_once(self, db: Session, member: Actor, board: KptBoard) -> None:
        kpt.add_card(db, member, board.id, "keep", "keep")
        kpt.start_next(db, member, board.id, "2026-12")
        with pytest.raises(Conflict):
            kpt.start_next(db, member, board.id, "2027-01")

    def test_the_chain_follows_a_card_across_periods(
        self, db: Session, member: Actor, board: KptBoard
    ) -> None:
        first = kpt.add_card(db, member, board.id, "problem", "遅延")
        december = kpt.start_next(db, member, board.id, "2026-12")
        january = kpt.start_next(db, member, december.id, "2027-01")
        middle = kpt.cards(db, member, december)[0].card
        periods = [link.period for link in kpt.chain(db, member, middle.id)]
        assert periods == ["2026-11", "2026-12", "2027-01"]
        assert [link.period for link in kpt.chain(db, member, first.id)] == periods
        assert january.period == "2027-01"


class TestTryToCase:
    def test_a_try_becomes_a_case_of_the_project(
        self, db: Session, member: Actor, project: Project, board: KptBoard
    ) -> None:
        card = kpt.add_card(db, member, board.id, "try", "手順書を作る\n誰でも対応できるように")
        made = kpt.make_case(db, member, card.id)
        assert made.created
        assert (made.case.project_id, made.case.summary, made.case.source) == (
            project.id,
            "手順書を作る",
            "kpt",
        )
        assert "誰でも対応できるように" in made.case.description
        assert card.case_id == made.case.id

    def test_a_second_click_answers_the_same_case(
        self, db: Session, member: Actor, project: Project, board: KptBoard
    ) -> None:
        card = kpt.add_card(db, member, board.id, "try", "手順書を作る")
        first = kpt.make_case(db, member, card.id)
        second = kpt.make_case(db, member, card.id)
        assert (second.created, second.case.key) == (False, first.case.key)
        assert db.query(Case).filter(Case.project_id == project.id).count() == 1

    def test_a_keep_cannot_become_a_case(self, db: Session, member: Actor, board: KptBoard) -> None:
        card = kpt.add_card(db, member, board.id, "keep", "x")
        with pytest.raises(kpt.InvalidKpt):
            kpt.make_case(db, member, card.id)

    def test_a_viewer_cannot_make_a_case(
        self, db: Session, member: Actor, viewer: Actor, board: KptBoard
    ) -> None:
        card = kpt.add_card(db, member, board.id, "try", "x")
        with pytest.raises(ProjectRoleTooLow):
            kpt.make_case(db, viewer, card.id)

    def test_a_try_on_a_closed_board_does_not_become_a_case(
        self, db: Session, member: Actor, board: KptBoard
    ) -> None:
        card = kpt.add_card(db, member, board.id, "try", "x")
        kpt.close_board(db, member, board.id)
        with pytest.raises(kpt.BoardClosed):
            kpt.make_case(db, member, card.id)

    def test_the_card_shows_the_case_key(self, db: Session, member: Actor, board: KptBoard) -> None:
        card = kpt.add_card(db, member, board.id, "try", "x")
        made = kpt.make_case(db, member, card.id)
        assert kpt.cards(db, member, board)[0].case_key == made.case.key


class TestPartners:
    def test_a_partner_member_works_on_a_shared_projects_board(
        self, db: Session, owner: Actor
    ) -> None:
        partner = create_org(db)
        shared = service.create_project(
            db,
            owner,
            key="PRT",
            name="共同",
            visibility="partner",
            partner_organization_id=partner.id,
        )
        guest_user = create_staff(db, partner, role="member")
        service.set_member(db, owner, shared, guest_user.id, "member")
        guest = staff_actor(guest_user, partner, "member")
        board = kpt.create_board(db, owner, shared, "2026-11")
        assert kpt.add_card(db, guest, board.id, "try", "共有").board_id == board.id

    def test_a_partner_member_sees_no_board_of_an_internal_project(
        self, db: Session, owner: Actor, board: KptBoard
    ) -> None:
        partner = create_org(db)
        service.create_project(
            db,
            owner,
            key="PRT",
            name="共同",
            visibility="partner",
            partner_organization_id=partner.id,
        )
        guest = staff_actor(create_staff(db, partner, role="member"), partner, "member")
        with pytest.raises(kpt.BoardNotFound):
            kpt.board_project(db, guest, board.id)
