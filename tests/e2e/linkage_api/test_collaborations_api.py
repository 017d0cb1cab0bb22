"""The collaborations API: the lifecycle through HTTP, roles, and every endpoint's guards."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.e2e.linkage_api.conftest import (
    API,
    CLEANROOM,
    World,
    activate,
    matched,
    propose,
    upload_all,
)


class TestLifecycle:
    def test_a_proposal_is_proposed(self, client: TestClient, world: World) -> None:
        cid = propose(client, world)
        body = client.get(f"{API}/{cid}", headers=world.keys["maker_viewer"]).json()
        assert body["status"] == "proposed"

    def test_the_other_admins_acceptance_activates(self, client: TestClient, world: World) -> None:
        cid = activate(client, world)
        body = client.get(f"{API}/{cid}", headers=world.keys["retailer_member"]).json()
        assert (body["status"], [p["accepted"] for p in body["participants"]]) == (
            "active",
            [True, True],
        )

    def test_a_member_key_cannot_accept(self, client: TestClient, world: World) -> None:
        cid = propose(client, world)
        response = client.post(
            f"{API}/{cid}/accept", json={"version": 1}, headers=world.keys["maker_member"]
        )
        assert response.status_code == 403

    def test_accepting_names_the_version_read(self, client: TestClient, world: World) -> None:
        cid = propose(client, world)
        response = client.post(f"{API}/{cid}/accept", headers=world.keys["maker_admin"])
        assert response.status_code == 422

    def test_a_stale_version_is_a_conflict(self, client: TestClient, world: World) -> None:
        cid = propose(client, world)
        response = client.post(
            f"{API}/{cid}/accept", json={"version": 7}, headers=world.keys["maker_admin"]
        )
        assert (response.status_code, response.json()["code"]) == (409, "terms_changed")

    def test_the_list_shows_the_collaboration_to_both(
        self, client: TestClient, world: World
    ) -> None:
        cid = propose(client, world)
        mine = client.get(API, headers=world.keys["maker_viewer"]).json()
        assert [c["id"] for c in mine] == [cid]

    def test_the_match_summary_is_counts_only(self, client: TestClient, world: World) -> None:
        cid = matched(client, world)
        body = client.get(f"{API}/{cid}/match", headers=world.keys["maker_viewer"]).json()
        assert (body["consenting"], body["matched"], "pairs" in body) == (12, 10, False)

    def test_only_the_provider_sees_the_whole_customer_count(
        self, client: TestClient, world: World
    ) -> None:
        cid = matched(client, world)
        theirs = client.get(f"{API}/{cid}/match", headers=world.keys["maker_viewer"]).json()
        ours = client.get(f"{API}/{cid}/match", headers=world.keys["retailer_member"]).json()
        assert (theirs["customers"], ours["customers"]) == (None, 16)

    def test_the_recipient_cannot_run_the_match(self, client: TestClient, world: World) -> None:
        cid = activate(client, world)
        upload_all(client, world, cid)
        response = client.post(f"{API}/{cid}/match", headers=world.keys["maker_admin"])
        assert response.status_code == 403

    def test_the_member_list_is_fixed_after_a_match(self, client: TestClient, world: World) -> None:
        cid = matched(client, world)
        response = client.post(
            f"{API}/{cid}/datasets/members",
            content=world.sc.members_jsonl(),
            headers={**world.keys["maker_member"], "Content-Type": "application/x-ndjson"},
        )
        assert (response.status_code, response.json()["code"]) == (409, "members_fixed")

    def test_bad_rows_are_listed_and_nothing_stored(self, client: TestClient, world: World) -> None:
        cid = activate(client, world)
        response = client.post(
            f"{API}/{cid}/datasets/customers",
            content=world.sc.customers_csv(extra="C9999,誰,か,,,,,,\n"),
            headers={**world.keys["retailer_member"], "Content-Type": "text/csv"},
        )
        assert (response.status_code, response.headers["content-type"]) == (
            422,
            "application/problem+json",
        )


class TestAmendAndEnd:
    def test_amended_terms_wait_for_the_other_side(self, client: TestClient, world: World) -> None:
        cid = activate(client, world)
        response = client.put(
            f"{API}/{cid}/terms", json=world.terms(), headers=world.keys["maker_admin"]
        )
        assert (response.json()["status"], response.json()["version"]) == ("proposed", 2)

    def test_an_ended_collaboration_refuses_matching(
        self, client: TestClient, world: World
    ) -> None:
        cid = activate(client, world)
        client.post(f"{API}/{cid}/end", headers=world.keys["retailer_admin"])
        response = client.post(f"{API}/{cid}/match", headers=world.keys["retailer_admin"])
        assert (response.status_code, response.json()["code"]) == (409, "collaboration_not_active")


class TestCleanroomApi:
    def test_the_recipient_gets_cells(self, client: TestClient, world: World) -> None:
        cid = matched(client, world)
        response = client.post(
            f"{CLEANROOM}/{cid}/queries",
            json={"measures": ["persons"], "dimensions": ["member"]},
            headers=world.keys["maker_member"],
        )
        assert (response.status_code, response.json()["cells"]) == (
            201,
            [{"member": "member", "persons": 10}],
        )

    def test_a_row_level_question_is_refused(self, client: TestClient, world: World) -> None:
        cid = matched(client, world)
        response = client.post(
            f"{CLEANROOM}/{cid}/queries",
            json={"measures": ["persons"], "dimensions": ["family_name"]},
            headers=world.keys["maker_member"],
        )
        assert (response.status_code, response.json()["code"]) == (422, "query_refused")

    def test_the_provider_cannot_ask(self, client: TestClient, world: World) -> None:
        cid = matched(client, world)
        response = client.post(
            f"{CLEANROOM}/{cid}/queries",
            json={"measures": ["persons"], "dimensions": ["member"]},
            headers=world.keys["retailer_member"],
        )
        assert response.status_code == 403

    def test_the_log_and_the_budget_follow_queries(self, client: TestClient, world: World) -> None:
        cid = matched(client, world)
        client.post(
            f"{CLEANROOM}/{cid}/queries",
            json={"measures": ["persons"], "dimensions": ["member"], "noise": True},
            headers=world.keys["maker_member"],
        )
        log = client.get(f"{CLEANROOM}/{cid}/queries", headers=world.keys["retailer_member"])
        budget = client.get(f"{CLEANROOM}/{cid}/budget", headers=world.keys["maker_viewer"])
        assert (len(log.json()), budget.json()["spent"]) == (1, 0.5)

    def test_exact_person_counts_of_the_log_are_for_the_provider_only(
        self, client: TestClient, world: World
    ) -> None:
        cid = matched(client, world)
        for noise in (False, True):
            client.post(
                f"{CLEANROOM}/{cid}/queries",
                json={"measures": ["persons"], "dimensions": ["member"], "noise": noise},
                headers=world.keys["maker_member"],
            )
        noisy, exact = client.get(
            f"{CLEANROOM}/{cid}/queries", headers=world.keys["maker_member"]
        ).json()
        ours = client.get(f"{CLEANROOM}/{cid}/queries", headers=world.keys["retailer_member"])
        assert (exact["persons"], exact["cells_suppressed"]) == (None, 1)
        assert (noisy["persons"], noisy["cells_suppressed"]) == (None, None)
        assert ours.json()[1]["persons"] == 10

    def test_a_noisy_answer_gives_no_exact_total(self, client: TestClient, world: World) -> None:
        cid = matched(client, world)
        answer = client.post(
            f"{CLEANROOM}/{cid}/queries",
            json={"measures": ["persons"], "dimensions": ["member"], "noise": True},
            headers=world.keys["maker_member"],
        ).json()
        assert answer["suppressed"] is None
        assert answer["persons"] == sum(c["persons"] for c in answer["cells"])

    def test_a_spent_budget_is_a_conflict(self, client: TestClient, world: World) -> None:
        cid = matched(client, world)
        spec = {"measures": ["persons"], "dimensions": ["member"], "noise": True}
        codes = [
            client.post(
                f"{CLEANROOM}/{cid}/queries", json=spec, headers=world.keys["maker_member"]
            ).status_code
            for _ in range(3)
        ]
        assert codes == [201, 201, 409]


#: every endpoint of both routers: (method, path with {id})
ENDPOINTS = [
    ("GET", API + "/{id}"),
    ("POST", API + "/{id}/accept"),
    ("PUT", API + "/{id}/terms"),
    ("POST", API + "/{id}/end"),
    ("POST", API + "/{id}/datasets/customers"),
    ("POST", API + "/{id}/datasets/orders"),
    ("POST", API + "/{id}/datasets/members"),
    ("POST", API + "/{id}/match"),
    ("GET", API + "/{id}/match"),
    ("POST", CLEANROOM + "/{id}/queries"),
    ("GET", CLEANROOM + "/{id}/queries"),
    ("GET", CLEANROOM + "/{id}/budget"),
]


def _call(client: TestClient, world: World, method: str, path: str, headers: dict[str, str]) -> int:
    if "datasets" in path:
        headers = {**headers, "Content-Type": "text/csv"}
        return client.request(method, path, content=b"id\nx\n", headers=headers).status_code
    body: object = {"measures": ["persons"]} if "queries" in path and method == "POST" else None
    if path.endswith("/terms"):
        body = world.terms()
    if path.endswith("/accept"):
        body = {"version": 1}
    return client.request(method, path, json=body, headers=headers).status_code


class TestGuards:
    @pytest.mark.parametrize(("method", "path"), [*ENDPOINTS, ("GET", API), ("POST", API)])
    def test_no_key_is_unauthorised(
        self, client: TestClient, world: World, method: str, path: str
    ) -> None:
        cid = propose(client, world)
        assert _call(client, world, method, path.format(id=cid), {}) == 401

    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    def test_another_tenant_gets_not_found(
        self, client: TestClient, world: World, method: str, path: str
    ) -> None:
        cid = activate(client, world)
        assert _call(client, world, method, path.format(id=cid), world.keys["outsider"]) == 404

    def test_another_tenants_list_is_empty(self, client: TestClient, world: World) -> None:
        propose(client, world)
        assert client.get(API, headers=world.keys["outsider"]).json() == []
