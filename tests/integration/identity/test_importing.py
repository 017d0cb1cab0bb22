"""Bulk import of persons and staff against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import create_org, create_staff
from tsunagu.core.errors import InvalidInput
from tsunagu.identity import service
from tsunagu.identity.importing import import_persons, import_staff
from tsunagu.identity.models import Membership, Person, StaffUser

PERSONS_CP932 = (
    "姓,名,セイ,メイ,メールアドレス,電話番号,郵便番号,住所,生年月日\r\n"
    "髙橋,一郎,たかはし,ｲﾁﾛｳ,Ichiro@Example.JP,03-1234-5678,1000001,東京都千代田区①,1957/3/29\r\n"
    "佐藤,花子,サトウ,ハナコ,hanako@example.jp,090 1234 5678,100-0002,大阪府,1960-01-02\r\n"
).encode("cp932")


def person_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Person)) or 0


def persons_csv(*rows: str) -> bytes:
    return ("family_name,given_name,email,birth_date\n" + "".join(r + "\n" for r in rows)).encode()


class TestImportPersons:
    def test_cp932_file_from_excel_is_imported(self, db: Session) -> None:
        result = import_persons(db, PERSONS_CP932)
        assert (result.imported, result.encoding) == (2, "cp932")
        person = db.scalar(select(Person).where(Person.email == "ichiro@example.jp"))
        assert person is not None
        assert (person.family_name, person.given_name) == ("髙橋", "一郎")
        assert (person.family_name_kana, person.given_name_kana) == ("タカハシ", "イチロウ")
        assert (person.postal_code, person.address) == ("100-0001", "東京都千代田区①")
        assert person.birth_date == date(1957, 3, 29)
        assert person.created_at.tzinfo is not None

    def test_a_file_with_one_bad_row_writes_nothing(self, db: Session) -> None:
        before = person_count(db)
        data = persons_csv(
            *(f"山田,太郎{i},p{i}@example.jp,1980-01-01" for i in range(50)),
            "田中,花子,t@example.jp,1980-02-30",
        )
        with pytest.raises(InvalidInput) as caught:
            import_persons(db, data)
        assert caught.value.errors == [
            {
                "row": 52,
                "column": "birth_date",
                "reason": "'1980-02-30' is not a date in the calendar",
            }
        ]
        assert person_count(db) == before

    def test_email_of_an_existing_person_is_a_row_error(self, db: Session) -> None:
        service.create_person(db, family_name="既", given_name="存", email="taken@example.jp")
        with pytest.raises(InvalidInput) as caught:
            import_persons(db, persons_csv("山田,太郎,TAKEN@example.jp,", "田中,花子,,"))
        assert caught.value.errors == [
            {"row": 2, "column": "email", "reason": "a person with this e-mail already exists"}
        ]

    def test_email_of_an_existing_person_is_found_among_many(self, db: Session) -> None:
        for i in range(3):
            service.create_person(db, family_name="既", given_name="存", email=f"p{i}@example.jp")
        with pytest.raises(InvalidInput) as caught:
            import_persons(db, persons_csv("山田,太郎,p1@example.jp,"))
        assert caught.value.errors == [
            {"row": 2, "column": "email", "reason": "a person with this e-mail already exists"}
        ]

    def test_email_twice_in_the_file_is_a_row_error(self, db: Session) -> None:
        with pytest.raises(InvalidInput) as caught:
            import_persons(db, persons_csv("山田,太郎,a@example.jp,", "田中,花子,A@example.jp,"))
        assert caught.value.errors == [{"row": 3, "column": "email", "reason": "repeats row 2"}]

    @pytest.mark.parametrize(
        ("header", "cell", "reason"),
        [
            ("family_name_kana", "Yamada", "must be written in katakana or hiragana"),
            ("postal_code", "12-34567", "is not a postal code like 123-4567"),
            ("phone", "12345", "is not a telephone number"),
            ("birth_date", "3/29/1957", "is not a date like 1957-03-29 or 1957/3/29"),
            ("email", "not-an-address", "is not an e-mail address"),
        ],
    )
    def test_bad_cells_are_reported_with_a_reason(
        self, db: Session, header: str, cell: str, reason: str
    ) -> None:
        data = f"family_name,given_name,{header}\n山田,太郎,{cell}\n".encode()
        with pytest.raises(InvalidInput) as caught:
            import_persons(db, data)
        assert caught.value.errors == [{"row": 2, "column": header, "reason": f"{cell!r} {reason}"}]

    def test_column_mapping_names_the_file_columns(self, db: Session) -> None:
        data = "氏,下,mail\n山田,太郎,yamada@example.jp\n".encode()
        result = import_persons(
            db, data, mapping={"氏": "family_name", "下": "given_name", "mail": "email"}
        )
        assert result.imported == 1
        assert (
            db.scalar(select(Person.given_name).where(Person.email == "yamada@example.jp"))
            == "太郎"
        )

    def test_many_rows_go_in_several_batches(self, db: Session) -> None:
        before = person_count(db)
        data = persons_csv(*(f"山田,太郎{i},,1980-01-01" for i in range(250)))
        assert import_persons(db, data, batch_size=100).imported == 250
        assert person_count(db) == before + 250


def staff_csv(*rows: str) -> bytes:
    return ("email,display_name,role\n" + "".join(r + "\n" for r in rows)).encode()


class TestImportStaff:
    def test_new_staff_join_the_organization_without_a_usable_password(self, db: Session) -> None:
        org = create_org(db)
        result = import_staff(
            db, org, staff_csv("Aoi@Example.jp,青井 葵,admin", "ken@example.jp,,")
        )
        assert result.imported == 2
        rows = db.execute(
            select(StaffUser.email, StaffUser.display_name, Membership.role)
            .join(Membership, Membership.user_id == StaffUser.id)
            .where(Membership.organization_id == org.id)
            .order_by(StaffUser.email)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("aoi@example.jp", "青井 葵", "admin"),
            ("ken@example.jp", "ken", "member"),
        ]
        user = db.scalar(select(StaffUser).where(StaffUser.email == "ken@example.jp"))
        assert user is not None
        assert not service.verify_password(user.password_hash, "")

    def test_staff_of_another_organization_are_refused(self, db: Session) -> None:
        org, other = create_org(db), create_org(db)
        create_staff(db, other, email="shared@example.jp", role="owner")
        with pytest.raises(InvalidInput) as caught:
            import_staff(db, org, staff_csv("new@example.jp,,", "Shared@example.jp,,viewer"))
        assert caught.value.errors == [
            {"row": 3, "column": "email", "reason": "is already registered as a staff account"}
        ]
        assert db.scalar(select(StaffUser.id).where(StaffUser.email == "new@example.jp")) is None

    def test_operators_may_let_staff_of_another_organization_join(self, db: Session) -> None:
        org, other = create_org(db), create_org(db)
        user = create_staff(db, other, email="shared@example.jp", role="owner")
        hash_before = user.password_hash
        import_staff(db, org, staff_csv("shared@example.jp,,viewer"), join_existing=True)
        roles = dict(
            db.execute(
                select(Membership.organization_id, Membership.role).where(
                    Membership.user_id == user.id
                )
            ).all()
        )
        assert roles == {other.id: "owner", org.id: "viewer"}
        db.refresh(user)
        assert user.password_hash == hash_before

    def test_a_member_already_is_a_row_error_and_nothing_is_written(self, db: Session) -> None:
        org = create_org(db)
        create_staff(db, org, email="here@example.jp")
        with pytest.raises(InvalidInput) as caught:
            import_staff(db, org, staff_csv("new@example.jp,,", "here@example.jp,,"))
        assert caught.value.errors == [
            {"row": 3, "column": "email", "reason": "is already a member of this organization"}
        ]
        assert db.scalar(select(StaffUser.id).where(StaffUser.email == "new@example.jp")) is None

    def test_roles_above_the_importers_are_refused(self, db: Session) -> None:
        org = create_org(db)
        with pytest.raises(InvalidInput) as caught:
            import_staff(db, org, staff_csv("boss@example.jp,,owner"), max_role="admin")
        assert caught.value.errors == [
            {"row": 2, "column": "role", "reason": "you may give at most the admin role"}
        ]
