"""Importing vault records from CSV (SQLite and PostgreSQL): refs of the organization,
categories of the vocabulary, payload as JSON or ``field:`` columns, all rows or none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import create_org
from tsunagu.core.errors import InvalidInput
from tsunagu.identity.models import Organization
from tsunagu.vault import service
from tsunagu.vault.importing import import_records
from tsunagu.vault.models import Record
from tsunagu.vault.service import Vault


def customer(db: Session, vault: Vault, org: Organization, ref: str) -> uuid.UUID:
    person = service.register_person(
        db, vault, org, ref=ref, family_name="山田", given_name="花子", actor="test"
    )
    return person.id


def records_of(db: Session, org: Organization) -> list[Record]:
    return list(db.scalars(select(Record).where(Record.source_id == org.id)))


def payloads(db: Session, vault: Vault, person: uuid.UUID) -> list[dict[str, object]]:
    view = service.subject_view(db, vault, person)
    return [v.payload for cats in view.by_source.values() for vs in cats.values() for v in vs]


class TestImportRecords:
    def test_json_payload_rows_are_sealed_under_the_refs_person(
        self, db: Session, vault: Vault
    ) -> None:
        org = create_org(db, slug="hikari")
        person = customer(db, vault, org, "C-001")
        data = (
            "ref,category,collected_at,payload\n"
            'C-001,purchase.order,2026-04-01T10:00+09:00,"{""item"": ""玄米"", ""qty"": 2}"\n'
        ).encode()

        result = import_records(db, vault, org, data, actor="test")

        assert result.imported == 1
        (record,) = records_of(db, org)
        assert (record.person_id, record.category, record.source_kind) == (
            person,
            "purchase.order",
            "import",
        )
        assert record.collected_at == datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
        assert {"item": "玄米", "qty": 2} in payloads(db, vault, person)

    def test_field_columns_and_japanese_headers_in_cp932(self, db: Session, vault: Vault) -> None:
        org = create_org(db, slug="hikari")
        person = customer(db, vault, org, "C-002")
        data = (
            "顧客番号,区分,取得日時,field:phone\r\n"
            "C-002,contact.phone,2026/4/1 9:30,090-1111-2222\r\n"
        )

        result = import_records(db, vault, org, data.encode("cp932"), actor="test")

        assert (result.imported, result.encoding) == (1, "cp932")
        assert {"phone": "090-1111-2222"} in payloads(db, vault, person)

    def test_utf8_with_bom_is_read(self, db: Session, vault: Vault) -> None:
        org = create_org(db, slug="hikari")
        customer(db, vault, org, "C-003")
        data = "\ufeffref,カテゴリ,field:email\nC-003,contact.email,a@example.jp\n".encode()

        assert import_records(db, vault, org, data, actor="test").imported == 1

    def test_ref_of_another_organization_is_a_row_error_and_nothing_is_stored(
        self, db: Session, vault: Vault
    ) -> None:
        org = create_org(db, slug="hikari")
        other = create_org(db, slug="sakura")
        customer(db, vault, org, "C-004")
        customer(db, vault, other, "S-001")
        data = (
            b"ref,category,field:email\n"
            b"C-004,contact.email,a@example.jp\n"
            b"S-001,contact.email,b@example.jp\n"
        )

        with pytest.raises(InvalidInput) as caught:
            import_records(db, vault, org, data, actor="test")

        assert caught.value.errors == [
            {"row": 3, "column": "ref", "reason": "no person has this customer number here"}
        ]
        assert records_of(db, org) == []

    def test_unknown_category_names_row_and_column(self, db: Session, vault: Vault) -> None:
        org = create_org(db, slug="hikari")
        customer(db, vault, org, "C-005")
        data = b"ref,category,field:x\nC-005,contact.fax,1\n"

        with pytest.raises(InvalidInput) as caught:
            import_records(db, vault, org, data, actor="test")

        assert caught.value.errors[0]["row"] == 2
        assert caught.value.errors[0]["column"] == "category"

    def test_row_without_payload_is_refused(self, db: Session, vault: Vault) -> None:
        org = create_org(db, slug="hikari")
        customer(db, vault, org, "C-006")
        data = b"ref,category,field:email\nC-006,contact.email,\n"

        with pytest.raises(InvalidInput) as caught:
            import_records(db, vault, org, data, actor="test")

        assert caught.value.errors[0]["reason"] == "the record has no payload"

    def test_payload_as_json_and_fields_at_once_is_refused(self, db: Session, vault: Vault) -> None:
        org = create_org(db, slug="hikari")
        customer(db, vault, org, "C-007")
        data = b'ref,category,payload,field:email\nC-007,contact.email,"{""a"": 1}",a@example.jp\n'

        with pytest.raises(InvalidInput):
            import_records(db, vault, org, data, actor="test")

        assert db.scalar(select(func.count()).select_from(Record)) == 0

    def test_payload_that_is_not_a_json_object_is_refused(self, db: Session, vault: Vault) -> None:
        org = create_org(db, slug="hikari")
        customer(db, vault, org, "C-008")
        data = b"ref,category,payload\nC-008,contact.email,[1]\n"

        with pytest.raises(InvalidInput) as caught:
            import_records(db, vault, org, data, actor="test")

        assert caught.value.errors[0]["reason"] == "must be a non-empty JSON object"

    def test_collection_time_in_the_future_is_refused(self, db: Session, vault: Vault) -> None:
        org = create_org(db, slug="hikari")
        customer(db, vault, org, "C-009")
        data = b"ref,category,collected_at,field:email\nC-009,contact.email,2999-01-01,a@x.jp\n"

        with pytest.raises(InvalidInput) as caught:
            import_records(db, vault, org, data, actor="test")

        assert caught.value.errors[0]["column"] == "collected_at"
