"""Re-clustering a touched neighbourhood inside one write transaction.

The neighbourhood of some seed records is their closure over: identity membership, stored links
at or above the upper threshold, and must-link judgements. `cluster()` is component-local, so
re-clustering the closure with all stored pairs among its records gives the same partition a
batch run over everything would give for those records. The fresh clusters are then mapped onto
persistent identity IDs (`identity_plan`), and the differences written with their events and
review items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import polars as pl
from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from matcher.errors import StoreError
from matcher.store.backend import MatchingBackend
from matcher.store.context import (
    WriteContext,
    bulk_insert,
    bulk_update,
    chunked,
    insert_columns,
    update_columns,
)
from matcher.store.identity_plan import plan_identities
from matcher.store.ids import new_identity_ids
from matcher.store.models import (
    Identity,
    IdentityLineage,
    Judgement,
    Link,
    NearMatch,
    Record,
)
from matcher.store.sqlutil import in_values

SAME_NAME = "same_name"
IDENTIFIER_AGREES = "identifier_agrees"
TWIN_BY_NAMES = "multiple_birth_by_names"
"""`matcher.clustering`'s optional pair columns, named here so that opening a store does not
import the matching core (held equal by the tests)."""
PAIR_COLUMNS = ("record_id_l", "record_id_r", "match_probability", "match_weight",
                "possible_multiple_birth", SAME_NAME, IDENTIFIER_AGREES, TWIN_BY_NAMES)
"""The `links` pair columns. The last three are what batch `link` clusters with besides the
scores; a backend may leave them out (stored as null: unknown, read as False)."""

PairKey = tuple[str, str]


def pair_key(a: str, b: str) -> PairKey:
    """The canonical (smaller, larger) ordering of a record pair."""
    return (a, b) if a < b else (b, a)


@dataclass(kw_only=True)
class ChangeCounts:
    """What a write that re-clusters changed, counted (`LoadResult`, `RebuildResult`)."""

    identities_created: int = 0
    identities_merged: int = 0
    records_moved: int = 0
    near_matches_created: int = 0
    near_matches_closed: int = 0
    events: int = 0

    def count(self, outcome: ReclusterOutcome, events: int) -> None:
        """Take the counts of a re-clustering and of the transaction's `events`."""
        self.identities_created = len(outcome.identities_created)
        self.identities_merged = len(outcome.identities_merged)
        self.records_moved = outcome.records_moved
        self.near_matches_created = outcome.near_matches_created
        self.near_matches_closed = outcome.near_matches_closed
        self.events = events


@dataclass
class ReclusterOutcome:
    """What one re-clustering changed."""

    identity_of: dict[str, str] = field(default_factory=dict)
    identities_created: list[str] = field(default_factory=list)
    identities_merged: dict[str, str] = field(default_factory=dict)
    records_moved: int = 0
    near_matches_created: int = 0
    near_matches_closed: int = 0


class Rescorer(Protocol):
    """Scores stored records again inside a write transaction (`IdentityStore.rescorer`)."""

    def blocked(self, record_ids: list[str], among: Set[str]) -> list[dict[str, Any]]:
        """The records' candidate pairs (blocked through the index) with both ends in
        `among`, as `links` rows without contributions."""
        ...

    def pairs(self, keys: list[PairKey]) -> dict[str, list[Any]]:
        """These pairs, blocked or not, as `links` columns with their contributions (JSON
        text)."""
        ...


@dataclass(frozen=True)
class Evidence:
    """What one transaction adds to the pair graph, and how to score more pairs.

    Stored links are the pairs at or above the lower threshold plus, inside linked components,
    the pairs below it (cluster() reads a low pair inside a component as evidence against it).
    `seeds` are the new/changed records, whose every candidate pair was just scored:
    `fresh_low` holds their pairs below the lower threshold. `new_edges` are must-links this
    transaction adds. When a component now joins records that were apart before, the pairs
    among its older records were never needed and are scored again with `rescore`, which
    also scores the pairs inside small components that blocking never proposed.
    """

    seeds: frozenset[str] = frozenset()
    new_edges: frozenset[tuple[str, str]] = frozenset()
    fresh_low: Sequence[dict[str, Any]] = ()
    rescore: Rescorer | None = None


