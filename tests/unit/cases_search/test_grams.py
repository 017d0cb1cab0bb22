"""Normalisation, n-grams and the query literals of the case search."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tsunagu.cases.search import (
    RUN_BREAK,
    fts_query,
    fts_tokens,
    grams_of,
    normalize,
    runs,
    token,
    tsquery_literal,
    tsvector_literal,
)


def _kept(char: str) -> bool:
    """Characters every version of FTS5's unicode61 keeps in a token."""
    return (char.isascii() and char.isalnum()) or 0x3041 <= ord(char) <= 0x9FFF


class TestNormalize:
    def test_full_width_latin_becomes_half_width_lower_case(self) -> None:
        assert normalize("ＡＢＣ") == "abc"

    def test_half_width_katakana_becomes_full_width(self) -> None:
        assert normalize("ｶﾀｶﾅ") == "カタカナ"

    def test_half_width_voiced_katakana_is_composed(self) -> None:
        assert normalize("ｶﾞｲﾄﾞ") == "ガイド"


class TestRuns:
    def test_punctuation_and_spaces_split_runs(self) -> None:
        assert runs("車庫証明、申請書 (No.12)") == ["車庫証明", "申請書", "no", "12"]

    def test_text_without_letters_has_no_runs(self) -> None:
        assert runs("「」、。!? *") == []


class TestGrams:
    def test_a_run_gives_its_bigrams_in_order(self) -> None:
        assert grams_of("保管場所").bigram_runs == (("保管", "管場", "場所"),)

    def test_every_character_is_a_unigram_once(self) -> None:
        assert grams_of("ここに、ここ").unigrams == ("こ", "に")

    def test_a_one_character_run_has_no_bigrams(self) -> None:
        assert grams_of("車").bigram_runs == ()

    def test_runs_are_kept_apart_in_the_fts_document(self) -> None:
        assert fts_tokens(grams_of("保管 場所")).split()[:4] == [
            "保管",
            RUN_BREAK,
            "場所",
            RUN_BREAK,
        ]

    def test_runs_leave_a_position_gap_in_the_tsvector(self) -> None:
        assert tsvector_literal(grams_of("保管 場所")).startswith("'保管':1 '場所':3")

    def test_a_character_outside_the_plain_blocks_is_spelt_in_base36(self) -> None:
        assert token("😀") == "2r5s"  # 0x1F600


class TestQueries:
    def test_a_long_word_is_a_phrase_of_its_bigrams(self) -> None:
        assert fts_query("保管場所") == '"保管 管場 場所"'

    def test_several_words_must_all_match(self) -> None:
        assert fts_query("車庫 申請") == '"車庫" AND "申請"'

    def test_one_character_looks_up_the_unigram(self) -> None:
        assert tsquery_literal("車") == "('車')"

    def test_the_tsquery_is_a_phrase_of_quoted_lexemes(self) -> None:
        assert tsquery_literal("保管場所") == "('保管' <-> '管場' <-> '場所')"

    def test_fts_syntax_in_a_keyword_is_only_separators(self) -> None:
        assert fts_query('" OR NEAR( * )') == '"or" AND "ne ea ar"'

    def test_a_quote_or_backslash_never_reaches_a_lexeme(self) -> None:
        assert tsquery_literal("' \\ ''") is None

    def test_a_keyword_of_punctuation_alone_has_no_query(self) -> None:
        assert fts_query("'\"*()") is None

    @given(st.text())
    def test_any_keyword_gives_tokens_the_tokenizer_keeps_whole(self, keyword: str) -> None:
        expression = fts_query(keyword) or ""
        inner = expression.replace(" AND ", " ").replace('"', "")
        assert all(_kept(c) for c in inner.replace(" ", ""))
