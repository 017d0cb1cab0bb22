"""The KPT API through the TestClient: boards, cards, votes, closing, the next period and
Try → case; viewers cannot change, bad input is a 422 and another organization's ids
answer 404 on every endpoint."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import Tenant, project, tenant
from tests.support.factories import bearer, create_api_key
from tsunagu.cases import kpt
from tsunagu.cases.models import Project

API = "/api/v1/cases"


@pytest.fixture
def owner(db: Session) -> Tenant:
    return tenant(db)


@pytest.fixture
def sup(db: Session, owner: Tenant) -> Project:
    return project(db, owner, "SUP")


@pytest.fixture
def board(client: TestClient, owner: Tenant, sup: Project) -> dict[str, Any]:
    response = client.post(
        f"{API}/projects/{sup.key}/kpt", json={"period": "2026-11"}, headers=owner.member
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def add_card(client: TestClient, owner: Tenant, board_id: str, kind: str, text: str) -> str:
    response = client.post(
        f"{API}/kpt/{board_id}/cards", json={"kind": kind, "body": text}, headers=owner.member
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class TestBoards:
    def test_a_new_board_answers_201_and_is_open(self, board: dict[str, Any]) -> None:
        assert (board["project"], board["period"], board["closed"]) == ("SUP", "2026-11", None)

    def test_a_period_taken_answers_409(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        response = client.post(
            f"{API}/projects/SUP/kpt", json={"period": board["period"]}, headers=owner.member
        )
        assert (response.status_code, response.json()["code"]) == (409, "kpt_period_taken")

    def test_the_list_counts_cards_per_kind(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        add_card(client, owner, board["id"], "keep", "朝会")
        add_card(client, owner, board["id"], "try", "手順書")
        listed = client.get(f"{API}/projects/SUP/kpt", headers=owner.viewer).json()
        assert [(b["period"], b["keep"], b["problem"], b["try"]) for b in listed] == [
            ("2026-11", 1, 0, 1)
        ]

    def test_the_board_lists_its_cards(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        add_card(client, owner, board["id"], "problem", "遅延")
        detail = client.get(f"{API}/kpt/{board['id']}", headers=owner.viewer).json()
        assert [(c["kind"], c["body"], c["author"]) for c in detail["cards"]] == [
            ("problem", "遅延", "API: member key")
        ]

    def test_closing_makes_the_board_read_only(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        closed = client.post(f"{API}/kpt/{board['id']}/close", headers=owner.member)
        assert closed.json()["closed"] is not None
        response = client.post(
            f"{API}/kpt/{board['id']}/cards",
            json={"kind": "keep", "body": "x"},
            headers=owner.member,
        )
        assert (response.status_code, response.json()["code"]) == (409, "kpt_board_closed")

    def test_the_next_board_carries_cards_over(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        keep = add_card(client, owner, board["id"], "keep", "朝会")
        solved = add_card(client, owner, board["id"], "problem", "解決済み")
        response = client.post(
            f"{API}/kpt/{board['id']}/next",
            json={"period": "2026-12", "resolved": [solved]},
            headers=owner.member,
        )
        assert response.status_code == 201
        assert [c["carriedFromId"] for c in response.json()["cards"]] == [keep]

    def test_the_chain_names_the_periods(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        problem = add_card(client, owner, board["id"], "problem", "遅延")
        client.post(
            f"{API}/kpt/{board['id']}/next", json={"period": "2026-12"}, headers=owner.member
        )
        chain = client.get(f"{API}/kpt/cards/{problem}/chain", headers=owner.viewer).json()
        assert [link["period"] for link in chain] == ["2026-11", "2026-12"]


class TestCards:
    def test_the_author_edits_the_card(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        card = add_card(client, owner, board["id"], "keep", "朝会")
        response = client.patch(
            f"{API}/kpt/cards/{card}", json={"body": "短い朝会"}, headers=owner.member
        )
        assert (response.status_code, response.json()["body"]) == (200, "短い朝会")

    def test_another_key_may_not_edit_the_card(
        self, client: TestClient, db: Session, owner: Tenant, board: dict[str, Any]
    ) -> None:
        card = add_card(client, owner, board["id"], "keep", "朝会")
        other = bearer(create_api_key(db, owner.org, role="member", name="another key"))
        db.commit()
        response = client.patch(f"{API}/kpt/cards/{card}", json={"body": "x"}, headers=other)
        assert (response.status_code, response.json()["code"]) == (403, "kpt_not_your_card")

    def test_the_author_deletes_the_card(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        card = add_card(client, owner, board["id"], "keep", "朝会")
        assert client.delete(f"{API}/kpt/cards/{card}", headers=owner.member).status_code == 204
        assert client.get(f"{API}/kpt/{board['id']}", headers=owner.member).json()["cards"] == []

    def test_an_api_key_cannot_vote(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        card = add_card(client, owner, board["id"], "keep", "朝会")
        for method in ("POST", "DELETE"):
            response = client.request(method, f"{API}/kpt/cards/{card}/vote", headers=owner.admin)
            assert (response.status_code, response.json()["code"]) == (403, "kpt_vote_needs_user")


class TestTryToCase:
    def test_a_try_becomes_a_case_once(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        card = add_card(client, owner, board["id"], "try", "手順書を作る")
        first = client.post(f"{API}/kpt/cards/{card}/case", headers=owner.member)
        second = client.post(f"{API}/kpt/cards/{card}/case", headers=owner.member)
        assert (first.status_code, first.json()["key"]) == (201, "SUP-1")
        assert (second.status_code, second.json()["key"]) == (200, "SUP-1")

    def test_the_case_is_readable_with_the_trys_text(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        card = add_card(client, owner, board["id"], "try", "手順書を作る")
        key = client.post(f"{API}/kpt/cards/{card}/case", headers=owner.member).json()["key"]
        case = client.get(f"{API}/{key}", headers=owner.member).json()
        assert case["summary"] == "手順書を作る"

    def test_a_keep_is_refused_with_422(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        card = add_card(client, owner, board["id"], "keep", "朝会")
        response = client.post(f"{API}/kpt/cards/{card}/case", headers=owner.member)
        assert response.status_code == 422


def _endpoints(board_id: str, card_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every endpoint, with a valid body."""
    return [
        ("GET", f"{API}/projects/SUP/kpt", None),
        ("POST", f"{API}/projects/SUP/kpt", {"period": "2027-01"}),
        ("GET", f"{API}/kpt/{board_id}", None),
        ("POST", f"{API}/kpt/{board_id}/cards", {"kind": "keep", "body": "x"}),
        ("POST", f"{API}/kpt/{board_id}/close", None),
        ("POST", f"{API}/kpt/{board_id}/next", {"period": "2027-02"}),
        ("PATCH", f"{API}/kpt/cards/{card_id}", {"body": "y"}),
        ("DELETE", f"{API}/kpt/cards/{card_id}", None),
        ("GET", f"{API}/kpt/cards/{card_id}/chain", None),
        ("POST", f"{API}/kpt/cards/{card_id}/vote", None),
        ("DELETE", f"{API}/kpt/cards/{card_id}/vote", None),
        ("POST", f"{API}/kpt/cards/{card_id}/case", None),
    ]