LinkRow = tuple[str, str, float, float, bool, bool, bool, bool]
"""record_id_l, record_id_r, match_probability, match_weight, possible_multiple_birth,
same_name, identifier_agrees, multiple_birth_by_names (null read as False)."""


def link_row(values: Sequence[Any]) -> LinkRow:
    """A `LinkRow` from the `PAIR_COLUMNS` values of a stored or scored pair."""
    left, right, prob, weight, flag, same_name, agrees, by_names = values
    return (left, right, float(prob), float(weight), bool(flag), bool(same_name), bool(agrees),
            bool(by_names))


@dataclass
class _Links:
    within: list[LinkRow]
    crossing: list[LinkRow]
    by_key: dict[PairKey, LinkRow]
    """Both, by (record_id_l, record_id_r)."""


def _in(column: Any, values: Iterable[str]) -> Any:
    return in_values(column, values)


@dataclass(frozen=True)
class Neighbourhood:
    """A closed neighbourhood (`records`) and what taking the closure read of them: each
    record's identity and state, every stored link touching them and the active judgements
    touching them (`recluster` needs no second read)."""

    records: frozenset[str]
    info: Mapping[str, tuple[str | None, str]]
    """record -> (identity, state), for the stored ones."""
    links: Mapping[PairKey, LinkRow]
    judgements: Mapping[PairKey, tuple[int, str]]
    """pair -> (id, decision) of its latest active judgement."""

    def split_links(self) -> _Links:
        """The links among the records (`within`) and those leaving them (`crossing`)."""
        records = self.records
        ordered = [self.links[key] for key in sorted(self.links)]
        within = [lk for lk in ordered if lk[0] in records and lk[1] in records]
        crossing = [lk for lk in ordered if not (lk[0] in records and lk[1] in records)]
        return _Links(within=within, crossing=crossing, by_key=dict(self.links))


def neighbourhood(ctx: WriteContext, seeds: Iterable[str], upper: float) -> Neighbourhood:
    """The closure of `seeds` over identity membership, strong links and must-links.

    Every record is read once, as it joins: its identity and state, all its links and
    active judgements (only the strong links and the must-links are followed)."""
    members: set[str] = set(seeds)
    frontier = set(members)
    info: dict[str, tuple[str | None, str]] = {}
    links: dict[PairKey, LinkRow] = {}
    judgements: dict[PairKey, tuple[int, str]] = {}
    seen_identities: set[str] = set()
    columns = (Link.record_id_l, Link.record_id_r, Link.match_probability, Link.match_weight,
               Link.possible_multiple_birth, Link.same_name, Link.identifier_agrees,
               Link.multiple_birth_by_names)
    while frontier:
        found: set[str] = set()
        unread = sorted(r for r in frontier if r not in info)
        for part in chunked(unread):
            for rid, identity, state in ctx.select(
                select(Record.record_id, Record.identity_id, Record.state)
                .where(_in(Record.record_id, part))
            ):
                info[rid] = (identity, state)
        for part in chunked(sorted(frontier)):
            for stored in ctx.select(select(*columns).where(
                    or_(_in(Link.record_id_l, part), _in(Link.record_id_r, part)))):
                row = link_row(stored)
                links[(row[0], row[1])] = row
                if row[2] >= upper:
                    found.update(row[:2])
            for jid, left, right, decision in ctx.select(
                select(Judgement.id, Judgement.record_id_l, Judgement.record_id_r,
                       Judgement.decision).where(
                    or_(_in(Judgement.record_id_l, part), _in(Judgement.record_id_r, part)),
                    Judgement.active.is_(True))
            ):
                key = pair_key(left, right)
                if key not in judgements or judgements[key][0] < jid:
                    judgements[key] = (jid, decision)
                if decision == "match":
                    found.update((left, right))
        identities = {found_info[0] for r in frontier
                      if (found_info := info.get(r)) is not None and found_info[0] is not None}
        # each identity's records are read once
        new_identities = sorted(identities - seen_identities)
        seen_identities.update(new_identities)
        for part in chunked(new_identities):
            for rid, identity, state in ctx.select(
                select(Record.record_id, Record.identity_id, Record.state)
                .where(_in(Record.identity_id, part))
            ):
                info[rid] = (identity, state)
                found.add(rid)
        frontier = found - members
        members |= found
    return Neighbourhood(records=frozenset(members), info=info, links=links,
                         judgements=judgements)


