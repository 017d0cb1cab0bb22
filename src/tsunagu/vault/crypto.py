"""Envelope encryption of vault payloads (pure: no I/O besides the random generator).

The picture::

    master key (configuration, id "k2")          ── wraps ──▶  data key of person P
    data key of person P (256 bits, key store)   ── seals ──▶  every payload of P

- A **data key** (DEK) belongs to one person.  ``seal`` encrypts a payload with it under
  AES-256-GCM with a fresh 12-byte random nonce and returns ``nonce ‖ ciphertext ‖ tag``.
  The *associated data* binds the ciphertext to its row (the service passes
  ``f"{record_id}:{version}:{category}"``): a blob copied onto another row, version or
  category does not open.
- A **master key** from configuration wraps each data key.  Wrapping is AES-256-GCM too
  (not RFC 3394 key wrap), with the person's id and the master key's id as associated
  data, so a wrapped key moved onto another person's row, or relabelled with another
  master key id, does not unwrap.  A ``MasterKeyRing`` holds the current master key (new
  keys are wrapped with it) and older ones (still able to unwrap); rotation re-wraps the
  data keys (``KeyStore.rewrap_all``) and never touches the payloads.
- **Crypto-shredding**: destroying a person's data key (``KeyStore.destroy``) makes every
  payload sealed with it unreadable, wherever copies of the payloads live.

Failures are plain exceptions (``ValueError`` subclasses), not ``AppError``: a payload
that does not open is a fault or an attack, not a request to answer with a 4xx.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "MasterKeyError",
    "MasterKeyRing",
    "PayloadUnreadable",
    "new_data_key",
    "open_sealed",
    "seal",
]

KEY_BYTES = 32
NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class PayloadUnreadable(ValueError):
    """A sealed payload did not open: wrong key, wrong associated data, or tampered bytes."""


class MasterKeyError(ValueError):
    """A master key ring is malformed, or a wrapped data key does not unwrap with it."""


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return secrets.token_bytes(KEY_BYTES)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """``plaintext`` encrypted with ``key`` and bound to ``aad``: ``nonce ‖ ciphertext``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """The plaintext of ``blob``; ``PayloadUnreadable`` unless key, aad and bytes all match."""
    if len(key) != KEY_BYTES:
        raise PayloadUnreadable("the data key must hold 32 bytes")
    if len(blob) < NONCE_BYTES + _TAG_BYTES:
        raise PayloadUnreadable("the sealed payload is too short")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise PayloadUnreadable(
            "the sealed payload does not open with this key and associated data"
        ) from None


def _wrap_aad(person_id: uuid.UUID, key_id: str) -> bytes:
    return b"tsunagu.vault.dek\x00" + person_id.bytes + b"\x00" + key_id.encode()


class MasterKeyRing:
    """The master keys that wrap data keys: the current one and older ones, by id."""

    __slots__ = ("_ciphers", "current_id", "keys")

    def __init__(self, current_id: str, keys: Mapping[str, bytes]) -> None:
        if current_id not in keys:
            raise MasterKeyError(f"the current master key {current_id!r} is not in the ring")
        for key_id, key in keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise MasterKeyError(
                    f"master key id {key_id!r} must be 1-64 letters, digits, '.', '_' or '-'"
                )
            if len(key) != KEY_BYTES:
                raise MasterKeyError(f"master key {key_id!r} must hold 32 bytes")
        self.current_id = current_id
        self.keys: dict[str, bytes] = dict(keys)
        self._ciphers = {key_id: AESGCM(key) for key_id, key in self.keys.items()}

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, bytes]]) -> MasterKeyRing:
        """A ring from ``(id, key)`` pairs, the first being current (as settings give them)."""
        ordered = list(pairs)
        if not ordered:
            raise MasterKeyError("a master key ring needs at least one key")
        keys = dict(ordered)
        if len(keys) != len(ordered):
            raise MasterKeyError("master key ids must be distinct")
        return cls(ordered[0][0], keys)

    @classmethod
    def generate(cls, key_id: str = "k1") -> MasterKeyRing:
        """A ring of one fresh random master key (tests, first start)."""
        return cls(key_id, {key_id: secrets.token_bytes(KEY_BYTES)})

    def wrap(self, person_id: uuid.UUID, data_key: bytes) -> tuple[str, bytes]:
        """``data_key`` wrapped with the current master key: ``(master key id, wrapped)``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = _wrap_aad(person_id, self.current_id)
        return self.current_id, nonce + self._ciphers[self.current_id].encrypt(nonce, data_key, aad)

    def unwrap(self, person_id: uuid.UUID, key_id: str, wrapped: bytes) -> bytes:
        """The data key of ``person_id`` wrapped with master key ``key_id``."""
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise MasterKeyError(f"master key {key_id!r} is not in the ring")
        try:
            return cipher.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(person_id, key_id)
            )
        except InvalidTag:
            raise MasterKeyError(
                f"the data key of {person_id} does not unwrap with master key {key_id!r}"
            ) from None

    def __contains__(self, key_id: object) -> bool:
        return key_id in self.keys

    def __repr__(self) -> str:  # never show key bytes
        return f"MasterKeyRing(current_id={self.current_id!r}, ids={list(self.keys)!r})"
