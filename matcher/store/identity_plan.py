"""Mapping fresh clusters onto persistent identity IDs (a pure function, tested on its own).

Rules:
- each existing identity goes with ("homes on") the cluster holding most of its records
  (or of its anchor records, when given: a split anchors the identity on the records that stay);
  ties go to the cluster whose smallest record id sorts first;
- a cluster keeps the oldest identity homed on it; the other identities homed there are merged
  into it (their IDs retire, with lineage);
- a cluster with no identity homed on it gets a new ID.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field


@dataclass(frozen=True)
class IdentityPlan:
    """The outcome: per cluster the identity it keeps (None: needs a new ID), and merges."""

    cluster_identity: dict[int, str | None]
    merged_into: dict[str, str] = field(default_factory=dict)


def plan_identities(
    clusters: Mapping[int, Sequence[str]],
    previous: Mapping[str, str | None],
    age: Mapping[str, int],
    anchors: Mapping[str, Set[str]] | None = None,
) -> IdentityPlan:
    """Decide which persistent identity each cluster keeps.

    `clusters` maps cluster id -> record ids; `previous` maps record id -> its identity before
    (None for a new record); `age` orders identities (smaller = older); `anchors` optionally
    says which records decide where an identity homes.
    """
    anchors = anchors or {}
    cluster_of = {rid: cid for cid, rids in clusters.items() for rid in rids}
    first_record = {cid: min(rids) for cid, rids in clusters.items() if rids}

    overlap: dict[str, Counter[int]] = {}
    for rid, identity in previous.items():
        if identity is None or rid not in cluster_of:
            continue
        anchor = anchors.get(identity)
        if anchor is not None and rid not in anchor:
            continue
        overlap.setdefault(identity, Counter())[cluster_of[rid]] += 1
    for identity in anchors:
        if identity not in overlap:
            # All anchor records gone: fall back to the plain majority rule.
            counts: Counter[int] = Counter(
                cluster_of[rid]
                for rid, ident in previous.items()
                if ident == identity and rid in cluster_of
            )
            if counts:
                overlap[identity] = counts

    homed: dict[int, list[str]] = {}
    for identity, counts in overlap.items():
        home = min(counts, key=lambda cid: (-counts[cid], first_record[cid]))
        homed.setdefault(home, []).append(identity)

    cluster_identity: dict[int, str | None] = {}
    merged_into: dict[str, str] = {}
    for cid in clusters:
        candidates = sorted(homed.get(cid, []), key=lambda ident: (age[ident], ident))
        if not candidates:
            cluster_identity[cid] = None
            continue
        survivor = candidates[0]
        cluster_identity[cid] = survivor
        for other in candidates[1:]:
            merged_into[other] = survivor
    return IdentityPlan(cluster_identity=cluster_identity, merged_into=merged_into)
