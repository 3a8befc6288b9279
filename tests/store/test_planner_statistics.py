"""PostgreSQL's planner statistics keep up with a store that grows during a load."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from matcher.store import IdentityStore, StoreConfig, db
from tests.store.fakes import fake_backend, people


def _analyzed_rows(store: IdentityStore, table: str) -> float | None:
    """PostgreSQL's row estimate for `table` (-1 or None: never analyzed)."""
    with store.engine.connect() as conn:
        return conn.execute(text(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}).scalar()


@pytest.mark.parametrize("batches", ["load", "load_batches"])
def test_a_load_analyzes_postgres_tables_as_the_store_doubles(
        store_url: str, monkeypatch: pytest.MonkeyPatch, batches: str) -> None:
    """Never-analyzed tables look empty to PostgreSQL's planner, which then scans `links`
    whole for each batch's lookups. The store analyzes them once it holds a first number of
    records and again each time it has doubled, counting what is stored (`load_batches`
    indexes the whole input ahead of its batches); SQLite needs (and gets) none of it."""
    monkeypatch.setattr(db, "ANALYZE_FIRST_RECORDS", 40)
    data = people(60)  # ~120 records
    store = IdentityStore.open(store_url, backend=fake_backend(), config=StoreConfig())
    try:
        if batches == "load":
            for start in range(0, data.height, 10):
                store.load(data.slice(start, 10))
        else:
            store.load_batches(data, batch_size=10)
        postgres = store.engine.dialect.name == "postgresql"
        assert ("analyze" in store.timings) is postgres
        if postgres:
            analyzed = store._statistics.analyzed
            assert analyzed is not None and analyzed >= 40
            assert data.height < 2 * analyzed  # no analysis due and skipped
            rows = _analyzed_rows(store, "records")
            assert rows is not None and rows >= 40
    finally:
        store.close()


def test_the_schedule_waits_for_the_store_to_double(store_url: str) -> None:
    """Counted from the records written, on top of the size last analyzed (none here)."""
    store = IdentityStore.open(store_url, backend=fake_backend(), config=StoreConfig())
    try:
        statistics = db.PlannerStatistics(store.engine)
        # records written per call: the store grows to 500, 1,000, 1,500, 1,999, 2,000, ...
        written = [500, 500, 500, 499, 1, 1_000, 1_100]
        done = [statistics.after_write(n) for n in written]
        if store.engine.dialect.name == "postgresql":
            assert done == [False, True, False, False, True, False, True]
        else:
            assert not any(done)
    finally:
        store.close()
