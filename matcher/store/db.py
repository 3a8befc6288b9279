"""Engines, migrations and transactions for the two supported databases.

- SQLite file (`sqlite:///path.db`, or a bare path): WAL journal (checkpointed every 20,000
  pages), a 256 MiB page cache, foreign keys on, writers take the database lock up front
  (`BEGIN IMMEDIATE`), so writers are serialised.
- PostgreSQL (`postgresql+psycopg://...`): every write transaction locks the single
  `store_state` row first (`SELECT ... FOR UPDATE`), which serialises writers and makes events
  commit in cursor order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from matcher.errors import StoreError
from matcher.store.models import Base, StoreState

SQLITE_BUSY_TIMEOUT_MS = 60_000
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 20_000
"""Pages the WAL may hold before a commit copies them into the database (SQLite's default is
1,000): a 1,000-record batch dirties more than that, so every commit checkpointed, rewriting
the same index pages each time (at 280k records: commit CPU 52 -> 29 ms per batch)."""
SQLITE_CACHE_KIB = 256 * 1024
"""Page cache per connection (SQLite's default is 2 MiB). A 1,000-record batch touches
thousands of pages of indexes on random keys (identity ids, link pairs); with the default
cache they are read back from the OS in every batch. The cache only grows as pages are used
(a 300k-record store is ~330 MB): at 250-300k records the store's work per batch ~12% less
CPU."""


def normalise_url(url: str | Path) -> str:
    """Accept a SQLAlchemy URL, `postgresql://` (psycopg 3 assumed) or a plain file path."""
    text_url = str(url)
    if "://" not in text_url:
        return f"sqlite:///{Path(text_url).expanduser()}"
    if text_url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text_url.split("://", 1)[1]
    return text_url


def create_store_engine(url: str | Path, *, echo: bool = False) -> Engine:
    """Create an engine with the per-dialect settings the store relies on."""
    normalised = normalise_url(url)
    try:
        parsed = make_url(normalised)
    except ArgumentError as exc:
        raise StoreError(
            f"'store' must be a database URL or a file path; got {str(url)!r}"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(normalised, in_memory=parsed.database in (None, "", ":memory:"),
                              echo=echo)
    if backend == "postgresql":
        return create_engine(normalised, echo=echo, pool_pre_ping=True)
    raise StoreError(
        f"'store' must be a sqlite:/// or postgresql+psycopg:// URL; got {str(url)!r}"
    )


def _sqlite_engine(url: str, *, in_memory: bool, echo: bool) -> Engine:
    kwargs: dict[str, Any] = {"echo": echo}
    if in_memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                  "check_same_thread": False}
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the sqlite3 module) decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


ANALYZE_FIRST_RECORDS = 1_000
ANALYZE_GROWTH = 2.0
"""`PlannerStatistics` analyzes the store's tables once the store holds this many records, then
each time it has grown this many times since."""


class PlannerStatistics:
    """Keeps PostgreSQL's planner statistics up with a store that grows fast (a bulk load).

    Without them the planner reads a never-analyzed table as nearly empty, and every batch's
    lookups of `links` and `near_matches` by record id (`= ANY(...)` on either side) became a
    scan of the whole table: 2.5 s per 1,000-record batch at 126k records, growing with the
    store. Autovacuum may be off, and lags behind a load anyway. SQLite needs nothing: its
    planner uses the indexes without statistics. Growth is counted from the records this
    process writes, on top of the size PostgreSQL last analyzed (read once)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.analyzed: float | None = None
        """Records at the last analysis (None: not read yet)."""
        self.written = 0
        """Records written by this process since."""

    def after_write(self, written: int) -> bool:
        """Count `written` new or changed records; analyze the store's tables if it has
        grown enough since the last analysis. Whether it did."""
        if self.engine.dialect.name != "postgresql":
            return False
        if self.analyzed is None:
            self.analyzed = self._last_analyzed_size()
        self.written += written
        size = self.analyzed + self.written
        if size < ANALYZE_FIRST_RECORDS or size < self.analyzed * ANALYZE_GROWTH:
            return False
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        with self.engine.begin() as conn:
            conn.execute(text(f"ANALYZE {tables}"))
        self.analyzed, self.written = size, 0
        return True

    def _last_analyzed_size(self) -> float:
        """`records` as PostgreSQL last analyzed it; 0 if never (so the store's first
        write analyzes it once it holds enough)."""
        with self.engine.connect() as conn:
            estimate = conn.execute(text(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass('records')")).scalar()
        return max(float(estimate or 0), 0.0)


def migrations_config(engine: Engine) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    location = resources.files("matcher.store") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (safe with concurrent openers)."""
    cfg = migrations_config(engine)
    try:
        connection = engine.connect()
    except OperationalError as exc:
        raise StoreError(
            f"'store' must be a database that can be opened; got "
            f"{engine.url.render_as_string(hide_password=True)!r} ({exc.orig})") from None
    with connection as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(7424661)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if conn.execute(select(StoreState.id).where(StoreState.id == 1)).first() is None:
                conn.execute(insert(StoreState).values(id=1, event_seq=0, change_seq=0))


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads; closed (its transaction rolled back) at the end. Loaded objects
    stay readable after it closes."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def short_write_session(engine: Engine) -> Iterator[Session]:
    """A write session without the store-wide lock (for rows outside the event order: audit)."""
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def write_session(engine: Engine) -> Iterator[tuple[Session, StoreState]]:
    """A session holding the store-wide writer lock; commits on success, rolls back on error.

    Yields the session and the locked `StoreState` row whose counters the writer advances.
    """
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        try:
            state = session.execute(
                select(StoreState).where(StoreState.id == 1).with_for_update()
            ).scalar_one()
            yield session, state
            session.commit()
        except BaseException:
            session.rollback()
            raise
