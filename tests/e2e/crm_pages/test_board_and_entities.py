"""The pipeline board, the entity page, the move form, the new-entity form and the stage
model page through the TestClient: what each shows in both languages, who may write, CSRF,
friendly refusals that write nothing, and that another organization's data never appears."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import ClassVar

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.e2e.crm_pages.world import CrmWorld
from tests.e2e.pages.conftest import csrf_of
from tsunagu.core.clock import utcnow
from tsunagu.core.templating import LANG_COOKIE
from tsunagu.crm import activities, service
from tsunagu.crm.models import CrmEntity, CrmTransition

MAIN_LINE = [
    "lead",
    "nurturing",
    "promising",
    "qualified",
    "opportunity",
    "won",
    "onboarding",
    "implementation",
    "adoption",
    "renewal",
]


def _transitions(db: Session, world: CrmWorld, ref: str) -> int:
    db.expire_all()
    return int(
        db.scalar(
            select(func.count())
            .select_from(CrmTransition)
            .where(CrmTransition.entity_id == world.entity(ref).id)
        )
        or 0
    )


def _move(client: TestClient, world: CrmWorld, ref: str, data: dict[str, str]) -> object:
    path = f"/crm/entities/{world.entity(ref).id}"
    token = csrf_of(client.get(path).text)
    return client.post(f"{path}/move", data={**data, "csrf_token": token}, follow_redirects=False)


class TestSignIn:
    def test_a_visitor_is_sent_to_sign_in(self, client: TestClient) -> None:
        response = client.get("/crm", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")


class TestBoard:
    def test_has_a_column_per_stage_main_line_first_then_side_stages(
        self, member_client: TestClient
    ) -> None:
        html = member_client.get("/crm").text
        main = re.search(r'<div class="crm-board" id="board-main">(.*?)</div>\s*<h2', html, re.S)
        assert main is not None
        assert re.findall(r'<section class="crm-column[^"]*" id="stage-(\w+)"', main.group(1)) == (
            MAIN_LINE
        )
        side = html[html.index('id="board-side"') :]
        assert re.findall(r'<section class="crm-column[^"]*" id="stage-(\w+)"', side) == [
            "lost",
            "churned",
            "recycle",
            "dead_end",
        ]

    def test_counts_the_entities_in_each_stage(self, member_client: TestClient) -> None:
        html = member_client.get("/crm").text
        counts = dict(
            re.findall(r'id="stage-(\w+)".*?<span class="count" data-count>(\d+)<', html, re.S)
        )
        assert counts["won"] == "1"
        assert counts["opportunity"] == "1"
        assert counts["lost"] == "1"
        assert counts["promising"] == "0"

    def test_a_card_links_to_its_entity_with_amount_owner_and_days(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        html = member_client.get("/crm").text
        entity = crm_world.entity("D-004")
        card = re.search(rf'<li class="crm-card" data-entity="{entity.id}">(.*?)</li>', html, re.S)
        assert card is not None
        assert f'href="/crm/entities/{entity.id}"' in card.group(1)
        assert "¥2,000,000" in card.group(1)
        assert "営業 太郎" in card.group(1)
        assert "10日" in card.group(1)

    def test_filters_by_segment(self, member_client: TestClient) -> None:
        html = member_client.get("/crm", params={"industry": "製造業"}).text
        assert "北斗精機" in html
        assert "みなと物流" not in html
        assert re.search(r'id="board-total">[^<]*3', html)

    def test_filters_by_name(self, member_client: TestClient) -> None:
        html = member_client.get("/crm", params={"q": "みなと"}).text
        assert "みなと物流" in html
        assert "北斗精機" not in html

    def test_filters_by_owner(self, member_client: TestClient, crm_world: CrmWorld) -> None:
        html = member_client.get("/crm", params={"owner": str(crm_world.viewer.id)}).text
        assert "北斗精機" not in html
        assert re.search(r'id="board-total">[^<]*0', html)

    def test_never_shows_another_organizations_entity(self, member_client: TestClient) -> None:
        assert "他社の案件" not in member_client.get("/crm").text

    def test_speaks_japanese_by_default(self, member_client: TestClient) -> None:
        html = member_client.get("/crm").text
        assert "<h1>パイプラインボード</h1>" in html
        assert "サイドステージ" in html

    def test_speaks_english_when_chosen(self, member_client: TestClient) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        html = member_client.get("/crm").text
        assert "<h1>Pipeline board</h1>" in html
        assert "Side stages" in html


class TestEntityPage:
    def test_lists_activities_and_marks_the_one_that_moved_the_entity(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        entity = service.create_entity(db, crm_world.org.id, ref="ACT-1", name="活動テスト")
        now = utcnow()
        org_id = crm_world.org.id
        service.move(db, org_id, entity.id, "lead", actor="test", at=now - timedelta(hours=3))
        activities.record_activity(
            db, org_id, entity.id, kind="mail_click", at=now - timedelta(hours=2)
        )
        activities.record_activity(
            db, org_id, entity.id, kind="webinar_question", at=now - timedelta(hours=1)
        )

        html = member_client.get(f"/crm/entities/{entity.id}").text

        rows = re.findall(r'<tr data-kind="(\w+)">(.*?)</tr>', html, re.S)
        assert [kind for kind, _ in rows] == ["webinar_question", "mail_click"]
        assert "✓" in rows[1][1]
        assert "✓" not in rows[0][1]
        assert "メールのクリック" in rows[1][1]

    def test_shows_the_history_newest_first_with_fast_passes_marked(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        html = member_client.get(f"/crm/entities/{crm_world.entity('D-005').id}").text
        assert re.findall(r'data-to="(\w+)"', html) == ["won", "opportunity", "lead"]
        fast = re.search(r'<li class="move kind-fast_pass"[^>]*data-to="opportunity"', html)
        assert fast is not None
        assert "ファストパス" in html

    def test_marks_a_handoff_between_departments_with_a_link_to_rate_it(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        html = member_client.get(f"/crm/entities/{crm_world.entity('D-004').id}").text
        row = re.search(r'<li class="move[^"]*"[^>]*data-to="qualified">.*?</li>', html, re.S)
        assert row is not None
        assert 'href="/crm/handoffs"' in row.group(0)
        lead = re.search(r'<li class="move[^"]*"[^>]*data-to="nurturing">.*?</li>', html, re.S)
        assert lead is not None
        assert "/crm/handoffs" not in lead.group(0)

    def test_shows_times_in_the_organizations_time_zone(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        html = member_client.get(f"/crm/entities/{crm_world.entity('D-005').id}").text
        assert "JST" in html

    def test_shows_the_reason_of_a_lost_deal(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        html = member_client.get(f"/crm/entities/{crm_world.entity('D-002').id}").text
        assert "価格が合わなかった" in html

    def test_offers_only_the_moves_the_model_allows(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        html = member_client.get(f"/crm/entities/{crm_world.entity('D-008').id}").text
        select_html = re.search(r'<select id="to_stage".*?</select>', html, re.S)
        assert select_html is not None
        offered = re.findall(r'<option value="(\w+)"', select_html.group(0))
        assert offered == [
            "won",
            "onboarding",
            "implementation",
            "adoption",
            "renewal",
            "lost",
            "recycle",
            "dead_end",
        ]
        assert 'name="from_stage" value="opportunity"' in html

    def test_a_terminal_stage_has_no_move_form(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        html = member_client.get(f"/crm/entities/{crm_world.entity('D-006').id}").text
        assert 'id="move-form"' not in html
        assert "終端" in html

    def test_another_organizations_entity_is_not_found(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        assert crm_world.other_entity is not None
        response = member_client.get(f"/crm/entities/{crm_world.other_entity.id}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "他社の案件" not in response.text

    def test_a_viewer_sees_the_entity_but_no_move_form(
        self, viewer_client: TestClient, crm_world: CrmWorld
    ) -> None:
        html = viewer_client.get(f"/crm/entities/{crm_world.entity('D-004').id}").text
        assert "北斗精機" in html
        assert 'id="move-form"' not in html

    def test_speaks_english_when_chosen(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        html = member_client.get(f"/crm/entities/{crm_world.entity('D-005').id}").text
        assert "Move to another stage" in html
        assert "Fast pass" in html


class TestMove:
    def test_an_allowed_move_redirects_and_adds_a_history_row(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        response = _move(
            member_client,
            crm_world,
            "D-004",
            {"to_stage": "opportunity", "from_stage": "qualified", "reason": "初回商談"},
        )
        assert response.status_code == 303  # type: ignore[attr-defined]
        location = response.headers["location"]  # type: ignore[attr-defined]
        assert location == f"/crm/entities/{crm_world.entity('D-004').id}?moved=1"
        html = member_client.get(location).text
        assert 'role="status"' in html
        assert re.findall(r'data-to="(\w+)"', html)[0] == "opportunity"
        assert _transitions(db, crm_world, "D-004") == 5

    def test_the_move_records_the_staff_user_and_the_ui_as_source(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        _move(
            member_client,
            crm_world,
            "D-008",
            {"to_stage": "won", "from_stage": "opportunity", "amount": "1,400,000"},
        )
        db.expire_all()
        last = service.history(db, crm_world.org.id, crm_world.entity("D-008").id)[-1]
        assert (last.to_stage, last.actor, last.source, last.amount) == (
            "won",
            f"user:{crm_world.member.id}",
            "ui",
            1_400_000,
        )

    def test_lost_without_reason_is_refused_friendly_and_writes_nothing(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        response = _move(
            member_client, crm_world, "D-008", {"to_stage": "lost", "from_stage": "opportunity"}
        )
        assert response.status_code == 422  # type: ignore[attr-defined]
        assert "失注には理由が必要です" in response.text  # type: ignore[attr-defined]
        assert _transitions(db, crm_world, "D-008") == 2

    def test_lost_with_a_reason_is_recorded(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        response = _move(
            member_client,
            crm_world,
            "D-008",
            {"to_stage": "lost", "from_stage": "opportunity", "reason": "競合に負けた"},
        )
        assert response.status_code == 303  # type: ignore[attr-defined]
        assert _transitions(db, crm_world, "D-008") == 3

    def test_a_stale_page_is_refused_friendly_and_writes_nothing(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        response = _move(
            member_client, crm_world, "D-008", {"to_stage": "won", "from_stage": "qualified"}
        )
        assert response.status_code == 409  # type: ignore[attr-defined]
        assert "他の人がこの案件を移動しました" in response.text  # type: ignore[attr-defined]
        assert _transitions(db, crm_world, "D-008") == 2

    def test_a_move_the_model_forbids_is_refused_and_writes_nothing(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        response = _move(
            member_client, crm_world, "D-004", {"to_stage": "lead", "from_stage": "qualified"}
        )
        assert response.status_code == 422  # type: ignore[attr-defined]
        assert "この移動はできません" in response.text  # type: ignore[attr-defined]
        assert _transitions(db, crm_world, "D-004") == 4

    def test_a_bad_amount_is_refused_and_writes_nothing(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        response = _move(
            member_client,
            crm_world,
            "D-008",
            {"to_stage": "won", "from_stage": "opportunity", "amount": "-5"},
        )
        assert response.status_code == 422  # type: ignore[attr-defined]
        assert _transitions(db, crm_world, "D-008") == 2

    def test_the_refusal_is_explained_in_english_when_chosen(
        self, member_client: TestClient, crm_world: CrmWorld
    ) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        response = _move(
            member_client, crm_world, "D-008", {"to_stage": "lost", "from_stage": "opportunity"}
        )
        assert "A move to lost needs a reason" in response.text  # type: ignore[attr-defined]

    def test_another_organizations_entity_is_not_found_and_not_moved(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        assert crm_world.other_entity is not None
        token = csrf_of(member_client.get("/crm/entities/new").text)
        response = member_client.post(
            f"/crm/entities/{crm_world.other_entity.id}/move",
            data={"to_stage": "dead_end", "from_stage": "lead", "csrf_token": token},
        )
        assert response.status_code == 404
        db.expire_all()
        assert len(service.history(db, crm_world.other_org.id, crm_world.other_entity.id)) == 1

    def test_a_viewer_cannot_move(
        self, viewer_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        response = _move(
            viewer_client, crm_world, "D-008", {"to_stage": "won", "from_stage": "opportunity"}
        )
        assert response.status_code == 403  # type: ignore[attr-defined]
        assert _transitions(db, crm_world, "D-008") == 2

    def test_a_post_without_csrf_token_is_refused(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        response = member_client.post(
            f"/crm/entities/{crm_world.entity('D-008').id}/move",
            data={"to_stage": "won", "from_stage": "opportunity"},
        )
        assert response.status_code == 403
        assert _transitions(db, crm_world, "D-008") == 2


class TestNewEntity:
    FORM: ClassVar[dict[str, str]] = {
        "ref": "D-100",
        "name": "新緑工業",
        "industry": "製造業",
        "amount": "900000",
        "stage": "promising",
    }

    def _post(self, client: TestClient, data: dict[str, str]) -> object:
        token = csrf_of(client.get("/crm/entities/new").text)
        return client.post(
            "/crm/entities", data={**data, "csrf_token": token}, follow_redirects=False
        )

    def test_creates_the_entity_in_its_first_stage(
        self, member_client: TestClient, crm_world: CrmWorld, db: Session
    ) -> None:
        response = self._post(member_client, self.FORM)
        assert response.status_code == 303  # type: ignore[attr-defined]
        db.expire_all()
        entity = service.entity_by_ref(db, crm_world.org.id, "D-100")
        assert response.headers["location"] == (  # type: ignore[attr-defined]
            f"/crm/entities/{entity.id}?created=1"
        )
        here = service.current(db, entity.id)
        assert here is not None
        assert here.stage == "promising"

    def test_a_first_stage_past_lead_is_offered_as_a_fast_pass(
        self, member_client: TestClient
    ) -> None:
        html = member_client.get("/crm/entities/new").text
        assert re.search(r'<option value="promising"[^>]*>有望 — ファストパス', html)
        assert '<option value="dead_end"' not in html

    def test_a_taken_reference_is_refused_with_the_form_kept(
        self, member_client: TestClient, db: Session
    ) -> None:
        response = self._post(member_client, {**self.FORM, "ref": "D-001"})
        assert response.status_code == 409  # type: ignore[attr-defined]
        assert 'value="新緑工業"' in response.text  # type: ignore[attr-defined]
        db.expire_all()
        assert db.scalar(select(func.count()).where(CrmEntity.name == "新緑工業")) == 0

    def test_a_missing_name_is_refused(self, member_client: TestClient) -> None:
        response = self._post(member_client, {**self.FORM, "name": ""})
        assert response.status_code == 422  # type: ignore[attr-defined]
        assert "管理番号と名前が必要です" in response.text  # type: ignore[attr-defined]

    def test_a_viewer_cannot_create(self, viewer_client: TestClient) -> None:
        response = self._post(viewer_client, self.FORM)
        assert response.status_code == 403  # type: ignore[attr-defined]

    def test_speaks_english_when_chosen(self, member_client: TestClient) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        assert "Create the entity" in member_client.get("/crm/entities/new").text


class TestStageModel:
    def test_lists_the_stages_by_department_with_their_criteria(
        self, member_client: TestClient
    ) -> None:
        html = member_client.get("/crm/stages").text
        departments = re.findall(r'<h2 id="dept-(\w+)">', html)
        assert departments == ["marketing", "inside_sales", "field_sales", "customer_success"]
        assert "資料請求・問い合わせがあった" in html

    def test_shows_where_each_stage_may_move(self, member_client: TestClient) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        html = member_client.get("/crm/stages").text
        row = re.search(r'<tr data-stage="recycle">.*?</tr>', html, re.S)
        assert row is not None
        assert "Nurturing" in row.group(0)
        assert "Return" in row.group(0)
        terminal = re.search(r'<tr data-stage="dead_end">.*?</tr>', html, re.S)
        assert terminal is not None
        assert "Nothing (terminal)" in terminal.group(0)
