"""CLI commands of the vault and of consent (thin: parse, open a unit of work, call the
services, print).

::

    tsunagu consent expire
    tsunagu consent guardian --guardian EMAIL_OR_ID --minor ID
    tsunagu vault rotate-keys
    tsunagu vault purge-provisions
    tsunagu vault provisions --org SLUG [--since DATE] [--until DATE] [-o FILE]
    tsunagu vault import --org SLUG FILE.csv [--encoding auto|utf-8|cp932]

Every command works on the configured database (``TSUNAGU_HOME`` /
``TSUNAGU_DATABASE_URL``, migrated first) and commits once at the end.  Errors are raised,
not printed: ``tsunagu.cli.run`` turns an ``AppError`` into one ``error: …`` line on
stderr and exit status 1.  A failed import prints its first row errors under that line.
Results for scripts go to stdout (a count, or the CSV of ``provisions``).

Dates of ``provisions`` are days in Japan time; ``--until`` includes its day.
"""

from __future__ import annotations

import sys
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.consent import service as consent_service
from tsunagu.core.clock import TOKYO
from tsunagu.core.database import unit_of_work
from tsunagu.core.errors import InvalidInput
from tsunagu.core.settings import get_settings
from tsunagu.identity import service as identity
from tsunagu.identity.cli import open_database
from tsunagu.identity.errors import PersonNotFound
from tsunagu.identity.import_cli import Encoding, print_import_errors
from tsunagu.identity.models import Person
from tsunagu.vault import service
from tsunagu.vault.crypto import MasterKeyRing
from tsunagu.vault.importing import import_records
from tsunagu.vault.keystore import open_keystore

vault_app = typer.Typer(help="The vault: records, keys, provision records.", no_args_is_help=True)
consent_app = typer.Typer(help="Consents: expiry, guardians.", no_args_is_help=True)

#: the actor the ledger and the record versions name for an operator at the command line
OPERATOR = "operator"


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-04-01") from None


def _person_id(session: Session, value: str) -> uuid.UUID:
    """A person's id from an id or a sign-in e-mail address."""
    if "@" in value:
        found = session.scalar(
            select(Person.id).where(Person.email == identity.normalise_email(value))
        )
        if found is None:
            raise PersonNotFound(f"no person signs in with {value!r}")
        return found
    try:
        person_id = uuid.UUID(value.strip())
    except ValueError:
        raise InvalidInput(f"{value!r} is neither a person's id nor an e-mail address") from None
    identity.get_person(session, person_id)
    return person_id


# --- consent -----------------------------------------------------------------------------


@consent_app.command("expire")
def expire() -> None:
    """Mark consents past their expiry as expired (receipts and ledger entries); print how
    many."""
    settings = get_settings()
    vault = service.Vault.from_settings(settings)
    with unit_of_work(open_database(settings)) as session:
        count = consent_service.expire_due(session, vault.pseudonym_key)
    typer.echo(f"expired {count} consents")


@consent_app.command("guardian")
def guardian(
    guardian: str = typer.Option(..., "--guardian", help="The guardian: e-mail or person id."),
    minor: str = typer.Option(..., "--minor", help="The minor: person id (or e-mail)."),
) -> None:
    """Register a guardian for a minor (until the minor turns 18)."""
    with unit_of_work(open_database()) as session:
        guardian_id = _person_id(session, guardian)
        minor_id = _person_id(session, minor)
        row = consent_service.add_guardian(session, guardian_id=guardian_id, minor_id=minor_id)
        typer.echo(f"guardian {guardian_id} acts for {minor_id} until {row.ends_on.isoformat()}")


# --- vault -------------------------------------------------------------------------------


@vault_app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-wrap every person's data key under the current master key (the first of
    TSUNAGU_VAULT_MASTER_KEYS); payloads stay as they are.  Prints how many changed."""
    settings = get_settings()
    ring = MasterKeyRing.from_pairs(settings.resolved_vault_master_keys())
    count = open_keystore(settings).rewrap_all(ring)
    typer.echo(f"re-wrapped {count} data keys under master key {ring.current_id}")


@vault_app.command("purge-provisions")
def purge_provisions() -> None:
    """Delete provision records past their 3-year retention; print how many."""
    with unit_of_work(open_database()) as session:
        count = service.purge_expired_provisions(session)
    typer.echo(f"purged {count} provision records")


@vault_app.command("provisions")
def provisions(
    org: str = typer.Option(..., "--org", help="Slug of the organization."),
    since: str | None = typer.Option(None, "--since", help="First day (Japan time), 2026-04-01."),
    until: str | None = typer.Option(None, "--until", help="Last day (Japan time), included."),
    output: Path | None = typer.Option(
        None, "-o", "--output", dir_okay=False, help="Write the CSV here instead of stdout."
    ),
) -> None:
    """The APPI third-party provision records of an organization as CSV (UTF-8 with BOM);
    persons appear only as pseudonyms."""
    first, last = _day(since), _day(until)
    start = datetime.combine(first, time(), TOKYO) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), TOKYO) if last else None
    if start is not None and end is not None and end <= start:
        raise typer.BadParameter("--until lies before --since")
    settings = get_settings()
    vault = service.Vault.from_settings(settings)
    with unit_of_work(open_database(settings)) as session:
        organization = identity.get_organization_by_slug(session, org)
        lines = service.provision_records(session, vault, organization.id, since=start, until=end)
        text = service.provision_csv(lines)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        output.write_text(text, encoding="utf-8", newline="")
        typer.echo(f"wrote {len(lines)} provision records to {output}", err=True)


@vault_app.command("import")
def import_command(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        metavar="FILE",
        help="A CSV file, header row first.",
    ),
    org: str = typer.Option(..., "--org", help="Slug of the organization the records come from."),
    encoding: Encoding = typer.Option(
        Encoding.auto, "--encoding", help="Text encoding; auto tries UTF-8 then CP932."
    ),
) -> None:
    """Import records from a CSV file: every row, or none.

    Columns: ref (顧客番号, required: the organization's customer number), category (区分,
    required), collected_at (取得日時), and the payload as a JSON ``payload`` column or as
    ``field:<name>`` columns.
    """
    data = file.read_bytes()
    settings = get_settings()
    vault = service.Vault.from_settings(settings)
    stderr = Console(stderr=True)
    try:
        with unit_of_work(open_database(settings)) as session:
            organization = identity.get_organization_by_slug(session, org)
            result = import_records(
                session,
                vault,
                organization,
                data,
                actor=OPERATOR,
                encoding=None if encoding is Encoding.auto else encoding.value,
            )
    except InvalidInput as exc:
        if not exc.errors:
            raise
        print_import_errors(stderr, file, exc)
        raise typer.Exit(1) from None
    typer.echo(f"imported {result.imported} records")
