"""The write context: one transaction holding the writer lock, its events and audit rows."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Row, bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TypedReturnsRows

from matcher.store.models import AuditEntry, Base, Event, EventState, StoreState

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

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
    if found is None and dialect.name == "postgresql":
        found = _COMPILED[cache_key] = (_unnest_statement(dialect, kind, model, columns, key),
                                        None)
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


def _unnest_statement(dialect: Dialect, kind: str, model: type[Base], columns: tuple[str, ...],
                      key: str) -> str:
    """One PostgreSQL statement for all rows: each column sent as one array and unnested.
    (executemany sends a statement per row: 25 µs a row even pipelined, a quarter of a
    1,000-record batch's time.)"""
    table = model.__table__
    quote = dialect.identifier_preparer.quote
    name = quote(model.__tablename__)
    arrays = ", ".join(f"%(p_{c})s::{table.c[c].type.compile(dialect=dialect)}[]"
                       for c in columns)
    listed = ", ".join(quote(c) for c in columns)
    if kind == "insert":
        return f"INSERT INTO {name} ({listed}) SELECT * FROM unnest({arrays})"
    sets = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns if c != key)
    return (f"UPDATE {name} SET {sets} FROM unnest({arrays}) AS v({listed}) "
            f"WHERE {name}.{quote(key)} = v.{quote(key)}")


Columns = Mapping[str, Sequence[Any]]
"""Column name -> values (one per row, all columns the same length)."""


def _bound(values: Sequence[Any], process: Callable[[Any], Any] | None) -> Sequence[Any]:
    """Values as the driver takes them (a column type's bind processor applied; a value
    repeated as one object, like the transaction's timestamp, converted once)."""
    if process is None or not values:
        return values
    first = values[0]
    if all(v is first for v in values):
        return [process(first)] * len(values)
    return [process(v) for v in values]


def _json_text(dialect: Dialect) -> Callable[[str | None], Any]:
    """How a value already encoded as JSON text is sent to a JSON column."""
    if dialect.name == "postgresql":
        from psycopg.types.json import Jsonb

        return lambda text: None if text is None else Jsonb(text, dumps=str)
    return lambda text: text


def _executemany(session: Session, kind: str, model: type[Base], columns: Columns,
                 key: str = "", json_text: Collection[str] = ()) -> None:
    """Compile once per shape, convert values column by column with each column type's own
    bind processor, and hand the rows to the driver's executemany (SQLAlchemy's per-row
    machinery costs about ten times more); on PostgreSQL, as arrays to one statement."""
    names = tuple(columns)
    if not names or not len(columns[names[0]]):
        return
    conn = session.connection()
    dialect = conn.dialect
    sql, order = _statement(session, kind, model, names, key)
    table = model.__table__
    bound = {
        f"p_{name}": _bound(values, _json_text(dialect) if name in json_text
                            else table.c[name].type._cached_bind_processor(dialect))
        for name, values in columns.items()
    }
    if dialect.name == "postgresql":
        conn.exec_driver_sql(sql, {name: list(values) for name, values in bound.items()})
        return
    params: Any = (list(zip(*(bound[n] for n in order), strict=True)) if order is not None
                   else [dict(zip(bound, row, strict=True))
                         for row in zip(*bound.values(), strict=True)])
    conn.exec_driver_sql(sql, params)


def _columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in rows[0]} if rows else {}


def bulk_insert(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """executemany INSERT of rows that all carry the same keys (every NOT NULL column)."""
    _executemany(session, "insert", model, _columns(rows))


def bulk_update(session: Session, model: type[Base], key: str,
                rows: Sequence[Mapping[str, Any]]) -> None:
    """executemany UPDATE ... WHERE key = :key, setting the other keys of each row."""
    _executemany(session, "update", model, _columns(rows), key)


def insert_columns(session: Session, model: type[Base], columns: Columns, *,
                   json_text: Collection[str] = ()) -> None:
    """executemany INSERT of rows given as columns; `json_text` names JSON columns whose
    values are already encoded (JSON text, or None)."""
    _executemany(session, "insert", model, columns, json_text=json_text)


def update_columns(session: Session, model: type[Base], key: str, columns: Columns, *,
                   json_text: Collection[str] = ()) -> None:
    """executemany UPDATE ... WHERE key = :key of rows given as columns (`json_text` as in
    `insert_columns`)."""
    _executemany(session, "update", model, columns, key, json_text=json_text)


def add_seconds(timings: dict[str, float], stage: str, seconds: float) -> None:
    """Add `seconds` to `timings[stage]` (the per-stage seconds benchmarks report)."""
    timings[stage] = timings.get(stage, 0.0) + seconds


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
            add_seconds(self.timings, stage, time.perf_counter() - start)

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
        """Append an event for the given states; returns its cursor (the counter on the
        locked state row is advanced once, by `flush`)."""
        seq = (self._events[-1]["seq"] if self._events else self.state.event_seq) + 1
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

    def select(self, statement: TypedReturnsRows[*Ts]) -> Sequence[Row[*Ts]]:
        """The rows of a read on the transaction's connection, fetched at once, without the
        ORM's per-row work (what the session has pending is flushed first, as its own queries
        would)."""
        self.session.flush()
        return self.session.connection().execute(statement).all()

    def scalars(self, statement: TypedReturnsRows[T]) -> Sequence[T]:
        """The first column of `select(statement)`."""
        self.session.flush()
        return self.session.connection().execute(statement).scalars().all()

    @property
    def event_count(self) -> int:
        """Events emitted so far in this transaction."""
        return len(self._events)

    def flush(self) -> None:
        """Write the collected events and audit rows (call once, before commit)."""
        if self._events:
            self.state.event_seq = self._events[-1]["seq"]
        bulk_insert(self.session, Event, self._events)
        bulk_insert(self.session, EventState, self._event_states)
        bulk_insert(self.session, AuditEntry, self._audit)
        self._events, self._event_states, self._audit = [], [], []
        self.session.flush()
