"""What the review page reads from the store: the queue with its filters and counts, records
by id, identity members, locks, and the comparison levels a pair reached.

These are small read-only queries over the store's tables; the store's services do not offer
queue filters (state pair, multiple births, sort by age), per-pair counts or records by id yet.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, or_, select

from api.review_session import Reviewer
from matcher.schema import CANONICAL_COLUMNS
from matcher.store import db
from matcher.store.models import ChangeLock, NearMatch, Record
from matcher.store.reviews import NearMatchView

LOG = logging.getLogger("studentlink.review")

PAGE_SIZE = 50
SORTS: dict[str, str] = {
    "score": "Highest score first",
    "score_asc": "Lowest score first",
    "age": "Oldest first",
    "newest": "Newest first",
}
TWIN_FILTERS: dict[str, str] = {"": "All pairs", "only": "Possible multiple births only",
                                "exclude": "Without possible multiple births"}
STATUSES: dict[str, str] = {"open": "Open", "unsure": "Unsure", "resolved": "Decided"}
DECIDABLE = ("open", "unsure")
"""Statuses a reviewer may still decide (as the API's decision endpoint)."""


@dataclass(frozen=True)
class QueueItem(NearMatchView):
    """A review item as the queue page shows it."""

    @property
    def state_pair(self) -> str:
        return pair_code(self.state_l, self.state_r)


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"
    sort: str = "score"
    twins: str = ""
    pair: str = ""

    @classmethod
    def parse(cls, status: str | None, sort: str | None, twins: str | None,
              pair: str | None) -> QueueFilter:
        return cls(status if status in STATUSES else "open",
                   sort if sort in SORTS else "score",
                   twins if twins in TWIN_FILTERS else "",
                   (pair or "").upper() if _valid_pair(pair) else "")

    def query(self, **extra: Any) -> str:
        values = {"status": self.status, "sort": self.sort, "twins": self.twins,
                  "pair": self.pair, **extra}
        defaults = {"status": "open", "sort": "score", "twins": "", "pair": ""}
        kept = {k: v for k, v in values.items() if v not in (None, "") and defaults.get(k) != v}
        return urlencode(kept)


def pair_code(a: str, b: str) -> str:
    return "-".join(sorted((a.upper(), b.upper())))


def _valid_pair(pair: str | None) -> bool:
    if not pair:
        return False
    parts = pair.split("-")
    return len(parts) == 2 and all(len(p) == 2 and p.isalpha() for p in parts)


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ReviewData:
    """Read-only queries over the store's tables for the queue and the pair view."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _session(self) -> Any:
        return db.read_session(self.store.engine)

    @staticmethod
    def _scoped(stmt: Any, states: Sequence[str] | None) -> Any:
        if states is None:
            return stmt
        return stmt.where(or_(NearMatch.state_l.in_(states), NearMatch.state_r.in_(states)))

    def _filtered(self, stmt: Any, reviewer: Reviewer, filt: QueueFilter) -> Any:
        stmt = self._scoped(stmt, reviewer.states).where(NearMatch.status == filt.status)
        if filt.twins == "only":
            stmt = stmt.where(NearMatch.possible_multiple_birth.is_(True))
        elif filt.twins == "exclude":
            stmt = stmt.where(NearMatch.possible_multiple_birth.is_(False))
        if filt.pair:
            a, b = filt.pair.split("-")
            stmt = stmt.where(or_((NearMatch.state_l == a) & (NearMatch.state_r == b),
                                  (NearMatch.state_l == b) & (NearMatch.state_r == a)))
        return stmt

    @staticmethod
    def _ordered(stmt: Any, filt: QueueFilter) -> Any:
        if filt.status == "resolved":
            return stmt.order_by(NearMatch.resolved_at.desc(), NearMatch.id.desc())
        order = {
            "score": (NearMatch.match_probability.desc(), NearMatch.id),
            "score_asc": (NearMatch.match_probability.asc(), NearMatch.id),
            "age": (NearMatch.created_at.asc(), NearMatch.id),
            "newest": (NearMatch.created_at.desc(), NearMatch.id.desc()),
        }[filt.sort]
        return stmt.order_by(*order)

    @staticmethod
    def _item(row: Any) -> QueueItem:
        created = _as_utc(row.created_at)
        assert created is not None
        return QueueItem(row.id, row.record_id_l, row.record_id_r, row.state_l, row.state_r,
                         float(row.match_probability), float(row.match_weight),
                         bool(row.possible_multiple_birth), dict(row.contributions or {}),
                         row.status, row.decision, created, _as_utc(row.resolved_at),
                         row.resolved_by)

    def queue(self, reviewer: Reviewer, filt: QueueFilter, *, limit: int = PAGE_SIZE,
              offset: int = 0) -> tuple[list[QueueItem], int]:
        """One page of items and how many match the filter."""
        stmt = self._ordered(self._filtered(select(NearMatch), reviewer, filt), filt)
        count = self._filtered(select(func.count()).select_from(NearMatch), reviewer, filt)
        with self._session() as session:
            items = [self._item(i) for i in session.scalars(stmt.limit(limit).offset(offset))]
            total = int(session.scalar(count) or 0)
        return items, total

    def ordered_ids(self, reviewer: Reviewer, filt: QueueFilter) -> list[int]:
        """Every item id under the filter, in queue order (for next/previous)."""
        stmt = self._ordered(self._filtered(select(NearMatch.id), reviewer, filt), filt)
        with self._session() as session:
            return [int(i) for i in session.scalars(stmt)]

    def item(self, item_id: int) -> QueueItem | None:
        with self._session() as session:
            row = session.get(NearMatch, item_id)
            return self._item(row) if row is not None else None

    def counts(self, reviewer: Reviewer) -> dict[str, Any]:
        """Open/unsure/decided counts, open possible multiple births, open items per state pair."""
        with self._session() as session:
            by_status = dict(session.execute(self._scoped(
                select(NearMatch.status, func.count()).group_by(NearMatch.status),
                reviewer.states)).all())
            twins = session.scalar(self._scoped(
                select(func.count()).select_from(NearMatch).where(
                    NearMatch.status == "open", NearMatch.possible_multiple_birth.is_(True)),
                reviewer.states)) or 0
            pairs: dict[str, int] = {}
            for a, b, n in session.execute(self._scoped(
                select(NearMatch.state_l, NearMatch.state_r, func.count())
                .where(NearMatch.status == "open")
                .group_by(NearMatch.state_l, NearMatch.state_r), reviewer.states)):
                code = pair_code(a, b)
                pairs[code] = pairs.get(code, 0) + int(n)
        return {"open": int(by_status.get("open", 0)), "unsure": int(by_status.get("unsure", 0)),
                "resolved": int(by_status.get("resolved", 0)), "twins": int(twins),
                "pairs": sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))}

    def records(self, record_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Records by id: canonical columns, the extra fields the record has (the store's
        preset's, `records.extra_fields`), identity_id, version and updated_at."""
        wanted = sorted(set(record_ids))
        out: dict[str, dict[str, Any]] = {}
        if not wanted:
            return out
        columns = [getattr(Record, c) for c in CANONICAL_COLUMNS]
        with self._session() as session:
            for start in range(0, len(wanted), 500):
                part = wanted[start:start + 500]
                for row in session.execute(
                    select(*columns, Record.extra_fields, Record.identity_id, Record.version,
                           Record.updated_at)
                    .where(Record.record_id.in_(part))
                ):
                    values = dict(zip(CANONICAL_COLUMNS, row[:len(CANONICAL_COLUMNS)],
                                      strict=True))
                    values.update(row.extra_fields or {})
                    values.update(identity_id=row.identity_id, version=row.version,
                                  updated_at=_as_utc(row.updated_at))
                    out[values["record_id"]] = values
        return out

    def members(self, identity_id: str) -> list[dict[str, Any]]:
        """Member records of an identity (as `records` returns them), by record_id."""
        with self._session() as session:
            ids = list(session.scalars(select(Record.record_id)
                                       .where(Record.identity_id == identity_id)))
        found = self.records(ids)
        return [found[r] for r in sorted(found)]

    def items_of(self, reviewer: Reviewer, record_ids: Iterable[str]) -> list[QueueItem]:
        """Open or unsure review items that involve any of the records, in scope."""
        wanted = sorted(set(record_ids))
        if not wanted:
            return []
        stmt = self._scoped(
            select(NearMatch).where(
                NearMatch.status.in_(DECIDABLE),
                or_(NearMatch.record_id_l.in_(wanted), NearMatch.record_id_r.in_(wanted)))
            .order_by(NearMatch.match_probability.desc(), NearMatch.id).limit(100),
            reviewer.states)
        with self._session() as session:
            return [self._item(i) for i in session.scalars(stmt)]

    def pending_change_of(self, record_ids: Iterable[str]) -> dict[str, int]:
        """Records locked by a pending merge or split -> the change id."""
        wanted = sorted(set(record_ids))
        if not wanted:
            return {}
        with self._session() as session:
            return {r: int(c) for r, c in session.execute(
                select(ChangeLock.record_id, ChangeLock.change_id)
                .where(ChangeLock.record_id.in_(wanted)))}


# -- comparison levels, for the chart's "why" ------------------------------------------------


def no_evidence(why: str | None = None) -> str:
    """The chart's wording for a comparison at its null level."""
    return f"{why or 'missing or not comparable'}: no evidence"


NO_EVIDENCE = no_evidence()


def comparison_levels(store: Any, left: Mapping[str, Any], right: Mapping[str, Any]
                      ) -> dict[str, str]:
    """The level each comparison reached for this pair ("nickname or equivalent form", ...).

    Uses the matching settings saved in the store; {} when the store has none or anything
    fails (the chart then shows the contributions without level labels).
    """
    try:
        saved = store.meta("settings_json")
        if not saved:
            return {}
        import polars as pl

        linker = _linker(saved)
        columns = [*CANONICAL_COLUMNS, *linker.extra_fields]
        frame = pl.DataFrame([{c: _str_or_none(rec.get(c)) for c in columns}
                              for rec in (left, right)],
                             schema=dict.fromkeys(columns, pl.String))
        pairs = pl.DataFrame({"idx_l": [0], "idx_r": [1]},
                             schema={"idx_l": pl.UInt32, "idx_r": pl.UInt32})
        gammas = linker.compare(linker.prepare(frame), pairs)
        out: dict[str, str] = {}
        for comparison in linker.comparisons:
            level = int(gammas[comparison.gamma_column][0])
            out[comparison.name] = (comparison.levels[level].label if level >= 0
                                    else no_evidence(comparison.null_label))
        return out
    except Exception:  # the chart must render even when the explanation cannot be computed
        LOG.warning("review: could not compute comparison levels", exc_info=True)
        return {}


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


@lru_cache(maxsize=4)
def _linker(settings_json: str) -> Any:
    from matcher.pipeline import Linker
    from matcher.settings import parse_settings

    return Linker(parse_settings(json.loads(settings_json), "saved in the store"))


def thresholds_of(store: Any) -> tuple[float, float] | None:
    """(lower, upper) match-probability thresholds in force, or None without a model."""
    if not getattr(store, "has_backend", False):
        return None
    t = store.backend.thresholds
    return float(t.lower), float(t.upper)
