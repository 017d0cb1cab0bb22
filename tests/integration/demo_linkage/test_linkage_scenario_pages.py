"""The scenario's sign-ins in the staff console: the maker's analyst opens the clean room
and the promotion report, the retailer's privacy officer the collaboration's record."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.pages.conftest import sign_in_staff
from tsunagu.core.settings import Settings
from tsunagu.demo import DEMO_PASSWORD
from tsunagu.demo import linkage as scenario
from tsunagu.demo.world import WorldContext, organizations_step, staff_step


@pytest.fixture
def collaboration_id(db: Session, settings: Settings) -> str:
    context = WorldContext(seed=5, person_count=100, settings=settings)
    organizations_step(db, context)
    staff_step(db, context)
    built = scenario.build(db, context, scale=scenario.Scale(customers=1200, members=360))
    assert built is not None
    db.commit()
    return str(built.collaboration.id)


class TestScenarioPages:
    def test_the_analyst_opens_the_clean_room_and_the_promotion_report(
        self, client: TestClient, collaboration_id: str
    ) -> None:
        sign_in_staff(client, scenario.ANALYST_EMAIL, DEMO_PASSWORD)

        ask = client.get(f"/cleanroom/{collaboration_id}")
        report = client.get(f"/cleanroom/{collaboration_id}/promotion")

        assert (ask.status_code, report.status_code) == (200, 200)

    def test_the_privacy_officer_reads_the_record_with_the_questions_asked(
        self, client: TestClient, collaboration_id: str
    ) -> None:
        sign_in_staff(client, scenario.PRIVACY_OFFICER_EMAIL, DEMO_PASSWORD)

        record = client.get(f"/linkage/{collaboration_id}/record")

        assert record.status_code == 200
        assert scenario.COLLABORATION_NAME in record.text
