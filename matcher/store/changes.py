"""Merges and splits under the two-person rule.

One administrator initiates; the change takes effect only when a different administrator
validates it (or automatically once the escalation period has passed, recorded as
`auto_approved`). While pending, the records involved are locked against other merges and
splits (and against judgements). An approved change leaves judgements behind so that no later
automatic run undoes it: a merge must-links all the identities' records; a split cannot-links
the leavers from the stayers and must-links the leavers together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from matcher.errors import ConflictError, NotFoundError, StoreError
from matcher.store import db
from matcher.store.context import WriteContext, chunked
from matcher.store.models import ChangeLock, Identity, Judgement, PendingChange, Record, utcnow
from matcher.store.recluster import Evidence, Rescorer, neighbourhood, pair_key, recluster
from matcher.store.sqlutil import in_values

if TYPE_CHECKING:
    from matcher.store.store import IdentityStore

ESCALATION_ACTOR = "system:escalation"


@dataclass(frozen=True)
class ChangeView:
    """A merge or split and where it stands."""

    id: int
    kind: str
    status: str
    identity_ids: list[str]
    record_ids: list[str]
    note: str | None
    initiated_by: str
    initiated_at: datetime
    due_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    result: dict[str, Any]


def _view(c: PendingChange) -> ChangeView:
    return ChangeView(c.id, c.kind, c.status, list(c.identity_ids), list(c.record_ids or []),
                      c.note, c.initiated_by, c.initiated_at, c.due_at, c.decided_by,
                      c.decided_at, c.decision_note, dict(c.result or {}))


def _members(ctx: WriteContext, identity_ids: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in identity_ids}
    for rid, ident in ctx.session.execute(
        select(Record.record_id, Record.identity_id)
        .where(in_values(Record.identity_id, out)).order_by(Record.record_id)
    ):
        if ident is not None:
            out[ident].append(rid)
    return out


def _active_identity(ctx: WriteContext, identity_id: str) -> Identity:
    ident = ctx.session.scalar(select(Identity).where(Identity.identity_id == identity_id))
    if ident is None:
        raise NotFoundError(f"'identity_id' must name an identity; got {identity_id!r}")
    if ident.status != "active":
        raise ConflictError(
            f"'identity_id' must be active; {identity_id!r} was merged into {ident.merged_into!r}")
    return ident


def _resolve(ctx: WriteContext, identity_id: str) -> str:
    """The active identity an ID stands for now (following merges)."""
    current, seen = identity_id, set()
    while current not in seen:
        seen.add(current)
        target = ctx.session.scalar(
            select(Identity.merged_into).where(Identity.identity_id == current))
        if target is None:
            return current
        current = target
    return current


class Changes:
    """Initiate, validate, reject and escalate merges and splits."""

    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    # -- reading ---------------------------------------------------------------------------
    def get(self, change_id: int) -> ChangeView:
        """One change."""
        with db.read_session(self._store.engine) as session:
            change = session.get(PendingChange, change_id)
            if change is None:
                raise NotFoundError(f"'change_id' must name a merge or split; got {change_id!r}")
            return _view(change)

    def list_changes(self, *, status: str | None = "pending") -> list[ChangeView]:
        """Changes with a status (all when None), oldest first."""
        stmt = select(PendingChange).order_by(PendingChange.id)
        if status is not None:
            stmt = stmt.where(PendingChange.status == status)
        with db.read_session(self._store.engine) as session:
            return [_view(c) for c in session.scalars(stmt)]

    # -- initiating ------------------------------------------------------------------------
    def initiate_merge(self, identity_ids: Sequence[str], *, actor: str,
                       note: str | None = None) -> ChangeView:
        """Propose merging identities into one (the oldest ID will survive)."""
        wanted = list(dict.fromkeys(identity_ids))
        if len(wanted) < 2:
            raise StoreError(f"'identity_ids' must name at least two identities; got {wanted!r}")
        with self._store.write() as ctx:
            for ident in wanted:
                _active_identity(ctx, ident)
            members = _members(ctx, wanted)
            records = [r for rids in members.values() for r in rids]
            self._refuse_cannot_links(ctx, members)
            change = PendingChange(kind="merge", status="pending", identity_ids=wanted,
                                   record_ids=[], note=note, initiated_by=actor,
                                   initiated_at=ctx.now,
                                   due_at=ctx.now + self._store.config.escalation_period,
                                   result={})
            self._lock(ctx, change, records)
            ctx.audit(actor, "merge_initiated", target_kind="change", target_id=str(change.id),
                      identity_ids=wanted, note=note)
            return _view(change)

    def initiate_split(self, identity_id: str, record_ids: Sequence[str], *, actor: str,
                       note: str | None = None) -> ChangeView:
        """Propose moving `record_ids` out of an identity into a new one."""
        leavers = sorted(set(record_ids))
        with self._store.write() as ctx:
            _active_identity(ctx, identity_id)
            members = _members(ctx, [identity_id])[identity_id]
            strangers = sorted(set(leavers) - set(members))
            if not leavers or strangers:
                raise StoreError(f"'record_ids' must be records of identity {identity_id}; "
                                 f"got {strangers or leavers!r}")
            if len(leavers) == len(members):
                raise StoreError("'record_ids' must leave at least one record behind; "
                                 f"got all {len(members)} records of {identity_id}")
            change = PendingChange(kind="split", status="pending", identity_ids=[identity_id],
                                   record_ids=leavers, note=note, initiated_by=actor,
                                   initiated_at=ctx.now,
                                   due_at=ctx.now + self._store.config.escalation_period,
                                   result={})
            self._lock(ctx, change, members)
            ctx.audit(actor, "split_initiated", target_kind="change", target_id=str(change.id),
                      identity_id=identity_id, record_ids=leavers, note=note)
            return _view(change)

    @staticmethod
    def _refuse_cannot_links(ctx: WriteContext, members: dict[str, list[str]]) -> None:
        owner = {r: i for i, rids in members.items() for r in rids}
        records = sorted(owner)
        for part in chunked(records):
            rows = ctx.session.execute(
                select(Judgement.id, Judgement.record_id_l, Judgement.record_id_r).where(
                    Judgement.active.is_(True), Judgement.decision == "non_match",
                    in_values(Judgement.record_id_l, part))
            ).all()
            for jid, left, right in rows:
                if right in owner and owner[right] != owner[left]:
                    raise ConflictError(
                        f"records {left!r} and {right!r} carry a non-match judgement (#{jid}); "
                        "record a new judgement on the pair before merging")

    @staticmethod
    def _lock(ctx: WriteContext, change: PendingChange, records: Sequence[str]) -> None:
        session = ctx.session
        for part in chunked(sorted(records)):
            held = session.execute(
                select(ChangeLock.record_id, ChangeLock.change_id)
                .where(in_values(ChangeLock.record_id, part)).limit(1)
            ).first()
            if held is not None:
                raise ConflictError(
                    f"record {held[0]!r} is locked by pending change #{held[1]}; "
                    "validate or reject that one first")
        session.add(change)
        try:
            session.flush()
            if records:
                session.execute(insert(ChangeLock),
                                [{"record_id": r, "change_id": change.id} for r in records])
        except IntegrityError as exc:
            raise ConflictError("records are locked by another pending change") from exc

    # -- deciding --------------------------------------------------------------------------
    def validate(self, change_id: int, *, actor: str, note: str | None = None) -> ChangeView:
        """Second administrator approves: the change takes effect now."""
        return self._decide(change_id, actor=actor, note=note, approve=True)

    def reject(self, change_id: int, *, actor: str, note: str | None = None) -> ChangeView:
        """Reject (a different administrator) or withdraw (the initiator) a pending change."""
        return self._decide(change_id, actor=actor, note=note, approve=False)

    def escalate(self, *, now: datetime | None = None) -> list[ChangeView]:
        """Approve every pending change whose escalation period has passed (`auto_approved`)."""
        moment = now or utcnow()
        done = []
        for change in self.list_changes(status="pending"):
            if change.due_at <= moment:
                done.append(self._decide(change.id, actor=ESCALATION_ACTOR,
                                         note="escalation period passed", approve=True,
                                         automatic=True))
        return done

    def _decide(self, change_id: int, *, actor: str, note: str | None, approve: bool,
                automatic: bool = False) -> ChangeView:
        store = self._store
        with store.write_with_index() as (ctx, index, _touched):
            change = ctx.session.get(PendingChange, change_id, with_for_update=True)
            if change is None:
                raise NotFoundError(f"'change_id' must name a merge or split; got {change_id!r}")
            if change.status != "pending":
                raise ConflictError(f"change #{change_id} is already {change.status}")
            if approve and not automatic and actor == change.initiated_by:
                raise ConflictError(
                    f"change #{change_id} was initiated by {actor!r}; a different "
                    "administrator must validate it (two-person rule)")
            ctx.session.execute(delete(ChangeLock).where(ChangeLock.change_id == change.id))
            if approve:
                rescore = store.rescorer(ctx, index)
                result = (self._apply_merge(ctx, change, actor, rescore)
                          if change.kind == "merge"
                          else self._apply_split(ctx, change, actor, rescore))
                change.status = "auto_approved" if automatic else "approved"
                change.result = result
            else:
                change.status = "withdrawn" if actor == change.initiated_by else "rejected"
            change.decided_by, change.decided_at, change.decision_note = actor, ctx.now, note
            ctx.audit(actor, f"{change.kind}_{change.status}", target_kind="change",
                      target_id=str(change.id), note=note, result=dict(change.result or {}),
                      initiated_by=change.initiated_by)
            return _view(change)

    def _apply_merge(self, ctx: WriteContext, change: PendingChange, actor: str,
                     rescore: Rescorer) -> dict[str, Any]:
        store = self._store
        current = [_resolve(ctx, i) for i in change.identity_ids]
        wanted = list(dict.fromkeys(current))
        members = _members(ctx, wanted)
        self._refuse_cannot_links(ctx, members)
        # Every member is must-linked (a chain through all records), not one per identity:
        # a member held only by automatic links could otherwise be pulled out by the twin
        # guard or the repair, and the merge would not hold.
        records = [r for rids in members.values() for r in rids]
        judgements: list[dict[str, Any]] = [
            {"record_id_l": pair_key(a, b)[0], "record_id_r": pair_key(a, b)[1],
             "decision": "match", "source": "merge", "actor": actor,
             "note": f"merge #{change.id} initiated by {change.initiated_by}", "active": True,
             "change_id": change.id, "created_at": ctx.now}
            for a, b in pairwise(records)
        ]
        self._supersede(ctx, [(j["record_id_l"], j["record_id_r"]) for j in judgements])
        if judgements:
            ctx.session.execute(insert(Judgement), judgements)
        touched = neighbourhood(ctx, records, store.backend.thresholds.upper)
        evidence = Evidence(new_edges=frozenset((j["record_id_l"], j["record_id_r"])
                                                for j in judgements), rescore=rescore)
        outcome = recluster(ctx, store.backend, touched, cause="merge", change_id=change.id,
                            evidence=evidence)
        survivors = {outcome.identity_of[r] for r in records}
        if len(survivors) != 1:
            raise StoreError(f"merge #{change.id} could not be applied: clustering kept "
                             f"{len(survivors)} identities apart")
        survivor = survivors.pop()
        return {"identity_id": survivor,
                "merged_ids": sorted(i for i in wanted if i != survivor)}

    def _apply_split(self, ctx: WriteContext, change: PendingChange, actor: str,
                     rescore: Rescorer) -> dict[str, Any]:
        store = self._store
        identity_id = change.identity_ids[0]
        _active_identity(ctx, identity_id)
        members = _members(ctx, [identity_id])[identity_id]
        leavers = list(change.record_ids)
        missing = sorted(set(leavers) - set(members))
        if missing:
            raise ConflictError(f"split #{change.id} is stale: {missing!r} left identity "
                                f"{identity_id} since; reject it and start again")
        stayers = [r for r in members if r not in set(leavers)]
        if not stayers:
            raise ConflictError(f"split #{change.id} would empty identity {identity_id}")
        base = {"source": "split", "actor": actor, "active": True, "change_id": change.id,
                "note": f"split #{change.id} initiated by {change.initiated_by}",
                "created_at": ctx.now}
        pairs: list[tuple[tuple[str, str], str]] = [
            (pair_key(a, b), "non_match") for a in leavers for b in stayers]
        pairs += [(pair_key(a, b), "match") for a, b in pairwise(leavers)]
        self._supersede(ctx, [p for p, _ in pairs])
        ctx.session.execute(insert(Judgement), [
            {"record_id_l": p[0], "record_id_r": p[1], "decision": d, **base} for p, d in pairs])
        touched = neighbourhood(ctx, members, store.backend.thresholds.upper)
        evidence = Evidence(new_edges=frozenset(p for p, d in pairs if d == "match"),
                            rescore=rescore)
        outcome = recluster(ctx, store.backend, touched, cause="split", change_id=change.id,
                            anchors={identity_id: set(stayers)}, evidence=evidence)
        new_ids = sorted({outcome.identity_of[r] for r in leavers})
        return {"identity_id": identity_id, "new_identity_ids": new_ids,
                "record_ids": sorted(leavers)}

    @staticmethod
    def _supersede(ctx: WriteContext, pairs: Sequence[tuple[str, str]]) -> None:
        for left, right in pairs:
            ctx.session.execute(
                update(Judgement).where(
                    and_(Judgement.record_id_l == left, Judgement.record_id_r == right,
                         Judgement.active.is_(True))
                ).values(active=False)
            )

