"""The near-match queue: state routing, filters, cursor pages, decisions and the 409 race."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from matcher.store import IdentityStore
from tests.api.conftest import Api, make_settings
from tests.api.fakes import fake_backend


def _items(api: Api, who: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/v1/near-matches", who, params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _pairs(items: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(i["record_id_l"], i["record_id_r"]) for i in items}


def test_queue_is_routed_to_the_states_involved(seeded: Api) -> None:
    ana, luis, twins = ("FL-3", "TX-2"), ("FL-4", "FL-5"), ("TX-3", "TX-4")
    assert _pairs(_items(seeded, "reviewer_tx")) == {ana, twins}
    assert _pairs(_items(seeded, "reviewer_fl")) == {ana, luis}
    assert _pairs(_items(seeded, "reviewer_txfl")) == {ana, luis, twins}
    assert _pairs(_items(seeded, "reviewer_txfl", state="fl")) == {ana, luis}
    assert _pairs(_items(seeded, "admin")) == {ana, luis, twins}
    denied = seeded.get("/v1/near-matches", "reviewer_tx", params={"state": "FL"})
    assert (denied.status_code, denied.json()) == (
        403, {"detail": "state 'FL' is not one of your states"})


def test_filters_and_cursor_pages(seeded: Api) -> None:
    twins = _items(seeded, "reviewer_txfl", possible_multiple_birth=True)
    assert _pairs(twins) == {("TX-3", "TX-4")}
    assert twins[0]["possible_multiple_birth"] is True
    assert len(_items(seeded, "reviewer_txfl", possible_multiple_birth=False)) == 2
    assert _items(seeded, "reviewer_txfl", status="resolved") == []
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = seeded.get("/v1/near-matches", "reviewer_txfl", params=params).json()
        assert page["count"] == 3
        seen += [i["id"] for i in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(set(seen)) == 3
    bad = seeded.get("/v1/near-matches", "reviewer_txfl", params={"cursor": "abc"})
    assert bad.status_code == 422


def test_read_one_with_both_records(seeded: Api) -> None:
    item = _items(seeded, "reviewer_tx", possible_multiple_birth=False)[0]
    response = seeded.get(f"/v1/near-matches/{item['id']}", "reviewer_tx")
    assert response.status_code == 200
    body = response.json()
    assert response.headers["etag"] == body["etag"] == item["etag"]
    assert body["record_l"]["record_id"] == "FL-3" and body["record_r"]["record_id"] == "TX-2"
    assert set(body["contributions"]) == {"first_name", "last_name_1", "birth_date", "sex",
                                          "parent1_first_name"}
    luis = _items(seeded, "reviewer_fl", state="FL")
    fl_only = next(i for i in luis if i["state_l"] == i["state_r"] == "FL")
    hidden = seeded.get(f"/v1/near-matches/{fl_only['id']}", "reviewer_tx")
    assert (hidden.status_code, hidden.json()) == (
        403, {"detail": "near match not visible to your states"})
    missing = seeded.get("/v1/near-matches/999999", "reviewer_tx")
    assert (missing.status_code, missing.json()) == (404, {"detail": "near match not found"})
    hidden_post = seeded.post(f"/v1/near-matches/{fl_only['id']}/decision", "reviewer_tx",
                              json={"decision": "match"})
    assert hidden_post.status_code == 403


def test_match_decision_links_the_identities(seeded: Api) -> None:
    item = _items(seeded, "reviewer_tx", possible_multiple_birth=False)[0]
    response = seeded.post(f"/v1/near-matches/{item['id']}/decision", "reviewer_tx",
                           json={"decision": "match", "note": "same child"},
                           headers={"If-Match": item["etag"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["near_match"]["status"] == "resolved"
    assert body["near_match"]["decision"] == "match"
    assert body["near_match"]["etag"] != item["etag"]
    assert body["judgement"]["decision"] == "match" and body["judgement"]["active"]
    assert body["judgement"]["actor"].startswith("key:")
    left = seeded.get("/v1/records/FL-3", "exchange").json()["identity_id"]
    right = seeded.get("/v1/records/TX-2", "exchange").json()["identity_id"]
    assert left == right
    again = seeded.post(f"/v1/near-matches/{item['id']}/decision", "reviewer_tx",
                        json={"decision": "non_match"})
    assert again.status_code == 409
    assert again.json()["detail"] == "near match is no longer open for decisions"
    assert again.json()["current"]["decision"] == "match"


def test_unsure_parks_the_item_and_a_stale_etag_is_409(seeded: Api) -> None:
    item = _items(seeded, "reviewer_tx", possible_multiple_birth=True)[0]
    path = f"/v1/near-matches/{item['id']}/decision"
    first = seeded.post(path, "reviewer_tx", json={"decision": "unsure"},
                        headers={"If-Match": item["etag"]})
    assert first.status_code == 200 and first.json()["near_match"]["status"] == "unsure"
    stale = seeded.post(path, "reviewer_tx", json={"decision": "non_match"},
                        headers={"If-Match": item["etag"]})
    assert stale.status_code == 409
    assert stale.json()["detail"] == "near match changed since you read it"
    assert stale.json()["current"]["status"] == "unsure"
    fresh = seeded.post(path, "reviewer_tx", json={"decision": "non_match"},
                        headers={"If-Match": stale.json()["current"]["etag"]})
    assert fresh.status_code == 200
    assert fresh.json()["near_match"]["decision"] == "non_match"


def test_two_reviewers_race_one_wins_the_other_gets_409(seeded: Api) -> None:
    item = _items(seeded, "reviewer_tx", possible_multiple_birth=False)[0]
    path = f"/v1/near-matches/{item['id']}/decision"
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def decide(slot: int, who: str, decision: str) -> None:
        barrier.wait()
        results[slot] = seeded.post(path, who, json={"decision": decision},
                                    headers={"If-Match": item["etag"]})

    threads = [threading.Thread(target=decide, args=(0, "reviewer_tx", "match")),
               threading.Thread(target=decide, args=(1, "reviewer_txfl", "non_match"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409]
    winner = next(r for r in results if r.status_code == 200).json()
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["detail"] in ("near match changed since you read it",
                               "near match is no longer open for decisions")
    assert loser["current"]["decision"] == winner["near_match"]["decision"]
    judgements = seeded.store.reviews.judgements()
    assert len(judgements) == 1


def test_decision_on_a_record_locked_by_a_merge_is_a_conflict(seeded: Api) -> None:
    item = _items(seeded, "reviewer_tx", possible_multiple_birth=False)[0]
    link = seeded.post("/v1/merges", "admin", json={"identity_ids": [
        seeded.get(f"/v1/records/{r}", "exchange").json()["identity_id"]
        for r in (item["record_id_l"], item["record_id_r"])]})
    assert link.status_code == 201
    locked = seeded.post(f"/v1/near-matches/{item['id']}/decision", "reviewer_tx",
                         json={"decision": "match"})
    assert locked.status_code == 409
    assert "locked by a pending merge or split" in locked.json()["detail"]
    assert locked.json()["current"]["id"] == item["id"]


def test_bad_decisions(seeded: Api) -> None:
    item = _items(seeded, "reviewer_tx")[0]
    path = f"/v1/near-matches/{item['id']}/decision"
    assert seeded.post(path, "reviewer_tx", json={"decision": "maybe"}).status_code == 422
    assert seeded.post(path, "reviewer_tx", json={"decision": "match", "x": 1}
                       ).status_code == 422
    assert seeded.post(path, "reviewer_tx", json={"decision": "match", "note": "n" * 2001}
                       ).status_code == 422
    assert seeded.post("/v1/near-matches/0/decision", "reviewer_tx",
                       json={"decision": "match"}).status_code == 422


def test_race_across_two_servers_on_one_database(seeded: Api, store_url: str) -> None:
    """Two API processes (two stores, two apps): the store's compare-and-set picks one."""
    item = _items(seeded, "reviewer_tx", possible_multiple_birth=False)[0]
    path = f"/v1/near-matches/{item['id']}/decision"
    other_store = IdentityStore.open(store_url, backend=fake_backend())
    try:
        with TestClient(create_app(make_settings(), store=other_store)) as other:
            barrier = threading.Barrier(2)
            results: list[Any] = [None, None]

            def decide(slot: int, client: TestClient, decision: str) -> None:
                barrier.wait()
                results[slot] = client.post(
                    path, json={"decision": decision},
                    headers={"X-API-Key": seeded.keys["reviewer_tx"], "If-Match": item["etag"]})

            threads = [threading.Thread(target=decide, args=(0, seeded.client, "match")),
                       threading.Thread(target=decide, args=(1, other, "non_match"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        other_store.close()
    assert sorted(r.status_code for r in results) == [200, 409]
    winner = next(r for r in results if r.status_code == 200).json()
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["current"]["decision"] == winner["near_match"]["decision"]
    assert len(seeded.store.reviews.judgements()) == 1
