"""ECDH private set intersection: the right intersection, keys that matter, points checked.

The intersection is compared with Python's set intersection on random sets (hypothesis);
received points that are not elements of the prime-order group are refused.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl import bindings as sodium

from tsunagu.linkage.psi import (
    InvalidPoint,
    PsiClient,
    PsiParty,
    PsiProtocolError,
    PsiRequest,
    PsiResponse,
    PsiServer,
    hash_to_group,
    intersect,
)

KEY_A = b"a" * 32
KEY_B = b"b" * 32
#: the point (0, -1), of order 2
SMALL_ORDER = bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
#: a curve point outside the prime-order subgroup: H(x) plus the order-2 point
MIXED = sodium.crypto_core_ed25519_add(hash_to_group(b"x"), SMALL_ORDER)
NOT_ON_CURVE = bytes(31) + b"\x01"

item_sets = st.sets(st.binary(min_size=0, max_size=6), max_size=25)


class TestIntersection:
    @given(client=item_sets, server=item_sets)
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_equals_the_set_intersection(self, client: set[bytes], server: set[bytes]) -> None:
        assert set(intersect(client, server)) == client & server

    def test_keeps_the_clients_order(self) -> None:
        client = [b"c", b"a", b"b", b"z"]
        assert intersect(client, [b"a", b"b", b"c"]) == [b"c", b"a", b"b"]

    def test_of_disjoint_sets_is_empty(self) -> None:
        assert intersect([b"a", b"b"], [b"c", b"d"]) == []

    def test_client_learns_the_server_set_size(self) -> None:
        client, server = PsiClient([b"a"]), PsiServer([b"a", b"b", b"c"])
        client.intersection(server.respond(client.request()))
        assert client.server_set_size == 3

    def test_server_learns_the_client_set_size(self) -> None:
        client, server = PsiClient([b"a", b"b"]), PsiServer([b"a"])
        server.respond(client.request())
        assert server.client_set_size == 2

    def test_server_set_is_shuffled(self) -> None:
        items = [f"member{i}".encode() for i in range(20)]
        response = PsiServer(items, secret=KEY_B).respond(PsiClient([b"a"]).request())
        in_order = PsiParty(KEY_B).blind(items)
        assert sorted(response.server_points) == sorted(in_order)
        assert list(response.server_points) != in_order  # same order: probability 1/20!

    def test_server_duplicates_are_not_revealed(self) -> None:
        client, server = PsiClient([b"a"]), PsiServer([b"a", b"a", b"b"])
        response = server.respond(client.request())
        assert len(response.server_points) == 2


class TestBlinding:
    def test_the_same_item_blinds_differently_under_different_keys(self) -> None:
        assert PsiParty(KEY_A).blind([b"x"]) != PsiParty(KEY_B).blind([b"x"])

    def test_the_same_key_blinds_the_same_item_alike(self) -> None:
        assert PsiParty(KEY_A).blind([b"x"]) == PsiParty(KEY_A).blind([b"x"])

    def test_fresh_random_keys_differ(self) -> None:
        assert PsiParty().blind([b"x"]) != PsiParty().blind([b"x"])

    def test_blinding_commutes(self) -> None:
        a, b = PsiParty(KEY_A), PsiParty(KEY_B)
        assert b.reblind(a.blind([b"x"])) == a.reblind(b.blind([b"x"]))

    def test_a_blinded_point_is_not_the_hashed_item(self) -> None:
        assert PsiParty(KEY_A).blind([b"x"]) != [hash_to_group(b"x")]

    def test_hash_to_group_lands_in_the_prime_order_group(self) -> None:
        assert sodium.crypto_core_ed25519_is_valid_point(hash_to_group(b"anything"))

    def test_rejects_a_short_secret(self) -> None:
        with pytest.raises(PsiProtocolError, match="at least 32"):
            PsiParty(b"short")


class TestPointValidation:
    @pytest.mark.parametrize(
        "point",
        [SMALL_ORDER, MIXED, NOT_ON_CURVE, b"\x00" * 32],
        ids=["small-order", "outside-subgroup", "not-on-curve", "identity-like"],
    )
    def test_reblind_rejects_an_invalid_point(self, point: bytes) -> None:
        with pytest.raises(InvalidPoint, match="point 1 is not an element"):
            PsiParty(KEY_A).reblind([hash_to_group(b"ok"), point])

    def test_reblind_rejects_a_point_of_the_wrong_length(self) -> None:
        with pytest.raises(InvalidPoint, match="has 31 bytes"):
            PsiParty(KEY_A).reblind([b"\x01" * 31])

    def test_server_refuses_a_request_with_an_invalid_point(self) -> None:
        with pytest.raises(InvalidPoint):
            PsiServer([b"a"]).respond(PsiRequest((SMALL_ORDER,)))

    def test_client_refuses_an_invalid_reblinded_point(self) -> None:
        client = PsiClient([b"a"])
        client.request()
        with pytest.raises(InvalidPoint, match="re-blinded point 0"):
            client.intersection(PsiResponse((MIXED,), ()))

    def test_client_refuses_an_invalid_server_point(self) -> None:
        client, server = PsiClient([b"a"]), PsiServer([b"a"])
        good = server.respond(client.request())
        with pytest.raises(InvalidPoint):
            client.intersection(PsiResponse(good.reblinded, (SMALL_ORDER,)))

    def test_client_refuses_a_response_to_another_request(self) -> None:
        client = PsiClient([b"a", b"b"])
        other = PsiServer([b"a"]).respond(PsiClient([b"a"]).request())
        with pytest.raises(PsiProtocolError, match="does not answer"):
            client.intersection(other)
