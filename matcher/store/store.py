"""`IdentityStore`: the one store interface over SQLite or PostgreSQL.

Open with `IdentityStore.open(url, ...)`; it runs the migrations. Writes (`load`,
`upsert_record`, judgements, merges, splits) each run in one transaction that holds the
store-wide writer lock; the in-memory index is caught up from the store first (other processes
may have written) and reverted if the transaction fails.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, delete, select

from matcher.errors import StaleModelError, StoreError
from matcher.ingest import empty_errors
from matcher.store import db
from matcher.store.backend import MatchingBackend, RecordIndex
from matcher.store.context import (
    WriteContext,
    add_seconds,
    chunked,
    insert_columns,
    update_columns,
)
from matcher.store.models import Link, Record, StoreMeta, StoreState, utcnow
from matcher.store.prescore import BATCH, Prescored, pairs_once
from matcher.store.recluster import (
    PAIR_COLUMNS,
    ChangeCounts,
    Evidence,
    PairKey,
    Rescorer,
    neighbourhood,
    recluster,
)
from matcher.store.records import (
    SMALL_FRAME,
    canonical_frame,
    canonical_rows,
    content_hashes,
    packed_extra_fields,
    read_records,
)
from matcher.store.sqlutil import in_values

if TYPE_CHECKING:
    from matcher.store.rebuild import RebuildResult

ROWS_SCHEMA = {"record_id": pl.String, "status": pl.String, "identity_id": pl.String}
"""`LoadResult.rows`."""
META_MODEL = "model_json"
META_SETTINGS = "settings_json"
META_PRESET = "preset"
META_MODEL_GENERATION = "model_generation"
"""Counts the models a store has had (`rebuild` adds one): a process holding an older one in
memory refuses to write with it."""


@dataclass(frozen=True)
class StoreConfig:
    """Store behaviour that is not matching: the two-person rule's escalation period."""

    escalation_period: timedelta = timedelta(days=14)


@dataclass
class LoadResult(ChangeCounts):
    """What one `load` did; `rows` has record_id, status (new/updated/unchanged), identity_id."""

    rows: pl.DataFrame
    errors: pl.DataFrame
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    pairs: int = 0

    def summary(self) -> dict[str, int]:
        """The counters as a dict (for logs and the CLI)."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


@dataclass(frozen=True)
class RecordOutcome:
    """The result of upserting one record."""

    record_id: str
    status: str
    identity_id: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)


class _StaleScores(Exception):
    """Records scored ahead of their batch missed records another writer stored since."""


def _combined(results: list[LoadResult], errors: pl.DataFrame) -> LoadResult:
    """One `LoadResult` for several batches: rows concatenated, counters summed."""
    total = LoadResult(
        rows=pl.concat([r.rows for r in results]) if results
        else pl.DataFrame(schema=ROWS_SCHEMA),
        errors=errors)
    for result in results:
        for key, value in result.summary().items():
            setattr(total, key, getattr(total, key) + value)
    return total


class _IndexState:
    """The in-memory index plus the record change sequence it reflects."""

    def __init__(self) -> None:
        self.index: RecordIndex | None = None
        self.extra_fields: tuple[str, ...] = ()
        """The backend's extra fields, read with the records (`MatchingBackend.extra_fields`)."""
        self.synced_seq = 0
        self.foreign_records = 0
        """Records other writers stored, counted as `sync` catches up with them."""

    def sync(self, backend: MatchingBackend, session: Any) -> RecordIndex:
        if self.index is None:
            self.extra_fields = backend.extra_fields
            frame, max_seq = read_records(session, extra_fields=self.extra_fields)
            index = backend.make_index()
            if frame.height:
                index.add(frame)
            self.index, self.synced_seq = index, max_seq
            return index
        latest = session.scalar(select(StoreState.change_seq).where(StoreState.id == 1))
        if latest is not None and latest <= self.synced_seq:
            return self.index
        frame, max_seq = read_records(session, after_seq=self.synced_seq,
                                      extra_fields=self.extra_fields)
        if frame.height:
            self.foreign_records += frame.height
            self.index.remove(frame["record_id"].to_list())
            self.index.add(frame)
            self.synced_seq = max_seq
        return self.index

    def revert(self, engine: Engine, record_ids: list[str]) -> None:
        """Make the index agree with the committed store again for these records."""
        if self.index is None:
            return
        self.index.remove(record_ids)
        with db.read_session(engine) as session:
            for part in chunked(record_ids):
                frame, _ = read_records(session, record_ids=list(part),
                                        extra_fields=self.extra_fields)
                if frame.height:
                    self.index.add(frame)


