"""The online index blocks as the batch path does: a multi-valued rule's keys, each pair once."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from features.value_memo import SMALL_FRAME_ROWS
from matcher.online import OnlineMatcher
from matcher.pipeline import Linker
from matcher.settings import load_preset
from models.fellegi_sunter import FellegiSunterModel

CanonicalBuilder = Callable[..., pl.DataFrame]  # the `canonical` fixture

KAREN = {"record_id": "tx-1", "state": "TX", "first_name": "Karen", "last_name_1": "Sanchez",
         "last_name_2": "Espinoza", "birth_date": "2012-04-07"}
ROTATED = {"record_id": "ks-9", "state": "KS", "first_name": "Espnioza",
           "last_name_1": "Karne", "birth_date": "2012-04-07"}
"""KAREN SANCHEZ ESPINOZA as another state's system split it, with a typo in each name."""


def _others(count: int) -> list[dict[str, str | None]]:
    """Children born the same day whose names share no sound with KAREN's."""
    return [{"record_id": f"ca-{i}", "state": "CA", "first_name": "Pedro",
             "last_name_1": "Ramirez", "last_name_2": "Soto", "birth_date": "2012-04-07"}
            for i in range(count)]


def _matcher() -> OnlineMatcher:
    settings = load_preset("msix")
    return OnlineMatcher(settings, FellegiSunterModel(Linker(settings).comparisons))


@pytest.mark.parametrize("others", [0, SMALL_FRAME_ROWS], ids=["plain keys", "polars keys"])
def test_rotated_names_are_candidates(canonical: CanonicalBuilder, others: int) -> None:
    """Only 'birth_date+any_name_sound' pairs the two; the index finds the pair once, whether
    it built the keys in plain Python (a few rows) or with polars (many)."""
    index = _matcher()
    index.add(canonical([KAREN, *_others(others)]))
    query = index._prepare(canonical([ROTATED]))
    pairs = index.candidates(query)
    assert pairs.rows() == [(0, 0)]
    index.remove(["tx-1"])
    assert not len(index.candidates(query))


def test_rotated_pair_found_only_by_the_any_name_rule(canonical: CanonicalBuilder) -> None:
    from matcher.blocking import candidate_pairs

    linker = Linker(load_preset("msix"))
    prepared = linker.prepare(canonical([KAREN, ROTATED]))
    pairs, report = candidate_pairs(prepared, linker.rules)
    assert pairs.select("idx_l", "idx_r").rows() == [(0, 1)]
    found = [r.name for r in report.rules if r.candidates]
    assert found == ["birth_date+any_name_sound"]


def test_extend_with_a_list_per_row_equals_adding_each_key() -> None:
    """A multi-valued rule's keys (a list per row, maybe empty) land as one add per key."""
    from matcher.blocking import row_entries
    from matcher.online import SMALL_BLOCK, Blocks

    keys: list[list[str]] = [[f"d|{i % 3}", f"d|{i % 20}"] if i % 7 else [] for i in range(200)]
    one_by_one, bulk = Blocks(), Blocks()
    one_by_one.add("d|1", 0)
    bulk.add("d|1", 0)
    for row, key in row_entries(range(1, 201), keys):
        one_by_one.add(key, row)
    bulk.extend(pl.Series(keys, dtype=pl.List(pl.String)), 1)
    every = {k for row in keys for k in row}
    assert {k: sorted(bulk.get(k)) for k in every} == {
        k: sorted(one_by_one.get(k)) for k in every}
    assert max(len(bulk.get(k)) for k in every) > SMALL_BLOCK


def test_matching_among_given_records_scores_only_their_pairs(canonical: CanonicalBuilder
                                                              ) -> None:
    """`match(records, among)`: the blocked pairs with those indexed records only, scored as
    `match` scores them (a component's pairs scored again, the other candidates never)."""
    from benchmarks.synthetic import generate
    from matcher.ingest import validate

    settings = load_preset("msix")
    trained = Linker(settings)
    trained.link(validate(generate(1500, seed=5)[0], settings).records)
    assert trained.model is not None
    index = OnlineMatcher(settings, trained.model)
    index.add(canonical([KAREN, *_others(SMALL_FRAME_ROWS)]))
    probe = canonical([{**_others(1)[0], "record_id": "probe"}])
    everything = index.match(probe)
    assert everything.height == SMALL_FRAME_ROWS
    among = {"ca-1", "ca-3", "tx-1", "not-indexed"}
    some = index.match(probe, among)
    assert sorted(some["record_id_r"].to_list()) == ["ca-1", "ca-3"]
    expected = everything.filter(pl.col("record_id_r").is_in(["ca-1", "ca-3"]))
    assert some.sort("record_id_r").equals(expected.sort("record_id_r"))
    assert not len(index.match(probe, set()))
