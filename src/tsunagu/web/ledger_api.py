"""The HTTP API of the transparency ledger, mounted under ``/api/v1/ledger`` (an adapter).

It lives in ``web`` rather than ``ledger`` because it needs identity's API-key
authentication while the ledger sits below identity (DESIGN.md §4).  The read paths mirror
RFC 6962 §4, so Certificate Transparency habits carry over; hashes are standard base64.

================================================  =======  ================================
path (under /api/v1)                              who      what
================================================  =======  ================================
GET  /ledger/checkpoint                           anyone   latest signed checkpoint and its
                                                           witness cosignatures (text)
GET  /ledger/key                                  anyone   the log's verifier key (vkey)
GET  /ledger/get-entries?start=&end=              API key  leaf inputs, inclusive, one page
                                                           (anyone: ledger_public_entries)
GET  /ledger/get-proof-by-hash?hash=&tree_size=   anyone   inclusion proof
GET  /ledger/get-sth-consistency?first=&second=   anyone   consistency proof
POST /ledger/statements                           admin    an organization's statement
GET  /ledger/witnesses                            anyone   witnesses, what they cosigned
POST /ledger/witnesses                            admin    register the org's witness key
POST /ledger/cosignatures                         anyone   a cosigned checkpoint (the
                                                           signature authenticates it)
POST /ledger/alarms                               anyone   a witness's signed fork report
GET  /ledger/status                               API key  size, checkpoints, witnesses,
                                                           alarms
================================================  =======  ================================

Reading the checkpoint publishes one first when the tree outgrew the latest, so a reader
never sees a stale tree; a statement is covered by a checkpoint committed with it.  In a
server, ``lifespan`` also runs the ``CheckpointPublisher`` for entries that other domains
append.  The request's session commits before the answer leaves (``DbSession`` is
function-scoped), so an acknowledged write is durable.  Every failure is problem+json; no
input reaches the database unchecked.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from tsunagu.core.errors import AppError, InvalidInput, PayloadTooLarge
from tsunagu.core.settings import Settings
from tsunagu.identity import service as identity_service
from tsunagu.identity.dependencies import AdminActor, DbSession, api_actor, api_principal
from tsunagu.identity.service import Actor
from tsunagu.ledger import service, witnessing
from tsunagu.ledger.entry import Entry, EntryError, b64
from tsunagu.ledger.errors import CheckpointPending, ProofNotAvailable
from tsunagu.ledger.group_commit import GroupAppender
from tsunagu.ledger.models import LedgerCheckpoint
from tsunagu.ledger.note import Signer
from tsunagu.ledger.publisher import CheckpointPublisher

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/ledger", tags=["ledger"])

PREFIX = "/api/v1/ledger"
#: (method, path) of the routes that answer without credentials (checked by a test)
PUBLIC_ROUTES = frozenset(
    {
        ("GET", f"{PREFIX}/checkpoint"),
        ("GET", f"{PREFIX}/key"),
        ("GET", f"{PREFIX}/get-proof-by-hash"),
        ("GET", f"{PREFIX}/get-sth-consistency"),
        ("GET", f"{PREFIX}/witnesses"),
        ("POST", f"{PREFIX}/cosignatures"),
        ("POST", f"{PREFIX}/alarms"),
    }
)
#: the largest request body of a statement (the whole JSON document)
MAX_STATEMENT_BYTES = 16 * 1024
#: the largest cosigned checkpoint note accepted
MAX_NOTE_BYTES = 64 * 1024
#: indexes and sizes beyond this are refused before they reach the database (2^48 leaves)
MAX_TREE_SIZE = 1 << 48
HASH_BYTES = 32
TEXT_PLAIN = "text/plain; charset=utf-8"


class MalformedHash(AppError):
    status_code = 400
    code = "malformed_hash"
    title = "Malformed hash"


class StatementRefused(InvalidInput):
    code = "statement_refused"


class MalformedNote(InvalidInput):
    code = "malformed_note"


# --- schemas -----------------------------------------------------------------------------


class EntryOut(BaseModel):
    leaf_input: str = Field(description="base64 of the exact bytes hashed as the leaf")


class EntriesOut(BaseModel):
    entries: list[EntryOut]


class InclusionProofOut(BaseModel):
    leaf_index: int
    audit_path: list[str]


class ConsistencyProofOut(BaseModel):
    consistency: list[str]


class StatementIn(BaseModel):
    """An organization's public statement: ``org.<name>`` and a JSON object."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=r"^org\.[a-z0-9_-]+$", max_length=64)
    body: dict[str, Any]


