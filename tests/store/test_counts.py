"""Child counts against a hand-computed truth."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from matcher.errors import StoreError
from matcher.store import IdentityStore, parse_period
from matcher.store.counts import count_children
from tests.store.fakes import frame, rec


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2023-24", dt.date(2023, 9, 1), dt.date(2024, 8, 31)),
    ("2023-2024", dt.date(2023, 9, 1), dt.date(2024, 8, 31)),
    ("1999-00", dt.date(1999, 9, 1), dt.date(2000, 8, 31)),
])
def test_parse_period(text: str, start: dt.date, end: dt.date) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("text", ["2023", "2023-25", "23-24", "2023-24-25"])
def test_bad_period(text: str) -> None:
    with pytest.raises(StoreError, match="'period' must look like 2023-24"):
        parse_period(text)


def test_counts_match_hand_computed_truth(store: IdentityStore) -> None:
    rows = [
        # child A: TX twice and CA once in the period -> TX 1, CA 1, national 1
        rec("a1", "TX", "Ana", "Diaz", "2015-05-05", enrollment_date="2023-09-01"),
        rec("a2", "TX", "Ana", "Diaz", "2015-05-05", enrollment_date="2024-02-01"),
        rec("a3", "CA", "Ana", "Diaz", "2015-05-05", enrollment_date="08/31/2024"),
        # child B: TX, enrolled before the period only -> not counted
        rec("b1", "TX", "Beto", "Cruz", "2012-01-01", enrollment_date="2023-08-31"),
        # child C: turns 3 on 2024-08-31 (last day) -> counted in FL
        rec("c1", "FL", "Cata", "Ruiz", "2021-08-31", enrollment_date="20231015"),
        # child D: turns 3 on 2024-09-01 (day after) -> too young
        rec("d1", "FL", "Dani", "Soto", "2021-09-01", enrollment_date="2023-10-15"),
        # child E: turns 22 on 2023-09-02 (was 21 on the first day) -> counted in TX
        rec("e1", "TX", "Eva", "Mora", "2001-09-02", enrollment_date="2024-01-10"),
        # child F: turned 22 on 2023-09-01 -> too old
        rec("f1", "TX", "Fabi", "Luna", "2001-09-01", enrollment_date="2024-01-10"),
        # child G: unknown birth date -> reported apart
        rec("g1", "CA", "Gabi", "Vega", "0000-00-00", enrollment_date="2024-01-10"),
        # child H: no enrollment date -> not counted
        rec("h1", "CA", "Hugo", "Paz", "2014-03-03"),
    ]
    store.load(frame(*rows))
    assert store.identities.of_record("a1") == store.identities.of_record("a3")
    counts = store.counts("2023-24")
    assert counts.by_state == {"TX": 2, "CA": 1, "FL": 1}
    assert counts.national == 3
    assert counts.unknown_birth_date == 1
    assert counts.as_dict()["start"] == "2023-09-01"
    assert store.counts("2022-23").by_state == {"TX": 1}


def test_counts_read_dates_with_the_stores_date_formats() -> None:
    """A preset whose export writes YYYY/MM/DD is checked at ingest with that format; counts
    read the stored dates the same way (with the default formats the child was left out)."""
    records = pl.DataFrame({"identity_id": ["1", "2"], "state": ["TX", "TX"],
                            "birth_date": ["2014/03/11", "2015/05/05"],
                            "enrollment_date": ["2023/09/01", "2024/08/31"]})
    period = parse_period("2023-24")
    assert count_children(records, period).national == 0
    counts = count_children(records, period, ("yyyy/mm/dd",))
    assert (counts.by_state, counts.national) == ({"TX": 2}, 2)
