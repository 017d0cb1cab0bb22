"""Probabilistic record linkage of two customer files with Splink (DuckDB backend).

The picture::

    left, right (pyarrow tables of the issue's columns, see ``files.read_people_csv``)
      │  normalise each distinct value once (tsunagu.linkage.normalize): names, kana,
      │  birth date → ISO, E.164 phone, e-mail, postal code, address key, sex
      ▼
    features in DuckDB ──► Splink model (Fellegi–Sunter), trained without labels:
      │   u by random sampling (seeded), m by EM over two or more blocking rules,
      │   λ from strict deterministic rules, term-frequency adjustment on surnames,
      │   phones and e-mails (a shared landline says less than a rare one)
      ▼
    scored candidate pairs (union of recall-oriented blocking rules)
      │  one-to-one: greedy by descending probability, run in SQL as rounds of
      │  "mutual best" pairs (equal to the global greedy order; see ``_one_to_one``)
      │  λ re-estimated from the scores to its fixed point (``_calibrate_prior``)
      ▼
    threshold = argmax expected F1 (below) unless the analyst gives one
      ▼
    LinkResult(pairs, threshold, report)

**Households and namesakes.**  Family members share an address, a landline and sometimes an
e-mail; namesakes share a name.  What separates them is what a person does not share: the
given name and the birth date.  Those comparisons have levels down to "different", whose
learned weights are strongly negative, and shared phones and e-mails carry a
term-frequency adjustment; address and postal code form one comparison (they say the same
thing twice) and EM never trains on a household key — so a household's home, landline and
e-mail do not outvote two different given names and birth dates.

**Default threshold: best expected F1.**  The model's match probabilities are calibrated
estimates, so over the one-to-one candidate pairs (those scored above ``SCORE_FLOOR``)
with probabilities ``p_i``, linking every pair with ``p ≥ t`` expects
``TP(t) = Σ_{p_i ≥ t} p_i`` true links, ``FP(t) = Σ_{p_i ≥ t} (1 − p_i)`` false ones and
``FN(t) = Σ_{p_i < t} p_i`` missed ones, hence an expected F1 of
``2·TP / (2·TP + FP + FN)``.  The default threshold is the probability that maximises it
(ties: the higher one).  The report lists the same estimates on a grid of thresholds so
the analyst can choose another (``threshold=``), and the pairs nearest the threshold for
clerical review.  These are the model's own estimates, not measured truth: they are only
as good as the model's calibration (``bench/linkage_quality.py`` measures both).

**One-to-one.**  Each record is in at most one pair: pairs are taken greedily by
descending probability (ties: smaller left id, then smaller right id).  Greedy rather than
an optimal assignment because it never gives a record a worse partner in exchange for
total score, it runs in SQL in a handful of rounds, and on calibrated scores both agree on
all but a few borderline pairs.  ``one_to_one=False`` returns every candidate above the
threshold.

Deterministic: the random sample for u is seeded, EM and scoring are pure SQL, and every
ordering has a tie-break.  Runs entirely in one private in-memory DuckDB connection.
"""

from __future__ import annotations

# ruff: noqa: S608 — SQL is built only from this module's own table and column names and
# from floats; file values reach DuckDB as data, never as SQL text
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI

from tsunagu.core.errors import InvalidInput
from tsunagu.linkage import normalize

__all__ = [
    "SCORE_FLOOR",
    "LinkResult",
    "LinkageError",
    "QualityReport",
    "ThresholdEstimate",
    "link",
]

#: candidate pairs scored below this probability are dropped before anything else
SCORE_FLOOR = 0.001
#: thresholds the report always estimates (plus the chosen one)
REPORT_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
#: the comparison features the model uses and the columns they come from
FEATURES = (
    "family_name",
    "given_name",
    "family_kana",
    "given_kana",
    "full_name",
    "full_kana",
    "birth_date",
    "birth_year",
    "birth_month",
    "birth_day",
    "sex",
    "postal_code",
    "address_key",
    "city",
    "phone",
    "email",
    "email_local",
)