def _pairs_frame(links: list[LinkRow]) -> pl.DataFrame:
    return pl.DataFrame(
        links,
        schema={"record_id_l": pl.String, "record_id_r": pl.String,
                "match_probability": pl.Float64, "match_weight": pl.Float64,
                "possible_multiple_birth": pl.Boolean, SAME_NAME: pl.Boolean,
                IDENTIFIER_AGREES: pl.Boolean, TWIN_BY_NAMES: pl.Boolean},
        orient="row",
    )


def _constraint_frame(pairs: list[PairKey]) -> pl.DataFrame | None:
    if not pairs:
        return None
    return pl.DataFrame(
        {"record_id_l": [p[0] for p in pairs], "record_id_r": [p[1] for p in pairs]},
        schema={"record_id_l": pl.String, "record_id_r": pl.String},
    )


def components(records: Iterable[str], edges: Iterable[PairKey]) -> dict[str, str]:
    """Union-find: record -> a representative record of its connected component."""
    parent = {r: r for r in records}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return {r: find(r) for r in parent}


def _complete_low_pairs(ctx: WriteContext, records: Set[str], links: _Links,
                        must: list[PairKey], evidence: Evidence, lower: float, upper: float
                        ) -> None:
    """Store (and add to `links.within`) the pairs below the lower threshold that fall inside
    a linked component of `records`: the seeds' fresh ones, and re-scored ones where a
    component now joins older records that were apart."""
    strong = [(lk[0], lk[1]) for lk in links.within if lk[2] >= upper] + must
    component = components(records, strong)
    old_edges = [e for e in strong if e[0] not in evidence.seeds
                 and e[1] not in evidence.seeds and e not in evidence.new_edges]
    olds = [r for r in records if r not in evidence.seeds]
    before = components(olds, old_edges)
    parts: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in olds:
        parts[component[r]][before[r]].append(r)
    # Pairs between the old parts a component now joins were never needed: score them again.
    # Scoring every part but the largest against the index finds all of them.
    rescore: list[str] = []
    among: set[str] = set()
    for groups in parts.values():
        if len(groups) > 1:
            ordered = sorted(groups.values(), key=lambda g: (-len(g), min(g)))
            rescore.extend(r for g in ordered[1:] for r in g)
            among.update(r for g in ordered for r in g)

    known = links.by_key  # a pair inside the component that is stored is one of `within`
    candidates: list[dict[str, Any]] = list(evidence.fresh_low)
    if rescore and evidence.rescore is not None:
        with ctx.timed("rescore"):
            candidates += evidence.rescore.blocked(sorted(rescore), among)
    added: dict[PairKey, dict[str, Any]] = {}
    for pair in candidates:
        key = (pair["record_id_l"], pair["record_id_r"])
        if (pair["match_probability"] < lower and key not in known and key not in added
                and key[0] in component and key[1] in component
                and component[key[0]] == component[key[1]]):
            added[key] = {**pair, "contributions": None}
    if added:
        bulk_insert(ctx.session, Link, list(added.values()))
        rows = [link_row([p.get(c) for c in PAIR_COLUMNS]) for p in added.values()]
        links.within.extend(rows)
        links.by_key.update(((row[0], row[1]), row) for row in rows)


