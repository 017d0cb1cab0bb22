"""``tsunagu cases remind``, ``deliver``: reminders queued once a day, mails that arrive."""

from __future__ import annotations

import signal
import subprocess

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.e2e.cli.conftest import TSUNAGU, Cli
from tests.integration.cases_notify.receivers import smtp_server
from tests.support.factories import create_org, create_staff
from tsunagu.cases import search, service
from tsunagu.cases.models import Case
from tsunagu.identity.service import Actor


def seed(engine: Engine) -> str:
    """An organization with a case due on 2026-11-28 assigned to a member; their e-mail."""
    with Session(engine) as db:
        org = create_org(db)
        owner = create_staff(db, org, role="owner")
        alice = create_staff(db, org, email="alice@example.com")
        actor = Actor(kind="staff", organization_id=org.id, role="owner", user_id=owner.id)
        project = service.create_project(db, actor, key="SUP", name="サポート")
        service.set_member(db, actor, project, alice.id, "member")
        service.create_case(
            db,
            actor,
            project,
            {"summary": "請求書", "due_date": "2026-11-28", "assignee": alice.id},
        )
        db.commit()
        return alice.email


class TestRemind:
    def test_reminders_are_queued_once_per_day(
        self,
        cli: Cli,
        home_engine: Engine,
    ) -> None:
        assert cli("cases", "remind").returncode == 0  # creates the database
        seed(home_engine)
        first = cli("cases", "remind", "--on", "2026-11-27")
        again = cli("cases", "remind", "--on", "2026-11-27")
        assert first.returncode == 0
        assert "queued 1 reminders" in first.stdout
        assert "queued 0 reminders" in again.stdout

    def test_a_bad_date_is_a_usage_error(self, cli: Cli) -> None:
        result = cli("cases", "remind", "--on", "tomorrow")
        assert result.returncode == 2
        assert "YYYY-MM-DD" in result.stderr


class TestDeliver:
    def test_without_smtp_mails_stay_queued(self, cli: Cli) -> None:
        result = cli("cases", "deliver")
        assert result.returncode == 0
        assert "mails: 0 sent" in result.stdout
        assert "stay queued" in result.stdout

    def test_a_queued_reminder_arrives_at_the_smtp_server(
        self,
        cli: Cli,
        home_engine: Engine,
    ) -> None:
        cli("cases", "remind")
        seed(home_engine)
        with smtp_server() as inbox:
            env = {"TSUNAGU_SMTP_HOST": "127.0.0.1", "TSUNAGU_SMTP_PORT": str(inbox.port)}
            assert cli("cases", "remind", "--on", "2026-11-28").returncode == 0
            result = cli("cases", "deliver", extra_env=env)
        assert "mails: 2 sent" in result.stdout  # the assignment, then the reminder
        rcpt, mail = inbox.mails[-1]
        assert rcpt == ["alice@example.com"]
        assert mail["Subject"] == "[SUP-1] 期限が近づいています: 請求書"


class TestWorker:
    def test_the_worker_runs_until_interrupted(self, cli: Cli) -> None:
        assert cli("cases", "remind").returncode == 0  # creates the database first
        with subprocess.Popen(
            [str(TSUNAGU), "cases", "worker"],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as worker:
            try:
                assert worker.stdout is not None
                first = worker.stdout.readline()
                worker.send_signal(signal.SIGINT)
                out, _ = worker.communicate(timeout=120)
            finally:
                if worker.poll() is None:
                    worker.kill()
                    worker.communicate()
        assert "Ctrl-C" in first
        assert worker.returncode == 0
        assert "stopped" in out


class TestReindex:
    def test_every_case_is_reindexed_and_found_again(self, cli: Cli, home_engine: Engine) -> None:
        assert cli("cases", "remind").returncode == 0  # creates the database
        seed(home_engine)
        result = cli("cases", "reindex")
        assert result.returncode == 0
        assert "reindexed 1 cases" in result.stdout
        with Session(home_engine) as db:
            found = db.scalars(select(Case.key).where(search.keyword_clause(db, "請求"))).all()
        assert found == ["SUP-1"]
