"""Child counts: unduplicated children per state and nationally for a reporting period.

A reporting period runs September 1 – August 31 (`2023-24`). A child (an identity) counts in a
state when one of its records from that state has an enrollment date in the period, and the
child is aged 3–21 at some time during the period: the third birthday falls on or before
August 31 and the 22nd birthday after September 1. The birth date is the one most of the child's
records give (ties: the earliest). Each child counts once per state, and once nationally.
Children whose birth date is unknown cannot be placed and are reported apart, not counted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
from sqlalchemy import select

from features.dates import DEFAULT_DATE_FORMATS, date_digits, is_calendar_date
from matcher.errors import StoreError
from matcher.store import db
from matcher.store.models import Record

if TYPE_CHECKING:
    from matcher.store.store import IdentityStore

MIN_AGE = 3
MAX_AGE = 21


@dataclass(frozen=True)
class ReportingPeriod:
    """September 1 of `start_year` to August 31 of the next year."""

    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        """`2023-24`."""
        return f"{self.start.year}-{str(self.end.year)[-2:]}"


def parse_period(text: str) -> ReportingPeriod:
    """`2023-24` or `2023-2024` -> September 1, 2023 – August 31, 2024."""
    match = re.fullmatch(r"\s*(\d{4})\s*[-/]\s*(\d{2}|\d{4})\s*", text)
    if match:
        start_year = int(match.group(1))
        end = match.group(2)
        end_year = int(end) if len(end) == 4 else (start_year // 100) * 100 + int(end)
        if end_year == start_year + 1 or (len(end) == 2 and end_year + 100 == start_year + 1):
            return ReportingPeriod(dt.date(start_year, 9, 1), dt.date(start_year + 1, 8, 31))
    raise StoreError(f"'period' must look like 2023-24 (September 1 – August 31); got {text!r}")


@dataclass(frozen=True)
class ChildCounts:
    """Counts for one period: per state, national, and what could not be counted."""

    period: str
    start: dt.date
    end: dt.date
    by_state: dict[str, int]
    national: int
    unknown_birth_date: int
    """Children enrolled in the period whose age cannot be told (not counted)."""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"period": self.period, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "by_state": dict(sorted(self.by_state.items())),
                "national": self.national, "unknown_birth_date": self.unknown_birth_date}


def _to_date(column: str, formats: tuple[str, ...]) -> pl.Expr:
    digits = date_digits(pl.col(column), formats)
    return (pl.when(is_calendar_date(digits))
            .then(digits.str.strptime(pl.Date, "%Y%m%d", strict=False))
            .otherwise(None))


def count_children(records: pl.DataFrame, period: ReportingPeriod,
                   date_formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> ChildCounts:
    """Counts from a frame of identity_id, state, birth_date, enrollment_date (raw strings,
    read with the store's `date_formats`, as ingest checked them)."""
    formats = tuple(date_formats)
    frame = records.with_columns(
        _to_date("birth_date", formats).alias("birth"),
        _to_date("enrollment_date", formats).alias("enrolled"),
    )
    birth = (
        frame.drop_nulls("birth")
        .group_by("identity_id", "birth").len()
        .sort(["identity_id", "len", "birth"], descending=[False, True, False])
        .unique("identity_id", keep="first")
        .select("identity_id", pl.col("birth").alias("child_birth"))
    )
    enrolled = (
        frame.filter(pl.col("enrolled").is_between(period.start, period.end))
        .select("identity_id", "state")
        .unique()
        .join(birth, on="identity_id", how="left")
    )
    unknown = enrolled.filter(pl.col("child_birth").is_null())["identity_id"].n_unique()
    eligible = enrolled.filter(
        (pl.col("child_birth").dt.offset_by(f"{MIN_AGE}y") <= period.end)
        & (pl.col("child_birth").dt.offset_by(f"{MAX_AGE + 1}y") > period.start)
    )
    by_state = {
        state: int(n)
        for state, n in eligible.group_by("state").agg(pl.col("identity_id").n_unique())
        .sort("state").iter_rows()
    }
    return ChildCounts(period.label, period.start, period.end, by_state,
                       int(eligible["identity_id"].n_unique()), int(unknown))


def child_counts(store: IdentityStore, period: str) -> ChildCounts:
    """Counts for the store's records (see the module docstring for the rules)."""
    parsed = parse_period(period)
    with db.read_session(store.engine) as session:
        rows = session.execute(select(Record.identity_id, Record.state, Record.birth_date,
                                      Record.enrollment_date)).all()
    frame = pl.DataFrame([tuple(r) for r in rows], orient="row", schema={
        "identity_id": pl.String, "state": pl.String, "birth_date": pl.String,
        "enrollment_date": pl.String})
    return count_children(frame, parsed, store.settings.date_formats)
