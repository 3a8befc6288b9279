"""Shaping records for the store: canonical columns, rejected rows, content hashes."""

from __future__ import annotations

import polars as pl
import pytest

from matcher.errors import StoreError
from matcher.schema import CANONICAL_COLUMNS
from matcher.store import IdentityStore
from matcher.store.records import SMALL_FRAME, canonical_frame, content_hashes
from tests.store.fakes import frame, rec

ROWS = [
    rec("a1", "TX", " Maria ", "Lopez", "2010-01-02"),
    rec("a2", "CA", "Juan", "", "2011-03-04", extra_column="ignored"),
    {**rec("a3", "FL", "Ana", "Diaz", "2012-02-02"), "state": None},
    {**rec("a4", "WA", "Luz", "Paz", "2013-03-03"), "record_id": "  "},
    rec("a1", "TX", "Mariana", "Lopez", "2010-01-02"),
]


@pytest.mark.parametrize("copies", [1, SMALL_FRAME])
def test_small_and_large_frames_are_shaped_alike(copies: int) -> None:
    rows = [{**r, "record_id": f"{r['record_id']}-{k}" if r["record_id"] and r["record_id"]
             .strip() else r["record_id"]} for k in range(copies) for r in ROWS]
    shaped, errors = canonical_frame(frame(*rows))
    assert shaped.columns == list(CANONICAL_COLUMNS)
    assert shaped.height == 2 * copies
    maria = shaped.filter(pl.col("record_id").str.starts_with("a1"))["first_name"].to_list()
    assert maria == ["Mariana"] * copies  # the last row with an id wins
    assert shaped.filter(pl.col("record_id").str.starts_with("a2"))["last_name_1"].to_list() \
        == [None] * copies  # blank is missing
    assert " Maria " not in shaped["first_name"].to_list()
    assert sorted(set(errors["field"].to_list())) == ["record_id", "state"]
    assert errors.height == 2 * copies


def test_content_hash_ignores_nothing_but_is_stable() -> None:
    shaped, _ = canonical_frame(frame(rec("a1", "TX", "Maria", "Lopez", "2010-01-02")))
    again, _ = canonical_frame(frame(rec("a1", "TX", "Maria", "Lopez", "2010-01-02")))
    changed, _ = canonical_frame(frame(rec("a1", "TX", "Maria", "Lopez", "2010-01-03")))
    assert content_hashes(shaped) == content_hashes(again) != content_hashes(changed)


def test_a_store_without_model_cannot_match(store_url: str) -> None:
    with IdentityStore.open(store_url) as store, pytest.raises(StoreError, match="'model'"):
        store.load(frame(rec("a1", "TX", "Maria", "Lopez", "2010-01-02")))
