"""Links carry what batch `link` clusters with besides the scores: the given names agree
exactly (`same_name`) and an identifier agrees (`identifier_agrees`), so the store's
re-clustering can do batch `link`'s last pass (a strong pair confirmed by the state's student
id joins what rebuilding a conflicted component left apart). Migration 0002 adds the columns;
pairs stored before it read as unknown (False)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, Table, func, insert, inspect, or_, select, update

import matcher.clustering
from benchmarks.synthetic import generate
from matcher.ingest import validate
from matcher.pipeline import Linker
from matcher.settings import load_preset
from matcher.store import IdentityStore, StoreConfig
from matcher.store import recluster as store_recluster
from matcher.store.db import create_store_engine, migrations_config
from matcher.store.models import Identity, Link, Record, StoreState
from matcher.store.prescore import pairs_once
from tests.store.fakes import fake_backend, frame, rec
from tests.store.helpers import assert_consistent, partition, store_partition


def _twins_and_ana() -> pl.DataFrame:
    """Twins ANA MARIA (a, b: one child in two states) and ANA KAREN (c), both declared a
    multiple birth, so a pair between them is flagged. ANA (d) scores the same against all
    three: she fits either twin, and the rebuilt component leaves her alone, unless an
    identifier says which: she and ANA KAREN have one student id in one state."""
    twin = {"multiple_birth_flag": "Y"}
    return frame(
        rec("a", "TX", "Ana Maria", "Garcia", "2015-03-04", **twin),
        rec("b", "CA", "Ana Maria", "Garcia", "2015-03-04", **twin),
        rec("c", "TX", "Ana Karen", "Garcia", "2015-03-04", local_student_id="S77", **twin),
        rec("d", "TX", "Ana", "Garcia", "2015-03-04", local_student_id="S77"),
    )


def _clustered_at_once(data: pl.DataFrame, *, evidence: bool) -> set[frozenset[str]]:
    """All records clustered together, as batch `link` does (each pair once)."""
    backend = fake_backend(evidence=evidence)
    index = backend.make_index()
    index.add(data)
    result = backend.cluster(data["record_id"], pairs_once(index.match(data)),
                             backend.thresholds)
    return partition(result.assignments, "cluster_id")


def _load(store: IdentityStore, data: pl.DataFrame, how: str) -> None:
    if how == "one load":
        store.load(data)
    elif how == "record by record":
        for row in data.to_dicts():
            store.upsert_record(row)
    else:
        store.load_batches(data, batch_size=2)


def _stored_links(store: IdentityStore
                  ) -> dict[tuple[str, str], tuple[float, bool | None, bool | None]]:
    """(record_id_l, record_id_r) -> (match_probability, same_name, identifier_agrees)."""
    with store.engine.connect() as conn:
        return {(row[0], row[1]): (row[2], row[3], row[4]) for row in conn.execute(
            select(Link.record_id_l, Link.record_id_r, Link.match_probability,
                   Link.same_name, Link.identifier_agrees))}


def test_the_store_names_the_columns_cluster_reads() -> None:
    assert store_recluster.SAME_NAME == matcher.clustering.SAME_NAME
    assert store_recluster.IDENTIFIER_AGREES == matcher.clustering.IDENTIFIER_AGREES
    assert store_recluster.TWIN_BY_NAMES == matcher.clustering.TWIN_BY_NAMES


@pytest.mark.parametrize("how", ["one load", "record by record", "load_batches"])
def test_a_pair_confirmed_by_the_student_id_joins_after_a_conflict(store_url: str, how: str
                                                                   ) -> None:
    data = _twins_and_ana()
    batch = _clustered_at_once(data, evidence=True)
    assert batch == {frozenset("ab"), frozenset("cd")}
    store = IdentityStore.open(store_url, backend=fake_backend(), config=StoreConfig())
    try:
        _load(store, data, how)
        assert store_partition(store) == batch
        assert_consistent(store)
        links = _stored_links(store)
        assert links[("c", "d")][1:] == (False, True)
        assert links[("a", "b")][1:] == (True, False)
        assert all(values[2] is False for key, values in links.items() if key != ("c", "d"))
    finally:
        store.close()


def test_without_the_evidence_the_record_fitting_either_twin_stays_alone(store_url: str
                                                                         ) -> None:
    """A backend that does not say (as the store before migration 0002): the columns stay
    null, read as False, and the partition is batch `link`'s without its last pass."""
    data = _twins_and_ana()
    store = IdentityStore.open(store_url, backend=fake_backend(evidence=False),
                               config=StoreConfig())
    try:
        store.load(data)
        assert store_partition(store) == _clustered_at_once(data, evidence=False) == {
            frozenset("ab"), frozenset("c"), frozenset("d")}
        assert {values[1:] for values in _stored_links(store).values()} == {(None, None)}
    finally:
        store.close()


