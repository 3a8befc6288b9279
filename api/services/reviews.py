"""The near-match queue: listing by state, reading one, and deciding with optimistic locking.

A review item's version is its ETag (from status, decision, score and last change). A decision
may carry it as `If-Match`; of two reviewers deciding the same item exactly one wins and the
other gets 409 with the item as it is now.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import asdict

from api import adapters
from api.auth import Action, PermissionDenied, Principal
from api.errors import Conflict, NotFound, Unprocessable, not_visible
from api.schemas.near_matches import (
    Decision,
    DecisionCreate,
    DecisionPublic,
    JudgementPublic,
    NearMatchDetailPublic,
    NearMatchesPublic,
    NearMatchPublic,
    NearMatchStatus,
    NearMatchStatusFilter,
)
from api.services.base import Context
from api.services.records import record_public
from matcher.errors import ConflictError, NotFoundError
from matcher.store.models import NearMatch

LOCK_STRIPES = 64
SETTLE_SECONDS = 2.0
CHANGED = "near match changed since you read it"
CLOSED = "near match is no longer open for decisions"
NOT_FOUND = "near match not found"


def etag(item: NearMatch) -> str:
    """The item's version as a strong ETag (quoted)."""
    text = (f"{item.id}|{item.status}|{item.decision}|{item.match_probability!r}|"
            f"{item.updated_at.isoformat()}")
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


def _etag_matches(header: str, current: str) -> bool:
    wanted = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    return "*" in wanted or current.strip('"') in wanted


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def near_match_public(item: NearMatch) -> NearMatchPublic:
    """A review item as the API shows it."""
    return NearMatchPublic(
        id=item.id, status=NearMatchStatus(item.status),
        decision=Decision(item.decision) if item.decision else None,
        record_id_l=item.record_id_l, record_id_r=item.record_id_r, state_l=item.state_l,
        state_r=item.state_r, match_probability=item.match_probability,
        match_weight=_finite(item.match_weight),
        possible_multiple_birth=item.possible_multiple_birth,
        contributions={k.removeprefix("mw_"): _finite(v) if isinstance(v, int | float)
                       else None for k, v in (item.contributions or {}).items()},
        created_at=item.created_at, updated_at=item.updated_at,
        resolved_at=item.resolved_at, resolved_by=item.resolved_by, etag=etag(item))


class ReviewService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def _visible(self, principal: Principal, near_match_id: int) -> NearMatch:
        item = adapters.get_near_match(self.ctx.store, near_match_id)
        if item is None:
            raise NotFound(NOT_FOUND)
        if not principal.sees_any([item.state_l, item.state_r]):
            raise not_visible("near match")
        return item

    def list(self, principal: Principal, *, state: str | None, status: NearMatchStatusFilter,
             possible_multiple_birth: bool | None, cursor: str | None, limit: int
             ) -> NearMatchesPublic:
        """Items of the caller's states (or one of them), oldest first, a page at a time."""
        principal.require(Action.READ_NEAR_MATCHES)
        if state is not None:
            state = state.upper()
            if not principal.sees_state(state):
                raise PermissionDenied(f"state '{state}' is not one of your states")
            states: list[str] | None = [state]
        else:
            states = principal.scope()
        after = 0
        if cursor is not None:
            if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
                raise Unprocessable([(["query", "cursor"], "must be a cursor from next_cursor")])
            after = int(cursor)
        limit = min(limit, self.ctx.settings.max_page_size)
        wanted = None if status is NearMatchStatusFilter.ALL else status.value
        rows, total = adapters.near_match_page(
            self.ctx.store, states=states, status=wanted,
            possible_multiple_birth=possible_multiple_birth, after_id=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return NearMatchesPublic(data=[near_match_public(r) for r in rows], count=total,
                                 next_cursor=str(rows[-1].id) if more and rows else None)

    def get(self, principal: Principal, near_match_id: int) -> NearMatchDetailPublic:
        """One item with both records side by side."""
        principal.require(Action.READ_NEAR_MATCHES)
        item = self._visible(principal, near_match_id)
        records = adapters.get_records(self.ctx.store, [item.record_id_l, item.record_id_r])
        left, right = records.get(item.record_id_l), records.get(item.record_id_r)
        return NearMatchDetailPublic(
            **near_match_public(item).model_dump(),
            record_l=record_public(left) if left else None,
            record_r=record_public(right) if right else None)

    def decide(self, principal: Principal, near_match_id: int, body: DecisionCreate,
               if_match: str | None) -> DecisionPublic:
        """Record the caller's decision if the item is still as they saw it.

        Decisions on one item are serialised within the process (so a loser sees the
        winner's result) and claimed with a compare-and-set in the store (so two processes
        cannot both win).
        """
        principal.require(Action.DECIDE_NEAR_MATCHES)
        with self._locks[near_match_id % LOCK_STRIPES]:
            return self._decide(principal, near_match_id, body, if_match)

    def _decide(self, principal: Principal, near_match_id: int, body: DecisionCreate,
                if_match: str | None) -> DecisionPublic:
        store = self.ctx.store
        item = self._visible(principal, near_match_id)
        current = near_match_public(item)
        if if_match is not None and not _etag_matches(if_match, current.etag):
            # Still open yet changed: perhaps another process is deciding it right now.
            settled = (self._settled(item) if item.status in adapters.OPEN_STATUSES
                       else current.model_dump(mode="json"))
            raise Conflict(CHANGED, current=settled)
        if item.status not in adapters.OPEN_STATUSES:
            raise Conflict(CLOSED, current=current.model_dump(mode="json"))
        self.ctx.require_backend()
        if not adapters.claim_near_match(store, near_match_id, status=item.status,
                                         updated_at=item.updated_at):
            raise Conflict(CHANGED, current=self._settled(item))
        try:
            judgement = store.reviews.judge(near_match_id, decision=body.decision.value,
                                            actor=principal.actor, note=body.note)
        except ConflictError as exc:
            raise Conflict(str(exc), current=self._current(near_match_id)) from None
        except NotFoundError:
            raise NotFound(NOT_FOUND) from None
        fresh = adapters.get_near_match(store, near_match_id)
        if fresh is None:
            raise NotFound(NOT_FOUND)
        return DecisionPublic(near_match=near_match_public(fresh),
                              judgement=JudgementPublic.model_validate(asdict(judgement)))

    def _settled(self, seen: NearMatch) -> dict[str, object] | None:
        """The item once another process's decision on it has landed (briefly waited for)."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            item = adapters.get_near_match(self.ctx.store, seen.id)
            if item is None:
                return None
            if (item.status, item.decision) != (seen.status, seen.decision) or (
                    time.monotonic() >= deadline):
                return near_match_public(item).model_dump(mode="json")
            time.sleep(0.05)

    def _current(self, near_match_id: int) -> dict[str, object] | None:
        item = adapters.get_near_match(self.ctx.store, near_match_id)
        return near_match_public(item).model_dump(mode="json") if item else None
