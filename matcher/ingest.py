"""Read input files into canonical records, rejecting bad rows with reasons.

Whole-file problems (unreadable, a required column missing) raise `InputFileError`. Row
problems never stop the run: the row goes to the errors frame with record_id, field and reason,
and every other row goes on. Rows in = accepted records + rejected rows, always.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from features.dates import (
    date_digits,
    date_digits_plain,
    is_absurd_birth_date,
    is_all_zero,
    is_calendar_date,
)
from features.prepare import SECOND_BIRTH_DATE
from features.value_memo import ValueGroup, ValueMemo, by_values
from matcher.errors import InputFileError
from matcher.schema import CANONICAL_COLUMNS, ERROR_COLUMNS, MAX_LENGTHS
from matcher.settings import ColumnSource, Join, Settings, Where

REPLACEMENT_CHAR = "\ufffd"


@dataclass(frozen=True)
class IngestResult:
    records: pl.DataFrame
    """Canonical string columns plus preset extra fields, `source` (input index) and `row`."""
    errors: pl.DataFrame
    """One line per problem: record_id, source (file), row (1-based), field, reason."""
    rows_in: int

    @property
    def rejected_rows(self) -> int:
        return self.errors.select(pl.struct("source", "row").n_unique()).item() if len(
            self.errors) else 0


ERROR_SCHEMA: dict[str, pl.DataType] = {
    c: pl.Int64() if c == "row" else pl.String() for c in ERROR_COLUMNS}


def empty_errors() -> pl.DataFrame:
    """An error frame with no rows (record_id, source, row, field, reason)."""
    return pl.DataFrame(schema=ERROR_SCHEMA)


def read_table(path: Path) -> pl.DataFrame:
    """Any supported file as an all-string frame; header and cell whitespace stripped."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy",
                                separator="\t" if suffix == ".tsv" else ",",
                                truncate_ragged_lines=False)
        elif suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
        elif suffix == ".json":
            frame = pl.read_json(path)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pl.read_ndjson(path)
        else:
            raise InputFileError(f"{path}: unsupported file type {suffix!r}; "
                                 "expected .csv, .parquet, .json or .jsonl")
    except InputFileError:
        raise
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except Exception as exc:  # polars raises many kinds; all mean the file is unusable
        raise InputFileError(f"{path}: cannot read as {suffix.lstrip('.')}: {exc}") from None
    frame = frame.rename({c: c.strip() for c in frame.columns})
    # a typed date or timestamp (Parquet, JSON) is its day in ISO form, not '2021-09-01 00:00:00'
    return frame.select((pl.col(c).dt.strftime("%Y-%m-%d")
                         if dtype == pl.Date or isinstance(dtype, pl.Datetime)
                         else pl.col(c).cast(pl.String).str.strip_chars()).alias(c)
                        for c, dtype in frame.schema.items())


def _alternatives(source: ColumnSource) -> tuple[str | Join | Where, ...]:
    return source if isinstance(source, tuple) else (source,)


def _source_expr(source: ColumnSource, columns: list[str]) -> pl.Expr | None:
    """The field's expression over the first alternative present in `columns`, or None."""
    for option in _alternatives(source):
        if isinstance(option, Join):
            present = [c for c in option.join if c in columns]
            if present:
                return pl.concat_str([pl.col(c) for c in present], separator=" ",
                                     ignore_nulls=True)
        elif isinstance(option, Where):
            if option.column in columns and all(c in columns for c in option.where):
                holds = pl.all_horizontal([
                    pl.col(c).str.strip_chars().str.to_lowercase().is_in(
                        [v.strip().lower() for v in values])
                    for c, values in option.where.items()])
                return pl.when(holds.fill_null(False)).then(pl.col(option.column))
        elif option in columns:
            return pl.col(option)
    return None


def _describe(source: ColumnSource) -> str:
    """A column source as a user wrote it: 'A', 'A' or 'B', join of A, B."""
    return " or ".join(repr(o) if isinstance(o, str) else str(o) for o in _alternatives(source))