WRITES = [i for i, (method, _, _) in enumerate(_endpoints("b", "c")) if method != "GET"]


class TestAccess:
    @pytest.mark.parametrize("index", range(len(_endpoints("b", "c"))))
    def test_another_organization_gets_404(
        self, client: TestClient, db: Session, owner: Tenant, board: dict[str, Any], index: int
    ) -> None:
        card = add_card(client, owner, board["id"], "try", "x")
        stranger = tenant(db)
        method, url, body = _endpoints(board["id"], card)[index]
        response = client.request(method, url, json=body, headers=stranger.admin)
        assert response.status_code == 404

    @pytest.mark.parametrize("index", WRITES)
    def test_a_viewer_gets_403(
        self, client: TestClient, owner: Tenant, board: dict[str, Any], index: int
    ) -> None:
        card = add_card(client, owner, board["id"], "try", "x")
        method, url, body = _endpoints(board["id"], card)[index]
        response = client.request(method, url, json=body, headers=owner.viewer)
        assert response.status_code == 403

    @pytest.mark.parametrize("index", range(len(_endpoints("b", "c"))))
    def test_no_key_gets_401(self, client: TestClient, index: int) -> None:
        method, url, body = _endpoints(str(uuid.uuid4()), str(uuid.uuid4()))[index]
        assert client.request(method, url, json=body).status_code == 401


BAD_BODIES = [
    ("POST", "{project}/kpt", {"period": ""}),
    ("POST", "{project}/kpt", {"period": "x" * 41}),
    ("POST", "{project}/kpt", {"period": "a\nb"}),
    ("POST", "{project}/kpt", {"period": "2027-01", "extra": 1}),
    ("POST", "{board}/cards", {"kind": "idea", "body": "x"}),
    ("POST", "{board}/cards", {"kind": "keep", "body": "x" * 2001}),
    ("POST", "{board}/cards", {"kind": "keep", "body": "a\u0000b"}),
    ("POST", "{board}/cards", {"kind": "keep"}),
    ("POST", "{board}/next", {"period": ""}),
    ("POST", "{board}/next", {"period": "2027-01", "resolved": ["not-an-id"]}),
    ("PATCH", "{card}", {"body": ""}),
    ("PATCH", "{card}", {"body": 3}),
]


class TestBadInput:
    @pytest.mark.parametrize(("method", "path", "body"), BAD_BODIES)
    def test_a_bad_body_is_a_422(
        self,
        client: TestClient,
        owner: Tenant,
        board: dict[str, Any],
        method: str,
        path: str,
        body: dict[str, Any],
    ) -> None:
        card = add_card(client, owner, board["id"], "keep", "x")
        url = path.format(
            project=f"{API}/projects/SUP",
            board=f"{API}/kpt/{board['id']}",
            card=f"{API}/kpt/cards/{card}",
        )
        response = client.request(method, url, json=body, headers=owner.member)
        assert response.status_code == 422, response.text

    @pytest.mark.usefixtures("sup")
    @pytest.mark.parametrize("index", range(2, len(_endpoints("b", "c"))))
    def test_an_id_that_is_no_uuid_is_a_422(
        self, client: TestClient, owner: Tenant, index: int
    ) -> None:
        method, url, body = _endpoints("nope", "nope")[index]
        response = client.request(method, url, json=body, headers=owner.member)
        assert response.status_code == 422

    def test_resolving_a_card_of_another_board_is_a_422(
        self, client: TestClient, owner: Tenant, board: dict[str, Any]
    ) -> None:
        response = client.post(
            f"{API}/kpt/{board['id']}/next",
            json={"period": "2026-12", "resolved": [str(uuid.uuid4())]},
            headers=owner.member,
        )
        assert (response.status_code, response.json()["code"]) == (422, kpt.InvalidKpt.code)
