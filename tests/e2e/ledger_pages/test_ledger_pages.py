"""The ledger's pages through HTTP (TestClient, SQLite and PostgreSQL): "who used my data"
in the personal portal, its proofs, and the staff console's ledger page."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.ledger_pages.conftest import BULK_OTHERS, LedgerWorld
from tests.e2e.pages.conftest import sign_in_person, sign_in_staff
from tsunagu.core.settings import Settings
from tsunagu.identity import service as identity
from tsunagu.ledger import merkle
from tsunagu.ledger import service as ledger
from tsunagu.ledger.entry import b64, pseudonym
from tsunagu.ledger.note import (
    ALG_COSIGNATURE_V1,
    Signer,
    Verifier,
    cosign,
    open_checkpoint,
)

EN = {"Accept-Language": "en"}


def _decode(hashes: list[str]) -> list[bytes]:
    return [base64.b64decode(h) for h in hashes]


class TestPortalLedgerPage:
    def test_anonymous_visitor_is_sent_to_the_portal_sign_in(self, client: TestClient) -> None:
        response = client.get("/portal/ledger", follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"] == "/portal/signin"

    def test_staff_cannot_open_it(self, client: TestClient, ledger_world: LedgerWorld) -> None:
        sign_in_staff(client, ledger_world.admin.email)

        response = client.get("/portal/ledger", follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"] == "/portal/signin"

    def test_shows_the_persons_entries_in_japanese(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        html = client.get("/portal/ledger").text

        assert "データの利用履歴" in html
        assert "つなぐ商店" in html
        assert "同意しました" in html
        assert "あなたのデータが閲覧されました（許可）" in html
        assert "あなたに合わせたご案内" in html
        assert "購買履歴" in html

    def test_shows_the_persons_entries_in_english(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        html = client.get("/portal/ledger", headers=EN).text

        assert "Who used my data" in html
        assert "Consent given" in html
        assert "Your data was read (allowed)" in html
        assert "Personalised offers" in html

    def test_lists_newest_first_with_a_badge_per_entry(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        html = client.get("/portal/ledger").text

        assert html.count("data-badge>") == 4
        positions = [html.index(f'data-leaf-index="{i}"') for i in (4, 3, 1, 0)]
        assert positions == sorted(positions)

    def test_does_not_show_another_persons_entries(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        html = client.get("/portal/ledger").text

        assert 'data-leaf-index="2"' not in html
        assert 'data-kind="access.denied"' not in html

    def test_shows_a_bulk_operation_the_person_was_part_of(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        html = client.get("/portal/ledger", headers=EN).text

        assert "Your data was part of an aggregate analysis" in html
        assert f"together with {BULK_OTHERS} other people" in html

    def test_a_provision_names_the_receiving_organization(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        html = client.get("/portal/ledger", headers=EN).text

        assert "Your data was provided to another organization" in html
        assert "to べつの保険株式会社" in html

    def test_the_other_person_sees_only_their_own_entry(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.other_email)

        html = client.get("/portal/ledger").text

        assert "べつの保険株式会社" in html
        assert html.count("data-badge>") == 1

    @pytest.mark.usefixtures("ledger_world")
    def test_a_person_without_entries_is_told_so(self, client: TestClient, db: Session) -> None:
        identity.create_person(
            db, family_name="空", given_name="白", email="empty@example.jp", password="pw-123456789"
        )
        db.commit()
        sign_in_person(client, "empty@example.jp", "pw-123456789")

        html = client.get("/portal/ledger", headers=EN).text

        assert "No organization has used your data yet." in html

    def test_the_portal_navigation_links_to_it(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        html = client.get("/portal").text

        assert '<a href="/portal/ledger">データの利用履歴</a>' in html

    def test_loads_the_verifier_script_from_this_site(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        html = client.get("/portal/ledger").text

        assert '<script src="/static/ledger-verify.js" defer></script>' in html
        assert client.get("/static/ledger-verify.js").status_code == 200


class TestPortalLedgerProofs:
    def test_anonymous_visitor_gets_no_proofs(self, client: TestClient) -> None:
        response = client.get("/portal/ledger/proofs.json", follow_redirects=False)

        assert response.status_code == 303

    def test_publishes_a_checkpoint_covering_every_entry(
        self, client: TestClient, db: Session, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        body = client.get("/portal/ledger/proofs.json").json()

        verifier = Verifier.from_vkey(body["vkey"])
        checkpoint, _note = open_checkpoint(body["checkpoint"], verifier)
        assert checkpoint.size == ledger.tree_size(db) == 5

    def test_every_entry_proves_its_inclusion_in_the_signed_checkpoint(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        body = client.get("/portal/ledger/proofs.json").json()

        checkpoint, _ = open_checkpoint(body["checkpoint"], Verifier.from_vkey(body["vkey"]))
        assert [e["leaf_index"] for e in body["entries"]] == [4, 3, 1, 0]
        for item in body["entries"]:
            leaf = merkle.leaf_hash(base64.b64decode(item["leaf_input"]))
            assert merkle.verify_inclusion(
                leaf,
                item["leaf_index"],
                checkpoint.size,
                _decode(item["audit_path"]),
                checkpoint.root,
            )

    def test_a_bulk_entry_proves_the_person_is_in_its_set(
        self, client: TestClient, settings: Settings, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        body = client.get("/portal/ledger/proofs.json").json()

        me = pseudonym(settings.resolved_ledger_pseudonym_key(), ledger_world.person.id)
        assert body["pseudonym"] == b64(me)
        bulk = next(e for e in body["entries"] if "set" in e)
        subject = json.loads(base64.b64decode(bulk["leaf_input"]))["subject"]
        assert subject["count"] == BULK_OTHERS + 1
        assert merkle.verify_inclusion(
            merkle.leaf_hash(me),
            bulk["set"]["index"],
            subject["count"],
            _decode(bulk["set"]["audit_path"]),
            base64.b64decode(subject["root"]),
        )

    def test_single_entries_name_the_persons_pseudonym(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        body = client.get("/portal/ledger/proofs.json").json()

        singles = [e for e in body["entries"] if "set" not in e]
        for item in singles:
            entry = json.loads(base64.b64decode(item["leaf_input"]))
            assert entry["subject"] == {"pseudonym": body["pseudonym"]}

    def test_gives_no_proof_of_another_persons_entry(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.other_email)

        body = client.get("/portal/ledger/proofs.json").json()

        assert [e["leaf_index"] for e in body["entries"]] == [2]

    def test_holds_no_name_or_person_id(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_person(client, ledger_world.person_email)

        text = client.get("/portal/ledger/proofs.json").text

        assert str(ledger_world.person.id) not in text
        assert "山田" not in text


class TestStaffLedgerPage:
    def test_anonymous_visitor_is_sent_to_the_staff_sign_in(self, client: TestClient) -> None:
        response = client.get("/ledger", follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"] == "/signin?next=/ledger"

    def test_a_person_cannot_open_it(self, client: TestClient, ledger_world: LedgerWorld) -> None:
        sign_in_person(client, ledger_world.person_email)

        response = client.get("/ledger", follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")

    def test_any_staff_role_sees_size_checkpoints_and_key(
        self, client: TestClient, settings: Settings, ledger_world: LedgerWorld
    ) -> None:
        sign_in_staff(client, ledger_world.viewer.email)

        response = client.get("/ledger")

        assert response.status_code == 200
        html = response.text
        assert 'id="ledger-size">5<' in html
        assert "<h1>台帳</h1>" in html
        assert settings.ledger_origin + "+" in html
        assert "tsunagu ledger verify-remote http://testserver" in html
        assert "0 / 1" in html

    def test_shows_witness_cosignatures_against_the_quorum(
        self, client: TestClient, db: Session, ledger_world: LedgerWorld
    ) -> None:
        sign_in_staff(client, ledger_world.admin.email)
        client.get("/ledger")  # publishes the checkpoint of size 5
        witness = Signer.from_seed("witness.example/w1", bytes([7]) * 32, alg=ALG_COSIGNATURE_V1)
        ledger.register_witness(db, witness.vkey())
        checkpoint = ledger.latest_checkpoint(db)
        assert checkpoint is not None
        text = checkpoint.note.split("\n\n", 1)[0] + "\n"
        line = cosign(text, witness, 1_790_000_000).line()
        ledger.add_cosignatures(db, checkpoint.note + line)
        db.commit()

        html = client.get("/ledger", headers=EN).text

        assert "witness.example/w1" in html
        assert "1 / 1" in html
        assert "✓ Yes" in html

    def test_highlights_alarms(
        self, client: TestClient, db: Session, ledger_world: LedgerWorld
    ) -> None:
        ledger.raise_alarm(db, "witness:w1", "the log forked at size 3")
        db.commit()
        sign_in_staff(client, ledger_world.admin.email)

        html = client.get("/ledger", headers=EN).text

        assert 'class="card alarms"' in html
        assert "the log forked at size 3" in html

    def test_speaks_english(self, client: TestClient, ledger_world: LedgerWorld) -> None:
        sign_in_staff(client, ledger_world.admin.email)

        html = client.get("/ledger", headers=EN).text

        assert "<h1>Ledger</h1>" in html
        assert "Latest checkpoints" in html

    def test_the_console_navigation_links_to_it(
        self, client: TestClient, ledger_world: LedgerWorld
    ) -> None:
        sign_in_staff(client, ledger_world.viewer.email)

        html = client.get("/dashboard").text

        assert '<a href="/ledger">台帳</a>' in html
