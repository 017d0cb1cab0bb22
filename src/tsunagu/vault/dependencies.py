"""FastAPI dependencies of the vault's JSON API (an adapter: imports FastAPI).

- ``VaultDep``: the ``Vault`` of the app's settings, made once per app (its key store
  is opened once per home and shared, see ``keystore.open_keystore``);
- ``RecordingSession``: the request's unit of work from the *writing* session factory, for
  GET endpoints that must record something (a read of personal data is a ledger entry).
  ``DbSession`` gives GETs a read-mostly session whose writes are best-effort; a read of
  a person's records must never happen without its ledger entry, so it takes this one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

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


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


async def recording_session(request: Request) -> AsyncIterator[Session]:
    """Commits when the endpoint succeeds (before the answer leaves), rolls back when it
    raises — whatever the method."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_rollback_and_close, session)
        raise
    if session.in_transaction():
        await run_in_threadpool(_commit_and_close, session)
    else:
        session.close()


RecordingSession = Annotated[Session, Depends(recording_session, scope="function")]

__all__ = ["RecordingSession", "VaultDep", "recording_session", "vault_of"]
