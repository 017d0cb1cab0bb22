"""CLI commands of the identity domain: ``org create``, ``user create``, ``apikey create``.

Thin adapters: parse options, open a unit of work on the configured database (migrated
first), call ``identity.service``, print.  Errors are raised, not printed: the root command
(``tsunagu.cli.main``) turns an ``AppError`` into one line on stderr and exit status 1, and
a bad option into exit status 2.

Output for scripts: ``apikey create`` prints the key alone on the last line of stdout
(explanations go to stderr).  ``open_database`` is shared by every command that needs the
database, here and in ``tsunagu.cli``.
"""

from __future__ import annotations

import re
import sys
from enum import StrEnum
from pathlib import Path

import typer
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.database import make_engine, make_session_factory, migrate, unit_of_work
from tsunagu.core.settings import Settings, get_settings
from tsunagu.identity import service
from tsunagu.identity.schemas import SLUG_PATTERN

org_app = typer.Typer(help="Organizations.", no_args_is_help=True)
user_app = typer.Typer(help="Staff users of an organization.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys of an organization.", no_args_is_help=True)

_email_adapter: TypeAdapter[str] = TypeAdapter(EmailStr)


class OrgKind(StrEnum):
    company = "company"
    municipality = "municipality"
    hospital = "hospital"
    association = "association"


class StaffRole(StrEnum):
    owner = "owner"
    admin = "admin"
    member = "member"
    viewer = "viewer"


class ApiKeyRole(StrEnum):
    admin = "admin"
    member = "member"
    viewer = "viewer"


def open_database(settings: Settings | None = None) -> sessionmaker[Session]:
    """Sessions on the configured database (``TSUNAGU_HOME`` / ``TSUNAGU_DATABASE_URL``),
    migrated to the latest schema first — so every command works on an empty database."""
    settings = settings or get_settings()
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    return make_session_factory(engine)


def _slug(value: str) -> str:
    if not re.fullmatch(SLUG_PATTERN, value):
        raise typer.BadParameter(
            "use 1-63 lower-case letters, digits and hyphens, not starting or ending with '-'"
        )
    return value


def _email(value: str) -> str:
    try:
        return _email_adapter.validate_python(value)
    except ValidationError:
        raise typer.BadParameter(f"{value!r} is not a valid e-mail address") from None


def _read_password_file(path: Path) -> str:
    # the first line, without its line break: `echo secret > file` must work
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0] if lines else ""


@org_app.command("create")
def create_org(
    slug: str = typer.Argument(..., callback=_slug, help="Short name used in URLs (acme-corp)."),
    name: str = typer.Option(..., "--name", help="Display name."),
    kind: OrgKind = typer.Option(OrgKind.company, "--kind", help="What kind of organization."),
) -> None:
    """Create an organization."""
    with unit_of_work(open_database()) as session:
        org = service.create_organization(session, slug=slug, name=name, kind=kind.value)
        typer.echo(f"created organization {org.slug} ({org.kind}): {org.name}  id={org.id}")


@user_app.command("create")
def create_user(
    org: str = typer.Option(..., "--org", help="Slug of the organization."),
    email: str = typer.Option(..., "--email", callback=_email, help="Sign-in e-mail address."),
    role: StaffRole = typer.Option(StaffRole.member, "--role", help="Role in the organization."),
    name: str | None = typer.Option(None, "--name", help="Display name (default: from e-mail)."),
    password_file: Path | None = typer.Option(
        None,
        "--password-file",
        help="Read the password from the first line of this file instead of a prompt.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
) -> None:
    """Create a staff user in an organization.

    The password comes from --password-file, from a hidden prompt (asked twice), or — when
    stdin is not a terminal — from the first line of stdin.
    """
    if password_file is not None:
        password = _read_password_file(password_file)
    elif not sys.stdin.isatty():
        # a script piping the password in: one line, no confirmation
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    with unit_of_work(open_database()) as session:
        organization = service.get_organization_by_slug(session, org)
        user, membership = service.create_staff_user(
            session,
            organization=organization,
            email=email,
            password=password,
            role=role.value,
            display_name=name,
            join_existing=True,  # an operator may add a known staff user to another org
        )
        typer.echo(
            f"created staff user {user.email} ({membership.role}) in {organization.slug}"
            f"  id={user.id}"
        )


@apikey_app.command("create")
def create_apikey(
    org: str = typer.Option(..., "--org", help="Slug of the organization."),
    name: str = typer.Option(..., "--name", help="A label to tell keys apart (ci, crm-sync)."),
    role: ApiKeyRole = typer.Option(ApiKeyRole.member, "--role", help="What the key may do."),
) -> None:
    """Create an API key; it is printed once, alone on the last line of stdout."""
    with unit_of_work(open_database()) as session:
        organization = service.get_organization_by_slug(session, org)
        key, plain = service.create_api_key(
            session, organization=organization, name=name, role=role.value
        )
        summary = (
            f"created API key {key.name!r} ({key.role}) for {organization.slug}, "
            f"id={key.id}. It is shown only now; send it as 'Authorization: Bearer <key>'."
        )
    typer.echo(summary, err=True)
    typer.echo(plain)
