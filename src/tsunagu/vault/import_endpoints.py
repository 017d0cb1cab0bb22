"""Bulk import endpoint of the vault (thin: read the file, call ``importing``).

``POST /api/v1/vault/records/import`` (member API key or higher) stores records about
persons the calling organization knows under its own customer numbers; the columns are
described in ``tsunagu.vault.importing`` (``ref``, ``category``, ``collected_at``, and the
payload as ``payload`` JSON or ``field:<name>`` columns; Japanese headers understood).
The file is the raw body (``Content-Type: text/csv``, optionally ``; charset=cp932``) or
the ``file`` field of a ``multipart/form-data`` upload; ``?encoding=auto|utf-8|cp932``
overrides the charset.  Answers, as for the identity imports:

- 201 ``{"imported": n, "encoding": …}`` — every row was stored;
- 422 problem+json with ``errors: [{"row", "column", "reason"}]`` — nothing was stored
  (a customer number of another organization is simply unknown here);
- 413 when the file is over ``max_body_bytes``; 415 for other content types;
- 401 without a key, 403 for a viewer key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from starlette.concurrency import run_in_threadpool

from tsunagu.consent.service import actor_label
from tsunagu.core.settings import Settings
from tsunagu.identity.dependencies import DbSession, MemberActor
from tsunagu.identity.import_endpoints import CSV_BODY, ImportOut, read_csv
from tsunagu.identity.service import get_organization
from tsunagu.vault.importing import import_records
from tsunagu.vault.service import Vault

router = APIRouter(tags=["import"])


@router.post(
    "/vault/records/import",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=CSV_BODY,
    responses={413: {"description": "file too large"}, 422: {"description": "row errors"}},
)
async def import_vault_records(
    request: Request,
    actor: MemberActor,
    db: DbSession,
    encoding: Annotated[
        str | None, Query(description="auto, utf-8 or cp932 (default: charset, else auto)")
    ] = None,
) -> ImportOut:
    """Store records about the organization's persons from a CSV: every row, or none."""
    data, charset = await read_csv(request)
    settings: Settings = request.app.state.settings
    vault = Vault.from_settings(settings)
    organization = await run_in_threadpool(get_organization, db, actor.org_id)
    result = await run_in_threadpool(
        lambda: import_records(
            db,
            vault,
            organization,
            data,
            actor=actor_label(actor),
            encoding=encoding or charset,
            max_bytes=settings.max_body_bytes,
        )
    )
    return ImportOut(imported=result.imported, encoding=result.encoding)
