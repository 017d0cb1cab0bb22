"""Bulk import endpoints of the identity domain (thin: read the file, call ``importing``).

``POST /api/v1/users/import`` (admin API key) adds staff to the key's organization from a
CSV with the columns ``email``, ``display_name``, ``role`` (or メールアドレス, 氏名, 役割).
The file is the raw body (``Content-Type: text/csv``, optionally ``; charset=cp932``) or the
``file`` field of a ``multipart/form-data`` upload; ``?encoding=auto|utf-8|cp932`` overrides
the charset.  An e-mail already registered as a staff account is a row error: no
organization can pull another's staff into itself.  Answers:

- 201 ``{"imported": n, "encoding": …}`` — every row was added;
- 422 problem+json with ``errors: [{"row", "column", "reason"}]`` — nothing was added;
- 413 when the file is over ``max_body_bytes``; 415 for other content types;
- 401 without a key, 403 below admin.

Persons are not imported here: they belong to no organization, so only an operator imports
them (``tsunagu person import``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tsunagu.core.errors import AppError, InvalidInput
from tsunagu.core.settings import Settings
from tsunagu.identity.dependencies import AdminActor, DbSession
from tsunagu.identity.importing import import_staff
from tsunagu.identity.service import get_organization

router = APIRouter(tags=["import"])

#: content types a CSV arrives with (browsers on Windows send the Excel one for ``.csv``)
CSV_MEDIA_TYPES = frozenset(
    {
        "text/csv",
        "text/plain",
        "application/csv",
        "application/octet-stream",
        "application/vnd.ms-excel",
    }
)


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class ImportOut(BaseModel):
    """What an import did."""

    imported: int
    encoding: str


def _media_type(request: Request) -> tuple[str, str | None]:
    """The media type of the request and its ``charset`` parameter, if any."""
    raw = request.headers.get("content-type", "")
    parts = [p.strip() for p in raw.split(";")]
    charset = None
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return parts[0].lower(), charset


async def read_csv(request: Request) -> tuple[bytes, str | None]:
    media_type, charset = _media_type(request)
    if media_type == "multipart/form-data":
        async with request.form() as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("send the CSV file in the form field 'file'")
            data = await upload.read()
            for part in (upload.content_type or "").split(";")[1:]:
                key, _, value = part.partition("=")
                if key.strip().lower() == "charset" and value.strip():
                    charset = value.strip()
        return data, charset
    if media_type and media_type not in CSV_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"send the CSV as text/csv or as a multipart upload, not {media_type}"
        )
    return await request.body(), charset


CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post(
    "/users/import",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=CSV_BODY,
    responses={413: {"description": "file too large"}, 422: {"description": "row errors"}},
)
async def import_users(
    request: Request,
    actor: AdminActor,
    db: DbSession,
    encoding: Annotated[
        str | None, Query(description="auto, utf-8 or cp932 (default: charset, else auto)")
    ] = None,
) -> ImportOut:
    """Add staff to the organization from a CSV: every row, or none."""
    data, charset = await read_csv(request)
    settings: Settings = request.app.state.settings
    organization = await run_in_threadpool(get_organization, db, actor.org_id)
    result = await run_in_threadpool(
        lambda: import_staff(
            db,
            organization,
            data,
            max_role=actor.role or "viewer",
            encoding=encoding or charset,
            max_bytes=settings.max_body_bytes,
        )
    )
    return ImportOut(imported=result.imported, encoding=result.encoding)
