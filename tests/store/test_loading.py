"""Loading records: persistent IDs, idempotent reloads, updates, the one-record call."""

from __future__ import annotations

import polars as pl
import pytest

from matcher.store import IdentityStore, is_valid_identity_id
from tests.store.fakes import fake_backend, frame, people, rec
from tests.store.helpers import event_kinds, partition, store_partition

MARIA_TX = rec("a1", "TX", "Maria", "Lopez", "2010-01-02")
MARIA_CA = rec("a2", "CA", "Maria", "Lopez", "2010-01-02")
JUAN_TX = rec("b1", "TX", "Juan", "Perez", "2011-03-04")


def test_new_records_get_valid_persistent_ids(store: IdentityStore) -> None:
    result = store.load(frame(MARIA_TX, MARIA_CA, JUAN_TX))
    rows = {r["record_id"]: r for r in result.rows.iter_rows(named=True)}
    assert {r["status"] for r in rows.values()} == {"new"}
    assert rows["a1"]["identity_id"] == rows["a2"]["identity_id"] != rows["b1"]["identity_id"]
    assert all(is_valid_identity_id(r["identity_id"]) for r in rows.values())
    assert (result.new, result.identities_created) == (3, 2)
    assert event_kinds(store) == ["identity_created", "identity_created"]


def test_ids_stable_across_restart_and_rerun(store_url: str) -> None:
    data = people(60)
    first = IdentityStore.open(store_url, backend=fake_backend())
    first.load(data)
    before = first.identities.assignments()
    cursor = first.events.latest_cursor()
    first.close()

    reopened = IdentityStore.open(store_url, backend=fake_backend())
    try:
        again = reopened.load(data)
        assert again.unchanged == data.height and again.new == again.updated == 0
        assert reopened.identities.assignments().equals(before)
        assert reopened.events.latest_cursor() == cursor
        # a new record joining an existing child keeps that child's ID
        row = data.row(0, named=True)
        extra = {**row, "record_id": "late-1", "state": "NV"}
        outcome = reopened.upsert_record(extra, validate=False)
        assert outcome.status == "new"
        assert outcome.identity_id == before.filter(
            pl.col("record_id") == row["record_id"])["identity_id"].item()
    finally:
        reopened.close()


def test_reload_changes_nothing(store: IdentityStore) -> None:
    data = people(40)
    store.load(data)
    cursor = store.events.latest_cursor()
    audit = len(store.audit.entries())
    before = store.identities.assignments()
    result = store.load(data)
    assert result.unchanged == data.height
    assert store.events.latest_cursor() == cursor
    assert len(store.audit.entries()) == audit
    assert store.identities.assignments().equals(before)


def test_update_reevaluates_its_links(store: IdentityStore) -> None:
    store.load(frame(MARIA_TX, MARIA_CA, JUAN_TX))
    maria = store.identities.of_record("a1")
    cursor = store.events.latest_cursor()
    # a2 was a typo: it is really Juan Perez's record
    result = store.load(frame(rec("a2", "CA", "Juan", "Perez", "2011-03-04")))
    assert result.updated == 1
    assert store.identities.of_record("a1") == maria
    assert store.identities.of_record("a2") == store.identities.of_record("b1")
    kinds = event_kinds(store, cursor)
    assert "record_linked" in kinds
    linked = [e for e in store.events.since(cursor).events if e.kind == "record_linked"]
    assert linked[0].payload["from_identity_id"] == maria


def test_update_that_breaks_a_link_splits_off_with_new_id(store: IdentityStore) -> None:
    store.load(frame(MARIA_TX, MARIA_CA))
    maria = store.identities.of_record("a1")
    store.load(frame(rec("a2", "CA", "Pedro", "Ruiz", "2001-05-05")))
    assert store.identities.of_record("a1") == maria
    leaver = store.identities.of_record("a2")
    assert leaver != maria
    assert [(x.identity_id, x.relation, x.related_id)
            for x in store.identities.lineage(leaver)] == [(leaver, "split_from", maria)]


def test_rows_without_id_or_state_are_rejected(store: IdentityStore) -> None:
    data = frame(MARIA_TX, {**JUAN_TX, "state": None}, {**MARIA_CA, "record_id": " "})
    result = store.load(data)
    assert result.rows["record_id"].to_list() == ["a1"]
    assert sorted(result.errors["field"].to_list()) == ["record_id", "state"]


