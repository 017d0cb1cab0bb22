"""``tsunagu consent …`` and ``tsunagu vault …`` run as subprocesses on their own home."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.e2e.cli.conftest import Cli, count, last_line, one_error_line
from tsunagu.consent import service as consent_service
from tsunagu.consent.models import Consent, Guardianship
from tsunagu.core.settings import Settings
from tsunagu.identity import service as identity
from tsunagu.identity.models import PersonLink
from tsunagu.vault.models import Record

K1 = "k1:" + base64.b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.b64encode(b"2" * 32).decode()
RECORDS = "顧客番号,区分,field:email\r\nC-1,contact.email,hanako@example.jp\r\n"


def org_with_customer(cli: Cli, engine: Engine, slug: str = "hikari") -> uuid.UUID:
    """An organization made by the CLI, with one person known under ref C-1."""
    assert cli("org", "create", slug, "--name", "ひかり").returncode == 0
    with Session(engine) as session:
        org = identity.get_organization_by_slug(session, slug)
        person = identity.create_person(session, family_name="山田", given_name="花子")
        session.add(PersonLink(organization_id=org.id, person_id=person.id, ref="C-1"))
        session.commit()
        return person.id


def add_person(engine: Engine, *, email: str | None, birth: date) -> uuid.UUID:
    with Session(engine) as session:
        person = identity.create_person(session, family_name="山田", given_name="太郎", email=email)
        person.birth_date = birth
        session.commit()
        return person.id


class TestConsentExpire:
    def test_marks_consents_past_their_expiry_and_prints_the_count(
        self, cli: Cli, home: Path, home_engine: Engine
    ) -> None:
        person_id = org_with_customer(cli, home_engine)
        pseudonym_key = Settings(home=home).resolved_ledger_pseudonym_key()
        with Session(home_engine) as session:
            consent_service.give_consent(
                session,
                pseudonym_key,
                person_id=person_id,
                recipient=identity.get_organization_by_slug(session, "hikari"),
                purpose="marketing",
                categories=["contact.email"],
                evidence=consent_service.Evidence(notice_text="notice", method="paper"),
                actor="system",
                given_by="organization",
                expires_at=datetime(2026, 2, 1, tzinfo=UTC),
                now=datetime(2026, 1, 1, tzinfo=UTC),
            )
            session.commit()

        result = cli("consent", "expire")

        assert result.returncode == 0, result.stderr
        assert last_line(result.stdout) == "expired 1 consents"
        with Session(home_engine) as session:
            assert session.scalars(select(Consent.state)).all() == ["expired"]


class TestConsentGuardian:
    def test_registers_the_guardian_by_email(self, cli: Cli, home_engine: Engine) -> None:
        assert cli("db", "upgrade").returncode == 0
        parent = add_person(home_engine, email="parent@example.jp", birth=date(1985, 1, 1))
        child = add_person(home_engine, email=None, birth=date(2016, 5, 5))

        result = cli(
            "consent", "guardian", "--guardian", "parent@example.jp", "--minor", str(child)
        )

        assert result.returncode == 0, result.stderr
        assert "2034-05-05" in result.stdout
        with Session(home_engine) as session:
            row = session.scalar(select(Guardianship))
            assert row is not None
            assert (row.guardian_id, row.minor_id) == (parent, child)

    def test_an_adult_cannot_be_the_minor(self, cli: Cli, home_engine: Engine) -> None:
        assert cli("db", "upgrade").returncode == 0
        add_person(home_engine, email="parent@example.jp", birth=date(1985, 1, 1))
        adult = add_person(home_engine, email=None, birth=date(1990, 1, 1))

        result = cli(
            "consent", "guardian", "--guardian", "parent@example.jp", "--minor", str(adult)
        )

        assert result.returncode == 1
        assert "only a minor" in one_error_line(result)

    def test_unknown_guardian_is_one_error_line(self, cli: Cli) -> None:
        result = cli("consent", "guardian", "--guardian", "nobody@example.jp", "--minor", "x")

        assert result.returncode == 1
        assert "nobody@example.jp" in one_error_line(result)


class TestVaultImport:
    def test_imports_every_row_and_prints_the_count(
        self, cli: Cli, tmp_path: Path, home_engine: Engine
    ) -> None:
        person_id = org_with_customer(cli, home_engine)
        path = tmp_path / "records.csv"
        path.write_bytes(RECORDS.encode("cp932"))

        result = cli("vault", "import", "--org", "hikari", str(path), "--encoding", "cp932")

        assert result.returncode == 0, result.stderr
        assert last_line(result.stdout) == "imported 1 records"
        with Session(home_engine) as session:
            record = session.scalar(select(Record))
            assert record is not None
            assert (record.person_id, record.source_kind) == (person_id, "import")

    def test_bad_row_imports_nothing_and_lists_the_row(
        self, cli: Cli, tmp_path: Path, home_engine: Engine
    ) -> None:
        org_with_customer(cli, home_engine)
        path = tmp_path / "records.csv"
        path.write_text(RECORDS + "C-9,contact.email,x@example.jp\r\n", encoding="utf-8")

        result = cli("vault", "import", "--org", "hikari", str(path))

        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "row 3, column 顧客番号: no person has this customer number here" in result.stderr
        assert count(home_engine, Record) == 0

    def test_unknown_organization_is_one_error_line(self, cli: Cli, tmp_path: Path) -> None:
        path = tmp_path / "records.csv"
        path.write_text(RECORDS, encoding="utf-8")

        result = cli("vault", "import", "--org", "nowhere", str(path))

        assert result.returncode == 1
        assert "nowhere" in one_error_line(result)


class TestRotateKeys:
    def test_rewraps_data_keys_under_the_new_current_master_key(
        self, cli: Cli, tmp_path: Path, home_engine: Engine
    ) -> None:
        org_with_customer(cli, home_engine)
        path = tmp_path / "records.csv"
        path.write_text(RECORDS, encoding="utf-8")
        old = {"TSUNAGU_VAULT_MASTER_KEYS": K1}
        new = {"TSUNAGU_VAULT_MASTER_KEYS": f"{K2},{K1}"}
        assert cli("vault", "import", "--org", "hikari", str(path), extra_env=old).returncode == 0

        first = cli("vault", "rotate-keys", extra_env=new)
        second = cli("vault", "rotate-keys", extra_env=new)

        assert first.returncode == 0, first.stderr
        assert last_line(first.stdout) == "re-wrapped 1 data keys under master key k2"
        assert last_line(second.stdout) == "re-wrapped 0 data keys under master key k2"


class TestProvisions:
    def test_purge_prints_the_count(self, cli: Cli) -> None:
        result = cli("vault", "purge-provisions")

        assert result.returncode == 0, result.stderr
        assert last_line(result.stdout) == "purged 0 provision records"

    def test_writes_the_csv_with_the_appi_header(
        self, cli: Cli, tmp_path: Path, home_engine: Engine
    ) -> None:
        org_with_customer(cli, home_engine)
        out = tmp_path / "provisions.csv"

        result = cli(
            "vault", "provisions", "--org", "hikari", "--since", "2026-01-01", "-o", str(out)
        )

        assert result.returncode == 0, result.stderr
        text = out.read_text(encoding="utf-8-sig")
        assert text.splitlines()[0].startswith("提供年月日 provided_at,")

    def test_until_before_since_is_a_usage_error(self, cli: Cli) -> None:
        result = cli(
            "vault", "provisions", "--org", "x", "--since", "2026-05-01", "--until", "2026-04-01"
        )

        assert result.returncode == 2

    def test_unknown_organization_is_one_error_line(self, cli: Cli) -> None:
        result = cli("vault", "provisions", "--org", "nowhere")

        assert result.returncode == 1
        assert "nowhere" in one_error_line(result)