def _complete_components(ctx: WriteContext, records: Set[str], links: _Links,
                         must: list[PairKey], cannot: list[PairKey], rescorer: Rescorer,
                         upper: float) -> None:
    """Score and store the pairs inside small linked components that were never scored
    (blocking did not propose them), as batch `link` does (`clustering.pairs_to_complete`,
    over the components `cluster()` links: strong unflagged pairs not judged apart, and
    must-links)."""
    from matcher.clustering import pairs_to_complete

    if len(records) < 3:
        return
    ordered = sorted(records)
    row = {rid: i for i, rid in enumerate(ordered)}
    apart = set(cannot)
    edges = [(row[lk[0]], row[lk[1]]) for lk in links.within
             if lk[2] >= upper and not lk[4] and (lk[0], lk[1]) not in apart]
    edges += [(row[a], row[b]) for a, b in must]
    known = [(row[lk[0]], row[lk[1]]) for lk in links.within]
    edge, seen = (np.asarray(e, dtype=np.int64).reshape(-1, 2) for e in (edges, known))
    lo, hi = pairs_to_complete(len(ordered), edge[:, 0], edge[:, 1], seen[:, 0], seen[:, 1])
    if not len(lo):
        return
    columns = rescorer.pairs([(ordered[a], ordered[b])
                              for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])
    insert_columns(ctx.session, Link, columns, json_text=["contributions"])
    rows = [link_row(values) for values in zip(*(columns[c] for c in PAIR_COLUMNS),
                                               strict=True)]
    links.within.extend(rows)
    links.by_key.update(((row[0], row[1]), row) for row in rows)


def recluster(
    ctx: WriteContext,
    backend: MatchingBackend,
    hood: Neighbourhood,
    *,
    cause: str,
    evidence: Evidence | None = None,
    anchors: Mapping[str, Set[str]] | None = None,
    change_id: int | None = None,
) -> ReclusterOutcome:
    """Re-cluster a closed neighbourhood (`neighbourhood()`, taken in this transaction with
    nothing written since) and write what changed."""
    evidence = evidence or Evidence()
    records = hood.records
    ordered = sorted(records)
    info = hood.info
    missing = records - info.keys()
    if missing:
        raise StoreError(f"'record_id' must name stored records; got {sorted(missing)[:5]!r}")
    previous = {rid: identity for rid, (identity, _) in info.items()}
    state_of = {rid: state for rid, (_, state) in info.items()}

    links = hood.split_links()
    judged = {key: decision for key, (_, decision) in hood.judgements.items()}
    must = [k for k, d in judged.items() if d == "match" and k[0] in records and k[1] in records]
    cannot = [k for k, d in judged.items()
              if d == "non_match" and k[0] in records and k[1] in records]
    _complete_low_pairs(ctx, records, links, must, evidence, backend.thresholds.lower,
                        backend.thresholds.upper)
    if evidence.rescore is not None:
        with ctx.timed("complete"):
            _complete_components(ctx, records, links, must, cannot, evidence.rescore,
                                 backend.thresholds.upper)

    clusters: dict[int, list[str]] = defaultdict(list)
    cluster_near: pl.DataFrame | None = None
    lower = backend.thresholds.lower
    if not must and not any(lk[2] >= lower for lk in links.within):
        # Nothing among these records reaches even the review band: each record is its own
        # cluster and there is no near match (exactly what cluster() would return).
        for number, rid in enumerate(ordered):
            clusters[number].append(rid)
    else:
        with ctx.timed("cluster"):
            result = backend.cluster(
                pl.Series("record_id", ordered, dtype=pl.String),
                _pairs_frame(links.within),
                backend.thresholds,
                must_link=_constraint_frame(must),
                cannot_link=_constraint_frame(cannot),
            )
        cluster_near = result.near_matches
        for rid, cid in result.assignments.select("record_id", "cluster_id").iter_rows():
            clusters[int(cid)].append(rid)
    assigned = [rid for rids in clusters.values() for rid in rids]
    if len(assigned) != len(records) or set(assigned) != records:
        raise StoreError("cluster() must assign every record it is given exactly once")

    old_ids = sorted({i for i in previous.values() if i is not None})
    age: dict[str, int] = {}
    for part in chunked(old_ids):
        for ident, pk in ctx.select(
            select(Identity.identity_id, Identity.pk).where(_in(Identity.identity_id, part))
        ):
            age[ident] = pk
    plan = plan_identities(clusters, previous, age, anchors)

    fresh = [cid for cid, ident in plan.cluster_identity.items() if ident is None]
    fresh_ids = new_identity_ids(len(fresh), lambda cands: _taken(ctx, cands))
    final = dict(zip(fresh, fresh_ids, strict=True))
    final.update({cid: kept for cid, kept in plan.cluster_identity.items() if kept is not None})
    identity_of = {rid: final[cid] for cid, rids in clusters.items() for rid in rids}
    outcome = ReclusterOutcome(identity_of=identity_of,
                               identities_merged=dict(plan.merged_into))

    with ctx.timed("write_identities"):
        _write_identities(ctx, clusters, final, set(fresh_ids), previous, plan.merged_into,
                          state_of, cause, change_id, outcome)
    with ctx.timed("near_matches"):
        _reconcile_near_matches(ctx, records, cluster_near, links, judged,
                                identity_of, state_of, backend.thresholds.lower, outcome)
    return outcome