def test_same_record_twice_in_a_batch_last_wins(store: IdentityStore) -> None:
    result = store.load(frame(MARIA_TX, {**MARIA_TX, "first_name": "Mariana"}))
    assert result.new == 1
    assert store.identities.members(store.identities.of_record("a1"))["first_name"].to_list() \
        == ["Mariana"]


def test_match_without_writing(store: IdentityStore) -> None:
    store.load(frame(MARIA_TX, MARIA_CA, JUAN_TX))
    cursor = store.events.latest_cursor()
    probe = frame(rec("probe", "WA", "Maria", "Lopez", "2010-01-02"))
    found = store.match(probe)
    assert set(found["record_id_r"]) == {"a1", "a2"}
    assert set(found["identity_id"]) == {store.identities.of_record("a1")}
    assert store.events.latest_cursor() == cursor
    with pytest.raises(Exception):  # noqa: B017 - the probe was not stored
        store.identities.of_record("probe")


def test_loaded_partition_is_the_clustering_of_all_pairs(store: IdentityStore) -> None:
    data = people(80)
    store.load(data)
    backend = fake_backend()
    index = backend.make_index()
    index.add(data)
    pairs = index.match(data)
    result = backend.cluster(data["record_id"], pairs, backend.thresholds)
    expected = {frozenset(g) for g in result.assignments.group_by("cluster_id")
                .agg("record_id")["record_id"].to_list()}
    assert store_partition(store) == expected


@pytest.mark.parametrize("chunks", [1, 10])
def test_chunked_load_equals_one_load(store: IdentityStore, chunks: int) -> None:
    data = people(120, seed=11)
    size = -(-data.height // chunks)
    for start in range(0, data.height, size):
        store.load(data.slice(start, size))
    backend = fake_backend()
    index = backend.make_index()
    index.add(data)
    result = backend.cluster(data["record_id"], index.match(data), backend.thresholds)
    expected = {frozenset(g) for g in result.assignments.group_by("cluster_id")
                .agg("record_id")["record_id"].to_list()}
    assert store_partition(store) == expected
    open_items = {(i.record_id_l, i.record_id_r) for i in store.reviews.queue(limit=10_000)}
    batch_items = {tuple(sorted(p)) for p in result.near_matches
                   .select("record_id_l", "record_id_r").iter_rows()}
    assert open_items == batch_items


def _stored_pairs(store: IdentityStore) -> set[tuple[str, str]]:
    from sqlalchemy import select

    from matcher.store.models import Link

    with store.engine.connect() as conn:
        return {(a, b) for a, b in conn.execute(select(Link.record_id_l, Link.record_id_r))}


def test_low_pairs_are_kept_only_inside_linked_components(store: IdentityStore) -> None:
    # x1 - b1 - b2 - b3 - x2: each step changes one field (a strong pair); x1 and x2 agree on
    # the surname only (a low pair, evidence that the chain is two children)
    x1 = rec("x1", "TX", "Ana", "Ruiz", "2010-01-01", parent1_first_name="Alma")
    b1 = rec("x3", "CA", "Eva", "Ruiz", "2010-01-01", parent1_first_name="Alma")
    b2 = rec("x4", "FL", "Eva", "Ruiz", "2012-12-12", parent1_first_name="Alma")
    b3 = rec("x5", "OR", "Eva", "Ruiz", "2012-12-12", parent1_first_name="Alma", sex="M")
    x2 = rec("x2", "WA", "Eva", "Ruiz", "2012-12-12", parent1_first_name="Luz", sex="M")
    store.load(frame(x1, x2))
    assert ("x1", "x2") not in _stored_pairs(store)  # scored low, in different components
    store.load(frame(b1))
    store.load(frame(b2))
    store.load(frame(b3))  # bridges the two components: the low pair is scored again, kept
    assert ("x1", "x2") in _stored_pairs(store)
    data = frame(x1, x2, b1, b2, b3)
    backend = fake_backend()
    index = backend.make_index()
    index.add(data)
    pairs = index.match(data)
    expected = partition(backend.cluster(data["record_id"], pairs, backend.thresholds)
                         .assignments, "cluster_id")
    assert store_partition(store) == expected
