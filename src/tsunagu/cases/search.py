"""Japanese full-text search of cases: character n-grams on SQLite FTS5 and PostgreSQL.

Japanese has no spaces between words, so no word tokenizer is used at all.  The text is
normalised (NFKC, then case-folded: ``ＡＢＣ`` → ``abc``, ``ｶﾀｶﾅ`` → ``カタカナ``) and split
into *runs* of letters and digits; every run is indexed as

- its character **bigrams**, in order, at consecutive positions (a run ends with a gap), and
- its distinct character **unigrams** (for one-character queries).

A query is normalised and split the same way; a run of one character looks up the unigram,
a run of n ≥ 2 characters is the *phrase* of its n − 1 consecutive bigrams (``保管場所`` →
``保管 管場 場所``), so it finds ``自動車保管場所証明書`` but not ``保管…場所`` apart.  Several
runs (words) must all match (AND).  The search document of a case is its summary, its
description and all its comments.

Storage (``cases_search_docs``, one row per case, keeps ``project_id`` with the case):

- **SQLite** — the FTS5 table ``cases_fts(grams)`` (``unicode61``), rowid = the doc's id,
  holds the tokens separated by spaces; a query is ``grams MATCH '"t1 t2" AND "t3"'``.
  Tokens are always plain letters and digits for the tokenizer: characters outside ASCII,
  kana and the main CJK blocks are spelt as fixed-width base-36 code points, so an exotic
  character can never be split or dropped by the tokenizer's (older) Unicode tables.
- **PostgreSQL** — ``cases_search_docs.grams`` is a ``tsvector`` built from a literal (no
  text-search parser: ``'保管':1 '管場':2 '場所':3 '保' '管' …``); the query is a ``tsquery``
  literal (``'保管' <-> '管場' <-> '場所'``).  Both literals are bound parameters and every
  lexeme is quoted, so no input can inject SQL or query syntax.

Limits (PostgreSQL): tsvector positions stop at 16,383 and keep 256 per lexeme, so a phrase
deep inside a very long document (a case with many long comments) may be missed there.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    column,
    delete,
    false,
    func,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import Session

from tsunagu.cases.models import Case, Comment, SearchDoc

#: a position gap between runs (PostgreSQL) / the token between runs (SQLite): a 3-letter
#: token, which no unigram (1 or 4 characters) or bigram (2 or 8 characters) can equal
RUN_BREAK = "zzz"
#: how many documents one bulk statement writes
CHUNK = 2_000
#: PostgreSQL keeps positions up to this; later bigrams are left out rather than clamped
MAX_POSITION = 16_383

_FTS = table("cases_fts", column("rowid", Integer), column("grams"))
_PG_DOCS = table(
    "cases_search_docs",
    column("id", Integer),
    column("case_id"),
    column("project_id"),
    column("grams", TSVECTOR),
)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
#: a run: what ``str.isalnum`` accepts (``\\w`` is exactly that plus ``_``)
_RUN = re.compile(r"[^\W_]+")
#: a run every tokenizer keeps as itself (see ``_plain``)
_PLAIN_RUN = re.compile(r"[0-9a-z\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+")


# --- normalisation ---------------------------------------------------------------------


def normalize(value: str) -> str:
    """NFKC, then case-folded (full/half width and upper/lower case become one)."""
    return unicodedata.normalize("NFKC", value).casefold()


def runs(value: str) -> list[str]:
    """The runs of letters and digits of the normalised text (everything else separates)."""
    return _RUN.findall(normalize(value))


def _plain(char: str) -> bool:
    """A character every tokenizer keeps as itself: ASCII letters/digits, kana, CJK."""
    code = ord(char)
    return (
        code < 0x80
        or 0x3041 <= code <= 0x30FF
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
    )


def _base36(char: str) -> str:
    code = ord(char)
    out = ""
    for _ in range(4):  # 36**4 > 0x10FFFF
        code, digit = divmod(code, 36)
        out = _DIGITS[digit] + out
    return out


def token(gram: str) -> str:
    """The FTS5 token of a unigram or bigram (see the module doc)."""
    if all(_plain(c) for c in gram):
        return gram
    return "".join(_base36(c) for c in gram)


def _bigrams(run: str) -> list[str]:
    return [a + b for a, b in pairwise(run)]


@dataclass(frozen=True, slots=True)
class Grams:
    """The n-grams of a document: bigrams per run (in order) and the distinct unigrams."""

    bigram_runs: tuple[tuple[str, ...], ...]
    unigrams: tuple[str, ...]


def grams_of(value: str) -> Grams:
    found = runs(value)
    unigrams = dict.fromkeys("".join(found))
    return Grams(
        tuple(tuple(_bigrams(run)) for run in found if len(run) > 1),
        tuple(unigrams),
    )


def document_text(summary: str, description: str, comments: Iterable[str]) -> str:
    """The search document: summary, description and comments, one per paragraph."""
    return "\n".join([summary, description, *comments])


def fts_tokens(grams: Grams) -> str:
    """The FTS5 document: the bigram runs separated by ``RUN_BREAK``, then the unigrams."""
    parts: list[str] = []
    for run in grams.bigram_runs:
        if _PLAIN_RUN.fullmatch("".join(run)):
            parts.extend(run)
        else:
            parts.extend(token(g) for g in run)
        parts.append(RUN_BREAK)
    plain = "".join(grams.unigrams)
    if _PLAIN_RUN.fullmatch(plain):
        parts.extend(grams.unigrams)
    else:
        parts.extend(token(u) for u in grams.unigrams)
    return " ".join(parts)


def _lexeme(gram: str) -> str:
    """A quoted lexeme of a tsvector / tsquery literal (quote and backslash escaped)."""
    if "'" in gram or "\\" in gram:
        gram = gram.replace("\\", "\\\\").replace("'", "''")
    return f"'{gram}'"


def tsvector_literal(grams: Grams) -> str:
    """The tsvector literal: bigrams with positions (a gap between runs), unigrams bare.

    PostgreSQL keeps positions up to ``MAX_POSITION`` and 256 of them per lexeme; later
    ones are left out."""
    positions: dict[str, list[int]] = {}
    position = 1
    for run in grams.bigram_runs:
        if position > MAX_POSITION:
            break
        for place, gram in enumerate(run, position):
            positions.setdefault(gram, []).append(place)
        position += len(run) + 1
    parts = [
        f"{_lexeme(g)}:{','.join([str(p) for p in places[:256] if p <= MAX_POSITION])}"
        for g, places in positions.items()
        if places[0] <= MAX_POSITION
    ]
    parts.extend(_lexeme(u) for u in grams.unigrams if u not in positions)
    return " ".join(parts)


# --- queries -------------------------------------------------------------------------------


def fts_query(keyword: str) -> str | None:
    """The FTS5 MATCH expression of a keyword (None when it has no letters or digits)."""
    terms = []
    for run in runs(keyword):
        grams = [run] if len(run) == 1 else _bigrams(run)
        terms.append('"' + " ".join(token(g) for g in grams) + '"')
    return " AND ".join(terms) if terms else None


def tsquery_literal(keyword: str) -> str | None:
    """The tsquery literal of a keyword (None when it has no letters or digits)."""
    terms = []
    for run in runs(keyword):
        grams = [run] if len(run) == 1 else _bigrams(run)
        terms.append("(" + " <-> ".join(_lexeme(g) for g in grams) + ")")
    return " & ".join(terms) if terms else None


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def keyword_clause(session: Session, keyword: str) -> ColumnElement[bool]:
    """A WHERE clause on ``Case`` true for the cases whose text contains ``keyword``."""
    if _is_postgres(session):
        literal = tsquery_literal(keyword)
        if literal is None:
            return false()
        query = func.cast(bindparam("keyword_q", literal, unique=True), TSQUERY)
        return Case.id.in_(select(_PG_DOCS.c.case_id).where(_PG_DOCS.c.grams.op("@@")(query)))
    expression = fts_query(keyword)
    if expression is None:
        return false()
    return Case.id.in_(
        select(SearchDoc.case_id)
        .join(_FTS, _FTS.c.rowid == SearchDoc.id)
        .where(_FTS.c.grams.op("MATCH")(bindparam("keyword_q", expression, unique=True)))
    )


# --- writing the index ---------------------------------------------------------------------


def _comments_of(session: Session, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = {}
    rows = session.execute(
        select(Comment.case_id, Comment.body)
        .where(Comment.case_id.in_(case_ids))
        .order_by(Comment.case_id, Comment.created_at, Comment.id)
    )
    for case_id, body in rows:
        found.setdefault(case_id, []).append(body)
    return found


def index_case(session: Session, case: Case) -> None:
    """(Re)write the case's search document from its summary, description and comments."""
    session.flush()
    comments = _comments_of(session, [case.id]).get(case.id, [])
    grams = grams_of(document_text(case.summary, case.description or "", comments))
    doc = session.scalar(select(SearchDoc).where(SearchDoc.case_id == case.id))
    if doc is None:
        doc = SearchDoc(case_id=case.id, project_id=case.project_id)
        session.add(doc)
        session.flush()
    elif doc.project_id != case.project_id:
        doc.project_id = case.project_id
        session.flush()
    if _is_postgres(session):
        session.execute(
            update(_PG_DOCS)
            .where(_PG_DOCS.c.id == doc.id)
            .values(grams=func.cast(bindparam("literal", tsvector_literal(grams)), TSVECTOR))
        )
    else:
        session.execute(delete(_FTS).where(_FTS.c.rowid == doc.id))
        session.execute(insert(_FTS).values(rowid=doc.id, grams=fts_tokens(grams)))