_NEAR_MATCH_READ = (NearMatch.id, NearMatch.record_id_l, NearMatch.record_id_r,
                    NearMatch.state_l, NearMatch.state_r, NearMatch.status,
                    NearMatch.match_probability, NearMatch.match_weight)


def _expire_cached(session: Session, model: type[NearMatch], ids: Iterable[int]) -> None:
    """Rows written with plain statements: a loaded object of them is read again on use."""
    for pk in ids:
        cached = session.identity_map.get(identity_key(model, pk))
        if cached is not None:
            session.expire(cached)


def _taken(ctx: WriteContext, candidates: list[str]) -> list[str]:
    return list(ctx.scalars(
        select(Identity.identity_id).where(_in(Identity.identity_id, candidates))
    ))


def _write_identities(
    ctx: WriteContext,
    clusters: Mapping[int, list[str]],
    final: Mapping[int, str],
    fresh: set[str],
    previous: Mapping[str, str | None],
    merged_into: Mapping[str, str],
    state_of: Mapping[str, str],
    cause: str,
    change_id: int | None,
    outcome: ReclusterOutcome,
) -> None:
    session, now = ctx.session, ctx.now
    extra: dict[str, Any] = {"cause": cause}
    if change_id is not None:
        extra["change_id"] = change_id

    if fresh:
        # creation order (the age that decides later merges) follows each cluster's first record
        first_record = {final[cid]: min(rids) for cid, rids in clusters.items()}
        bulk_insert(session, Identity, [
            {"identity_id": ident, "status": "active", "cause": cause,
             "created_at": now, "updated_at": now}
            for ident in sorted(fresh, key=first_record.__getitem__)
        ])
        outcome.identities_created = sorted(fresh)

    moves = [{"record_id": rid, "identity_id": final[cid]}
             for cid, rids in clusters.items() for rid in rids
             if previous.get(rid) != final[cid]]
    if moves:
        bulk_update(session, Record, "record_id", moves)
    outcome.records_moved = sum(1 for m in moves if previous.get(m["record_id"]) is not None)

    retired = sorted(merged_into)
    update_columns(session, Identity, "identity_id", {
        "identity_id": retired, "status": ["merged"] * len(retired),
        "merged_into": [merged_into[r] for r in retired], "retired_at": [now] * len(retired),
        "updated_at": [now] * len(retired)})
    changed = {m["identity_id"] for m in moves} | {
        ident for m in moves if (ident := previous.get(m["record_id"])) is not None
    }
    changed -= fresh | set(merged_into)
    for part in chunked(sorted(changed)):
        session.connection().execute(update(Identity).where(_in(Identity.identity_id, part))
                                     .values(updated_at=now))

    lineage: list[dict[str, Any]] = []
    former_states: dict[str, set[str]] = defaultdict(set)
    for rid, ident in previous.items():
        if ident is not None:
            former_states[ident].add(state_of[rid])

    for cid in sorted(clusters, key=lambda c: min(clusters[c])):
        rids = sorted(clusters[cid])
        ident = final[cid]
        states = {state_of[r] for r in rids}
        if ident in fresh:
            sources = sorted({previous[r] for r in rids if previous.get(r) is not None},
                             key=str)
            ctx.emit("identity_created", identity_id=ident, states=states,
                     record_ids=rids, **extra)
            for source in sources:
                assert source is not None
                leavers = [r for r in rids if previous.get(r) == source]
                seq = ctx.emit(
                    "identity_split", identity_id=source,
                    states=states | former_states[source],
                    new_identity_ids=[ident], record_ids=leavers, **extra,
                )
                lineage.append({"identity_id": ident, "related_id": source,
                                "relation": "split_from", "event_seq": seq, "created_at": now})
            continue
        joined = [r for r in rids if previous.get(r) != ident]
        if not joined:
            continue
        retired_here = sorted(m for m, s in merged_into.items() if s == ident)
        if retired_here:
            moved = [r for r in joined if previous.get(r) in retired_here]
            seq = ctx.emit(
                "identities_merged", identity_id=ident, states=states,
                merged_ids=retired_here, record_ids=moved, **extra,
            )
            lineage.extend({"identity_id": m, "related_id": ident, "relation": "merged_into",
                            "event_seq": seq, "created_at": now} for m in retired_here)
        for rid in joined:
            source = previous.get(rid)
            if source in retired_here:
                continue
            ctx.emit(
                "record_linked", identity_id=ident, record_id=rid,
                states=states | (former_states[source] if source else set()),
                from_identity_id=source, **extra,
            )
        earlier = {state_of[r] for r in rids if previous.get(r) == ident}
        arriving = sorted({state_of[r] for r in joined} - earlier)
        if earlier and arriving:
            ctx.emit(
                "student_moved", identity_id=ident, states=earlier,
                from_states=sorted(earlier), to_states=arriving,
                record_ids=[r for r in joined if state_of[r] in arriving], **extra,
            )
    if lineage:
        bulk_insert(session, IdentityLineage, lineage)


