"""E-mail notifications: who is told, what the mail says, and how it reaches the server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integration.cases_notify.conftest import Team
from tests.integration.cases_notify.receivers import Inbox, free_port
from tsunagu.cases import dispatch, mailer, service
from tsunagu.cases.models import Case, Notification
from tsunagu.core.clock import utcnow
from tsunagu.core.settings import Settings


def outbox(db: Session) -> list[Notification]:
    return list(db.scalars(select(Notification).order_by(Notification.created_at)))


def new_case(db: Session, team: Team, **values: object) -> Case:
    return service.create_case(
        db, team.actor(team.owner), team.project, {"summary": "ログインできない", **values}
    )


def status_id(db: Session, team: Team, builtin: str) -> str:
    return next(str(s.id) for s in service.statuses(db, team.project.id) if s.builtin == builtin)


class TestWhoIsTold:
    def test_a_new_assignee_is_told_but_not_the_actor(self, db: Session, team: Team) -> None:
        case = new_case(db, team)
        service.update_case(db, team.actor(team.owner), case, {"assignee": team.alice.id})
        rows = outbox(db)
        assert [(r.user_id, r.kind) for r in rows] == [(team.alice.id, "assigned")]

    def test_assigning_oneself_tells_nobody(self, db: Session, team: Team) -> None:
        case = new_case(db, team)
        service.update_case(db, team.actor(team.alice), case, {"assignee": team.alice.id})
        assert outbox(db) == []

    def test_a_comment_tells_the_chosen_the_assignee_and_the_watchers(
        self, db: Session, team: Team
    ) -> None:
        case = new_case(db, team, assignee=team.alice.id)
        service.set_watching(db, team.actor(team.owner), case, team.owner.id, watching=True)
        for row in outbox(db):
            db.delete(row)
        service.comment(db, team.actor(team.owner), case, "確認します", notify=[team.bob.id])
        told = {r.user_id for r in outbox(db) if r.kind == "comment"}
        assert told == {team.alice.id, team.bob.id}

    def test_a_status_change_tells_assignee_watchers_and_creator(
        self, db: Session, team: Team
    ) -> None:
        case = new_case(db, team, assignee=team.alice.id)
        service.set_watching(db, team.actor(team.bob), case, team.bob.id, watching=True)
        service.update_case(
            db, team.actor(team.alice), case, {"status": status_id(db, team, "in_progress")}
        )
        told = {r.user_id for r in outbox(db) if r.kind == "status"}
        assert told == {team.bob.id, team.owner.id}

    def test_a_setting_turned_off_is_respected(self, db: Session, team: Team) -> None:
        dispatch.save_settings(
            db,
            team.alice.id,
            email_enabled=True,
            on_assigned=False,
            on_comment=True,
            on_status=True,
            on_due=True,
            remind_days_before=1,
        )
        new_case(db, team, assignee=team.alice.id)
        assert outbox(db) == []


class TestDelivery:
    def test_a_japanese_mail_arrives_with_key_summary_change_and_link(
        self, db: Session, team: Team, inbox: Inbox, mail_settings: Settings
    ) -> None:
        case = new_case(db, team, assignee=team.alice.id)
        done = mailer.send_due(db, mail_settings)
        assert done.sent == 1
        (rcpt, mail), *_ = inbox.mails
        assert rcpt == [team.alice.email]
        assert mail["Subject"] == f"[{case.key}] 担当者に設定されました: ログインできない"
        body = mail.get_content()
        assert "管理 太郎 さんによる更新" in body
        assert f"https://tsunagu.example.jp/cases/view/{case.key}" in body

    def test_an_english_mail_arrives_in_english(
        self, db: Session, team: Team, inbox: Inbox, mail_settings: Settings
    ) -> None:
        case = new_case(db, team)
        service.update_case(db, team.actor(team.owner), case, {"assignee": team.bob.id})
        mailer.send_due(db, mail_settings)
        (rcpt, mail), *_ = inbox.mails
        assert rcpt == [team.bob.email]
        assert mail["Subject"] == f"[{case.key}] You were assigned: ログインできない"
        assert "assignee: - → Bob Smith" in mail.get_content()

    def test_a_mail_to_an_outside_address_goes_there(
        self, db: Session, inbox: Inbox, mail_settings: Settings
    ) -> None:
        db.add(
            Notification(
                to_address="inquirer@example.org", kind="inquiry", subject="受付", body="本文"
            )
        )
        db.flush()
        mailer.send_due(db, mail_settings)
        assert [rcpt for rcpt, _ in inbox.mails] == [["inquirer@example.org"]]

    def test_a_sent_mail_is_not_sent_again(
        self, db: Session, team: Team, inbox: Inbox, mail_settings: Settings
    ) -> None:
        new_case(db, team, assignee=team.alice.id)
        mailer.send_due(db, mail_settings)
        again = mailer.send_due(db, mail_settings)
        assert (again.sent, len(inbox.mails)) == (0, 1)

    def test_without_an_smtp_host_mails_stay_queued(
        self, db: Session, team: Team, settings: Settings
    ) -> None:
        new_case(db, team, assignee=team.alice.id)
        done = mailer.send_due(db, settings)
        assert (done.sent, mailer.pending_count(db)) == (0, 1)


class TestServerDown:
    def test_a_mail_is_kept_and_retried_later_when_the_server_is_down(
        self, db: Session, team: Team, settings: Settings
    ) -> None:
        down = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port()})
        new_case(db, team, assignee=team.alice.id)
        done = mailer.send_due(db, down)
        (row,) = outbox(db)
        assert done.failed == 1
        assert row.sent_at is None
        assert row.attempts == 1
        assert row.last_error
        assert row.next_attempt_at is not None
        assert row.next_attempt_at > utcnow()

    def test_a_retried_mail_arrives_once_the_server_is_back(
        self, db: Session, team: Team, settings: Settings, inbox: Inbox, mail_settings: Settings
    ) -> None:
        down = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port()})
        new_case(db, team, assignee=team.alice.id)
        mailer.send_due(db, down)
        assert mailer.send_due(db, mail_settings).sent == 0  # not due yet
        later = utcnow() + timedelta(minutes=2)
        assert mailer.send_due(db, mail_settings, now=later).sent == 1
        assert len(inbox.mails) == 1
