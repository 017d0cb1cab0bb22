"""/api/v1/crm/stages and /api/v1/crm/targets: the organization's stage model and its
conversion targets — read by any key, replaced by an admin key, per organization."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.api.test_shell import assert_problem
from tests.e2e.crm_api.helpers import entity, tenant
from tests.support.factories import bearer
from tsunagu.crm.manage import model_as_data
from tsunagu.crm.stages import DEFAULT_MODEL

STAGES = "/api/v1/crm/stages"
TARGETS = "/api/v1/crm/targets"


def default_stages() -> list[dict[str, Any]]:
    stages: list[dict[str, Any]] = model_as_data(DEFAULT_MODEL)["stages"]
    return stages


def relabelled(key: str, label_ja: str) -> list[dict[str, Any]]:
    return [{**s, "label_ja": label_ja} if s["key"] == key else s for s in default_stages()]


class TestGetStages:
    def test_a_viewer_reads_the_default_model_with_its_moves(
        self, client: TestClient, db: Session
    ) -> None:
        _org, key = tenant(db, role="viewer")

        response = client.get(STAGES, headers=bearer(key))

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["main_line"][:3] == ["lead", "nurturing", "promising"]
        assert body["main_line"][-1] == "renewal"
        assert {"from": "opportunity", "to": "lost"} in body["moves"]
        assert "dead_end" in body["allowed"]["lead"]
        assert body["allowed"]["dead_end"] == []
        assert "dead_end" not in body["allowed"][""]
        assert body["fast_pass_rule_ja"]
        assert body["fast_pass_rule_en"]

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(STAGES), 401, "not_authenticated")


class TestPutStages:
    def test_an_admin_replaces_the_model_of_their_organization_only(
        self, client: TestClient, db: Session
    ) -> None:
        _org, key = tenant(db, role="admin")
        _other, other_key = tenant(db, role="viewer")

        response = client.put(
            STAGES, json={"stages": relabelled("lead", "見込み客")}, headers=bearer(key)
        )

        assert response.status_code == 200, response.text
        assert response.json()["stages"][0]["label_ja"] == "見込み客"
        assert client.get(STAGES, headers=bearer(key)).json()["stages"][0]["label_ja"] == "見込み客"
        theirs = client.get(STAGES, headers=bearer(other_key)).json()
        assert theirs["stages"][0]["label_ja"] == "リード"

    def test_listed_moves_replace_the_default_side_moves(
        self, client: TestClient, db: Session
    ) -> None:
        _org, key = tenant(db, role="admin")

        response = client.put(
            STAGES,
            json={"stages": default_stages(), "moves": [{"from": "opportunity", "to": "lost"}]},
            headers=bearer(key),
        )

        assert response.json()["moves"] == [{"from": "opportunity", "to": "lost"}]
        assert "recycle" not in response.json()["allowed"]["lead"]

    def test_targets_of_steps_the_new_model_lacks_are_dropped(
        self, client: TestClient, db: Session
    ) -> None:
        _org, key = tenant(db, role="admin")
        client.put(
            TARGETS,
            json={
                "targets": [
                    {"from": "lead", "to": "nurturing", "rate": 0.4},
                    {"from": "qualified", "to": "opportunity", "rate": 0.7},
                ]
            },
            headers=bearer(key),
        )
        stages = [
            {**s, "key": "engaged"} if s["key"] == "nurturing" else s for s in default_stages()
        ]

        client.put(STAGES, json={"stages": stages}, headers=bearer(key))

        assert client.get(TARGETS, headers=bearer(key)).json()["targets"] == [
            {"from": "qualified", "to": "opportunity", "rate": 0.7}
        ]

    def test_a_model_missing_a_role_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db, role="admin")
        stages = [s for s in default_stages() if s["key"] != "dead_end"]

        response = client.put(STAGES, json={"stages": stages}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_a_main_line_with_a_gap_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db, role="admin")
        stages = [{**s, "position": 42} if s["key"] == "renewal" else s for s in default_stages()]

        response = client.put(STAGES, json={"stages": stages}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_dropping_a_stage_the_history_uses_is_422(
        self, client: TestClient, db: Session
    ) -> None:
        org, key = tenant(db, role="admin")
        entity(db, org, "A", ("recycle", datetime(2026, 1, 5, tzinfo=UTC)))
        stages = [{**s, "key": "parked"} if s["key"] == "recycle" else s for s in default_stages()]

        response = client.put(STAGES, json={"stages": stages}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_a_bad_stage_key_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db, role="admin")
        stages = [{**s, "key": "Lead!"} if s["key"] == "lead" else s for s in default_stages()]

        response = client.put(STAGES, json={"stages": stages}, headers=bearer(key))

        assert_problem(response, 422, "invalid_input")

    def test_a_member_key_is_403(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db, role="member")

        response = client.put(STAGES, json={"stages": default_stages()}, headers=bearer(key))

        assert_problem(response, 403, "role_too_low")


class TestTargets:
    def test_an_admin_sets_targets_any_key_reads_them(
        self, client: TestClient, db: Session
    ) -> None:
        _org, key = tenant(db, role="admin")
        _other, other_key = tenant(db, role="viewer")
        targets = [
            {"from": "lead", "to": "nurturing", "rate": 0.4},
            {"from": "qualified", "to": "opportunity", "rate": 0.75},
        ]

        response = client.put(TARGETS, json={"targets": targets}, headers=bearer(key))

        assert response.status_code == 200, response.text
        assert client.get(TARGETS, headers=bearer(key)).json()["targets"] == targets
        assert client.get(TARGETS, headers=bearer(other_key)).json() == {"targets": []}

    def test_putting_replaces_every_target(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db, role="admin")
        client.put(
            TARGETS,
            json={"targets": [{"from": "lead", "to": "nurturing", "rate": 0.4}]},
            headers=bearer(key),
        )

        client.put(TARGETS, json={"targets": []}, headers=bearer(key))

        assert client.get(TARGETS, headers=bearer(key)).json() == {"targets": []}

    def test_a_rate_above_one_is_422(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db, role="admin")

        response = client.put(
            TARGETS,
            json={"targets": [{"from": "lead", "to": "nurturing", "rate": 1.5}]},
            headers=bearer(key),
        )

        assert_problem(response, 422, "invalid_input")

    def test_a_step_off_the_main_line_or_backwards_is_422(
        self, client: TestClient, db: Session
    ) -> None:
        _org, key = tenant(db, role="admin")

        for step in ({"from": "lead", "to": "recycle"}, {"from": "won", "to": "lead"}):
            response = client.put(
                TARGETS, json={"targets": [{**step, "rate": 0.5}]}, headers=bearer(key)
            )
            assert_problem(response, 422, "invalid_input")

    def test_a_member_key_is_403(self, client: TestClient, db: Session) -> None:
        _org, key = tenant(db, role="member")

        response = client.put(TARGETS, json={"targets": []}, headers=bearer(key))

        assert_problem(response, 403, "role_too_low")

    def test_without_a_key_is_401(self, client: TestClient) -> None:
        assert_problem(client.get(TARGETS), 401, "not_authenticated")
