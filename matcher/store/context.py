"""The write context: one transaction holding the writer lock, its events and audit rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.orm import Session

from matcher.store.models import AuditEntry, Event, EventState, StoreState

T = TypeVar("T")

IN_CHUNK = 2000
"""Longest IN (...) list sent in one statement (SQLite and psycopg both cap parameters)."""


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class WriteContext:
    """State of one write transaction. Events get their cursor when emitted; rows are written
    in bulk by `flush()` just before commit (the writer lock keeps the cursor order)."""

    session: Session
    state: StoreState
    now: datetime
    _change_seq: int | None = None
    _events: list[dict[str, Any]] = field(default_factory=list)
    _event_states: list[dict[str, Any]] = field(default_factory=list)
    _audit: list[dict[str, Any]] = field(default_factory=list)

    @property
    def change_seq(self) -> int:
        """The record change sequence number of this transaction (allocated on first use)."""
        if self._change_seq is None:
            self.state.change_seq += 1
            self._change_seq = self.state.change_seq
        return self._change_seq

    @property
    def changed_records(self) -> bool:
        """True once this transaction has allocated a change sequence number."""
        return self._change_seq is not None

    def emit(
        self,
        kind: str,
        *,
        states: Iterable[str | None],
        identity_id: str | None = None,
        record_id: str | None = None,
        **payload: Any,
    ) -> int:
        """Append an event for the given states; returns its cursor."""
        self.state.event_seq += 1
        seq = self.state.event_seq
        self._events.append(
            {
                "seq": seq,
                "kind": kind,
                "identity_id": identity_id,
                "record_id": record_id,
                "payload": payload,
                "created_at": self.now,
            }
        )
        for state in sorted({s for s in states if s}):
            self._event_states.append({"state": state, "seq": seq})
        return seq

    def audit(
        self,
        actor: str,
        action: str,
        *,
        target_kind: str | None = None,
        target_id: str | None = None,
        **detail: Any,
    ) -> None:
        """Append an audit log entry."""
        self._audit.append(
            {
                "at": self.now,
                "actor": actor,
                "action": action,
                "target_kind": target_kind,
                "target_id": target_id,
                "detail": detail,
            }
        )

    @property
    def event_count(self) -> int:
        """Events emitted so far in this transaction."""
        return len(self._events)

    def flush(self) -> None:
        """Write the collected events and audit rows (call once, before commit)."""
        if self._events:
            self.session.execute(insert(Event), self._events)
        if self._event_states:
            self.session.execute(insert(EventState), self._event_states)
        if self._audit:
            self.session.execute(insert(AuditEntry), self._audit)
        self._events, self._event_states, self._audit = [], [], []
        self.session.flush()