@dataclass(frozen=True, slots=True)
class Document:
    """A case's search document for ``bulk_index``."""

    doc_id: int
    case_id: uuid.UUID
    project_id: uuid.UUID
    text: str


def bulk_index(session: Session, documents: Iterable[Document]) -> int:
    """Write the search documents of many *new* cases at once (no earlier document):
    ``cases_search_docs`` rows with the given ids and their n-grams, by executemany
    (SQLite) or COPY (PostgreSQL).  Returns how many were written."""
    count = 0
    postgres = _is_postgres(session)
    for chunk in _chunks(documents, CHUNK):
        count += len(chunk)
        if postgres:
            _copy_pg(session, chunk)
            continue
        session.execute(
            insert(SearchDoc),
            [{"id": d.doc_id, "case_id": d.case_id, "project_id": d.project_id} for d in chunk],
        )
        session.execute(
            insert(_FTS),
            [{"rowid": d.doc_id, "grams": fts_tokens(grams_of(d.text))} for d in chunk],
        )
    return count


def _copy_pg(session: Session, chunk: Sequence[Document]) -> None:
    raw = session.connection().connection.driver_connection
    cursor = raw.cursor()  # type: ignore[union-attr]
    with cursor.copy(  # psycopg 3
        "COPY cases_search_docs (id, case_id, project_id, grams) FROM STDIN"
    ) as copy:
        for d in chunk:
            copy.write_row((d.doc_id, d.case_id, d.project_id, tsvector_literal(grams_of(d.text))))


