"""The KPT pages through the TestClient: the history of boards, a board's three columns,
adding, editing, voting, Try → case, closing and the next period — with CSRF, the
viewer's read-only view and another organization's boards answering 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.e2e.cases_kpt.world import KptWorld
from tests.e2e.pages.conftest import csrf_of
from tsunagu.cases.models import Case, KptBoard, KptCard


def board_url(world: KptWorld) -> str:
    return f"/cases/kpt/{world.board.id}"


def post(client: TestClient, url: str, page: str, **data: str) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


class TestHistory:
    def test_lists_the_boards_with_their_counts(self, member_client: TestClient) -> None:
        html = member_client.get("/cases/projects/SUP/kpt").text
        row = re.search(r'<tr data-period="2026-11">(.*?)</tr>', html, re.S)
        assert row is not None
        assert re.findall(r'<td class="num">(\d+)</td>', row.group(1)) == ["1", "1", "1", "0"]

    def test_a_member_starts_a_board(self, member_client: TestClient, db: Session) -> None:
        response = post(
            member_client, "/cases/projects/SUP/kpt", "/cases/projects/SUP/kpt", period="2026-W48"
        )
        assert response.status_code == 303
        made = db.scalar(select(KptBoard).where(KptBoard.period == "2026-W48"))
        assert made is not None
        assert response.headers["location"] == f"/cases/kpt/{made.id}"

    def test_a_taken_period_is_shown_again_with_the_reason(self, member_client: TestClient) -> None:
        response = post(
            member_client, "/cases/projects/SUP/kpt", "/cases/projects/SUP/kpt", period="2026-11"
        )
        assert response.status_code == 409
        assert 'id="kpt-error"' in response.text

    def test_a_viewer_sees_no_new_board_form(self, viewer_client: TestClient) -> None:
        html = viewer_client.get("/cases/projects/SUP/kpt").text
        assert "2026-11" in html
        assert 'id="new-board-form"' not in html

    def test_is_in_japanese_and_english(self, member_client: TestClient) -> None:
        ja = member_client.get("/cases/projects/SUP/kpt", headers={"Accept-Language": "ja"})
        member_client.cookies.set("lang", "en")
        en = member_client.get("/cases/projects/SUP/kpt", headers={"Accept-Language": "en"})
        assert "KPT ふりかえり" in ja.text
        assert "KPT retrospectives" in en.text


class TestBoard:
    def test_shows_three_columns_with_the_cards(
        self, member_client: TestClient, kpt_world: KptWorld
    ) -> None:
        html = member_client.get(board_url(kpt_world)).text
        for kind in ("keep", "problem", "try"):
            assert f'id="column-{kind}"' in html
        assert "FAQ ページを作る" in html

    def test_a_member_adds_a_try(self, member_client: TestClient, kpt_world: KptWorld) -> None:
        url = board_url(kpt_world)
        response = post(member_client, f"{url}/cards", url, kind="try", body="手順書を作る")
        assert response.status_code == 303
        assert "手順書を作る" in member_client.get(url).text

    def test_an_empty_card_is_shown_again_with_the_reason(
        self, member_client: TestClient, kpt_world: KptWorld
    ) -> None:
        url = board_url(kpt_world)
        response = post(member_client, f"{url}/cards", url, kind="keep", body="   ")
        assert response.status_code == 422
        assert "body is required" in response.text

    def test_a_form_without_the_csrf_token_is_refused(
        self, member_client: TestClient, kpt_world: KptWorld
    ) -> None:
        response = member_client.post(
            f"{board_url(kpt_world)}/cards", data={"kind": "keep", "body": "x"}
        )
        assert response.status_code == 403

    def test_voting_twice_takes_the_vote_back(
        self, member_client: TestClient, kpt_world: KptWorld
    ) -> None:
        url = board_url(kpt_world)
        vote = f"/cases/kpt/cards/{kpt_world.cards['try'].id}/vote"
        post(member_client, vote, url)
        assert 'data-votes="1"' in member_client.get(url).text
        post(member_client, vote, url)
        assert 'data-votes="1"' not in member_client.get(url).text

    def test_the_author_edits_their_card(
        self, member_client: TestClient, kpt_world: KptWorld
    ) -> None:
        url = board_url(kpt_world)
        card = kpt_world.cards["keep"]
        post(member_client, f"/cases/kpt/cards/{card.id}/edit", url, body="朝会は10分")
        assert "朝会は10分" in member_client.get(url).text

    def test_only_ones_own_cards_offer_editing(
        self, member_client: TestClient, kpt_world: KptWorld
    ) -> None:
        html = member_client.get(board_url(kpt_world)).text
        assert f'action="/cases/kpt/cards/{kpt_world.cards["keep"].id}/edit"' in html
        assert f'action="/cases/kpt/cards/{kpt_world.cards["try"].id}/edit"' not in html

    def test_the_author_deletes_their_card(
        self, member_client: TestClient, kpt_world: KptWorld
    ) -> None:
        url = board_url(kpt_world)
        post(member_client, f"/cases/kpt/cards/{kpt_world.cards['keep'].id}/delete", url)
        assert "朝会が15分で終わる" not in member_client.get(url).text

    def test_a_viewer_sees_no_forms_and_cannot_post(
        self, viewer_client: TestClient, kpt_world: KptWorld
    ) -> None:
        url = board_url(kpt_world)
        html = viewer_client.get(url).text
        assert "朝会が15分で終わる" in html
        assert 'id="add-keep"' not in html
        assert "/vote" not in html
        response = post(viewer_client, f"{url}/cards", url, kind="keep", body="x")
        assert response.status_code == 403


class TestTryToCase:
    def test_make_a_case_links_the_card_to_the_case_page(
        self, member_client: TestClient, kpt_world: KptWorld, db: Session
    ) -> None:
        url = board_url(kpt_world)
        card = kpt_world.cards["try"]
        response = post(member_client, f"/cases/kpt/cards/{card.id}/case", url)
        assert response.status_code == 303
        case = db.scalar(select(Case).where(Case.source == "kpt"))
        assert case is not None
        html = member_client.get(url).text
        assert f'href="/cases/view/{case.key}"' in html

    def test_a_second_click_makes_no_second_case(
        self, member_client: TestClient, kpt_world: KptWorld, db: Session
    ) -> None:
        url = board_url(kpt_world)
        card = kpt_world.cards["try"]
        post(member_client, f"/cases/kpt/cards/{card.id}/case", url)
        post(member_client, f"/cases/kpt/cards/{card.id}/case", url)
        assert len(db.scalars(select(Case).where(Case.source == "kpt")).all()) == 1


class TestPeriods:
    def test_closing_makes_the_board_read_only(
        self, member_client: TestClient, kpt_world: KptWorld
    ) -> None:
        url = board_url(kpt_world)
        post(member_client, f"{url}/close", url)
        html = member_client.get(url).text
        assert 'id="add-keep"' not in html
        assert 'id="next-board"' in html

    def test_the_next_board_carries_cards_over(
        self, member_client: TestClient, kpt_world: KptWorld, db: Session
    ) -> None:
        url = board_url(kpt_world)
        token = csrf_of(member_client.get(url).text)
        response = member_client.post(
            f"{url}/next",
            data={
                "csrf_token": token,
                "period": "2026-12",
                "resolved": str(kpt_world.cards["problem"].id),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        following = db.scalar(select(KptBoard).where(KptBoard.period == "2026-12"))
        assert following is not None
        carried = db.scalars(
            select(KptCard.carried_from_id).where(KptCard.board_id == following.id)
        ).all()
        assert set(carried) == {kpt_world.cards["keep"].id, kpt_world.cards["try"].id}

    def test_the_chain_page_names_the_periods(
        self, member_client: TestClient, kpt_world: KptWorld, db: Session
    ) -> None:
        url = board_url(kpt_world)
        post(member_client, f"{url}/next", url, period="2026-12")
        carried = db.scalar(
            select(KptCard).where(KptCard.carried_from_id == kpt_world.cards["keep"].id)
        )
        assert carried is not None
        page = member_client.get(f"/cases/kpt/cards/{carried.id}/chain").text
        html = page[page.index('id="kpt-chain"') :]
        assert html.index("2026-11") < html.index("2026-12")


class TestOtherOrganization:
    @pytest.mark.parametrize(
        "path", ["/cases/kpt/{board}", "/cases/kpt/cards/{card}/chain", "/cases/projects/OTH/kpt"]
    )
    def test_another_organizations_pages_answer_404(
        self, member_client: TestClient, kpt_world: KptWorld, path: str
    ) -> None:
        url = path.format(board=kpt_world.other_board.id, card=kpt_world.cards["other"].id)
        assert member_client.get(url).status_code == 404

    @pytest.mark.parametrize(
        "path",
        [
            "/cases/kpt/{board}/cards",
            "/cases/kpt/{board}/close",
            "/cases/kpt/{board}/next",
            "/cases/kpt/cards/{card}/edit",
            "/cases/kpt/cards/{card}/delete",
            "/cases/kpt/cards/{card}/vote",
            "/cases/kpt/cards/{card}/case",
        ],
    )
    def test_another_organizations_forms_answer_404(
        self, member_client: TestClient, kpt_world: KptWorld, path: str
    ) -> None:
        url = path.format(board=kpt_world.other_board.id, card=kpt_world.cards["other"].id)
        response = post(
            member_client, url, board_url(kpt_world), kind="keep", body="x", period="2027-01"
        )
        assert response.status_code == 404

    def test_signed_out_is_sent_to_sign_in(self, client: TestClient, kpt_world: KptWorld) -> None:
        response = client.get(board_url(kpt_world), follow_redirects=False)
        assert response.status_code in (303, 401)