class LinkageError(InvalidInput):
    """The two files cannot be linked as given (e.g. no identifying column in common)."""

    code = "linkage_impossible"
    title = "Cannot link these files"


@dataclass(frozen=True)
class ThresholdEstimate:
    """Expected quality when linking every one-to-one candidate at or above ``threshold``."""

    threshold: float
    pairs: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class QualityReport:
    """The match-quality report: the model's own estimates, for the analyst to judge."""

    threshold: float
    #: "expected_f1" (chosen by the model) or "analyst" (given)
    threshold_source: str
    expected_matches: float
    estimate: ThresholdEstimate
    by_threshold: tuple[ThresholdEstimate, ...]
    records_left: int
    records_right: int
    candidate_pairs: int
    blocking_rules: tuple[str, ...]
    probability_two_random_records_match: float
    #: per comparison: its levels with m, u and the Bayes factor m/u
    parameters: tuple[dict[str, Any], ...]
    #: the pairs nearest the threshold, with both sides' compared values
    borderline: tuple[dict[str, Any], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``--report``)."""
        return asdict(self)


@dataclass(frozen=True)
class LinkResult:
    """Linked pairs (``left_id``, ``right_id``, ``match_probability``), threshold, report."""

    pairs: pa.Table
    threshold: float
    report: QualityReport


# --------------------------------------------------------------------------- features


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Run ``sql`` and fetch every row (DuckDB 2 refuses new work while a result is open)."""
    return con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> Any:
    """The first column of the single row ``sql`` returns."""
    return _rows(con, sql, params)[0][0]


def _memo(function: Callable[[str], Any], values: Sequence[str | None]) -> list[Any]:
    """``function`` over ``values``, computed once per distinct non-null value."""
    cache: dict[str, Any] = {}
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        if value not in cache:
            cache[value] = function(value)
        out.append(cache[value])
    return out


def _column(table: pa.Table, name: str) -> list[str | None]:
    if name not in table.column_names:
        return [None] * table.num_rows
    values: list[str | None] = table.column(name).to_pylist()
    return values


def _blank(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _iso(value: str) -> str | None:
    """ISO date; an impossible eight-digit date (a typo: ``19948031``) keeps its digits in
    the ISO shape so that the edit-distance level still sees it."""
    parsed = normalize.parse_birth_date(value)
    if parsed is not None:
        return parsed.isoformat()
    digits = _digits(value)
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}" if len(digits) == 8 else None


