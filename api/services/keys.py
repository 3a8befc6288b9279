"""API keys over HTTP (admin): never wider than the administrator's own states."""

from __future__ import annotations

from dataclasses import asdict

from api import auth
from api.auth import Action, PermissionDenied, Principal
from api.errors import NotFound, Unprocessable
from api.schemas.keys import KeyCreate, KeyCreatedPublic, KeyPublic, KeysPublic
from api.services.base import Context

NOT_FOUND = "API key not found"
TOO_WIDE = "an admin may only manage keys within its own states"


def key_public(record: auth.KeyRecord) -> KeyPublic:
    return KeyPublic.model_validate({**asdict(record), "states": list(record.states)})


class KeyService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def create(self, principal: Principal, body: KeyCreate) -> KeyCreatedPublic:
        principal.require(Action.MANAGE_KEYS)
        try:
            states = auth.parse_states(body.states)
        except ValueError as exc:
            raise Unprocessable([(["body", "states"], str(exc))]) from None
        if not principal.covers(states):
            raise PermissionDenied(TOO_WIDE)
        created = auth.create_key(self.ctx.store, body.role, states)
        return KeyCreatedPublic(**key_public(created.record).model_dump(), key=created.key)

    def list(self, principal: Principal, *, include_revoked: bool) -> KeysPublic:
        principal.require(Action.MANAGE_KEYS)
        keys = [key_public(k) for k in auth.list_keys(self.ctx.store,
                                                      include_revoked=include_revoked)
                if principal.covers(k.states)]
        return KeysPublic(data=keys, count=len(keys))

    def revoke(self, principal: Principal, key_id: int) -> KeyPublic:
        principal.require(Action.MANAGE_KEYS)
        found = auth.get_key(self.ctx.store, key_id)
        if found is None:
            raise NotFound(NOT_FOUND)
        if not principal.covers(found.states):
            raise PermissionDenied(TOO_WIDE)
        revoked = auth.revoke_key(self.ctx.store, key_id)
        if revoked is None:
            raise NotFound(NOT_FOUND)
        return key_public(revoked)
