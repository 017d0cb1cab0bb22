"""Reading the ledger over HTTP: the signed checkpoint, the key, entries and proofs — each
answer checked the way an auditor would, against the checkpoint and the published key."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.e2e.ledger_api.conftest import (
    LEDGER,
    Org,
    assert_problem,
    b64,
    fill,
    log_verifier,
    signed_checkpoint,
)
from tests.support.factories import bearer
from tsunagu.ledger import merkle
from tsunagu.ledger.models import LedgerEntry
from tsunagu.ledger.note import ALG_ED25519


def entries(client: TestClient, start: int, end: int, headers: dict[str, str]) -> list[bytes]:
    response = client.get(
        f"{LEDGER}/get-entries", params={"start": start, "end": end}, headers=headers
    )
    assert response.status_code == 200
    return [base64.b64decode(e["leaf_input"]) for e in response.json()["entries"]]


def inclusion(client: TestClient, leaf: bytes, size: int) -> dict[str, Any]:
    response = client.get(
        f"{LEDGER}/get-proof-by-hash", params={"hash": b64(leaf), "tree_size": size}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


class TestCheckpoint:
    def test_empty_log_has_a_signed_checkpoint_of_size_zero(self, client: TestClient) -> None:
        checkpoint, _ = signed_checkpoint(client)
        assert checkpoint.size == 0
        assert checkpoint.root == merkle.EMPTY_ROOT

    def test_is_plain_text(self, client: TestClient) -> None:
        response = client.get(f"{LEDGER}/checkpoint")
        assert response.headers["content-type"] == "text/plain; charset=utf-8"

    def test_covers_entries_appended_since_the_last_one(
        self, client: TestClient, db: Session
    ) -> None:
        fill(db, 3)
        assert signed_checkpoint(client)[0].size == 3
        fill(db, 2)
        checkpoint, _ = signed_checkpoint(client)
        assert checkpoint.size == 5
        assert checkpoint.root == merkle.root_from_leaf_hashes(
            [merkle.leaf_hash(e) for e in entries_of(db)]
        )

    def test_names_the_configured_origin(self, client: TestClient) -> None:
        checkpoint, _ = signed_checkpoint(client)
        assert checkpoint.origin == "localhost/tsunagu/ledger"


def entries_of(db: Session) -> list[bytes]:
    return list(db.scalars(select(LedgerEntry.leaf_input).order_by(LedgerEntry.seq)))


class TestKey:
    def test_is_the_ed25519_note_key_of_the_origin(self, client: TestClient) -> None:
        verifier = log_verifier(client)
        assert verifier.name == "localhost/tsunagu/ledger"
        assert verifier.alg == ALG_ED25519

    def test_is_plain_text(self, client: TestClient) -> None:
        response = client.get(f"{LEDGER}/key")
        assert response.headers["content-type"] == "text/plain; charset=utf-8"


class TestGetEntries:
    def test_entries_rebuild_the_signed_root(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        fill(db, 7)
        checkpoint, _ = signed_checkpoint(client)
        served = entries(client, 0, checkpoint.size - 1, acme.headers)
        assert len(served) == 7
        assert (
            merkle.root_from_leaf_hashes([merkle.leaf_hash(e) for e in served]) == checkpoint.root
        )

    def test_range_is_inclusive(self, client: TestClient, db: Session, acme: Org) -> None:
        fill(db, 5)
        assert len(entries(client, 1, 3, acme.headers)) == 3

    def test_page_is_capped_by_the_page_size(
        self, make_client: Any, db: Session, acme: Org
    ) -> None:
        fill(db, 5)
        small = make_client(ledger_page_size=2)
        assert len(entries(small, 0, 4, acme.headers)) == 2

    def test_end_beyond_the_tree_is_cut_to_its_size(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        fill(db, 3)
        assert len(entries(client, 0, 100, acme.headers)) == 3

    @pytest.mark.parametrize("role", ["viewer_key", "member_key"])
    def test_any_role_of_an_organization_may_read(
        self, client: TestClient, db: Session, acme: Org, role: str
    ) -> None:
        fill(db, 1)
        assert len(entries(client, 0, 0, bearer(getattr(acme, role)))) == 1

    def test_needs_an_api_key_by_default(self, client: TestClient, db: Session) -> None:
        fill(db, 1)
        response = client.get(f"{LEDGER}/get-entries", params={"start": 0, "end": 0})
        assert_problem(response, 401)

    def test_unknown_key_is_rejected(self, client: TestClient, db: Session) -> None:
        fill(db, 1)
        response = client.get(
            f"{LEDGER}/get-entries",
            params={"start": 0, "end": 0},
            headers=bearer("tsk_" + "x" * 43),
        )
        assert_problem(response, 401)

    def test_anyone_may_read_when_entries_are_public(self, make_client: Any, db: Session) -> None:
        fill(db, 2)
        public = make_client(ledger_public_entries=True)
        assert len(entries(public, 0, 1, {})) == 2

    def test_start_beyond_the_tree_is_a_problem(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        fill(db, 2)
        response = client.get(
            f"{LEDGER}/get-entries", params={"start": 2, "end": 5}, headers=acme.headers
        )
        assert_problem(response, 422, "proof_not_available")

    @pytest.mark.parametrize(
        "params",
        [
            {"start": 3, "end": 1},
            {"start": -1, "end": 1},
            {"start": "x", "end": 1},
            {"start": 0},
            {"start": 0, "end": 10**30},
        ],
    )
    def test_bad_range_is_a_problem(
        self, client: TestClient, db: Session, acme: Org, params: dict[str, Any]
    ) -> None:
        fill(db, 5)
        response = client.get(f"{LEDGER}/get-entries", params=params, headers=acme.headers)
        assert_problem(response, 422)


class TestGetProofByHash:
    def test_every_entry_has_a_proof_that_verifies(self, client: TestClient, db: Session) -> None:
        appended = fill(db, 11)
        checkpoint, _ = signed_checkpoint(client)
        for entry in appended:
            proof = inclusion(client, entry.leaf_hash, checkpoint.size)
            assert proof["leaf_index"] == entry.index
            path = [base64.b64decode(p) for p in proof["audit_path"]]
            assert merkle.verify_inclusion(
                entry.leaf_hash, entry.index, checkpoint.size, path, checkpoint.root
            )

    def test_proof_for_an_older_tree_size_verifies_against_that_root(
        self, client: TestClient, db: Session
    ) -> None:
        first = fill(db, 3)
        old, _ = signed_checkpoint(client)
        fill(db, 6)
        signed_checkpoint(client)
        proof = inclusion(client, first[1].leaf_hash, old.size)
        path = [base64.b64decode(p) for p in proof["audit_path"]]
        assert merkle.verify_inclusion(first[1].leaf_hash, 1, old.size, path, old.root)

    def test_unencoded_plus_in_the_query_is_accepted(self, client: TestClient, db: Session) -> None:
        appended = fill(db, 40)
        size = signed_checkpoint(client)[0].size
        for entry in (a for a in appended if "+" in b64(a.leaf_hash)):
            response = client.get(
                f"{LEDGER}/get-proof-by-hash?hash={b64(entry.leaf_hash)}&tree_size={size}"
            )
            assert response.status_code == 200
            assert response.json()["leaf_index"] == entry.index

    def test_is_public(self, client: TestClient, db: Session) -> None:
        appended = fill(db, 1)
        signed_checkpoint(client)
        assert inclusion(client, appended[0].leaf_hash, 1)["audit_path"] == []

    def test_unknown_hash_is_a_404_problem(self, client: TestClient, db: Session) -> None:
        fill(db, 2)
        signed_checkpoint(client)
        response = client.get(
            f"{LEDGER}/get-proof-by-hash", params={"hash": b64(bytes(32)), "tree_size": 2}
        )
        assert_problem(response, 404, "leaf_not_found")

    def test_entry_beyond_the_tree_size_is_a_404_problem(
        self, client: TestClient, db: Session
    ) -> None:
        appended = fill(db, 3)
        signed_checkpoint(client)
        response = client.get(
            f"{LEDGER}/get-proof-by-hash",
            params={"hash": b64(appended[2].leaf_hash), "tree_size": 2},
        )
        assert_problem(response, 404, "leaf_not_found")

    def test_tree_size_beyond_the_latest_checkpoint_is_a_problem(
        self, client: TestClient, db: Session
    ) -> None:
        appended = fill(db, 2)
        signed_checkpoint(client)
        fill(db, 2)  # not yet covered by a checkpoint
        response = client.get(
            f"{LEDGER}/get-proof-by-hash",
            params={"hash": b64(appended[0].leaf_hash), "tree_size": 4},
        )
        body = assert_problem(response, 422, "proof_not_available")
        assert "checkpoint" in body["detail"]

    @pytest.mark.parametrize(
        ("hash_value", "status"),
        [
            ("not base64!", 400),
            (b64(bytes(31)), 400),
            (b64(bytes(33)), 400),
            ("AAAA====", 400),
            ("A" * 200, 422),
        ],
    )
    def test_malformed_hash_is_a_problem(
        self, client: TestClient, db: Session, hash_value: str, status: int
    ) -> None:
        fill(db, 1)
        signed_checkpoint(client)
        response = client.get(
            f"{LEDGER}/get-proof-by-hash", params={"hash": hash_value, "tree_size": 1}
        )
        assert_problem(response, status)

    @pytest.mark.parametrize("params", [{"tree_size": 1}, {"hash": b64(bytes(32))}])
    def test_missing_parameter_is_a_422_problem(
        self, client: TestClient, params: dict[str, Any]
    ) -> None:
        response = client.get(f"{LEDGER}/get-proof-by-hash", params=params)
        assert_problem(response, 422, "invalid_input")

    @pytest.mark.parametrize("size", ["0", "-1", "x", str(2**64)])
    def test_bad_tree_size_is_a_422_problem(self, client: TestClient, size: str) -> None:
        response = client.get(
            f"{LEDGER}/get-proof-by-hash", params={"hash": b64(bytes(32)), "tree_size": size}
        )
        assert_problem(response, 422)


class TestGetSthConsistency:
    def test_every_pair_of_published_sizes_has_a_proof_that_verifies(
        self, client: TestClient, db: Session
    ) -> None:
        checkpoints = []
        for batch in (1, 2, 4, 1, 5):
            fill(db, batch)
            checkpoints.append(signed_checkpoint(client)[0])
        for old in checkpoints:
            for new in checkpoints:
                if old.size > new.size:
                    continue
                response = client.get(
                    f"{LEDGER}/get-sth-consistency",
                    params={"first": old.size, "second": new.size},
                )
                assert response.status_code == 200
                proof = [base64.b64decode(p) for p in response.json()["consistency"]]
                assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)

    def test_is_public(self, client: TestClient, db: Session) -> None:
        fill(db, 3)
        signed_checkpoint(client)
        response = client.get(f"{LEDGER}/get-sth-consistency", params={"first": 3, "second": 3})
        assert response.json() == {"consistency": []}

    def test_first_larger_than_second_is_a_problem(self, client: TestClient, db: Session) -> None:
        fill(db, 4)
        signed_checkpoint(client)
        response = client.get(f"{LEDGER}/get-sth-consistency", params={"first": 3, "second": 2})
        assert_problem(response, 422, "proof_not_available")

    def test_second_beyond_the_latest_checkpoint_is_a_problem(
        self, client: TestClient, db: Session
    ) -> None:
        fill(db, 4)
        signed_checkpoint(client)
        response = client.get(f"{LEDGER}/get-sth-consistency", params={"first": 1, "second": 5})
        assert_problem(response, 422, "proof_not_available")

    @pytest.mark.parametrize(
        "params",
        [
            {"first": 1},
            {"first": "a", "second": 2},
            {"first": -2, "second": 2},
            {"first": 1, "second": 2**63},
        ],
    )
    def test_bad_parameters_are_a_422_problem(
        self, client: TestClient, params: dict[str, Any]
    ) -> None:
        response = client.get(f"{LEDGER}/get-sth-consistency", params=params)
        assert_problem(response, 422, "invalid_input")
