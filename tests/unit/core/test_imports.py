"""The CSV import core: encodings, header mapping, row checks, all-or-nothing, batching."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.core.errors import InvalidInput, PayloadTooLarge
from tsunagu.core.imports import (
    Column,
    ImportResult,
    RowError,
    ValidRow,
    decode,
    one_of,
    run_import,
    to_int,
)

COLUMNS = (
    Column("family_name", required=True, aliases=("姓",)),
    Column("given_name", aliases=("名",)),
    Column("age", to_int, aliases=("年齢",)),
)


class Sink:
    """A writer that keeps what it is given."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def __call__(self, batch: list[dict[str, Any]]) -> None:
        self.batches.append(list(batch))

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [row for batch in self.batches for row in batch]


def run(
    data: bytes, columns: tuple[Column, ...] = COLUMNS, **kwargs: Any
) -> tuple[ImportResult, Sink]:
    sink = Sink()
    result = run_import(data, columns, sink, **kwargs)
    return result, sink


def errors_of(
    data: bytes, columns: tuple[Column, ...] = COLUMNS, **kwargs: Any
) -> list[dict[str, Any]]:
    sink = Sink()
    with pytest.raises(InvalidInput) as caught:
        run_import(data, columns, sink, **kwargs)
    assert sink.batches == []
    return caught.value.errors


KANJI_TABLE = "姓,名,年齢\n髙橋,①郎,42\nｻﾄｳ,花子,7\n"


class TestDecode:
    def test_utf8_with_bom_is_read_as_utf8_sig(self) -> None:
        text, codec = decode("\ufeff姓,名\n".encode())
        assert (text, codec) == ("姓,名\n", "utf-8-sig")

    def test_utf8_without_bom_is_read_as_utf8(self) -> None:
        assert decode("姓,名\n".encode()) == ("姓,名\n", "utf-8")

    def test_cp932_is_detected_with_nec_and_ibm_extensions(self) -> None:
        text, codec = decode(KANJI_TABLE.encode("cp932"))
        assert (text, codec) == (KANJI_TABLE, "cp932")

    def test_shift_jis_named_by_a_person_means_cp932(self) -> None:
        text, codec = decode("髙橋①".encode("cp932"), "Shift_JIS")
        assert (text, codec) == ("髙橋①", "cp932")

    def test_forced_encoding_is_used_even_when_another_would_fit(self) -> None:
        # these bytes are valid UTF-8 ("ア") and valid CP932 ("繧「"): the flag decides
        data = "ア".encode()
        assert decode(data, "cp932") == (data.decode("cp932"), "cp932")

    def test_forced_utf8_strips_a_bom(self) -> None:
        assert decode("\ufeffa".encode(), "utf-8") == ("a", "utf-8-sig")

    def test_wrong_forced_encoding_names_the_encoding_and_offset(self) -> None:
        with pytest.raises(InvalidInput, match=r"not valid utf-8: byte 0x\w\w at offset 0"):
            decode("髙橋".encode("cp932"), "utf-8")

    def test_undecodable_bytes_name_every_encoding_tried(self) -> None:
        with pytest.raises(InvalidInput, match=r"tried utf-8 \(.*\), cp932 \(.*\)"):
            decode(b"ok,\x81 ,x\n")

    def test_unknown_encoding_name_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="unknown encoding 'klingon'"):
            decode(b"a", "klingon")


