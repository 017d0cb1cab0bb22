"""Odd input is a clear 4xx problem+json naming what is wrong, never a 500: malformed JSON,
unknown fields, wrong types, impossible dates, NUL characters, text beyond the limits."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case, problem
from tsunagu.cases.models import Project

CREATE_BODIES: list[dict[str, Any]] = [
    {"project": "SUP"},
    {"project": "SUP", "summary": ""},
    {"project": "SUP", "summary": "x", "colour": "red"},
    {"project": "SUP", "summary": "x", "issue_type_id": None},
    {"project": "SUP", "summary": 42},
    {"project": "SUP", "summary": "x" * 256},
    {"project": "SUP", "summary": "x\x00"},
    {"project": "SUP", "summary": "x", "description": "\x00"},
    {"project": "SUP", "summary": "x", "dueDate": "2026-02-30"},
    {"project": "SUP", "summary": "x", "dueDate": "30/12/2026"},
    {"project": "SUP", "summary": "x", "dueDate": 1767225600},
    {"project": "SUP", "summary": "x", "dueDate": "0001-01-01"},
    {"project": "SUP", "summary": "x", "startDate": "9999-12-31"},
    {"project": "SUP", "summary": "x", "estimatedHours": "2"},
    {"project": "SUP", "summary": "x", "estimatedHours": -1},
    {"project": "SUP", "summary": "x", "estimatedHours": 1e30},
    {"project": "SUP", "summary": "x", "priority": "urgent"},
    {"project": "SUP", "summary": "x", "statusId": "open"},
    {"project": "SUP", "summary": "x", "statusId": "00000000-0000-0000-0000-000000000000"},
    {"project": "SUP", "summary": "x", "assigneeId": "00000000-0000-0000-0000-000000000000"},
    {"project": "SUP", "summary": "x", "parentIssue": "SUP-99"},
    {"project": "SUP", "summary": "x", "customFields": {"no such field": "x"}},
    {"project": "SUP", "summary": "x", "notifiedUserId": ["not-an-id"]},
    {"project": "SUP", "summary": "x", "notifiedUserId": "not-a-list"},
]


class TestHostileInput:
    @pytest.mark.usefixtures("sup")
    def test_malformed_json_is_a_400_problem(self, client: TestClient, owner: Tenant) -> None:
        response = client.post(
            CASES,
            content=b'{"project": "SUP", "summary": ',
            headers={**owner.member, "content-type": "application/json"},
        )

        assert "not valid JSON" in problem(response, 400)["detail"]

    @pytest.mark.usefixtures("sup")
    def test_a_body_that_is_not_an_object_is_a_422_problem(
        self, client: TestClient, owner: Tenant
    ) -> None:
        problem(client.post(CASES, json=["SUP", "x"], headers=owner.member), 422)

    @pytest.mark.usefixtures("sup")
    @pytest.mark.parametrize("body", CREATE_BODIES)
    def test_creating_a_case(self, client: TestClient, owner: Tenant, body: dict[str, Any]) -> None:
        problem(client.post(CASES, json=body, headers=owner.member), 422)

    @pytest.mark.parametrize(
        "body",
        [
            {"summary": None},
            {"priority": None},
            {"statusId": None},
            {"summary": "x", "projectId": "ENG"},
            {"comment": 5},
            {"dueDate": "tomorrow"},
            {"actualHours": True},
        ],
    )
    def test_changing_a_case(
        self,
        client: TestClient,
        db: Session,
        owner: Tenant,
        sup: Project,
        body: dict[str, Any],
    ) -> None:
        case(db, owner, sup, "x")

        problem(client.patch(f"{CASES}/SUP-1", json=body, headers=owner.member), 422)

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("/comments", {"content": "x", "public": "yes"}),
            ("/comments", {"content": "x", "extra": 1}),
            ("/comments", {"content": "\x00"}),
            ("/links", {"kind": "friend", "id": "00000000-0000-0000-0000-000000000000"}),
            ("/links", {"kind": "case", "key": "NOT A KEY"}),
            ("/watchers", {"userId": "me"}),
            ("/escalate", {"project": "ENG", "mode": "copy", "when": "now"}),
        ],
    )
    def test_other_writes(
        self,
        client: TestClient,
        db: Session,
        owner: Tenant,
        sup: Project,
        path: str,
        body: dict[str, Any],
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(f"{CASES}/SUP-1{path}", json=body, headers=owner.member)

        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"

    @pytest.mark.parametrize(
        "key", ["SUP-0", "SUP-1x", "SUP-99999999999", "%00", "SUP--1", "ＳＵＰ-1"]
    )
    def test_odd_case_keys_are_not_found(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project, key: str
    ) -> None:
        case(db, owner, sup, "x")

        problem(client.get(f"{CASES}/{key}", headers=owner.member), 404)
