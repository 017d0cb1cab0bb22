"""The public inquiry form and the follow-up page through HTTP, signed in as nobody: one
case per submission and per rendering, the honeypot and the rate limit, the consent box,
hostile input answered with a page (never a 500), altered links and closed forms as 404,
replies the inquirer sees and internal notes they never do."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.e2e.cases_inquiry.world import NOTICE_EN, NOTICE_JA, InquiryWorld, build_inquiry_world
from tests.e2e.pages.conftest import csrf_of
from tsunagu.cases import service
from tsunagu.cases.models import Case, Comment, Event, Inquiry
from tsunagu.consent.models import Consent

_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
_FOLLOW = re.compile(r'href="(/inquiry/follow/[^"?]+)')


@pytest.fixture
def world(db: Session) -> InquiryWorld:
    built = build_inquiry_world(db)
    db.commit()
    return built


def form_fields(html: str) -> dict[str, str]:
    key = _KEY.search(html)
    assert key, "the form has no idempotency key"
    return {"csrf_token": csrf_of(html), "idempotency_key": key.group(1)}


def send(client: TestClient, url: str, **typed: str) -> Any:
    """Open the form, fill it in (``typed`` overrides the defaults) and send it."""
    page = client.get(url)
    data = form_fields(page.text) | {
        "name": "山田 花子",
        "email": "hanako@example.jp",
        "subject": "車庫証明の申請について",
        "message": "申請書の書き方を教えてください。",
    }
    return client.post(url, data=data | typed)


def cases_of(db: Session, world: InquiryWorld) -> int:
    return int(db.scalar(select(func.count()).where(Case.project_id == world.project.id)) or 0)


def follow_link(response: Any) -> str:
    link = _FOLLOW.search(response.text)
    assert link, "the thank-you page has no follow-up link"
    return link.group(1)


class TestTheForm:
    def test_the_form_speaks_japanese_by_default(
        self, client: TestClient, world: InquiryWorld
    ) -> None:
        page = client.get(world.form_url, headers={"accept-language": "ja"})
        assert page.status_code == 200
        assert "お問い合わせ" in page.text
        assert NOTICE_JA in page.text

    def test_lang_en_shows_the_form_and_the_notice_in_english(
        self, client: TestClient, world: InquiryWorld
    ) -> None:
        page = client.get(world.form_url + "?lang=en")
        assert "Contact us" in page.text
        assert NOTICE_EN in page.text

    def test_the_honeypot_is_hidden_by_a_class_not_an_inline_style(
        self, client: TestClient, world: InquiryWorld
    ) -> None:
        page = client.get(world.form_url)
        assert '<div class="inquiry-extra" aria-hidden="true">' in page.text
        assert "style=" not in page.text

    def test_each_rendering_carries_a_new_idempotency_key(
        self, client: TestClient, world: InquiryWorld
    ) -> None:
        first = form_fields(client.get(world.form_url).text)["idempotency_key"]
        second = form_fields(client.get(world.form_url).text)["idempotency_key"]
        assert first != second

    def test_a_project_without_an_open_form_is_a_friendly_404(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        world.project.inquiry_enabled = False
        db.commit()
        page = client.get(world.form_url)
        assert page.status_code == 404
        assert "text/html" in page.headers["content-type"]

    def test_an_archived_project_is_not_found(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        service.create_project(
            db, world.owner, key="OLD", name="旧窓口"
        ).archived_at = world.project.created_at
        db.commit()
        assert client.get(world.form_url.replace("SUP", "OLD")).status_code == 404

    def test_another_organizations_slug_does_not_reach_the_project(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        other = build_inquiry_world(db)
        other.project.inquiry_enabled = False
        db.commit()
        page = client.get(world.form_url)
        assert page.status_code == 200
        assert client.get(other.form_url).status_code == 404
        assert client.post(other.form_url, data=form_fields(page.text)).status_code == 404

    def test_a_post_to_a_closed_form_is_not_found(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        page = client.get(world.form_url)
        world.project.inquiry_enabled = False
        db.commit()
        response = client.post(world.form_url, data=form_fields(page.text))
        assert response.status_code == 404
        assert cases_of(db, world) == 0


class TestSubmitting:
    def test_a_submission_opens_exactly_one_case_and_thanks_with_the_reference(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        response = send(client, world.form_url)
        assert response.status_code == 200
        row = db.scalars(select(Inquiry).where(Inquiry.project_id == world.project.id)).one()
        assert row.reference in response.text
        assert cases_of(db, world) == 1
        kinds = db.scalars(select(Event.kind).where(Event.case_id == row.case_id)).all()
        assert kinds == ["created"]

    def test_sending_the_same_rendering_twice_opens_one_case_with_one_reference(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        page = client.get(world.form_url)
        data = form_fields(page.text) | {
            "name": "山田 花子",
            "email": "hanako@example.jp",
            "subject": "二重送信",
            "message": "本文",
        }
        first = client.post(world.form_url, data=data)
        second = client.post(world.form_url, data=data)
        reference = db.scalars(select(Inquiry.reference)).one()
        assert reference in first.text
        assert reference in second.text
        assert cases_of(db, world) == 1

    def test_a_filled_honeypot_thanks_the_bot_and_keeps_nothing(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        response = send(client, world.form_url, website="http://spam.example")
        assert response.status_code == 200
        assert "Q-" in response.text
        assert cases_of(db, world) == 0

    def test_the_submission_over_the_rate_limit_is_a_429_page(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        responses = [send(client, world.form_url) for _ in range(6)]
        assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 429]
        assert responses[-1].headers["retry-after"] == "600"
        assert cases_of(db, world) == 5

    def test_a_form_without_its_csrf_token_is_refused(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        response = send(client, world.form_url, csrf_token="")
        assert response.status_code == 403
        assert cases_of(db, world) == 0


class TestHostileInput:
    @pytest.mark.parametrize(
        "typed",
        [
            {"email": "not an address"},
            {"name": ""},
            {"subject": "x" * 5000},
            {"message": "m" * 30_000},
            {"message": "null\x00byte"},
            {"name": "\x00"},
            {"idempotency_key": ""},
            {"idempotency_key": "k" * 500},
        ],
    )
    def test_bad_input_is_a_422_form_page_and_no_case(
        self, client: TestClient, db: Session, world: InquiryWorld, typed: dict[str, str]
    ) -> None:
        response = send(client, world.form_url, **typed)
        assert response.status_code == 422
        assert "text/html" in response.headers["content-type"]
        assert 'role="alert"' in response.text
        assert cases_of(db, world) == 0

    def test_missing_fields_are_a_422_not_a_500(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        page = client.get(world.form_url)
        response = client.post(world.form_url, data={"csrf_token": csrf_of(page.text)})
        assert response.status_code == 422
        assert cases_of(db, world) == 0

    def test_a_refused_form_keeps_what_was_typed(
        self, client: TestClient, world: InquiryWorld
    ) -> None:
        response = send(client, world.form_url, email="hanako@", subject="件名は残る")
        assert 'value="件名は残る"' in response.text
        assert 'value="hanako@"' in response.text
        assert 'aria-invalid="true" aria-describedby="inquiry-email-error"' in response.text

    def test_a_huge_body_is_refused_before_it_is_read(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        response = send(client, world.form_url, message="x" * 3_000_000)
        assert 400 <= response.status_code < 500
        assert cases_of(db, world) == 0


class TestConsentBox:
    def test_a_ticked_box_records_the_consent_with_the_notice_hash(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        send(client, world.form_url + "?lang=en", consent="yes")
        row = db.scalars(select(Inquiry)).one()
        consent = db.get(Consent, row.consent_id)
        assert consent is not None
        assert consent.notice_hash == hashlib.sha256(NOTICE_EN.encode()).hexdigest()
        assert consent.notice_language == "en"

    def test_an_unticked_box_records_no_consent(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        send(client, world.form_url)
        row = db.scalars(select(Inquiry)).one()
        assert (row.person_id, row.consent_id) == (None, None)


class TestFollowPage:
    def test_the_link_shows_the_reference_status_and_message(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        link = follow_link(send(client, world.form_url))
        page = client.get(link)
        row = db.scalars(select(Inquiry)).one()
        assert page.status_code == 200
        assert row.reference in page.text
        assert "未対応" in page.text
        assert "申請書の書き方を教えてください。" in page.text

    def test_the_status_is_named_in_the_inquirers_language(
        self, client: TestClient, world: InquiryWorld
    ) -> None:
        link = follow_link(send(client, world.form_url + "?lang=en"))
        assert 'id="inquiry-status">Open<' in client.get(link).text

    def test_public_replies_show_and_internal_comments_never(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        link = follow_link(send(client, world.form_url))
        case = db.scalars(select(Case)).one()
        service.comment(db, world.owner, case, "内部メモ: 要確認", public=False)
        service.comment(db, world.owner, case, "ご回答いたします。", public=True)
        db.commit()
        page = client.get(link).text
        assert "ご回答いたします。" in page
        assert "内部メモ" not in page

    def test_an_altered_token_is_a_404_page(self, client: TestClient, world: InquiryWorld) -> None:
        link = follow_link(send(client, world.form_url))
        page = client.get(link[:-3] + "abc")
        assert page.status_code == 404
        assert "text/html" in page.headers["content-type"]

    def test_script_in_the_message_is_shown_as_text(
        self, client: TestClient, world: InquiryWorld
    ) -> None:
        sent = send(
            client, world.form_url, message="<script>alert('x')</script> [a](javascript:alert(1))"
        )
        page = client.get(follow_link(sent)).text
        assert "<script>alert" not in page
        assert "&lt;script&gt;" in page
        assert 'href="javascript:' not in page

    def test_the_inquirer_replies_through_the_link(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        link = follow_link(send(client, world.form_url))
        page = client.get(link)
        response = client.post(
            link, data={"csrf_token": csrf_of(page.text), "body": "追加で質問です。"}
        )
        assert response.status_code == 200
        assert "追加で質問です。" in response.text
        row = db.scalars(select(Comment)).one()
        assert row.from_inquirer

    def test_an_empty_reply_is_a_422_page(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        link = follow_link(send(client, world.form_url))
        page = client.get(link)
        response = client.post(link, data={"csrf_token": csrf_of(page.text), "body": "\x00"})
        assert response.status_code == 422
        assert db.scalar(select(func.count()).select_from(Comment)) == 0

    def test_a_reply_without_the_csrf_token_is_refused(
        self, client: TestClient, db: Session, world: InquiryWorld
    ) -> None:
        link = follow_link(send(client, world.form_url))
        response = client.post(link, data={"body": "偽の返信"})
        assert response.status_code == 403
        assert db.scalar(select(func.count()).select_from(Comment)) == 0