def _reconcile_near_matches(
    ctx: WriteContext,
    records: Set[str],
    cluster_near: pl.DataFrame | None,
    links: _Links,
    judged: Mapping[PairKey, str],
    identity_of: Mapping[str, str],
    state_of: Mapping[str, str],
    lower: float,
    outcome: ReclusterOutcome,
) -> None:
    """Open, refresh or close the review items of pairs touching `records`.

    Wanted items: the near matches `cluster()` reports inside the neighbourhood (one per pair
    of clusters), and for pairs leaving it, the best pair in the band per pair of identities,
    leaving out pairs a judgement already decided.
    """
    session, now = ctx.session, ctx.now
    row_by_key = links.by_key
    desired: dict[PairKey, LinkRow] = {}
    if cluster_near is not None and cluster_near.height:
        for left, right in cluster_near.select("record_id_l", "record_id_r").iter_rows():
            key = pair_key(left, right)
            row = row_by_key.get(key)
            if row is None or key in judged or identity_of[left] == identity_of[right]:
                continue
            desired[key] = row

    band = [lk for lk in links.crossing if lk[2] >= lower and (lk[0], lk[1]) not in judged]
    outside = sorted({r for lk in band for r in lk[:2] if r not in records})
    other_identity: dict[str, str | None] = {}
    other_states: dict[str, str] = {}
    for part in chunked(outside):
        for rid, ident, st in ctx.select(
            select(Record.record_id, Record.identity_id, Record.state)
            .where(_in(Record.record_id, part))
        ):
            other_identity[rid], other_states[rid] = ident, st
    best: dict[tuple[str, str], LinkRow] = {}
    for lk in band:
        a = identity_of.get(lk[0]) or other_identity.get(lk[0]) or lk[0]
        b = identity_of.get(lk[1]) or other_identity.get(lk[1]) or lk[1]
        key2 = (a, b) if a < b else (b, a)
        if key2 not in best or (-lk[2], lk[:2]) < (-best[key2][2], best[key2][:2]):
            best[key2] = lk
    for lk in best.values():
        desired[(lk[0], lk[1])] = lk

    def state(rid: str) -> str:
        return state_of.get(rid) or other_states[rid]

    # plain rows, written back by key at the end (loading ORM objects cost more than the rest)
    existing: dict[PairKey, Any] = {}
    for part in chunked(sorted(records)):
        for item in ctx.select(select(*_NEAR_MATCH_READ).where(
            or_(_in(NearMatch.record_id_l, part), _in(NearMatch.record_id_r, part))
        )):
            existing[(item.record_id_l, item.record_id_r)] = item

    closed: list[int] = []
    for key, item in sorted(existing.items()):
        if item.status == "open" and key not in desired:
            closed.append(item.id)
            ctx.emit("near_match_resolved", states={item.state_l, item.state_r},
                     near_match_id=item.id, record_id_l=item.record_id_l,
                     record_id_r=item.record_id_r, resolution="obsolete")
            outcome.near_matches_closed += 1

    def stale(key: PairKey) -> bool:
        item = existing.get(key)
        if item is None or item.status == "obsolete":
            return True
        row = desired[key]
        return item.status == "open" and (item.match_probability, item.match_weight) != (
            row[2], row[3])

    wanted = sorted(k for k in desired if stale(k))
    contributions: dict[PairKey, dict[str, Any]] = {}
    wanted_set = set(wanted)
    lefts, rights = sorted({k[0] for k in wanted}), sorted({k[1] for k in wanted})
    for part in chunked(lefts):
        for left, right, values in ctx.select(
            select(Link.record_id_l, Link.record_id_r, Link.contributions)
            .where(_in(Link.record_id_l, part), _in(Link.record_id_r, rights))
        ):
            if (left, right) in wanted_set:
                contributions[(left, right)] = dict(values or {})
    to_create: list[dict[str, Any]] = []
    reopened: list[dict[str, Any]] = []
    refreshed: list[dict[str, Any]] = []
    for key in wanted:
        row = desired[key]
        found = existing.get(key)
        values = {"match_probability": row[2], "match_weight": row[3],
                  "possible_multiple_birth": row[4],
                  "contributions": contributions.get(key, {})}
        if found is None:
            to_create.append({"record_id_l": key[0], "record_id_r": key[1],
                              "state_l": state(key[0]), "state_r": state(key[1]),
                              "status": "open", "created_at": now, "updated_at": now, **values})
        elif found.status == "obsolete":
            reopened.append({"id": found.id, **values, "status": "open", "resolved_at": None,
                             "updated_at": now})
            ctx.emit("near_match_created", states={found.state_l, found.state_r},
                     near_match_id=found.id, record_id_l=key[0], record_id_r=key[1],
                     match_probability=row[2])
            outcome.near_matches_created += 1
        elif (found.match_probability, found.match_weight) != (row[2], row[3]):
            refreshed.append({"id": found.id, **values, "updated_at": now})
    update_columns(session, NearMatch, "id", {
        "id": closed, "status": ["obsolete"] * len(closed), "decision": [None] * len(closed),
        "resolved_at": [now] * len(closed), "updated_at": [now] * len(closed)})
    for rows in (reopened, refreshed):
        if rows:
            bulk_update(session, NearMatch, "id", rows)
    _expire_cached(session, NearMatch, [*closed, *(r["id"] for r in reopened + refreshed)])
    if to_create:
        ids = list(session.scalars(
            insert(NearMatch).returning(NearMatch.id, sort_by_parameter_order=True), to_create
        ))
        for nid, created in zip(ids, to_create, strict=True):
            ctx.emit("near_match_created", states={created["state_l"], created["state_r"]},
                     near_match_id=nid, record_id_l=created["record_id_l"],
                     record_id_r=created["record_id_r"],
                     match_probability=created["match_probability"])
        outcome.near_matches_created += len(to_create)
    session.flush()
