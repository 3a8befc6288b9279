"""The change feed and child counts."""

from __future__ import annotations

from dataclasses import asdict

from api.auth import Action, PermissionDenied, Principal
from api.errors import Unprocessable
from api.schemas.counts import CountsPublic
from api.schemas.events import EventPublic, EventsPublic
from api.services.base import Context
from matcher.errors import StoreError
from matcher.store import EventView, parse_period


def _not_yours(state: str) -> PermissionDenied:
    return PermissionDenied(f"state '{state}' is not one of your states")


class FeedService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def events(self, principal: Principal, *, after: int, state: str | None,
               kinds: list[str] | None, limit: int) -> EventsPublic:
        """Events after a cursor routed to `state` (or to any of the caller's states)."""
        principal.require(Action.READ_EVENTS)
        feed = self.ctx.store.events
        limit = min(limit, self.ctx.settings.max_page_size)
        if state is not None:
            state = state.upper()
            if not principal.sees_state(state):
                raise _not_yours(state)
            views = feed.since(after, state=state, kinds=kinds, limit=limit).events
        elif principal.all_states:
            views = feed.since(after, kinds=kinds, limit=limit).events
        else:
            merged: dict[int, EventView] = {}
            for own in principal.states:
                for event in feed.since(after, state=own, kinds=kinds, limit=limit).events:
                    merged[event.seq] = event
            views = [merged[s] for s in sorted(merged)][:limit]
        data = [EventPublic.model_validate({**asdict(e), "states": list(e.states)})
                for e in views]
        return EventsPublic(data=data, count=len(data), cursor=data[-1].seq if data else after)

    def counts(self, principal: Principal, *, period: str, state: str | None) -> CountsPublic:
        """Children per state (the caller's, or one) and nationally for a period."""
        principal.require(Action.READ_COUNTS)
        try:
            parse_period(period)
        except StoreError as exc:
            raise Unprocessable([(["query", "period"], str(exc))]) from None
        if state is not None:
            state = state.upper()
            if not principal.sees_state(state):
                raise _not_yours(state)
        counts = self.ctx.store.counts(period)
        by_state = counts.by_state
        if state is not None:
            by_state = {state: by_state.get(state, 0)}
        elif not principal.all_states:
            by_state = {s: n for s, n in by_state.items() if s in principal.states}
        return CountsPublic(period=counts.period, start=counts.start, end=counts.end,
                            by_state=by_state, national=counts.national,
                            unknown_birth_date=counts.unknown_birth_date)