class IdentityStore:
    """Records, identities, links, judgements, merges/splits, events, counts and audit."""

    def __init__(
        self,
        engine: Engine,
        *,
        backend: MatchingBackend | None = None,
        config: StoreConfig | None = None,
    ) -> None:
        from matcher.store.audit import AuditLog
        from matcher.store.changes import Changes
        from matcher.store.feed import EventFeed
        from matcher.store.reviews import Reviews
        from matcher.store.views import Identities

        self.engine = engine
        self.config = config or StoreConfig()
        self._backend = backend
        self._model_generation = "0"
        """The store's model generation when this process took its model."""
        self._lock = threading.RLock()
        self._index = _IndexState()
        self._statistics = db.PlannerStatistics(self.engine)
        self.timings: dict[str, float] = {}
        """Seconds spent per stage of write transactions since opening (for benchmarks)."""
        self.identities = Identities(self)
        self.reviews = Reviews(self)
        self.changes = Changes(self)
        self.events = EventFeed(self)
        self.audit = AuditLog(self)

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        url: str | Path,
        *,
        settings: Any = None,
        model: Any = None,
        backend: MatchingBackend | None = None,
        config: StoreConfig | None = None,
        preset: str | None = None,
    ) -> IdentityStore:
        """Open (creating and migrating if needed) the store at `url`.

        Matching uses, in order: `backend` if given; else `model` (saved into the store on
        first use, so later opens reuse it); else the model saved in the store. Without any,
        the store still serves reads, events, counts and reviews, but cannot match.
        """
        engine = db.create_store_engine(url)
        try:
            db.upgrade(engine)
            store = cls(engine, backend=backend, config=config)
            if backend is None:
                store._backend = store._backend_from(settings, model, preset)
            store._model_generation = store.meta(META_MODEL_GENERATION) or "0"
        except BaseException:
            engine.dispose()
            raise
        return store

    def _backend_from(
        self, settings: Any, model: Any, preset: str | None
    ) -> MatchingBackend | None:
        saved_model = self.meta(META_MODEL)
        if model is not None:
            if settings is None:
                settings = self._saved_settings(preset)
            text = model.to_json()
            if saved_model is None:
                self.set_meta({META_MODEL: text, META_SETTINGS: settings_json(settings),
                               META_PRESET: preset or ""})
            elif saved_model != text:
                raise StoreError(
                    "'model' must be the one the store was built with (scores of stored pairs "
                    "would not compare); got a different model. Load into a new store instead")
            return MatchingBackend.from_model(settings, model)
        if saved_model is None:
            return None
        from models import load_model_json

        if settings is None:
            settings = self._saved_settings(preset)
        return MatchingBackend.from_model(settings, load_model_json(saved_model))

    def rebuild(self, model: Any = None, *, settings: Any = None, actor: str = "admin",
                say: Callable[[str], None] = lambda message: None) -> RebuildResult:
        """Score, link and cluster every stored record again with `model` (trained on the
        stored records when None; `settings`: the store's when None) in one transaction, and
        keep it as the store's model (`matcher.store.rebuild`)."""
        from matcher.store.rebuild import rebuild, train_on_stored

        settings = settings if settings is not None else self._saved_settings(None)
        if model is None:
            model = train_on_stored(self, settings, say)
        return rebuild(self, settings, model, actor=actor, say=say)

    @property
    def settings(self) -> Any:
        """The matching settings the store keeps (its preset's before the first load)."""
        return self._saved_settings(None)

    def _saved_settings(self, preset: str | None) -> Any:
        from matcher.errors import SettingsError
        from matcher.settings import load_preset, parse_settings

        saved = self.meta(META_SETTINGS)
        if saved:
            try:
                return parse_settings(json.loads(saved), "saved in the store")
            except SettingsError as exc:
                # settings a former version accepted and this one refuses
                raise StoreError(f"{exc}\nrebuild the store with a preset this version "
                                 "accepts: studentlink rebuild --store URL --preset "
                                 "NAME|FILE") from None
        return load_preset(preset or self.meta(META_PRESET) or "msix")

    @property
    def extra_fields(self) -> tuple[str, ...]:
        """The extra evidence fields the store keeps with its records: its matching
        backend's, else its saved settings' (`Settings.extra_fields`)."""
        if self._backend is not None:
            return self._backend.extra_fields
        return self.settings.extra_fields

    @property
    def has_backend(self) -> bool:
        """True when the store can match (it has a model or a backend)."""
        return self._backend is not None

    @property
    def backend(self) -> MatchingBackend:
        """The matching backend; StoreError if the store has no model yet."""
        if self._backend is None:
            raise StoreError(
                "'model' must be given the first time records are loaded into a store; "
                "got a store without a saved model"
            )
        return self._backend

    def use_backend(self, backend: MatchingBackend, *, model_generation: str | None = None
                    ) -> None:
        """Switch matching backend (drops the in-memory index; it is rebuilt on next use);
        `model_generation`: the store's, when the backend holds the store's new model."""
        with self._lock:
            self._backend = backend
            self._index = _IndexState()
            if model_generation is not None:
                self._model_generation = model_generation

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    def __enter__(self) -> IdentityStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta ------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A stored fact about the store (model JSON, settings, ...)."""
        with db.read_session(self.engine) as session:
            return session.scalar(select(StoreMeta.value).where(StoreMeta.key == key))

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Store facts about the store."""
        with self.write() as ctx:
            put_meta(ctx, values)

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[WriteContext]:
        """One write transaction holding the writer lock (events, audit flushed at the end)."""
        with self._lock:
            started = time.perf_counter()
            with db.write_session(self.engine) as (session, state):
                ctx = WriteContext(session=session, state=state, now=utcnow())
                ctx.timings["lock"] = time.perf_counter() - started
                yield ctx
                with ctx.timed("flush"):
                    ctx.flush()
                    if ctx.changed_records and session.scalar(
                        select(Record.record_id).where(Record.identity_id.is_(None)).limit(1)
                    ):
                        raise StoreError("every record must belong to an identity at commit")
                commit_started = time.perf_counter()
            ctx.timings["commit"] = time.perf_counter() - commit_started
            ctx.timings["total"] = time.perf_counter() - started
            for stage, seconds in ctx.timings.items():
                add_seconds(self.timings, stage, seconds)

    @contextmanager
    def write_with_index(self) -> Iterator[tuple[WriteContext, RecordIndex, list[str]]]:
        """A write transaction plus the caught-up index; records put in the yielded list
        are re-read from the store into the index if the transaction fails."""
        touched: list[str] = []
        with self._lock:
            try:
                with self.write() as ctx:
                    self._check_model_generation(ctx)
                    with ctx.timed("index_sync"):
                        index = self._index.sync(self.backend, ctx.session)
                    yield ctx, index, touched
                self._index.synced_seq = ctx.state.change_seq
            except BaseException:
                if touched:
                    self._index.revert(self.engine, touched)
                raise

    def _check_model_generation(self, ctx: WriteContext) -> None:
        if model_generation(ctx) != self._model_generation:
            raise StaleModelError(
                "'model' must be the store's current one: the store was rebuilt with a new "
                "model (studentlink rebuild) after this process opened it; got the old one. "
                "Reopen the store (restart the API server)")

    def rescorer(self, ctx: WriteContext, index: RecordIndex,
                 extra_fields: tuple[str, ...] | None = None) -> Rescorer:
        """Score stored records against the index again, inside `ctx` (`extra_fields`: the
        index's, when it is not the store's backend's)."""
        return _IndexRescorer(ctx, index, self.backend.extra_fields if extra_fields is None
                              else extra_fields)

    def index(self) -> RecordIndex:
        """The in-memory index, caught up with the store."""
        with self._lock, db.read_session(self.engine) as session:
            return self._index.sync(self.backend, session)

    # -- loading ---------------------------------------------------------------------------
    def load(
        self,
        records: pl.DataFrame,
        *,
        actor: str = "loader",
        validate: bool = False,
        settings: Any = None,
    ) -> LoadResult:
        """Insert or update records and link them, in one transaction.

        New and changed records are indexed, scored against everything stored, and only the
        identities they touch are re-clustered. Identical re-sends change nothing.
        `validate=True` first runs `matcher.ingest.validate` (pass `settings` or the store's).
        """
        errors = empty_errors()
        if validate:
            from matcher.ingest import validate as ingest_validate

            checked = ingest_validate(records, settings or self._saved_settings(None))
            records, errors = checked.records, checked.errors
        frame, shape_errors = canonical_frame(records, self.backend.extra_fields)
        if shape_errors.height:
            errors = pl.concat([errors, shape_errors.select(errors.columns)],
                               how="vertical_relaxed")
        return self._load_canonical(frame, errors, actor=actor)

    def load_batches(
        self,
        records: pl.DataFrame,
        *,
        batch_size: int = 1000,
        actor: str = "loader",
        after_batch: Callable[[LoadResult], None] | None = None,
    ) -> LoadResult:
        """`load` a large input in batches of `batch_size` rows, one transaction each.

        The same as calling `load` per batch, but the new and changed records are normalised
        and scored in a few large chunks first (`matcher.store.prescore`): per call, both carry
        a fixed cost that dominated a load of small batches. A batch commits only the pairs
        whose two records are stored once it commits. `after_batch` sees each batch's result.
        """
        extra_fields = self.backend.extra_fields
        frame, errors = canonical_frame(records, extra_fields)
        hashes = content_hashes(frame, extra_fields)
        results: list[LoadResult] = []
        with self._lock:
            prescored = self._prescore(frame, hashes, batch_size)
            try:
                for number, start in enumerate(range(0, frame.height, batch_size)):
                    batch = frame.slice(start, batch_size)
                    batch_hashes = hashes[start:start + batch_size]
                    try:
                        result = self._load_canonical(batch, empty_errors(), actor=actor,
                                                      hashes=batch_hashes,
                                                      scored=prescored.pairs_of(number))
                    except _StaleScores:
                        self._index.revert(self.engine, prescored.uncommitted())
                        prescored.clear()
                        result = self._load_canonical(batch, empty_errors(), actor=actor,
                                                      hashes=batch_hashes)
                    prescored.committed(number)
                    results.append(result)
                    if after_batch is not None:
                        after_batch(result)
            finally:
                self._index.revert(self.engine, prescored.uncommitted())
        return _combined(results, errors)

    def _prescore(self, frame: pl.DataFrame, hashes: list[str], batch_size: int) -> Prescored:
        """`Prescored.build` for the rows of `frame` that are new or changed (`hashes`: their
        content hashes)."""
        started = time.perf_counter()
        index = self.index()
        ids = frame["record_id"].to_list()
        stored: dict[str, str] = {}
        with db.read_session(self.engine) as session:
            for part in chunked(ids):
                stored.update(session.execute(
                    select(Record.record_id, Record.content_hash)
                    .where(in_values(Record.record_id, part))).tuples().all())
        changed = pl.Series([stored.get(rid) != digest for rid, digest
                             in zip(ids, hashes, strict=True)], dtype=pl.Boolean)
        work = frame.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) // batch_size).alias(BATCH)
        ).filter(changed)
        try:
            return Prescored.build(index, work)
        except BaseException:
            self._index.revert(self.engine, work["record_id"].to_list())
            raise
        finally:
            add_seconds(self.timings, "prescore", time.perf_counter() - started)

    def _load_canonical(
        self,
        frame: pl.DataFrame,
        errors: pl.DataFrame,
        *,
        actor: str,
        hashes: list[str] | None = None,
        scored: pl.DataFrame | None = None,
    ) -> LoadResult:
        """`load` of canonical rows. With `scored` (from `Prescored`), the records are
        already indexed and `scored` holds their pairs with stored records; `_StaleScores`
        if another writer stored records since they were scored (nothing is written).
        `hashes`: the rows' content hashes, if known."""
        extra_fields = self.backend.extra_fields
        hashes = content_hashes(frame, extra_fields) if hashes is None else hashes
        ids = frame["record_id"].to_list()
        result = LoadResult(rows=pl.DataFrame(), errors=errors)
        if not ids:
            result.rows = pl.DataFrame(schema=ROWS_SCHEMA)
            return result

        relinked: dict[str, str] = {}
        foreign_before = self._index.foreign_records
        with self.write_with_index() as (ctx, index, touched):
            if scored is not None and self._index.foreign_records != foreign_before:
                raise _StaleScores
            session = ctx.session
            existing: dict[str, tuple[str, int, str | None]] = {}
            for part in chunked(ids):
                for rid, digest, version, ident in ctx.select(
                    select(Record.record_id, Record.content_hash, Record.version,
                           Record.identity_id).where(in_values(Record.record_id, part))
                ):
                    existing[rid] = (digest, version, ident)
            status = [
                "new" if rid not in existing
                else ("unchanged" if existing[rid][0] == digest else "updated")
                for rid, digest in zip(ids, hashes, strict=True)
            ]
            work_mask = pl.Series([s != "unchanged" for s in status])
            work = frame.filter(work_mask)
            if work.height:
                with ctx.timed("write_records"):
                    self._write_records(ctx, work,
                                        [h for h, s in zip(hashes, status, strict=True)
                                         if s != "unchanged"], existing, touched, extra_fields)
                changed = [rid for rid, s in zip(ids, status, strict=True) if s == "updated"]
                if scored is None:
                    with ctx.timed("index_add"):
                        if changed:
                            index.remove(changed)
                        index.add(work)
                    with ctx.timed("score"):
                        pairs = pairs_once(index.match(work))
                else:
                    pairs = scored
                result.pairs = pairs.height
                low = pl.col("match_probability") < self.backend.thresholds.lower
                with ctx.timed("write_links"):
                    for column in (Link.record_id_l, Link.record_id_r):
                        for part in chunked(changed):
                            session.connection().execute(
                                delete(Link).where(in_values(column, part)))
                    insert_columns(session, Link, link_columns(pairs.filter(~low)),
                                   json_text=["contributions"])
                with ctx.timed("neighbourhood"):
                    hood = neighbourhood(ctx, work["record_id"].to_list(),
                                         self.backend.thresholds.upper)
                inside = pl.Series(sorted(hood.records), dtype=pl.String)
                evidence = Evidence(
                    seeds=frozenset(work["record_id"].to_list()),
                    fresh_low=pair_rows(
                        pairs.filter(low & pl.col("record_id_l").is_in(inside.implode())
                                     & pl.col("record_id_r").is_in(inside.implode()))),
                    rescore=self.rescorer(ctx, index),
                )
                outcome = recluster(ctx, self.backend, hood, cause="load",
                                    evidence=evidence)
                relinked = outcome.identity_of
                result.count(outcome, ctx.event_count)
                result.new = status.count("new")
                result.updated = status.count("updated")
                ctx.audit(actor, "load", target_kind="batch", new=result.new,
                          updated=result.updated, unchanged=len(ids) - work.height,
                          events=result.events, change_seq=ctx.change_seq)
            result.unchanged = status.count("unchanged")
        started = time.perf_counter()
        if self._statistics.after_write(result.new + result.updated):
            add_seconds(self.timings, "analyze", time.perf_counter() - started)
        # records outside the re-clustered neighbourhood kept their identity
        identity_of = {rid: found[2] for rid, found in existing.items()} | relinked
        result.rows = pl.DataFrame(
            {"record_id": ids, "status": status, "identity_id": [identity_of[r] for r in ids]},
            schema=ROWS_SCHEMA,
        )
        return result

    @staticmethod
    def _write_records(
        ctx: WriteContext,
        work: pl.DataFrame,
        hashes: list[str],
        existing: Mapping[str, tuple[str, int, str | None]],
        touched: list[str],
        extra_fields: tuple[str, ...],
    ) -> None:
        """Insert new records (identity assigned later in the transaction), update changed.
        `hashes` are the content hashes of `work`'s rows; its `extra_fields` columns go into
        `records.extra_fields`."""
        seq, now = ctx.change_seq, ctx.now
        ids = work["record_id"].to_list()
        fresh = [rid not in existing for rid in ids]
        is_new = pl.Series(fresh, dtype=pl.Boolean)
        touched.extend(ids)
        for new in (True, False):
            part = work.filter(is_new if new else ~is_new)
            if not part.height:
                continue
            n = part.height
            columns: dict[str, list[Any]] = part.drop(extra_fields).to_dict(as_series=False)
            columns |= {"extra_fields": packed_extra_fields(part, extra_fields),
                        "content_hash": [h for h, keep in zip(hashes, fresh, strict=True)
                                         if keep is new],
                        "change_seq": [seq] * n, "updated_at": [now] * n}
            if new:
                columns |= {"created_at": [now] * n, "version": [1] * n,
                            "identity_id": [None] * n}
                insert_columns(ctx.session, Record, columns, json_text=["extra_fields"])
            else:
                columns["version"] = [existing[rid][1] + 1 for rid in columns["record_id"]]
                update_columns(ctx.session, Record, "record_id", columns,
                               json_text=["extra_fields"])


    def upsert_record(self, record: Mapping[str, Any], *, actor: str = "loader",
                      validate: bool = True) -> RecordOutcome:
        """Insert or update one record and link it (the online path)."""
        frame = pl.DataFrame([{k: (None if v is None else str(v)) for k, v in record.items()}])
        result = self.load(frame, actor=actor, validate=validate)
        if result.rows.height == 0:
            rid = record.get("record_id")
            return RecordOutcome(record_id=str(rid) if rid is not None else "", status="rejected",
                                 identity_id=None, errors=result.errors.to_dicts())
        row = result.rows.row(0, named=True)
        return RecordOutcome(record_id=row["record_id"], status=row["status"],
                             identity_id=row["identity_id"], errors=result.errors.to_dicts())

    # -- matching without writing ----------------------------------------------------------
    def match(self, records: pl.DataFrame) -> pl.DataFrame:
        """Score records against the store without writing anything.

        Returns the pairs at or above the lower threshold, with the identity of each stored
        record (`identity_id`), best first per given record.
        """
        canonical = _probe_frame(records, self.backend.extra_fields)
        with self._lock, db.read_session(self.engine) as session:
            index = self._index.sync(self.backend, session)
            pairs = index.match(canonical)
            # a gather, not a filter query: this runs for every one-record match
            pairs = pairs[np.flatnonzero(pairs["match_probability"].to_numpy()
                                         >= self.backend.thresholds.lower)]
            stored = list(dict.fromkeys(pairs["record_id_r"].to_list()))
            identity_of: dict[str, str | None] = {}
            for part in chunked(stored):
                identity_of.update(session.execute(
                    select(Record.record_id, Record.identity_id)
                    .where(in_values(Record.record_id, part))
                ).tuples().all())
        identity = pl.Series("identity_id", [identity_of.get(r) for r in
                                             pairs["record_id_r"].to_list()], dtype=pl.String)
        return pairs.hstack([identity]).sort(["record_id_l", "match_probability"],
                                             descending=[False, True])

    # -- counts ----------------------------------------------------------------------------
    def counts(self, period: str) -> Any:
        """Distinct children per state and nationally for a reporting period (`2023-24`)."""
        from matcher.store.counts import child_counts

        return child_counts(self, period)

    def index_memory_bytes(self) -> int:
        """Memory the in-memory index reports (0 before it is built)."""
        index = self._index.index
        return index.memory_bytes() if index is not None else 0


