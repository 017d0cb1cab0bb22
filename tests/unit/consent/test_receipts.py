"""Consent receipts: ISO/IEC TS 27560 and Kantara v1.1 forms, their hash and validation."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.consent.receipts import (
    KANTARA_VERSION,
    Category,
    InvalidReceipt,
    Notice,
    Party,
    Purpose,
    ReceiptFacts,
    iso27560_receipt,
    kantara_receipt,
    receipt_hash,
    require_valid_receipt,
    validate_receipt,
)
from tsunagu.core.clock import TOKYO
from tsunagu.ledger.entry import pseudonym

LEDGER_KEY = b"k" * 32
GIVEN_AT = datetime(2026, 11, 27, 9, 30, 0, 250000, tzinfo=TOKYO)
RFC3339_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"

EMAIL = Category("contact.email", "メールアドレス", "E-mail address")
BLOOD_PRESSURE = Category("health.blood_pressure", "血圧", "Blood pressure", sensitive=True)
MARKETING = Purpose("marketing", "マーケティング", "Marketing", "https://w3id.org/dpv#Marketing")
ACME = Party("acme", "株式会社アクメ", url="https://acme.test", email="privacy@acme.test")
CLINIC = Party("clinic", "さくらクリニック", contact="個人情報窓口 / Privacy desk")
NOTICE = Notice("ab" * 32, "2026-11", "ja", url="https://acme.test/privacy")


def subject(person_id: uuid.UUID | None = None) -> str:
    return base64.b64encode(pseudonym(LEDGER_KEY, person_id or uuid.uuid4())).decode()


def make_facts(**overrides: Any) -> ReceiptFacts:
    values: dict[str, Any] = {
        "receipt_id": str(uuid.uuid4()),
        "consent_id": str(uuid.uuid4()),
        "subject_pseudonym": subject(),
        "given_by": "person",
        "controller": ACME,
        "recipient": ACME,
        "recorded_by": ACME,
        "purpose": MARKETING,
        "categories": (EMAIL,),
        "method": "portal",
        "notice": NOTICE,
        "state": "given",
        "event_time": GIVEN_AT,
        "given_at": GIVEN_AT,
        "expires_at": GIVEN_AT + timedelta(days=365),
    }
    values.update(overrides)
    return ReceiptFacts(**values)


def withdrawn_facts() -> ReceiptFacts:
    return make_facts(state="withdrawn", event_time=GIVEN_AT + timedelta(days=3))


def all_times(receipt: dict[str, Any]) -> list[str]:
    times = [receipt["header"]["issued_at"]]
    times += [event["event_time"] for event in receipt["events"]]
    times += [e["valid_until"] for e in receipt["events"] if "valid_until" in e]
    times.append(receipt["processing"]["purposes"][0]["retention_period"]["until"])
    return times


def reorder(value: Any) -> Any:
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(v) for v in value]
    return value


class TestIsoReceipt:
    def test_every_group_is_present(self) -> None:
        receipt = iso27560_receipt(make_facts())
        assert {"header", "notice", "presentation", "processing", "parties", "events"} <= set(
            receipt
        )

    def test_header_carries_the_mandatory_27560_fields(self) -> None:
        facts = make_facts()
        header = iso27560_receipt(facts)["header"]
        assert header["receipt_id"] == facts.receipt_id
        assert header["record_id"] == facts.consent_id
        assert header["pii_principal_id"] == facts.subject_pseudonym
        assert header["schema_version"]
        assert "ISO/IEC TS 27560:2023" in header["conforms_to"]

    def test_a_fresh_receipt_has_no_problems(self) -> None:
        assert validate_receipt(iso27560_receipt(make_facts())) == []

    def test_times_are_rfc3339_utc(self) -> None:
        receipt = iso27560_receipt(withdrawn_facts())
        for text in all_times(receipt):
            assert text is not None
            assert text.endswith("Z")
            assert re.match(RFC3339_UTC, text)
        assert receipt["events"][0]["event_time"] == "2026-11-27T00:30:00.250000Z"

    def test_processing_names_purpose_categories_and_legal_basis(self) -> None:
        purpose = iso27560_receipt(make_facts(categories=(EMAIL, BLOOD_PRESSURE)))["processing"][
            "purposes"
        ][0]
        assert purpose["purpose"] == "marketing"
        assert purpose["purpose_type"] == "https://w3id.org/dpv#Marketing"
        assert purpose["lawful_basis"] == "https://w3id.org/dpv#Consent"
        assert [p["pii_type"] for p in purpose["pii_information"]] == [
            "contact.email",
            "health.blood_pressure",
        ]

    def test_sensitive_category_is_marked(self) -> None:
        purpose = iso27560_receipt(make_facts(categories=(EMAIL, BLOOD_PRESSURE)))["processing"][
            "purposes"
        ][0]
        flags = {p["pii_type"]: p["sensitive"] for p in purpose["pii_information"]}
        assert flags == {"contact.email": False, "health.blood_pressure": True}
        assert purpose["sensitive_pii_categories"] == ["health.blood_pressure"]

    def test_other_recipient_is_a_third_party(self) -> None:
        receipt = iso27560_receipt(make_facts(recipient=CLINIC))
        assert receipt["processing"]["purposes"][0]["recipient_third_parties"] == ["clinic"]
        roles = {p["party_id"]: p["party_roles"] for p in receipt["parties"]}
        assert roles == {"acme": ["controller", "recorder"], "clinic": ["recipient"]}

    def test_one_organization_in_every_role_is_one_party(self) -> None:
        receipt = iso27560_receipt(make_facts())
        assert [p["party_id"] for p in receipt["parties"]] == ["acme"]
        assert receipt["processing"]["purposes"][0]["recipient_third_parties"] == []

    def test_notice_is_identified_by_its_text_hash(self) -> None:
        receipt = iso27560_receipt(make_facts())
        assert receipt["notice"]["sha256"] == NOTICE.sha256
        assert receipt["processing"]["privacy_notice"].startswith("ni:///sha-256;")
        assert receipt["presentation"]["collection_method"] == "portal"

    def test_consent_given_in_the_portal_names_no_recorder(self) -> None:
        receipt = iso27560_receipt(make_facts(recorded_by=None))
        assert receipt["parties"][0]["party_roles"] == ["controller", "recipient"]
        assert receipt["events"][0]["entity_role"] == "pii_principal"

    def test_guardian_consent_names_the_guardian_role_and_only_the_minor_pseudonym(
        self,
    ) -> None:
        facts = make_facts(given_by="guardian")
        event = iso27560_receipt(facts)["events"][0]
        assert event["entity_role"] == "guardian"
        assert event["entity_id"] == facts.subject_pseudonym

    def test_missing_notice_is_stated_not_invented(self) -> None:
        receipt = iso27560_receipt(make_facts(notice=None))
        assert receipt["notice"] == {"recorded": False}
        assert receipt["processing"]["privacy_notice"] is None
        assert validate_receipt(receipt) == []

    def test_given_receipt_has_only_the_given_event(self) -> None:
        events = iso27560_receipt(make_facts())["events"]
        assert [e["event_state"] for e in events] == ["given"]
        assert events[0]["validity_duration"] == "P365D"

    def test_open_ended_consent_says_so(self) -> None:
        events = iso27560_receipt(make_facts(expires_at=None))["events"]
        assert events[0]["validity_duration"] == "until-withdrawn"
        assert "valid_until" not in events[0]


class TestWithdrawalReceipt:
    def test_carries_the_withdrawal_event(self) -> None:
        receipt = iso27560_receipt(withdrawn_facts())
        assert receipt["header"]["record_state"] == "withdrawn"
        withdrawal = receipt["events"][-1]
        assert withdrawal["event_state"] == "withdrawn"
        assert withdrawal["event_time"] == "2026-11-30T00:30:00.250000Z"
        assert withdrawal["entity_role"] == "pii_principal"

    def test_keeps_the_original_given_event(self) -> None:
        events = iso27560_receipt(withdrawn_facts())["events"]
        assert [e["event_state"] for e in events] == ["given", "withdrawn"]

    def test_kantara_termination_states_the_withdrawal(self) -> None:
        purpose = kantara_receipt(withdrawn_facts())["services"][0]["purposes"][0]
        assert purpose["termination"].startswith("Ended (withdrawn) at 2026-11-30T00:30:00")

    def test_expiry_is_recorded_as_done_by_the_system(self) -> None:
        facts = make_facts(state="expired", event_time=GIVEN_AT + timedelta(days=365))
        assert iso27560_receipt(facts)["events"][-1]["entity_role"] == "system"

    def test_superseded_receipt_points_to_its_successor(self) -> None:
        successor = str(uuid.uuid4())
        facts = make_facts(state="superseded", superseded_by=successor)
        assert iso27560_receipt(facts)["events"][-1]["superseded_by"] == successor


class TestKantaraReceipt:
    def test_required_fields_are_present(self) -> None:
        receipt = kantara_receipt(make_facts())
        required = {
            "version",
            "jurisdiction",
            "consentTimestamp",
            "collectionMethod",
            "consentReceiptID",
            "piiPrincipalId",
            "piiControllers",
            "policyUrl",
            "services",
            "sensitive",
            "spiCat",
        }
        assert required <= set(receipt)
        assert receipt["version"] == KANTARA_VERSION
        assert receipt["jurisdiction"] == "JP"

    def test_a_fresh_receipt_has_no_problems(self) -> None:
        assert validate_receipt(kantara_receipt(make_facts(recipient=CLINIC))) == []

    def test_consent_timestamp_is_integer_epoch_seconds(self) -> None:
        stamp = kantara_receipt(make_facts())["consentTimestamp"]
        assert type(stamp) is int
        assert stamp == int(datetime(2026, 11, 27, 0, 30, tzinfo=UTC).timestamp())

    def test_sensitive_category_sets_sensitive_and_spi_cat(self) -> None:
        receipt = kantara_receipt(make_facts(categories=(EMAIL, BLOOD_PRESSURE)))
        assert receipt["sensitive"] is True
        assert receipt["spiCat"] == ["health.blood_pressure"]

    def test_no_sensitive_category_leaves_spi_cat_empty(self) -> None:
        receipt = kantara_receipt(make_facts())
        assert receipt["sensitive"] is False
        assert receipt["spiCat"] == []

    def test_purpose_lists_categories_and_dpv_category(self) -> None:
        purpose = kantara_receipt(make_facts())["services"][0]["purposes"][0]
        assert purpose["piiCategory"] == ["contact.email"]
        assert purpose["purposeCategory"] == ["https://w3id.org/dpv#Marketing"]
        assert purpose["consentType"] == "EXPLICIT"

    def test_third_party_recipient_is_disclosed_by_name(self) -> None:
        purpose = kantara_receipt(make_facts(recipient=CLINIC))["services"][0]["purposes"][0]
        assert purpose["thirdPartyDisclosure"] is True
        assert purpose["thirdPartyName"] == "さくらクリニック"

    def test_missing_controller_details_are_marked_not_available(self) -> None:
        controller = kantara_receipt(make_facts(controller=CLINIC))["piiControllers"][0]
        assert controller["email"] == "n/a"
        assert controller["phone"] == "n/a"
        assert controller["address"] == {"addressCountry": "JP"}

    def test_policy_url_falls_back_to_the_notice_hash_uri(self) -> None:
        notice = dataclasses.replace(NOTICE, url=None)
        assert kantara_receipt(make_facts(notice=notice))["policyUrl"].startswith("ni:///")


person_names = st.text(alphabet="アイウエオカキクケコサシスセソタチツテトナニヌネノ", min_size=6)
labels = st.text(alphabet=st.characters(categories=["Ll", "Lu", "Nd"]), min_size=1, max_size=12)
slugs = st.from_regex(r"[a-z][a-z0-9-]{1,10}", fullmatch=True)
codes = st.from_regex(r"[a-z]{2,8}\.[a-z_]{2,10}", fullmatch=True)
parties = st.builds(
    Party,
    slug=slugs,
    name=labels,
    email=st.none() | st.just("dpo@org.test"),
    url=st.none() | st.just("https://org.test"),
)
category_sets = st.lists(
    st.builds(Category, code=codes, label_ja=labels, label_en=labels, sensitive=st.booleans()),
    min_size=1,
    max_size=4,
    unique_by=lambda c: c.code,
)
# hypothesis takes naive bounds and attaches the zone itself
moments = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


class TestNoPersonalData:
    @settings(max_examples=100, deadline=None)
    @given(
        person_id=st.uuids(),
        family_name=person_names,
        given_name=person_names,
        email=st.emails(),
        controller=parties,
        recipient=parties,
        recorder=st.none() | parties,
        categories=category_sets,
        given_by=st.sampled_from(["person", "guardian", "organization"]),
        state=st.sampled_from(["given", "withdrawn", "expired", "superseded"]),
        given_at=moments,
        method=st.sampled_from(["portal", "web-form", "paper", "api", "verbal"]),
    )
    def test_no_name_email_or_person_id_appears_anywhere(
        self,
        person_id: uuid.UUID,
        family_name: str,
        given_name: str,
        email: str,
        controller: Party,
        recipient: Party,
        recorder: Party | None,
        categories: list[Category],
        given_by: str,
        state: str,
        given_at: datetime,
        method: str,
    ) -> None:
        facts = make_facts(
            subject_pseudonym=subject(person_id),
            controller=controller,
            recipient=recipient,
            recorded_by=recorder,
            categories=tuple(categories),
            given_by=given_by,
            state=state,
            given_at=given_at,
            event_time=given_at + timedelta(hours=1),
            expires_at=None,
            method=method,
        )
        for receipt in (iso27560_receipt(facts), kantara_receipt(facts)):
            text = json.dumps(receipt, ensure_ascii=False)
            for secret in (str(person_id), person_id.hex, family_name, given_name, email):
                assert secret not in text
            assert validate_receipt(receipt) == []

    @pytest.mark.parametrize(
        "value", ["taro@example.jp", "山田太郎", str(uuid.UUID(int=7)), base64.b64encode(b"x")]
    )
    def test_facts_refuse_anything_but_a_pseudonym_for_the_person(self, value: Any) -> None:
        text = value.decode() if isinstance(value, bytes) else value
        with pytest.raises(InvalidReceipt, match="subject_pseudonym"):
            make_facts(subject_pseudonym=text)


class TestReceiptFacts:
    def test_naive_datetime_is_refused(self) -> None:
        with pytest.raises(InvalidReceipt, match="naive"):
            make_facts(given_at=datetime(2026, 1, 1), event_time=datetime(2026, 1, 1))  # noqa: DTZ001

    def test_expiry_before_giving_is_refused(self) -> None:
        with pytest.raises(InvalidReceipt, match="expires_at"):
            make_facts(expires_at=GIVEN_AT - timedelta(seconds=1))

    def test_a_category_twice_is_refused(self) -> None:
        with pytest.raises(InvalidReceipt, match="twice"):
            make_facts(categories=(EMAIL, EMAIL))

    def test_an_unknown_state_is_refused(self) -> None:
        with pytest.raises(InvalidReceipt, match="state"):
            make_facts(state="paused")

    def test_malformed_notice_hash_is_refused(self) -> None:
        with pytest.raises(InvalidReceipt, match="sha256"):
            Notice("not-a-hash", "1", "ja")


FIELD_CHANGES: dict[str, Any] = {
    "receipt_id": str(uuid.uuid4()),
    "consent_id": str(uuid.uuid4()),
    "subject_pseudonym": subject(),
    "given_by": "guardian",
    "recipient": CLINIC,
    "purpose": dataclasses.replace(MARKETING, label_en="Marketing mail"),
    "categories": (EMAIL, BLOOD_PRESSURE),
    "method": "paper",
    "notice": dataclasses.replace(NOTICE, version="2026-12"),
    "state": "withdrawn",
    "event_time": GIVEN_AT + timedelta(seconds=1),
    "given_at": GIVEN_AT - timedelta(microseconds=1),
    "expires_at": None,
    "supersedes": str(uuid.uuid4()),
    "language": "en",
}


class TestReceiptHash:
    def test_is_a_sha256_digest(self) -> None:
        assert len(receipt_hash(iso27560_receipt(make_facts()))) == 32

    def test_is_stable_under_key_order(self) -> None:
        receipt = iso27560_receipt(make_facts(categories=(EMAIL, BLOOD_PRESSURE)))
        assert receipt_hash(reorder(receipt)) == receipt_hash(receipt)
        kantara = kantara_receipt(make_facts())
        assert receipt_hash(reorder(kantara)) == receipt_hash(kantara)

    def test_same_facts_same_hash(self) -> None:
        facts = make_facts()
        assert receipt_hash(iso27560_receipt(facts)) == receipt_hash(iso27560_receipt(facts))

    @pytest.mark.parametrize("name", sorted(FIELD_CHANGES))
    def test_changes_when_any_fact_changes(self, name: str) -> None:
        facts = make_facts()
        changed = dataclasses.replace(facts, **{name: FIELD_CHANGES[name]})
        assert receipt_hash(iso27560_receipt(changed)) != receipt_hash(iso27560_receipt(facts))

    def test_changes_when_any_value_in_the_receipt_changes(self) -> None:
        receipt = iso27560_receipt(make_facts())
        tampered = copy.deepcopy(receipt)
        tampered["events"][0]["event_time"] = "2026-11-27T00:30:00.250001Z"
        assert receipt_hash(tampered) != receipt_hash(receipt)


class TestValidateReceipt:
    @pytest.mark.parametrize("group", ["header", "processing", "parties", "events", "notice"])
    def test_flags_a_missing_group(self, group: str) -> None:
        receipt = iso27560_receipt(make_facts())
        del receipt[group]
        assert f"{group}: missing" in validate_receipt(receipt)

    def test_flags_a_missing_header_field(self) -> None:
        receipt = iso27560_receipt(make_facts())
        del receipt["header"]["pii_principal_id"]
        assert validate_receipt(receipt) == ["header.pii_principal_id: missing"]

    def test_flags_a_local_time(self) -> None:
        receipt = iso27560_receipt(make_facts())
        receipt["events"][0]["event_time"] = "2026-11-27T09:30:00+09:00"
        assert validate_receipt(receipt) == ["events[0].event_time: not an RFC 3339 UTC time"]

    def test_flags_an_empty_event_list(self) -> None:
        receipt = iso27560_receipt(make_facts())
        receipt["events"] = []
        assert validate_receipt(receipt) == ["events: empty"]

    def test_flags_a_group_of_the_wrong_type(self) -> None:
        receipt = iso27560_receipt(make_facts())
        receipt["processing"] = ["marketing"]
        assert validate_receipt(receipt) == ["processing: not an object"]

    def test_flags_a_kantara_timestamp_that_is_not_an_integer(self) -> None:
        receipt = kantara_receipt(make_facts())
        receipt["consentTimestamp"] = "2026-11-27T00:30:00Z"
        assert validate_receipt(receipt) == ["consentTimestamp: not an integer (epoch seconds)"]

    def test_flags_sensitive_kantara_receipt_without_spi_cat(self) -> None:
        receipt = kantara_receipt(make_facts(categories=(BLOOD_PRESSURE,)))
        receipt["spiCat"] = []
        assert validate_receipt(receipt) == ["spiCat: empty although sensitive is true"]

    @pytest.mark.parametrize("value", [None, [], "receipt", {"hello": "world"}])
    def test_flags_what_is_no_receipt_at_all(self, value: Any) -> None:
        assert validate_receipt(value) != []

    def test_require_valid_receipt_raises_a_422_listing_every_problem(self) -> None:
        receipt = iso27560_receipt(make_facts())
        del receipt["events"]
        del receipt["parties"]
        with pytest.raises(InvalidReceipt) as caught:
            require_valid_receipt(receipt)
        assert caught.value.status_code == 422
        assert [e["message"] for e in caught.value.errors] == [
            "parties: missing",
            "events: missing",
        ]
