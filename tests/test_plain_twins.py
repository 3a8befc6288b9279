"""The plain-Python twins of the one-record path give exactly what their polars expressions give.

`fold_code_ascii` and `date_digits_plain` serve a value memo's unseen identifiers and birth
dates without a query; `plain_keys` builds the blocking keys of a few rows; `TwinGuard.flags`
and `max_present` give the twin flag and the pair frequencies of a few pairs. Each must agree
with the expression it stands in for on every value it covers (and decline the others).
"""

from __future__ import annotations

import math
import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.comparisons import NULL_LEVEL, SMALL_COMPARE_PAIRS
from features.dates import (
    DATE_PATTERNS,
    DEFAULT_DATE_FORMATS,
    date_digits,
    date_digits_plain,
    repair_ocr_digits,
)
from features.prepare import _final_exprs, final_keys_plain, prepare
from features.text import fold_code, fold_code_ascii
from matcher.blocking import candidate_pairs
from matcher.online import plain_keys
from matcher.pipeline import (
    GUARD_SIDES,
    TWIN_BY_NAMES,
    TWIN_FLAG,
    Linker,
    max_present,
    twin_guard,
)
from matcher.settings import load_preset

CODES = ["TX-12 34", "  ab_c9 ", "", "   ", "---", "x", "0007", "José-1", "PeÃ±a 2", None]
DATES = ["2014-03-11", "2014-3-1", "20140311", "03/11/2014", "3/1/2014", "0000-00-00",
         "00000000", "00/00/0000", "2014-02-30", "20141399", "19560431", "1956-04-31", "",
         "2014/03/11", "03112014", "2014-03-11 ", " 2014-03-11", "2O14-03-11", "11-03-2014",
         "2014--03-11", "-", "/", "123", "201403111", None]


def _expected(expr: pl.Expr, values: list[str | None]) -> list[str | None]:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(expr)["v"].to_list()


def _check_codes(values: list[str | None]) -> None:
    expected = _expected(fold_code(pl.col("v")).alias("v"), values)
    for value, want in zip(values, expected, strict=True):
        got = fold_code_ascii((value,))
        if value is not None and not value.isascii():
            assert got is None, value
        else:
            assert got == (want,), value


def test_fold_code_ascii_table() -> None:
    _check_codes(CODES)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=127)), min_size=1, max_size=20))
def test_fold_code_ascii_agrees_with_fold_code(values: list[str]) -> None:
    _check_codes(list(values))


def _check_dates(values: list[str | None], formats: tuple[str, ...]) -> None:
    plain = date_digits_plain(formats)
    for ocr in (False, True):
        raw = repair_ocr_digits(pl.col("v")) if ocr else pl.col("v")
        expected = _expected(date_digits(raw, formats).alias("v"), values)
        for value, want in zip(values, expected, strict=True):
            got = plain((value,))
            if got is not None:
                assert got == (want,), (value, formats, ocr)


@pytest.mark.parametrize("formats", [DEFAULT_DATE_FORMATS, tuple(DATE_PATTERNS),
                                     ("mmddyyyy", "yyyymmdd"), ("yyyy/mm/dd",)])
def test_date_digits_plain_table(formats: tuple[str, ...]) -> None:
    _check_dates(DATES, formats)
    plain = date_digits_plain(DEFAULT_DATE_FORMATS)
    assert plain(("2014-03-11",)) == ("20140311",)  # the usual shapes are covered
    assert plain(("2O14-03-11",)) is None  # letters go to polars


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789/- O", max_size=12), min_size=1, max_size=20),
       st.sampled_from([DEFAULT_DATE_FORMATS, tuple(DATE_PATTERNS), ("mmddyyyy", "yyyymmdd")]))
def test_date_digits_plain_agrees_with_date_digits(values: list[str],
                                                   formats: tuple[str, ...]) -> None:
    _check_dates(list(values), formats)


def test_plain_keys_agree_with_the_key_expressions() -> None:
    from benchmarks.synthetic import generate

    raw, _ = generate(300, seed=5)
    linker = Linker(load_preset("msix"))
    prepared = prepare(raw, linker.extra_fields)
    for start in range(0, prepared.height, 7):
        rows = prepared.slice(start, 7)
        keys = plain_keys(rows, linker.rules)
        assert keys is not None
        expected = rows.select(rule.key_expr().alias(str(i))
                               for i, rule in enumerate(linker.rules))
        assert keys == [expected[c].to_list() for c in expected.columns]


