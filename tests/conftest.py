"""Shared builders for the core tests: canonical record frames and candidate-pair frames."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import polars as pl
import pytest

from matcher.schema import CANONICAL_COLUMNS

pytest_plugins = ["tests.store_urls"]  # the `store_url` fixture: SQLite and PostgreSQL

CanonicalBuilder = Callable[[Sequence[Mapping[str, str | None]]], pl.DataFrame]
PairsBuilder = Callable[..., pl.DataFrame]


def build_canonical(rows: Sequence[Mapping[str, str | None]]) -> pl.DataFrame:
    """All canonical columns as strings (missing ones null); record_id defaults to r0, r1, ..."""
    unknown = {k for row in rows for k in row} - set(CANONICAL_COLUMNS)
    if unknown:
        raise ValueError(f"not canonical columns: {sorted(unknown)}")
    filled = [{c: row.get(c) for c in CANONICAL_COLUMNS} | {"record_id": row.get(
        "record_id") or f"r{i}"} for i, row in enumerate(rows)]
    return pl.DataFrame(filled, schema=dict.fromkeys(CANONICAL_COLUMNS, pl.String))


def build_pairs(idx_l: Sequence[int], idx_r: Sequence[int]) -> pl.DataFrame:
    """A candidate-pair frame (row numbers into a prepared frame)."""
    return pl.DataFrame({"idx_l": list(idx_l), "idx_r": list(idx_r)},
                        schema={"idx_l": pl.UInt32, "idx_r": pl.UInt32})


@pytest.fixture(scope="session")
def canonical() -> CanonicalBuilder:
    return build_canonical


@pytest.fixture(scope="session")
def pairs_frame() -> PairsBuilder:
    return build_pairs
