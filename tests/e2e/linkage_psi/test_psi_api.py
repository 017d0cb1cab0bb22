"""``POST /api/v1/linkage/collaborations/{id}/psi``: the recipient's key only, tenant
isolation, size limits, and a client run in-process against the API."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.linkage_api.conftest import API, World, activate, upload_all
from tests.integration.linkage import scenario
from tests.integration.linkage.test_psi_service import member_table
from tsunagu.linkage.psi import PsiClient, PsiResponse
from tsunagu.linkage.psi_service import (
    MAX_REQUEST_POINTS,
    decode_points,
    encode_points,
    member_items,
)

ITEMS = [b"member-1", b"member-2"]


def ready(client: TestClient, world: World) -> str:
    cid = activate(client, world)
    upload_all(client, world, cid)
    return cid


def body(items: list[bytes] = ITEMS) -> dict[str, Any]:
    return {"points": encode_points(PsiClient(items).request().points)}


def psi(client: TestClient, world: World, cid: str, key: str | None, payload: Any) -> Any:
    headers = world.keys[key] if key is not None else {}
    return client.post(f"{API}/{cid}/psi", json=payload, headers=headers)


class TestAccess:
    def test_no_key_is_401(self, client: TestClient, world: World) -> None:
        cid = ready(client, world)
        assert psi(client, world, cid, None, body()).status_code == 401

    def test_another_tenant_gets_404(self, client: TestClient, world: World) -> None:
        cid = ready(client, world)
        assert psi(client, world, cid, "outsider", body()).status_code == 404

    def test_an_unknown_collaboration_is_404(self, client: TestClient, world: World) -> None:
        ready(client, world)
        response = psi(client, world, str(uuid.uuid4()), "maker_member", body())
        assert response.status_code == 404

    def test_the_provider_gets_403(self, client: TestClient, world: World) -> None:
        cid = ready(client, world)
        response = psi(client, world, cid, "retailer_admin", body())
        assert (response.status_code, response.json()["code"]) == (403, "not_participant_role")

    def test_a_viewer_key_of_the_recipient_gets_403(self, client: TestClient, world: World) -> None:
        cid = ready(client, world)
        assert psi(client, world, cid, "maker_viewer", body()).status_code == 403


class TestLimits:
    def test_too_many_points_are_413(self, client: TestClient, world: World) -> None:
        cid = ready(client, world)
        point = body([b"x"])["points"][0]
        response = psi(
            client, world, cid, "maker_member", {"points": [point] * (MAX_REQUEST_POINTS + 1)}
        )
        assert (response.status_code, response.json()["code"]) == (413, "psi_request_too_large")

    def test_bad_base64_is_422(self, client: TestClient, world: World) -> None:
        cid = ready(client, world)
        response = psi(client, world, cid, "maker_member", {"points": ["not base64!"]})
        assert (response.status_code, response.json()["code"]) == (422, "psi_request_invalid")

    def test_a_body_without_points_is_422(self, client: TestClient, world: World) -> None:
        cid = ready(client, world)
        response = psi(client, world, cid, "maker_member", {"items": []})
        assert response.status_code == 422

    def test_a_value_off_the_group_is_422(self, client: TestClient, world: World) -> None:
        cid = ready(client, world)
        response = psi(
            client, world, cid, "maker_member", {"points": encode_points([b"\xff" * 32])}
        )
        assert (response.status_code, response.json()["code"]) == (422, "psi_invalid_point")


class TestExchange:
    def test_a_client_learns_exactly_the_consenting_members(
        self, client: TestClient, world: World
    ) -> None:
        cid = ready(client, world)
        by_item = member_items(member_table(world.sc))
        psi_client = PsiClient(by_item)
        request = {"points": encode_points(psi_client.request().points)}
        answer = psi(client, world, cid, "maker_member", request).json()
        found = psi_client.intersection(
            PsiResponse(
                tuple(decode_points(answer["reblinded"])),
                tuple(decode_points(answer["server_points"])),
            )
        )
        matched = sorted({m for item in found for m in by_item[item]})
        assert matched == [f"M{i:05d}" for i in scenario.LINKED]

    def test_the_answer_carries_the_servers_blinded_set(
        self, client: TestClient, world: World
    ) -> None:
        cid = ready(client, world)
        answer = psi(client, world, cid, "maker_member", body()).json()
        assert (len(answer["reblinded"]), len(answer["server_points"])) == (2, 24)
