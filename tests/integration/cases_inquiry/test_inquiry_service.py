"""The inquiry service: one case per submission and idempotency key, the consent of the
inquirer only when they tick the box, signed follow-up links, the inquirer's e-mails and
the sliding-window limiter."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tests.e2e.cases_inquiry.world import NOTICE_JA, InquiryWorld, build_inquiry_world
from tsunagu.cases import inquiry, service
from tsunagu.cases.models import Case, Event, Notification
from tsunagu.consent.models import Consent, ConsentCategory
from tsunagu.core.settings import Settings
from tsunagu.identity.models import PersonLink
from tsunagu.vault.service import Vault

REFERENCE = re.compile(r"^Q-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$")


@pytest.fixture
def world(db: Session) -> InquiryWorld:
    return build_inquiry_world(db)


def a_form(
    key: str = "key-1", *, consent: bool = False, overrides: dict[str, str] | None = None
) -> inquiry.InquiryForm:
    values = {
        "name": "山田 花子",
        "email": "hanako@example.jp",
        "subject": "車庫証明の申請について",
        "message": "申請書の書き方を教えてください。",
        "idempotency_key": key,
    } | (overrides or {})
    return inquiry.check_form(values, consent=consent, locale="ja")


def submit(
    db: Session, vault: Vault, settings: Settings, world: InquiryWorld, form: inquiry.InquiryForm
) -> inquiry.Submitted:
    return inquiry.submit_inquiry(
        db, vault, world.project, form, notice=(NOTICE_JA, "ja"), settings=settings
    )


def count(db: Session, model: type[Any], *where: ColumnElement[bool]) -> int:
    return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


class TestSubmitInquiry:
    def test_a_submission_opens_one_case_from_the_inquiry_form(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        assert done.created
        assert count(db, Case, Case.project_id == world.project.id) == 1
        assert (done.case.source, done.case.summary) == ("inquiry", "車庫証明の申請について")
        assert done.case.created_by_label.startswith("山田 花子 (inquiry form")

    def test_the_case_timeline_starts_with_its_created_event(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        kinds = [e.kind for e in db.scalars(select(Event).where(Event.case_id == done.case.id))]
        assert kinds == ["created"]

    def test_the_reference_is_q_and_eight_unambiguous_characters(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        assert REFERENCE.match(done.inquiry.reference)

    def test_the_same_idempotency_key_twice_answers_the_same_reference_and_one_case(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        first = submit(db, vault, settings, world, a_form("same"))
        second = submit(db, vault, settings, world, a_form("same"))
        assert not second.created
        assert second.inquiry.reference == first.inquiry.reference
        assert count(db, Case, Case.project_id == world.project.id) == 1

    def test_different_keys_open_different_cases(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        first = submit(db, vault, settings, world, a_form("one"))
        second = submit(db, vault, settings, world, a_form("two"))
        assert first.case.key != second.case.key
        assert first.inquiry.reference != second.inquiry.reference

    def test_the_inquirer_is_sent_the_reference_and_the_follow_link(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        mail = db.scalars(select(Notification).where(Notification.case_id == done.case.id)).one()
        assert mail.to_address == "hanako@example.jp"
        assert mail.user_id is None
        assert done.inquiry.reference in mail.subject
        assert "/inquiry/follow/" in mail.body


class TestConsent:
    def test_a_ticked_box_records_a_consent_with_the_hash_of_the_notice_shown(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form(consent=True))
        consent = db.get(Consent, done.inquiry.consent_id)
        assert consent is not None
        assert consent.person_id == done.inquiry.person_id
        assert consent.recipient_id == world.org.id
        assert consent.notice_hash == hashlib.sha256(NOTICE_JA.encode()).hexdigest()
        assert (consent.method, consent.notice_language) == ("web-form", "ja")

    def test_the_consent_covers_only_the_name_and_the_email_address(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form(consent=True))
        categories = db.scalars(
            select(ConsentCategory.category).where(
                ConsentCategory.consent_id == done.inquiry.consent_id
            )
        ).all()
        assert sorted(categories) == ["contact.email", "identity.name"]

    def test_the_inquirer_is_registered_under_the_reference(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form(consent=True))
        link = db.scalars(
            select(PersonLink).where(PersonLink.person_id == done.inquiry.person_id)
        ).one()
        assert (link.organization_id, link.ref) == (
            world.org.id,
            f"inquiry:{done.inquiry.reference}",
        )

    def test_without_the_box_no_person_and_no_consent_are_kept(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form(consent=False))
        assert (done.inquiry.person_id, done.inquiry.consent_id) == (None, None)
        assert count(db, Consent, Consent.recipient_id == world.org.id) == 0


class TestCheckForm:
    @pytest.mark.parametrize(
        ("field", "value", "reason"),
        [
            ("name", "", "required"),
            ("email", "not-an-address", "email"),
            ("subject", "x" * 201, "too_long"),
            ("message", "a\x00b", "nul"),
            ("idempotency_key", "", "key"),
            ("idempotency_key", "<script>", "key"),
        ],
    )
    def test_a_bad_field_is_named_with_its_reason(
        self, field: str, value: str, reason: str
    ) -> None:
        with pytest.raises(inquiry.InvalidInquiry) as refused:
            a_form(overrides={field: value})
        assert {"field": field, "reason": reason} in (refused.value.errors or [])

    def test_the_address_is_normalised(self) -> None:
        assert a_form(overrides={"email": "Hanako@EXAMPLE.jp"}).email == "Hanako@example.jp"


class TestFollowLink:
    def test_the_signed_token_names_the_inquiry(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        token = inquiry.follow_token("secret", done.inquiry)
        assert inquiry.inquiry_for_token(db, "secret", token).id == done.inquiry.id

    def test_an_altered_token_is_not_found(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        token = inquiry.follow_token("secret", done.inquiry)
        with pytest.raises(inquiry.InquiryNotFound):
            inquiry.inquiry_for_token(db, "secret", token[:-2] + "xx")

    def test_a_token_signed_with_another_key_is_not_found(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        with pytest.raises(inquiry.InquiryNotFound):
            inquiry.inquiry_for_token(db, "secret", inquiry.follow_token("other", done.inquiry))

    def test_the_inquirer_sees_public_replies_and_their_own_but_no_internal_comment(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        service.comment(db, world.owner, done.case, "内部メモ: 担当は佐藤")
        service.comment(db, world.owner, done.case, "ご連絡ありがとうございます。", public=True)
        inquiry.reply(db, done.inquiry, "追加の質問です。")
        bodies = [c.body for c in inquiry.public_comments(db, done.case)]
        assert bodies == ["ご連絡ありがとうございます。", "追加の質問です。"]

    def test_a_reply_is_a_comment_from_the_inquirer_on_the_timeline(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        row = inquiry.reply(db, done.inquiry, "追加の質問です。")
        assert row.from_inquirer
        assert row.public
        assert db.scalars(select(Event.kind).where(Event.comment_id == row.id)).one() == "commented"

    def test_an_empty_reply_is_refused(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        with pytest.raises(inquiry.InvalidInquiry):
            inquiry.reply(db, done.inquiry, "   ")


class TestNotifyInquirer:
    def test_a_public_staff_reply_queues_one_mail_to_the_inquirer(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        row = service.comment(db, world.owner, done.case, "回答です。", public=True)
        queued = db.scalars(select(Notification).where(Notification.kind == "inquiry_reply")).all()
        again = inquiry.notify_inquirer(db, done.case, row, settings=settings)
        assert [(m.to_address, m.kind) for m in queued] == [("hanako@example.jp", "inquiry_reply")]
        assert "回答です。" in queued[0].body
        assert again is None

    def test_an_internal_comment_sends_nothing(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        row = service.comment(db, world.owner, done.case, "内部メモ")
        assert inquiry.notify_inquirer(db, done.case, row, settings=settings) is None

    def test_the_inquirers_own_reply_sends_nothing(
        self, db: Session, vault: Vault, settings: Settings, world: InquiryWorld
    ) -> None:
        done = submit(db, vault, settings, world, a_form())
        row = inquiry.reply(db, done.inquiry, "追加の質問です。")
        assert inquiry.notify_inquirer(db, done.case, row, settings=settings) is None

    def test_a_case_no_inquiry_opened_sends_nothing(
        self, db: Session, world: InquiryWorld, settings: Settings
    ) -> None:
        case = service.create_case(db, world.owner, world.project, {"summary": "社内タスク"})
        row = service.comment(db, world.owner, case, "公開コメント", public=True)
        assert inquiry.notify_inquirer(db, case, row, settings=settings) is None


class TestRateLimiter:
    def test_the_hit_over_the_limit_is_refused(self) -> None:
        limiter = inquiry.RateLimiter(3, 60, clock=lambda: 100.0)
        assert [limiter.allow("1.2.3.4") for _ in range(4)] == [True, True, True, False]

    def test_each_address_has_its_own_window(self) -> None:
        limiter = inquiry.RateLimiter(1, 60, clock=lambda: 100.0)
        assert limiter.allow("1.2.3.4")
        assert limiter.allow("5.6.7.8")

    def test_hits_older_than_the_window_no_longer_count(self) -> None:
        now = [100.0]
        limiter = inquiry.RateLimiter(1, 60, clock=lambda: now[0])
        assert limiter.allow("1.2.3.4")
        now[0] = 161.0
        assert limiter.allow("1.2.3.4")
