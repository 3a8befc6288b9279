"""The online index's block map: rows added in bulk land as rows added one by one."""

from __future__ import annotations

import random

import polars as pl

from matcher.online import SMALL_BLOCK, Blocks


def _contents(blocks: Blocks, keys: set[str]) -> dict[str, list[int]]:
    return {k: sorted(blocks.get(k)) for k in keys}


def test_extend_equals_adding_row_by_row() -> None:
    rnd = random.Random(3)
    # block sizes from one row to well over the packed size, some keys already present
    keys = [f"k{rnd.randint(0, 60)}" if rnd.random() < 0.7 else f"u{i}" for i in range(900)]
    keys = [None if rnd.random() < 0.05 else k for k in keys]
    earlier = [f"k{rnd.randint(0, 80)}" for _ in range(100)]
    one_by_one, bulk = Blocks(), Blocks()
    for blocks in (one_by_one, bulk):
        for row, key in enumerate(earlier):
            blocks.add(key, row)
    for row, key in enumerate(keys, start=len(earlier)):
        if key is not None:
            one_by_one.add(key, row)
    bulk.extend(pl.Series(keys, dtype=pl.String), len(earlier))

    every = {k for k in keys + earlier if k is not None}
    assert _contents(bulk, every) == _contents(one_by_one, every)
    assert max(len(bulk.get(k)) for k in every) > SMALL_BLOCK
    assert bulk.large.keys() == one_by_one.large.keys()
    assert bulk.memory_bytes() == one_by_one.memory_bytes()
