"""A second record of the birth date (`birth_date_2`): read through a conditional column
mapping, prepared as a date, and taken by the birth date comparison against the other record's
birth date (the SSA's creation date against a census birth date)."""

from __future__ import annotations

import itertools
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from features.comparisons import (
    NULL_LEVEL,
    SECOND_DATE_AGREES,
    Comparison,
    birth_date_comparison,
    compare_plain,
    compare_vectorised,
)
from features.prepare import SECOND_BIRTH_DATE, prepare
from matcher.ingest import read_inputs
from matcher.pipeline import Linker
from matcher.settings import Settings, load_preset

CENSUS = ("record_id,first_name,last_name,date_of_birth\n"
          "c1,Ana,Lopez,03/11/1985\n")
SSA = ("record_id,first_name,last_name,date_of_birth,event_type,event_date\n"
       "s1,Ana,Lopez,20850311,creation,19850311\n"
       "s2,Ana,Lopez,19850311,death,20200105\n"
       "s3,Ana,Lopez,19850311,,19850311\n"
       "s4,Ana,Lopez,19850311, Creation ,19850312\n")


def test_the_mapping_takes_a_column_only_where_its_condition_holds(tmp_path: Path) -> None:
    census, ssa = tmp_path / "census.csv", tmp_path / "ssa.csv"
    census.write_text(CENSUS, encoding="utf-8")
    ssa.write_text(SSA, encoding="utf-8")
    result = read_inputs([census, ssa], load_preset("pseudopeople"))
    assert result.records.select("record_id", SECOND_BIRTH_DATE).rows() == [
        ("c1", None),  # the file has no event date: the field is missing, not an error
        ("s1", "19850311"),
        ("s2", None),  # a death's date is no birth date
        ("s3", None),  # nor is an event of unknown type's
        ("s4", "19850312")]  # the listed values are matched ignoring case and spaces
    assert len(result.errors) == 0


def test_a_conditional_mapping_is_validated_with_the_preset() -> None:
    spec = load_preset("msix").model_dump()
    spec["columns"] = {"record_id": "id", "first_name": "first",
                       SECOND_BIRTH_DATE: {"column": "event_date", "where": {}}}
    with pytest.raises(ValidationError, match=r"Where\.where"):
        Settings.model_validate(spec)


def test_only_a_preset_that_maps_a_second_date_compares_it() -> None:
    with_second = Linker(load_preset("pseudopeople")).comparisons
    without = Linker(load_preset("msix")).comparisons
    assert SECOND_DATE_AGREES in _birth_date(with_second).labels()
    assert SECOND_DATE_AGREES not in _birth_date(without).labels()


def _birth_date(comparisons: list[Comparison]) -> Comparison:
    return next(c for c in comparisons if c.kind == "birth_date")


def _prepared(rows: list[tuple[str | None, str | None]]) -> pl.DataFrame:
    frame = pl.DataFrame({"record_id": [f"r{i}" for i in range(len(rows))],
                          "birth_date": [r[0] for r in rows],
                          SECOND_BIRTH_DATE: [r[1] for r in rows]},
                         schema=dict.fromkeys(["record_id", "birth_date", SECOND_BIRTH_DATE],
                                              pl.String))
    return prepare(frame, [SECOND_BIRTH_DATE])


@pytest.mark.parametrize(("left", "right", "label"), [
    (("1985-03-11", None), ("2085-03-11", "1985-03-11"), SECOND_DATE_AGREES),
    (("2085-03-11", "1985-03-11"), ("1985-03-11", None), SECOND_DATE_AGREES),
    ((None, "1985-03-11"), ("1985-03-11", None), SECOND_DATE_AGREES),
    (("1985-03-11", None), ("1985-03-11", "2001-01-05"), "exact"),  # the dates agree first
    (("1985-03-11", None), ("1985-11-03", "1990-05-05"), "day and month swapped"),
    (("1985-03-11", None), ("1990-05-05", "1991-07-07"), "different"),
    ((None, "1985-03-11"), ("1990-05-05", None), "different"),
    ((None, "1985-03-11"), (None, "1985-03-11"), SECOND_DATE_AGREES),
    ((None, None), ("1985-03-11", "1985-03-11"), "NULL"),
])
def test_the_second_date_level(left: tuple[str | None, str | None],
                               right: tuple[str | None, str | None], label: str) -> None:
    comparison = birth_date_comparison(second_date=True)
    prepared = _prepared([left, right])
    pairs = pl.DataFrame({"idx_l": [0], "idx_r": [1]}, schema={"idx_l": pl.UInt32,
                                                               "idx_r": pl.UInt32})
    level = compare_plain(prepared, pairs, [comparison])[comparison.gamma_column][0]
    expected = NULL_LEVEL if label == "NULL" else comparison.level_index(label)
    assert level == expected


def test_the_vectorised_second_date_level_equals_the_reference() -> None:
    values = [None, "1985-03-11", "1985-11-03", "2085-03-11", "1986-03-11", "1990-05-05"]
    prepared = _prepared(list(itertools.product(values, values)))
    n = prepared.height
    pairs = pl.DataFrame({"idx_l": [i for i in range(n) for _ in range(n)],
                          "idx_r": [j for _ in range(n) for j in range(n)]},
                         schema={"idx_l": pl.UInt32, "idx_r": pl.UInt32})
    comparison = birth_date_comparison(second_date=True)
    fast = compare_vectorised(prepared, pairs, [comparison])[comparison.gamma_column]
    records = prepared.to_dicts()
    slow = [comparison.reference_gamma(records[i], records[j])
            for i, j in zip(pairs["idx_l"], pairs["idx_r"], strict=True)]
    assert fast.to_list() == slow
    assert comparison.level_index(SECOND_DATE_AGREES) in slow
