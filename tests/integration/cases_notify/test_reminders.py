"""Due-date reminders: due soon or overdue, open cases only, once per day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integration.cases_notify.conftest import Team
from tsunagu.cases import reminders, service
from tsunagu.cases.models import Case, Notification

TODAY = date(2026, 11, 27)


def reminders_of(db: Session) -> list[Notification]:
    return list(db.scalars(select(Notification).where(Notification.kind.in_(("due", "overdue")))))


def case_due(db: Session, team: Team, due: str, *, assignee: object = None) -> Case:
    return service.create_case(
        db,
        team.actor(team.owner),
        team.project,
        {"summary": "請求書の送付", "due_date": due, "assignee": assignee or team.alice.id},
    )


class TestReminders:
    def test_a_case_due_tomorrow_reminds_its_assignee(self, db: Session, team: Team) -> None:
        case = case_due(db, team, "2026-11-28")
        assert reminders.queue_reminders(db, on=TODAY) == 1
        (row,) = reminders_of(db)
        assert (row.user_id, row.kind, row.case_id) == (team.alice.id, "due", case.id)
        assert "期限日: 2026-11-28" in row.body

    def test_an_overdue_case_reminds_in_english_for_english_users(
        self, db: Session, team: Team
    ) -> None:
        case_due(db, team, "2026-11-20", assignee=team.bob.id)
        reminders.queue_reminders(db, on=TODAY)
        (row,) = reminders_of(db)
        assert row.kind == "overdue"
        assert row.subject.startswith("[SUP-1] Overdue:")

    def test_a_case_due_later_than_the_users_days_is_not_reminded(
        self, db: Session, team: Team
    ) -> None:
        case_due(db, team, "2026-12-05")
        assert reminders.queue_reminders(db, on=TODAY) == 0

    def test_a_closed_case_is_not_reminded(self, db: Session, team: Team) -> None:
        case = case_due(db, team, "2026-11-27")
        closed = next(s for s in service.statuses(db, team.project.id) if s.builtin == "closed")
        service.update_case(db, team.actor(team.owner), case, {"status": closed.id})
        assert reminders.queue_reminders(db, on=TODAY) == 0

    def test_running_twice_a_day_reminds_once(self, db: Session, team: Team) -> None:
        case_due(db, team, "2026-11-27")
        reminders.queue_reminders(db, on=TODAY)
        again = reminders.queue_reminders(db, on=TODAY)
        assert (again, len(reminders_of(db))) == (0, 1)

    def test_the_next_day_reminds_again(self, db: Session, team: Team) -> None:
        case_due(db, team, "2026-11-27")
        reminders.queue_reminders(db, on=TODAY)
        assert reminders.queue_reminders(db, on=date(2026, 11, 28)) == 1
