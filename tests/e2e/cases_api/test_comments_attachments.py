"""Comments (``public`` replies to the inquirer) and attachments: size-limited,
type-checked, downloaded as they were stored and never shown inline."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case, problem
from tsunagu.cases import service
from tsunagu.cases.models import Project

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class TestComments:
    def test_a_comment_is_added_to_the_timeline(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/comments", json={"content": "確認しました"}, headers=owner.member
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["content"], body["public"], body["html"]) == (
            "確認しました",
            False,
            "<p>確認しました</p>\n",
        )

    def test_a_public_comment_is_a_reply_the_inquirer_sees(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/comments",
            json={"content": "ご回答します", "public": True},
            headers=owner.member,
        )

        assert response.json()["public"] is True

    def test_comments_are_listed_oldest_first(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        made = case(db, owner, sup, "x")
        service.comment(db, owner.actor, made, "一")
        service.comment(db, owner.actor, made, "二")
        db.commit()

        response = client.get(f"{CASES}/SUP-1/comments", headers=owner.member)

        assert [c["content"] for c in response.json()] == ["一", "二"]

    def test_an_empty_comment_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/comments", json={"content": "   "}, headers=owner.member
        )

        problem(response, 422)


class TestAttachments:
    def test_an_image_is_attached_with_its_type(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/attachments", files={"file": ("写真.png", PNG)}, headers=owner.member
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["name"], body["contentType"], body["size"]) == (
            "写真.png",
            "image/png",
            len(PNG),
        )

    def test_the_download_is_the_stored_bytes_as_an_attachment(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")
        made = client.post(
            f"{CASES}/SUP-1/attachments", files={"file": ("写真.png", PNG)}, headers=owner.member
        ).json()

        response = client.get(f"{CASES}/SUP-1/attachments/{made['id']}", headers=owner.member)

        assert response.status_code == 200
        assert response.content == PNG
        assert response.headers["content-type"] == "image/png"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["x-content-type-options"] == "nosniff"

    def test_an_attachment_is_on_the_timeline(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")
        client.post(
            f"{CASES}/SUP-1/attachments", files={"file": ("a.png", PNG)}, headers=owner.member
        )

        timeline = client.get(f"{CASES}/SUP-1", headers=owner.member).json()["timeline"]

        assert timeline[-1]["kind"] == "attached"

    def test_a_file_over_the_limit_is_a_413_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")
        big = PNG + b"\x00" * service.MAX_ATTACHMENT_BYTES

        response = client.post(
            f"{CASES}/SUP-1/attachments", files={"file": ("big.png", big)}, headers=owner.member
        )

        problem(response, 413)

    def test_a_type_the_store_does_not_take_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/attachments",
            files={"file": ("run.exe", b"MZ\x90\x00")},
            headers=owner.member,
        )

        assert "not taken" in problem(response, 422)["detail"]

    def test_bytes_that_do_not_match_the_extension_are_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/attachments",
            files={"file": ("fake.png", b"<html><script>")},
            headers=owner.member,
        )

        problem(response, 422)

    def test_a_json_body_instead_of_a_file_is_a_422_problem(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")

        response = client.post(
            f"{CASES}/SUP-1/attachments", json={"file": "x"}, headers=owner.member
        )

        problem(response, 422)

    def test_another_cases_attachment_is_not_found_under_this_case(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "x")
        case(db, owner, sup, "y")
        made = client.post(
            f"{CASES}/SUP-1/attachments", files={"file": ("a.png", PNG)}, headers=owner.member
        ).json()

        response = client.get(f"{CASES}/SUP-2/attachments/{made['id']}", headers=owner.member)

        problem(response, 404)
