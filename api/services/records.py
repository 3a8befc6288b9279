"""Uploading records in batches (per-row results) and reading one back."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from api import adapters
from api.auth import Action, Principal
from api.errors import Conflict, NotFound, PayloadTooLarge, Unprocessable, not_visible
from api.schemas.records import (
    Change,
    FieldErrorPublic,
    Outcome,
    RecordCreate,
    RecordPublic,
    RecordResultPublic,
    RecordResultsPublic,
    RecordsCreate,
    UploadSummaryPublic,
)
from api.services.base import Context
from api.services.visibility import identity_states
from matcher.ingest import validate
from matcher.schema import CANONICAL_COLUMNS
from matcher.store.records import CANONICAL_SCHEMA

IDEMPOTENCY_TARGET = "idempotency_key"
IDEMPOTENCY_MISMATCH = "was already used with a different request body"
IDEMPOTENCY_BUSY = "a request with this Idempotency-Key is still being processed"


def record_public(stored: adapters.StoredRecord) -> RecordPublic:
    """A stored record as the API shows it."""
    return RecordPublic.model_validate({
        **stored.values, "identity_id": stored.identity_id, "version": stored.version,
        "created_at": stored.created_at, "updated_at": stored.updated_at})


@dataclass
class _Row:
    row: int
    record_id: str
    errors: list[FieldErrorPublic]


class RecordService:
    """Batch upsert with per-row outcomes, honouring Idempotency-Key; single-record reads."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._replays: OrderedDict[str, tuple[str, RecordResultsPublic]] = OrderedDict()
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------
    def get(self, principal: Principal, record_id: str) -> RecordPublic:
        """One stored record, if its identity involves the caller's states."""
        principal.require(Action.READ_RECORDS)
        stored = adapters.get_record(self.ctx.store, record_id)
        if stored is None:
            raise NotFound("record not found")
        states = ({stored.values["state"]} | set(identity_states(self.ctx.store,
                                                                 stored.identity_id))
                  if stored.identity_id else {stored.values["state"]})
        if not principal.sees_any(states):
            raise not_visible("record")
        return record_public(stored)

    # -- uploading -------------------------------------------------------------------------
    def upsert(self, principal: Principal, batch: RecordsCreate,
               idempotency_key: str | None = None) -> tuple[RecordResultsPublic, bool]:
        """Store a batch; returns the results and whether they are a replay."""
        principal.require(Action.UPLOAD_RECORDS)
        limit = self.ctx.settings.max_batch_records
        if len(batch.records) > limit:
            raise PayloadTooLarge(f"a batch may hold at most {limit} records; "
                                  f"got {len(batch.records)}")
        self.ctx.require_backend()
        if idempotency_key is None:
            return self._upsert(principal, batch.records), False
        return self._idempotent(principal, batch, idempotency_key)

    def _idempotent(self, principal: Principal, batch: RecordsCreate, key: str
                    ) -> tuple[RecordResultsPublic, bool]:
        target = hashlib.sha256(f"{principal.key_id}\x1f{key}".encode()).hexdigest()
        body = hashlib.sha256(batch.model_dump_json().encode()).hexdigest()
        with self._lock:
            if target in self._in_flight:
                raise Conflict(IDEMPOTENCY_BUSY)
            cached = self._replays.get(target)
            if cached is not None:
                self._check_same_body(cached[0], body)
                self._replays.move_to_end(target)
                return cached[1], True
            self._in_flight.add(target)
        try:
            seen = adapters.find_audit(self.ctx.store, target_kind=IDEMPOTENCY_TARGET,
                                       target_id=target)
            if seen is not None:
                self._check_same_body(str((seen.detail or {}).get("body_sha256")), body)
            # Re-running a batch already stored changes nothing, so a replay the cache has
            # forgotten (another process, a restart) is answered by running it again.
            result = self._upsert(principal, batch.records)
            if seen is None:
                adapters.write_audit(self.ctx.store, [{
                    "actor": principal.actor, "action": "idempotency_key",
                    "target_kind": IDEMPOTENCY_TARGET, "target_id": target,
                    "detail": {"body_sha256": body, "rows": result.count}}])
            self._remember(target, body, result)
            return result, seen is not None
        finally:
            with self._lock:
                self._in_flight.discard(target)

    @staticmethod
    def _check_same_body(seen: str, body: str) -> None:
        if seen != body:
            raise Unprocessable([(["header", "Idempotency-Key"], IDEMPOTENCY_MISMATCH)])

    def _remember(self, target: str, body: str, result: RecordResultsPublic) -> None:
        size = self.ctx.settings.idempotency_cache_size
        if size <= 0:
            return
        with self._lock:
            self._replays[target] = (body, result)
            self._replays.move_to_end(target)
            while len(self._replays) > size:
                self._replays.popitem(last=False)

    def _upsert(self, principal: Principal, records: Sequence[RecordCreate]
                ) -> RecordResultsPublic:
        rows = [_Row(i + 1, r.record_id, []) for i, r in enumerate(records)]
        values = [r.model_dump() for r in records]
        self._precheck(principal, rows, values)
        candidates = [i for i, r in enumerate(rows) if not r.errors]
        frame = pl.DataFrame([{c: values[i].get(c) for c in CANONICAL_COLUMNS}
                              for i in candidates], schema=CANONICAL_SCHEMA)
        checked = validate(frame, self.ctx.matching)
        for err in checked.errors.iter_rows(named=True):
            rows[candidates[err["row"] - 1]].errors.append(
                FieldErrorPublic(field=err["field"], reason=err["reason"]))
        accepted = checked.records.select(CANONICAL_COLUMNS)
        outcome_of: dict[str, tuple[str, str | None]] = {}
        if accepted.height:
            result = self.ctx.store.load(accepted, actor=principal.actor)
            position = {rows[i].record_id: rows[i] for i in candidates}
            for err in result.errors.iter_rows(named=True):
                row = position.get(err["record_id"])
                if row is not None:
                    row.errors.append(FieldErrorPublic(field=err["field"], reason=err["reason"]))
            outcome_of = {r: (s, i) for r, s, i in result.rows.iter_rows()}
        return self._results(rows, outcome_of)

    @staticmethod
    def _precheck(principal: Principal, rows: list[_Row], values: list[dict[str, Any]]) -> None:
        """Rejections the preset cannot know: repeats within the batch, foreign states."""
        seen: set[str] = set()
        for row, value in zip(rows, values, strict=True):
            if row.record_id in seen:
                row.errors.append(FieldErrorPublic(
                    field="record_id",
                    reason=f"'record_id' must be unique within a batch; got {row.record_id!r} "
                           "again"))
            seen.add(row.record_id)
            state = value.get("state")
            if state and state.strip() and not principal.sees_state(state.strip()):
                row.errors.append(FieldErrorPublic(
                    field="state",
                    reason=f"'state' must be one of your key's states "
                           f"({', '.join(principal.states)}); got {state.strip()!r}"))

    def _results(self, rows: list[_Row], outcome_of: dict[str, tuple[str, str | None]]
                 ) -> RecordResultsPublic:
        stored = [r.record_id for r in rows if not r.errors and r.record_id in outcome_of]
        sizes = adapters.identity_sizes(self.ctx.store, (outcome_of[r][1] or "" for r in stored))
        queued = adapters.open_near_matches(self.ctx.store, stored)
        summary = UploadSummaryPublic()
        data: list[RecordResultPublic] = []
        for row in rows:
            if row.errors or row.record_id not in outcome_of:
                outcome, change, identity = Outcome.REJECTED, None, None
                summary.rejected += 1
            else:
                status, identity = outcome_of[row.record_id]
                change = Change(status)
                setattr(summary, change.value, getattr(summary, change.value) + 1)
                if sizes.get(identity or "", 1) > 1:
                    outcome = Outcome.LINKED
                elif queued.get(row.record_id):
                    outcome = Outcome.NEAR_MATCH_QUEUED
                else:
                    outcome = Outcome.NEW_IDENTITY
                setattr(summary, outcome.value, getattr(summary, outcome.value) + 1)
            data.append(RecordResultPublic(
                row=row.row, record_id=row.record_id, outcome=outcome, change=change,
                identity_id=identity, near_match_ids=queued.get(row.record_id, []),
                errors=row.errors))
        return RecordResultsPublic(data=data, count=len(data), summary=summary)
