"""Keyed pseudonyms: the HMAC in DuckDB equals Python's, and ``match`` is a safe one-to-one join.

Households share an e-mail address and a landline; those must never link two different
people.  ``match`` equals a naive greedy reference on random small tables (hypothesis).
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagu.linkage.pseudonym import (
    RULES,
    PseudonymInputInvalid,
    derive_key,
    match,
    pseudonym_of,
    pseudonymise,
)

SECRET = b"platform-secret-for-tests-0123456789"
KEY = derive_key(SECRET, "collab-1")
COLUMNS = (
    "id",
    "email",
    "phone",
    "birth_date",
    "full_name",
    "full_name_kana",
    "postal_code",
    "address_key",
)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def load(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict[str, Any]]) -> None:
    cols = ", ".join(f"{c} VARCHAR" for c in COLUMNS)
    con.execute(f"CREATE OR REPLACE TABLE {name} ({cols})")
    for row in rows:
        con.execute(
            f"INSERT INTO {name} VALUES ({', '.join('?' for _ in COLUMNS)})",
            [row.get(c) for c in COLUMNS],
        )


def person(pid: str, **fields: str | None) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": pid,
        "email": None,
        "phone": None,
        "birth_date": None,
        "full_name": None,
        "full_name_kana": None,
        "postal_code": None,
        "address_key": None,
    }
    base.update(fields)
    return base


def run_match(
    con: duckdb.DuckDBPyConnection,
    left: list[dict[str, Any]],
    right: list[dict[str, Any]],
    **kwargs: Any,
) -> list[tuple[str, str, str]]:
    load(con, "raw_l", left)
    load(con, "raw_r", right)
    pseudonymise(con, "raw_l", KEY, out="pl")
    pseudonymise(con, "raw_r", KEY, out="pr")
    match(con, "pl", "pr", out="m", **kwargs)
    return [(str(a), str(b), str(c)) for a, b, c in con.execute("SELECT * FROM m").fetchall()]


class TestDeriveKey:
    def test_is_stable_for_one_collaboration(self) -> None:
        assert derive_key(SECRET, "collab-1") == KEY

    def test_differs_between_collaborations(self) -> None:
        assert derive_key(SECRET, "collab-2") != KEY

    def test_is_32_bytes(self) -> None:
        assert len(KEY) == 32

    def test_rejects_a_short_secret(self) -> None:
        with pytest.raises(PseudonymInputInvalid, match="at least 16"):
            derive_key(b"short", "collab-1")

    def test_rejects_an_empty_collaboration_id(self) -> None:
        with pytest.raises(PseudonymInputInvalid, match="collaboration id"):
            derive_key(SECRET, " ")


values = st.none() | st.text(min_size=0, max_size=12)


class TestPseudonymise:
    @given(rows=st.lists(st.fixed_dictionaries(dict.fromkeys(COLUMNS[1:], values)), max_size=5))
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_equals_python_hmac(self, rows: list[dict[str, str | None]]) -> None:
        con = duckdb.connect()
        records = [person(f"L{i}", **row) for i, row in enumerate(rows)]
        load(con, "raw", records)
        pseudonymise(con, "raw", KEY, out="p")
        columns = ", ".join(rule.column for rule in RULES)
        got = con.execute(f"SELECT id, {columns} FROM p ORDER BY id").fetchall()
        con.close()
        expected = [
            (
                rec["id"],
                *(pseudonym_of(KEY, rule, [rec[c] for c in rule.columns]) for rule in RULES),
            )
            for rec in sorted(records, key=lambda r: str(r["id"]))
        ]
        assert got == expected

    def test_reference_is_plain_hmac_sha256(self) -> None:
        msg = b"email_birth\x1f6:a@b.jp10:1980-01-02"
        expected = hmac.digest(KEY, msg, "sha256")
        assert pseudonym_of(KEY, RULES[0], ["a@b.jp", "1980-01-02"]) == expected

    def test_a_missing_part_gives_no_pseudonym(self, con: duckdb.DuckDBPyConnection) -> None:
        load(con, "raw", [person("L1", email="a@b.jp")])
        pseudonymise(con, "raw", KEY, out="p")
        assert con.execute("SELECT pid_email_birth FROM p").fetchone() == (None,)

    def test_an_empty_string_counts_as_missing(self, con: duckdb.DuckDBPyConnection) -> None:
        load(con, "raw", [person("L1", email="a@b.jp", birth_date="")])
        pseudonymise(con, "raw", KEY, out="p")
        assert con.execute("SELECT pid_email_birth FROM p").fetchone() == (None,)

    def test_a_missing_column_gives_no_pseudonym(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE raw AS SELECT 'L1' AS id, '1980-01-02' AS birth_date")
        pseudonymise(con, "raw", KEY, out="p")
        assert con.execute("SELECT pid_email_birth FROM p").fetchone() == (None,)

    def test_a_date_column_is_hashed_as_iso_text(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "CREATE TABLE raw AS "
            "SELECT 'L1' AS id, 'a@b.jp' AS email, DATE '1980-01-02' AS birth_date"
        )
        pseudonymise(con, "raw", KEY, out="p")
        expected = pseudonym_of(KEY, RULES[0], ["a@b.jp", "1980-01-02"])
        assert con.execute("SELECT pid_email_birth FROM p").fetchone() == (expected,)

    def test_output_holds_only_ids_and_pseudonyms(self, con: duckdb.DuckDBPyConnection) -> None:
        load(con, "raw", [person("L1", email="a@b.jp", birth_date="1980-01-02")])
        pseudonymise(con, "raw", KEY, out="p")
        names = [r[0] for r in con.execute("DESCRIBE p").fetchall()]
        assert names == ["id", *(rule.column for rule in RULES)]

    def test_another_key_gives_other_pseudonyms(self, con: duckdb.DuckDBPyConnection) -> None:
        load(con, "raw", [person("L1", email="a@b.jp", birth_date="1980-01-02")])
        pseudonymise(con, "raw", KEY, out="p1")
        pseudonymise(con, "raw", derive_key(SECRET, "collab-2"), out="p2")
        row = con.execute("SELECT p1.pid_email_birth = p2.pid_email_birth FROM p1, p2").fetchone()
        assert row == (False,)

    def test_rejects_a_table_without_id(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE raw AS SELECT 'a@b.jp' AS email")
        with pytest.raises(PseudonymInputInvalid, match="'id'"):
            pseudonymise(con, "raw", KEY, out="p")

    def test_rejects_an_unknown_table(self, con: duckdb.DuckDBPyConnection) -> None:
        with pytest.raises(PseudonymInputInvalid, match="no table"):
            pseudonymise(con, "nope", KEY, out="p")

    def test_rejects_a_key_of_the_wrong_size(self, con: duckdb.DuckDBPyConnection) -> None:
        load(con, "raw", [person("L1")])
        with pytest.raises(PseudonymInputInvalid, match="32 bytes"):
            pseudonymise(con, "raw", b"0" * 16, out="p")


MOTHER = {"email": "yamada.family@example.jp", "phone": "+81312345678"}


class TestMatchHouseholds:
    def test_the_same_person_links(self, con: duckdb.DuckDBPyConnection) -> None:
        rec = {**MOTHER, "birth_date": "1957-03-29"}
        assert run_match(con, [person("L1", **rec)], [person("R1", **rec)]) == [
            ("L1", "R1", "email_birth")
        ]

    def test_a_shared_email_alone_does_not_link_two_people(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        left = [person("L1", email=MOTHER["email"], birth_date="1957-03-29")]
        right = [person("R1", email=MOTHER["email"], birth_date="1985-11-02")]
        assert run_match(con, left, right) == []

    def test_a_shared_landline_alone_does_not_link_two_people(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        left = [person("L1", phone=MOTHER["phone"], birth_date="1957-03-29")]
        right = [person("R1", phone=MOTHER["phone"], birth_date="1985-11-02")]
        assert run_match(con, left, right) == []

    def test_each_household_member_links_to_themself(self, con: duckdb.DuckDBPyConnection) -> None:
        left = [
            person("L1", **MOTHER, birth_date="1957-03-29"),
            person("L2", **MOTHER, birth_date="1985-11-02"),
        ]
        right = [
            person("R7", **MOTHER, birth_date="1985-11-02"),
            person("R9", **MOTHER, birth_date="1957-03-29"),
        ]
        assert sorted(run_match(con, left, right)) == [
            ("L1", "R9", "email_birth"),
            ("L2", "R7", "email_birth"),
        ]

    def test_twins_are_told_apart_by_their_names(self, con: duckdb.DuckDBPyConnection) -> None:
        twins = {**MOTHER, "birth_date": "2001-06-01", "postal_code": "1000001"}
        left = [
            person("L1", **twins, full_name_kana="ヤマダアオイ"),
            person("L2", **twins, full_name_kana="ヤマダアカリ"),
        ]
        right = [
            person("R1", **twins, full_name_kana="ヤマダアカリ"),
            person("R2", **twins, full_name_kana="ヤマダアオイ"),
        ]
        assert sorted(run_match(con, left, right)) == [
            ("L1", "R2", "email_birth"),
            ("L2", "R1", "email_birth"),
        ]


class TestMatchRules:
    def test_reports_the_highest_priority_rule(self, con: duckdb.DuckDBPyConnection) -> None:
        rec = {"phone": "+819012345678", "birth_date": "1990-01-01", "full_name": "佐藤一郎"}
        rec["address_key"] = "東京都千代田区1-2-3"
        assert run_match(con, [person("L1", **rec)], [person("R1", **rec)]) == [
            ("L1", "R1", "phone_birth")
        ]

    def test_a_later_rule_links_what_earlier_rules_cannot(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        common = {"full_name": "佐藤一郎", "birth_date": "1990-01-01", "address_key": "a1-2-3"}
        left = [person("L1", **common, email="old@example.jp")]
        right = [person("R1", **common, email="new@example.jp")]
        assert run_match(con, left, right) == [("L1", "R1", "name_birth_address")]

    def test_a_key_shared_by_too_many_records_links_nobody(
        self, con: duckdb.DuckDBPyConnection
    ) -> None:
        rec = {"email": "noreply@example.jp", "birth_date": "1900-01-01"}
        left = [person(f"L{i}", **rec) for i in range(3)]
        right = [person("R1", **rec)]
        assert run_match(con, left, right, max_group=2) == []

    def test_output_holds_only_ids_and_the_rule(self, con: duckdb.DuckDBPyConnection) -> None:
        rec = {**MOTHER, "birth_date": "1957-03-29"}
        run_match(con, [person("L1", **rec)], [person("R1", **rec)])
        assert [r[0] for r in con.execute("DESCRIBE m").fetchall()] == [
            "left_id",
            "right_id",
            "rule",
        ]

    def test_returns_the_number_of_pairs(self, con: duckdb.DuckDBPyConnection) -> None:
        rec = {**MOTHER, "birth_date": "1957-03-29"}
        load(con, "raw", [person("X1", **rec)])
        pseudonymise(con, "raw", KEY, out="p")
        assert match(con, "p", "p", out="m") == 1

    def test_rejects_tables_without_common_pseudonyms(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE a AS SELECT 'L1' AS id")
        con.execute("CREATE TABLE b AS SELECT 'R1' AS id")
        with pytest.raises(PseudonymInputInvalid, match="share no pseudonym"):
            match(con, "a", "b", out="m")


# ---- one-to-one against a naive greedy reference ---------------------------------------

small = st.sampled_from(["a", "b", None])
dates = st.sampled_from(["2000-01-01", "2000-01-02", None])


@st.composite
def records(draw: st.DrawFn, prefix: str) -> list[dict[str, Any]]:
    n = draw(st.integers(0, 7))
    return [
        person(
            f"{prefix}{i}",
            email=draw(small),
            phone=draw(small),
            birth_date=draw(dates),
            full_name_kana=draw(small),
            postal_code=draw(small),
            full_name=draw(small),
            address_key=draw(small),
        )
        for i in range(n)
    ]


def reference(
    left: list[dict[str, Any]], right: list[dict[str, Any]], max_group: int
) -> list[tuple[str, str, str]]:
    def keys(rows: list[dict[str, Any]]) -> list[dict[int, bytes]]:
        out = []
        for row in rows:
            ks = {}
            for prio, rule in enumerate(RULES):
                k = pseudonym_of(KEY, rule, [row[c] for c in rule.columns])
                if k is not None:
                    ks[prio] = k
            out.append(ks)
        return out

    lk, rk = keys(left), keys(right)
    lcount = Counter((p, k) for ks in lk for p, k in ks.items())
    rcount = Counter((p, k) for ks in rk for p, k in ks.items())
    edges = []
    for lrow, lks in zip(left, lk, strict=True):
        for rrow, rks in zip(right, rk, strict=True):
            agree = [
                p
                for p, k in lks.items()
                if rks.get(p) == k and lcount[(p, k)] <= max_group and rcount[(p, k)] <= max_group
            ]
            if agree:
                edges.append((min(agree), -len(agree), lrow["id"], rrow["id"]))
    used_l: set[str] = set()
    used_r: set[str] = set()
    chosen = []
    for prio, _, lid, rid in sorted(edges):
        if lid not in used_l and rid not in used_r:
            used_l.add(lid)
            used_r.add(rid)
            chosen.append((lid, rid, RULES[prio].name))
    return sorted(chosen)


class TestMatchOneToOne:
    @given(left=records("L"), right=records("R"), max_group=st.integers(1, 8))
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_equals_the_greedy_reference(
        self, left: list[dict[str, Any]], right: list[dict[str, Any]], max_group: int
    ) -> None:
        con = duckdb.connect()
        got = sorted(run_match(con, left, right, max_group=max_group))
        con.close()
        assert got == reference(left, right, max_group)

    @given(left=records("L"), right=records("R"))
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_each_id_appears_at_most_once(
        self, left: list[dict[str, Any]], right: list[dict[str, Any]]
    ) -> None:
        con = duckdb.connect()
        got = run_match(con, left, right)
        con.close()
        assert len({lid for lid, _, _ in got}) == len(got)
        assert len({rid for _, rid, _ in got}) == len(got)

    @given(left=records("L"), right=records("R"))
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_does_not_depend_on_row_order(
        self, left: list[dict[str, Any]], right: list[dict[str, Any]]
    ) -> None:
        con = duckdb.connect()
        forward = sorted(run_match(con, left, right))
        backward = sorted(run_match(con, left[::-1], right[::-1]))
        con.close()
        assert forward == backward
