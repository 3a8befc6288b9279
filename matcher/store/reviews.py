"""The near-match queue and reviewers' judgements.

A judgement is a fact automation never overrides: `match` is a must-link and `non_match` a
cannot-link for every later re-clustering; `unsure` parks the item (status "unsure") for a
second look. Only the latest judgement on a pair is active.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update

from matcher.errors import ConflictError, NotFoundError, StoreError
from matcher.store import db
from matcher.store.models import ChangeLock, Judgement, NearMatch, Record
from matcher.store.recluster import Evidence, neighbourhood, pair_key, recluster

if TYPE_CHECKING:
    from matcher.store.store import IdentityStore

DECISIONS: tuple[str, ...] = ("match", "non_match", "unsure")


@dataclass(frozen=True)
class NearMatchView:
    """A review item with its scores and per-comparison contributions."""

    id: int
    record_id_l: str
    record_id_r: str
    state_l: str
    state_r: str
    match_probability: float
    match_weight: float
    possible_multiple_birth: bool
    contributions: dict[str, Any]
    status: str
    decision: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


@dataclass(frozen=True)
class JudgementView:
    """A recorded judgement."""

    id: int
    record_id_l: str
    record_id_r: str
    decision: str
    source: str
    actor: str
    note: str | None
    active: bool
    near_match_id: int | None
    created_at: datetime


def _view(item: NearMatch) -> NearMatchView:
    return NearMatchView(item.id, item.record_id_l, item.record_id_r, item.state_l,
                         item.state_r, item.match_probability, item.match_weight,
                         item.possible_multiple_birth, dict(item.contributions or {}),
                         item.status, item.decision, item.created_at, item.resolved_at,
                         item.resolved_by)


def _judgement_view(j: Judgement) -> JudgementView:
    return JudgementView(j.id, j.record_id_l, j.record_id_r, j.decision, j.source, j.actor,
                         j.note, j.active, j.near_match_id, j.created_at)


class Reviews:
    """The near-match queue (routed to the states of the records) and judgements."""

    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    def queue(self, *, states: Sequence[str] | None = None, status: str = "open",
              limit: int = 100, offset: int = 0) -> list[NearMatchView]:
        """Review items with `status`, for any of `states` if given; most probable first."""
        stmt = (select(NearMatch).where(NearMatch.status == status)
                .order_by(NearMatch.match_probability.desc(), NearMatch.id)
                .limit(limit).offset(offset))
        if states:
            wanted = [s.upper() for s in states]
            stmt = stmt.where(or_(NearMatch.state_l.in_(wanted), NearMatch.state_r.in_(wanted)))
        with db.read_session(self._store.engine) as session:
            return [_view(i) for i in session.scalars(stmt)]

    def count(self, *, states: Sequence[str] | None = None, status: str = "open") -> int:
        """How many items `queue` would list without a limit."""
        stmt = select(func.count()).select_from(NearMatch).where(NearMatch.status == status)
        if states:
            wanted = [s.upper() for s in states]
            stmt = stmt.where(or_(NearMatch.state_l.in_(wanted), NearMatch.state_r.in_(wanted)))
        with db.read_session(self._store.engine) as session:
            return int(session.scalar(stmt) or 0)

    def get(self, near_match_id: int) -> NearMatchView:
        """One review item."""
        with db.read_session(self._store.engine) as session:
            item = session.get(NearMatch, near_match_id)
            if item is None:
                raise NotFoundError(
                    f"'near_match_id' must name a review item; got {near_match_id!r}")
            return _view(item)

    def judgements(self, record_id: str | None = None, *, active_only: bool = False
                   ) -> list[JudgementView]:
        """Judgements (on pairs involving `record_id`, if given), oldest first."""
        stmt = select(Judgement).order_by(Judgement.id)
        if record_id is not None:
            stmt = stmt.where(or_(Judgement.record_id_l == record_id,
                                  Judgement.record_id_r == record_id))
        if active_only:
            stmt = stmt.where(Judgement.active.is_(True))
        with db.read_session(self._store.engine) as session:
            return [_judgement_view(j) for j in session.scalars(stmt)]

    def judge(
        self,
        near_match_id: int | None = None,
        *,
        decision: str,
        actor: str,
        note: str | None = None,
        record_ids: tuple[str, str] | None = None,
    ) -> JudgementView:
        """Record a decision on a review item (or directly on a record pair) and apply it.

        `match` and `non_match` re-cluster the records' neighbourhood at once. A non-match
        between records of one identity is a split, and needs the two-person rule
        (`changes.initiate_split`); records locked by a pending merge/split refuse judgements.
        """
        if decision not in DECISIONS:
            raise StoreError(f"'decision' must be one of {', '.join(DECISIONS)}; got {decision!r}")
        if (near_match_id is None) == (record_ids is None):
            raise StoreError("give exactly one of 'near_match_id' and 'record_ids'")
        store = self._store
        with store.write_with_index() as (ctx, index, _touched):
            session = ctx.session
            item: NearMatch | None = None
            if near_match_id is not None:
                item = session.get(NearMatch, near_match_id)
                if item is None:
                    raise NotFoundError(
                        f"'near_match_id' must name a review item; got {near_match_id!r}")
                left, right = item.record_id_l, item.record_id_r
            else:
                assert record_ids is not None
                left, right = pair_key(*record_ids)
                if left == right:
                    raise StoreError(f"'record_ids' must be two records; got {record_ids!r}")
                item = session.scalar(select(NearMatch).where(
                    NearMatch.record_id_l == left, NearMatch.record_id_r == right))
            found = dict(session.execute(
                select(Record.record_id, Record.identity_id)
                .where(Record.record_id.in_([left, right]))
            ).all())
            for rid in (left, right):
                if rid not in found:
                    raise NotFoundError(f"'record_id' must name a stored record; got {rid!r}")
            if decision != "unsure":
                locked = session.scalars(
                    select(ChangeLock.record_id).where(ChangeLock.record_id.in_([left, right]))
                ).all()
                if locked:
                    raise ConflictError(
                        f"record {locked[0]!r} is locked by a pending merge or split; "
                        "validate or reject it first")
            if decision == "non_match" and found[left] == found[right]:
                raise ConflictError(
                    f"records {left!r} and {right!r} are one identity ({found[left]}); "
                    "separating them is a split and needs a second administrator")
            session.execute(
                update(Judgement)
                .where(and_(Judgement.record_id_l == left, Judgement.record_id_r == right,
                            Judgement.active.is_(True)))
                .values(active=False)
            )
            judgement = Judgement(record_id_l=left, record_id_r=right, decision=decision,
                                  source="review", actor=actor, note=note, active=True,
                                  near_match_id=item.id if item else None, created_at=ctx.now)
            session.add(judgement)
            if item is not None:
                item.status = "unsure" if decision == "unsure" else "resolved"
                item.decision = decision
                item.resolved_at, item.resolved_by, item.updated_at = ctx.now, actor, ctx.now
                ctx.emit("near_match_resolved", states={item.state_l, item.state_r},
                         near_match_id=item.id, record_id_l=left, record_id_r=right,
                         resolution=decision, actor=actor)
            session.flush()
            ctx.audit(actor, "judgement", target_kind="pair", target_id=f"{left}|{right}",
                      decision=decision, note=note, judgement_id=judgement.id,
                      near_match_id=item.id if item else None)
            if decision != "unsure":
                touched = neighbourhood(ctx, [left, right], store.backend.thresholds.upper)
                evidence = Evidence(new_edges=frozenset({(left, right)} if decision == "match"
                                                        else set()),
                                    rescore=store.rescorer(ctx, index))
                recluster(ctx, store.backend, touched, cause="judgement", evidence=evidence)
            return _judgement_view(judgement)
