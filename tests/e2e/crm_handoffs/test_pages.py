"""The handoff pages through the TestClient: the inbox, rating with CSRF, who may rate, the
report — and that only the staff's own organization's handoffs ever appear."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from httpx2 import Response

from tests.e2e.crm_handoffs.world import HandoffWorld
from tests.e2e.pages.conftest import csrf_of
from tsunagu.crm.handoff_pages import who

INBOX = "/crm/handoffs"
REPORT = "/crm/handoffs/report"


def _rate(client: TestClient, transition_id: object, rating: str, comment: str = "") -> Response:
    token = csrf_of(client.get(INBOX).text)
    return client.post(
        f"{INBOX}/{transition_id}/rating",
        data={"rating": rating, "comment": comment, "csrf_token": token},
        follow_redirects=False,
    )


class TestWho:
    def test_a_staff_member_is_shown_by_name(self) -> None:
        assert who("user:1", {"user:1": "伊藤"}, "ja") == "伊藤"

    def test_an_automatic_rule_is_shown_by_its_activity(self) -> None:
        assert who("rule:appointment", {}, "en") == "Automatic rule: Appointment set"
        assert who("rule:appointment", {}, "ja") == "自動ルール：アポイント設定"

    def test_anything_else_is_shown_as_recorded(self) -> None:
        assert who("apikey:tsk_ab", {}, "en") == "apikey:tsk_ab"


class TestSignIn:
    def test_a_visitor_is_sent_to_sign_in(self, client: TestClient) -> None:
        response = client.get(INBOX, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")


class TestInbox:
    def test_lists_the_pending_handoffs(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        html = member_client.get(INBOX).text
        for transition in handoff_world.handoffs.values():
            assert f'id="handoff-{transition.id}"' in html

    def test_names_who_handed_over(self, member_client: TestClient) -> None:
        assert "伊藤 インサイド" in member_client.get(INBOX).text

    def test_a_move_inside_a_department_is_not_listed(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        assert str(handoff_world.not_a_handoff.id) not in member_client.get(INBOX).text

    def test_another_organizations_handoff_never_appears(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        html = member_client.get(INBOX).text
        assert str(handoff_world.other_handoff.id) not in html
        assert "よその客" not in html

    def test_the_rated_handoff_shows_its_comment(self, member_client: TestClient) -> None:
        assert "予算が未確認でした" in member_client.get(INBOX).text

    def test_speaks_english_when_asked(self, member_client: TestClient) -> None:
        html = member_client.get(INBOX, headers={"Accept-Language": "en"}).text
        assert "Handoffs to rate" in html or "引き渡しの評価" in html


class TestRating:
    def test_a_rating_is_saved_and_leaves_the_inbox(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        transition = handoff_world.handoffs["H-002"]
        response = _rate(member_client, transition.id, "4", "決裁者の情報が揃っていた")
        assert response.status_code == 303
        html = member_client.get(response.headers["location"]).text
        assert f'id="handoff-{transition.id}"' not in html
        assert "決裁者の情報が揃っていた" in html

    def test_no_rating_is_422_with_the_form_again(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        response = _rate(member_client, handoff_world.handoffs["H-002"].id, "", "コメントのみ")
        assert response.status_code == 422
        assert 'role="alert"' in response.text
        assert "コメントのみ" in response.text

    def test_a_rating_of_six_is_422(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        assert _rate(member_client, handoff_world.handoffs["H-002"].id, "6").status_code == 422

    def test_without_the_csrf_token_nothing_is_saved(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        response = member_client.post(
            f"{INBOX}/{handoff_world.handoffs['H-002'].id}/rating",
            data={"rating": "4"},
            follow_redirects=False,
        )
        assert response.status_code == 403

    def test_another_organizations_handoff_is_404(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        assert _rate(member_client, handoff_world.other_handoff.id, "4").status_code == 404

    def test_a_move_that_is_not_a_handoff_is_422(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        assert _rate(member_client, handoff_world.not_a_handoff.id, "4").status_code == 422

    def test_a_viewer_sees_no_form_and_cannot_rate(
        self, viewer_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        assert 'name="rating"' not in viewer_client.get(INBOX).text
        assert _rate(viewer_client, handoff_world.handoffs["H-002"].id, "4").status_code == 403

    def test_the_rater_can_change_the_rating(
        self, member_client: TestClient, handoff_world: HandoffWorld
    ) -> None:
        response = _rate(member_client, handoff_world.rated.id, "3", "後で予算も確認できた")
        assert response.status_code == 303
        assert "後で予算も確認できた" in member_client.get(INBOX).text


class TestReport:
    def test_counts_the_organizations_handoffs(self, member_client: TestClient) -> None:
        html = member_client.get(REPORT).text
        assert re.search(r'id="total-handoffs">4<', html)
        assert re.search(r'id="total-rated">1<', html)

    def test_the_chart_data_is_json_for_the_script(self, member_client: TestClient) -> None:
        html = member_client.get(REPORT + "?period=month").text
        match = re.search(r'id="handoff-chart-data">(.*?)</script>', html, re.S)
        assert match
        data = json.loads(match.group(1))
        assert sum(data["handoffs"]) == 4

    def test_the_script_is_served_locally(self, member_client: TestClient) -> None:
        html = member_client.get(REPORT).text
        assert '<script src="/static/crm-handoffs.js" defer></script>' in html
        assert member_client.get("/static/crm-handoffs.js").status_code == 200

    def test_a_bad_date_is_422(self, member_client: TestClient) -> None:
        assert member_client.get(REPORT + "?start=2026-13-01").status_code == 422

    def test_a_bad_period_is_422(self, member_client: TestClient) -> None:
        assert member_client.get(REPORT + "?period=day").status_code == 422

    def test_another_organizations_handoffs_are_not_counted(
        self, member_client: TestClient
    ) -> None:
        assert "よその客" not in member_client.get(REPORT).text
