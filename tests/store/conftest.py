"""Store fixtures: every test runs on a SQLite file and on PostgreSQL (when available).

PostgreSQL comes from STUDENTLINK_TEST_POSTGRES_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test); each test gets a fresh schema, dropped after.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from matcher.store import IdentityStore, StoreConfig
from tests.store.fakes import fake_backend


@pytest.fixture
def store(store_url: str) -> Iterator[IdentityStore]:
    """An open store on the fake matching backend."""
    opened = IdentityStore.open(store_url, backend=fake_backend(), config=StoreConfig())
    try:
        yield opened
    finally:
        opened.close()
