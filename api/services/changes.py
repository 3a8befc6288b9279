"""Merges and splits: one administrator initiates, a different one validates or rejects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from api.auth import Action, Principal
from api.errors import Conflict, NotFound, not_visible
from api.schemas.changes import (
    ChangeKind,
    ChangePublic,
    ChangesPublic,
    ChangeStatusFilter,
    MergeCreate,
    SplitCreate,
)
from api.services.base import Context
from api.services.visibility import identity_states
from matcher.errors import ConflictError, NotFoundError
from matcher.store import ChangeView

NOT_FOUND = "merge or split not found"


def change_public(change: ChangeView) -> ChangePublic:
    return ChangePublic.model_validate(asdict(change))


class ChangeService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _check_identities(self, principal: Principal, identity_ids: Iterable[str]) -> None:
        """404 for an unknown identity, 403 for one outside the caller's states."""
        for identity_id in identity_ids:
            try:
                self.ctx.store.identities.get(identity_id)
            except NotFoundError:
                raise NotFound("identity not found") from None
            if not principal.sees_any(identity_states(self.ctx.store, identity_id)):
                raise not_visible("identity")

    def _visible_change(self, principal: Principal, change: ChangeView) -> bool:
        return all(principal.sees_any(identity_states(self.ctx.store, i))
                   for i in change.identity_ids)

    def _get(self, principal: Principal, change_id: int) -> ChangeView:
        try:
            change = self.ctx.store.changes.get(change_id)
        except NotFoundError:
            raise NotFound(NOT_FOUND) from None
        if not self._visible_change(principal, change):
            raise not_visible("merge or split")
        return change

    def list(self, principal: Principal, *, status: ChangeStatusFilter,
             kind: ChangeKind | None) -> ChangesPublic:
        """Changes (pending by default) on identities of the caller's states, oldest first."""
        principal.require(Action.READ_CHANGES)
        changes = [c for c in self.ctx.store.changes.list_changes(
                       status=None if status is ChangeStatusFilter.ALL else status.value)
                   if (kind is None or c.kind == kind.value)
                   and self._visible_change(principal, c)]
        return ChangesPublic(data=[change_public(c) for c in changes], count=len(changes))

    def get(self, principal: Principal, change_id: int) -> ChangePublic:
        principal.require(Action.READ_CHANGES)
        return change_public(self._get(principal, change_id))

    def merge(self, principal: Principal, body: MergeCreate) -> ChangePublic:
        principal.require(Action.CHANGE_IDENTITIES)
        self._check_identities(principal, body.identity_ids)
        self.ctx.require_backend()
        return change_public(self.ctx.store.changes.initiate_merge(
            body.identity_ids, actor=principal.actor, note=body.note))

    def split(self, principal: Principal, body: SplitCreate) -> ChangePublic:
        principal.require(Action.CHANGE_IDENTITIES)
        self._check_identities(principal, [body.identity_id])
        self.ctx.require_backend()
        return change_public(self.ctx.store.changes.initiate_split(
            body.identity_id, body.record_ids, actor=principal.actor, note=body.note))

    def decide(self, principal: Principal, change_id: int, *, approve: bool,
               note: str | None) -> ChangePublic:
        """Validate (approve) or reject a pending change; 409 with it as it stands if not."""
        principal.require(Action.CHANGE_IDENTITIES)
        change = self._get(principal, change_id)
        if approve:
            self.ctx.require_backend()
        changes = self.ctx.store.changes
        try:
            done = (changes.validate(change_id, actor=principal.actor, note=note) if approve
                    else changes.reject(change_id, actor=principal.actor, note=note))
        except ConflictError as exc:
            current = self.ctx.store.changes.get(change.id)
            raise Conflict(str(exc), current=change_public(current).model_dump(mode="json")
                           ) from None
        return change_public(done)
