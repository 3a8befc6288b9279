"""Clustering on Spark: connected components by label propagation, repair on the driver.

`matcher.clustering.cluster_indexed` links pairs at or above the upper threshold that are not
flagged as twins, takes connected components, and rebuilds only the components that hold a
conflict (a twin flag or a pair below the lower threshold inside one component). Here:
1. the links (few: about one per record) go through iterative min-label propagation with
   pointer jumping until no label changes; a component's label is its smallest row number;
2. the conflicted components are found on Spark; only their pairs are collected, and
   `cluster_indexed` itself repairs them on the driver, so the guards are the same code;
3. a cluster's label stays its smallest row number, which is also the order
   `pipeline.identity_table` numbers identities in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from matcher.clustering import IndexedPairs, cluster_indexed
from matcher.settings import Thresholds
from matcher.spark.work import RULE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

NODE = "node"
LABEL = "label"
PROBABILITY = "match_probability"
FLAG = "possible_multiple_birth"

PAIR_ORDER = (RULE, "idx_r", "idx_l")
"""The order the default engine's candidate pairs come in (by rule, then as polars' join
emits them: by right row, then left row). `cluster_indexed` and `near_match_mask` break ties
by record rank, not pair order; the Spark engine still hands them pairs in this order, so
that weights are summed in the same order and the outputs come in it."""

Download = Callable[["DataFrame", str], pl.DataFrame]
Indexer = Callable[[pl.DataFrame, np.ndarray, np.ndarray], IndexedPairs]
"""Scored pair rows and their row numbers -> `IndexedPairs`, built as `Linker.link` does."""


def connected_components(edges: DataFrame, max_rounds: int = 200) -> tuple[DataFrame, int]:
    """(node, label) for every node of `edges` (idx_l, idx_r): label = the smallest node of
    its component; and the number of rounds it took."""
    from pyspark.sql import functions as F

    adjacency = edges.select(F.col("idx_l").alias("a"), F.col("idx_r").alias("b")).unionByName(
        edges.select(F.col("idx_r").alias("a"), F.col("idx_l").alias("b"))).persist()
    labels = (adjacency.groupBy("a").agg(F.min("b").alias("m"))
              .select(F.col("a").alias(NODE), F.least("a", "m").alias(LABEL))
              .localCheckpoint())
    total = labels.agg(F.sum(LABEL)).collect()[0][0]
    rounds = 0
    while rounds < max_rounds:
        rounds += 1
        # pointer jumping: take the label of your label (labels are nodes of the same component)
        parent = labels.select(F.col(NODE).alias("p"), F.col(LABEL).alias("pl"))
        jumped = labels.join(parent, labels[LABEL] == parent["p"]).select(
            NODE, F.least(LABEL, "pl").alias(LABEL))
        # propagation: the smallest label among your neighbours
        offered = adjacency.join(jumped.select(F.col(NODE).alias("b"), F.col(LABEL).alias("lb")),
                                 "b").groupBy("a").agg(F.min("lb").alias("lb"))
        new = (jumped.join(offered, jumped[NODE] == offered["a"])
               .select(NODE, F.least(LABEL, "lb").alias(LABEL)).localCheckpoint())
        new_total = new.agg(F.sum(LABEL)).collect()[0][0]
        labels = new
        if new_total == total:  # labels only ever decrease: equal sums mean no change
            break
        total = new_total
    adjacency.unpersist()
    return labels, rounds


@dataclass
class Clusters:
    labels: np.ndarray
    """Per row: its cluster's smallest row number."""
    stats: dict[str, int]
    propagation_rounds: int


def cluster_on_spark(scored: DataFrame, n: int, thresholds: Thresholds,
                     download: Download, indexer: Indexer, record_ids: pl.Series) -> Clusters:
    """Cluster rows 0..n-1 from the scored pairs (idx_l, idx_r, rule and the scored-pair
    columns) exactly as `cluster_indexed` does."""
    from pyspark.sql import functions as F

    links = scored.where((F.col(PROBABILITY) >= thresholds.upper) & ~F.col(FLAG)).select(
        "idx_l", "idx_r")
    components, rounds = connected_components(links)
    component = download(components, "components")
    labels = np.arange(n, dtype=np.int64)
    labels[component[NODE].to_numpy()] = component[LABEL].to_numpy()
    stats = {"components": int(n - len(component) + component[LABEL].n_unique())}
    # pairs inside one component: both ends have a label (a lone row is its own component)
    left = components.select(F.col(NODE).alias("idx_l"), F.col(LABEL).alias("label_l"))
    right = components.select(F.col(NODE).alias("idx_r"), F.col(LABEL).alias("label_r"))
    inside = (scored.join(left, "idx_l").join(right, "idx_r")
              .where(F.col("label_l") == F.col("label_r"))
              .select(*scored.columns, F.col("label_l").alias(LABEL))
              .persist())
    conflicted = inside.where(F.col(FLAG) | (F.col(PROBABILITY) < thresholds.lower)).select(
        LABEL).distinct()
    pairs = download(inside.join(conflicted, LABEL, "left_semi"), "conflicted_pairs")
    inside.unpersist()
    stats["incoherent_components"] = int(pairs[LABEL].n_unique()) if len(pairs) else 0
    if len(pairs):
        labels = repair(labels, pairs, thresholds, indexer, record_ids)
    stats["clusters"] = len(np.unique(labels)) if n else 0
    return Clusters(labels, stats, rounds)


def repair(labels: np.ndarray, pairs: pl.DataFrame, thresholds: Thresholds,
           indexer: Indexer, record_ids: pl.Series) -> np.ndarray:
    """Rebuild the conflicted components with `cluster_indexed` on just their rows.

    Their links and conflicts are all among the collected pairs, so `cluster_indexed` sees
    the same components and the same conflicts as on the whole data; their `record_ids`
    (per row of the whole data) break ties as they do there.
    """
    pairs = pairs.sort(*PAIR_ORDER)
    members = np.unique(np.concatenate([pairs["idx_l"].to_numpy(), pairs["idx_r"].to_numpy()]))
    local_l = np.searchsorted(members, pairs["idx_l"].to_numpy())
    local_r = np.searchsorted(members, pairs["idx_r"].to_numpy())
    indexed = indexer(pairs, local_l.astype(np.int64), local_r.astype(np.int64))
    outcome = cluster_indexed(len(members), indexed, thresholds,
                              record_ids=record_ids.gather(members))
    # members are sorted, so a cluster's first member is its smallest row number
    _, first = np.unique(outcome.labels, return_index=True)
    smallest = members[first]
    out = labels.copy()
    out[members] = smallest[outcome.labels]
    return out
