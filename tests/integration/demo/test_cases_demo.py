"""The city's demo cases: a support project fed by inquiries with every status, work
escalated to the engineering project, a Gantt-worthy engineering plan and KPT boards.
Built twice, nothing is added."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.cases.models import Case, Inquiry, KptBoard, KptCard, Link, Project, Status
from tsunagu.demo.cases import CITY, SUPPORT_CASES, TODAY, cases_step
from tsunagu.demo.organizations import ensure_organizations
from tsunagu.demo.staff import ensure_staff
from tsunagu.demo.world import StepReport, WorldContext
from tsunagu.identity.models import Organization

SEED = 7


@pytest.fixture
def city(db: Session) -> Organization:
    organizations, _ = ensure_organizations(db)
    ensure_staff(db, organizations, password="tsunagu-demo-2026", seed=SEED)
    return organizations[CITY]


def build(db: Session, city: Organization) -> StepReport:
    report = cases_step(db, WorldContext(seed=SEED, organizations={CITY: city}))
    db.flush()
    return report


def project(db: Session, city: Organization, key: str) -> Project:
    found = db.scalar(select(Project).where(Project.organization_id == city.id, Project.key == key))
    assert found is not None
    return found


class TestCasesDemo:
    def test_every_support_case_came_from_the_inquiry_form(
        self, db: Session, city: Organization
    ) -> None:
        build(db, city)
        sup = project(db, city, "SUP")
        sources = db.scalars(select(Case.source).where(Case.project_id == sup.id)).all()
        inquiries = db.scalar(
            select(func.count()).select_from(Inquiry).where(Inquiry.project_id == sup.id)
        )
        assert inquiries == SUPPORT_CASES
        assert sources.count("inquiry") == SUPPORT_CASES
        assert sup.inquiry_enabled

    def test_the_support_board_shows_every_status(self, db: Session, city: Organization) -> None:
        build(db, city)
        sup = project(db, city, "SUP")
        used = set(
            db.scalars(
                select(Status.builtin)
                .join(Case, Case.status_id == Status.id)
                .where(Case.project_id == sup.id)
            )
        )
        assert used == {"open", "in_progress", "resolved", "closed"}

    def test_some_support_cases_were_escalated_to_engineering(
        self, db: Session, city: Organization
    ) -> None:
        build(db, city)
        eng = project(db, city, "ENG")
        escalated = db.scalars(
            select(Link.target_id)
            .join(Case, Case.id == Link.case_id)
            .where(Case.project_id == eng.id, Link.relation == "escalated_from")
        ).all()
        assert escalated

    def test_engineering_has_overdue_and_planned_work(
        self, db: Session, city: Organization
    ) -> None:
        build(db, city)
        eng = project(db, city, "ENG")
        due = db.scalars(select(Case.due_date).where(Case.project_id == eng.id)).all()
        assert any(d is not None and d < TODAY for d in due)
        assert any(d is not None and d > TODAY for d in due)

    def test_a_try_of_last_months_board_became_a_case(
        self, db: Session, city: Organization
    ) -> None:
        build(db, city)
        boards = db.scalars(select(KptBoard).order_by(KptBoard.period)).all()
        assert [b.closed_at is not None for b in boards] == [True, False]
        turned = db.scalars(select(KptCard).where(KptCard.case_id.is_not(None))).all()
        assert turned
        assert all(card.kind == "try" for card in turned)

    def test_building_again_adds_nothing(self, db: Session, city: Organization) -> None:
        first = build(db, city)
        again = build(db, city)
        assert first.created > SUPPORT_CASES
        assert (again.created, again.total) == (0, first.total)
