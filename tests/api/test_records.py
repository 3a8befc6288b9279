"""POST /v1/records (per-row outcomes, idempotency) and GET /v1/records/{id}."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from matcher.store import db
from matcher.store.models import Identity, Record
from tests.api.conftest import Api, make_settings
from tests.api.fakes import ANA_FL, ANA_TX, JOSE_FL, MARIA_FL, MARIA_TX, SEED, rec


def _counts(api: Api) -> tuple[int, int, int]:
    with db.read_session(api.store.engine) as session:
        records = session.scalar(select(func.count()).select_from(Record))
        identities = session.scalar(select(func.count()).select_from(Identity))
    return int(records or 0), int(identities or 0), api.store.events.latest_cursor()


def test_per_row_outcomes(api: Api) -> None:
    bad = rec("TX-9", "TX", "Rosa", "", "2020-13-45", first_name="R" * 61)
    body = api.upload([MARIA_TX, ANA_TX, ANA_FL, bad])
    by_id = {r["record_id"]: r for r in body["data"]}
    assert [r["row"] for r in body["data"]] == [1, 2, 3, 4]
    assert by_id["TX-1"]["outcome"] == "new_identity"
    assert by_id["TX-1"]["change"] == "new"
    assert len(by_id["TX-1"]["identity_id"]) == 12
    assert by_id["TX-2"]["outcome"] == "near_match_queued"
    assert by_id["FL-3"]["outcome"] == "near_match_queued"
    assert by_id["TX-2"]["near_match_ids"] == by_id["FL-3"]["near_match_ids"] != []
    assert by_id["TX-2"]["identity_id"] != by_id["FL-3"]["identity_id"]
    rejected = by_id["TX-9"]
    assert rejected["outcome"] == "rejected"
    assert rejected["identity_id"] is None and rejected["change"] is None
    fields = sorted(e["field"] for e in rejected["errors"])
    assert fields == ["birth_date", "first_name", "last_name_1"]
    reasons = {e["field"]: e["reason"] for e in rejected["errors"]}
    assert reasons["first_name"] == "'first_name' must be at most 60 characters; got 61 characters"
    assert reasons["last_name_1"] == "'last_name_1' is required; got nothing"
    assert body["summary"] == {"new": 3, "updated": 0, "unchanged": 0, "rejected": 1,
                               "linked": 0, "new_identity": 1, "near_match_queued": 2}
    assert body["count"] == 4

    linked = api.upload([MARIA_FL])["data"][0]
    assert linked["outcome"] == "linked"
    assert linked["identity_id"] == by_id["TX-1"]["identity_id"]


def test_same_batch_twice_changes_nothing(api: Api) -> None:
    first = api.upload(SEED)
    before = _counts(api)
    second = api.upload(SEED)
    assert _counts(api) == before
    assert [r["change"] for r in second["data"]] == ["unchanged"] * len(SEED)
    assert ([(r["record_id"], r["identity_id"], r["outcome"]) for r in second["data"]]
            == [(r["record_id"], r["identity_id"], r["outcome"]) for r in first["data"]])


def test_resent_record_with_new_data_is_an_update(api: Api) -> None:
    api.upload([JOSE_FL])
    body = api.upload([{**JOSE_FL, "grade": "05"}])
    assert body["data"][0]["change"] == "updated"
    record = api.get("/v1/records/FL-2", "exchange").json()
    assert record["grade"] == "05" and record["version"] == 2


def test_repeated_record_id_in_a_batch_is_rejected(api: Api) -> None:
    body = api.upload([MARIA_TX, {**MARIA_TX, "grade": "03"}])
    assert [r["outcome"] for r in body["data"]] == ["new_identity", "rejected"]
    assert body["data"][1]["errors"] == [{
        "field": "record_id",
        "reason": "'record_id' must be unique within a batch; got 'TX-1' again"}]


def test_exchange_key_uploads_only_its_states(api: Api) -> None:
    body = api.upload([MARIA_TX, JOSE_FL], who="exchange_tx")
    assert [r["outcome"] for r in body["data"]] == ["new_identity", "rejected"]
    assert body["data"][1]["errors"] == [{
        "field": "state", "reason": "'state' must be one of your key's states (TX); got 'FL'"}]


def test_idempotency_key_replays_the_first_response(api: Api) -> None:
    headers = {"Idempotency-Key": "batch-0001"}
    first = api.post("/v1/records", "exchange", json={"records": SEED}, headers=headers)
    assert first.status_code == 200 and first.headers["idempotent-replayed"] == "false"
    before = _counts(api)
    again = api.post("/v1/records", "exchange", json={"records": SEED}, headers=headers)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert _counts(api) == before
    other = api.post("/v1/records", "exchange", json={"records": SEED[:2]}, headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert other.json()["detail"][0]["msg"] == "was already used with a different request body"
    # Keys are per API key: another client may use the same string.
    mine = api.post("/v1/records", "exchange_txfl", json={"records": SEED[:2]},
                    headers=headers)
    assert mine.status_code == 200 and mine.headers["idempotent-replayed"] == "false"


def test_idempotency_key_survives_a_restart(api: Api) -> None:
    headers = {"Idempotency-Key": "batch-0002"}
    first = api.post("/v1/records", "exchange", json={"records": [MARIA_TX]}, headers=headers)
    assert first.status_code == 200
    app = create_app(make_settings(), store=api.store)
    with TestClient(app) as fresh:
        key = {"X-API-Key": api.keys["exchange"], **headers}
        again = fresh.post("/v1/records", headers=key, json={"records": [MARIA_TX]})
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert again.json()["data"][0]["identity_id"] == first.json()["data"][0]["identity_id"]
        other = fresh.post("/v1/records", headers=key, json={"records": [JOSE_FL]})
        assert other.status_code == 422


def test_get_record(seeded: Api) -> None:
    response = seeded.get("/v1/records/TX-1", "reviewer_tx")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert {k: body[k] for k in MARIA_TX} == MARIA_TX
    assert body["version"] == 1 and len(body["identity_id"]) == 12
    # FL-1 is Maria's FL record: her identity involves TX, so a TX reviewer sees it.
    assert seeded.get("/v1/records/FL-1", "reviewer_tx").status_code == 200
    hidden = seeded.get("/v1/records/FL-2", "reviewer_tx")
    assert (hidden.status_code, hidden.json()) == (
        403, {"detail": "record not visible to your states"})
    missing = seeded.get("/v1/records/NOPE-1", "exchange")
    assert (missing.status_code, missing.json()) == (404, {"detail": "record not found"})


def test_writes_answer_503_once_the_store_has_a_newer_model(api: Api, store_url: str) -> None:
    from matcher.store import IdentityStore
    from matcher.store.store import META_MODEL_GENERATION

    api.upload([MARIA_TX])
    with IdentityStore.open(store_url) as other:  # what `studentlink rebuild` leaves behind
        other.set_meta({META_MODEL_GENERATION: "1"})
    response = api.post("/v1/records", "exchange", json={"records": [ANA_TX]})
    assert response.status_code == 503
    assert "rebuilt with a new model" in response.json()["detail"]
    assert api.get("/v1/records/TX-1", "exchange").status_code == 200  # reads still answer
