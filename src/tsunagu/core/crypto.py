"""Small cryptographic helpers built on the standard library and ``cryptography``.

Tokens (API keys, session ids) are high-entropy random strings; at rest only their SHA-256
digest is kept, so a leaked database does not leak usable credentials.  Passwords are a
different matter (low entropy) and are hashed with argon2 in ``identity``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random token with ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """Hex SHA-256 of a high-entropy token: what is stored instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    """Compare two secrets without leaking where they differ."""
    return hmac.compare_digest(a.encode(), b.encode())
