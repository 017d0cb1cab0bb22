"""Japanese full-text search of cases through ``list_cases``, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.factories import create_org, create_staff
from tsunagu.cases import search, service
from tsunagu.cases.models import Case, Project, SearchDoc
from tsunagu.identity.models import Organization
from tsunagu.identity.service import Actor


@pytest.fixture
def org(db: Session) -> Organization:
    return create_org(db)


@pytest.fixture
def owner(db: Session, org: Organization) -> Actor:
    user = create_staff(db, org, role="owner")
    return Actor(kind="staff", organization_id=org.id, role="owner", user_id=user.id)


@pytest.fixture
def project(db: Session, owner: Actor) -> Project:
    return service.create_project(db, owner, key="SUP", name="サポート")


def new(db: Session, owner: Actor, project: Project, summary: str, description: str = "") -> Case:
    return service.create_case(db, owner, project, {"summary": summary, "description": description})


def found(db: Session, owner: Actor, keyword: str) -> set[str]:
    page = service.list_cases(db, owner, service.CaseQuery(keyword=keyword, limit=100))
    return {case.key for case in page.items}


class TestPhrases:
    def test_a_four_character_word_finds_it_inside_a_longer_word(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = new(db, owner, project, "車庫証明", "自動車保管場所証明書を提出したい")
        assert found(db, owner, "保管場所") == {case.key}

    def test_the_parts_of_a_word_apart_do_not_match_it(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        new(db, owner, project, "倉庫", "保管の場所は別です")
        assert found(db, owner, "保管場所") == set()

    def test_unrelated_cases_are_not_found(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        new(db, owner, project, "ログインできない", "パスワードを忘れました")
        assert found(db, owner, "保管場所") == set()

    def test_a_two_character_word_is_found(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = new(db, owner, project, "補助金の申請方法", "")
        new(db, owner, project, "請求書の再発行", "")
        assert found(db, owner, "申請") == {case.key}

    def test_a_one_character_word_is_found_anywhere_in_a_run(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = new(db, owner, project, "駐車場", "")
        new(db, owner, project, "駐輪場", "")
        assert found(db, owner, "車") == {case.key}

    def test_every_word_of_the_keyword_must_match(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        both = new(db, owner, project, "車庫証明の申請", "")
        new(db, owner, project, "車庫証明", "")
        assert found(db, owner, "車庫 申請") == {both.key}


class TestIsolation:
    def test_another_organizations_case_with_the_word_is_not_found(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        other_org = create_org(db)
        user = create_staff(db, other_org, role="owner")
        stranger = Actor(kind="staff", organization_id=other_org.id, role="owner", user_id=user.id)
        theirs = service.create_project(db, stranger, key="SUP", name="他社")
        new(db, stranger, theirs, "住民票の再発行", "")
        mine = new(db, owner, project, "住民票の写し", "")
        assert found(db, owner, "住民票") == {mine.key}


class TestNormalisation:
    def test_full_width_latin_finds_half_width(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = new(db, owner, project, "abc社の件", "")
        assert found(db, owner, "ＡＢＣ") == {case.key}

    def test_half_width_katakana_finds_full_width(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = new(db, owner, project, "カタカナ表記", "")
        assert found(db, owner, "ｶﾀｶﾅ") == {case.key}

    def test_upper_case_finds_lower_case(self, db: Session, owner: Actor, project: Project) -> None:
        case = new(db, owner, project, "vpn接続", "")
        assert found(db, owner, "VPN") == {case.key}


class TestDocument:
    def test_a_comment_is_searched(self, db: Session, owner: Actor, project: Project) -> None:
        case = new(db, owner, project, "問い合わせ", "")
        service.comment(db, owner, case, "住民票の写しを添付します")
        assert found(db, owner, "住民票") == {case.key}

    def test_a_changed_description_replaces_the_old_text(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = new(db, owner, project, "件名", "古い説明")
        service.update_case(db, owner, case, {"description": "新しい説明"})
        assert (found(db, owner, "古い"), found(db, owner, "新しい")) == (set(), {case.key})

    def test_a_moved_case_is_found_under_its_new_project(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = new(db, owner, project, "不具合", "帳票出力で文字化けする")
        target = service.create_project(db, owner, key="ENG", name="開発")
        service.escalate(db, owner, case, target, mode="move")
        page = service.list_cases(
            db, owner, service.CaseQuery(keyword="文字化け", project_ids=(target.id,))
        )
        assert [c.key for c in page.items] == ["ENG-1"]

    def test_a_moved_case_keeps_one_search_document_in_the_new_project(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = new(db, owner, project, "不具合", "")
        target = service.create_project(db, owner, key="ENG", name="開発")
        service.escalate(db, owner, case, target, mode="move")
        docs = db.scalars(select(SearchDoc).where(SearchDoc.case_id == case.id)).all()
        assert [d.project_id for d in docs] == [target.id]

    def test_reindex_all_rebuilds_every_document(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        case = new(db, owner, project, "マイナンバーカード", "")
        new(db, owner, project, "転入届", "")
        assert (search.reindex_all(db), found(db, owner, "ナンバー")) == (2, {case.key})

    def test_reindex_of_one_project_leaves_the_others_findable(
        self, db: Session, owner: Actor, project: Project
    ) -> None:
        other = service.create_project(db, owner, key="ENG", name="開発")
        kept = new(db, owner, other, "転入届", "")
        new(db, owner, project, "転出届", "")
        search.reindex_all(db, project.id)
        assert found(db, owner, "転入") == {kept.key}


class TestHostileInput:
    @pytest.mark.parametrize(
        "keyword",
        ['"', "'", "*", "OR", "NEAR(", ")", "'; DROP TABLE cases_cases; --", "a:*", "\\", "!&|"],
    )
    def test_query_syntax_in_a_keyword_neither_fails_nor_matches_everything(
        self, db: Session, owner: Actor, project: Project, keyword: str
    ) -> None:
        new(db, owner, project, "通常の案件", "")
        assert found(db, owner, keyword) == set()

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(keyword=st.text(min_size=1, max_size=20))
    def test_any_keyword_runs_without_error(self, db: Session, owner: Actor, keyword: str) -> None:
        page = service.list_cases(db, owner, service.CaseQuery(keyword=keyword))
        assert page.total >= 0


class TestEverySubstring:
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        body=st.text(
            alphabet=st.one_of(
                st.sampled_from("保管場所申請車庫のをにはアイウｶﾀＡＢabc123 、。"),
                st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
            ),
            min_size=1,
            max_size=30,
        ),
        data=st.data(),
    )
    def test_every_substring_of_an_indexed_normalised_text_finds_it(
        self, db: Session, owner: Actor, project: Project, body: str, data: st.DataObject
    ) -> None:
        case = db.scalar(select(Case).where(Case.project_id == project.id))
        if case is None:
            case = new(db, owner, project, "x")
        case.description = body
        search.index_case(db, case)
        text = search.normalize(body)
        start = data.draw(st.integers(0, max(len(text) - 1, 0)))
        piece = text[start : start + data.draw(st.integers(1, 6))]
        keyword_found = db.scalar(
            select(Case.id).where(Case.id == case.id, search.keyword_clause(db, piece))
        )
        assert keyword_found == case.id or not search.runs(piece)
