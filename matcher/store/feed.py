"""The event feed: append-only, with a monotonic cursor, polled per state.

Events are written only by transactions holding the writer lock, which hand out cursors in
order and commit before the next writer starts, so a reader never sees cursor N+1 before N:
polling "since my last cursor" neither skips nor repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from matcher.store import db
from matcher.store.models import Event, EventState

if TYPE_CHECKING:
    from matcher.store.store import IdentityStore

EVENT_KINDS: tuple[str, ...] = (
    "identity_created",
    "record_linked",
    "identities_merged",
    "identity_split",
    "near_match_created",
    "near_match_resolved",
    "student_moved",
)


@dataclass(frozen=True)
class EventView:
    """One event: `seq` is its cursor, `states` the states it is routed to."""

    seq: int
    kind: str
    identity_id: str | None
    record_id: str | None
    payload: dict[str, Any]
    created_at: datetime
    states: tuple[str, ...]


@dataclass(frozen=True)
class EventPage:
    """A page of events and the cursor to poll from next."""

    events: list[EventView]
    cursor: int


class EventFeed:
    """Read the event feed."""

    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    def since(self, cursor: int = 0, *, state: str | None = None,
              kinds: Sequence[str] | None = None, limit: int = 1000) -> EventPage:
        """Events after `cursor` (for one state, if given), oldest first."""
        stmt = select(Event).where(Event.seq > cursor).order_by(Event.seq).limit(limit)
        if state is not None:
            stmt = stmt.join(EventState, EventState.seq == Event.seq).where(
                EventState.state == state.upper())
        if kinds:
            stmt = stmt.where(Event.kind.in_(list(kinds)))
        with db.read_session(self._store.engine) as session:
            events = list(session.scalars(stmt))
            routes: dict[int, list[str]] = {}
            if events:
                for seq, st in session.execute(
                    select(EventState.seq, EventState.state)
                    .where(EventState.seq.in_([e.seq for e in events]))
                    .order_by(EventState.seq, EventState.state)
                ):
                    routes.setdefault(seq, []).append(st)
        views = [EventView(e.seq, e.kind, e.identity_id, e.record_id, dict(e.payload or {}),
                           e.created_at, tuple(routes.get(e.seq, ()))) for e in events]
        return EventPage(events=views, cursor=views[-1].seq if views else cursor)

    def latest_cursor(self) -> int:
        """The newest cursor handed out (0 for an empty feed)."""
        with db.read_session(self._store.engine) as session:
            return int(session.scalar(select(func.coalesce(func.max(Event.seq), 0))) or 0)
