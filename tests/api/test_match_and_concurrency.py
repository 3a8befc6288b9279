"""POST /v1/match (no writes, contributions), and concurrent uploads never duplicating."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from matcher.store import db
from matcher.store.models import Record
from tests.api.conftest import Api
from tests.api.fakes import ANA_TX, MARIA_FL, MARIA_TX, rec


def _probe(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "record_id"}


def test_match_scores_without_writing(seeded: Api) -> None:
    cursor = seeded.store.events.latest_cursor()
    response = seeded.post("/v1/match", "exchange", json={"record": _probe(MARIA_TX)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["thresholds"] == {"upper": 0.99, "lower": 0.5}
    assert body["count"] == 1
    best = body["data"][0]
    maria = seeded.get("/v1/records/TX-1", "exchange").json()["identity_id"]
    assert best["identity_id"] == maria and best["band"] == "link"
    assert best["record_id"] in ("TX-1", "FL-1")
    assert best["match_probability"] == 0.9999
    assert best["contributions"] == {"first_name": 1.0, "last_name_1": 1.0, "birth_date": 1.0,
                                     "sex": 1.0, "parent1_first_name": 1.0}
    assert seeded.store.events.latest_cursor() == cursor
    ana = {**_probe(ANA_TX), "sex": "X", "parent1_first_name": "Nora"}
    near = seeded.post("/v1/match", "exchange", json={"record": ana}).json()
    assert near["count"] == 2 and {c["band"] for c in near["data"]} == {"review"}
    assert {c["record_id"] for c in near["data"]} == {"TX-2", "FL-3"}
    one = seeded.post("/v1/match", "exchange", json={"record": ana, "limit": 1}).json()
    assert one["count"] == 1
    with db.read_session(seeded.store.engine) as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 9


def test_a_stored_record_is_not_its_own_match(seeded: Api) -> None:
    body = seeded.post("/v1/match", "exchange", json={"record": MARIA_FL}).json()
    assert [c["record_id"] for c in body["data"]] == ["TX-1"]


def test_match_rejects_an_invalid_record(seeded: Api) -> None:
    response = seeded.post("/v1/match", "exchange",
                           json={"record": {"first_name": "Maria", "birth_date": "2015-02-30"}})
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["detail"]]
    assert ["body", "record", "birth_date"] in locs
    assert ["body", "record", "last_name_1"] in locs
    assert seeded.post("/v1/match", "exchange", json={"record": {}, "limit": 0}
                       ).status_code == 422


def test_concurrent_matches_each_get_their_own_answer(seeded: Api) -> None:
    probes = [(_probe(MARIA_TX), "TX-1"), (_probe(ANA_TX), "TX-2")] * 12

    def one(probe: tuple[dict[str, Any], str]) -> str:
        body = seeded.post("/v1/match", "exchange", json={"record": probe[0]}).json()
        return str(body["data"][0]["identity_id"])

    probes = [(p, seeded.get(f"/v1/records/{r}", "exchange").json()["identity_id"])
              for p, r in probes]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, probes))
    assert answers == [expected for _, expected in probes]


def test_concurrent_overlapping_uploads_never_duplicate_identities(api: Api) -> None:
    children = [rec(f"{state}-{i}", state, f"Kid{i}", f"Fam{i}", f"2010-01-{i + 1:02d}")
                for i in range(12) for state in ("TX", "FL", "CA")]
    batches = [children[k::4] + children[:6] for k in range(4)] * 2
    barrier = threading.Barrier(len(batches))
    failures: list[str] = []

    def send(batch: list[dict[str, Any]]) -> None:
        barrier.wait()
        response = api.post("/v1/records", "exchange", json={"records": batch})
        if response.status_code != 200:
            failures.append(response.text)

    threads = [threading.Thread(target=send, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    identity = {r["record_id"]: api.get(f"/v1/records/{r['record_id']}", "exchange"
                                        ).json()["identity_id"] for r in children}
    for i in range(12):
        assert len({identity[f"{s}-{i}"] for s in ("TX", "FL", "CA")}) == 1
    assert len(set(identity.values())) == 12