class TestHeader:
    def test_japanese_aliases_map_to_fields(self) -> None:
        _, sink = run(KANJI_TABLE.encode("cp932"))
        assert sink.rows == [
            {"family_name": "髙橋", "given_name": "①郎", "age": 42},
            {"family_name": "ｻﾄｳ", "given_name": "花子", "age": 7},
        ]

    def test_caller_mapping_names_a_file_column(self) -> None:
        _, sink = run("氏,名\n山田,太郎\n".encode(), mapping={"氏": "family_name"})
        assert sink.rows == [{"family_name": "山田", "given_name": "太郎"}]

    def test_headers_match_after_nfkc_and_case_folding(self) -> None:
        _, sink = run("ＦＡＭＩＬＹ_ＮＡＭＥ, Given_Name \n山田,太郎\n".encode())
        assert sink.rows == [{"family_name": "山田", "given_name": "太郎"}]

    def test_mapping_to_an_unknown_field_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="unknown field 'surname'"):
            run("氏\n山田\n".encode(), mapping={"氏": "surname"})

    def test_missing_required_column_is_an_error_on_row_1(self) -> None:
        assert errors_of("名\n太郎\n".encode()) == [
            {"row": 1, "column": "family_name", "reason": "required column is missing"}
        ]

    def test_two_columns_for_one_field_are_an_error(self) -> None:
        errors = errors_of("姓,family_name\n山田,山田\n".encode())
        assert errors == [
            {
                "row": 1,
                "column": "family_name",
                "reason": "duplicate column: '姓' already gives family_name",
            }
        ]

    def test_unknown_column_is_an_error(self) -> None:
        errors = errors_of("姓,備考\n山田,x\n".encode())
        assert [(e["row"], e["column"]) for e in errors] == [(1, "備考")]

    def test_unknown_column_may_be_ignored(self) -> None:
        _, sink = run("姓,備考\n山田,x\n".encode(), ignore_unknown=True)
        assert sink.rows == [{"family_name": "山田"}]

    def test_data_only_in_an_unnamed_column_is_an_error(self) -> None:
        errors = errors_of("名,\n太郎,\n,x\n".encode(), (Column("given_name", aliases=("名",)),))
        assert errors == [
            {"row": 3, "column": "#2", "reason": "the cell has data but its column has no name"}
        ]

    def test_unnamed_column_with_data_is_an_error(self) -> None:
        errors = errors_of("姓,\n山田,\n田中,x\n".encode())
        assert errors == [
            {"row": 3, "column": "#2", "reason": "the cell has data but its column has no name"}
        ]


class TestRows:
    def test_row_numbers_are_excel_rows_with_the_header_as_row_1(self) -> None:
        errors = errors_of("姓,年齢\n山田,1\n田中,x\n".encode())
        assert errors == [{"row": 3, "column": "年齢", "reason": "'x' is not a whole number"}]

    def test_a_quoted_line_break_stays_in_its_row(self) -> None:
        errors = errors_of('姓,年齢\n"山\n田",1\n田中,x\n'.encode())
        assert errors[0]["row"] == 3

    def test_blank_rows_are_skipped_but_keep_their_number(self) -> None:
        errors = errors_of("姓,年齢\n\n,\n 　, \n田中,x\n".encode())
        assert [e["row"] for e in errors] == [5]

    def test_row_with_fewer_cells_is_ragged(self) -> None:
        assert errors_of("姓,名,年齢\n山田,太郎\n".encode()) == [
            {"row": 2, "column": "", "reason": "the row has 2 cells but the header has 3"}
        ]

    def test_row_with_more_cells_is_ragged(self) -> None:
        errors = errors_of("姓,名\n山田,太郎,x\n".encode())
        assert errors[0]["reason"] == "the row has 3 cells but the header has 2"

    def test_trailing_empty_cells_beyond_the_header_are_tolerated(self) -> None:
        _, sink = run("姓,名\n山田,太郎,,\n".encode())
        assert sink.rows == [{"family_name": "山田", "given_name": "太郎"}]

    def test_blank_required_cell_is_an_error(self) -> None:
        assert errors_of("姓,名\n ,太郎\n".encode()) == [
            {"row": 2, "column": "姓", "reason": "is required"}
        ]

    def test_blank_optional_cell_is_none(self) -> None:
        _, sink = run("姓,年齢\n山田,\n".encode())
        assert sink.rows == [{"family_name": "山田", "age": None}]

    def test_cells_are_stripped_before_conversion(self) -> None:
        _, sink = run("姓,年齢\n 山田　, ４２ \n".encode())
        assert sink.rows == [{"family_name": "山田", "age": 42}]

    def test_unique_column_reports_the_repeat_and_the_first_row(self) -> None:
        columns = (Column("code", unique=True),)
        assert errors_of(b"code\na\nb\na\n", columns) == [
            {"row": 4, "column": "code", "reason": "repeats row 2"}
        ]

    def test_malformed_csv_is_reported_with_its_row(self) -> None:
        with pytest.raises(InvalidInput, match="row 3: the CSV is malformed"):
            run('姓,名\n山田,太郎\n"田中"x,花子\n'.encode())

    def test_check_errors_name_the_column_as_the_file_does(self) -> None:
        def check(rows: list[ValidRow]) -> list[RowError]:
            return [RowError(rows[0][0], "family_name", "taken")]

        errors = errors_of("姓\n山田\n".encode(), check=check)
        assert errors == [{"row": 2, "column": "姓", "reason": "taken"}]

    def test_check_sees_valid_rows_with_their_numbers(self) -> None:
        seen: list[ValidRow] = []

        def check(rows: list[ValidRow]) -> list[RowError]:
            seen.extend(rows)
            return [RowError(rows[-1][0], "姓", "taken")]

        errors = errors_of("姓\n山田\n田中\n".encode(), check=check)
        assert seen == [(2, {"family_name": "山田"}), (3, {"family_name": "田中"})]
        assert errors == [{"row": 3, "column": "姓", "reason": "taken"}]


