"""`load_batches`: a large input scored ahead in chunks, committed batch by batch."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from matcher.store import IdentityStore, LoadResult
from tests.store.fakes import fake_backend, people
from tests.store.helpers import assert_consistent, event_kinds, partition, store_partition


def _clustered_at_once(data: pl.DataFrame) -> set[frozenset[str]]:
    """The fake backend's partition of all records clustered together (no order effects)."""
    backend = fake_backend()
    index = backend.make_index()
    index.add(data)
    clusters = backend.cluster(data["record_id"], index.match(data), backend.thresholds)
    return partition(clusters.assignments, "cluster_id")


def _resent_as_others(records: pl.DataFrame, every: int) -> pl.DataFrame:
    """Every `every`-th record re-sent with the names and birth date of the record after it
    (another child): its links must be re-evaluated."""
    picked = records.gather_every(every)
    donors = records.gather_every(every, offset=1)
    n = min(picked.height, donors.height)
    return picked.head(n).with_columns(donors.head(n).select(
        "first_name", "last_name_1", "birth_date"))


def _load_both(store: IdentityStore, reference: IdentityStore, stored: pl.DataFrame,
               incoming: pl.DataFrame, batch_size: int) -> tuple[list[LoadResult],
                                                                 list[LoadResult]]:
    """`stored` loaded into both; then `incoming` batch by batch into `reference` and by
    `load_batches` into `store`. The per-batch results of each."""
    for target in (store, reference):
        target.load(stored)
    expected = [reference.load(incoming.slice(start, batch_size))
                for start in range(0, incoming.height, batch_size)]
    seen: list[LoadResult] = []
    result = store.load_batches(incoming, batch_size=batch_size, after_batch=seen.append)
    assert result.rows["record_id"].to_list() == incoming["record_id"].to_list()
    assert result.summary() == {k: sum(r.summary()[k] for r in seen) for k in result.summary()}
    return seen, expected


def test_same_as_loading_batch_by_batch(store: IdentityStore, tmp_path: Path) -> None:
    data = people(150, seed=11)
    with IdentityStore.open(tmp_path / "reference.db", backend=fake_backend()) as reference:
        seen, expected = _load_both(store, reference, data.head(80), data.slice(80), 25)
        assert [r.summary() for r in seen] == [r.summary() for r in expected]
        assert store_partition(store) == store_partition(reference)
        assert event_kinds(store) == event_kinds(reference)
        assert_consistent(store)


def test_changed_records_end_as_batch_by_batch(store: IdentityStore, tmp_path: Path) -> None:
    """A changed record's pairs are scored with its new values only: loading batch by batch
    also links earlier batches to its old values for a while, so the events in between
    differ, not where each record ends up."""
    data = people(150, seed=11)
    first = data.head(80)
    incoming = pl.concat([data.slice(80), _resent_as_others(first, 7)])
    with IdentityStore.open(tmp_path / "reference.db", backend=fake_backend()) as reference:
        seen, expected = _load_both(store, reference, first, incoming, 25)
        assert sum(r.updated for r in seen) == sum(r.updated for r in expected) > 0
        assert store_partition(store) == store_partition(reference)
        assert _open_near_matches(store) == _open_near_matches(reference)
        assert_consistent(store)


def _open_near_matches(store: IdentityStore) -> set[tuple[str, str]]:
    items = store.reviews.queue(limit=10_000)
    return {(i.record_id_l, i.record_id_r) for i in items}


def test_another_writer_between_batches(store_url: str) -> None:
    data = people(120, seed=3)
    # written by another process after the first batch: the same child as a record of a
    # later batch, which was scored before this record existed
    late = data.row(data.height - 5, named=True)
    extra = pl.DataFrame([{**late, "record_id": "other-1", "state": "NV"}])
    loader = IdentityStore.open(store_url, backend=fake_backend())
    other = IdentityStore.open(store_url, backend=fake_backend())
    try:
        written: list[LoadResult] = []

        def after_batch(_: LoadResult) -> None:
            if not written:
                written.append(other.load(extra))

        loader.load_batches(data, batch_size=30, after_batch=after_batch)
        assert loader.identities.of_record("other-1") == loader.identities.of_record(
            late["record_id"])
        assert store_partition(loader) == _clustered_at_once(
            pl.concat([data, extra.select(data.columns)]))
        assert len(loader.index()) == data.height + 1
        assert_consistent(loader)
    finally:
        loader.close()
        other.close()


def test_failure_leaves_the_index_as_the_store(store: IdentityStore) -> None:
    data = people(100, seed=4)
    committed: list[LoadResult] = []

    def stop_after_three(result: LoadResult) -> None:
        committed.append(result)
        if len(committed) == 3:
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        store.load_batches(data, batch_size=20, after_batch=stop_after_three)
    assert store.identities.assignments().height == 60
    assert len(store.index()) == 60
    assert_consistent(store)

    again = store.load_batches(data, batch_size=20)
    assert (again.unchanged, again.new) == (60, data.height - 60)
    assert store_partition(store) == _clustered_at_once(data)
    assert_consistent(store)


def test_an_input_whose_every_row_is_rejected_is_reported_not_a_crash(
        store: IdentityStore) -> None:
    """Rows without a state cannot be stored (a layout with no submitting state, such as the
    pseudopeople census): each is an error and nothing is written."""
    data = people(5, seed=3).with_columns(pl.lit(None, dtype=pl.String).alias("state"))
    result = store.load_batches(data, batch_size=2)
    assert result.errors["field"].to_list() == ["state"] * data.height
    assert result.errors["record_id"].to_list() == data["record_id"].to_list()
    assert store_partition(store) == set()
    assert_consistent(store)