class StatementOut(BaseModel):
    leaf_index: int
    leaf_hash: str


class WitnessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vkey: str = Field(min_length=1, max_length=witnessing.MAX_VKEY)


class WitnessOut(BaseModel):
    name: str
    vkey: str
    active: bool
    registered_at: datetime
    last_cosigned_size: int | None
    last_cosigned_at: datetime | None


class CosignaturesOut(BaseModel):
    checkpoint_size: int
    cosignatures: int
    confirmed: bool


class AlarmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    witness: str = Field(min_length=1, max_length=witnessing.MAX_WITNESS_NAME)
    detail: str = Field(min_length=1, max_length=4000)
    signature: str = Field(min_length=1, max_length=200, description="base64 Ed25519")


class AlarmOut(BaseModel):
    source: str
    detail: str
    created_at: datetime


class LedgerStatusOut(BaseModel):
    size: int
    checkpoint_size: int | None
    checkpoint_at: datetime | None
    confirmed_size: int | None
    confirmed_at: datetime | None
    quorum: int
    witnesses: list[WitnessOut]
    alarms: list[AlarmOut]


# --- plumbing ----------------------------------------------------------------------------


def log_signer(settings: Settings) -> Signer:
    return service.log_signer(settings.ledger_origin, settings.resolved_ledger_signing_seed())


def _signer(request: Request) -> Signer:
    """The log's signer, made once per app (the seed may live in a file under home)."""
    signer: Signer | None = getattr(request.app.state, "ledger_signer", None)
    if signer is None:
        signer = log_signer(request.app.state.settings)
        request.app.state.ledger_signer = signer
    return signer


LogSigner = Annotated[Signer, Depends(_signer)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]

_bearer = HTTPBearer(auto_error=False, description="An organization's API key")


async def entries_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    """Who reads entries: anyone when they are public, otherwise an API key's organization."""
    if request.app.state.settings.ledger_public_entries and credentials is None:
        return None
    return (await api_principal(request, credentials)).actor


def _limited_body(limit: int) -> Any:
    async def read(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"the request body is over {limit} bytes")
        body = await request.body()
        if len(body) > limit:
            raise PayloadTooLarge(f"the request body is over {limit} bytes")
        return body

    return read


def _decode_hash(value: str) -> bytes:
    # an unencoded "+" in a query string arrives as a space; put it back
    text = value.replace(" ", "+")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedHash("the hash is not standard base64") from exc
    if len(raw) != HASH_BYTES:
        raise MalformedHash(f"the hash is {len(raw)} bytes, a SHA-256 hash is {HASH_BYTES}")
    return raw


def _current_checkpoint(db: DbSession, signer: Signer) -> LedgerCheckpoint:
    """The latest checkpoint, published first when the tree outgrew it."""
    checkpoint = service.current_checkpoint(db, signer)
    if checkpoint is None:
        raise CheckpointPending("the ledger's first checkpoint is being published; retry")
    return checkpoint


def _text(body: str) -> Response:
    return Response(body, media_type=TEXT_PLAIN, headers={"Cache-Control": "no-cache"})


TreeSize = Annotated[int, Query(ge=1, le=MAX_TREE_SIZE)]
Index = Annotated[int, Query(ge=0, le=MAX_TREE_SIZE)]


