"""The projects API: the contract, every settings endpoint, roles, tenant isolation and
bad input (422) — through the real app with API keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import bearer, create_api_key, create_org, create_staff
from tsunagu.cases import service
from tsunagu.identity.service import Actor

BASE = "/api/v1/cases/projects"


@dataclass(frozen=True)
class Keys:
    admin: dict[str, str]
    viewer: dict[str, str]
    other: dict[str, str]
    other_slug: str
    staff_id: str
    org_id: uuid.UUID


@pytest.fixture
def keys(db: Session) -> Keys:
    org = create_org(db)
    other = create_org(db)
    staff = create_staff(db, org, role="member")
    found = Keys(
        admin=bearer(create_api_key(db, org, role="admin")),
        viewer=bearer(create_api_key(db, org, role="viewer")),
        other=bearer(create_api_key(db, other, role="admin")),
        other_slug=other.slug,
        staff_id=str(staff.id),
        org_id=org.id,
    )
    db.commit()
    return found


@pytest.fixture
def sup(client: TestClient, keys: Keys) -> dict[str, Any]:
    response = client.post(BASE, json={"key": "SUP", "name": "サポート"}, headers=keys.admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


#: a valid body to create one item of each kind
BODIES: dict[str, dict[str, Any]] = {
    "statuses": {"name": "保留", "color": "#112233"},
    "issueTypes": {"name": "問い合わせ", "color": "#112233"},
    "categories": {"name": "窓口"},
    "milestones": {"name": "v1"},
    "customFields": {"name": "区", "kind": "single", "options": ["中区"]},
}


def make_item(client: TestClient, keys: Keys, what: str) -> str:
    response = client.post(f"{BASE}/SUP/{what}", json=BODIES[what], headers=keys.admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def open_case(db: Session, keys: Keys, status_id: str) -> None:
    """A case of SUP in the given status, opened through the service and committed."""
    actor = Actor(kind="api_key", organization_id=keys.org_id, role="admin")
    project = service.get_project(db, actor, "SUP")
    service.create_case(db, actor, project, {"summary": "車庫証明", "status": status_id})
    db.commit()


ITEMS = ("statuses", "issueTypes", "categories", "milestones", "customFields")
PATCHES = {
    "statuses": {"name": "保留中"},
    "issueTypes": {"color": "#445566"},
    "categories": {"name": "電話"},
    "milestones": {"releaseDueDate": "2026-12-24"},
    "customFields": {"required": True},
}


@pytest.mark.usefixtures("sup")
class TestContract:
    def test_creating_a_project_answers_201_with_its_key(self, sup: dict[str, Any]) -> None:
        assert (sup["key"], sup["name"], sup["visibility"]) == ("SUP", "サポート", "internal")

    def test_the_project_list_shows_the_new_project(self, client: TestClient, keys: Keys) -> None:
        response = client.get(BASE, headers=keys.admin)
        assert [p["key"] for p in response.json()] == ["SUP"]

    def test_a_taken_key_is_a_conflict(self, client: TestClient, keys: Keys) -> None:
        response = client.post(BASE, json={"key": "SUP", "name": "x"}, headers=keys.admin)
        assert response.status_code == 409

    def test_a_project_can_be_shared_with_a_partner_by_slug(
        self, client: TestClient, keys: Keys
    ) -> None:
        response = client.patch(
            f"{BASE}/SUP",
            json={"visibility": "partner", "partnerOrganization": keys.other_slug},
            headers=keys.admin,
        )
        assert response.json()["partnerOrganization"] == keys.other_slug

    def test_statuses_are_listed_open_first_and_closed_last(
        self, client: TestClient, keys: Keys
    ) -> None:
        make_item(client, keys, "statuses")
        names = [
            s["nameEn"] or s["name"]
            for s in client.get(f"{BASE}/SUP/statuses", headers=keys.admin).json()
        ]
        assert names == ["Open", "In Progress", "Resolved", "保留", "Closed"]

    def test_statuses_are_reordered_by_a_list_of_ids(self, client: TestClient, keys: Keys) -> None:
        ids = [s["id"] for s in client.get(f"{BASE}/SUP/statuses", headers=keys.admin).json()]
        response = client.put(
            f"{BASE}/SUP/statuses/order",
            json={"statusIds": [ids[0], ids[2], ids[1], ids[3]]},
            headers=keys.admin,
        )
        assert [s["id"] for s in response.json()] == [ids[0], ids[2], ids[1], ids[3]]

    def test_deleting_a_status_in_use_without_a_substitute_is_a_conflict(
        self, client: TestClient, db: Session, keys: Keys
    ) -> None:
        status_id = make_item(client, keys, "statuses")
        open_case(db, keys, status_id)
        response = client.delete(f"{BASE}/SUP/statuses/{status_id}", headers=keys.admin)
        assert (response.status_code, response.json()["code"]) == (409, "substitute_required")

    def test_deleting_a_status_moves_its_cases_to_the_substitute(
        self, client: TestClient, db: Session, keys: Keys
    ) -> None:
        status_id = make_item(client, keys, "statuses")
        open_case(db, keys, status_id)
        substitute = client.get(f"{BASE}/SUP/statuses", headers=keys.admin).json()[1]["id"]
        response = client.delete(
            f"{BASE}/SUP/statuses/{status_id}",
            params={"substituteStatusId": substitute},
            headers=keys.admin,
        )
        assert response.json()["movedCases"] == 1

    def test_a_member_is_added_with_a_role(self, client: TestClient, keys: Keys) -> None:
        response = client.put(
            f"{BASE}/SUP/members",
            json={"userId": keys.staff_id, "role": "viewer"},
            headers=keys.admin,
        )
        assert (response.status_code, response.json()["role"]) == (200, "viewer")
        listed = client.get(f"{BASE}/SUP/members", headers=keys.admin).json()
        assert [m["userId"] for m in listed] == [keys.staff_id]
        removed = client.delete(f"{BASE}/SUP/members/{keys.staff_id}", headers=keys.admin)
        assert removed.status_code == 204

    @pytest.mark.parametrize("what", ITEMS)
    def test_an_item_is_created_changed_and_deleted(
        self, client: TestClient, keys: Keys, what: str
    ) -> None:
        item_id = make_item(client, keys, what)
        changed = client.patch(
            f"{BASE}/SUP/{what}/{item_id}", json=PATCHES[what], headers=keys.admin
        )
        assert changed.status_code == 200, changed.text
        for name, value in PATCHES[what].items():
            assert changed.json()[name] == value
        deleted = client.delete(f"{BASE}/SUP/{what}/{item_id}", headers=keys.admin)
        assert deleted.status_code in (200, 204)
        listed = client.get(f"{BASE}/SUP/{what}", headers=keys.admin).json()
        assert item_id not in {i["id"] for i in listed}


#: every endpoint: (method, path under /SUP, JSON body)
def endpoints(item: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", "", None),
        ("PATCH", "", {"name": "x"}),
        ("GET", "/members", None),
        ("PUT", "/members", {"userId": str(uuid.uuid4()), "role": "member"}),
        ("DELETE", f"/members/{uuid.uuid4()}", None),
        ("PUT", "/statuses/order", {"statusIds": []}),
        *[(m, f"/{w}", b) for w in ITEMS for m, b in (("GET", None), ("POST", BODIES[w]))],
        *[
            (m, f"/{w}/{item}", b)
            for w in ITEMS
            for m, b in (("PATCH", PATCHES[w]), ("DELETE", None))
        ],
    ]


WRITES = [e for e in endpoints("ITEM") if e[0] != "GET"]


@pytest.mark.usefixtures("sup")
class TestRolesAndTenants:
    @pytest.mark.parametrize(("method", "path", "body"), endpoints(str(uuid.uuid4())))
    def test_another_organization_gets_404(
        self,
        client: TestClient,
        keys: Keys,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        response = client.request(method, f"{BASE}/SUP{path}", json=body, headers=keys.other)
        assert response.status_code == 404

    def test_another_organization_does_not_list_the_project(
        self, client: TestClient, keys: Keys
    ) -> None:
        assert client.get(BASE, headers=keys.other).json() == []

    @pytest.mark.parametrize(("method", "path", "body"), WRITES)
    def test_a_viewer_key_cannot_change_settings(
        self,
        client: TestClient,
        keys: Keys,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        real = path
        for what in ITEMS:
            if path == f"/{what}/ITEM":
                real = f"/{what}/{make_item(client, keys, what)}"
        response = client.request(method, f"{BASE}/SUP{real}", json=body, headers=keys.viewer)
        assert response.status_code == 403, response.text

    def test_a_viewer_key_cannot_create_a_project(self, client: TestClient, keys: Keys) -> None:
        response = client.post(BASE, json={"key": "VW", "name": "x"}, headers=keys.viewer)
        assert response.status_code == 403

    def test_a_viewer_key_reads_the_settings(self, client: TestClient, keys: Keys) -> None:
        assert client.get(f"{BASE}/SUP/statuses", headers=keys.viewer).status_code == 200

    def test_no_key_is_401(self, client: TestClient) -> None:
        assert client.get(BASE).status_code == 401


BAD_INPUT: list[tuple[str, str, dict[str, Any]]] = [
    ("PATCH", "", {"visibility": "public"}),
    ("PATCH", "", {"visibility": "partner", "partnerOrganization": "no-such-org"}),
    ("PATCH", "", {"unknown": 1}),
    ("PUT", "/members", {"userId": "not-an-id", "role": "member"}),
    ("PUT", "/members", {"userId": str(uuid.uuid4()), "role": "boss"}),
    ("PUT", "/statuses/order", {"statusIds": ["x"]}),
    ("POST", "/statuses", {"name": "", "color": "#112233"}),
    ("POST", "/statuses", {"name": "a", "color": "blue"}),
    ("POST", "/issueTypes", {"name": "a", "color": "#12"}),
    ("POST", "/categories", {}),
    ("POST", "/milestones", {"name": "v", "startDate": "2026-13-01"}),
    ("POST", "/customFields", {"name": "a", "kind": "colour"}),
    ("POST", "/customFields", {"name": "a", "kind": "single", "options": []}),
    ("PATCH", "/statuses/not-an-id", {"name": "a"}),
    ("DELETE", "/issueTypes/not-an-id", {}),
    ("PATCH", "/categories/not-an-id", {"name": "a"}),
    ("PATCH", "/milestones/not-an-id", {"name": "a"}),
    ("DELETE", "/customFields/not-an-id", {}),
    ("PATCH", "/customFields/not-an-id", {"name": "a"}),
    ("PATCH", "/issueTypes/not-an-id", {"name": "a"}),
    ("DELETE", "/statuses/not-an-id", {}),
    ("DELETE", f"/statuses/{uuid.uuid4()}?substituteStatusId=nope", {}),
    ("DELETE", "/categories/not-an-id", {}),
    ("DELETE", "/milestones/not-an-id", {}),
    ("DELETE", "/members/not-an-id", {}),
]


class TestBadInput:
    def test_a_bad_project_key_is_422(self, client: TestClient, keys: Keys) -> None:
        response = client.post(BASE, json={"key": "1x", "name": "x"}, headers=keys.admin)
        assert response.status_code == 422

    def test_a_list_filter_that_is_not_a_boolean_is_422(
        self, client: TestClient, keys: Keys
    ) -> None:
        response = client.get(BASE, params={"archived": "maybe"}, headers=keys.admin)
        assert response.status_code == 422

    def test_a_partner_project_needs_a_known_partner(self, client: TestClient, keys: Keys) -> None:
        response = client.post(
            BASE,
            json={
                "key": "PRT",
                "name": "x",
                "visibility": "partner",
                "partnerOrganization": "nope",
            },
            headers=keys.admin,
        )
        assert response.status_code == 422

    @pytest.mark.usefixtures("sup")
    @pytest.mark.parametrize(("method", "path", "body"), BAD_INPUT)
    def test_bad_input_is_422(
        self,
        client: TestClient,
        keys: Keys,
        method: str,
        path: str,
        body: dict[str, Any],
    ) -> None:
        response = client.request(
            method, f"{BASE}/SUP{path}", json=body or None, headers=keys.admin
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")

    @pytest.mark.usefixtures("sup")
    def test_an_item_of_another_project_is_404(self, client: TestClient, keys: Keys) -> None:
        client.post(BASE, json={"key": "ENG", "name": "開発"}, headers=keys.admin)
        category = client.post(f"{BASE}/ENG/categories", json={"name": "a"}, headers=keys.admin)
        response = client.patch(
            f"{BASE}/SUP/categories/{category.json()['id']}", json={"name": "b"}, headers=keys.admin
        )
        assert response.status_code == 404
