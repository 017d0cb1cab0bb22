"""``GET /api/v1/cases?keyword=`` finds cases by their summary, description and comments
(the n-gram index of ``cases.search``), Japanese included."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.cases_api.helpers import CASES, Tenant, case
from tsunagu.cases import service
from tsunagu.cases.models import Project


def keys(client: TestClient, owner: Tenant, keyword: str) -> list[str]:
    response = client.get(
        CASES, params={"project": "SUP", "keyword": keyword}, headers=owner.member
    )
    assert response.status_code == 200, response.text
    return sorted(item["key"] for item in response.json()["items"])


class TestKeyword:
    def test_a_word_of_the_summary_finds_the_case(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "自動車保管場所証明書の申請")
        case(db, owner, sup, "住民票の写し")

        assert keys(client, owner, "保管場所") == ["SUP-1"]

    def test_a_word_of_the_description_finds_the_case(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "問い合わせ", description="車庫の位置について")
        case(db, owner, sup, "別件", description="税金について")

        assert keys(client, owner, "車庫") == ["SUP-1"]

    def test_a_word_of_a_comment_finds_the_case(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        first = case(db, owner, sup, "問い合わせ")
        case(db, owner, sup, "別件")
        service.comment(db, owner.actor, first, "書類は郵送で届きました")
        db.commit()

        assert keys(client, owner, "郵送") == ["SUP-1"]

    def test_a_keyword_in_no_case_finds_nothing(
        self, client: TestClient, db: Session, owner: Tenant, sup: Project
    ) -> None:
        case(db, owner, sup, "自動車保管場所証明書の申請")

        response = client.get(
            CASES, params={"project": "SUP", "keyword": "固定資産税"}, headers=owner.member
        )

        assert response.json() == {"items": [], "total": 0, "more": False, "count": 20, "offset": 0}