def _digits(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", value) if c.isdigit())


def _postal(value: str) -> str | None:
    """Japanese postal code, else (a foreign file such as FEBRL's 4-digit postcodes) its
    digits."""
    code = normalize.normalize_postal_code(value)
    if code is not None:
        return code
    digits = _digits(value)
    return digits if 3 <= len(digits) <= 10 else None


def _phone(value: str) -> str | None:
    """E.164, else the digits of a number phonenumbers does not accept (still comparable)."""
    phone = normalize.normalize_phone(value)
    if phone is not None:
        return phone
    digits = _digits(value)
    return digits if len(digits) >= 6 else None


def _address(value: str) -> tuple[str | None, str | None]:
    address = normalize.normalize_address(value)
    if address is None:
        return None, None
    city = "".join(part for part in (address.prefecture, address.city) if part) or None
    return (address.key or None), city


def _split(
    family: list[str | None], given: list[str | None]
) -> tuple[list[str | None], list[str | None]]:
    """A full name written in the family-name column (``山田　太郎``, given name blank) split
    at its first space, as the person wrote it."""
    families, givens = list(family), list(given)
    for i, (f, g) in enumerate(zip(family, given, strict=True)):
        if g is None and f is not None:
            parts = unicodedata.normalize("NFKC", f).split(maxsplit=1)
            if len(parts) == 2:
                families[i], givens[i] = parts
    return families, givens


def _features(table: pa.Table, *, normalise: bool) -> pa.Table:
    """The model's feature columns for one file (``unique_id`` = the file's id)."""
    out: dict[str, list[str | None]] = {"unique_id": _column(table, "id")}
    raw = {name: [_blank(v) for v in _column(table, name)] for name in table.column_names}
    n = table.num_rows

    def get(name: str) -> list[str | None]:
        return raw.get(name, [None] * n)

    if normalise:
        raw["family_name"], raw["given_name"] = _split(get("family_name"), get("given_name"))
        raw["family_name_kana"], raw["given_name_kana"] = _split(
            get("family_name_kana"), get("given_name_kana")
        )
        out["family_name"] = _memo(normalize.normalize_name, get("family_name"))
        out["given_name"] = _memo(normalize.normalize_name, get("given_name"))
        out["family_kana"] = _memo(normalize.normalize_kana, get("family_name_kana"))
        out["given_kana"] = _memo(normalize.normalize_kana, get("given_name_kana"))
        out["birth_date"] = _memo(_iso, get("birth_date"))
        out["sex"] = _memo(normalize.normalize_sex, get("sex"))
        out["postal_code"] = _memo(_postal, get("postal_code"))
        out["phone"] = _memo(_phone, get("phone"))
        out["email"] = _memo(normalize.normalize_email, get("email"))
        addresses = _memo(_address, get("address"))
        out["address_key"] = [a[0] if a else None for a in addresses]
        out["city"] = [a[1] if a else None for a in addresses]
    else:
        out["family_name"] = get("family_name")
        out["given_name"] = get("given_name")
        out["family_kana"] = get("family_name_kana")
        out["given_kana"] = get("given_name_kana")
        out["birth_date"] = get("birth_date")
        out["sex"] = get("sex")
        out["postal_code"] = get("postal_code")
        out["phone"] = get("phone")
        out["email"] = get("email")
        out["address_key"] = get("address")
        out["city"] = [None] * n
    return pa.table({k: pa.array(v, type=pa.string()) for k, v in out.items()})


_DERIVED_SQL = """
CREATE OR REPLACE TABLE {name} AS
SELECT
    unique_id, family_name, given_name, family_kana, given_kana,
    CASE WHEN family_name IS NOT NULL AND given_name IS NOT NULL
         THEN family_name || ' ' || given_name END AS full_name,
    CASE WHEN family_kana IS NOT NULL AND given_kana IS NOT NULL
         THEN family_kana || ' ' || given_kana END AS full_kana,
    birth_date,
    CAST(year(try_cast(birth_date AS DATE)) AS VARCHAR) AS birth_year,
    CAST(month(try_cast(birth_date AS DATE)) AS VARCHAR) AS birth_month,
    CAST(day(try_cast(birth_date AS DATE)) AS VARCHAR) AS birth_day,
    sex, postal_code, address_key, city, phone, email,
    nullif(split_part(email, '@', 1), '') AS email_local
FROM {source}
"""


# --------------------------------------------------------------------------- the model


def _level(sql: str, label: str, **options: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **options}


def _null(*columns: str) -> dict[str, Any]:
    sql = " AND ".join(f"({c}_l IS NULL OR {c}_r IS NULL)" for c in columns)
    return _level(sql, "missing", is_null_level=True)


def _else() -> dict[str, Any]:
    return _level("ELSE", "different")


def _tf(column: str) -> dict[str, Any]:
    return {"tf_adjustment_column": column, "tf_adjustment_weight": 1.0}


def _name_comparison(part: str, have: set[str]) -> dict[str, Any] | None:
    kanji, kana = f"{part}_name", f"{part}_kana"
    columns = [c for c in (kanji, kana) if c in have]
    if not columns:
        return None
    levels = [_null(*columns)]
    levels += [_level(f"{c}_l = {c}_r", f"{c} exact", **_tf(c)) for c in columns]
    swaps = [
        f"({p}_l = {q}_r AND {q}_l = {p}_r)"
        for p, q in (("family_name", "given_name"), ("family_kana", "given_kana"))
        if {p, q} <= have
    ]
    if swaps:
        # family and given name entered the wrong way round (both comparisons see it)
        levels.append(_level(" OR ".join(swaps), "family and given swapped"))
    crossed = [
        f"jaro_winkler_similarity({p}_l, {q}_r) >= 0.9 "
        f"OR jaro_winkler_similarity({q}_l, {p}_r) >= 0.9"
        for p, q in (("family_name", "given_name"), ("family_kana", "given_kana"))
        if {p, q} <= have
    ]
    for cut in (0.92, 0.8):
        sql = " OR ".join(f"jaro_winkler_similarity({c}_l, {c}_r) >= {cut}" for c in columns)
        levels.append(_level(sql, f"similar ≥ {cut}"))
    if crossed:
        levels.append(_level(" OR ".join(crossed), "like the other's other name"))
    levels.append(_else())
    return {"output_column_name": part, "comparison_levels": levels}


def _birth_comparison() -> dict[str, Any]:
    same = "(birth_year_l = birth_year_r)::INT + (birth_month_l = birth_month_r)::INT"
    same += " + (birth_day_l = birth_day_r)::INT"
    swapped = (
        "birth_year_l = birth_year_r AND birth_month_l = birth_day_r "
        "AND birth_day_l = birth_month_r"
    )
    return {
        "output_column_name": "birth_date",
        "comparison_levels": [
            _null("birth_date"),
            _level("birth_date_l = birth_date_r", "exact"),
            _level("damerau_levenshtein(birth_date_l, birth_date_r) <= 1", "one typo"),
            _level(f"coalesce({same}, 0) = 2 OR coalesce({swapped}, FALSE)", "one part differs"),
            _level("birth_year_l = birth_year_r", "same year"),
            _else(),
        ],
    }


def _exact_comparison(column: str, *, tf: bool = False) -> dict[str, Any]:
    return {
        "output_column_name": column,
        "comparison_levels": [
            _null(column),
            _level(f"{column}_l = {column}_r", "exact", **(_tf(column) if tf else {})),
            _else(),
        ],
    }


def _location_comparison(have: set[str]) -> dict[str, Any]:
    """Address and postal code as one comparison: they say the same thing twice (the same
    address has the same postal code), and counting both would let a household's shared
    home outvote different given names and birth dates."""
    address, postal = "address_key" in have, "postal_code" in have
    same_postal = "postal_code_l = postal_code_r"
    postal_unknown = "(postal_code_l IS NULL OR postal_code_r IS NULL)"
    similar = "jaro_winkler_similarity(address_key_l, address_key_r) >= 0.9"
    levels = [_null(*[c for c, ok in (("address_key", address), ("postal_code", postal)) if ok])]
    if address:
        if postal:
            levels.append(
                _level(
                    f"address_key_l = address_key_r AND ({same_postal} OR {postal_unknown})",
                    "same address",
                )
            )
        levels.append(_level("address_key_l = address_key_r", "same address, other postal code"))
        if postal:
            levels.append(_level(f"{similar} AND {same_postal}", "similar address, same postal"))
            levels.append(
                _level(
                    f"{similar} AND damerau_levenshtein(postal_code_l, postal_code_r) <= 1",
                    "similar address, postal code one typo",
                )
            )
    partly = (
        "(left(address_key_l, 10) = left(address_key_r, 10) "
        "OR right(address_key_l, 10) = right(address_key_r, 10))"
    )
    if address and postal:
        levels.append(_level(f"{same_postal} AND {partly}", "same postal, address partly same"))
    if postal:
        levels.append(_level(same_postal, "same postal code"))
    if address:
        levels.append(_level(similar, "similar address"))
        levels.append(_level(partly, "address with the same beginning or end"))
    area = []
    if postal:
        area.append("left(postal_code_l, 3) = left(postal_code_r, 3)")
    if "city" in have:
        area.append("city_l = city_r")
    if area:
        levels.append(_level(" OR ".join(area), "same area"))
    levels.append(_else())
    return {"output_column_name": "location", "comparison_levels": levels}


def _email_comparison() -> dict[str, Any]:
    return {
        "output_column_name": "email",
        "comparison_levels": [
            _null("email"),
            _level("email_l = email_r", "exact", **_tf("email")),
            _level("email_local_l = email_local_r", "same local part"),
            _else(),
        ],
    }


def _comparisons(have: set[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any] | None] = [
        _name_comparison("family", have),
        _name_comparison("given", have),
        _birth_comparison() if "birth_date" in have else None,
        _location_comparison(have) if have & {"postal_code", "address_key"} else None,
        _exact_comparison("phone", tf=True) if "phone" in have else None,
        _email_comparison() if "email" in have else None,
        _exact_comparison("sex") if "sex" in have else None,
    ]
    return [c for c in found if c is not None]


#: blocking rules for prediction, in order; each used when all its columns are present
PREDICTION_RULES: tuple[tuple[str, ...], ...] = (
    ("birth_date",),
    ("full_kana",),
    ("full_name",),
    ("phone",),
    ("email",),
    ("postal_code", "family_kana"),
    ("postal_code", "family_name"),
    ("postal_code", "given_name"),
)
#: EM training rules: each trains every comparison but its own; two or more are used
#: (never a household key such as postal code or address: EM would learn "same household"
#: as the match class and link family members)
TRAINING_RULES: tuple[tuple[str, ...], ...] = (
    ("birth_date",),
    ("full_kana",),
    ("full_name",),
)
#: used only while fewer than two of ``TRAINING_RULES`` could run (files without names or
#: birth dates)
FALLBACK_TRAINING_RULES: tuple[tuple[str, ...], ...] = (
    ("phone",),
    ("email",),
    ("family_name",),
    ("family_kana",),
    ("postal_code",),
)
#: random pairs sampled to estimate u (seeded)
U_PAIRS = 1.5e5
#: strict rules that admit almost no false links, to estimate λ
DETERMINISTIC_RULES: tuple[tuple[str, ...], ...] = (
    ("full_name", "birth_date"),
    ("full_kana", "birth_date"),
    ("email", "birth_date"),
    ("phone", "birth_date"),
)
DETERMINISTIC_RECALL = 0.7


def _rule_sql(columns: Sequence[str]) -> str:
    return " AND ".join(f"l.{c} = r.{c}" for c in columns)


def _present(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Features with at least one value on both sides."""
    have: set[str] = set()
    for feature in FEATURES:
        if _one(
            con,
            f"SELECT (SELECT count({feature}) FROM lk_left) > 0 "
            f"AND (SELECT count({feature}) FROM lk_right) > 0",
        ):
            have.add(feature)
    return have


def _blocked_count(con: duckdb.DuckDBPyConnection, columns: Sequence[str]) -> int:
    sql = f"SELECT count(*) FROM lk_left l JOIN lk_right r ON {_rule_sql(columns)}"
    return int(_one(con, sql))


def _columns_used(comparisons: Sequence[dict[str, Any]]) -> list[set[str]]:
    """The input columns each comparison reads (``x_l`` / ``x_r`` in its levels)."""
    return [
        {
            match.group(1)
            for level in comparison["comparison_levels"]
            for match in re.finditer(r"\b(\w+)_[lr]\b", level["sql_condition"])
        }
        for comparison in comparisons
    ]


def _train(
    linker: Linker,
    con: duckdb.DuckDBPyConnection,
    have: set[str],
    comparisons: Sequence[dict[str, Any]],
    *,
    seed: int,
) -> None:
    deterministic: list[Any] = [
        block_on(*rule) for rule in DETERMINISTIC_RULES if set(rule) <= have
    ]
    if deterministic and any(
        _blocked_count(con, rule) for rule in DETERMINISTIC_RULES if set(rule) <= have
    ):
        linker.training.estimate_probability_two_random_records_match(
            deterministic, recall=DETERMINISTIC_RECALL
        )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=U_PAIRS, seed=seed, min_count_per_level=None, num_chunks=1
    )
    trained = 0
    for rule in (*TRAINING_RULES, *FALLBACK_TRAINING_RULES):
        if rule in FALLBACK_TRAINING_RULES and trained >= 2:
            break
        if not set(rule) <= have or _blocked_count(con, rule) == 0:
            continue
        if all(set(rule) & used for used in _columns_used(comparisons)):
            continue  # EM would have nothing left to train (Splink fails on that)
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule), estimate_without_term_frequencies=True
        )
        trained += 1


# --------------------------------------------------------------------------- decisions


def _one_to_one(con: duckdb.DuckDBPyConnection) -> None:
    """``lk_pairs`` ← greedy one-to-one subset of ``lk_candidates`` (descending probability).

    Each round takes the pairs that are the best remaining pair of both their records under
    the total order (probability desc, left id, right id) — exactly the pairs global greedy
    would take next — then drops every other pair touching those records.
    """
    _rows(con, "CREATE OR REPLACE TABLE lk_pairs AS SELECT * FROM lk_candidates LIMIT 0")
    _rows(con, "CREATE OR REPLACE TEMP TABLE lk_rest AS SELECT * FROM lk_candidates")
    while True:
        _rows(
            con,
            """
            CREATE OR REPLACE TEMP TABLE lk_round AS
            SELECT * EXCLUDE (rl, rr) FROM (
                SELECT *,
                    row_number() OVER (PARTITION BY left_id
                        ORDER BY match_weight DESC, right_id) AS rl,
                    row_number() OVER (PARTITION BY right_id
                        ORDER BY match_weight DESC, left_id) AS rr
                FROM lk_rest
            ) WHERE rl = 1 AND rr = 1
            """,
        )
        if _one(con, "SELECT count(*) FROM lk_round") == 0:
            break
        _rows(con, "INSERT INTO lk_pairs SELECT * FROM lk_round")
        _rows(
            con,
            """
            DELETE FROM lk_rest
            WHERE left_id IN (SELECT left_id FROM lk_round)
               OR right_id IN (SELECT right_id FROM lk_round)
            """,
        )
    _rows(con, "DROP TABLE lk_rest")


def _calibrate_prior(con: duckdb.DuckDBPyConnection, prior: float, comparisons: int) -> float:
    """Re-estimate λ (two random records match) from the model's own scores; add
    ``match_probability`` to ``lk_candidates`` and ``lk_pairs`` under it.

    λ from deterministic rules rests on a guess of their recall.  With the m and u
    probabilities fixed, the self-consistent λ is the one whose expected number of links,
    Σ p over the one-to-one pairs, equals λ × (left rows × right rows): the EM update of λ
    alone, iterated to its fixed point.  Match weights shift by the change of prior log-odds.
    """

    def logit2(p: float) -> float:
        return math.log2(p / (1 - p))

    base = logit2(prior)
    current = prior
    for _ in range(100):
        shift = logit2(current) - base
        expected = float(
            _one(
                con,
                "SELECT coalesce(sum(1 / (1 + pow(2, -(match_weight + $s)))), 0) FROM lk_pairs",
                {"s": shift},
            )
        )
        updated = min(max(expected / comparisons, 1e-12), 0.5)
        converged = abs(updated - current) <= 1e-4 * current
        current = updated
        if converged:
            break
    shift = logit2(current) - base
    for table in ("lk_candidates", "lk_pairs"):
        _rows(
            con,
            f"""
            CREATE OR REPLACE TABLE {table} AS
            SELECT left_id, right_id, 1 / (1 + pow(2, -(match_weight + {shift!r})))
                AS match_probability
            FROM {table}
            WHERE match_weight + {shift!r} >= {logit2(SCORE_FLOOR)!r}
            """,
        )
    return current


def _expected(con: duckdb.DuckDBPyConnection, threshold: float) -> ThresholdEstimate:
    row = _rows(
        con,
        """
        SELECT count(*) FILTER (WHERE match_probability >= $t),
               coalesce(sum(match_probability) FILTER (WHERE match_probability >= $t), 0),
               coalesce(sum(match_probability), 0)
        FROM lk_pairs
        """,
        {"t": threshold},
    )[0]
    pairs, tp, total = int(row[0]), float(row[1]), float(row[2])
    precision = tp / pairs if pairs else 1.0
    recall = tp / total if total else 1.0
    f1 = 2 * tp / (pairs + total) if pairs + total else 1.0
    return ThresholdEstimate(
        threshold=threshold,
        pairs=pairs,
        precision=round(precision, 6),
        recall=round(recall, 6),
        f1=round(f1, 6),
    )


def _best_threshold(con: duckdb.DuckDBPyConnection) -> float:
    """The probability that maximises expected F1 over ``lk_pairs`` (0.5 when empty)."""
    rows = _rows(
        con,
        """
        WITH levels AS (
            SELECT match_probability AS t, count(*) AS n, sum(match_probability) AS s
            FROM lk_pairs GROUP BY match_probability
        ), running AS (
            SELECT t,
                   sum(n) OVER (ORDER BY t DESC) AS pairs,
                   sum(s) OVER (ORDER BY t DESC) AS tp,
                   (SELECT sum(match_probability) FROM lk_pairs) AS total
            FROM levels
        )
        SELECT t FROM running ORDER BY 2 * tp / (pairs + total) DESC, t DESC LIMIT 1
        """,
    )
    return float(rows[0][0]) if rows else 0.5


def _parameters(linker: Linker) -> tuple[dict[str, Any], ...]:
    model = linker.misc.save_model_to_json()
    out: list[dict[str, Any]] = []
    for comparison in model.get("comparisons", []):
        levels = []
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            levels.append(
                {
                    "level": level.get("label_for_charts"),
                    "m": m,
                    "u": u,
                    "bayes_factor": (m / u) if m and u else None,
                }
            )
        out.append({"comparison": comparison.get("output_column_name"), "levels": levels})
    return tuple(out)


_SHOWN = (
    *("family_name", "given_name", "family_kana", "given_kana", "birth_date", "sex"),
    *("postal_code", "address_key", "phone", "email"),
)


def _borderline(
    con: duckdb.DuckDBPyConnection, threshold: float, limit: int
) -> tuple[dict[str, Any], ...]:
    """The ``limit`` one-to-one candidates nearest the threshold on the log-odds scale."""
    shown = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in _SHOWN)
    cursor = con.execute(
        f"""
        SELECT p.left_id, p.right_id, p.match_probability,
               p.match_probability >= $t AS linked, {shown}
        FROM lk_pairs p
        JOIN lk_left l ON l.unique_id = p.left_id
        JOIN lk_right r ON r.unique_id = p.right_id
        ORDER BY abs(
                     ln(greatest(p.match_probability, 1e-12)
                        / greatest(1 - p.match_probability, 1e-12))
                     - ln($t / (1 - least($t, 1 - 1e-9)))),
                 p.left_id, p.right_id
        LIMIT $n
        """,
        {"t": threshold, "n": limit},
    )
    names = [d[0] for d in cursor.description]
    return tuple(dict(zip(names, row, strict=True)) for row in cursor.fetchall())


# --------------------------------------------------------------------------- entry point


def link(
    left: pa.Table,
    right: pa.Table,
    *,
    threshold: float | None = None,
    one_to_one: bool = True,
    normalise: bool = True,
    seed: int = 20260401,
    borderline: int = 50,
) -> LinkResult:
    """Link the persons of ``left`` to those of ``right`` (tables as ``read_people_csv`` gives).

    ``threshold`` (0–1) overrides the best-expected-F1 choice; ``one_to_one=False`` returns
    every candidate pair at or above it; ``normalise=False`` compares the raw strings
    (for evaluation).  Raises ``LinkageError`` when the files share no identifying column.
    """
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise LinkageError(f"the threshold must be in (0, 1], not {threshold}")
    con = duckdb.connect()
    try:
        return _link(con, left, right, threshold, one_to_one, normalise, seed, borderline)
    finally:
        con.close()


def _link(
    con: duckdb.DuckDBPyConnection,
    left: pa.Table,
    right: pa.Table,
    threshold: float | None,
    one_to_one: bool,
    normalise: bool,
    seed: int,
    borderline: int,
) -> LinkResult:
    for name, table in (("left", left), ("right", right)):
        con.register(f"lk_{name}_raw", _features(table, normalise=normalise))
        _rows(con, _DERIVED_SQL.format(name=f"lk_{name}", source=f"lk_{name}_raw"))
        con.unregister(f"lk_{name}_raw")
    have = _present(con)
    comparisons = _comparisons(have)
    identifying = have & {"family_name", "given_name", "family_kana", "given_kana", "birth_date"}
    identifying |= have & {"phone", "email"}
    if not comparisons or not identifying:
        raise LinkageError(
            "the two files share no identifying column with values (names, kana, birth date, "
            "phone or e-mail); nothing to link on"
        )
    rules = [rule for rule in PREDICTION_RULES if set(rule) <= have]
    if not rules:
        rules = [(sorted(have)[0],)]
    api = DuckDBAPI(connection=con)
    creators: list[Any] = list(comparisons)
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=creators,
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in rules],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    frames = [
        api.register("lk_left", dataset_display_name="left", table_name="lk_left_in"),
        api.register("lk_right", dataset_display_name="right", table_name="lk_right_in"),
    ]
    linker = Linker(frames, settings, log_level=logging.ERROR)
    _train(linker, con, have, comparisons, seed=seed)
    predictions = linker.inference.predict(threshold_match_probability=SCORE_FLOOR / 10)
    _rows(
        con,
        f"""
        CREATE OR REPLACE TABLE lk_candidates AS
        SELECT
            CASE WHEN source_dataset_l = 'left' THEN unique_id_l ELSE unique_id_r END AS left_id,
            CASE WHEN source_dataset_l = 'left' THEN unique_id_r ELSE unique_id_l END AS right_id,
            max(match_weight) AS match_weight
        FROM {predictions.physical_name}
        GROUP BY ALL
        """,
    )
    _one_to_one(con)
    prior = float(linker._settings_obj._probability_two_random_records_match)
    prior = _calibrate_prior(con, prior, left.num_rows * right.num_rows)
    source = "analyst" if threshold is not None else "expected_f1"
    chosen = threshold if threshold is not None else _best_threshold(con)
    out_table = "lk_pairs" if one_to_one else "lk_candidates"
    pairs = con.sql(
        f"""
        SELECT left_id, right_id, match_probability FROM {out_table}
        WHERE match_probability >= {float(chosen)!r} ORDER BY left_id, right_id
        """
    ).to_arrow_table()
    expected_matches = float(_one(con, "SELECT coalesce(sum(match_probability), 0) FROM lk_pairs"))
    candidates = int(_one(con, "SELECT count(*) FROM lk_candidates"))
    grid = sorted({*REPORT_THRESHOLDS, chosen})
    report = QualityReport(
        threshold=chosen,
        threshold_source=source,
        expected_matches=round(expected_matches, 3),
        estimate=_expected(con, chosen),
        by_threshold=tuple(_expected(con, t) for t in grid),
        records_left=left.num_rows,
        records_right=right.num_rows,
        candidate_pairs=candidates,
        blocking_rules=tuple(_rule_sql(rule) for rule in rules),
        probability_two_random_records_match=prior,
        parameters=_parameters(linker),
        borderline=_borderline(con, chosen, borderline),
    )
    return LinkResult(pairs=pairs, threshold=chosen, report=report)
