"""FastAPI dependencies of the vault's JSON API (an adapter: imports FastAPI).

- ``VaultDep``: the ``Vault`` of the app's settings, made once per app (its key store
  is opened once per home and shared, see ``keystore.open_keystore``);
- ``RecordingSession``: the request's unit of work from the *writing* session factory, for
  GET endpoints that must record something (a read of personal data is a ledger entry).
  ``DbSession`` gives GETs a read-mostly session whose writes are best-effort; a read of
  a person's records must never happen without its ledger entry, so it takes this one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from tsunagu.core.http import writing_session
from tsunagu.vault.service import Vault


def vault_of(request: Request) -> Vault:
    """The app's ``Vault``, made on first use and kept in ``app.state`` (its secrets come
    from files under home: read once, not on every request)."""
    state = request.app.state
    vault: Vault | None = getattr(state, "vault", None)
    if vault is None:
        vault = state.vault = Vault.from_settings(state.settings)
    return vault


VaultDep = Annotated[Vault, Depends(vault_of)]


RecordingSession = Annotated[Session, Depends(writing_session, scope="function")]

__all__ = ["RecordingSession", "VaultDep", "vault_of"]
