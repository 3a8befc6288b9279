"""Migrations: they build exactly the ORM tables, on both engines, and re-open safely."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from matcher.schema import CANONICAL_COLUMNS
from matcher.store import IdentityStore
from matcher.store.db import create_store_engine, normalise_url, upgrade
from matcher.store.models import Base


def test_migrations_match_the_models(store_url: str) -> None:
    engine = create_store_engine(store_url)
    try:
        upgrade(engine)
        upgrade(engine)  # a second open is a no-op
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == "0004"
        tables = set(inspect(engine).get_table_names())
        assert {"records", "identities", "links", "judgements", "near_matches",
                "pending_changes", "change_locks", "events", "event_states", "audit_log",
                "api_keys", "identity_lineage", "store_state", "store_meta"} <= tables
        columns = {c["name"] for c in inspect(engine).get_columns("records")}
        assert set(CANONICAL_COLUMNS) <= columns
        api = {c["name"] for c in inspect(engine).get_columns("api_keys")}
        assert api == {"id", "key_hash", "role", "states", "created_at", "revoked_at"}
    finally:
        engine.dispose()


def test_open_without_model_serves_reads(store_url: str) -> None:
    store = IdentityStore.open(store_url)
    try:
        assert not store.has_backend
        assert store.events.latest_cursor() == 0
        assert store.counts("2023-24").national == 0
    finally:
        store.close()


def test_plain_paths_become_sqlite_urls() -> None:
    assert normalise_url("x.db") == "sqlite:///x.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///a.db") == "sqlite:///a.db"
