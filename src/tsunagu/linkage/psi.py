"""Private set intersection (ECDH) over the prime-order subgroup of edwards25519.

The strongest matching strength: the two companies need not trust the platform with a
shared key.  Each party has a secret scalar; an item ``x`` (a normalised identifier
combination, as bytes) is hashed to a group element ``H(x)`` and blinded to ``a·H(x)``.
Because ``b·(a·H(x)) = a·(b·H(x))``, items held by both sides meet as equal doubly
blinded points, while a singly blinded point reveals nothing without the scalar
(decisional Diffie-Hellman).

Two messages (``PsiClient`` / ``PsiServer``, or ``intersect`` in one process)::

    client → server   request  = [a·H(x) for x in client items]          (client's order)
    server → client   response = [b·(a·H(x)) for each request point]      (same order)
                                 + shuffle([b·H(y) for y in server items])
    client            intersection = {x : b·a·H(x) ∈ {a·(b·H(y))}}

What each side learns (semi-honest model — both follow the protocol and try to learn
more from what they see): the **client** learns which of its own items are in the
intersection, hence its size, and the size of the server's set; the **server** learns
only the size of the client's set.  Neither learns the other's items outside the
intersection.  The server's set is shuffled so its order (e.g. member-id order) says
nothing.  Not covered: a malicious client can put guessed items in its request and learn
whether the server holds them (inherent to PSI; limit request sizes by contract and
count them in the ledger); a malicious server can answer with a different set.

Group: libsodium's edwards25519 through PyNaCl (which has no ristretto255 bindings).
Hash-to-group: SHA-512 of a domain-separated item, each half mapped with Elligator 2
(``crypto_core_ed25519_from_uniform``, which also clears the cofactor) and the two
points added — the random-oracle construction of RFC 9380 — so ``H`` lands in the
prime-order subgroup.  Scalars come from ``crypto_core_ed25519_scalar_reduce`` of 64
random bytes; exponentiation is ``crypto_scalarmult_ed25519_noclamp``, which rejects
points that are not canonical, of small order or outside the prime-order subgroup.
Every point received from the other side is checked that way (or with
``crypto_core_ed25519_is_valid_point`` where it is only compared) and an invalid one
raises ``InvalidPoint``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nacl import bindings as sodium
from nacl import exceptions as sodium_errors

from tsunagu.core.errors import InvalidInput

__all__ = [
    "InvalidPoint",
    "PsiClient",
    "PsiParty",
    "PsiProtocolError",
    "PsiRequest",
    "PsiResponse",
    "PsiServer",
    "hash_to_group",
    "intersect",
]

POINT_BYTES = 32
_DOMAIN = b"tsunagu/linkage/psi/v1/hash-to-group\x00"
_SCALAR_DOMAIN = b"tsunagu/linkage/psi/v1/scalar\x00"
_MIN_SECRET_BYTES = 32


class PsiProtocolError(InvalidInput):
    """A PSI message is malformed or does not belong to this exchange."""

    code = "psi_protocol_error"


class InvalidPoint(PsiProtocolError):
    """A received value is not a point of the prime-order group."""

    code = "psi_invalid_point"


def hash_to_group(item: bytes) -> bytes:
    """``H(item)``: a point of the prime-order subgroup, deterministic and domain-separated."""
    digest = hashlib.sha512(_DOMAIN + item).digest()
    return sodium.crypto_core_ed25519_add(
        sodium.crypto_core_ed25519_from_uniform(digest[:32]),
        sodium.crypto_core_ed25519_from_uniform(digest[32:]),
    )


def _scalar_from(seed: bytes) -> bytes:
    scalar = sodium.crypto_core_ed25519_scalar_reduce(seed)
    if scalar == bytes(32):  # probability 2^-252; a zero scalar would blind everything to 0
        raise PsiProtocolError("the PSI secret reduces to the zero scalar; use another one")
    return scalar


class PsiParty:
    """One side of the exchange: a secret scalar that blinds and re-blinds points.

    ``secret`` (at least 32 bytes) makes the scalar reproducible — for tests and for a
    party that must answer several requests with one key; without it the scalar is fresh
    random, which is what a one-off exchange should use.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        if secret is None:
            self._scalar = _scalar_from(os.urandom(64))
        else:
            if len(secret) < _MIN_SECRET_BYTES:
                raise PsiProtocolError(
                    f"a PSI secret must be at least {_MIN_SECRET_BYTES} random bytes "
                    f"(got {len(secret)}); or leave it out for a fresh random key"
                )
            self._scalar = _scalar_from(hashlib.sha512(_SCALAR_DOMAIN + secret).digest())

    def _mult(self, point: bytes, index: int) -> bytes:
        if len(point) != POINT_BYTES:
            raise InvalidPoint(
                f"point {index} has {len(point)} bytes, a group element has {POINT_BYTES}; "
                "the message is corrupt or not from this protocol"
            )
        try:
            return sodium.crypto_scalarmult_ed25519_noclamp(self._scalar, point)
        except sodium_errors.RuntimeError as exc:
            raise InvalidPoint(
                f"point {index} is not an element of the prime-order group (non-canonical, "
                "small order or outside the subgroup); the peer's message is rejected"
            ) from exc

    def blind(self, items: Iterable[bytes]) -> list[bytes]:
        """``[k·H(x) for x in items]`` in the order given."""
        return [self._mult(hash_to_group(item), i) for i, item in enumerate(items)]

    def reblind(self, points: Sequence[bytes]) -> list[bytes]:
        """``[k·P for P in points]`` in the order given; every point is validated."""
        return [self._mult(point, i) for i, point in enumerate(points)]


