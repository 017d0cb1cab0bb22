"""The metrics pages (flow and balance, funnel, win rates, customer success) through the
TestClient, on the real ``crm.metrics``: the default range, the chart options embedded as
JSON for /static/crm-charts.js (and the same numbers in tables), the Sankey's return
nodes, the bottleneck call-out, the segment filters, both languages, and nothing of
another organization."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.crm_pages.world import CrmWorld
from tsunagu.core.clock import utcnow
from tsunagu.core.templating import LANG_COOKIE
from tsunagu.crm import service
from tsunagu.crm.models import CrmTarget

TOKYO = ZoneInfo("Asia/Tokyo")
PAGES = ("/crm/metrics", "/crm/funnel", "/crm/win-rates", "/crm/customer-success")


def chart_option(html: str, chart: str) -> dict[str, Any]:
    """The ECharts option a page embeds for the chart element ``chart``."""
    assert f'data-chart="{chart}-data"' in html
    match = re.search(
        rf'<script type="application/json" id="{chart}-data">(.*?)</script>', html, re.S
    )
    assert match is not None
    option: dict[str, Any] = json.loads(match.group(1))
    return option


@pytest.fixture
def bottleneck_world(db: Session, crm_world: CrmWorld) -> CrmWorld:
    """Six leads in the latest week whose 90-day window has closed, one of which became
    nurturing, against a configured target of 90 % for lead → nurturing."""
    today = utcnow().astimezone(TOKYO).date()
    end = today + timedelta(days=1)
    boundary = end - timedelta(days=90)
    week_end = boundary - timedelta(days=boundary.weekday())
    entered = datetime.combine(week_end - timedelta(days=4), time(12), TOKYO)
    for i in range(6):
        entity = service.create_entity(db, crm_world.org.id, ref=f"B-{i}", name=f"見込み{i}")
        service.move(
            db, crm_world.org.id, entity.id, "lead", actor="import", source="import", at=entered
        )
        if i == 0:
            service.move(
                db,
                crm_world.org.id,
                entity.id,
                "nurturing",
                actor="import",
                source="import",
                at=entered + timedelta(days=1),
            )
    db.add(
        CrmTarget(
            organization_id=crm_world.org.id, from_stage="lead", to_stage="nurturing", rate=0.9
        )
    )
    db.commit()
    return crm_world


class TestEveryMetricsPage:
    @pytest.mark.parametrize("path", PAGES)
    def test_renders_in_japanese(self, member_client: TestClient, path: str) -> None:
        response = member_client.get(path)
        assert response.status_code == 200
        assert response.headers["content-language"] == "ja"
        assert '<script src="/static/crm-charts.js" defer></script>' in response.text

    @pytest.mark.parametrize("path", PAGES)
    def test_renders_in_english(self, member_client: TestClient, path: str) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        response = member_client.get(path)
        assert response.status_code == 200
        assert response.headers["content-language"] == "en"
        assert "Range and filters" in response.text

    @pytest.mark.parametrize("path", PAGES)
    def test_a_visitor_is_sent_to_sign_in(self, client: TestClient, path: str) -> None:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303

    def test_the_default_range_is_the_last_26_weeks_in_tokyo(
        self, member_client: TestClient
    ) -> None:
        html = member_client.get("/crm/metrics").text
        today = utcnow().astimezone(TOKYO).date()
        first = today + timedelta(days=1) - timedelta(weeks=26)
        assert f'name="start" type="date" value="{first.isoformat()}"' in html
        assert f'name="last" type="date" value="{today.isoformat()}"' in html

    def test_a_bad_date_falls_back_to_the_default_range_with_a_message(
        self, member_client: TestClient
    ) -> None:
        response = member_client.get("/crm/metrics", params={"start": "2026-13-40"})
        assert response.status_code == 200
        assert 'id="range-error"' in response.text

    def test_the_sub_navigation_links_the_campaign_and_handoff_pages(
        self, member_client: TestClient
    ) -> None:
        html = member_client.get("/crm/metrics").text
        assert 'href="/crm/campaigns"' in html
        assert 'href="/crm/handoffs"' in html


class TestFlowAndBalance:
    def test_balance_is_a_stacked_area_per_stage_with_the_same_numbers_in_a_table(
        self, member_client: TestClient
    ) -> None:
        html = member_client.get("/crm/metrics", params={"period": "month"}).text
        option = chart_option(html, "chart-balance")
        series = option["series"]
        assert {s["stack"] for s in series} == {"balance"}
        assert all("areaStyle" in s for s in series)
        won = next(s for s in series if s["name"] == "受注")
        table = html.split('id="balance-table"')[1].split("</table>")[0]
        last_row = re.findall(r'<tr data-start="[^"]+">(.*?)</tr>', table)
        cells = re.findall(r'<td data-stage="won">(\d+)</td>', last_row[-1])
        assert won["data"][-1] == int(cells[0]) == 1

    def test_lost_dead_end_and_churned_start_hidden_in_the_legend(
        self, member_client: TestClient
    ) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        option = chart_option(member_client.get("/crm/metrics").text, "chart-balance")
        selected = option["legend"]["selected"]
        assert selected["Dead end"] is False
        assert selected["Lead"] is True

    def test_the_sankey_marks_returns_to_an_earlier_stage(self, member_client: TestClient) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        option = chart_option(member_client.get("/crm/metrics").text, "chart-sankey")
        sankey = option["series"][0]
        assert sankey["type"] == "sankey"
        links = {(link["source"], link["target"]): link["kind"] for link in sankey["links"]}
        assert links[("Recycle", "Nurturing ↺")] == "return"
        assert links[("Lead", "Opportunity")] == "fast_pass"
        assert links[("Opportunity", "Lost")] == "lost"

    def test_the_flows_table_lists_every_flow_of_the_sankey(
        self, member_client: TestClient
    ) -> None:
        html = member_client.get("/crm/metrics").text
        links = chart_option(html, "chart-sankey")["series"][0]["links"]
        rows = re.findall(r'<tr data-kind="(\w+)">', html.split('id="flows-table"')[1])
        assert sorted(rows) == sorted(link["kind"] for link in links)

    def test_without_enough_entries_there_is_no_bottleneck(self, member_client: TestClient) -> None:
        assert 'id="bottleneck-none"' in member_client.get("/crm/metrics").text

    @pytest.mark.usefixtures("bottleneck_world")
    def test_the_bottleneck_is_called_out_with_why(self, member_client: TestClient) -> None:
        html = member_client.get("/crm/metrics").text
        assert re.search(r'class="headline" data-from="lead" data-to="nurturing"', html)
        why = re.search(r'<p id="bottleneck-why">(.*?)</p>', html, re.S)
        assert why is not None
        assert "リード→育成中" in why.group(1)
        assert "設定した目標（90.0%）" in why.group(1)

    @pytest.mark.usefixtures("bottleneck_world")
    def test_the_bottleneck_speaks_english_when_chosen(self, member_client: TestClient) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        html = member_client.get("/crm/metrics").text
        why = re.search(r'<p id="bottleneck-why">(.*?)</p>', html, re.S)
        assert why is not None
        assert "Lead → Nurturing" in why.group(1)
        assert "the configured target" in why.group(1)

    def test_never_counts_another_organizations_entities(self, member_client: TestClient) -> None:
        option = chart_option(member_client.get("/crm/metrics").text, "chart-sankey")
        first = [
            link["value"]
            for link in option["series"][0]["links"]
            if link["source"] == "新規" and link["target"] == "リード"
        ]
        assert first == [7]


class TestFunnel:
    def test_the_funnel_starts_at_the_first_stage_with_the_cumulative_rates(
        self, member_client: TestClient
    ) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        option = chart_option(member_client.get("/crm/funnel").text, "chart-funnel")
        data = option["series"][0]["data"]
        assert option["series"][0]["type"] == "funnel"
        assert data[0] == {"name": "Lead", "value": 100.0}
        assert [d["name"] for d in data[1:4]] == ["Nurturing", "Promising", "Qualified"]
        values = [d["value"] for d in data]
        assert values == sorted(values, reverse=True)

    def test_the_step_table_shows_each_consecutive_step(self, member_client: TestClient) -> None:
        html = member_client.get("/crm/funnel").text
        steps = re.findall(r'<tr data-step="(\w+)>(\w+)">', html)
        assert steps[0] == ("lead", "nurturing")
        assert len(steps) == 9

    def test_time_in_stage_and_ageing_are_drawn(self, member_client: TestClient) -> None:
        html = member_client.get("/crm/funnel").text
        assert chart_option(html, "chart-time")["series"][0]["type"] == "bar"
        assert chart_option(html, "chart-ageing")["series"][0]["stack"] == "age"


class TestWinRates:
    def test_shows_the_win_rate_by_count_and_amount(self, member_client: TestClient) -> None:
        html = member_client.get("/crm/win-rates").text
        assert re.search(r'id="win-rate">66\.7%<', html)
        assert re.search(r'id="win-rate-amount">84\.3%<', html)

    def test_the_segment_filter_narrows_the_deals(self, member_client: TestClient) -> None:
        html = member_client.get("/crm/win-rates", params={"industry": "物流"}).text
        assert re.search(r'id="win-rate">0\.0%<', html)

    def test_breaks_down_by_owner_with_the_staff_name(self, member_client: TestClient) -> None:
        html = member_client.get("/crm/win-rates", params={"by": "owner"}).text
        table = html.split('id="segment-table"')[1].split("</table>")[0]
        assert "営業 太郎" in table
        option = chart_option(html, "chart-segment")
        assert option["yAxis"]["data"] == ["営業 太郎"]

    def test_the_owner_filter_narrows_the_deals(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        html = member_client.get("/crm/win-rates", params={"owner": str(crm_world.viewer.id)}).text
        assert re.search(r'id="win-rate">—<', html)


class TestCustomerSuccess:
    def test_draws_renewal_churn_and_nrr_per_period(self, member_client: TestClient) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        option = chart_option(member_client.get("/crm/customer-success").text, "chart-health")
        assert [s["name"] for s in option["series"]] == [
            "Renewal rate",
            "Churn rate",
            "Net revenue retention",
        ]
