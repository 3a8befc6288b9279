"""Property-based fuzzing of every operation in the OpenAPI schema (schemathesis).

Each operation gets a bounded number of generated requests (positive and negative), sent with
a key whose role may call it, against the ASGI app over a seeded store: SQLite, and PostgreSQL
when STUDENTLINK_TEST_POSTGRES_URL is set. No response may be a 500, and every response must
match the schema (status code, content type, body).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.openapi import from_asgi
from sqlalchemy import create_engine, text

from api.app import create_app
from api.auth import create_key
from matcher.store import IdentityStore
from tests.api.conftest import KEY_SPECS, make_settings
from tests.api.fakes import MARIA_FL, SEED, fake_backend
from tests.store_urls import POSTGRES_ENV, postgres_schema_url

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
KEY_FOR_PATH = {
    "/v1/records": "exchange", "/v1/match": "exchange", "/v1/near-matches": "reviewer_txfl",
    "/v1/audit": "auditor", "/v1/events": "exchange",
}

def _postgres_url() -> str | None:
    """A fresh schema on the test PostgreSQL (dropped at exit), or None without one."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        return None
    schema_name = f"sl_fuzz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
    except Exception:  # pragma: no cover - depends on the machine
        admin.dispose()
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE'))
        admin.dispose()

    atexit.register(drop)
    return postgres_schema_url(base, schema_name)


def _build(url: str) -> tuple[Any, dict[str, str]]:
    """The app over a seeded store at `url`, and a key per role."""
    store = IdentityStore.open(url, backend=fake_backend())
    atexit.register(store.close)
    store.load(pl.DataFrame([*SEED, MARIA_FL]))
    keys = {name: create_key(store, role, states).key
            for name, (role, states) in KEY_SPECS.items()}
    app = create_app(make_settings(max_batch_records=20, max_body_bytes=32 * 1024),
                     store=store)
    return app, keys


_FOLDER = Path(tempfile.mkdtemp(prefix="studentlink-fuzz-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
SQLITE_APP, SQLITE_KEYS = _build(f"sqlite:///{_FOLDER / 'fuzz.db'}")
sqlite_schema = from_asgi("/openapi.json", SQLITE_APP)
_PG_URL = _postgres_url()
POSTGRES_APP, POSTGRES_KEYS = _build(_PG_URL) if _PG_URL else (SQLITE_APP, SQLITE_KEYS)
postgres_schema = from_asgi("/openapi.json", POSTGRES_APP)
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large])


def _key(keys: dict[str, str], path: str) -> str:
    for prefix, who in KEY_FOR_PATH.items():
        if path.startswith(prefix):
            return keys[who]
    return keys["admin"]


@pytest.mark.slow
@sqlite_schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_sqlite(case: Any) -> None:
    case.call_and_validate(headers={"X-API-Key": _key(SQLITE_KEYS, case.path)}, checks=CHECKS)


@pytest.mark.slow
@pytest.mark.postgres
@postgres_schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_postgres(case: Any) -> None:
    if _PG_URL is None:
        pytest.skip(f"PostgreSQL fuzzing needs {POSTGRES_ENV}")
    case.call_and_validate(headers={"X-API-Key": _key(POSTGRES_KEYS, case.path)},
                           checks=CHECKS)
