"""Canonical record frames: shaping, hashing, and reading them back from the store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.ingest import ERROR_SCHEMA, empty_errors
from matcher.schema import CANONICAL_COLUMNS
from matcher.store.models import Record
from matcher.store.sqlutil import in_values

CANONICAL_SCHEMA: dict[str, Any] = dict.fromkeys(CANONICAL_COLUMNS, pl.String)


def record_columns(extra_fields: Sequence[str] = ()) -> list[str]:
    """The columns of a stored record's frame: the canonical ones, then the extra fields."""
    return [*CANONICAL_COLUMNS, *extra_fields]


def record_schema(extra_fields: Sequence[str] = ()) -> dict[str, Any]:
    return dict.fromkeys(record_columns(extra_fields), pl.String)


SMALL_FRAME = 8
"""Frames up to this many rows are shaped in plain Python (the one-record online path)."""


def canonical_frame(records: pl.DataFrame, extra_fields: Sequence[str] = ()
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The canonical columns and `extra_fields` as strings (missing ones null; blanks null)
    and rejected rows.

    Rows without a record_id or state cannot be stored and are returned as errors. Within the
    frame a repeated record_id is an update: the last row wins.
    """
    if records.height <= SMALL_FRAME:
        return canonical_rows(records.to_dicts(), extra_fields)
    columns = record_columns(extra_fields)
    frame = records.with_row_index("__row")
    frame = frame.with_columns(
        [
            (pl.col(c).cast(pl.String).str.strip_chars().replace("", None)
             if c in frame.columns else pl.lit(None, dtype=pl.String)).alias(c)
            for c in columns
        ]
    )
    errors = []
    for column in ("record_id", "state"):
        bad = frame.filter(pl.col(column).is_null())
        if bad.height:
            errors.append(bad.select(
                pl.col("record_id"),
                (pl.col("source").cast(pl.String) if "source" in bad.columns
                 else pl.lit(None, dtype=pl.String)).alias("source"),
                (pl.col("__row").cast(pl.Int64) + 1).alias("row"),
                pl.lit(column).alias("field"),
                pl.lit(f"'{column}' must be present; got None").alias("reason"),
            ))
        frame = frame.filter(pl.col(column).is_not_null())
    frame = frame.unique("record_id", keep="last", maintain_order=True)
    error_frame = pl.concat(errors) if errors else empty_errors()
    return frame.select(columns), error_frame


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def canonical_rows(rows: list[dict[str, Any]], extra_fields: Sequence[str] = ()
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`canonical_frame` of a few rows given as dicts (in plain Python: polars' fixed cost
    dominates for a few rows)."""
    columns = record_columns(extra_fields)
    kept: dict[str, dict[str, str | None]] = {}
    errors: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        values = {c: _clean(row.get(c)) for c in columns}
        source = row.get("source")
        missing = [c for c in ("record_id", "state") if values[c] is None]
        for column in missing:
            errors.append({"record_id": values["record_id"],
                           "source": None if source is None else str(source), "row": number,
                           "field": column, "reason": f"'{column}' must be present; got None"})
        if not missing:
            rid = values["record_id"]
            assert rid is not None
            kept.pop(rid, None)
            kept[rid] = values
    frame = pl.DataFrame(list(kept.values()), schema=record_schema(extra_fields))
    return frame, pl.DataFrame(errors, schema=ERROR_SCHEMA) if errors else empty_errors()


def content_hashes(frame: pl.DataFrame, extra_fields: Sequence[str] = ()) -> list[str]:
    """A stable SHA-256 of each row's canonical values, then its extra fields (re-sending
    identical data is a no-op; without extra fields the hash is the canonical values')."""
    out = []
    for row in frame.select(record_columns(extra_fields)).iter_rows():
        text = "\x1f".join("\x00" if v is None else v for v in row)
        out.append(hashlib.sha256(text.encode("utf-8")).hexdigest())
    return out


def packed_extra_fields(frame: pl.DataFrame, extra_fields: Sequence[str]) -> list[str | None]:
    """Each row's extra fields as the JSON text `records.extra_fields` keeps (the fields
    present; None when none is)."""
    if not extra_fields:
        return [None] * frame.height
    return [json.dumps(present, ensure_ascii=False, sort_keys=True) if present else None
            for present in ({k: v for k, v in zip(extra_fields, row, strict=True)
                             if v is not None}
                            for row in frame.select(extra_fields).iter_rows())]


_COLUMNS = [getattr(Record, c) for c in CANONICAL_COLUMNS]


def read_records(
    session: Session, *, after_seq: int | None = None, record_ids: list[str] | None = None,
    extra_fields: Sequence[str] = (),
) -> tuple[pl.DataFrame, int]:
    """Stored records as a frame of the canonical columns and `extra_fields` (all, changed
    after a sequence, or by id).

    Also returns the largest change sequence seen (0 when none).
    """
    stmt = select(*_COLUMNS, Record.extra_fields, Record.change_seq)
    if after_seq is not None:
        stmt = stmt.where(Record.change_seq > after_seq)
    if record_ids is not None:
        stmt = stmt.where(in_values(Record.record_id, record_ids))
    rows = session.execute(stmt).all()
    max_seq = max((r[-1] for r in rows), default=0)
    n = len(CANONICAL_COLUMNS)
    data = [(*r[:n], *((r[n] or {}).get(f) for f in extra_fields)) for r in rows]
    return pl.DataFrame(data, schema=record_schema(extra_fields), orient="row"), max_seq