def test_plain_keys_decline_other_key_types() -> None:
    linker = Linker(load_preset("msix"))
    rows = pl.DataFrame({k: pl.Series([None], dtype=pl.Float64)
                         for rule in linker.rules for k in rule.columns()})
    assert plain_keys(rows, linker.rules) is None


# --- the pair flags of a few pairs (`Linker.compare` below `SMALL_COMPARE_PAIRS`) -------------

@pytest.mark.parametrize("preset", ["msix", "febrl", "pseudopeople"])
def test_twin_guard_flags_agree_with_its_expression(preset: str) -> None:
    """Every level combination the guard reads (sampled), with every multiple-birth flag,
    enrollment dates together, apart, missing and impossible, names of either sex, and whole
    given names alike, different and missing."""
    linker = Linker(load_preset(preset))
    guard = twin_guard(tuple(linker.comparisons))
    if guard is None:
        pytest.skip(f"{preset} has no twin guard")
    rng = random.Random(7)
    levels = {c.gamma_column: range(NULL_LEVEL, len(c.levels)) for c in linker.comparisons}
    n = 5_000
    gammas = {column: [rng.choice(levels[column]) for _ in range(n)] for column in levels}
    flags = [rng.choice(["Y", "N", None]) for _ in range(2 * n)]
    enrolled = [rng.choice(["20200717", "20200710", "20200601", "20200231", None])
                for _ in range(2 * n)]
    values = {"mbf": flags, "enr": enrolled,
              "fn1_unisex": [rng.choice([True, False, None]) for _ in range(2 * n)],
              "state": [rng.choice(["TX", "CA", None]) for _ in range(2 * n)],
              "given_full": [rng.choice(["ANA", "ANAKAREN", None]) for _ in range(2 * n)]}
    sides = {name: (column[:n], column[n:]) for name, column in values.items()}
    frame = pl.DataFrame({**{c: pl.Series(v, dtype=pl.Int8) for c, v in gammas.items()},
                          **{f"{GUARD_SIDES[name]}_{side}": pl.Series(column)
                             for name, pair in sides.items()
                             for side, column in zip("lr", pair, strict=True)}})
    expected = frame.select(guard.exprs())
    flags, by_names = guard.flags(gammas, sides)
    assert flags == expected[TWIN_FLAG].to_list()
    assert by_names == expected[TWIN_BY_NAMES].to_list()
    assert 0 < sum(by_names) < sum(flags) < n


def test_max_present_agrees_with_max_horizontal() -> None:
    values = [None, math.nan, 0.0, 0.25, 1.0]
    pairs = [(a, b) for a in values for b in values]
    frame = pl.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]},
                         schema={"a": pl.Float64, "b": pl.Float64})
    expected = frame.select(pl.max_horizontal("a", "b")).to_series().to_list()
    got = [max_present(a, b) for a, b in pairs]
    assert [repr(v) for v in got] == [repr(v) for v in expected]


def test_plain_pair_flags_agree_with_the_query() -> None:
    """`Linker.compare` below and above the plain bound gives the same frame (twins and
    frequencies included)."""
    from benchmarks.synthetic import generate

    raw, _ = generate(400, seed=11)
    linker = Linker(load_preset("msix"))
    prepared = linker.prepare(raw)
    pairs, _ = candidate_pairs(prepared, linker.rules)
    pairs = pairs.select("idx_l", "idx_r")
    assert len(pairs) > SMALL_COMPARE_PAIRS
    whole = linker.compare(prepared, pairs)
    chunks = [linker.compare(prepared, pairs.slice(start, 50))
              for start in range(0, len(pairs), 50)]
    assert pl.concat(chunks).equals(whole)
    assert whole[TWIN_FLAG].any()


def test_final_keys_plain_agree_with_their_expressions() -> None:
    """Every combination of a few values, missing ones and non-ASCII ones included."""
    names = [None, "", "A", "ANA", "ÁNGEL", "ZOE", "Ñ"]
    rows = [(mn, rest, state, code, a, b)
            for mn in names for rest in (None, "LUIS") for state in (None, "TX")
            for code in (None, "A12", "7") for a in names[:5] for b in names[2:]]
    columns = {name: [row[i] for row in rows] for i, name in enumerate(
        ("mn", "fn_rest", "state", "lsid_raw", "p1fn", "p2fn"))}
    columns |= {"fn_phon": columns["p1fn"], "ln1_phon": columns["p2fn"], "fn": columns["p1fn"]}
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    expected = frame.select(_final_exprs())
    got = final_keys_plain(columns)
    assert got is not None
    assert got == {c: expected[c].to_list() for c in expected.columns}
    assert final_keys_plain({**columns, "state": ["T X"] * len(rows)}) is None
