"""Organizations' public statements: recorded under the key's own organization, covered
by a signed checkpoint at once, provable — and refused when they are not well formed."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.ledger_api.conftest import LEDGER, Org, assert_problem, b64, signed_checkpoint
from tests.support.factories import bearer
from tsunagu.ledger import merkle, service
from tsunagu.ledger.entry import canonical

NOTICE = {
    "kind": "org.privacy_notice",
    "body": {"version": "2026-04", "url": "https://a.example/p"},
}


def post(client: TestClient, org: Org, payload: Any, **kwargs: Any) -> Any:
    return client.post(f"{LEDGER}/statements", json=payload, headers=org.headers, **kwargs)


def stored_entry(db: Session, index: int) -> dict[str, Any]:
    (data,) = service.get_entries(db, index, index, 1)
    entry: dict[str, Any] = json.loads(data)
    return entry


class TestPostStatement:
    def test_answers_201_with_index_and_leaf_hash(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        response = post(client, acme, NOTICE)
        assert response.status_code == 201
        body = response.json()
        assert body["leaf_index"] == 0
        (data,) = service.get_entries(db, 0, 0, 1)
        assert base64.b64decode(body["leaf_hash"]) == merkle.leaf_hash(data)

    def test_leaf_hash_is_standard_base64(self, client: TestClient, acme: Org) -> None:
        leaf_hash = post(client, acme, NOTICE).json()["leaf_hash"]
        assert b64(base64.b64decode(leaf_hash, validate=True)) == leaf_hash

    def test_entry_names_the_keys_organization_and_key(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        index = post(client, acme, NOTICE).json()["leaf_index"]
        entry = stored_entry(db, index)
        assert entry["org"] == "acme"
        assert entry["kind"] == "org.privacy_notice"
        assert entry["actor"].startswith("api_key:")
        assert entry["body"] == NOTICE["body"]

    def test_body_is_stored_canonicalised(self, client: TestClient, db: Session, acme: Org) -> None:
        body = {"z": 1, "a": {"y": [3, "日本"], "b": True}}
        index = post(client, acme, {"kind": "org.practice", "body": body}).json()["leaf_index"]
        (data,) = service.get_entries(db, index, index, 1)
        assert data == canonical(json.loads(data))
        assert b'"a":{"b":true,"y":[3,"\xe6\x97\xa5\xe6\x9c\xac"]}' in data

    def test_is_covered_by_a_checkpoint_at_once(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        answer = post(client, acme, NOTICE).json()
        latest = service.latest_checkpoint(db)
        assert latest is not None
        assert latest.size > answer["leaf_index"]

    def test_inclusion_proof_verifies_against_the_served_checkpoint(
        self, client: TestClient, acme: Org
    ) -> None:
        answers = [post(client, acme, NOTICE).json() for _ in range(3)]
        checkpoint, _ = signed_checkpoint(client)
        assert checkpoint.size > answers[-1]["leaf_index"]
        for answer in answers:
            response = client.get(
                f"{LEDGER}/get-proof-by-hash",
                params={"hash": answer["leaf_hash"], "tree_size": checkpoint.size},
            )
            proof = response.json()
            assert merkle.verify_inclusion(
                base64.b64decode(answer["leaf_hash"]),
                proof["leaf_index"],
                checkpoint.size,
                [base64.b64decode(p) for p in proof["audit_path"]],
                checkpoint.root,
            )

    @pytest.mark.usefixtures("globex")
    def test_organization_cannot_be_forged_in_the_body(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        forged = {"kind": "org.notice", "body": {"org": "globex"}, "org": "globex"}
        assert_problem(post(client, acme, forged), 422, "invalid_input")
        index = post(client, acme, {"kind": "org.notice", "body": {"org": "globex"}}).json()[
            "leaf_index"
        ]
        assert stored_entry(db, index)["org"] == "acme"

    def test_each_organization_records_under_its_own_slug(
        self, client: TestClient, db: Session, acme: Org, globex: Org
    ) -> None:
        first = post(client, acme, NOTICE).json()["leaf_index"]
        second = post(client, globex, NOTICE).json()["leaf_index"]
        assert stored_entry(db, first)["org"] == "acme"
        assert stored_entry(db, second)["org"] == "globex"


class TestPostStatementIsRefused:
    def test_without_a_key_with_401(self, client: TestClient) -> None:
        response = client.post(f"{LEDGER}/statements", json=NOTICE)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("role", ["member_key", "viewer_key"])
    def test_below_the_admin_role_with_403(
        self, client: TestClient, db: Session, acme: Org, role: str
    ) -> None:
        response = client.post(
            f"{LEDGER}/statements", json=NOTICE, headers=bearer(getattr(acme, role))
        )
        assert_problem(response, 403, "role_too_low")
        assert service.tree_size(db) == 0

    def test_over_16_kib_with_413(self, client: TestClient, db: Session, acme: Org) -> None:
        big = {"kind": "org.notice", "body": {"text": "x" * (16 * 1024)}}
        assert_problem(post(client, acme, big), 413, "payload_too_large")
        assert service.tree_size(db) == 0

    def test_just_under_16_kib_is_accepted(self, client: TestClient, acme: Org) -> None:
        overhead = len(json.dumps({"kind": "org.notice", "body": {"text": ""}}).encode())
        fits = {"kind": "org.notice", "body": {"text": "x" * (16 * 1024 - overhead)}}
        assert post(client, acme, fits).status_code == 201

    @pytest.mark.parametrize(
        "kind",
        [
            "consent.given",
            "org.",
            "org.Upper",
            "org.a.b",
            "organization.x",
            "org.x y",
            "",
            5,
            "org." + "x" * 61,
        ],
    )
    def test_kind_outside_org_namespace_with_422(
        self, client: TestClient, db: Session, acme: Org, kind: Any
    ) -> None:
        response = post(client, acme, {"kind": kind, "body": {}})
        assert_problem(response, 422, "invalid_input")
        assert service.tree_size(db) == 0

    @pytest.mark.parametrize(
        "payload",
        [
            {"kind": "org.notice"},
            {"body": {}},
            {"kind": "org.notice", "body": []},
            {"kind": "org.notice", "body": "text"},
            {"kind": "org.notice", "body": {}, "extra": 1},
            ["org.notice"],
        ],
    )
    def test_wrong_shape_with_422(self, client: TestClient, acme: Org, payload: Any) -> None:
        assert_problem(post(client, acme, payload), 422, "invalid_input")

    @pytest.mark.parametrize(
        "raw",
        [
            b'{"kind":"org.n","body":{"x":NaN}}',
            b'{"kind":"org.n","body":{"x":1e400}}',
            b'{"kind":"org.n","body":{"x":123456789012345678901234567890}}',
            b'{"kind":"org.n","body":{"x":"\\ud800"}}',
        ],
    )
    def test_values_without_a_canonical_form_with_422(
        self, client: TestClient, db: Session, acme: Org, raw: bytes
    ) -> None:
        response = client.post(
            f"{LEDGER}/statements",
            content=raw,
            headers={**acme.headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 422)
        assert service.tree_size(db) == 0

    def test_malformed_json_with_400(self, client: TestClient, acme: Org) -> None:
        response = client.post(
            f"{LEDGER}/statements",
            content=b'{"kind": "org.n",',
            headers={**acme.headers, "Content-Type": "application/json"},
        )
        assert_problem(response, 400)

    def test_deeply_nested_body_is_not_a_server_error(self, client: TestClient, acme: Org) -> None:
        raw = b'{"kind":"org.n","body":{"x":' + b"[" * 5000 + b"]" * 5000 + b"}}"
        response = client.post(
            f"{LEDGER}/statements",
            content=raw,
            headers={**acme.headers, "Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"] == "application/problem+json"