@dataclass(frozen=True)
class _IndexRescorer:
    """`Rescorer` through the store's in-memory index, inside one write transaction."""

    ctx: WriteContext
    index: RecordIndex
    extra_fields: tuple[str, ...]

    def blocked(self, record_ids: list[str], among: AbstractSet[str]) -> list[dict[str, Any]]:
        frame, _ = read_records(self.ctx.session, record_ids=record_ids,
                                extra_fields=self.extra_fields)
        if not frame.height:
            return []
        wanted = pl.Series(sorted(among), dtype=pl.String).implode()
        pairs = pairs_once(self.index.match(frame, among)).filter(
            pl.col("record_id_l").is_in(wanted) & pl.col("record_id_r").is_in(wanted))
        return pair_rows(pairs)

    def pairs(self, keys: list[PairKey]) -> dict[str, list[Any]]:
        scored = self.index.score_pairs([k[0] for k in keys], [k[1] for k in keys])
        return link_columns(pairs_once(scored))


def _probe_frame(records: pl.DataFrame, extra_fields: tuple[str, ...]) -> pl.DataFrame:
    """Canonical rows to score: a missing record_id becomes `__probe_<row>`, a missing state
    `ZZ` (a few rows are shaped in plain Python)."""
    if records.height <= SMALL_FRAME:
        rows = records.to_dicts()
        for i, row in enumerate(rows):
            if row.get("record_id") is None:
                row["record_id"] = f"__probe_{i}"
            if row.get("state") is None:
                row["state"] = "ZZ"
        return canonical_rows(rows, extra_fields)[0]
    frame = records
    if "record_id" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("record_id"))
    frame = frame.with_row_index("__i").with_columns(
        pl.coalesce(pl.col("record_id").cast(pl.String),
                    pl.format("__probe_{}", pl.col("__i"))).alias("record_id"),
    )
    if "state" not in frame.columns:
        frame = frame.with_columns(pl.lit("ZZ").alias("state"))
    frame = frame.with_columns(pl.col("state").fill_null("ZZ"))
    return canonical_frame(frame.drop("__i"), extra_fields)[0]


