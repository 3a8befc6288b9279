"""Clustering scored pairs into identities, with judgements and guards.

Pairs at or above the upper threshold link; pairs in the band below it become near matches.
Two guards keep two different children apart:
- the twin guard: a pair flagged as a possible multiple birth (or as possible siblings:
  one family, birth dates apart) never links automatically;
- coherence: where a linked component contains a cannot-link (judged non-match or twin flag)
  or a pair that scored below the lower threshold, the component is rebuilt by average
  linkage: two groups merge only if a strong link joins them, no cannot-link separates them
  (twin flags a typo can explain count as one only if the strong unflagged pairs between
  the groups are fewer, or as many and none of them of the very same given names), the
  scored pairs between them are on average a match, and neither fits, nearly as well, a
  third group the other must stay apart from, also once they merge (a fit by a strong pair
  the twin guard flagged counts: MARIA beside MARIA JOSE and MARIA FERNANDA is a guess).
  Only such components pay for this check; exact ties go by record id (`_record_rank`), so
  the outcome does not depend on how rows are numbered. Last, a strong pair an identifier
  confirms (the state's student id) joins what the rebuilding left apart.
Judged matches (must-links) are applied first and are never undone by automation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from matcher.settings import Thresholds

REASON_BAND = "score between thresholds"
REASON_TWIN = "possible multiple birth or siblings"
REASON_INCOHERENT = "would join incoherent identities"
AMBIGUITY_MARGIN_BITS = 3.0
"""A record fitting two people that must stay apart is left alone unless one fits better by
more than this (8 to 1 odds)."""
SAME_NAME = "same_name"
"""Optional pair column of `cluster()`: the given names are the very same, or the same
misspelt (`IndexedPairs.same_name`)."""
IDENTIFIER_AGREES = "identifier_agrees"
"""Optional pair column of `cluster()`: an identifier agrees (`IndexedPairs.confirmed`)."""
TWIN_BY_NAMES = "multiple_birth_by_names"
"""Optional pair column of `cluster()`: a typo can explain the twin flag
(`IndexedPairs.by_names`)."""
COMPLETION_LIMIT = 50
"""Linked components of 3 to this many records have every pair inside them scored, blocked or
not (`pairs_to_complete`): a chain A-B-C whose ends were never compared is checked before it
is accepted (a mother and her child joined through a record with the child's birth date and
the mother's name). Larger components, rare and costly to complete, keep their blocked pairs.
Linking across inputs only, the pairs within one input are scored too, as evidence against
the component only (`evidence_within_sources`)."""
AGGLOMERATE_LIMIT = 300
"""Conflicted components up to this size are rebuilt by average linkage; larger ones (rare,
and a sign of chaining) by their strongest links, which costs linear time."""
TIE_DECIMALS = 9
"""Mean match weights equal to this many decimals (bits) are a tie: sums of the same weights
added in another order differ in the last bits."""


def _record_rank(record_ids: pl.Series | None, rows: np.ndarray, n: int) -> np.ndarray:
    """Per row of 0..n-1, a rank that orders `rows` as their record ids sort (0 elsewhere;
    by row number without ids): what breaks ties, so the outcome does not depend on how rows
    are numbered (a store's neighbourhood against batch `link`, Spark's rows against the
    default engine's). Only the order among `rows` is read, so only they are ranked."""
    if record_ids is None:
        return np.arange(n, dtype=np.int64)
    rank = np.zeros(n, dtype=np.int64)
    rank[rows] = record_ids.gather(rows).cast(pl.String).rank("ordinal").to_numpy()
    return rank


def _by_record_rank(rank: np.ndarray, left: np.ndarray, right: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """`np.lexsort` keys (least significant first) ordering pairs by their records' ranks:
    the lower rank of the two, then the higher."""
    rank_l, rank_r = rank[left], rank[right]
    return np.maximum(rank_l, rank_r), np.minimum(rank_l, rank_r)


@dataclass(frozen=True)
class IndexedPairs:
    """Scored pairs over row numbers 0..n-1."""

    left: np.ndarray
    right: np.ndarray
    probability: np.ndarray
    twin_flag: np.ndarray
    weight: np.ndarray | None = None
    """Per pair: match weight in bits (orders merges when components are rebuilt)."""
    same_name: np.ndarray | None = None
    """Per pair: the given names are the very same, or the same misspelt (a sound-alike or a
    near spelling; not a nickname: `Linker.same_name`). When a component must be rebuilt,
    these links go first, so a twin's own records gather before a name that fits both twins
    can pull."""
    confirmed: np.ndarray | None = None
    """Per pair: an identifier agrees. Two groups joined by such a strong link are one person
    even if a pair between them looks like twins (twins never share an identifier)."""
    by_names: np.ndarray | None = None
    """Per pair: a typo can explain the twin flag: the given names alone raise it, or a
    second recorded sex does beside given names that differ in spelling only (not a declared
    multiple birth, not enrollments together). Between two groups such flags keep them apart
    only while the strong unflagged pairs are fewer, or as many and none of the very same
    given names. None: every flag keeps them apart."""


@dataclass
class ClusterOutcome:
    labels: np.ndarray
    linked: np.ndarray
    """Per pair: both ends ended in one cluster."""
    refused: np.ndarray
    """Per pair: at or above the upper threshold but not linked (guard or coherence)."""
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterResult:
    assignments: pl.DataFrame
    """record_id, cluster_id (0..k-1, dense)."""
    near_matches: pl.DataFrame
    stats: dict[str, int]


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


@dataclass
class _Link:
    """What the scored pairs between two groups say, summed."""

    probability: float = 0.0
    count: int = 0
    strong: int = 0
    """Pairs that may link (at or above the upper threshold, neither flagged nor judged)."""
    scored_strong: int = 0
    """Pairs at or above the upper threshold, flagged or not."""
    weight: float = 0.0
    flagged: int = 0
    confirmed: int = 0
    firm: int = 0
    """Flagged pairs whose flag no typo explains (`IndexedPairs.by_names` false)."""
    same_name: int = 0
    """Strong unflagged pairs whose given names are the very same, or the same misspelt."""

    def add(self, other: _Link) -> None:
        self.probability += other.probability
        self.count += other.count
        self.strong += other.strong
        self.scored_strong += other.scored_strong
        self.weight += other.weight
        self.flagged += other.flagged
        self.confirmed += other.confirmed
        self.firm += other.firm
        self.same_name += other.same_name


def _looks_like_twins(link: _Link | None) -> bool:
    """The pairs between two groups keep them apart (`_Groups.apart`, judgements aside)."""
    return (link is not None and link.flagged > 0 and link.confirmed == 0
            and (link.firm > 0 or link.strong < link.flagged
                 or (link.strong == link.flagged and link.same_name == 0)))


class _Groups:
    """Union-find over a component's records that keeps, for every two groups, a summary of
    the scored pairs between them and whether a reviewer judged them apart."""

    def __init__(self, members: np.ndarray, rank: np.ndarray) -> None:
        self.parent = {int(m): int(m) for m in members}
        self.first = {int(m): int(rank[m]) for m in members}
        """Per root: the lowest record rank among its members (names a group whatever root
        the unions kept)."""
        self.links: dict[int, dict[int, _Link]] = defaultdict(dict)
        self.judged_apart: dict[int, set[int]] = defaultdict(set)

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def add_score(self, a: int, b: int, probability: float, strong: bool, scored_strong: bool,
                  weight: float, flagged: bool, confirmed: bool, by_names: bool,
                  same_name: bool) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        pair = _Link(probability=probability, count=1, strong=int(strong),
                     scored_strong=int(scored_strong), weight=weight, flagged=int(flagged),
                     confirmed=int(strong and confirmed), firm=int(flagged and not by_names),
                     same_name=int(strong and same_name))
        for x, y in ((ra, rb), (rb, ra)):
            self.links[x].setdefault(y, _Link()).add(pair)

    def judge_apart(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        self.judged_apart[ra].add(rb)
        self.judged_apart[rb].add(ra)

    def apart(self, ra: int, rb: int) -> bool:
        """Judged apart, or scored pairs between them look like twins and no strong link with
        an agreeing identifier says they are one person: a flag no typo explains, or flags
        a typo can explain that the strong unflagged pairs do not outnumber (MARI
        against FERNANDA, beside two MARIA FERNANDA records that link to both, is one girl
        called by her names), or only tie without a pair of the very same given names or the
        same misspelt (JUAN CARLOS against JUAN CT, beside JUAN | CARLOS: that record is the
        same child; CARRIE against CARLLYN, beside CAROLYN, is one woman; JUAN CARLOS against
        JUAN PABLO, beside a JUAN that fits both, is a guess)."""
        if rb in self.judged_apart[ra]:
            return True
        return _looks_like_twins(self.links[ra].get(rb))

    def coherent(self, ra: int, rb: int) -> bool:
        if self.apart(ra, rb):
            return False
        link = self.links[ra].get(rb)
        return link is None or link.probability / link.count >= 0.5

    def eligible(self, ra: int, rb: int) -> bool:
        """A strong link joins the groups, nothing keeps them apart, and on average the
        scored pairs between them are a match."""
        link = self.links[ra].get(rb)
        return (ra != rb and link is not None and link.strong > 0
                and link.probability / link.count >= 0.5 and not self.apart(ra, rb))

    def support(self, ra: int, rb: int) -> float:
        """Mean match weight (bits) of the scored pairs between two groups."""
        link = self.links[ra].get(rb)
        return link.weight / link.count if link else float("-inf")

    def kept_apart_from(self, root: int) -> list[int]:
        return [u for u in {*self.links[root], *self.judged_apart[root]} if self.apart(root, u)]

    def fits(self, ra: int, rb: int) -> bool:
        """The scores say one person: a pair at or above the upper threshold and a match on
        average, whether or not the twin guard flagged it (no reviewer judged them apart).
        The flag stops the link, not the doubt: MARIA against MARIA JOSE, flagged because a
        multiple birth was declared, may well be that child."""
        link = self.links[ra].get(rb)
        return (link is not None and link.scored_strong > 0
                and link.probability / link.count >= 0.5 and rb not in self.judged_apart[ra])

    def ambiguous(self, ra: int, rb: int) -> bool:
        """One side fits, nearly as well, a third group that the other side must stay apart
        from, and would still have to once they merge: the merge would be a guess between two
        people (a name that fits either twin). A third group kept apart only by flags a typo
        can explain, which the merged group's strong pairs outvote, is no rival: it is the
        same child (GUADALUPE against MARIA, beside two MARIA GUADALUPE records)."""
        floor = self.support(ra, rb) - AMBIGUITY_MARGIN_BITS
        return any(self.fits(x, u) and self.support(x, u) >= floor
                   and self.apart_once_merged(ra, rb, u)
                   for x, y in ((ra, rb), (rb, ra)) for u in self.kept_apart_from(y))

    def apart_once_merged(self, ra: int, rb: int, u: int) -> bool:
        """Group `u` would be kept apart from the union of `ra` and `rb` by its flags. An
        agreeing identifier does not lift them here: it ties `u` to the side it is on, which
        is the question (a girl's two records under one student id say nothing of the twin
        sister the other side may be)."""
        if u in self.judged_apart[ra] or u in self.judged_apart[rb]:
            return True
        merged = _Link()
        for root in (ra, rb):
            link = self.links[root].get(u)
            if link is not None:
                merged.add(link)
        merged.confirmed = 0
        return _looks_like_twins(merged)

    def roots(self) -> set[int]:
        return {self.find(row) for row in self.parent}

    def agglomerate(self) -> None:
        """Average-linkage merging: the merge with the highest mean match weight first, never
        one kept apart, never an ambiguous one. Ties go to the groups holding the lowest
        record ranks."""
        blocked: set[tuple[int, int]] = set()
        while True:
            best: tuple[float, int, int, int, int, int] | None = None
            for ra in self.roots():
                for rb, link in self.links[ra].items():
                    if ra < rb and (ra, rb) not in blocked and self.eligible(ra, rb):
                        low, high = sorted((self.first[ra], self.first[rb]))
                        key = (round(link.weight / link.count, TIE_DECIMALS), link.strong,
                               -low, -high, ra, rb)
                        if best is None or key > best:
                            best = key
            if best is None:
                return
            ra, rb = best[-2:]
            if self.ambiguous(ra, rb):
                blocked.add((ra, rb))
                continue
            self.union(ra, rb)
            # a merge held back as a guess stays held back whichever root the union keeps
            # (re-weighing it only when the surviving root changed made the outcome depend
            # on how the records are numbered: a store's neighbourhood against batch `link`)
            blocked = {(min(x, y), max(x, y)) for x, y in
                       ((self.find(a), self.find(b)) for a, b in blocked) if x != y}

    def union(self, ra: int, rb: int) -> None:
        if len(self.links[ra]) < len(self.links[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.first[ra] = min(self.first[ra], self.first.pop(rb))
        for other, moved in self.links.pop(rb, {}).items():
            if other == ra:
                continue
            self.links[ra].setdefault(other, _Link()).add(moved)
            back = self.links[other]
            back.pop(rb)
            back.setdefault(ra, _Link()).add(moved)
        self.links[ra].pop(rb, None)
        for other in self.judged_apart.pop(rb, set()):
            self.judged_apart[other].discard(rb)
            if other != ra:
                self.judged_apart[other].add(ra)
                self.judged_apart[ra].add(other)


def pairs_to_complete(n: int, edge_left: np.ndarray, edge_right: np.ndarray,
                      scored_left: np.ndarray, scored_right: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The pairs inside a linked component of 3..`COMPLETION_LIMIT` rows that are not among
    the scored pairs, as (lower row, higher row), sorted by (higher, lower).

    `edge_*` are the links (the pairs `cluster_indexed` links by: at or above the upper
    threshold, not flagged, not judged apart; plus must-links). Linking across inputs only,
    the pairs within one input are among them (`evidence_within_sources` says which to keep)."""
    labels = _components(n, edge_left, edge_right)
    sizes = np.bincount(labels, minlength=1)
    small = (sizes[labels] >= 3) & (sizes[labels] <= COMPLETION_LIMIT)
    rows = np.flatnonzero(small)
    if not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    members = pl.DataFrame({"row": rows.astype(np.int64), "label": labels[rows]})
    inside = (members.join(members, on="label", suffix="_r")
              .filter(pl.col("row") < pl.col("row_r")))
    lo, hi = inside["row"].to_numpy(), inside["row_r"].to_numpy()
    # only the scored pairs inside those components matter (a few of millions)
    inside_small = small[scored_left] & (labels[scored_left] == labels[scored_right])
    scored_left, scored_right = scored_left[inside_small], scored_right[inside_small]
    width = max(n, 1)
    scored = (np.minimum(scored_left, scored_right).astype(np.int64)
              + np.maximum(scored_left, scored_right).astype(np.int64) * width)
    codes = np.unique(lo + hi * width)
    codes = codes[~np.isin(codes, scored)]
    return codes % width, codes // width


def evidence_within_sources(within: np.ndarray, probability: np.ndarray, lower: float
                            ) -> np.ndarray:
    """Which completed pairs to keep when linking across inputs only: every pair across
    inputs, and a pair within one input only as evidence against its component (below the
    lower threshold: it can be neither a link nor a review item). Two records of one input
    joined through records of the other (two children of one household, each fitting the
    other's record in the second input) are then checked against each other."""
    return ~within | (probability < lower)


def cluster_indexed(n: int, pairs: IndexedPairs, thresholds: Thresholds,
                    must: tuple[np.ndarray, np.ndarray] | None = None,
                    cannot: tuple[np.ndarray, np.ndarray] | None = None,
                    record_ids: pl.Series | None = None) -> ClusterOutcome:
    """Cluster rows 0..n-1 from scored pairs and judgements (row-number form). `record_ids`
    (per row) break ties when a component is rebuilt; without them the row numbers do."""
    empty = np.zeros(0, dtype=np.int64)
    must_l, must_r = must if must is not None else (empty, empty)
    cannot_l, cannot_r = cannot if cannot is not None else (empty, empty)
    strong = pairs.probability >= thresholds.upper
    edge = strong & ~pairs.twin_flag
    if len(cannot_l):
        banned = set(zip(np.minimum(cannot_l, cannot_r).tolist(),
                         np.maximum(cannot_l, cannot_r).tolist(), strict=True))
        lo, hi = np.minimum(pairs.left, pairs.right), np.maximum(pairs.left, pairs.right)
        judged_apart = np.fromiter(((a, b) in banned for a, b in zip(lo, hi, strict=True)),
                                   dtype=bool, count=len(lo))
        edge &= ~judged_apart
    labels = _components(n, np.concatenate([pairs.left[edge], must_l]),
                         np.concatenate([pairs.right[edge], must_r]))
    same = labels[pairs.left] == labels[pairs.right]
    conflict_pair = same & (pairs.twin_flag | (pairs.probability < thresholds.lower))
    conflicted = set(labels[pairs.left[conflict_pair]].tolist())
    if len(cannot_l):
        judged_same = labels[cannot_l] == labels[cannot_r]
        conflicted |= set(labels[cannot_l[judged_same]].tolist())
    stats = {"components": int(labels.max() + 1) if n else 0,
             "incoherent_components": len(conflicted)}
    if conflicted:
        labels = _repair(labels, conflicted, pairs, edge, strong, must_l, must_r, cannot_l,
                         cannot_r, record_ids)
    linked = labels[pairs.left] == labels[pairs.right]
    refused = strong & ~linked
    _, dense = np.unique(labels, return_inverse=True)
    stats["clusters"] = int(dense.max() + 1) if n else 0
    return ClusterOutcome(dense.astype(np.int64), linked, refused, stats)


def _repair(labels: np.ndarray, conflicted: set[int], pairs: IndexedPairs, edge: np.ndarray,
            strong: np.ndarray, must_l: np.ndarray, must_r: np.ndarray, cannot_l: np.ndarray,
            cannot_r: np.ndarray, record_ids: pl.Series | None) -> np.ndarray:
    """Rebuild each conflicted component: average linkage over its scored pairs, honouring
    cannot-links and refusing merges that would guess between two people."""
    labels = labels.copy()
    bad = np.zeros(labels.max() + 1, dtype=bool)
    bad[list(conflicted)] = True
    inside = bad[labels[pairs.left]] & (labels[pairs.left] == labels[pairs.right])
    next_label = int(labels.max()) + 1
    members_of = defaultdict(list)
    rows = np.flatnonzero(bad[labels])
    rank = _record_rank(record_ids, rows, len(labels))
    for row in rows.tolist():
        members_of[int(labels[row])].append(row)
    groups = {c: _Groups(np.asarray(m), rank) for c, m in members_of.items()}
    index = np.flatnonzero(inside)
    for a, b in zip(cannot_l.tolist(), cannot_r.tolist(), strict=True):
        if labels[a] == labels[b] and int(labels[a]) in groups:
            groups[int(labels[a])].judge_apart(a, b)
    weights = (pairs.weight if pairs.weight is not None
               else np.log2(pairs.probability / np.maximum(1 - pairs.probability, 1e-300)))
    confirmed, by_names, same_name = (
        column if column is not None else np.zeros(len(pairs.left), dtype=bool)
        for column in (pairs.confirmed, pairs.by_names, pairs.same_name))
    for k in index.tolist():
        g = groups[int(labels[pairs.left[k]])]
        g.add_score(int(pairs.left[k]), int(pairs.right[k]), float(pairs.probability[k]),
                    bool(edge[k]), bool(strong[k]), float(weights[k]), bool(pairs.twin_flag[k]),
                    bool(confirmed[k]), bool(by_names[k]), bool(same_name[k]))
    for a, b in zip(must_l.tolist(), must_r.tolist(), strict=True):
        if int(labels[a]) in groups:
            g = groups[int(labels[a])]
            ra, rb = g.find(a), g.find(b)
            if ra != rb and rb not in g.judged_apart[ra]:
                g.union(ra, rb)
    order = index[edge[index]]
    order = order[np.lexsort((*_by_record_rank(rank, pairs.left[order], pairs.right[order]),
                              -pairs.probability[order], ~same_name[order]))]
    for component, g in groups.items():
        if len(g.parent) <= AGGLOMERATE_LIMIT:
            g.agglomerate()
        else:
            for k in order[labels[pairs.left[order]] == component].tolist():
                ra, rb = g.find(int(pairs.left[k])), g.find(int(pairs.right[k]))
                if ra != rb and g.coherent(ra, rb):
                    g.union(ra, rb)
    # last, strong pairs an identifier confirms (the state's own student id: one child to
    # that state's system) join what the rebuilding left apart, unless judged apart
    joined = index[edge[index] & confirmed[index]]
    for a, b in zip(pairs.left[joined].tolist(), pairs.right[joined].tolist(), strict=True):
        g = groups[int(labels[a])]
        ra, rb = g.find(a), g.find(b)
        if ra != rb and rb not in g.judged_apart[ra]:
            g.union(ra, rb)
    for g in groups.values():
        roots: dict[int, int] = {}
        for row in g.parent:
            root = g.find(row)
            if root not in roots:
                roots[root] = next_label
                next_label += 1
            labels[row] = roots[root]
    return labels


def near_match_mask(pairs: IndexedPairs, outcome: ClusterOutcome, labels: np.ndarray,
                    thresholds: Thresholds, record_ids: pl.Series | None = None
                    ) -> np.ndarray:
    """Pairs for review: in the band or refused, ends in different clusters, best pair per
    cluster pair only (one queue item per decision a reviewer has to make). Of pairs equally
    probable, the one of the lowest record ids (without them, row numbers)."""
    candidate = (~outcome.linked) & (pairs.probability >= thresholds.lower)
    index = np.flatnonzero(candidate)
    if not len(index):
        return candidate
    a = labels[pairs.left[index]]
    b = labels[pairs.right[index]]
    key = np.minimum(a, b) * (labels.max() + 1) + np.maximum(a, b)
    rank = _record_rank(record_ids, np.unique(np.concatenate(
        [pairs.left[index], pairs.right[index]])), len(labels))
    order = np.lexsort((*_by_record_rank(rank, pairs.left[index], pairs.right[index]),
                        -pairs.probability[index], key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = np.zeros(len(pairs.left), dtype=bool)
    keep[index[order[first]]] = True
    return keep


def near_match_reasons(pairs: IndexedPairs, outcome: ClusterOutcome, thresholds: Thresholds,
                       keep: np.ndarray | None = None) -> np.ndarray:
    """Why each pair (each kept pair, given `keep`) is for review. Text per pair is large:
    pass `keep` when only a few of many pairs are wanted."""
    rows = np.flatnonzero(keep) if keep is not None else np.arange(len(pairs.left))
    return np.where(pairs.twin_flag[rows], REASON_TWIN,
                    np.where(outcome.refused[rows], REASON_INCOHERENT, REASON_BAND))


def cluster(record_ids: pl.Series, pairs: pl.DataFrame, thresholds: Thresholds,
            must_link: pl.DataFrame | None = None, cannot_link: pl.DataFrame | None = None
            ) -> ClusterResult:
    """Cluster records given by id. `pairs`: record_id_l, record_id_r, match_probability,
    match_weight, possible_multiple_birth, optionally same_name, identifier_agrees and
    multiple_birth_by_names (null reads as False; an absent column as unknown for every
    pair, as in `IndexedPairs`) (+ any mw_* columns, carried to near matches). Pairs naming
    records not in `record_ids` are ignored."""
    ids = pl.DataFrame({"record_id": record_ids.cast(pl.String)}).with_row_index("i")

    def indexed(frame: pl.DataFrame) -> pl.DataFrame:
        return (frame.join(ids.rename({"record_id": "record_id_l", "i": "i_l"}), on="record_id_l")
                .join(ids.rename({"record_id": "record_id_r", "i": "i_r"}), on="record_id_r"))

    scored = indexed(pairs)
    flag = (scored["possible_multiple_birth"].fill_null(False).to_numpy()
            if "possible_multiple_birth" in scored.columns else np.zeros(len(scored), bool))
    weight = (scored["match_weight"].to_numpy() if "match_weight" in scored.columns
              else None)
    same_name, confirmed, by_names = (
        scored[c].fill_null(False).to_numpy() if c in scored.columns else None
        for c in (SAME_NAME, IDENTIFIER_AGREES, TWIN_BY_NAMES))
    indexed_pairs = IndexedPairs(scored["i_l"].to_numpy().astype(np.int64),
                                 scored["i_r"].to_numpy().astype(np.int64),
                                 scored["match_probability"].to_numpy(), flag, weight,
                                 same_name, confirmed, by_names)

    def judged(frame: pl.DataFrame | None) -> tuple[np.ndarray, np.ndarray] | None:
        if frame is None or not len(frame):
            return None
        both = indexed(frame.select("record_id_l", "record_id_r"))
        return (both["i_l"].to_numpy().astype(np.int64), both["i_r"].to_numpy().astype(np.int64))

    outcome = cluster_indexed(len(ids), indexed_pairs, thresholds, judged(must_link),
                              judged(cannot_link), ids["record_id"])
    keep = near_match_mask(indexed_pairs, outcome, outcome.labels, thresholds, ids["record_id"])
    reasons = near_match_reasons(indexed_pairs, outcome, thresholds, keep)
    near = scored.filter(pl.Series(keep)).drop("i_l", "i_r").with_columns(
        pl.Series("reason", reasons))
    assignments = pl.DataFrame({"record_id": ids["record_id"], "cluster_id": outcome.labels})
    return ClusterResult(assignments, near, outcome.stats)
