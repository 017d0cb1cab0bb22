"""The staff pages of cases through the TestClient: the project list, the case list with
its filters and saved searches, the board, the Gantt chart, the counts by assignee, the
new-case form and one case with its timeline and forms — in both languages, with CSRF,
refusals that keep what was typed, viewers who cannot write, Markdown that cannot inject
script, and another organization's projects and cases answering 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.e2e.cases_pages.world import CasesWorld, actor_of
from tests.e2e.pages.conftest import csrf_of, sign_in_staff
from tsunagu.cases import saved_searches, service
from tsunagu.cases.models import Case, Comment, Watcher
from tsunagu.core.templating import LANG_COOKIE
from tsunagu.identity import service as identity_service
from tsunagu.identity.models import PersonLink
from tsunagu.identity.service import Actor

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def keys_on(html: str) -> list[str]:
    """The case keys of the rows of the page's case table, in order."""
    return re.findall(r'<tr data-key="([A-Z]+-\d+)"', html)


def post_form(client: TestClient, page: str, action: str, data: dict[str, object]) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def fresh(db: Session, case: Case) -> Case:
    db.expire_all()
    found = db.get(Case, case.id)
    assert found is not None
    return found


def owner_actor(world: CasesWorld) -> Actor:
    return actor_of(world.owner, world.org, "owner")


def status_id(db: Session, world: CasesWorld, builtin: str) -> str:
    return str(next(s.id for s in service.statuses(db, world.support.id) if s.builtin == builtin))