def _chunks(items: Iterable[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def reindex_all(session: Session, project_id: uuid.UUID | None = None) -> int:
    """Rebuild the search documents of every case (or one project's); returns how many."""
    session.flush()
    query = select(Case.id, Case.project_id, Case.summary, Case.description).order_by(Case.id)
    if project_id is not None:
        query = query.where(Case.project_id == project_id)
    rows = session.execute(query).all()
    postgres = _is_postgres(session)
    done = 0
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        ids = [r.id for r in part]
        comments = _comments_of(session, ids)
        old = dict(
            session.execute(
                select(SearchDoc.case_id, SearchDoc.id).where(SearchDoc.case_id.in_(ids))
            ).all()
        )
        next_id = (session.scalar(select(func.max(SearchDoc.id))) or 0) + 1
        if not postgres and old:
            session.execute(delete(_FTS).where(_FTS.c.rowid.in_(list(old.values()))))
        session.execute(delete(SearchDoc).where(SearchDoc.case_id.in_(ids)))
        docs = [
            Document(
                old.get(r.id) or next_id + i,
                r.id,
                r.project_id,
                document_text(r.summary, r.description or "", comments.get(r.id, [])),
            )
            for i, r in enumerate(part)
        ]
        done += bulk_index(session, docs)
    if project_id is None and not postgres:
        session.execute(
            text("DELETE FROM cases_fts WHERE rowid NOT IN (SELECT id FROM cases_search_docs)")
        )
    return done