def map_columns(frame: pl.DataFrame, settings: Settings, label: str) -> pl.DataFrame:
    """Rename a file's columns to the preset's fields; a missing required column is fatal."""
    mapping: dict[str, ColumnSource] = dict(settings.columns) or {
        c: c for c in CANONICAL_COLUMNS}
    exprs, missing = [], []
    for field, source in mapping.items():
        expr = _source_expr(source, frame.columns)
        if expr is None:
            if field in settings.required and field != "record_id":
                missing.append(f"'{field}' (from {_describe(source)})" if source != field
                               else f"'{field}'")
            continue
        exprs.append(expr.alias(field))
    if missing:
        raise InputFileError(f"{label}: missing required column(s) {', '.join(missing)} "
                             f"for preset '{settings.name}'; the file has {frame.columns}")
    return frame.select(exprs)


def _cleaned(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as a string, empty strings as null, and `row` (1-based) — in one query."""
    return frame.with_columns(_cleaning_exprs(tuple(frame.columns)))


@lru_cache(maxsize=64)
def _cleaning_exprs(columns: tuple[str, ...]) -> list[pl.Expr]:
    # a `row` column in the input is replaced by the row number, so it is not cleaned
    return [*(pl.when(pl.col(c).cast(pl.String).str.len_chars() > 0)
              .then(pl.col(c).cast(pl.String)).alias(c) for c in columns if c != "row"),
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row")]


DATE_FIELDS = ("birth_date", "enrollment_date", "qualifying_arrival_date", SECOND_BIRTH_DATE)
"""Fields that hold a date: a value no date format reads is a row error."""
DIGITS = {field: f"__{field}_digits" for field in DATE_FIELDS}
"""Each date read once, for the checks that need it."""
_DIGIT_MEMOS: dict[tuple[str, ...], ValueMemo] = {}


def _checked_dates(columns: Sequence[str], settings: Settings) -> tuple[str, ...]:
    """The date fields a row check reads: the birth date for `reject_absurd` too, the others
    only when unreadable dates are rejected."""
    return tuple(f for f in DATE_FIELDS if f in columns and (
        settings.invalid_date == "reject" or (f == "birth_date" and settings.reject_absurd)))


def _date_digits(frame: pl.DataFrame, formats: tuple[str, ...], fields: tuple[str, ...]
                 ) -> pl.DataFrame:
    """Each distinct date read once; one-row frames (the API, incremental loads) reuse
    readings remembered per date-format list, since one reading costs milliseconds there."""
    memo = _DIGIT_MEMOS.setdefault(tuple(formats), ValueMemo(max_values=100_000))
    return by_values(frame, _digit_groups(tuple(formats), fields), memo)


@lru_cache(maxsize=16)
def _digit_groups(formats: tuple[str, ...], fields: tuple[str, ...]
                  ) -> tuple[ValueGroup, ...]:
    """Built once per format list: building the expression costs as much as running it."""
    return tuple(ValueGroup((field,), (date_digits(pl.col(field), formats).alias(DIGITS[field]),),
                            date_digits_plain(formats)) for field in fields)


def _problems(frame: pl.DataFrame, settings: Settings) -> list[pl.DataFrame]:
    """(row, field, reason) frames for every failed check."""
    checks = _checks(tuple(frame.columns), tuple(settings.required),
                     tuple(settings.date_formats), settings.invalid_date,
                     settings.reject_absurd)
    dates = _checked_dates(frame.columns, settings)
    if dates:
        frame = pl.concat([frame, _date_digits(frame, settings.date_formats, dates)],
                          how="horizontal")
    # every check in one query; reasons are formatted only for the checks that failed
    flags = frame.select(failed for _, failed, _ in checks)
    failing = [flags.get_column(c).any() for c in flags.columns]
    return [frame.filter(flags[str(i)]).select(
                pl.col("record_id"), pl.col("row"), pl.lit(field).alias("field"),
                reason.alias("reason"))
            for i, (field, _, reason) in enumerate(checks) if failing[i]]


@lru_cache(maxsize=64)
def _checks(columns: tuple[str, ...], required: tuple[str, ...], date_formats: tuple[str, ...],
            invalid_date: str, reject_absurd: bool) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(field, failed, reason) for every check of a frame with these columns; built once
    (building the expressions cost more than running them on the one-record path)."""
    checks: list[tuple[str, pl.Expr, pl.Expr]] = []
    for field in columns:
        if field in ("row", "record_id_generated", *DIGITS.values()):
            continue
        checks.append((field, pl.col(field).str.contains(REPLACEMENT_CHAR, literal=True),
                       pl.lit(f"'{field}' has bytes that are not valid UTF-8")))
    for field in required:
        if field in columns:
            checks.append((field, pl.col(field).is_null(),
                           pl.lit(f"'{field}' is required; got nothing")))
    for field, limit in MAX_LENGTHS.items():
        if field in columns:
            checks.append((field, pl.col(field).str.len_chars() > limit,
                           pl.format("'{}' must be at most {} characters; got {} characters",
                                     pl.lit(field), pl.lit(limit),
                                     pl.col(field).str.len_chars())))
    if "state" in columns and "state" in required:
        checks.append(("state", ~pl.col("state").str.contains(r"^[A-Za-z]{2}$"),
                       pl.format("'state' must be a two-letter USPS code; got '{}'",
                                 pl.col("state"))))
    for field in (f for f in DATE_FIELDS if f in columns):
        raw = pl.col(field)
        digits = pl.col(DIGITS[field])
        unreadable = raw.is_not_null() & ~is_all_zero(raw) & ~is_calendar_date(digits)
        if invalid_date == "reject":
            shapes = ", ".join(date_formats)
            checks.append((field, unreadable,
                           pl.format("'{}' must be a date ({}); got '{}'",
                                     pl.lit(field), pl.lit(shapes), raw)))
        if reject_absurd and field == "birth_date":
            checks.append(("birth_date", ~unreadable & is_absurd_birth_date(digits),
                           pl.format("'birth_date' must be in 1900 or later and not in the future; "
                                     "got '{}'", raw)))
    return [(field, failed.fill_null(False).alias(str(i)), reason)
            for i, (field, failed, reason) in enumerate(checks)]


def validate(frame: pl.DataFrame, settings: Settings, source: int = 0,
             source_label: str = "<input>") -> IngestResult:
    """Check rows already in canonical field names; split them into records and errors."""
    frame = _cleaned(frame)
    problems = _problems(frame, settings)
    if not problems:  # the usual case, and for one record every query counts
        return IngestResult(_with_source(frame, source), empty_errors(), len(frame))
    errors = pl.concat(problems).select(
        "record_id", pl.lit(source_label).alias("source"), pl.col("row").cast(pl.Int64),
        "field", "reason")
    records = frame.filter(~pl.col("row").is_in(errors["row"].unique().implode()))
    return IngestResult(_with_source(records, source), errors, len(frame))


def _with_source(records: pl.DataFrame, source: int) -> pl.DataFrame:
    column = pl.repeat(source, records.height, dtype=pl.Int32, eager=True).alias("source")
    if "source" in records.columns:
        return records.with_columns(column)
    return records.hstack([column])


def read_inputs(paths: list[Path], settings: Settings) -> IngestResult:
    """Read, map and validate every input; record_ids must be unique across all inputs."""
    results = []
    for index, path in enumerate(paths):
        frame = map_columns(read_table(path), settings, str(path))
        if "record_id" not in frame.columns:
            frame = frame.with_columns(
                pl.format("{}:{}", pl.lit(path.stem), pl.int_range(1, pl.len() + 1))
                .alias("record_id"))
        results.append(validate(frame, settings, index, str(path)))
    records = pl.concat([r.records for r in results], how="diagonal_relaxed")
    errors = pl.concat([r.errors for r in results], how="diagonal_relaxed")
    duplicate = records.select(pl.col("record_id").is_duplicated()
                               & (pl.int_range(pl.len()).over("record_id") > 0)).to_series()
    if duplicate.any():
        dups = records.filter(duplicate)
        errors = pl.concat([errors, dups.select(
            pl.col("record_id"),
            pl.col("source").map_elements(lambda i: str(paths[i]), return_dtype=pl.String),
            pl.col("row"), pl.lit("record_id").alias("field"),
            pl.format("'record_id' must be unique; got '{}' again", pl.col("record_id"))
            .alias("reason"))])
        records = records.filter(~duplicate)
    return IngestResult(records, errors, sum(r.rows_in for r in results))
