"""The collaboration and clean-room pages through the TestClient: who sees which page, the
agreement in words, acceptance and matching from the page, the analyst's question and the
promotion report, the privacy officer's record, and nothing of another organization."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.e2e.linkage_pages.world import PROMOTION, LinkageWorld
from tests.e2e.pages.conftest import csrf_of
from tsunagu.core.templating import LANG_COOKIE
from tsunagu.identity.models import StaffUser
from tsunagu.linkage.models import CleanroomQuery, Collaboration

SignIn = Callable[[StaffUser], TestClient]


def chart_option(html: str, chart: str) -> dict[str, Any]:
    """The ECharts option a page embeds for the chart ``chart``."""
    assert f'data-chart="{chart}"' in html
    match = re.search(rf'<script type="application/json" id="{chart}">(.*?)</script>', html, re.S)
    assert match is not None
    option: dict[str, Any] = json.loads(match.group(1))
    return option


def ask(client: TestClient, collab: Collaboration, **fields: Any) -> Any:
    token = csrf_of(client.get(f"/cleanroom/{collab.id}").text)
    return client.post(f"/cleanroom/{collab.id}", data={"csrf_token": token, **fields})


def promotion(client: TestClient, collab: Collaboration, **fields: Any) -> Any:
    token = csrf_of(client.get(f"/cleanroom/{collab.id}/promotion").text)
    data = {"start": PROMOTION[0].isoformat(), "end": PROMOTION[1].isoformat(), **fields}
    return client.post(f"/cleanroom/{collab.id}/promotion", data={"csrf_token": token, **data})


def paths(world: LinkageWorld) -> list[str]:
    c = world.collab.id
    return [
        "/linkage",
        "/linkage/new",
        f"/linkage/{c}",
        f"/linkage/{c}/record",
        f"/cleanroom/{c}",
        f"/cleanroom/{c}/promotion",
    ]


class TestSignIn:
    def test_every_page_sends_a_browser_without_a_session_to_sign_in(
        self, client: TestClient, linkage_world: LinkageWorld
    ) -> None:
        for path in paths(linkage_world):
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/signin?next="), path


class TestTenantIsolation:
    @pytest.mark.parametrize("suffix", ["", "/record"])
    def test_another_organization_gets_not_found(
        self, signed_in: SignIn, linkage_world: LinkageWorld, suffix: str
    ) -> None:
        client = signed_in(linkage_world.other_admin)
        assert client.get(f"/linkage/{linkage_world.collab.id}{suffix}").status_code == 404

    @pytest.mark.parametrize("suffix", ["", "/promotion"])
    def test_another_organization_gets_not_found_in_the_clean_room(
        self, signed_in: SignIn, linkage_world: LinkageWorld, suffix: str
    ) -> None:
        client = signed_in(linkage_world.other_admin)
        assert client.get(f"/cleanroom/{linkage_world.collab.id}{suffix}").status_code == 404

    def test_another_organization_lists_nothing(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        html = signed_in(linkage_world.other_admin).get("/linkage").text
        assert 'id="no-collaborations"' in html
        assert str(linkage_world.collab.id) not in html

    def test_the_provider_may_not_use_the_clean_room(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.retailer_admin)
        assert client.get(f"/cleanroom/{linkage_world.collab.id}").status_code == 403


class TestList:
    def test_lists_the_organizations_collaborations_with_partner_and_status(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        client.cookies.set(LANG_COOKIE, "en")
        html = client.get("/linkage").text
        assert f'data-collaboration="{linkage_world.collab.id}"' in html
        assert f'data-collaboration="{linkage_world.proposed.id}"' in html
        assert "みなと百貨店" in html
        assert "Waiting for acceptance" in html
        assert "Active" in html

    def test_the_staff_navigation_links_the_collaborations(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        html = signed_in(linkage_world.maker_analyst).get("/dashboard").text
        assert 'href="/linkage"' in html


class TestPropose:
    def test_an_admin_proposes_through_the_form(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_admin)
        token = csrf_of(client.get("/linkage/new").text)
        response = client.post(
            "/linkage/new",
            data={
                "csrf_token": token,
                "name": "販促効果の測定",
                "partner": linkage_world.retailer.slug,
                "role": "recipient",
                "purpose": "research-development",
                "categories": ["purchase"],
                "dimensions": ["segment", "member"],
                "measures": ["persons"],
                "forbidden_uses_ja": "個人の特定",
                "forbidden_uses_en": "Re-identification",
                "expires_on": "2099-12-31",
                "min_group_size": "50",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        html = client.get(response.headers["location"]).text
        assert "販促効果の測定" in html
        assert 'data-role="provider" data-accepted="false"' in html
        assert 'data-role="recipient" data-accepted="true"' in html

    def test_a_bad_partner_is_shown_on_the_form(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_admin)
        token = csrf_of(client.get("/linkage/new").text)
        response = client.post(
            "/linkage/new",
            data={
                "csrf_token": token,
                "name": "x",
                "partner": "no-such-organization",
                "role": "recipient",
                "purpose": "research-development",
                "categories": ["purchase"],
                "dimensions": ["segment"],
                "measures": ["persons"],
                "expires_on": "2099-12-31",
            },
        )
        assert response.status_code == 422
        assert 'id="form-error"' in response.text

    def test_a_member_may_not_open_the_proposal_form(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        response = signed_in(linkage_world.maker_analyst).get("/linkage/new")
        assert response.status_code == 403


class TestAgreement:
    def test_shows_the_terms_in_words(self, signed_in: SignIn, linkage_world: LinkageWorld) -> None:
        client = signed_in(linkage_world.maker_analyst)
        client.cookies.set(LANG_COOKIE, "en")
        html = client.get(f"/linkage/{linkage_world.collab.id}").text
        assert "Re-identification; ad targeting" in html
        assert "3 persons" in html
        assert "ε 0 of 2 spent" in html

    def test_shows_the_forbidden_uses_in_japanese(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        client.cookies.set(LANG_COOKIE, "ja")
        assert (
            "個人の特定、広告配信への利用" in client.get(f"/linkage/{linkage_world.collab.id}").text
        )

    def test_shows_the_match_counts(self, signed_in: SignIn, linkage_world: LinkageWorld) -> None:
        html = (
            signed_in(linkage_world.retailer_admin).get(f"/linkage/{linkage_world.collab.id}").text
        )
        assert re.search(r'id="match-consenting">40<', html)
        assert 'id="match-form"' in html

    def test_the_recipient_gets_no_match_button(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        html = signed_in(linkage_world.maker_admin).get(f"/linkage/{linkage_world.collab.id}").text
        assert 'id="match-form"' not in html

    def test_the_provider_admin_runs_the_match_from_the_page(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.retailer_admin)
        url = f"/linkage/{linkage_world.collab.id}"
        token = csrf_of(client.get(url).text)
        response = client.post(f"{url}/match", data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
        assert 'id="notice"' in client.get(response.headers["location"]).text

    def test_the_provider_admin_chooses_probabilistic_matching(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.retailer_admin)
        url = f"/linkage/{linkage_world.collab.id}"
        token = csrf_of(client.get(url).text)
        response = client.post(
            f"{url}/match", data={"csrf_token": token, "method": "probabilistic"}
        )
        assert response.status_code == 200
        assert "確率的照合（Splink）" in response.text  # the demo staff read Japanese

    def test_a_threshold_for_keyed_pseudonyms_is_explained_on_the_page(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.retailer_admin)
        url = f"/linkage/{linkage_world.collab.id}"
        token = csrf_of(client.get(url).text)
        response = client.post(
            f"{url}/match", data={"csrf_token": token, "method": "pseudonym", "threshold": "0.9"}
        )
        assert response.status_code == 422
        assert 'id="page-error"' in response.text

    def test_a_match_that_cannot_run_is_explained_on_the_page(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.retailer_admin)
        url = f"/linkage/{linkage_world.proposed.id}"
        token = csrf_of(client.get(url).text)
        response = client.post(f"{url}/match", data={"csrf_token": token})
        assert response.status_code == 409
        assert 'id="page-error"' in response.text

    def test_the_other_sides_admin_accepts_from_the_page(
        self, db: Session, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_admin)
        url = f"/linkage/{linkage_world.proposed.id}"
        html = client.get(url).text
        assert 'id="accept-form"' in html
        response = client.post(
            f"{url}/accept",
            data={"csrf_token": csrf_of(html), "version": "1"},
            follow_redirects=False,
        )
        assert response.status_code == 303
        status = db.scalar(
            select(Collaboration.status).where(Collaboration.id == linkage_world.proposed.id)
        )
        assert status == "active"

    def test_a_non_admin_accepting_gets_the_friendly_forbidden_page(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        url = f"/linkage/{linkage_world.proposed.id}"
        html = client.get(url).text
        assert 'id="accept-form"' not in html
        response = client.post(f"{url}/accept", data={"csrf_token": csrf_of(html), "version": "1"})
        assert response.status_code == 403
        assert "<h1" in response.text


class TestCleanRoom:
    def test_the_analyst_sees_the_form_and_the_budget(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        html = (
            signed_in(linkage_world.maker_analyst).get(f"/cleanroom/{linkage_world.collab.id}").text
        )
        assert 'id="ask-form"' in html
        assert 'id="budget-left"' in html

    def test_an_answer_comes_as_a_table_and_a_chart(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        client.cookies.set(LANG_COOKIE, "en")
        response = ask(
            client, linkage_world.collab, measures=["persons", "amount_sum"], dimensions=["member"]
        )
        assert response.status_code == 200
        option = chart_option(response.text, "answer-chart-data")
        assert sorted(option["xAxis"]["data"]) == ["Member customers", "Non-members"]
        assert 'id="answer-table"' in response.text

    def test_withheld_cells_are_counted_and_explained(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        client.cookies.set(LANG_COOKIE, "en")
        response = ask(client, linkage_world.collab, measures=["persons"], dimensions=["category"])
        assert "Withheld cells: 1. Cells with fewer than 3 persons are withheld" in response.text

    def test_a_refused_question_is_a_message_on_the_page(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        client.cookies.set(LANG_COOKIE, "en")
        response = ask(
            client, linkage_world.collab, measures=["persons"], dimensions=["prefecture"]
        )
        assert response.status_code == 422
        assert 'data-code="query_refused"' in response.text
        assert 'id="ask-form"' in response.text

    def test_a_refused_question_leaves_no_log_row(
        self, db: Session, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        ask(client, linkage_world.collab, measures=["persons"], dimensions=["prefecture"])
        assert db.scalars(select(CleanroomQuery)).all() == []

    def test_a_noisy_answer_spends_the_budget(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        client.cookies.set(LANG_COOKIE, "en")
        response = ask(client, linkage_world.collab, measures=["persons"], noise="1")
        assert "ε 1.5 of 2" in response.text

    def test_an_agreement_that_requires_noise_gets_it_unticked(
        self, db: Session, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        collab = linkage_world.collab
        collab.rules = {**collab.rules, "require_noise": True}
        db.commit()
        client = signed_in(linkage_world.maker_analyst)
        client.cookies.set(LANG_COOKIE, "en")
        response = ask(client, collab, measures=["persons"])
        assert "ε 1.5 of 2" in response.text


class TestPromotionReport:
    def test_the_form_suggests_a_window(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        html = (
            signed_in(linkage_world.maker_analyst)
            .get(f"/cleanroom/{linkage_world.collab.id}/promotion?start=2026-03-02&end=2026-03-15")
            .text
        )
        assert 'value="2026-03-02"' in html

    def test_the_form_suggests_the_last_promotion_asked_about(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        ask(
            client,
            linkage_world.collab,
            measures=["persons"],
            dimensions=["promotion_period"],
            promotion_start="2026-03-02",
            promotion_end="2026-03-15",
            category="food",
        )
        html = client.get(f"/cleanroom/{linkage_world.collab.id}/promotion").text
        assert 'id="start" name="start" type="date" value="2026-03-02"' in html
        assert 'name="category" value="food"' in html

    def test_uplift_is_the_members_change_minus_the_non_members_change(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        client = signed_in(linkage_world.maker_analyst)
        html = promotion(client, linkage_world.collab).text
        row = re.search(r'<tr data-segment="loyal">(.*?)</tr>', html, re.S)
        assert row is not None
        assert "+500" in row.group(1)

    def test_a_withheld_segment_reads_a_dash(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        html = promotion(signed_in(linkage_world.maker_analyst), linkage_world.collab).text
        row = re.search(r'<tr data-segment="vip">(.*?)</tr>', html, re.S)
        assert row is not None
        assert "—" in row.group(1)

    def test_the_report_draws_bars_and_weekly_lines(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        html = promotion(signed_in(linkage_world.maker_analyst), linkage_world.collab).text
        assert len(chart_option(html, "uplift-chart-data")["series"]) == 4
        assert chart_option(html, "weekly-chart-data")["xAxis"]["data"] == [
            "2026-02-16",
            "2026-02-23",
            "2026-03-02",
            "2026-03-09",
        ]

    def test_the_report_asks_three_logged_questions(
        self, db: Session, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        promotion(signed_in(linkage_world.maker_analyst), linkage_world.collab)
        assert len(db.scalars(select(CleanroomQuery)).all()) == 3


class TestRecord:
    def test_the_providers_privacy_officer_sees_the_question_logged(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        ask(
            signed_in(linkage_world.maker_analyst),
            linkage_world.collab,
            measures=["persons"],
            dimensions=["member"],
        )
        client = signed_in(linkage_world.retailer_admin)
        client.cookies.set(LANG_COOKIE, "en")
        html = client.get(f"/linkage/{linkage_world.collab.id}/record").text
        assert "Persons by Member or not" in html
        assert "分析 花子" in html
        assert 'id="provisions"' in html

    def test_the_recipient_sees_its_questions_but_no_exact_person_counts(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        ask(
            signed_in(linkage_world.maker_analyst),
            linkage_world.collab,
            measures=["persons"],
            dimensions=["member"],
        )
        client = signed_in(linkage_world.maker_admin)
        client.cookies.set(LANG_COOKIE, "en")
        html = client.get(f"/linkage/{linkage_world.collab.id}/record").text
        assert "Persons by Member or not" in html
        assert 'id="counts-provider-only"' in html
        row = re.search(r'<tr data-query="[^"]+">(.*?)</tr>', html, re.S)
        assert row is not None
        released, withheld, persons = re.findall(r'<td class="num">(.*?)</td>', row.group(1))[:3]
        assert (released, withheld, persons) == ("2", "0", "—")

    def test_the_recipient_sees_no_customer_counts_of_the_match(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        html = signed_in(linkage_world.maker_admin).get(f"/linkage/{linkage_world.collab.id}").text
        assert 'id="match-consenting"' not in html
        assert 'id="match-matched"' in html

    def test_the_record_lists_the_ledger_entries_of_each_step(
        self, signed_in: SignIn, linkage_world: LinkageWorld
    ) -> None:
        html = (
            signed_in(linkage_world.maker_admin)
            .get(f"/linkage/{linkage_world.collab.id}/record")
            .text
        )
        for kind in ("linkage.accepted", "linkage.dataset", "linkage.match"):
            assert f'data-kind="{kind}"' in html
