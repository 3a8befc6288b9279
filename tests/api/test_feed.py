"""GET /v1/events (the change feed with student moves) and GET /v1/counts."""

from __future__ import annotations

from tests.api.conftest import Api


def test_student_moved_event_goes_to_the_earlier_state(seeded: Api) -> None:
    tx = seeded.get("/v1/events", "exchange_tx").json()
    moves = [e for e in tx["data"] if e["kind"] == "student_moved"]
    assert len(moves) == 1
    assert moves[0]["payload"]["from_states"] == ["TX"]
    assert moves[0]["payload"]["to_states"] == ["FL"]
    assert all("TX" in e["states"] for e in tx["data"])
    assert tx["cursor"] == tx["data"][-1]["seq"]
    after = seeded.get("/v1/events", "exchange_tx", params={"after": tx["cursor"]}).json()
    assert after == {"data": [], "count": 0, "cursor": tx["cursor"]}


def test_event_scopes_filters_and_pages(seeded: Api) -> None:
    everything = seeded.get("/v1/events", "exchange").json()["data"]
    both = seeded.get("/v1/events", "exchange_txfl").json()["data"]
    assert [e["seq"] for e in both] == sorted(e["seq"] for e in everything
                                              if {"TX", "FL"} & set(e["states"]))
    fl = seeded.get("/v1/events", "exchange_txfl", params={"state": "fl"}).json()["data"]
    assert fl and all("FL" in e["states"] for e in fl)
    denied = seeded.get("/v1/events", "exchange_tx", params={"state": "FL"})
    assert (denied.status_code, denied.json()) == (
        403, {"detail": "state 'FL' is not one of your states"})
    kinds = seeded.get("/v1/events", "admin",
                       params={"kind": ["student_moved", "record_linked"]}).json()["data"]
    assert {e["kind"] for e in kinds} == {"student_moved", "record_linked"}
    seqs, cursor = [], 0
    while True:
        page = seeded.get("/v1/events", "exchange_txfl",
                          params={"after": cursor, "limit": 3}).json()
        if not page["data"]:
            break
        seqs += [e["seq"] for e in page["data"]]
        cursor = page["cursor"]
    assert seqs == [e["seq"] for e in both]
    assert seeded.get("/v1/events", "exchange", params={"after": -1}).status_code == 422
    assert seeded.get("/v1/events", "exchange", params={"kind": "nope"}).status_code == 422


def test_counts(seeded: Api) -> None:
    everything = seeded.get("/v1/counts", "exchange", params={"period": "2023-24"})
    assert everything.status_code == 200
    body = everything.json()
    assert body["period"] == "2023-24"
    assert (body["start"], body["end"]) == ("2023-09-01", "2024-08-31")
    assert body["by_state"] == {"FL": 5, "TX": 4}
    assert body["national"] == 8
    tx = seeded.get("/v1/counts", "reviewer_tx", params={"period": "2023-2024"}).json()
    assert tx["by_state"] == {"TX": 4} and tx["national"] == 8
    one = seeded.get("/v1/counts", "auditor", params={"period": "2023-24", "state": "ca"})
    assert one.json()["by_state"] == {"CA": 0}
    denied = seeded.get("/v1/counts", "reviewer_tx", params={"period": "2023-24",
                                                             "state": "FL"})
    assert denied.status_code == 403
    bad = seeded.get("/v1/counts", "exchange", params={"period": "2023"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "period"]
    assert seeded.get("/v1/counts", "exchange").status_code == 422
