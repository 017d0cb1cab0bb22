"""The one password hash every demo account shares.

argon2 is slow on purpose (tens of milliseconds per hash, more on a busy machine); the demo
has 18 accounts with the same printed password, so it hashes that password once per
process and gives every account the same hash.  Real accounts never share a hash: they go
through ``identity.service`` and get their own salt.
"""

from __future__ import annotations

from functools import cache

from tsunagu.identity.service import hash_password


@cache
def demo_password_hash(password: str) -> str:
    """An argon2id hash of ``password``, computed once per process."""
    return hash_password(password)
