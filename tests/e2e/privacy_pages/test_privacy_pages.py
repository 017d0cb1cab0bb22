"""The privacy officer's pages through the TestClient: what each page shows, who may
write, CSRF, and that only the staff's own organization's data ever appears."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.pages.conftest import csrf_of
from tests.e2e.privacy_pages.world import PrivacyWorld
from tsunagu.core.settings import Settings
from tsunagu.ledger.entry import b64, pseudonym

PURPOSE_FORM = {
    "code": "loyalty-programme",
    "label_ja": "ポイントプログラム",
    "label_en": "Loyalty programme",
    "description_ja": "ポイントの付与に利用します。",
    "description_en": "To award loyalty points.",
}


def _post_form(client: TestClient, page: str, action: str, data: dict[str, str]) -> object:
    token = csrf_of(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


class TestSignIn:
    def test_a_visitor_is_sent_to_sign_in(self, client: TestClient) -> None:
        response = client.get("/privacy/requests", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")


class TestOverview:
    def test_counts_open_and_overdue_requests(self, admin_client: TestClient) -> None:
        html = admin_client.get("/privacy").text
        assert re.search(r'id="open-requests">2<', html)
        assert re.search(r'id="overdue-requests">1<', html)

    def test_the_dashboard_links_to_privacy_management(self, admin_client: TestClient) -> None:
        assert 'href="/privacy/requests"' in admin_client.get("/dashboard").text


class TestCatalogue:
    def test_marks_sensitive_categories(self, admin_client: TestClient) -> None:
        html = admin_client.get("/privacy/catalogue").text
        row = re.search(r'<tr data-code="health.checkup">.*?</tr>', html, re.S)
        assert row
        assert "badge sensitive" in row.group(0)

    def test_shows_the_dpv_iri_of_default_purposes(self, admin_client: TestClient) -> None:
        assert "https://w3id.org/dpv#Marketing" in admin_client.get("/privacy/catalogue").text

    def test_an_admin_adds_a_purpose(self, admin_client: TestClient) -> None:
        response = _post_form(
            admin_client, "/privacy/catalogue", "/privacy/catalogue/purposes", PURPOSE_FORM
        )
        assert response.status_code == 303  # type: ignore[attr-defined]
        html = admin_client.get("/privacy/catalogue").text
        assert '<tr data-code="loyalty-programme">' in html

    def test_a_taken_code_is_refused_with_the_form_kept(self, admin_client: TestClient) -> None:
        response = _post_form(
            admin_client,
            "/privacy/catalogue",
            "/privacy/catalogue/purposes",
            {**PURPOSE_FORM, "code": "marketing"},
        )
        assert response.status_code == 409  # type: ignore[attr-defined]
        assert 'value="ポイントプログラム"' in response.text  # type: ignore[attr-defined]

    def test_a_member_cannot_add_a_purpose(self, member_client: TestClient) -> None:
        response = _post_form(
            member_client, "/privacy/catalogue", "/privacy/catalogue/purposes", PURPOSE_FORM
        )
        assert response.status_code == 403  # type: ignore[attr-defined]

    def test_a_post_without_csrf_token_is_refused(self, admin_client: TestClient) -> None:
        admin_client.get("/privacy/catalogue")
        response = admin_client.post("/privacy/catalogue/purposes", data=PURPOSE_FORM)
        assert response.status_code == 403


class TestConsents:
    def test_the_chart_has_one_bar_group_per_purpose(self, admin_client: TestClient) -> None:
        html = admin_client.get("/privacy/consents").text
        svg = re.search(r'<svg id="consent-chart".*?</svg>', html, re.S)
        assert svg is not None
        groups = re.findall(r'<g class="bar-group" data-purpose="([^"]+)"', svg.group(0))
        assert groups == ["customer-care", "marketing"]

    def test_the_chart_is_described_for_screen_readers(self, admin_client: TestClient) -> None:
        html = admin_client.get("/privacy/consents").text
        assert 'role="img" aria-labelledby="chart-title chart-desc"' in html

    def test_the_table_beside_the_chart_holds_the_numbers(self, admin_client: TestClient) -> None:
        html = admin_client.get("/privacy/consents").text
        row = re.search(r'<tr data-purpose="customer-care">(.*?)</tr>', html, re.S)
        assert row is not None
        assert re.findall(r"<td>(\d+)</td>", row.group(1)) == ["0", "1", "0", "0"]

    def test_latest_consents_show_the_reference_never_the_name(
        self, admin_client: TestClient
    ) -> None:
        html = admin_client.get("/privacy/consents").text
        table = re.search(r'<table id="latest-consents">.*?</table>', html, re.S)
        assert table is not None
        assert "C-0001" in table.group(0)
        assert "山田" not in table.group(0)


class TestRequests:
    def test_the_queue_is_sorted_by_due_date(
        self, admin_client: TestClient, privacy_world: PrivacyWorld
    ) -> None:
        html = admin_client.get("/privacy/requests").text
        ids = re.findall(r'<li class="request[^"]*" id="request-([^"]+)"', html)
        assert ids == [str(privacy_world.overdue.id), str(privacy_world.request.id)]

    def test_an_overdue_request_is_highlighted(
        self, admin_client: TestClient, privacy_world: PrivacyWorld
    ) -> None:
        html = admin_client.get("/privacy/requests").text
        assert f'class="request overdue" id="request-{privacy_world.overdue.id}"' in html

    def test_an_admin_answers_a_request(
        self, admin_client: TestClient, privacy_world: PrivacyWorld
    ) -> None:
        action = f"/privacy/requests/{privacy_world.request.id}/answer"
        data = {"answer": "開示書面を郵送しました。", "outcome": "answer"}
        response = _post_form(admin_client, "/privacy/requests", action, data)
        assert response.status_code == 303  # type: ignore[attr-defined]
        html = admin_client.get(response.headers["location"]).text  # type: ignore[attr-defined]
        closed = re.search(r'<table id="closed-requests">.*?</table>', html, re.S)
        assert closed
        assert "開示書面を郵送しました。" in closed.group(0)

    def test_an_empty_answer_is_refused(
        self, admin_client: TestClient, privacy_world: PrivacyWorld
    ) -> None:
        action = f"/privacy/requests/{privacy_world.request.id}/answer"
        response = _post_form(admin_client, "/privacy/requests", action, {"answer": " "})
        assert response.status_code == 422  # type: ignore[attr-defined]

    def test_another_organizations_request_is_not_found(
        self, admin_client: TestClient, privacy_world: PrivacyWorld
    ) -> None:
        action = f"/privacy/requests/{privacy_world.other_request.id}/answer"
        response = _post_form(admin_client, "/privacy/requests", action, {"answer": "done"})
        assert response.status_code == 404  # type: ignore[attr-defined]

    def test_a_member_cannot_answer(
        self, member_client: TestClient, privacy_world: PrivacyWorld
    ) -> None:
        action = f"/privacy/requests/{privacy_world.request.id}/answer"
        response = _post_form(member_client, "/privacy/requests", action, {"answer": "done"})
        assert response.status_code == 403  # type: ignore[attr-defined]


class TestProvisions:
    def test_lists_the_provision_with_the_pseudonym(
        self, admin_client: TestClient, privacy_world: PrivacyWorld, settings: Settings
    ) -> None:
        html = admin_client.get("/privacy/provisions").text
        subject = b64(pseudonym(settings.resolved_ledger_pseudonym_key(), privacy_world.person.id))
        assert subject in html

    def test_names_the_provider_organization(self, admin_client: TestClient) -> None:
        html = admin_client.get("/privacy/provisions").text
        table = re.search(r'<table id="provisions">.*?</table>', html, re.S)
        assert table is not None
        assert "べつの保険株式会社" in table.group(0)

    def test_a_period_before_the_provision_is_empty(self, admin_client: TestClient) -> None:
        html = admin_client.get("/privacy/provisions?since=2001-01-01&until=2001-12-31").text
        assert '<table id="provisions">' not in html

    def test_a_malformed_date_is_refused(self, admin_client: TestClient) -> None:
        assert admin_client.get("/privacy/provisions?since=yesterday").status_code == 422

    def test_the_csv_is_an_attachment_named_for_the_period(self, admin_client: TestClient) -> None:
        response = admin_client.get("/privacy/provisions.csv?since=2020-01-01&until=2099-12-31")
        disposition = response.headers["content-disposition"]
        assert disposition == 'attachment; filename="provisions_2020-01-01_2099-12-31.csv"'

    def test_the_csv_has_the_header_and_the_pseudonym_never_a_name(
        self, admin_client: TestClient, privacy_world: PrivacyWorld, settings: Settings
    ) -> None:
        text = admin_client.get("/privacy/provisions.csv").content.decode("utf-8-sig")
        header, *rows = text.splitlines()
        subject = b64(pseudonym(settings.resolved_ledger_pseudonym_key(), privacy_world.person.id))
        assert header.startswith("提供年月日 provided_at,")
        assert len(rows) == 1
        assert subject in rows[0]
        assert "山田" not in text
        assert "太郎" not in text
