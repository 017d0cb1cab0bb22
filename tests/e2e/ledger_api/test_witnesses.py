"""Witnesses over HTTP: registration by an organization, cosignatures that make a
checkpoint confirmed, signed alarms, and the ledger status that shows all of it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.ledger_api.conftest import (
    LEDGER,
    Org,
    assert_problem,
    b64,
    fill,
    signed_checkpoint,
    witness_signer,
)
from tests.support.factories import bearer
from tsunagu.ledger import service
from tsunagu.ledger.note import Signature, Signer, alarm_message, cosign, parse_note

WITNESS = witness_signer()
STRANGER = witness_signer("witness.example/stranger", seed=7)
TIME = 1_790_000_000


def register(client: TestClient, org: Org, witness: Signer = WITNESS) -> Any:
    return client.post(f"{LEDGER}/witnesses", json={"vkey": witness.vkey()}, headers=org.headers)


def cosigned(note: str, *witnesses: Signer) -> str:
    """``note`` with a cosignature line of each witness appended."""
    text = parse_note(note).text
    return note + "".join(cosign(text, w, TIME).line() for w in witnesses)


def post_cosigned(client: TestClient, note: str) -> Any:
    return client.post(
        f"{LEDGER}/cosignatures", content=note.encode(), headers={"Content-Type": "text/plain"}
    )


def alarm(witness: Signer, detail: str, name: str | None = None) -> dict[str, str]:
    signature = witness.private_key.sign(alarm_message(detail))
    return {"witness": name or witness.name, "detail": detail, "signature": b64(signature)}


class TestRegisterWitness:
    def test_admin_registers_a_witness_key(self, client: TestClient, acme: Org) -> None:
        response = register(client, acme)
        assert response.status_code == 201
        body = response.json()
        assert body["name"] == WITNESS.name
        assert body["vkey"] == WITNESS.vkey()
        assert body["last_cosigned_size"] is None

    def test_witness_appears_in_the_public_list(self, client: TestClient, acme: Org) -> None:
        register(client, acme)
        listed = client.get(f"{LEDGER}/witnesses")
        assert listed.status_code == 200
        assert [w["name"] for w in listed.json()] == [WITNESS.name]

    def test_same_organization_may_register_again(self, client: TestClient, acme: Org) -> None:
        register(client, acme)
        assert register(client, acme).status_code == 201
        assert len(client.get(f"{LEDGER}/witnesses").json()) == 1

    def test_another_organization_cannot_take_the_name(
        self, client: TestClient, acme: Org, globex: Org
    ) -> None:
        register(client, acme)
        impostor = Signer.from_seed(WITNESS.name, bytes([3]) * 32, alg=WITNESS.alg)
        assert_problem(register(client, globex, impostor), 409, "witness_name_taken")
        (listed,) = client.get(f"{LEDGER}/witnesses").json()
        assert listed["vkey"] == WITNESS.vkey()

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        response = client.post(f"{LEDGER}/witnesses", json={"vkey": WITNESS.vkey()})
        assert_problem(response, 401)

    @pytest.mark.parametrize("role", ["member_key", "viewer_key"])
    def test_below_admin_is_403(self, client: TestClient, acme: Org, role: str) -> None:
        response = client.post(
            f"{LEDGER}/witnesses",
            json={"vkey": WITNESS.vkey()},
            headers=bearer(getattr(acme, role)),
        )
        assert_problem(response, 403, "role_too_low")

    def test_note_signing_key_is_refused(self, client: TestClient, acme: Org) -> None:
        note_key = Signer.from_seed("witness.example/w2", bytes([4]) * 32)
        assert_problem(register(client, acme, note_key), 422, "cosignature_rejected")

    @pytest.mark.parametrize(
        "vkey",
        ["", "garbage", "a+b+c", "x" * 401, WITNESS.vkey().replace("+", "+0", 1)],
    )
    def test_malformed_key_is_a_422_problem(self, client: TestClient, acme: Org, vkey: str) -> None:
        response = client.post(f"{LEDGER}/witnesses", json={"vkey": vkey}, headers=acme.headers)
        assert_problem(response, 422)

    def test_overlong_name_is_a_422_problem(self, client: TestClient, acme: Org) -> None:
        long_name = witness_signer("w" * 300)
        assert_problem(register(client, acme, long_name), 422, "cosignature_rejected")

    def test_unknown_field_is_a_422_problem(self, client: TestClient, acme: Org) -> None:
        response = client.post(
            f"{LEDGER}/witnesses",
            json={"vkey": WITNESS.vkey(), "organization": "globex"},
            headers=acme.headers,
        )
        assert_problem(response, 422, "invalid_input")


class TestCosignatures:
    def test_round_trip_confirms_the_checkpoint(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        fill(db, 4)
        checkpoint, note = signed_checkpoint(client)
        response = post_cosigned(client, cosigned(note, WITNESS))
        assert response.status_code == 200
        assert response.json() == {
            "checkpoint_size": checkpoint.size,
            "cosignatures": 1,
            "confirmed": True,
        }

    def test_checkpoint_then_carries_the_cosignature_line(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        fill(db, 2)
        _, note = signed_checkpoint(client)
        post_cosigned(client, cosigned(note, WITNESS))
        _, served = signed_checkpoint(client)
        names = [s.name for s in parse_note(served).signatures]
        assert names == ["localhost/tsunagu/ledger", WITNESS.name]

    def test_witness_list_shows_what_it_cosigned(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        fill(db, 3)
        _, note = signed_checkpoint(client)
        post_cosigned(client, cosigned(note, WITNESS))
        (listed,) = client.get(f"{LEDGER}/witnesses").json()
        assert listed["last_cosigned_size"] == 3
        assert listed["last_cosigned_at"] is not None

    def test_status_shows_the_confirmed_size(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        fill(db, 3)
        _, note = signed_checkpoint(client)
        post_cosigned(client, cosigned(note, WITNESS))
        fill(db, 2)
        signed_checkpoint(client)
        status = client.get(f"{LEDGER}/status", headers=acme.headers).json()
        assert status["size"] == 5
        assert status["checkpoint_size"] == 5
        assert status["confirmed_size"] == 3
        assert status["witnesses"][0]["last_cosigned_size"] == 3

    def test_quorum_of_two_needs_two_witnesses(
        self, make_client: Any, db: Session, acme: Org
    ) -> None:
        client = make_client(ledger_quorum=2)
        second = witness_signer("witness.example/w2", seed=11)
        register(client, acme)
        register(client, acme, second)
        fill(db, 2)
        _, note = signed_checkpoint(client)
        first_answer = post_cosigned(client, cosigned(note, WITNESS)).json()
        assert first_answer["confirmed"] is False
        both = post_cosigned(client, cosigned(note, second)).json()
        assert both == {"checkpoint_size": 2, "cosignatures": 2, "confirmed": True}
        status = client.get(f"{LEDGER}/status", headers=acme.headers).json()
        assert (status["quorum"], status["confirmed_size"]) == (2, 2)

    def test_posting_twice_counts_the_witness_once(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        fill(db, 1)
        _, note = signed_checkpoint(client)
        post_cosigned(client, cosigned(note, WITNESS))
        again = post_cosigned(client, cosigned(note, WITNESS))
        assert again.json()["cosignatures"] == 1

    def test_unregistered_witness_is_a_422_problem(self, client: TestClient, db: Session) -> None:
        fill(db, 1)
        _, note = signed_checkpoint(client)
        response = post_cosigned(client, cosigned(note, STRANGER))
        assert_problem(response, 422, "cosignature_rejected")

    def test_bad_signature_is_a_422_problem(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        fill(db, 1)
        _, note = signed_checkpoint(client)
        line = cosign(parse_note(note).text, WITNESS, TIME)
        flipped = line.signature[:-1] + bytes([line.signature[-1] ^ 1])
        forged = Signature(line.name, line.key_id, flipped)
        response = post_cosigned(client, note + forged.line())
        assert_problem(response, 422, "cosignature_rejected")

    def test_checkpoint_the_log_never_signed_is_refused(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        fill(db, 2)
        _, note = signed_checkpoint(client)
        origin, size, _root = parse_note(note).text.splitlines()
        rewritten = f"{origin}\n{size}\n{b64(bytes(32))}\n\n" + note.split("\n\n", 1)[1]
        response = post_cosigned(client, cosigned(rewritten, WITNESS))
        assert_problem(response, 422, "cosignature_rejected")

    def test_unknown_checkpoint_size_is_a_404_problem(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        fill(db, 2)
        _, note = signed_checkpoint(client)
        origin, _size, root = parse_note(note).text.splitlines()
        other = f"{origin}\n7\n{root}\n\n" + note.split("\n\n", 1)[1]
        response = post_cosigned(client, cosigned(other, WITNESS))
        assert_problem(response, 404, "checkpoint_not_found")

    @pytest.mark.parametrize(
        "body",
        [b"", b"hello", b"\xff\xfe", b"origin\n1\nAAAA\n\n\xe2\x80\x94 x y\n"],
    )
    def test_malformed_note_is_a_422_problem(self, client: TestClient, body: bytes) -> None:
        response = client.post(
            f"{LEDGER}/cosignatures", content=body, headers={"Content-Type": "text/plain"}
        )
        assert_problem(response, 422)

    def test_oversized_note_is_a_413_problem(self, client: TestClient) -> None:
        response = post_cosigned(client, "x" * (64 * 1024 + 1))
        assert_problem(response, 413, "payload_too_large")


class TestAlarms:
    def test_registered_witness_raises_a_signed_alarm(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        response = client.post(
            f"{LEDGER}/alarms", json=alarm(WITNESS, "size 5 root differs from the one I saw")
        )
        assert response.status_code == 201
        assert response.json()["source"] == f"witness:{WITNESS.name}"
        (stored,) = service.recent_alarms(db)
        assert stored.detail == "size 5 root differs from the one I saw"

    def test_alarm_shows_in_the_status(self, client: TestClient, acme: Org) -> None:
        register(client, acme)
        client.post(f"{LEDGER}/alarms", json=alarm(WITNESS, "fork at 9"))
        status = client.get(f"{LEDGER}/status", headers=acme.headers).json()
        assert [a["detail"] for a in status["alarms"]] == ["fork at 9"]

    def test_signature_by_another_key_is_refused(
        self, client: TestClient, db: Session, acme: Org
    ) -> None:
        register(client, acme)
        forged = alarm(STRANGER, "the log forked", name=WITNESS.name)
        response = client.post(f"{LEDGER}/alarms", json=forged)
        assert_problem(response, 422, "alarm_rejected")
        assert service.recent_alarms(db) == []

    def test_signature_over_another_detail_is_refused(self, client: TestClient, acme: Org) -> None:
        register(client, acme)
        signed = alarm(WITNESS, "a")
        signed["detail"] = "b"
        assert_problem(client.post(f"{LEDGER}/alarms", json=signed), 422, "alarm_rejected")

    def test_unregistered_witness_is_refused(self, client: TestClient) -> None:
        response = client.post(f"{LEDGER}/alarms", json=alarm(STRANGER, "the log forked"))
        assert_problem(response, 422, "alarm_rejected")

    @pytest.mark.parametrize(
        "change",
        [
            {"signature": "not base64!"},
            {"signature": b64(b"short")},
            {"detail": ""},
            {"detail": "x" * 4001},
            {"detail": "nul\x00byte"},
            {"extra": "field"},
        ],
    )
    def test_malformed_alarm_is_a_422_problem(
        self, client: TestClient, acme: Org, change: dict[str, str]
    ) -> None:
        register(client, acme)
        assert_problem(
            client.post(f"{LEDGER}/alarms", json={**alarm(WITNESS, "fork"), **change}), 422
        )


class TestStatus:
    def test_describes_an_empty_ledger(self, client: TestClient, acme: Org) -> None:
        response = client.get(f"{LEDGER}/status", headers=acme.headers)
        assert response.status_code == 200
        assert response.json() == {
            "size": 0,
            "checkpoint_size": None,
            "checkpoint_at": None,
            "confirmed_size": None,
            "confirmed_at": None,
            "quorum": 1,
            "witnesses": [],
            "alarms": [],
        }

    def test_viewer_key_may_read_it(self, client: TestClient, db: Session, acme: Org) -> None:
        fill(db, 2)
        signed_checkpoint(client)
        status = client.get(f"{LEDGER}/status", headers=bearer(acme.viewer_key)).json()
        assert (status["size"], status["checkpoint_size"]) == (2, 2)

    def test_needs_an_api_key(self, client: TestClient) -> None:
        assert_problem(client.get(f"{LEDGER}/status"), 401)
