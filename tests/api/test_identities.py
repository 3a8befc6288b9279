"""GET /v1/identities/{id}: consolidated record with provenance, members, lineage; scopes."""

from __future__ import annotations

from tests.api.conftest import Api


def _identity_of(api: Api, record_id: str) -> str:
    return str(api.get(f"/v1/records/{record_id}", "exchange").json()["identity_id"])


def test_identity_with_provenance_members_and_history(seeded: Api) -> None:
    identity = _identity_of(seeded, "TX-1")
    response = seeded.get(f"/v1/identities/{identity}", "reviewer_tx")
    assert response.status_code == 200
    body = response.json()
    assert body["identity_id"] == identity and body["status"] == "active"
    assert body["states"] == ["FL", "TX"]
    assert body["record_ids"] == ["FL-1", "TX-1"]
    assert [r["record_id"] for r in body["records"]] == ["FL-1", "TX-1"]
    first = body["consolidated"]["first_name"]
    assert first["value"] == "Maria" and first["state"] in ("TX", "FL")
    assert first["record_id"] in ("TX-1", "FL-1") and first["date"]
    assert body["consolidated"]["enrollment_date"]["others"]
    kinds = [e["kind"] for e in body["history"]]
    assert "identity_created" in kinds and "student_moved" in kinds
    assert body["lineage"] == []


def test_tx_reviewer_cannot_read_an_fl_only_identity(seeded: Api) -> None:
    fl_only = _identity_of(seeded, "FL-2")
    response = seeded.get(f"/v1/identities/{fl_only}", "reviewer_tx")
    assert (response.status_code, response.json()) == (
        403, {"detail": "identity not visible to your states"})
    assert seeded.get(f"/v1/identities/{fl_only}", "reviewer_fl").status_code == 200
    assert seeded.get(f"/v1/identities/{fl_only}", "exchange").status_code == 200


def test_unknown_and_malformed_identity_ids(seeded: Api) -> None:
    missing = seeded.get("/v1/identities/000000000000", "exchange")
    assert (missing.status_code, missing.json()) == (404, {"detail": "identity not found"})
    assert seeded.get("/v1/identities/12345", "exchange").status_code == 422
    assert seeded.get("/v1/identities/abcdefghijkl", "exchange").status_code == 422


def test_identity_views_are_audited_by_actor(seeded: Api) -> None:
    identity = _identity_of(seeded, "TX-1")
    seeded.get(f"/v1/identities/{identity}", "reviewer_tx")
    views = seeded.store.audit.entries(action="identity_viewed", target_id=identity)
    assert views and views[-1].actor.startswith("key:")
