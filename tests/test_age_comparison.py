"""The age comparison: a recorded age (and the year it was recorded in) against the other
record's birth year, only where the birth years do not already agree."""

from __future__ import annotations

import polars as pl
import pytest

from features.comparisons import NULL_LEVEL, age_comparison, compare_plain, compare_vectorised
from features.prepare import prepare
from matcher.errors import SettingsError
from matcher.pipeline import Linker
from matcher.settings import load_preset, parse_settings
from tests.conftest import PairsBuilder, build_canonical

AGE = age_comparison("age", "x_age", "x_age_year")
FITS, DIFFERENT = (AGE.labels().index(label) for label in
                   ("age fits the other's birth year", "different"))


def _prepared(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    canonical = build_canonical([{k: v for k, v in row.items() if not k.startswith("age")}
                                 for row in rows])
    extra = pl.DataFrame({"age": [row.get("age") for row in rows],
                          "age_year": [row.get("age_year") for row in rows]},
                         schema={"age": pl.String, "age_year": pl.String})
    return prepare(canonical.hstack(extra), ["age", "age_year"])


@pytest.mark.parametrize(("left", "right", "expected"), [
    # the census's birth date is wrong, its age right: born 2016 or 2017
    ({"birth_date": "1983-07-24", "age": "3", "age_year": "2020"}, {"birth_date": "2016-09-17"},
     FITS),
    ({"birth_date": "1983-07-24", "age": "30", "age_year": "2020"},
     {"birth_date": "2016-09-17"}, DIFFERENT),
    # two censuses ten years apart: ages 9 and 19 say one birth year
    ({"birth_date": "2021-02-22", "age": "19", "age_year": "2040"},
     {"birth_date": "2005-10-26", "age": "9", "age_year": "2030"}, FITS),
    # the birth years agree already: the birth date comparison has said it
    ({"birth_date": "2016-01-02", "age": "3", "age_year": "2020"}, {"birth_date": "2016-09-17"},
     NULL_LEVEL),
    # nothing to compare: no age on either side, or an age that is not a number
    ({"birth_date": "1983-07-24"}, {"birth_date": "2016-09-17"}, NULL_LEVEL),
    ({"birth_date": "1983-07-24", "age": "G9", "age_year": "2020"},
     {"birth_date": "2016-09-17"}, NULL_LEVEL),
    # no birth date on the other side, but an age to hold against
    ({"age": "3", "age_year": "2020"}, {"birth_date": "2016-09-17"}, FITS),
])
def test_age_levels(left: dict[str, str | None], right: dict[str, str | None], expected: int,
                    pairs_frame: PairsBuilder) -> None:
    prepared = _prepared([left, right])
    pairs = pairs_frame([0, 1], [1, 0])
    fast = compare_vectorised(prepared, pairs, [AGE])[AGE.gamma_column].to_list()
    slow = compare_plain(prepared, pairs, [AGE])[AGE.gamma_column].to_list()
    assert fast == slow == [expected, expected]


def test_the_pseudopeople_preset_compares_ages() -> None:
    preset = load_preset("pseudopeople")
    assert {"age", "age_year"} <= set(preset.columns)
    assert [c.kind for c in preset.comparisons].count("age") == 1


def test_an_age_comparison_without_the_year_it_was_recorded_in_is_refused() -> None:
    """The comparison reads `<column>_year` too: a preset that maps the age but not its year
    is told so when the linker is built, not by a failure mid-run."""
    data = load_preset("pseudopeople").model_dump(mode="json")
    del data["columns"]["age_year"]
    with pytest.raises(SettingsError, match="comparison 'age': column 'age_year' is neither"):
        Linker(parse_settings(data))
