"""Configuration, read from ``TSUNAGU_*`` environment variables.

``TSUNAGU_HOME`` (default ``./.tsunagu``) holds the embedded SQLite database and the
generated secret key; ``TSUNAGU_DATABASE_URL`` switches to PostgreSQL.  Secrets come from
the environment or from files under ``TSUNAGU_HOME`` created with mode 0600 on first use —
never from the repository.
"""

from __future__ import annotations

import os
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
    default_timezone: str = "Asia/Tokyo"
    default_locale: str = "ja"
    #: cookies carry the Secure flag (turn on behind HTTPS)
    secure_cookies: bool = False
    log_level: str = "INFO"
    #: log JSON lines (for machines) instead of readable lines (for people)
    log_json: bool = True

    def resolved_database_url(self) -> str:
        """The URL to connect to: ``TSUNAGU_DATABASE_URL`` or the SQLite file in home."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.home / 'tsunagu.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The key that signs cookies: from the environment, or a file made once in home."""
        if self.secret_key:
            return self.secret_key
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / "secret_key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(random_token(48))
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (read once)."""
    return Settings()
