"""The Merkle core against RFC 9162 and the transparency-dev reference vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
# roots of every prefix of the reference tree, as published with RFC 6962 test data
REFERENCE_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def naive_root(leaves: list[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(naive_root(leaves[:k]), naive_root(leaves[k:]))


def build(n: int) -> tuple[MemoryTree, list[bytes]]:
    tree = MemoryTree()
    entries = [i.to_bytes(4, "big") for i in range(n)]
    for e in entries:
        tree.append(leaf_hash(e))
    return tree, entries


class TestReferenceTree:
    def test_every_prefix_has_the_published_root(self) -> None:
        tree = MemoryTree()
        for leaf, expected in zip(REFERENCE_LEAVES, REFERENCE_ROOTS, strict=True):
            tree.append(leaf_hash(leaf))
            assert tree.root().hex() == expected

    def test_root_from_leaf_hashes_matches(self) -> None:
        hashes = [leaf_hash(leaf) for leaf in REFERENCE_LEAVES]
        assert root_from_leaf_hashes(hashes).hex() == REFERENCE_ROOTS[-1]

    def test_empty_tree_root_is_hash_of_nothing(self) -> None:
        assert EMPTY_ROOT.hex() == (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        assert root_from_leaf_hashes([]) == EMPTY_ROOT

    def test_known_inclusion_proof_of_leaf_0_in_8(self) -> None:
        tree = MemoryTree()
        for leaf in REFERENCE_LEAVES:
            tree.append(leaf_hash(leaf))
        proof = inclusion_proof(0, 8, tree.node)
        assert [p.hex() for p in proof] == [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]

    def test_known_consistency_proof_from_4_to_8(self) -> None:
        tree = MemoryTree()
        for leaf in REFERENCE_LEAVES:
            tree.append(leaf_hash(leaf))
        proof = consistency_proof(4, 8, tree.node)
        assert [p.hex() for p in proof] == [
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
        ]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=3000))
def test_roots_match_the_naive_definition(n: int) -> None:
    tree, entries = build(n)
    assert tree.root() == naive_root(entries)
    assert root_from_leaf_hashes(tree.levels[0]) == naive_root(entries)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_every_inclusion_proof_verifies(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=2000))
    tree, _ = build(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    sub = data.draw(st.integers(min_value=index + 1, max_value=size))
    proof = inclusion_proof(index, sub, tree.node)
    assert verify_inclusion(tree.node(0, index), index, sub, proof, tree.root(sub))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_every_consistency_proof_verifies(data: st.DataObject) -> None:
    second = data.draw(st.integers(min_value=0, max_value=2000))
    first = data.draw(st.integers(min_value=0, max_value=second))
    tree, _ = build(second)
    proof = consistency_proof(first, second, tree.node)
    assert verify_consistency(first, second, tree.root(first), tree.root(second), proof)


def _mutations(proof: list[bytes]) -> list[list[bytes]]:
    out: list[list[bytes]] = []
    for i, p in enumerate(proof):
        for bit in (0, 7, 255):
            flipped = bytearray(p)
            flipped[bit // 8] ^= 1 << (bit % 8)
            out.append([*proof[:i], bytes(flipped), *proof[i + 1 :]])
    if proof:
        out.append(proof[:-1])
        out.append(proof[1:])
    out.append([*proof, bytes(32)])
    out.append([bytes(32), *proof])
    return out


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_tampered_inclusion_proofs_are_rejected(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=2, max_value=600))
    tree, _ = build(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = inclusion_proof(index, size, tree.node)
    root = tree.root()
    leaf = tree.node(0, index)
    for bad in _mutations(proof):
        assert not verify_inclusion(leaf, index, size, bad, root)
    other = (index + 1) % size
    assert not verify_inclusion(leaf, other, size, proof, root)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_tampered_consistency_proofs_are_rejected(data: st.DataObject) -> None:
    second = data.draw(st.integers(min_value=2, max_value=600))
    first = data.draw(st.integers(min_value=1, max_value=second - 1))
    tree, _ = build(second)
    proof = consistency_proof(first, second, tree.node)
    r1, r2 = tree.root(first), tree.root(second)
    for bad in _mutations(proof):
        assert not verify_consistency(first, second, r1, r2, bad)
    assert not verify_consistency(first, second, r2, r1, proof)


class TestEdgeCases:
    def test_equal_sizes_need_an_empty_proof_and_equal_roots(self) -> None:
        tree, _ = build(5)
        assert verify_consistency(5, 5, tree.root(), tree.root(), [])
        assert not verify_consistency(5, 5, tree.root(), tree.root(4), [])
        assert not verify_consistency(5, 5, tree.root(), tree.root(), [tree.root()])

    def test_consistency_from_the_empty_tree_is_empty(self) -> None:
        tree, _ = build(3)
        assert consistency_proof(0, 3, tree.node) == []
        assert verify_consistency(0, 3, EMPTY_ROOT, tree.root(), [])

    def test_proof_for_a_leaf_outside_the_tree_is_refused(self) -> None:
        tree, _ = build(3)
        with pytest.raises(ProofError):
            inclusion_proof(3, 3, tree.node)

    def test_consistency_backwards_is_refused(self) -> None:
        tree, _ = build(3)
        with pytest.raises(ProofError):
            consistency_proof(3, 2, tree.node)

    def test_single_leaf_tree_has_an_empty_inclusion_proof(self) -> None:
        tree, _ = build(1)
        assert inclusion_proof(0, 1, tree.node) == []
        assert verify_inclusion(tree.node(0, 0), 0, 1, [], tree.root())

    def test_inclusion_proof_is_at_most_32_log2_n_bytes(self) -> None:
        tree, _ = build(1000)
        for index in range(1000):
            assert len(inclusion_proof(index, 1000, tree.node)) * 32 <= 32 * 10

    def test_consistency_proof_is_at_most_one_hash_over_log2_n(self) -> None:
        # RFC 9162 §2.1.4.1: a consistency proof may need ceil(log2 n) + 1 hashes
        tree, _ = build(1000)
        longest = max(len(consistency_proof(m, 1000, tree.node)) for m in range(1, 1000))
        assert longest == 11