class TestFileProblems:
    def test_empty_file_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="the file is empty"):
            run(b"")

    def test_file_of_blank_lines_is_empty(self) -> None:
        with pytest.raises(InvalidInput, match="the file is empty"):
            run(b"\r\n,,\r\n")

    def test_header_without_rows_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="header but no rows"):
            run("姓,名\n".encode())

    def test_nul_bytes_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="NUL bytes"):
            run("姓\n山田\n".encode("utf-16"))

    def test_file_over_the_limit_is_too_large(self) -> None:
        with pytest.raises(PayloadTooLarge, match="the limit is 10 bytes"):
            run(b"family_name\nabcdefghij\n", max_bytes=10)


class TestAllOrNothing:
    def test_one_bad_row_writes_nothing(self) -> None:
        data = "姓,年齢\n" + "".join(f"山田,{i}\n" for i in range(100)) + "田中,x\n"
        sink = Sink()
        with pytest.raises(InvalidInput, match="1 error; nothing was imported"):
            run_import(data.encode(), COLUMNS, sink)
        assert sink.batches == []

    def test_rows_are_written_in_batches_with_progress(self) -> None:
        data = "姓\n" + "".join(f"p{i}\n" for i in range(25))
        calls: list[tuple[str, int, int]] = []
        result, sink = run(data.encode(), batch_size=10, progress=lambda *a: calls.append(a))
        assert [len(b) for b in sink.batches] == [10, 10, 5]
        assert result == ImportResult(imported=25, encoding="utf-8", fields=("family_name",))
        assert calls[-4:] == [
            ("writing", 0, 25),
            ("writing", 10, 25),
            ("writing", 20, 25),
            ("writing", 25, 25),
        ]

    def test_errors_are_capped_but_counted(self) -> None:
        data = "姓,年齢\n" + "山田,x\n" * 30
        with pytest.raises(InvalidInput, match="30 errors; the first 5 are listed") as caught:
            run(data.encode(), max_errors=5)
        assert [e["row"] for e in caught.value.errors] == [2, 3, 4, 5, 6]

    def test_a_failing_writer_stops_the_import(self) -> None:
        def writer(batch: list[dict[str, Any]]) -> None:
            raise RuntimeError("disk full")

        with pytest.raises(RuntimeError, match="disk full"):
            run_import("姓\n山田\n".encode(), COLUMNS, writer)


class TestConverters:
    def test_text_column_passes_cells_through_unchanged(self) -> None:
        _, sink = run(b"code\nabc\n", (Column("code", max_length=3),))
        assert sink.rows == [{"code": "abc"}]

    def test_to_int_accepts_full_width_digits_and_separators(self) -> None:
        assert to_int("１,２３４") == 1234

    def test_one_of_returns_the_canonical_choice(self) -> None:
        assert one_of("admin", "member")("ADMIN") == "admin"

    def test_one_of_refuses_others(self) -> None:
        with pytest.raises(ValueError, match="is not one of admin, member"):
            one_of("admin", "member")("owner")

    def test_max_length_refuses_long_cells_by_row(self) -> None:
        columns = (Column("code", max_length=3),)
        assert errors_of(b"code\nabc\nabcd\n", columns) == [
            {"row": 3, "column": "code", "reason": "is longer than 3 characters"}
        ]


# characters CP932 can encode: kanji, kana (full and half width), NEC extensions, ASCII —
# less the few that CP932 maps to a look-alike on the way back (〜 comes back as ～)
_CP932_TEXT = st.text(
    alphabet=st.characters(
        codec="cp932",
        exclude_categories=("Cc", "Cs", "Zl", "Zp"),
        exclude_characters="¢£¬‖−〜",
    ),
    min_size=1,
    max_size=8,
).filter(lambda s: s.strip() == s and s.strip() != "")


def _csv_bytes(header: list[str], rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


class TestRoundTrip:
    @settings(max_examples=60, deadline=None)
    @given(
        rows=st.lists(st.lists(_CP932_TEXT, min_size=3, max_size=3), min_size=1, max_size=20),
        encoding=st.sampled_from(["cp932", "utf-8", "utf-8-sig"]),
    )
    def test_any_table_of_japanese_text_round_trips(
        self, rows: list[list[str]], encoding: str
    ) -> None:
        columns = (Column("a"), Column("b"), Column("c"))
        _, sink = run(_csv_bytes(["a", "b", "c"], rows, encoding), columns)
        assert [[r["a"], r["b"], r["c"]] for r in sink.rows] == rows
