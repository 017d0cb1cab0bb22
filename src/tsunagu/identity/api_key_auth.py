"""API-key authentication on the request path: a read-only check, and the ``last_used_at``
refresh as a transaction of its own.

Why not read and write in the request's own transaction?  On SQLite in WAL mode a
transaction that has read and then wants to write is refused at once ("database is
locked", the busy timeout does not apply) when another connection holds or has just
committed a write.  Requests racing to refresh the same key's
``last_used_at`` — once a minute per key, under any concurrency — then fail, and the
winner holds the database's write lock for the rest of its request.  So:

- ``check_api_key`` only reads (one indexed query on ``api_keys.key_hash``) and says
  whether the refresh is due;
- ``touch_api_key`` is a single conditional ``UPDATE``, meant to run in its own short
  transaction: as the first statement of a transaction it waits for the write lock like
  any writer, and a refresh that another request already made is a no-op.

Same rules as the service: unknown, malformed and revoked keys are ``InvalidCredentials``;
only the SHA-256 digest of a key is ever compared or stored.

``ApiKeyCache`` keeps the actor of a recently checked key for a few seconds
(``TSUNAGU_API_KEY_CACHE_SECONDS``), so a busy client costs no database round trip per
request.  Revoking a key through this process forgets it at once; a key revoked by another
process (the CLI, another server) stops working within that many seconds.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tsunagu.core.clock import utcnow
from tsunagu.core.crypto import token_digest
from tsunagu.identity.errors import InvalidCredentials
from tsunagu.identity.models import ApiKey, Organization
from tsunagu.identity.service import API_KEY_PREFIX, LAST_USED_RESOLUTION, Actor


class ApiKeyCache:
    """Principals of recently authenticated keys, by key digest, for ``ttl`` seconds."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str, now: float) -> Principal | None:
        if self.ttl <= 0:
            return None
        found = self._entries.get(digest)
        if found is None or found[1] <= now:
            return None
        return found[0]

    def put(self, digest: str, principal: Principal, now: float) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = (principal, now + self.ttl)

    def forget(self, key_id: uuid.UUID) -> None:
        """Drop a key at once (it was revoked)."""
        with self._lock:
            for digest in [
                d for d, (p, _) in self._entries.items() if p.actor.api_key_id == key_id
            ]:
                del self._entries[digest]


@dataclass(frozen=True, slots=True)
class OrganizationSnapshot:
    """The organization of a key as it was when the key was checked."""

    id: uuid.UUID
    slug: str
    name: str
    kind: str
    timezone: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls the API: the key's actor and its organization (what the cache keeps)."""

    actor: Actor
    organization: OrganizationSnapshot


@dataclass(frozen=True, slots=True)
class ApiKeyCheck:
    """A valid key's principal, and whether its ``last_used_at`` should be refreshed."""

    principal: Principal
    touch_due: bool

    @property
    def actor(self) -> Actor:
        return self.principal.actor


def check_api_key(session: Session, plain: str, *, now: datetime | None = None) -> ApiKeyCheck:
    """The actor behind a bearer key, or ``InvalidCredentials``; reads only."""
    if not plain.startswith(API_KEY_PREFIX):
        raise InvalidCredentials("the API key is not valid")
    row = session.execute(
        select(
            ApiKey.id,
            ApiKey.organization_id,
            ApiKey.role,
            ApiKey.revoked_at,
            ApiKey.last_used_at,
            Organization.slug,
            Organization.name,
            Organization.kind,
            Organization.timezone,
            Organization.created_at,
        )
        .join(Organization, Organization.id == ApiKey.organization_id)
        .where(ApiKey.key_hash == token_digest(plain))
    ).first()
    if row is None or row.revoked_at is not None:
        raise InvalidCredentials("the API key is not valid or has been revoked")
    now = now or utcnow()
    due = row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION
    actor = Actor(
        kind="api_key", organization_id=row.organization_id, role=row.role, api_key_id=row.id
    )
    organization = OrganizationSnapshot(
        id=row.organization_id,
        slug=row.slug,
        name=row.name,
        kind=row.kind,
        timezone=row.timezone,
        created_at=row.created_at,
    )
    return ApiKeyCheck(principal=Principal(actor, organization), touch_due=due)


def touch_api_key(session: Session, key_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Record that the key was used ``now`` unless that was recorded less than
    ``LAST_USED_RESOLUTION`` ago; True when this call wrote it."""
    now = now or utcnow()
    result = session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at <= now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