# --- reading -----------------------------------------------------------------------------


@router.get("/checkpoint", response_class=Response, responses={200: {"content": {TEXT_PLAIN: {}}}})
def get_checkpoint(db: DbSession, signer: LogSigner) -> Response:
    """The latest signed checkpoint, followed by the witnesses' cosignature lines."""
    checkpoint = _current_checkpoint(db, signer)
    return _text(service.checkpoint_with_cosignatures(db, checkpoint))


@router.get("/key", response_class=Response, responses={200: {"content": {TEXT_PLAIN: {}}}})
def get_key(signer: LogSigner) -> Response:
    """The log's verifier key in the signed-note ``vkey`` format."""
    return _text(signer.vkey() + "\n")


@router.get("/get-entries", response_model=EntriesOut, dependencies=[Depends(entries_reader)])
def get_entries(db: DbSession, settings: AppSettings, start: Index, end: Index) -> EntriesOut:
    """Leaf inputs ``start..end`` inclusive; at most one page (clients ask again)."""
    rows = service.get_entries(db, start, end, settings.ledger_page_size)
    return EntriesOut(entries=[EntryOut(leaf_input=b64(row)) for row in rows])


@router.get("/get-proof-by-hash", response_model=InclusionProofOut)
def get_proof_by_hash(
    db: DbSession,
    leaf_hash: Annotated[str, Query(alias="hash", max_length=100)],
    tree_size: TreeSize,
) -> InclusionProofOut:
    """The inclusion proof of the entry with leaf hash ``hash`` in the tree of ``tree_size``."""
    leaf = _decode_hash(leaf_hash)
    # a size beyond the latest checkpoint is refused before the lookup: a 422, never a 404
    _require_published(db, tree_size)
    index = service.find_leaf_index(db, leaf, tree_size)
    proof = service.inclusion_proof(db, index, tree_size)
    return InclusionProofOut(leaf_index=index, audit_path=[b64(h) for h in proof])


def _require_published(db: DbSession, tree_size: int) -> None:
    latest = service.latest_checkpoint(db)
    published = latest.size if latest is not None else 0
    if tree_size > published:
        raise ProofNotAvailable(
            f"tree size {tree_size} is beyond the latest checkpoint's size {published}"
        )


@router.get("/get-sth-consistency", response_model=ConsistencyProofOut)
def get_sth_consistency(db: DbSession, first: Index, second: Index) -> ConsistencyProofOut:
    """The consistency proof between the trees of sizes ``first`` and ``second``."""
    proof = service.consistency_proof(db, first, second)
    return ConsistencyProofOut(consistency=[b64(h) for h in proof])


# --- statements --------------------------------------------------------------------------


@router.post("/statements", response_model=StatementOut, status_code=status.HTTP_201_CREATED)
def post_statement(
    actor: AdminActor,
    _size: Annotated[bytes, Depends(_limited_body(MAX_STATEMENT_BYTES))],
    statement: StatementIn,
    db: DbSession,
    signer: LogSigner,
) -> StatementOut:
    """Record an organization's public statement; the entry names the key's organization."""
    organization = identity_service.get_organization(db, actor.org_id)
    entry = Entry(
        kind=statement.kind,
        org=organization.slug,
        actor=f"api_key:{actor.api_key_id}",
        body=statement.body,
    )
    try:
        (appended,) = service.append(db, [entry])
    except EntryError as exc:
        raise StatementRefused(str(exc)) from exc
    # committed with the entry: a checkpoint covers the statement the moment it exists
    service.publish_checkpoint(db, signer)
    return StatementOut(leaf_index=appended.index, leaf_hash=b64(appended.leaf_hash))


# --- witnesses ---------------------------------------------------------------------------