class TestSignIn:
    def test_a_visitor_is_sent_to_sign_in(self, client: TestClient) -> None:
        response = client.get("/cases", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")


class TestHome:
    @pytest.mark.parametrize(("lang", "heading"), [("ja", "自分の課題"), ("en", "My cases")])
    def test_it_lists_my_projects_and_my_cases_in_both_languages(
        self, member_client: TestClient, lang: str, heading: str
    ) -> None:
        member_client.cookies.set(LANG_COOKIE, lang)
        html = member_client.get("/cases", headers={"Accept-Language": lang}).text
        assert heading in html
        assert 'data-project="SUP"' in html
        assert 'data-project="ENG"' in html

    def test_my_cases_and_the_overdue_ones_are_listed(
        self, member_client: TestClient, cases_world: CasesWorld
    ) -> None:
        html = member_client.get("/cases").text
        mine = html.split('id="my-cases"')[1].split("</table>")[0]
        late = html.split('id="overdue-cases"')[1].split("</table>")[0]
        assert keys_on(mine) == [cases_world.cases["late"].key]
        assert keys_on(late) == [cases_world.cases["late"].key]

    def test_another_organizations_project_is_not_listed(self, member_client: TestClient) -> None:
        assert 'data-project="OTH"' not in member_client.get("/cases").text


class TestCaseList:
    @pytest.mark.parametrize(("lang", "label"), [("ja", "課題一覧"), ("en", "Gantt chart")])
    def test_it_renders_in_both_languages(
        self, member_client: TestClient, lang: str, label: str
    ) -> None:
        member_client.cookies.set(LANG_COOKIE, lang)
        response = member_client.get("/cases/SUP")
        assert response.status_code == 200
        assert response.headers["content-language"] == lang
        assert label in response.text
        assert len(keys_on(response.text)) == 4

    def test_assignee_me_keeps_only_my_cases(
        self, member_client: TestClient, cases_world: CasesWorld
    ) -> None:
        html = member_client.get("/cases/SUP?assignee=me").text
        assert keys_on(html) == [cases_world.cases["late"].key]

    def test_overdue_keeps_only_cases_past_their_due_date(self, member_client: TestClient) -> None:
        assert keys_on(member_client.get("/cases/SUP?overdue=1").text) == ["SUP-1"]

    def test_children_keeps_only_sub_cases(self, member_client: TestClient) -> None:
        assert keys_on(member_client.get("/cases/SUP?pc=children").text) == ["SUP-2"]

    def test_priority_and_status_filter_together(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        open_id = status_id(db, cases_world, "open")
        html = member_client.get(f"/cases/SUP?priority=high&status={open_id}").text
        assert keys_on(html) == ["SUP-1"]

    def test_keyword_finds_japanese_words_in_the_summary(self, member_client: TestClient) -> None:
        assert keys_on(member_client.get("/cases/SUP?q=車庫").text) == ["SUP-1"]

    def test_sort_by_key_ascending(self, member_client: TestClient) -> None:
        html = member_client.get("/cases/SUP?sort=key&order=asc").text
        assert keys_on(html) == ["SUP-1", "SUP-2", "SUP-3", "SUP-4"]

    def test_an_unknown_sort_falls_back_to_the_default(self, member_client: TestClient) -> None:
        assert member_client.get("/cases/SUP?sort=nonsense").status_code == 200


class TestSavedSearches:
    def test_a_saved_search_is_listed_and_applies_its_filter(
        self, member_client: TestClient
    ) -> None:
        response = post_form(
            member_client,
            "/cases/SUP?pc=children",
            "/cases/SUP/searches",
            {"name": "子課題だけ", "pc": "children"},
        )
        assert response.status_code == 303
        html = member_client.get("/cases/SUP").text
        saved = html.split('id="saved-searches"')[1].split("</ul>")[0]
        href = re.search(r'href="([^"]+)">子課題だけ<', saved)
        assert href is not None
        assert keys_on(member_client.get(href.group(1).replace("&amp;", "&")).text) == ["SUP-2"]

    def test_a_saved_search_can_be_deleted_by_its_owner(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        row = saved_searches.save_search(
            db, cases_world.org.id, cases_world.member.id, "自分の", {"project": ["SUP"]}
        )
        db.commit()
        response = post_form(
            member_client, "/cases/SUP", f"/cases/SUP/searches/{row.id}/delete", {}
        )
        assert response.status_code == 303
        assert "自分の" not in member_client.get("/cases/SUP").text

    def test_someone_elses_saved_search_cannot_be_deleted(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        row = saved_searches.save_search(
            db, cases_world.org.id, cases_world.owner.id, "管理者の", {"project": ["SUP"]}
        )
        db.commit()
        response = post_form(
            member_client, "/cases/SUP", f"/cases/SUP/searches/{row.id}/delete", {}
        )
        assert response.status_code == 404

    def test_a_search_without_a_name_is_refused_with_a_message(
        self, member_client: TestClient
    ) -> None:
        response = post_form(member_client, "/cases/SUP", "/cases/SUP/searches", {"name": " "})
        target = response.headers["location"]
        assert 'id="form-error"' in member_client.get(target).text


class TestBoard:
    def test_each_status_is_a_column_with_its_count(self, member_client: TestClient) -> None:
        member_client.cookies.set(LANG_COOKIE, "en")
        html = member_client.get("/cases/SUP/board").text
        for status in ("Open", "In Progress", "Resolved", "Closed"):
            assert f'data-status="{status}"' in html
        open_column = html.split('data-status="Open"')[1].split("</section>")[0]
        assert '<span class="count" data-count>4</span>' in open_column

    def test_moving_a_card_changes_the_status_on_the_timeline(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        doing = status_id(db, cases_world, "in_progress")
        response = post_form(
            member_client,
            "/cases/SUP/board",
            "/cases/SUP/board/move",
            {"case": "SUP-3", "status": doing, "back": ""},
        )
        assert response.status_code == 303
        assert str(fresh(db, cases_world.cases["script"]).status_id) == doing
        last = service.timeline(db, cases_world.cases["script"].id)[-1]
        assert last.changes == [{"field": "status", "from": "未対応", "to": "処理中"}]

    def test_a_viewer_sees_no_move_forms(self, viewer_client: TestClient) -> None:
        html = viewer_client.get("/cases/SUP/board").text
        assert "/board/move" not in html


class TestGantt:
    @pytest.mark.parametrize("lang", ["ja", "en"])
    def test_dated_cases_are_bars_and_today_is_marked(
        self, member_client: TestClient, lang: str
    ) -> None:
        member_client.cookies.set(LANG_COOKIE, lang)
        html = member_client.get("/cases/SUP/gantt").text
        assert re.findall(r'class="gantt-row" data-key="([A-Z]+-\d+)"', html) == [
            "SUP-1",
            "SUP-2",
        ]
        assert 'id="gantt-today"' in html


class TestAssignees:
    def test_counts_per_assignee_and_status_come_from_the_cases(
        self, member_client: TestClient, cases_world: CasesWorld
    ) -> None:
        html = member_client.get("/cases/SUP/assignees").text
        mine = html.split(f'data-assignee="{cases_world.member.id}"')[1].split("</tr>")[0]
        nobody = html.split('data-assignee="none"')[1].split("</tr>")[0]
        assert '<td class="num total">1</td>' in mine
        assert '<td class="num total">3</td>' in nobody


class TestNewCase:
    @pytest.mark.parametrize(("lang", "button"), [("ja", "課題を登録"), ("en", "Open the case")])
    def test_the_form_renders_in_both_languages(
        self, member_client: TestClient, lang: str, button: str
    ) -> None:
        member_client.cookies.set(LANG_COOKIE, lang)
        assert button in member_client.get("/cases/SUP/new").text

    def test_a_new_case_gets_the_next_key_and_its_page(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        response = post_form(
            member_client,
            "/cases/SUP/new",
            "/cases/SUP/new",
            {
                "summary": "新しい課題",
                "description": "- 手順1",
                "priority": "low",
                "assignee": str(cases_world.member.id),
                "watchers": str(cases_world.member.id),
            },
        )
        assert response.headers["location"] == "/cases/view/SUP-5?notice=created"
        created = service.get_case(db, owner_actor(cases_world), "SUP-5")
        assert (created.priority, created.assignee_id) == ("low", cases_world.member.id)
        assert db.get(Watcher, (created.id, cases_world.member.id)) is not None

    def test_a_custom_field_is_saved_and_shown_on_the_case(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        field = service.custom_fields(db, cases_world.support.id)[0]
        post_form(
            member_client,
            "/cases/SUP/new",
            "/cases/SUP/new",
            {"summary": "法人の問い合わせ", f"cf_{field.id}": "法人"},
        )
        html = member_client.get("/cases/view/SUP-5").text
        assert '<dd data-field="顧客区分">法人</dd>' in html

    def test_a_choice_that_is_not_offered_is_refused_and_kept(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        field = service.custom_fields(db, cases_world.support.id)[0]
        response = post_form(
            member_client,
            "/cases/SUP/new",
            "/cases/SUP/new",
            {"summary": "区分が変", f"cf_{field.id}": "団体"},
        )
        assert response.status_code == 422
        assert "is not one of" in response.text
        assert 'value="区分が変"' in response.text

    def test_a_missing_summary_is_refused_and_keeps_what_was_typed(
        self, member_client: TestClient
    ) -> None:
        response = post_form(
            member_client,
            "/cases/SUP/new",
            "/cases/SUP/new",
            {"summary": "", "description": "書きかけの説明", "due_date": "2026-12-24"},
        )
        assert response.status_code == 422
        html = response.text
        assert 'id="form-error"' in html
        assert "書きかけの説明</textarea>" in html
        assert 'value="2026-12-24"' in html

    def test_a_start_after_the_due_date_is_refused_with_the_reason(
        self, member_client: TestClient, db: Session
    ) -> None:
        response = post_form(
            member_client,
            "/cases/SUP/new",
            "/cases/SUP/new",
            {"summary": "逆の日付", "start_date": "2026-12-10", "due_date": "2026-12-01"},
        )
        assert response.status_code == 422
        assert "start date lies after the due date" in response.text
        assert 'value="逆の日付"' in response.text
        db.expire_all()
        assert db.scalar(select(Case).where(Case.summary == "逆の日付")) is None

    def test_a_viewer_may_not_open_the_form(self, viewer_client: TestClient) -> None:
        assert viewer_client.get("/cases/SUP/new").status_code == 403


class TestCasePage:
    @pytest.mark.parametrize(("lang", "heading"), [("ja", "履歴"), ("en", "Timeline")])
    def test_it_shows_the_fields_and_the_timeline_in_both_languages(
        self, member_client: TestClient, lang: str, heading: str
    ) -> None:
        member_client.cookies.set(LANG_COOKIE, lang)
        html = member_client.get("/cases/view/SUP-1").text
        assert heading in html
        assert "車庫証明の申請が遅れている" in html
        assert 'data-kind="created"' in html
        assert "SUP-2" in html  # the sub-case

    def test_markdown_cannot_inject_a_script(self, member_client: TestClient) -> None:
        html = member_client.get("/cases/view/SUP-3").text
        description = html.split('id="case-description"')[1].split("</div>")[0]
        assert "<script" not in description
        assert "&lt;script&gt;" in description
        assert "<strong>太字</strong>" in description

    def test_an_inquiry_case_shows_the_inquirer_and_the_public_checkbox(
        self, member_client: TestClient
    ) -> None:
        html = member_client.get("/cases/view/SUP-4").text
        assert "問合 花子" in html
        assert "hanako@example.jp" in html
        assert 'id="comment-public"' in html

    def test_an_ordinary_case_has_no_public_checkbox(self, member_client: TestClient) -> None:
        assert 'id="comment-public"' not in member_client.get("/cases/view/SUP-1").text

    def test_a_linked_person_shows_only_the_organizations_reference(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        person = identity_service.create_person(
            db,
            family_name="顧客",
            given_name="秘密",
            family_name_kana="コキャク",
            given_name_kana="ヒミツ",
            email=f"secret-{cases_world.org.slug}@example.jp",
            password="correct horse battery staple",
        )
        db.add(PersonLink(organization_id=cases_world.org.id, person_id=person.id, ref="C-0042"))
        db.flush()
        case = cases_world.cases["late"]
        service.add_link(db, owner_actor(cases_world), case, "person", person.id)
        db.commit()
        links = member_client.get("/cases/view/SUP-1").text.split('id="links"')[1]
        links = links.split("</ul>")[0]
        assert "C-0042" in links
        assert "秘密" not in links

    def test_one_change_sets_fields_and_comments_on_one_timeline_entry(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        doing = status_id(db, cases_world, "in_progress")
        response = post_form(
            member_client,
            "/cases/view/SUP-3",
            "/cases/view/SUP-3/update",
            {
                "summary": "スクリプトの説明",
                "description": cases_world.cases["script"].description,
                "priority": "high",
                "status": doing,
                "assignee": str(cases_world.member.id),
                "issue_type": str(cases_world.cases["script"].issue_type_id),
                "comment": "対応を始めます",
                "notify": str(cases_world.owner.id),
            },
        )
        assert response.status_code == 303
        event = service.timeline(db, cases_world.cases["script"].id)[-1]
        assert {c["field"] for c in event.changes} == {"priority", "status", "assignee"}
        comment = db.get(Comment, event.comment_id)
        assert comment is not None
        assert comment.body == "対応を始めます"
        assert comment.notified == [str(cases_world.owner.id)]
        page = member_client.get("/cases/view/SUP-3").text
        assert "対応を始めます" in page

    def test_a_bad_edit_is_refused_and_keeps_what_was_typed(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        response = post_form(
            member_client,
            "/cases/view/SUP-3",
            "/cases/view/SUP-3/update",
            {"summary": "直した件名", "estimated_hours": "たくさん", "comment": "途中"},
        )
        assert response.status_code == 422
        html = response.text
        assert 'id="edit-error"' in html
        assert 'value="直した件名"' in html
        assert 'value="たくさん"' in html
        assert fresh(db, cases_world.cases["script"]).summary == "スクリプトの説明"

    def test_an_unknown_parent_key_is_refused(self, member_client: TestClient) -> None:
        response = post_form(
            member_client,
            "/cases/view/SUP-3",
            "/cases/view/SUP-3/update",
            {"summary": "スクリプトの説明", "parent": "SUP-99"},
        )
        assert response.status_code == 422

    def test_a_public_reply_to_an_inquiry_is_marked_public(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        post_form(
            member_client,
            "/cases/view/SUP-4",
            "/cases/view/SUP-4/comment",
            {"body": "パスワードを再設定してください", "public": "1"},
        )
        db.expire_all()
        comment = db.scalar(
            select(Comment).where(Comment.case_id == cases_world.cases["inquiry"].id)
        )
        assert comment is not None
        assert comment.public is True

    def test_a_comment_cannot_be_public_on_an_ordinary_case(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        post_form(
            member_client,
            "/cases/view/SUP-1",
            "/cases/view/SUP-1/comment",
            {"body": "社内メモ", "public": "1"},
        )
        db.expire_all()
        comment = db.scalar(select(Comment).where(Comment.case_id == cases_world.cases["late"].id))
        assert comment is not None
        assert comment.public is False

    def test_an_empty_comment_is_refused_with_a_message(self, member_client: TestClient) -> None:
        response = post_form(
            member_client, "/cases/view/SUP-1", "/cases/view/SUP-1/comment", {"body": "  "}
        )
        assert response.status_code == 422
        assert 'id="comment-error"' in response.text

    def test_watching_and_unwatching(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        key = (cases_world.cases["late"].id, cases_world.member.id)
        post_form(member_client, "/cases/view/SUP-1", "/cases/view/SUP-1/watch", {"watching": "1"})
        db.expire_all()
        assert db.get(Watcher, key) is not None
        post_form(member_client, "/cases/view/SUP-1", "/cases/view/SUP-1/watch", {"watching": "0"})
        db.expire_all()
        assert db.get(Watcher, key) is None

    def test_an_attachment_is_uploaded_shown_and_downloaded(
        self, member_client: TestClient
    ) -> None:
        token = csrf_of(member_client.get("/cases/view/SUP-1").text)
        response = member_client.post(
            "/cases/view/SUP-1/attachments",
            data={"csrf_token": token},
            files={"file": ("写真.png", PNG, "image/png")},
            follow_redirects=False,
        )
        assert response.status_code == 303
        html = member_client.get("/cases/view/SUP-1").text
        link = re.search(r'href="(/cases/attachments/[0-9a-f-]+)">写真.png<', html)
        assert link is not None
        download = member_client.get(link.group(1))
        assert download.content == PNG
        assert download.headers["content-type"] == "image/png"

    def test_a_file_of_a_refused_type_is_explained(self, member_client: TestClient) -> None:
        token = csrf_of(member_client.get("/cases/view/SUP-1").text)
        response = member_client.post(
            "/cases/view/SUP-1/attachments",
            data={"csrf_token": token},
            files={"file": ("run.exe", b"MZ\x90\x00", "application/octet-stream")},
            follow_redirects=False,
        )
        assert response.status_code == 422
        assert 'id="attach-error"' in response.text

    def test_escalating_by_copy_opens_the_case_in_the_target_project(
        self, member_client: TestClient
    ) -> None:
        response = post_form(
            member_client,
            "/cases/view/SUP-1",
            "/cases/view/SUP-1/escalate",
            {"target": "ENG", "mode": "copy", "comment": "調査をお願いします"},
        )
        assert response.headers["location"] == "/cases/view/ENG-1?notice=escalated"
        html = member_client.get("/cases/view/SUP-1").text
        assert 'href="/cases/view/ENG-1"' in html
        copy = member_client.get("/cases/view/ENG-1").text
        assert "調査をお願いします" in copy
        assert 'href="/cases/view/SUP-1"' in copy


class TestPermissions:
    def test_a_viewer_sees_the_case_but_no_forms_to_change_it(
        self, viewer_client: TestClient
    ) -> None:
        html = viewer_client.get("/cases/view/SUP-1").text
        assert "車庫証明の申請が遅れている" in html
        assert 'id="edit-form"' not in html
        assert 'id="comment-form"' not in html

    @pytest.mark.parametrize("action", ["update", "comment", "escalate", "attachments"])
    def test_a_viewer_cannot_post(
        self, viewer_client: TestClient, db: Session, cases_world: CasesWorld, action: str
    ) -> None:
        before = fresh(db, cases_world.cases["late"]).last_event
        response = post_form(
            viewer_client,
            "/cases/view/SUP-1",
            f"/cases/view/SUP-1/{action}",
            {"summary": "x", "body": "x", "target": "ENG"},
        )
        assert response.status_code == 403
        assert fresh(db, cases_world.cases["late"]).last_event == before

    def test_a_post_without_the_csrf_token_is_refused(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        response = member_client.post(
            "/cases/view/SUP-1/comment", data={"body": "x"}, follow_redirects=False
        )
        assert response.status_code == 403
        db.expire_all()
        assert (
            db.scalar(select(Comment).where(Comment.case_id == cases_world.cases["late"].id))
            is None
        )


class TestTenantIsolation:
    @pytest.mark.parametrize(
        "path",
        [
            "/cases/OTH",
            "/cases/OTH/board",
            "/cases/OTH/gantt",
            "/cases/OTH/assignees",
            "/cases/OTH/new",
            "/cases/view/OTH-1",
        ],
    )
    def test_another_organizations_pages_are_not_found(
        self, member_client: TestClient, path: str
    ) -> None:
        response = member_client.get(path)
        assert response.status_code == 404
        assert "text/html" in response.headers["content-type"]
        assert "他社" not in response.text

    @pytest.mark.parametrize("action", ["update", "comment", "watch", "escalate"])
    def test_posting_to_another_organizations_case_is_not_found(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld, action: str
    ) -> None:
        response = post_form(
            member_client,
            "/cases/view/SUP-1",
            f"/cases/view/OTH-1/{action}",
            {"summary": "x", "body": "x", "watching": "1", "target": "SUP"},
        )
        assert response.status_code == 404
        assert fresh(db, cases_world.cases["other"]).last_event == 1

    def test_another_organizations_attachment_is_not_found(
        self, client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        store = client.app.state.settings.attachment_dir()
        row = service.add_attachment(
            db,
            store,
            cases_world.cases["other"],
            service.Author(None, "他社"),
            "secret.png",
            PNG,
        )
        db.commit()
        sign_in_staff(client, cases_world.member.email)
        assert client.get(f"/cases/attachments/{row.id}").status_code == 404

    def test_moving_another_organizations_card_is_not_found(
        self, member_client: TestClient, db: Session, cases_world: CasesWorld
    ) -> None:
        response = post_form(
            member_client,
            "/cases/SUP/board",
            "/cases/SUP/board/move",
            {"case": "OTH-1", "status": status_id(db, cases_world, "closed")},
        )
        assert response.status_code == 404
