"""Keys, roles and state scopes: 401 and 403 with stable details on every endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from api.auth import (
    INVALID_KEY,
    MISSING_KEY,
    PERMISSIONS,
    Action,
    AuthError,
    Principal,
    Role,
    authenticate,
    create_key,
    hash_key,
    list_keys,
    parse_states,
    revoke_key,
)
from matcher.store import IdentityStore, db
from matcher.store.models import ApiKey
from tests.api.conftest import Api

ENDPOINTS: list[tuple[str, str, Action, dict[str, Any]]] = [
    ("POST", "/v1/records", Action.UPLOAD_RECORDS,
     {"json": {"records": [{"record_id": "X-1", "state": "TX", "first_name": "A",
                            "last_name_1": "B"}]}}),
    ("GET", "/v1/records/TX-1", Action.READ_RECORDS, {}),
    ("POST", "/v1/match", Action.MATCH_RECORDS, {"json": {"record": {"first_name": "A"}}}),
    ("GET", "/v1/identities/000000000001", Action.READ_IDENTITIES, {}),
    ("GET", "/v1/near-matches", Action.READ_NEAR_MATCHES, {}),
    ("GET", "/v1/near-matches/1", Action.READ_NEAR_MATCHES, {}),
    ("POST", "/v1/near-matches/1/decision", Action.DECIDE_NEAR_MATCHES,
     {"json": {"decision": "match"}}),
    ("POST", "/v1/merges", Action.CHANGE_IDENTITIES,
     {"json": {"identity_ids": ["000000000001", "000000000002"]}}),
    ("POST", "/v1/splits", Action.CHANGE_IDENTITIES,
     {"json": {"identity_id": "000000000001", "record_ids": ["TX-1"]}}),
    ("GET", "/v1/changes", Action.READ_CHANGES, {}),
    ("GET", "/v1/changes/1", Action.READ_CHANGES, {}),
    ("POST", "/v1/changes/1/validate", Action.CHANGE_IDENTITIES, {}),
    ("POST", "/v1/changes/1/reject", Action.CHANGE_IDENTITIES, {}),
    ("GET", "/v1/events", Action.READ_EVENTS, {}),
    ("GET", "/v1/counts?period=2023-24", Action.READ_COUNTS, {}),
    ("POST", "/v1/keys", Action.MANAGE_KEYS, {"json": {"role": "reviewer", "states": ["TX"]}}),
    ("GET", "/v1/keys", Action.MANAGE_KEYS, {}),
    ("DELETE", "/v1/keys/1", Action.MANAGE_KEYS, {}),
    ("GET", "/v1/audit", Action.READ_AUDIT, {}),
]
ROLE_KEYS = {Role.EXCHANGE: "exchange", Role.REVIEWER: "reviewer_txfl", Role.ADMIN: "admin",
             Role.AUDITOR: "auditor"}


def _call(api: Api, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
    return api.client.request(method, path, headers=headers, **kwargs)


@pytest.mark.parametrize(("method", "path", "action", "kwargs"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_every_endpoint_needs_a_key(api: Api, method: str, path: str, action: Action,
                                    kwargs: dict[str, Any]) -> None:
    missing = _call(api, method, path, {}, **kwargs)
    assert (missing.status_code, missing.json()) == (401, {"detail": "missing API key"})
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = _call(api, method, path, {"X-API-Key": "sl_" + "x" * 43}, **kwargs)
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "invalid API key"})
    garbage = _call(api, method, path, {"Authorization": "Bearer not-a-key"}, **kwargs)
    assert (garbage.status_code, garbage.json()) == (401, {"detail": "invalid API key"})


@pytest.mark.parametrize(("method", "path", "action", "kwargs"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_roles_outside_the_action_get_403(api: Api, method: str, path: str, action: Action,
                                          kwargs: dict[str, Any]) -> None:
    for role, who in ROLE_KEYS.items():
        response = _call(api, method, path, api.headers(who), **kwargs)
        if role in PERMISSIONS[action]:
            assert response.status_code != 403 or "role" not in response.json()["detail"]
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json() == {
                "detail": f"role '{role.value}' may not {action.value}"}


def test_bearer_and_header_keys_both_work(seeded: Api) -> None:
    key = seeded.keys["reviewer_tx"]
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        assert seeded.client.get("/v1/near-matches", headers=headers).status_code == 200


def test_role_check_comes_before_body_validation(api: Api) -> None:
    response = api.post("/v1/records", "reviewer_tx", json={"nonsense": True})
    assert response.status_code == 403
    response = api.post("/v1/records", None, json={"nonsense": True})
    assert response.status_code == 401


def test_revoked_key_stops_working(api: Api) -> None:
    assert api.get("/v1/near-matches", "reviewer_tx").status_code == 200
    key_id = authenticate(api.store, api.keys["reviewer_tx"]).key_id
    revoke_key(api.store, key_id)
    response = api.get("/v1/near-matches", "reviewer_tx")
    assert (response.status_code, response.json()) == (401, {"detail": INVALID_KEY})


def test_keys_are_stored_hashed(store: IdentityStore) -> None:
    created = create_key(store, Role.REVIEWER, "TX,FL")
    with db.read_session(store.engine) as session:
        stored = list(session.scalars(select(ApiKey.key_hash)))
    assert created.key not in stored
    assert hash_key(created.key) in stored
    assert created.key.startswith("sl_") and len(created.key) == 46
    assert [k.states for k in list_keys(store)] == [("FL", "TX")]


def test_authenticate_returns_the_principal(store: IdentityStore) -> None:
    created = create_key(store, "reviewer", ["tx", "FL"])
    principal = authenticate(store, created.key)
    assert principal == Principal(created.record.id, Role.REVIEWER, ("FL", "TX"))
    assert principal.actor == f"key:{created.record.id}"
    altered = created.key[:-1] + ("B" if created.key.endswith("A") else "A")  # never the key
    for raw, detail in ((None, MISSING_KEY), ("  ", MISSING_KEY), ("sl_short", INVALID_KEY),
                        (altered, INVALID_KEY)):
        with pytest.raises(AuthError) as caught:
            authenticate(store, raw)
        assert caught.value.detail == detail


@pytest.mark.parametrize(("given", "expected"), [
    ("TX,FL", ("FL", "TX")), (" tx , fl ,", ("FL", "TX")), ("*", ("*",)), (["ca"], ("CA",)),
])
def test_parse_states(given: str | list[str], expected: tuple[str, ...]) -> None:
    assert parse_states(given) == expected


@pytest.mark.parametrize("given", ["", ",", "TXX", "T1", "*,TX", "Texas"])
def test_parse_states_rejects(given: str) -> None:
    with pytest.raises(ValueError, match="'states' must"):
        parse_states(given)


def test_principal_scope_rules() -> None:
    tx = Principal(1, Role.REVIEWER, ("TX",))
    everywhere = Principal(2, Role.ADMIN, ("*",))
    assert tx.sees_state("tx") and not tx.sees_state("FL") and not tx.sees_state(None)
    assert tx.sees_any(["FL", "TX"]) and not tx.sees_any(["FL"]) and not tx.sees_any([])
    assert everywhere.sees_any(["FL"]) and everywhere.covers(["*"])
    assert tx.covers(["TX"]) and not tx.covers(["TX", "FL"]) and not tx.covers(["*"])
    assert tx.scope() == ["TX"] and everywhere.scope() is None
