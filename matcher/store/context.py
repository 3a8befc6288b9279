"""The write context: one transaction holding the writer lock, its events and audit rows."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from matcher.store.models import AuditEntry, Base, Event, EventState, StoreState

T = TypeVar("T")

IN_CHUNK = 20_000
"""Most values sent in one `in_values` parameter (bounds statement and memory size)."""


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


_COMPILED: dict[tuple[str, str, str, tuple[str, ...], str], tuple[str, list[str] | None]] = {}
"""(dialect, kind, table, columns, key) -> (SQL, positional parameter order)."""


def _statement(session: Session, kind: str, model: type[Base], columns: tuple[str, ...],
               key: str) -> tuple[str, list[str] | None]:
    dialect = session.connection().dialect
    cache_key = (dialect.name, kind, model.__tablename__, columns, key)
    found = _COMPILED.get(cache_key)
    if found is None:
        if kind == "insert":
            stmt: Any = insert(model).values({c: bindparam(f"p_{c}") for c in columns})
        else:
            stmt = (update(model).where(getattr(model, key) == bindparam(f"p_{key}"))
                    .values({c: bindparam(f"p_{c}") for c in columns if c != key}))
        compiled = stmt.compile(dialect=dialect)
        order = list(compiled.positiontup or []) if compiled.positional else None
        found = _COMPILED[cache_key] = (compiled.string, order)
    return found


def _executemany(session: Session, kind: str, model: type[Base],
                 rows: list[dict[str, Any]], key: str = "") -> None:
    """Compile once per shape, convert values with each column type's own bind processor,
    and hand the rows to the driver's executemany (SQLAlchemy's per-row machinery costs
    about ten times more)."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    columns = tuple(rows[0])
    sql, order = _statement(session, kind, model, columns, key)
    table = model.__table__
    processors = [table.c[c].type._cached_bind_processor(dialect) for c in columns]
    converted = [
        {f"p_{col}": (proc(row[col]) if proc is not None else row[col])
         for col, proc in zip(columns, processors, strict=True)}
        for row in rows
    ]
    params: Any = ([tuple(r[n] for n in order) for r in converted] if order is not None
                   else converted)
    conn.exec_driver_sql(sql, params)


def bulk_insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """executemany INSERT of rows that all carry the same keys (every NOT NULL column)."""
    _executemany(session, "insert", model, rows)


def bulk_update(session: Session, model: type[Base], key: str,
                rows: list[dict[str, Any]]) -> None:
    """executemany UPDATE ... WHERE key = :key, setting the other keys of each row."""
    _executemany(session, "update", model, rows, key)


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
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the time spent in the block to `timings[stage]` (benchmarks report these)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start

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
        bulk_insert(self.session, Event, self._events)
        bulk_insert(self.session, EventState, self._event_states)
        bulk_insert(self.session, AuditEntry, self._audit)
        self._events, self._event_states, self._audit = [], [], []
        self.session.flush()
