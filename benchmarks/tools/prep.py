"""Data preparation for the peers, as their documentation has users do it.

Runs inside the peer's own subprocess, so it counts in the peer's time and memory (studentlink
normalises inside its own run too). Every peer gets the same cleaned frames:

- every text column trimmed, lower-cased, accents stripped, empty strings made null;
- ``dob``: the birth date as ISO ``YYYY-MM-DD`` (null when it does not parse), from the
  family's date formats;
- ``address``: street number, street name and unit in one column (where the data has them;
  the tax forms' mailing address read as the census's address columns);
- ``record_id`` kept as given.
"""

from __future__ import annotations

import polars as pl

from benchmarks.datasets import Dataset, read_febrl

DATE_FORMATS: dict[str, tuple[str, ...]] = {
    "febrl": ("%Y%m%d",),
    # census: MM/DD/YYYY, WIC: MMDDYYYY, SSA: YYYYMMDD
    "pseudopeople": ("%m/%d/%Y", "%m%d%Y", "%Y%m%d"),
    # the canonical record allows ISO, YYYYMMDD and MM/DD/YYYY
    "synthetic": ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"),
    "custom": ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"),
}

MAILING_FIELDS = ("street_number", "street_name", "unit_number", "city", "state", "zipcode")
"""The pseudopeople tax forms' ``mailing_address_<field>`` columns, read as the census's."""

DOB_SOURCE: dict[str, str] = {
    "febrl": "date_of_birth",
    "pseudopeople": "date_of_birth",
    "synthetic": "birth_date",
    "custom": "birth_date",
}


def clean_text(column: str) -> pl.Expr:
    """Trimmed, lower-case, accent-free text; empty means missing."""
    cleaned = (
        pl.col(column)
        .cast(pl.String)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{Mn}", "")
        .str.strip_chars()
        .str.to_lowercase()
    )
    return pl.when(cleaned == "").then(None).otherwise(cleaned).alias(column)


def parse_dob(column: str, formats: tuple[str, ...]) -> pl.Expr:
    """First format that parses to a plausible date, as ISO text; else null."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    parsed = pl.coalesce(*(text.str.to_date(fmt, strict=False) for fmt in formats))
    plausible = parsed.dt.year().is_between(1850, 2100)
    return pl.when(plausible).then(parsed.dt.to_string("%Y-%m-%d")).otherwise(None).alias("dob")


def read_input(dataset: Dataset, path: str | object) -> pl.DataFrame:
    """One input file as a frame of strings (plus pseudopeople's integer ``year``)."""
    from pathlib import Path

    p = Path(str(path))
    if dataset.family == "febrl":
        return read_febrl(p).rename({"rec_id": "record_id"})
    if p.suffix == ".parquet":
        return pl.read_parquet(p)
    if p.suffix == ".json":
        return pl.read_json(p)
    return pl.read_csv(p, infer_schema=False)


def prepare_frame(dataset: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    """Clean one input frame and add ``dob`` (and ``middle_initial`` where only a middle name)."""
    family = dataset.family if dataset.family in DATE_FORMATS else "custom"
    text_cols = [c for c, t in frame.schema.items() if t == pl.String and c != "record_id"]
    frame = frame.with_columns(
        pl.col("record_id").cast(pl.String), *(clean_text(c) for c in text_cols)
    )
    dob_col = DOB_SOURCE[family]
    if dob_col in frame.columns:
        frame = frame.with_columns(parse_dob(dob_col, DATE_FORMATS[family]))
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("dob"))
    mailing = {f"mailing_address_{c}": c for c in MAILING_FIELDS
               if f"mailing_address_{c}" in frame.columns and c not in frame.columns}
    frame = frame.rename(mailing)
    if {"street_number", "street_name"} <= set(frame.columns) and "address" not in frame.columns:
        parts = [c for c in ("street_number", "street_name", "unit_number") if c in frame.columns]
        frame = frame.with_columns(
            pl.when(pl.col("street_name").is_not_null())
            .then(pl.concat_str([pl.col(c) for c in parts], separator=" ", ignore_nulls=True))
            .alias("address")
        )
    if "middle_initial" not in frame.columns and "middle_name" in frame.columns:
        frame = frame.with_columns(pl.col("middle_name").str.slice(0, 1).alias("middle_initial"))
    return frame


def peer_frames(dataset: Dataset) -> list[pl.DataFrame]:
    """Every input of the data set, read and cleaned; one frame per input file.

    For a dedupe task with several inputs the frames are concatenated into one.
    """
    frames = [prepare_frame(dataset, read_input(dataset, p)) for p in dataset.inputs]
    if not dataset.link_only and len(frames) > 1:
        return [pl.concat(frames, how="diagonal_relaxed")]
    return frames


def align_columns(frames: list[pl.DataFrame], columns: list[str]) -> list[pl.DataFrame]:
    """Each frame with exactly ``record_id`` + ``columns`` (missing ones as null strings)."""
    out = []
    for frame in frames:
        exprs = [pl.col("record_id")]
        for c in columns:
            if c in frame.columns:
                exprs.append(pl.col(c).cast(pl.String))
            else:
                exprs.append(pl.lit(None, dtype=pl.String).alias(c))
        out.append(frame.select(exprs))
    return out
