"""Keys over HTTP (admin), the audit log (auditor, every call, no personal data), health."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from api.app import create_app
from matcher.store import IdentityStore
from tests.api.conftest import Api, make_settings
from tests.api.fakes import BIRTH_DATES, NAMES


def test_admin_creates_lists_and_revokes_keys(api: Api) -> None:
    created = api.post("/v1/keys", "admin", json={"role": "reviewer", "states": ["tx", "FL"]})
    assert created.status_code == 201
    body = created.json()
    assert body["role"] == "reviewer" and body["states"] == ["FL", "TX"]
    key = body["key"]
    assert api.client.get("/v1/near-matches", headers={"X-API-Key": key}).status_code == 200
    listed = api.get("/v1/keys", "admin").json()
    assert body["id"] in [k["id"] for k in listed["data"]]
    assert all("key" not in k for k in listed["data"])
    revoked = api.delete(f"/v1/keys/{body['id']}", "admin")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api.client.get("/v1/near-matches", headers={"X-API-Key": key}).status_code == 401
    assert body["id"] not in [k["id"] for k in api.get("/v1/keys", "admin").json()["data"]]
    everything = api.get("/v1/keys", "admin", params={"include_revoked": True}).json()
    assert body["id"] in [k["id"] for k in everything["data"]]
    missing = api.delete("/v1/keys/987654", "admin")
    assert (missing.status_code, missing.json()) == (404, {"detail": "API key not found"})


def test_admin_keys_never_wider_than_its_states(api: Api) -> None:
    wider = api.post("/v1/keys", "admin_tx", json={"role": "reviewer", "states": ["FL"]})
    assert (wider.status_code, wider.json()) == (
        403, {"detail": "an admin may only manage keys within its own states"})
    assert api.post("/v1/keys", "admin_tx", json={"role": "admin", "states": ["*"]}
                    ).status_code == 403
    ok = api.post("/v1/keys", "admin_tx", json={"role": "reviewer", "states": ["TX"]})
    assert ok.status_code == 201
    listed = api.get("/v1/keys", "admin_tx").json()["data"]
    assert all(k["states"] == ["TX"] for k in listed)
    everywhere = api.get("/v1/keys", "admin").json()["data"]
    other = next(k for k in everywhere if k["states"] == ["FL"])
    assert api.delete(f"/v1/keys/{other['id']}", "admin_tx").status_code == 403
    bad = api.post("/v1/keys", "admin", json={"role": "reviewer", "states": ["Texas"]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "states"]
    assert api.post("/v1/keys", "admin", json={"role": "boss", "states": ["TX"]}
                    ).status_code == 422


def test_every_call_is_audited_without_personal_data(seeded: Api) -> None:
    before = len(seeded.store.audit.entries(action="api_call", limit=100_000))
    calls = [
        seeded.get("/v1/records/TX-1", "exchange"),
        seeded.post("/v1/match", "exchange", json={"record": {
            "first_name": "Maria", "last_name_1": "Garcia", "birth_date": "2015-01-01"}}),
        seeded.get("/v1/near-matches", "reviewer_tx"),
        seeded.get("/v1/near-matches", None),
        seeded.get("/v1/audit", "exchange"),
        seeded.client.get("/v1/no-such-route"),
    ]
    seeded.flush_audit()
    rows = seeded.store.audit.entries(action="api_call", limit=100_000)
    assert len(rows) - before == len(calls)
    last = rows[-len(calls):]
    assert [r.detail["status"] for r in last] == [c.status_code for c in calls]
    assert last[0].target_id == "GET /v1/records/{record_id}"
    assert last[0].detail["path_params"] == {"record_id": "TX-1"}
    assert last[0].actor.startswith("key:") and last[0].detail["role"] == "exchange"
    assert last[3].actor == "anonymous"
    everything = json.dumps([r.__dict__ for r in seeded.store.audit.entries(limit=100_000)],
                            default=str)
    for secret in (*NAMES, *BIRTH_DATES, "2015-01-01"):
        assert secret not in everything, secret


def test_auditor_reads_the_log_in_pages(seeded: Api) -> None:
    seeded.flush_audit()
    first = seeded.get("/v1/audit", "auditor", params={"limit": 2}).json()
    assert first["count"] == 2 and first["next_cursor"] is not None
    second = seeded.get("/v1/audit", "auditor",
                        params={"after": first["next_cursor"], "limit": 2}).json()
    assert second["data"][0]["id"] > first["data"][-1]["id"]
    loads = seeded.get("/v1/audit", "auditor", params={"action": "load"}).json()["data"]
    assert loads and all(e["action"] == "load" for e in loads)


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_not_ready_without_a_model(store_url: str) -> None:
    bare = IdentityStore.open(store_url)
    try:
        with TestClient(create_app(make_settings(), store=bare)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["model"] is False and ready.json()["database"] is True
    finally:
        bare.close()


def test_openapi_schema_is_served(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    assert schema["info"]["title"] == "studentlink"
    assert {"/v1/records", "/v1/match", "/v1/near-matches/{near_match_id}/decision",
            "/v1/events", "/v1/counts", "/healthz", "/readyz"} <= set(schema["paths"])
    schemes = schema["components"]["securitySchemes"]
    assert {"APIKeyHeader", "HTTPBearer"} <= set(schemes)
