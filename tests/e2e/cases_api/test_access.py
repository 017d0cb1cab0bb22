"""Who may call what, on every endpoint: no key → 401; another tenant's case, project,
attachment or saved search → 404, exactly like one that does not exist; a viewer key
reads but cannot write (403); a partner organization's key sees only the shared project."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case, problem, project, tenant
from tests.support.factories import create_staff
from tsunagu.cases import saved_searches, service

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None
    upload: bool = False
    write: bool = False

    def send(self, client: TestClient, headers: dict[str, str], ids: dict[str, str]) -> Any:
        path = CASES + self.path.format(**ids)
        body = None if self.json is None else {k: v.format(**ids) for k, v in self.json.items()}
        if self.upload:
            return client.post(path, files={"file": ("a.png", PNG)}, headers=headers)
        return client.request(self.method, path, json=body, headers=headers)


CALLS = [
    Call("GET", "?project=SUP"),
    Call("POST", "", {"project": "SUP", "summary": "x"}, write=True),
    Call("GET", "/SUP-1"),
    Call("PATCH", "/SUP-1", {"summary": "changed"}, write=True),
    Call("GET", "/SUP-1/comments"),
    Call("POST", "/SUP-1/comments", {"content": "x"}, write=True),
    Call("POST", "/SUP-1/attachments", upload=True, write=True),
    Call("GET", "/SUP-1/attachments"),
    Call("GET", "/SUP-1/attachments/{attachment}"),
    Call("POST", "/SUP-1/links", {"kind": "case", "key": "SUP-2"}, write=True),
    Call("DELETE", "/SUP-1/links/{link}", write=True),
    Call("POST", "/SUP-1/watchers", {"userId": "{user}"}, write=True),
    Call("DELETE", "/SUP-1/watchers/{user}", write=True),
    Call("POST", "/SUP-1/escalate", {"project": "ENG"}, write=True),
    Call("GET", "/saved-searches?userId={user}"),
    Call("POST", "/saved-searches", {"userId": "{user}", "name": "new"}, write=True),
    Call("DELETE", "/saved-searches/{search}", write=True),
    Call("GET", "/views/overdue?project=SUP"),
    Call("GET", "/views/by-assignee?project=SUP"),
    Call("GET", "/views/board?project=SUP"),
    Call("GET", "/views/gantt?project=SUP"),
]
WRITES = [c for c in CALLS if c.write]
READS = [c for c in CALLS if not c.write]


def name(call: Call) -> str:
    return f"{call.method} {call.path}"


@pytest.fixture
def ids(db: Session, owner: Tenant) -> dict[str, str]:
    """A world of the owner: SUP with two linked cases, an attachment and a watcher; ENG;
    a staff user with a saved search."""
    sup = project(db, owner, "SUP")
    project(db, owner, "ENG")
    first = case(db, owner, sup, "一")
    second = case(db, owner, sup, "二")
    user = create_staff(db, owner.org, role="admin")
    link = service.add_link(db, owner.actor, first, "case", second.id)
    service.set_watching(db, owner.actor, first, user.id, watching=True)
    search = saved_searches.save_search(db, owner.org.id, user.id, "mine", {"project": "SUP"})
    db.commit()
    return {"link": str(link.id), "user": str(user.id), "search": str(search.id)}


@pytest.fixture
def world(client: TestClient, owner: Tenant, ids: dict[str, str]) -> dict[str, str]:
    """The world with an attachment uploaded through the API (its bytes in the app's store)."""
    made = client.post(
        f"{CASES}/SUP-1/attachments", files={"file": ("a.png", PNG)}, headers=owner.admin
    )
    assert made.status_code == 201, made.text
    return {**ids, "attachment": made.json()["id"]}


class TestEveryEndpoint:
    @pytest.mark.parametrize("call", CALLS, ids=name)
    def test_without_a_key_is_401(self, client: TestClient, call: Call) -> None:
        anything = str(uuid.uuid4())
        made_up = {"link": anything, "user": anything, "search": anything, "attachment": anything}

        response = call.send(client, {}, made_up)

        problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("call", CALLS, ids=name)
    def test_another_tenants_key_gets_404(
        self, client: TestClient, db: Session, world: dict[str, str], call: Call
    ) -> None:
        stranger = tenant(db)

        problem(call.send(client, stranger.admin, world), 404)

    @pytest.mark.parametrize("call", WRITES, ids=name)
    def test_a_viewer_key_cannot_write(
        self, client: TestClient, owner: Tenant, world: dict[str, str], call: Call
    ) -> None:
        problem(call.send(client, owner.viewer, world), 403)

    @pytest.mark.parametrize("call", READS, ids=name)
    def test_a_viewer_key_reads(
        self, client: TestClient, owner: Tenant, world: dict[str, str], call: Call
    ) -> None:
        response = call.send(client, owner.viewer, world)

        assert response.status_code == 200, response.text


class TestPartners:
    @pytest.fixture
    def partner(self, db: Session, owner: Tenant) -> Tenant:
        partner = tenant(db)
        shared = project(
            db, owner, "PRT", visibility="partner", partner_organization_id=partner.org.id
        )
        case(db, owner, shared, "共同の件")
        internal = project(db, owner, "SUP")
        case(db, owner, internal, "社内の件")
        return partner

    def test_a_partner_key_lists_only_the_shared_project(
        self, client: TestClient, partner: Tenant
    ) -> None:
        response = client.get(CASES, headers=partner.member)

        assert [i["key"] for i in response.json()["items"]] == ["PRT-1"]

    def test_a_partner_key_cannot_read_the_hosts_other_cases(
        self, client: TestClient, partner: Tenant
    ) -> None:
        problem(client.get(f"{CASES}/SUP-1", headers=partner.member), 404)

    def test_a_partner_key_reads_the_shared_case(self, client: TestClient, partner: Tenant) -> None:
        response = client.get(f"{CASES}/PRT-1", headers=partner.member)

        assert response.json()["summary"] == "共同の件"

    def test_a_partner_member_key_opens_a_case_in_the_shared_project(
        self, client: TestClient, partner: Tenant
    ) -> None:
        response = client.post(
            CASES, json={"project": "PRT", "summary": "相談"}, headers=partner.member
        )

        assert response.json()["key"] == "PRT-2"

    def test_a_partner_viewer_key_cannot_write(self, client: TestClient, partner: Tenant) -> None:
        response = client.post(
            CASES, json={"project": "PRT", "summary": "相談"}, headers=partner.viewer
        )

        problem(response, 403)
