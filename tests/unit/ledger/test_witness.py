"""The witness's decision (cosign, unchanged, refuse) and its state file — no network."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tsunagu.ledger import merkle
from tsunagu.ledger.note import ALG_COSIGNATURE_V1, Checkpoint, Signer, Verifier, alarm_message
from tsunagu.ledger.witness import (
    Verdict,
    WitnessError,
    WitnessHome,
    alarm_body,
    decide,
    needs_proof,
)

ORIGIN = "test.example/log"
LOG = Signer.from_seed(ORIGIN, bytes(range(32)))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def tree_of(leaves: list[bytes]) -> merkle.MemoryTree:
    tree = merkle.MemoryTree()
    for data in leaves:
        tree.append(merkle.leaf_hash(data))
    return tree


HONEST = tree_of([f"entry {i}".encode() for i in range(20)])
#: the same log with entry 3 rewritten
FORGED = tree_of([b"forged" if i == 3 else f"entry {i}".encode() for i in range(20)])


def checkpoint(tree: merkle.MemoryTree, size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, tree.root(size))


def consistency(tree: merkle.MemoryTree, first: int, second: int) -> list[bytes]:
    return merkle.consistency_proof(first, second, tree.node)


class TestDecide:
    def test_first_checkpoint_is_trusted_on_first_use(self) -> None:
        decision = decide(None, checkpoint(HONEST, 7))
        assert decision.verdict is Verdict.COSIGN
        assert "trusted on first use" in decision.reason

    def test_consistent_growth_is_cosigned(self) -> None:
        decision = decide((7, HONEST.root(7)), checkpoint(HONEST, 20), consistency(HONEST, 7, 20))
        assert decision.verdict is Verdict.COSIGN

    def test_growth_from_the_empty_tree_needs_no_proof(self) -> None:
        decision = decide((0, merkle.EMPTY_ROOT), checkpoint(HONEST, 5), [])
        assert decision.verdict is Verdict.COSIGN

    def test_same_checkpoint_is_unchanged(self) -> None:
        decision = decide((20, HONEST.root(20)), checkpoint(HONEST, 20))
        assert decision.verdict is Verdict.UNCHANGED

    def test_same_size_with_another_root_is_refused_as_a_fork(self) -> None:
        decision = decide((20, HONEST.root(20)), checkpoint(FORGED, 20))
        assert decision.verdict is Verdict.REFUSE
        assert "forked" in decision.reason

    def test_shrunk_log_is_refused(self) -> None:
        decision = decide((20, HONEST.root(20)), checkpoint(HONEST, 12))
        assert decision.verdict is Verdict.REFUSE
        assert "shrank" in decision.reason

    def test_rewritten_history_is_refused(self) -> None:
        # the forged log proves its own consistency, but not with what was cosigned
        decision = decide((7, HONEST.root(7)), checkpoint(FORGED, 20), consistency(FORGED, 7, 20))
        assert decision.verdict is Verdict.REFUSE
        assert "rewritten" in decision.reason

    def test_missing_proof_is_refused(self) -> None:
        decision = decide((7, HONEST.root(7)), checkpoint(HONEST, 20), None)
        assert decision.verdict is Verdict.REFUSE

    def test_truncated_proof_is_refused(self) -> None:
        proof = consistency(HONEST, 7, 20)[:-1]
        decision = decide((7, HONEST.root(7)), checkpoint(HONEST, 20), proof)
        assert decision.verdict is Verdict.REFUSE


class TestNeedsProof:
    @pytest.mark.parametrize(
        ("last_size", "size", "expected"),
        [(None, 5, False), (0, 5, False), (5, 5, False), (7, 5, False), (5, 7, True)],
    )
    def test_only_growth_from_a_nonempty_cosigned_tree_needs_a_proof(
        self, last_size: int | None, size: int, expected: bool
    ) -> None:
        assert needs_proof(last_size, Checkpoint(ORIGIN, size, bytes(32))) is expected


class TestWitnessHome:
    def test_init_keeps_the_seed_private(self, tmp_path: Path) -> None:
        home = WitnessHome(tmp_path / "w")
        home.init("witness.example/w1", LOG.vkey(), NOW)
        assert stat.S_IMODE(home.key_path.stat().st_mode) == 0o600

    def test_init_makes_a_cosignature_key(self, tmp_path: Path) -> None:
        signer = WitnessHome(tmp_path / "w").init("witness.example/w1", LOG.vkey(), NOW)
        assert Verifier.from_vkey(signer.vkey()).alg == ALG_COSIGNATURE_V1

    def test_init_refuses_to_overwrite_a_witness(self, tmp_path: Path) -> None:
        home = WitnessHome(tmp_path / "w")
        home.init("witness.example/w1", LOG.vkey(), NOW)
        with pytest.raises(WitnessError):
            home.init("witness.example/w1", LOG.vkey(), NOW)

    def test_init_refuses_a_witness_key_as_the_log_key(self, tmp_path: Path) -> None:
        other = Signer.from_seed("witness.example/w2", bytes(32), alg=ALG_COSIGNATURE_V1)
        with pytest.raises(WitnessError):
            WitnessHome(tmp_path / "w").init("witness.example/w1", other.vkey(), NOW)

    def test_state_survives_a_save_and_load(self, tmp_path: Path) -> None:
        home = WitnessHome(tmp_path / "w")
        home.init("witness.example/w1", LOG.vkey(), NOW)
        state = home.load()
        state.size, state.root = 20, base64.b64encode(HONEST.root(20)).decode()
        state.record_alarm("the log forked", NOW)
        home.save(state)
        assert home.load() == state
        assert sorted(p.name for p in home.path.iterdir()) == ["state.json", "witness.key"]

    def test_repeated_alarm_is_counted_once(self, tmp_path: Path) -> None:
        home = WitnessHome(tmp_path / "w")
        home.init("witness.example/w1", LOG.vkey(), NOW)
        state = home.load()
        state.record_alarm("the log forked", NOW)
        state.record_alarm("the log forked", NOW)
        assert [(a.detail, a.count) for a in state.alarms] == [("the log forked", 2)]


class TestAlarmBody:
    def test_alarm_is_signed_by_the_witness_key(self, tmp_path: Path) -> None:
        signer = WitnessHome(tmp_path / "w").init("witness.example/w1", LOG.vkey(), NOW)
        body = json.loads(alarm_body(signer, "the log forked"))
        verifier = Verifier.from_vkey(signer.vkey())
        assert body["witness"] == "witness.example/w1"
        assert verifier.verify(alarm_message("the log forked"), base64.b64decode(body["signature"]))
