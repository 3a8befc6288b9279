"""Merges and splits over HTTP: two-person rule, pending lists, scopes, lineage."""

from __future__ import annotations

from tests.api.conftest import Api


def _identity(api: Api, record_id: str) -> str:
    return str(api.get(f"/v1/records/{record_id}", "exchange").json()["identity_id"])


def test_merge_needs_a_second_admin(seeded: Api) -> None:
    ids = [_identity(seeded, "TX-2"), _identity(seeded, "FL-3")]
    created = seeded.post("/v1/merges", "admin", json={"identity_ids": ids, "note": "same"})
    assert created.status_code == 201, created.text
    change = created.json()
    assert change["kind"] == "merge" and change["status"] == "pending"
    assert change["initiated_by"].startswith("key:")
    pending = seeded.get("/v1/changes", "admin").json()
    assert [c["id"] for c in pending["data"]] == [change["id"]] and pending["count"] == 1
    assert seeded.get("/v1/changes", "admin", params={"kind": "split"}).json()["count"] == 0
    own = seeded.post(f"/v1/changes/{change['id']}/validate", "admin")
    assert own.status_code == 409 and "two-person rule" in own.json()["detail"]
    assert own.json()["current"]["status"] == "pending"
    done = seeded.post(f"/v1/changes/{change['id']}/validate", "admin2",
                       json={"note": "checked"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "approved"
    survivor = done.json()["result"]["identity_id"]
    assert _identity(seeded, "TX-2") == _identity(seeded, "FL-3") == survivor
    merged = next(i for i in ids if i != survivor)
    old = seeded.get(f"/v1/identities/{merged}", "admin").json()
    assert old["status"] == "merged" and old["merged_into"] == survivor
    assert {(x["identity_id"], x["relation"], x["related_id"]) for x in old["lineage"]} == {
        (merged, "merged_into", survivor)}
    again = seeded.post(f"/v1/changes/{change['id']}/reject", "admin2")
    assert again.status_code == 409
    assert seeded.get("/v1/changes", "admin", params={"status": "all"}).json()["count"] == 1


def test_split_and_reject(seeded: Api) -> None:
    maria = _identity(seeded, "TX-1")
    created = seeded.post("/v1/splits", "admin",
                          json={"identity_id": maria, "record_ids": ["FL-1"]})
    assert created.status_code == 201, created.text
    change_id = created.json()["id"]
    assert seeded.get(f"/v1/changes/{change_id}", "admin").json()["record_ids"] == ["FL-1"]
    withdrawn = seeded.post(f"/v1/changes/{change_id}/reject", "admin")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    created = seeded.post("/v1/splits", "admin",
                          json={"identity_id": maria, "record_ids": ["FL-1"]})
    done = seeded.post(f"/v1/changes/{created.json()['id']}/validate", "admin2")
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert _identity(seeded, "TX-1") == maria
    assert _identity(seeded, "FL-1") != maria
    assert done.json()["result"]["new_identity_ids"] == [_identity(seeded, "FL-1")]


def test_admin_scope_and_bad_requests(seeded: Api) -> None:
    fl_only = [_identity(seeded, "FL-4"), _identity(seeded, "FL-5")]
    denied = seeded.post("/v1/merges", "admin_tx", json={"identity_ids": fl_only})
    assert (denied.status_code, denied.json()) == (
        403, {"detail": "identity not visible to your states"})
    created = seeded.post("/v1/merges", "admin", json={"identity_ids": fl_only}).json()
    assert seeded.get("/v1/changes", "admin_tx").json()["count"] == 0
    hidden = seeded.get(f"/v1/changes/{created['id']}", "admin_tx")
    assert (hidden.status_code, hidden.json()) == (
        403, {"detail": "merge or split not visible to your states"})
    locked = seeded.post("/v1/merges", "admin2", json={"identity_ids": fl_only})
    assert locked.status_code == 409
    missing = seeded.post("/v1/merges", "admin",
                          json={"identity_ids": [fl_only[0], "999999999999"]})
    assert (missing.status_code, missing.json()) == (404, {"detail": "identity not found"})
    one = seeded.post("/v1/merges", "admin", json={"identity_ids": [fl_only[0]]})
    assert one.status_code == 422
    same = seeded.post("/v1/merges", "admin", json={"identity_ids": [fl_only[0]] * 2})
    assert same.status_code == 422
    stranger = seeded.post("/v1/splits", "admin",
                           json={"identity_id": _identity(seeded, "TX-1"),
                                 "record_ids": ["FL-4"]})
    assert stranger.status_code == 422
    nothing = seeded.get("/v1/changes/424242", "admin")
    assert (nothing.status_code, nothing.json()) == (404, {"detail": "merge or split not found"})
