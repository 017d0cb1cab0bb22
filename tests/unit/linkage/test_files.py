"""Reading customer files for linkage: encodings, header recognition, and the clear errors."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.core.errors import AppError
from tsunagu.linkage.files import COLUMNS, LinkageFileError, read_people_csv

ROWS = (
    "id,family_name,given_name,birth_date\nL1,髙橋,太郎,昭和32年3月29日\nL2,佐藤,花子,1960-01-02\n"
)


def write(tmp_path: Path, data: bytes, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


class TestEncodings:
    def test_utf8_without_bom_is_read(self, tmp_path: Path) -> None:
        table = read_people_csv(write(tmp_path, ROWS.encode()))
        assert table.column("family_name").to_pylist() == ["髙橋", "佐藤"]

    def test_utf8_with_bom_is_read_and_the_bom_is_not_part_of_the_header(
        self, tmp_path: Path
    ) -> None:
        table = read_people_csv(write(tmp_path, codecs.BOM_UTF8 + ROWS.encode()))
        assert table.column("id").to_pylist() == ["L1", "L2"]

    def test_cp932_is_detected(self, tmp_path: Path) -> None:
        table = read_people_csv(write(tmp_path, ROWS.encode("cp932")))
        assert table.column("given_name").to_pylist() == ["太郎", "花子"]

    def test_undecodable_bytes_are_refused(self, tmp_path: Path) -> None:
        data = b"id,family_name\nL1,\x81\xff\xfe\n"
        with pytest.raises(LinkageFileError, match="could not read the file's text"):
            read_people_csv(write(tmp_path, data))


class TestHeader:
    def test_header_names_are_matched_ignoring_case_width_and_spaces(self, tmp_path: Path) -> None:
        data = " ＩＤ ,Family_Name, EMAIL \nL1,佐藤,a@example.jp\n".encode()
        table = read_people_csv(write(tmp_path, data))
        assert table.column_names == ["id", "family_name", "email"]

    def test_japanese_header_aliases_are_recognised(self, tmp_path: Path) -> None:
        data = "顧客番号,姓,名,生年月日,電話番号\nL1,佐藤,花子,1960-01-02,03-1234-5678\n".encode()
        table = read_people_csv(write(tmp_path, data))
        assert table.column_names == ["id", "family_name", "given_name", "birth_date", "phone"]

    def test_unknown_columns_are_ignored(self, tmp_path: Path) -> None:
        data = b"id,favourite_colour,email\nL1,blue,a@example.jp\n"
        assert read_people_csv(write(tmp_path, data)).column_names == ["id", "email"]

    def test_columns_come_out_in_contract_order(self, tmp_path: Path) -> None:
        data = b"email,phone,id\na@example.jp,0312345678,L1\n"
        assert read_people_csv(write(tmp_path, data)).column_names == ["id", "phone", "email"]

    def test_missing_id_column_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(LinkageFileError, match="no 'id' column"):
            read_people_csv(write(tmp_path, "family_name\n佐藤\n".encode()))

    def test_two_columns_for_one_field_are_refused(self, tmp_path: Path) -> None:
        with pytest.raises(LinkageFileError, match="two columns mean 'family_name'"):
            read_people_csv(write(tmp_path, "id,姓,family_name\nL1,佐藤,佐藤\n".encode()))


class TestRows:
    def test_blank_cells_are_nulls(self, tmp_path: Path) -> None:
        table = read_people_csv(write(tmp_path, b"id,email,phone\nL1,  ,0312345678\n"))
        assert table.column("email").to_pylist() == [None]

    def test_short_rows_are_padded_with_nulls(self, tmp_path: Path) -> None:
        table = read_people_csv(write(tmp_path, b"id,email,phone\nL1,a@example.jp\n"))
        assert table.column("phone").to_pylist() == [None]

    def test_duplicate_ids_are_refused_naming_one(self, tmp_path: Path) -> None:
        with pytest.raises(LinkageFileError, match=r"ids must be unique.*'L1'"):
            read_people_csv(write(tmp_path, b"id,email\nL1,a@x.jp\nL1,b@x.jp\n"))

    def test_a_blank_id_is_refused_with_its_row_number(self, tmp_path: Path) -> None:
        with pytest.raises(LinkageFileError, match="row 3 has no id"):
            read_people_csv(write(tmp_path, b"id,email\nL1,a@x.jp\n ,b@x.jp\n"))

    def test_a_header_without_records_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(LinkageFileError, match="no records"):
            read_people_csv(write(tmp_path, b"id,email\n"))


class TestUnusableFiles:
    def test_missing_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(LinkageFileError, match="no such file"):
            read_people_csv(tmp_path / "absent.csv")

    def test_empty_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(LinkageFileError, match="empty"):
            read_people_csv(write(tmp_path, b""))

    def test_binary_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(LinkageFileError, match="not a CSV text file"):
            read_people_csv(write(tmp_path, b"PK\x03\x04\x00\x00binary"))

    def test_a_folder_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(LinkageFileError, match="folder"):
            read_people_csv(tmp_path)

    def test_errors_are_one_line_app_errors_naming_the_file(self, tmp_path: Path) -> None:
        path = write(tmp_path, b"")
        with pytest.raises(AppError) as info:
            read_people_csv(path)
        assert str(path) in info.value.message
        assert "\n" not in info.value.message


class TestProperties:
    @settings(max_examples=40, deadline=None)
    @given(
        ids=st.lists(
            st.text(alphabet="ABCXYZ0123456789髙橋", min_size=1, max_size=8),
            min_size=1,
            max_size=20,
            unique=True,
        )
    )
    def test_unique_ids_round_trip_in_order(
        self, tmp_path_factory: pytest.TempPathFactory, ids: list[str]
    ) -> None:
        path = tmp_path_factory.mktemp("prop") / "p.csv"
        path.write_text("id\n" + "".join(f"{i}\n" for i in ids), encoding="utf-8")
        assert read_people_csv(path).column("id").to_pylist() == ids

    def test_contract_columns_are_the_issues_eleven(self) -> None:
        assert COLUMNS == (
            "id",
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "birth_date",
            "sex",
            "postal_code",
            "address",
            "phone",
            "email",
        )