def _check_points(points: Sequence[bytes], what: str) -> None:
    for i, point in enumerate(points):
        if len(point) != POINT_BYTES or not sodium.crypto_core_ed25519_is_valid_point(point):
            raise InvalidPoint(
                f"{what} {i} is not an element of the prime-order group; "
                "the peer's message is rejected"
            )


@dataclass(frozen=True)
class PsiRequest:
    """Client → server: the client's blinded items, in the client's order."""

    points: tuple[bytes, ...]


@dataclass(frozen=True)
class PsiResponse:
    """Server → client: the request re-blinded (same order) and the server's set, shuffled."""

    reblinded: tuple[bytes, ...]
    server_points: tuple[bytes, ...]


class PsiServer:
    """Holds a set; answers one request.  Learns only ``client_set_size``."""

    def __init__(self, items: Iterable[bytes], *, secret: bytes | None = None) -> None:
        # duplicates would show as equal points and tell the client how often an item repeats
        self._items = list(dict.fromkeys(items))
        self._party = PsiParty(secret)
        self.client_set_size: int | None = None

    def respond(self, request: PsiRequest) -> PsiResponse:
        """Re-blind the client's points and send the server's own blinded set, shuffled."""
        reblinded = self._party.reblind(request.points)
        own = self._party.blind(self._items)
        secrets.SystemRandom().shuffle(own)
        self.client_set_size = len(request.points)
        return PsiResponse(tuple(reblinded), tuple(own))


class PsiClient:
    """Holds a set; learns which of its items the server also holds."""

    def __init__(self, items: Iterable[bytes], *, secret: bytes | None = None) -> None:
        self._items = list(items)
        self._party = PsiParty(secret)
        self.server_set_size: int | None = None

    def request(self) -> PsiRequest:
        """The first message: the client's items, blinded."""
        return PsiRequest(tuple(self._party.blind(self._items)))

    def intersection(self, response: PsiResponse) -> list[bytes]:
        """The client's items (in its order) that the server holds too."""
        if len(response.reblinded) != len(self._items):
            raise PsiProtocolError(
                f"the response re-blinds {len(response.reblinded)} points but the request "
                f"had {len(self._items)}; it does not answer this client's request"
            )
        _check_points(response.reblinded, "re-blinded point")
        theirs = set(self._party.reblind(response.server_points))
        self.server_set_size = len(response.server_points)
        return [x for x, p in zip(self._items, response.reblinded, strict=True) if p in theirs]


def intersect(client_items: Iterable[bytes], server_items: Iterable[bytes]) -> list[bytes]:
    """Run both sides of the protocol in one process; the client's items in the intersection."""
    client = PsiClient(client_items)
    server = PsiServer(server_items)
    return client.intersection(server.respond(client.request()))
