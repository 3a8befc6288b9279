"""API test fixtures: every test runs on a SQLite file and on PostgreSQL (when configured).

PostgreSQL comes from STUDENTLINK_TEST_POSTGRES_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test); each test gets a fresh schema, dropped
after. The store uses a small deterministic matching backend (`tests.api.fakes`), so outcomes
are exact; `test_real_model.py` covers the trained model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role, create_key
from api.settings import ApiSettings
from matcher.store import IdentityStore
from tests.api.fakes import MARIA_FL, SEED, fake_backend


@pytest.fixture
def store(store_url: str) -> Iterator[IdentityStore]:
    """An open store on the fake matching backend."""
    opened = IdentityStore.open(store_url, backend=fake_backend())
    try:
        yield opened
    finally:
        opened.close()


KEY_SPECS: dict[str, tuple[Role, str]] = {
    "exchange": (Role.EXCHANGE, "*"),
    "exchange_tx": (Role.EXCHANGE, "TX"),
    "exchange_txfl": (Role.EXCHANGE, "TX,FL"),
    "reviewer_tx": (Role.REVIEWER, "TX"),
    "reviewer_fl": (Role.REVIEWER, "FL"),
    "reviewer_txfl": (Role.REVIEWER, "TX,FL"),
    "admin": (Role.ADMIN, "*"),
    "admin2": (Role.ADMIN, "*"),
    "admin_tx": (Role.ADMIN, "TX"),
    "auditor": (Role.AUDITOR, "*"),
}


@dataclass
class Api:
    """A test client plus a key per role, and helpers that send a named key."""

    client: TestClient
    store: IdentityStore
    keys: dict[str, str]

    def headers(self, who: str | None, **extra: str) -> dict[str, str]:
        base = {"X-API-Key": self.keys[who]} if who else {}
        return {**base, **extra}

    def get(self, path: str, who: str | None, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.get(path, headers=headers, **kwargs)

    def post(self, path: str, who: str | None, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.post(path, headers=headers, **kwargs)

    def delete(self, path: str, who: str | None, **kwargs: Any) -> Any:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.delete(path, headers=headers, **kwargs)

    def upload(self, records: list[dict[str, Any]], who: str = "exchange",
               **kwargs: Any) -> dict[str, Any]:
        response = self.post("/v1/records", who, json={"records": records}, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def flush_audit(self) -> None:
        self.client.app.state.audit_sink.flush()  # type: ignore[attr-defined]


def make_settings(**overrides: Any) -> ApiSettings:
    """Test settings: audit rows written at once, no background index build."""
    values: dict[str, Any] = {"audit_flush_seconds": 0, "warm_index": False, **overrides}
    return ApiSettings(**values)


@pytest.fixture
def api_settings() -> ApiSettings:
    return make_settings(max_batch_records=50, max_body_bytes=64 * 1024)


@pytest.fixture
def api(store: IdentityStore, api_settings: ApiSettings) -> Iterator[Api]:
    """A client over an empty store with one key per role in KEY_SPECS."""
    keys = {name: create_key(store, role, states).key for name, (role, states)
            in KEY_SPECS.items()}
    app = create_app(api_settings, store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client=client, store=store, keys=keys)


@pytest.fixture
def seeded(api: Api) -> Api:
    """The scenario in `tests.api.fakes`: SEED, then Maria's FL record (a move)."""
    api.upload(SEED)
    api.upload([MARIA_FL])
    return api
