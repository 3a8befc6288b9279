"""`studentlink keys`, `serve` and `demo` (the README's first quick-start command)."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.auth import authenticate
from matcher.cli import app as cli
from matcher.store import IdentityStore
from tests.api.conftest import make_settings

runner = CliRunner()


def test_keys_create_prints_the_key_once(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'keys.db'}"
    created = runner.invoke(cli, ["keys", "create", "--role", "reviewer", "--states", "TX,FL",
                                  "--store", store])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("sl_") and "\n" not in key
    with IdentityStore.open(store) as opened:
        principal = authenticate(opened, key)
    assert (principal.role.value, principal.states) == ("reviewer", ("FL", "TX"))
    listed = runner.invoke(cli, ["keys", "list", "--store", store])
    assert listed.exit_code == 0 and "reviewer\tFL,TX" in listed.stdout
    assert key not in listed.stdout
    revoked = runner.invoke(cli, ["keys", "revoke", str(principal.key_id), "--store", store])
    assert revoked.exit_code == 0
    assert runner.invoke(cli, ["keys", "list", "--store", store]).stdout.strip() == ""
    assert "revoked" not in runner.invoke(cli, ["keys", "list", "--all", "--store", store]
                                          ).stdout.split("\t")[-1]


@pytest.mark.parametrize("args", [["--role", "boss", "--states", "TX"],
                                  ["--role", "reviewer", "--states", "Texas"],
                                  ["--role", "reviewer", "--states", ""]])
def test_keys_create_refuses_bad_roles_and_states(tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(cli, ["keys", "create", *args, "--store",
                                 f"sqlite:///{tmp_path / 'k.db'}"])
    assert result.exit_code == 2
    assert "error:" in result.stderr


def test_revoking_an_unknown_key_fails(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["keys", "revoke", "42", "--store",
                                 f"sqlite:///{tmp_path / 'k.db'}"])
    assert result.exit_code == 1 and "'key_id' must name a key; got 42" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_demo_loads_data_prints_keys_and_the_api_serves_it(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    result = runner.invoke(cli, ["demo", "--store", store, "--records", "300", "--no-serve"])
    assert result.exit_code == 0, result.output
    keys = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines()
            if line.strip().startswith(("admin", "reviewer", "exchange"))}
    assert set(keys) == {"admin", "reviewer", "exchange"}
    assert all(k.startswith("sl_") for k in keys.values())
    assert "/review" in result.stdout and "/docs" in result.stdout
    with IdentityStore.open(store) as opened:
        assert len(opened.identities.assignments()) == 300
        app = create_app(make_settings(), store=opened)
        with TestClient(app) as client:
            record_id = opened.identities.assignments()["record_id"][0]
            identity = opened.identities.of_record(record_id)
            member = opened.identities.members(identity).filter(
                pl.col("record_id") == record_id)
            probe = {k: v for k, v in member.row(0, named=True).items()
                     if v is not None and k != "record_id"}
            body = client.post("/v1/match", json={"record": probe},
                               headers={"X-API-Key": keys["exchange"]}).json()
            assert body["count"] >= 1
            best = body["data"][0]
            assert best["identity_id"] == identity and best["record_id"] == record_id
            assert {"first_name", "birth_date", "surname"} <= set(best["contributions"])
            queue = client.get("/v1/near-matches", headers={"X-API-Key": keys["reviewer"]})
            assert queue.status_code == 200
    again = runner.invoke(cli, ["demo", "--store", store, "--records", "300", "--no-serve"])
    assert again.exit_code == 0 and "300 unchanged" in again.stderr
    # Thresholds from the settings override the store's (the app opens the store itself).
    tuned = create_app(make_settings(store_url=store, upper_threshold=0.999,
                                     lower_threshold=0.2))
    with TestClient(tuned) as client:
        body = client.post("/v1/match", json={"record": probe},
                           headers={"X-API-Key": keys["exchange"]}).json()
        assert body["thresholds"] == {"upper": 0.999, "lower": 0.2}


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import ApiSettings

    monkeypatch.setenv("STUDENTLINK_STORE", "sqlite:///elsewhere.db")
    monkeypatch.setenv("STUDENTLINK_MAX_BATCH_RECORDS", "25")
    settings = ApiSettings()
    assert (settings.store_url, settings.max_batch_records) == ("sqlite:///elsewhere.db", 25)
    monkeypatch.setenv("STUDENTLINK_STORE_URL", "postgresql+psycopg://db/x")
    assert ApiSettings().store_url == "postgresql+psycopg://db/x"
    monkeypatch.setenv("STUDENTLINK_MAX_BATCH_RECORDS", "100000")
    with pytest.raises(ValueError, match="max_batch_records"):
        ApiSettings()


@pytest.mark.slow
def test_serve_answers_on_localhost(tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "matcher.cli", "serve", "--store",
         f"sqlite:///{tmp_path / 'serve.db'}", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})
                conn.request("GET", "/readyz")
                ready = conn.getresponse()
                assert ready.status == 503 and json.loads(ready.read())["model"] is False
                conn.request("GET", "/v1/near-matches")
                assert conn.getresponse().status == 401
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.5)
            finally:
                conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