def _witness_out(activity: witnessing.WitnessActivity) -> WitnessOut:
    return WitnessOut(
        name=activity.name,
        vkey=activity.vkey,
        active=activity.active,
        registered_at=activity.registered_at,
        last_cosigned_size=activity.last_cosigned_size,
        last_cosigned_at=activity.last_cosigned_at,
    )


@router.get("/witnesses", response_model=list[WitnessOut])
def list_witnesses(db: DbSession) -> list[WitnessOut]:
    """Every registered witness with the largest checkpoint it cosigned."""
    return [_witness_out(w) for w in witnessing.witness_activity(db)]


@router.post("/witnesses", response_model=WitnessOut, status_code=status.HTTP_201_CREATED)
def register_witness(actor: AdminActor, witness: WitnessIn, db: DbSession) -> WitnessOut:
    """Register a witness key (cosignature/v1) run by the caller's organization."""
    row, _ = witnessing.register_witness_for(db, witness.vkey, actor.org_id)
    activity = next(w for w in witnessing.witness_activity(db) if w.name == row.name)
    return _witness_out(activity)


@router.post("/cosignatures", response_model=CosignaturesOut)
def post_cosignatures(
    body: Annotated[bytes, Depends(_limited_body(MAX_NOTE_BYTES))],
    db: DbSession,
    settings: AppSettings,
) -> CosignaturesOut:
    """Take a checkpoint note cosigned by registered witnesses (``text/plain``)."""
    try:
        note = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNote("the cosigned checkpoint is not UTF-8 text") from exc
    checkpoint = service.add_cosignatures(db, note)
    count = service.cosignature_count(db, checkpoint)
    return CosignaturesOut(
        checkpoint_size=checkpoint.size,
        cosignatures=count,
        confirmed=count >= settings.ledger_quorum,
    )


@router.post("/alarms", response_model=AlarmOut, status_code=status.HTTP_201_CREATED)
def post_alarm(alarm: AlarmIn, db: DbSession) -> AlarmOut:
    """A registered witness reports that the log forked or rewrote its history."""
    row = witnessing.accept_alarm(db, alarm.witness, alarm.detail, alarm.signature)
    logger.error("ledger alarm from %s: %s", row.source, row.detail[:200])
    return AlarmOut(source=row.source, detail=row.detail, created_at=row.created_at)


@router.get("/status", response_model=LedgerStatusOut, dependencies=[Depends(api_actor)])
def get_status(db: DbSession, settings: AppSettings) -> LedgerStatusOut:
    """The ledger at a glance, for an organization's staff and tools."""
    latest = service.latest_checkpoint(db)
    confirmed = witnessing.confirmed_checkpoint(db, settings.ledger_quorum)
    return LedgerStatusOut(
        size=service.tree_size(db),
        checkpoint_size=latest.size if latest else None,
        checkpoint_at=latest.created_at if latest else None,
        confirmed_size=confirmed.size if confirmed else None,
        confirmed_at=confirmed.created_at if confirmed else None,
        quorum=settings.ledger_quorum,
        witnesses=[_witness_out(w) for w in witnessing.witness_activity(db)],
        alarms=[
            AlarmOut(source=a.source, detail=a.detail, created_at=a.created_at)
            for a in service.recent_alarms(db)
        ],
    )


# --- the server's background publisher ---------------------------------------------------


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the checkpoint publisher and the group appender (decisions' entries) while the
    server runs (when the app enables them: not in tests that bring their own sessions)."""
    publisher: CheckpointPublisher | None = None
    appender: GroupAppender | None = None
    if getattr(app.state, "ledger_publisher_enabled", False):
        publisher = CheckpointPublisher(app.state.session_factory, log_signer(app.state.settings))
        publisher.start()
        appender = GroupAppender(app.state.session_factory)
        appender.start()
    app.state.ledger_publisher = publisher
    app.state.ledger_appender = appender
    try:
        yield
    finally:
        if appender is not None:
            appender.stop()
        if publisher is not None:
            publisher.stop()