def _store_at_0001(url: str) -> None:
    """A store as revision 0001 made it, holding records a and b of one identity and their
    link (written through the 0001 tables: `links` without the new columns)."""
    engine = create_store_engine(url)
    cfg = migrations_config(engine)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            conn.execute(insert(StoreState).values(id=1, event_seq=0, change_seq=1))
            conn.execute(insert(Identity).values(identity_id="100000000017", status="active",
                                                 cause="load", created_at=now, updated_at=now))
            for row in _twins_and_ana().head(2).to_dicts():
                conn.execute(insert(Record).values(
                    **row, identity_id="100000000017", content_hash=f"h-{row['record_id']}",
                    version=1, change_seq=1, created_at=now, updated_at=now))
            links = Table("links", MetaData(), autoload_with=conn)
            assert "same_name" not in links.c and "identifier_agrees" not in links.c
            conn.execute(insert(links).values(
                record_id_l="a", record_id_r="b", match_probability=0.9999,
                match_weight=13.3, possible_multiple_birth=False, contributions=None))
    finally:
        engine.dispose()


def test_a_store_at_revision_0001_is_upgraded_on_open(store_url: str) -> None:
    _store_at_0001(store_url)
    store = IdentityStore.open(store_url, backend=fake_backend(), config=StoreConfig())
    try:
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0004"
        columns = {c["name"]: c for c in inspect(store.engine).get_columns("links")}
        assert columns["same_name"]["nullable"] and columns["identifier_agrees"]["nullable"]
        # the existing pair is unknown; re-clustering reads it as False and keeps working
        assert _stored_links(store) == {("a", "b"): (0.9999, None, None)}
        store.load(_twins_and_ana().tail(2))
        links = _stored_links(store)
        assert links[("a", "b")] == (0.9999, None, None)
        assert links[("c", "d")][1:] == (False, True)
        assert store_partition(store) == {frozenset("ab"), frozenset("cd")}
        assert store.identities.assignments().filter(
            pl.col("record_id") == "a")["identity_id"].item() == "100000000017"
    finally:
        store.close()


@pytest.mark.slow
def test_rebuild_fills_in_the_evidence_of_pairs_stored_before_0002(store_url: str) -> None:
    """`studentlink rebuild` scores every pair again: a store upgraded from 0001 gets batch
    `link`'s last pass for all its pairs."""
    settings = load_preset("msix")
    raw, _ = generate(600, seed=5)
    records = validate(raw, settings).records
    linker = Linker(settings)
    linker.link(records)
    with IdentityStore.open(store_url, settings=settings, model=linker.model) as store:
        store.load(records)
        with store.engine.begin() as conn:  # as migration 0002 leaves older pairs
            conn.execute(update(Link).values(same_name=None, identifier_agrees=None,
                                             multiple_birth_by_names=None))
        store.rebuild(linker.model, actor="admin1")
        with store.engine.connect() as conn:
            unknown = conn.scalar(select(func.count()).select_from(Link).where(
                or_(Link.same_name.is_(None), Link.identifier_agrees.is_(None),
                    Link.multiple_birth_by_names.is_(None))))
            agreeing = conn.scalar(select(func.count()).select_from(Link).where(
                Link.identifier_agrees.is_(True)))
        assert unknown == 0 and agreeing > 0
        assert_consistent(store)