def _pair_exprs() -> list[pl.Expr]:
    """The `links` pair columns (ids, probability, weight, twin flag, same name, identifier
    agrees, flag a typo can explain) in their stored types; the last three stay null where
    unknown."""
    return [*map(pl.col, PAIR_COLUMNS[:2]), pl.col(*PAIR_COLUMNS[2:4]).cast(pl.Float64),
            pl.col(PAIR_COLUMNS[4]).fill_null(False).cast(pl.Boolean),
            pl.col(*PAIR_COLUMNS[5:]).cast(pl.Boolean)]


def pair_rows(pairs: pl.DataFrame) -> list[dict[str, Any]]:
    """Scored pairs as `links` rows without contributions."""
    return pairs.select(_pair_exprs()).to_dicts()


def link_columns(pairs: pl.DataFrame) -> dict[str, list[Any]]:
    """`links` rows as columns from scored pairs, the `mw_*` contributions as JSON text
    (NaN as null)."""
    mw = [c for c in pairs.columns if c.startswith("mw_")]
    return pairs.select(
        *_pair_exprs(),
        (pl.struct(mw).struct.json_encode() if mw
         else pl.lit(None, dtype=pl.String)).alias("contributions"),
    ).to_dict(as_series=False)


def put_meta(ctx: WriteContext, values: Mapping[str, str]) -> None:
    """Write facts about the store inside a write transaction."""
    for key, value in values.items():
        row = ctx.session.get(StoreMeta, key)
        if row is None:
            ctx.session.add(StoreMeta(key=key, value=value, updated_at=ctx.now))
        else:
            row.value, row.updated_at = value, ctx.now


def model_generation(ctx: WriteContext) -> str:
    """The store's model generation as this transaction sees it ("0" before any rebuild)."""
    return ctx.session.scalar(
        select(StoreMeta.value).where(StoreMeta.key == META_MODEL_GENERATION)) or "0"


def settings_json(settings: Any) -> str:
    """Settings as the JSON the store keeps beside its model."""
    dump = getattr(settings, "model_dump_json", None)
    if callable(dump):
        return str(dump())
    return json.dumps(settings, default=str)
