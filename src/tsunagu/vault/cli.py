"""(being written) the vault's and consent's commands — see docs/consent-vault-plan.md."""

from __future__ import annotations

import typer

vault_app = typer.Typer(help="The vault: records, keys, provision records.", no_args_is_help=True)
consent_app = typer.Typer(help="Consents: expiry, guardians.", no_args_is_help=True)
