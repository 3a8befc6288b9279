"""Client mistakes are 4xx with field-level detail, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.fakes import MARIA_TX


def _post_records(api: Api, body: Any) -> Any:
    # Encoded by hand: json.dumps escapes lone surrogates, which httpx would refuse to send.
    return api.post("/v1/records", "exchange", content=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(("body", "loc"), [
    ({"records": [{**MARIA_TX, "nickname": "Mari"}]}, ["body", "records", 0, "nickname"]),
    ({"records": [MARIA_TX], "extra": 1}, ["body", "extra"]),
    ({"records": [{**MARIA_TX, "first_name": "M" * 257}]},
     ["body", "records", 0, "first_name"]),
    ({"records": [{**MARIA_TX, "first_name": 12}]}, ["body", "records", 0, "first_name"]),
    ({"records": [{**MARIA_TX, "first_name": "Ma\x00ria"}]},
     ["body", "records", 0, "first_name"]),
    ({"records": [{**MARIA_TX, "last_name_1": "Gar\ud800cia"}]},
     ["body", "records", 0, "last_name_1"]),
    ({"records": [{k: v for k, v in MARIA_TX.items() if k != "record_id"}]},
     ["body", "records", 0, "record_id"]),
    ({"records": [{**MARIA_TX, "record_id": ""}]}, ["body", "records", 0, "record_id"]),
    ({"records": []}, ["body", "records"]),
    ({"records": "TX-1"}, ["body", "records"]),
    ([], ["body"]),
])
def test_field_level_422(api: Api, body: Any, loc: list[Any]) -> None:
    response = _post_records(api, body)
    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["detail"]]
    assert all({"loc", "msg", "type"} <= set(e) for e in response.json()["detail"])
    assert all("input" not in e for e in response.json()["detail"])


def test_malformed_json_and_wrong_content_type(api: Api) -> None:
    headers = {**api.headers("exchange"), "Content-Type": "application/json"}
    broken = api.client.post("/v1/records", content=b'{"records": [', headers=headers)
    assert broken.status_code == 422
    plain = api.client.post("/v1/records", content=b"record_id,state",
                            headers={**api.headers("exchange"), "Content-Type": "text/csv"})
    assert plain.status_code == 422


def test_batch_and_body_limits(api: Api) -> None:
    batch = [{**MARIA_TX, "record_id": f"TX-{i}"} for i in range(51)]
    too_many = _post_records(api, {"records": batch})
    assert (too_many.status_code, too_many.json()) == (
        413, {"detail": "a batch may hold at most 50 records; got 51"})
    huge = {"records": [{**MARIA_TX, "record_id": f"TX-{i}", "birth_city": "x" * 250}
                        for i in range(300)]}
    too_big = _post_records(api, huge)
    assert (too_big.status_code, too_big.json()) == (
        413, {"detail": "request body exceeds 65536 bytes"})
    headers = {**api.headers("exchange"), "Content-Type": "application/json"}

    def chunks() -> Any:
        yield b'{"records": ['
        for i in range(300):
            yield json.dumps({**MARIA_TX, "record_id": f"S-{i}", "birth_city": "y" * 250}
                             ).encode() + b","
        yield json.dumps(MARIA_TX).encode() + b"]}"

    streamed = api.client.post("/v1/records", content=chunks(), headers=headers)
    assert streamed.status_code == 413


def test_bad_paths_and_queries_are_422_not_500(seeded: Api) -> None:
    assert seeded.get("/v1/near-matches/99999999999999999999", "reviewer_tx"
                      ).status_code == 422
    assert seeded.get("/v1/near-matches/-1", "reviewer_tx").status_code == 422
    assert seeded.get("/v1/near-matches", "reviewer_tx", params={"limit": 0}
                      ).status_code == 422
    assert seeded.get("/v1/near-matches", "reviewer_tx", params={"state": "T"}
                      ).status_code == 422
    assert seeded.get("/v1/records/%00", "exchange").status_code in (404, 422)
    assert seeded.get("/v1/events", "exchange", params={"after": 2**64}).status_code == 422
    assert seeded.get("/v1/audit", "auditor", params={"actor": "\x00"}).status_code == 422
