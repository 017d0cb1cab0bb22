"""Configuration, read from ``TSUNAGU_*`` environment variables.

``TSUNAGU_HOME`` (default ``./.tsunagu``) holds the embedded SQLite database and the
generated secret key; ``TSUNAGU_DATABASE_URL`` switches to PostgreSQL.  Secrets come from
the environment or from files under ``TSUNAGU_HOME`` created with mode 0600 on first use —
never from the repository.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tsunagu.core.crypto import random_token


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TSUNAGU_", extra="ignore")

    home: Path = Field(default=Path(".tsunagu"))
    database_url: str | None = None
    secret_key: str | None = None
    #: largest request body the API accepts, in bytes (uploads included)
    max_body_bytes: int = 10 * 1024 * 1024
    #: a signed-in web session lasts this long without activity
    session_max_age_seconds: int = 8 * 60 * 60
    #: seconds a checked API key is trusted without asking the database again; a key
    #: revoked by another process stops working within this time (0 turns the cache off)
    api_key_cache_seconds: float = 5.0
    default_timezone: str = "Asia/Tokyo"
    default_locale: str = "ja"
    #: cookies carry the Secure flag (turn on behind HTTPS)
    secure_cookies: bool = False
    log_level: str = "INFO"
    #: log JSON lines (for machines) instead of readable lines (for people)
    log_json: bool = True

    #: the ledger's name in its checkpoints (a schema-less URL, C2SP origin line)
    ledger_origin: str = "localhost/tsunagu/ledger"
    #: Ed25519 seed of the ledger's checkpoint key, base64 (else a file in home)
    ledger_signing_key: str | None = None
    #: HMAC key of the persons' pseudonyms in the ledger, base64 (else a file in home)
    ledger_pseudonym_key: str | None = None
    #: cosignatures from distinct registered witnesses that confirm a checkpoint
    ledger_quorum: int = 1
    #: anyone (not only organizations and witnesses) may read ledger entries
    ledger_public_entries: bool = False
    #: most entries one get-entries page returns
    ledger_page_size: int = 1000

    #: master keys that wrap the vault's per-person data keys, ``"k2:<base64>,k1:<base64>"``
    #: (the first wraps new keys; the others still unwrap), else a file in home
    vault_master_keys: str | None = None
    #: database of the vault's wrapped data keys, kept apart from the main database so
    #: that destroying a key shreds the payloads (default: the SQLite file keys.db in home)
    vault_keystore_url: str | None = None

    #: the address people reach this server at (links in e-mails to inquirers and staff)
    public_base_url: str = "http://127.0.0.1:8000"
    #: SMTP server for notifications; unset keeps mails queued in the outbox, unsent
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "tsunagu@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    #: upgrade the SMTP connection with STARTTLS
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    #: submissions of public inquiry forms one address may make per window
    inquiry_rate_limit: int = 5
    inquiry_rate_window_seconds: int = 600
    #: seconds one webhook request may take before it counts as failed
    webhook_timeout_seconds: float = 5.0
    #: deliveries after which a failing webhook delivery is given up ("dead")
    webhook_max_attempts: int = 6
    #: run the background sender of e-mails and webhooks inside ``tsunagu serve``
    cases_worker: bool = True
    #: seconds between the background sender's rounds
    cases_worker_interval_seconds: float = 2.0
    #: the platform's floor under every agreement's minimum group size: a clean-room cell
    #: with fewer distinct persons is withheld whatever the two sides agreed
    cleanroom_min_group_floor: int = Field(default=10, ge=1)

    def attachment_dir(self) -> Path:
        """Where case attachments are kept (outside the database)."""
        return self.home / "attachments"

    def resolved_database_url(self) -> str:
        """The URL to connect to: ``TSUNAGU_DATABASE_URL`` or the SQLite file in home."""
        if self.database_url:
            url = self.database_url
            if url.startswith(("postgresql://", "postgres://")):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.home / 'tsunagu.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The key that signs cookies: from the environment, or a file made once in home."""
        if self.secret_key:
            return self.secret_key
        return self._home_secret("secret_key", lambda: random_token(48))

    def resolved_ledger_signing_seed(self) -> bytes:
        """The 32-byte Ed25519 seed of the ledger's checkpoint key."""
        raw = self.ledger_signing_key or self._home_secret(
            "ledger_signing_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
        )
        return _key_bytes(raw, "TSUNAGU_LEDGER_SIGNING_KEY")

    def resolved_ledger_pseudonym_key(self) -> bytes:
        """The 32-byte HMAC key of the persons' pseudonyms in the ledger."""
        raw = self.ledger_pseudonym_key or self._home_secret(
            "ledger_pseudonym_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
        )
        return _key_bytes(raw, "TSUNAGU_LEDGER_PSEUDONYM_KEY")

    def resolved_vault_master_keys(self) -> list[tuple[str, bytes]]:
        """The vault's master keys as ``(id, 32-byte key)`` pairs, the current one first."""
        raw = self.vault_master_keys or self._home_secret(
            "vault_master_keys",
            lambda: "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        )
        pairs: list[tuple[str, bytes]] = []
        for item in raw.split(","):
            key_id, sep, encoded = item.strip().partition(":")
            if not sep or not key_id.strip():
                raise ValueError("TSUNAGU_VAULT_MASTER_KEYS must read 'id:base64,id:base64'")
            pairs.append((key_id.strip(), _key_bytes(encoded.strip(), "TSUNAGU_VAULT_MASTER_KEYS")))
        return pairs

    def resolved_vault_keystore_url(self) -> str:
        """The key store's URL: ``TSUNAGU_VAULT_KEYSTORE_URL`` or the SQLite file in home."""
        if self.vault_keystore_url:
            url = self.vault_keystore_url
            if url.startswith(("postgresql://", "postgres://")):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.home / 'keys.db').resolve()}"

    def _home_secret(self, name: str, make: Callable[[], str]) -> str:
        """A secret kept in a 0600 file under home, created on first use."""
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
        return path.read_text().strip()


def _key_bytes(raw: str, variable: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{variable} must be base64") from exc
    if len(key) != 32:
        raise ValueError(f"{variable} must hold 32 bytes")
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (read once)."""
    return Settings()
