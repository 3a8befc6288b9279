"""Identities: the consolidated record with provenance, member records, lineage, history."""

from __future__ import annotations

from dataclasses import asdict

from api import adapters
from api.auth import Action, Principal
from api.errors import NotFound, not_visible
from api.schemas.events import EventPublic
from api.schemas.identities import ConsolidatedFieldPublic, IdentityPublic, LineagePublic
from api.services.base import Context
from api.services.records import record_public
from api.services.visibility import identity_states
from matcher.errors import NotFoundError

HISTORY_LIMIT = 200


class IdentityService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def get(self, principal: Principal, identity_id: str) -> IdentityPublic:
        """An identity whose records involve the caller's states (merged ones too)."""
        principal.require(Action.READ_IDENTITIES)
        store = self.ctx.store
        try:
            view = store.identities.get(identity_id)
        except NotFoundError:
            raise NotFound("identity not found") from None
        states = view.states if view.record_ids else identity_states(store, identity_id)
        if not principal.sees_any(states):
            raise not_visible("identity")
        consolidated = store.identities.consolidated(identity_id, actor=principal.actor)
        members = adapters.get_records(store, view.record_ids)
        return IdentityPublic(
            identity_id=view.identity_id, status=view.status, merged_into=view.merged_into,
            cause=view.cause, created_at=view.created_at, updated_at=view.updated_at,
            states=view.states, record_ids=view.record_ids,
            consolidated={name: ConsolidatedFieldPublic.model_validate(asdict(f))
                          for name, f in consolidated.fields.items()},
            records=[record_public(members[r]) for r in view.record_ids if r in members],
            lineage=[LineagePublic.model_validate(asdict(x))
                     for x in store.identities.lineage(identity_id)],
            history=[EventPublic.model_validate({**asdict(e), "states": list(e.states)})
                     for e in store.identities.history(identity_id, limit=HISTORY_LIMIT)],
        )
