"""Reading the audit log (auditor), and writing one row per API call.

Request rows name the caller (`key:<id>` or `anonymous`), the route template, path ids, status
and duration: never bodies or query strings, so no names or birth dates reach the log. They
are written in small batches by a background thread so that a slow write never holds up a
request; `flush()` writes what is waiting (shutdown calls it).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from api import adapters
from api.auth import Action, Principal
from api.schemas.audit import AuditEntriesPublic, AuditEntryPublic
from api.services.base import Context
from matcher.store import IdentityStore

log = logging.getLogger("studentlink.api.audit")
MAX_PENDING = 50_000


class AuditService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def page(self, principal: Principal, *, after: int, actor: str | None,
             action: str | None, limit: int) -> AuditEntriesPublic:
        principal.require(Action.READ_AUDIT)
        limit = min(limit, self.ctx.settings.max_page_size)
        rows = adapters.audit_page(self.ctx.store, after_id=after, actor=actor, action=action,
                                   limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return AuditEntriesPublic(
            data=[AuditEntryPublic.model_validate(r) for r in rows], count=len(rows),
            next_cursor=rows[-1].id if more and rows else None)


class AuditSink:
    """Buffers request audit rows and writes them in batches (at once if `delay` is 0)."""

    def __init__(self, store: IdentityStore, delay: float) -> None:
        self._store = store
        self._delay = delay
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if delay > 0:
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()

    def add(self, row: dict[str, Any]) -> None:
        """Queue one row (written within `delay` seconds)."""
        with self._lock:
            if len(self._pending) < MAX_PENDING:
                self._pending.append(row)
            else:  # pragma: no cover - only if the database is down for a long time
                log.error("audit backlog full; dropping a request row")
        if self._thread is None:
            self.flush()

    def flush(self) -> None:
        """Write everything queued so far."""
        with self._write_lock:
            with self._lock:
                rows, self._pending = self._pending, []
            if not rows:
                return
            try:
                adapters.write_audit(self._store, rows)
            except Exception as exc:  # keep the rows; try again on the next flush
                log.error("audit write failed (%s); %d rows kept", type(exc).__name__,
                          len(rows))
                with self._lock:
                    self._pending[:0] = rows

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self._delay)
            self.flush()

    def close(self) -> None:
        """Stop the writer thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
