"""Which states a resource involves (a key sees it when it covers at least one)."""

from __future__ import annotations

from matcher.errors import NotFoundError
from matcher.store import IdentityStore


def identity_states(store: IdentityStore, identity_id: str) -> list[str]:
    """The states of an identity's records; a merged identity has its survivor's states."""
    try:
        view = store.identities.get(identity_id)
        if view.status != "active" and not view.record_ids:
            view = store.identities.get(store.identities.resolve(identity_id))
    except NotFoundError:
        return []
    return view.states
