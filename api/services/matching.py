"""Scoring a record against the store without writing anything.

Validating and scoring a few records costs little more than one (the matching core runs a
fixed number of polars queries per call, whatever the row count), so concurrent requests are
coalesced: a single worker thread takes every request waiting, validates them together, scores
the valid ones in one `store.match` call, and hands each its own candidates (or its field
errors).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from api.auth import Action, Principal
from api.errors import Unprocessable
from api.schemas.match import Band, CandidatePublic, MatchCreate, MatchPublic, ThresholdsPublic
from api.services.base import Context
from matcher.ingest import validate
from matcher.schema import CANONICAL_COLUMNS
from matcher.settings import Settings
from matcher.store import IdentityStore
from matcher.store.records import CANONICAL_SCHEMA

PROBE_PREFIX = "__probe__"
PROBE_STATE = "ZZ"
MAX_COALESCED = 64

log = logging.getLogger("studentlink.api.match")


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


@dataclass
class _Probe:
    values: dict[str, Any]
    """As sent; `record_id` is the caller's (a stored record is not its own match)."""
    future: Future[list[dict[str, Any]]] = field(default_factory=Future)
    clean: dict[str, Any] = field(default_factory=dict)
    """The values after validation (blanks as missing)."""


class MatchBatcher:
    """One worker thread validating and scoring waiting probes together.

    `score` blocks until its probe is done; a probe with field errors gets `Unprocessable`.
    """

    def __init__(self, store: IdentityStore, settings: Callable[[], Settings],
                 max_batch: int = MAX_COALESCED) -> None:
        self._store = store
        self._settings = settings
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Probe | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def score(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        """Pairs (dicts) of this record with stored records at or above `lower`."""
        probe = _Probe(values)
        with self._lock:
            if self._closed:
                raise RuntimeError("the match worker has stopped")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="match-batcher",
                                                daemon=True)
                self._thread.start()
        self._queue.put(probe)
        return probe.future.result()

    def close(self) -> None:
        """Stop the worker (waiting requests are still answered)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._score(batch)
            if stop:
                return

    def _score(self, batch: list[_Probe]) -> None:
        try:
            valid = self._validate(batch)
            results = self._match(valid) if valid else []
        except Exception as exc:
            if len(batch) == 1:
                log.error("matching a record failed: %s", type(exc).__name__)
                if not batch[0].future.done():
                    batch[0].future.set_exception(RuntimeError("matching failed"))
                return
            for probe in batch:  # one bad probe must not fail the others
                if not probe.future.done():
                    self._score([probe])
            return
        for probe, pairs in zip(valid, results, strict=True):
            probe.future.set_result(pairs)

    def _validate(self, batch: list[_Probe]) -> list[_Probe]:
        """Field checks for the whole batch at once; failing probes get their 422."""
        rows = [{**{c: p.values.get(c) for c in CANONICAL_COLUMNS},
                 "record_id": f"{PROBE_PREFIX}{i}",
                 "state": p.values.get("state") or PROBE_STATE} for i, p in enumerate(batch)]
        checked = validate(pl.DataFrame(rows, schema=CANONICAL_SCHEMA), self._settings())
        problems: dict[int, list[tuple[list[str | int], str]]] = {}
        for err in checked.errors.iter_rows(named=True):
            problems.setdefault(err["row"] - 1, []).append(
                (["body", "record", err["field"]], err["reason"]))
        for i, errors in problems.items():
            batch[i].future.set_exception(Unprocessable(errors))
        for probe, row in zip((p for i, p in enumerate(batch) if i not in problems),
                              checked.records.iter_rows(named=True), strict=True):
            probe.clean = {c: row[c] for c in CANONICAL_COLUMNS}
        return [p for i, p in enumerate(batch) if i not in problems]

    def _match(self, batch: list[_Probe]) -> list[list[dict[str, Any]]]:
        rows = [{**p.clean, "record_id": f"{PROBE_PREFIX}{i}"} for i, p in enumerate(batch)]
        pairs = self._store.match(pl.DataFrame(rows, schema=CANONICAL_SCHEMA))
        found: list[list[dict[str, Any]]] = [[] for _ in batch]
        for row in pairs.iter_rows(named=True):
            i = int(row["record_id_l"].removeprefix(PROBE_PREFIX))
            if row["record_id_r"] != batch[i].values.get("record_id"):
                found[i].append(row)
        return found


class MatchService:
    """The top candidate identities for a record, with each comparison's contribution."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.batcher = MatchBatcher(ctx.store, lambda: ctx.matching)

    def close(self) -> None:
        self.batcher.close()

    def match(self, principal: Principal, request: MatchCreate) -> MatchPublic:
        principal.require(Action.MATCH_RECORDS)
        self.ctx.require_backend()
        pairs = self.batcher.score(request.record.model_dump())
        thresholds = self.ctx.thresholds
        limit = min(request.limit, self.ctx.settings.max_match_candidates)
        candidates: list[CandidatePublic] = []
        seen: set[str | None] = set()
        for row in sorted(pairs, key=lambda r: -float(r["match_probability"])):
            identity = row.get("identity_id")
            if identity in seen:
                continue
            seen.add(identity)
            probability = float(row["match_probability"])
            candidates.append(CandidatePublic(
                identity_id=identity, record_id=row["record_id_r"],
                match_probability=probability, match_weight=_number(row["match_weight"]),
                band=Band.LINK if probability >= thresholds.upper else Band.REVIEW,
                possible_multiple_birth=bool(row.get("possible_multiple_birth")),
                contributions={k.removeprefix("mw_"): _number(v) for k, v in row.items()
                               if k.startswith("mw_")}))
            if len(candidates) >= limit:
                break
        return MatchPublic(data=candidates, count=len(candidates),
                           thresholds=ThresholdsPublic(upper=thresholds.upper,
                                                       lower=thresholds.lower))
