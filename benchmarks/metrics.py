"""Accuracy and blocking metrics, each a pure function over polars frames.

Frames used throughout:

- ``truth``: ``record_id`` (str), ``entity_id`` (str), ``source`` (int: which input file the
  record came from; all 0 for a dedupe task) and, for the migrant-student data, ``child_id``,
  ``birth_group_id`` and ``state``.
- ``assignment``: ``record_id``, ``identity_id`` — the clustering a tool produced.
- ``pairs``: ``record_id_l``, ``record_id_r``, ``match_probability`` — every candidate pair
  the tool scored.
- ``queue``: ``record_id_l``, ``record_id_r`` — the near matches a tool left for reviewers.

For a link-only task only cross-file pairs count (pairs whose records have different
``source``): in the true pairs, in the predicted pairs and among the candidates. Pair counts are
computed from cluster sizes (``n·(n-1)/2``, or ``(n² − Σ n_s²)/2`` across files), never by
enumerating the pairs of a cluster, so a chained cluster of 50,000 records costs nothing extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 (pairwise or B-cubed)."""

    precision: float
    recall: float
    f1: float

    @classmethod
    def from_counts(cls, tp: int, predicted: int, true: int) -> PRF:
        """Pairwise scores from true positives, predicted positives and true pairs.

        An empty prediction has precision 1 (it claims nothing false); no true pairs gives
        recall 1.
        """
        precision = tp / predicted if predicted else 1.0
        recall = tp / true if true else 1.0
        return cls(precision, recall, _f1(precision, recall))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class PairCounts:
    """Pair counts behind a pairwise score."""

    tp: int
    predicted: int
    true: int

    @property
    def prf(self) -> PRF:
        return PRF.from_counts(self.tp, self.predicted, self.true)


@dataclass(frozen=True)
class BlockingScores:
    """How much a tool's candidate set cut the comparison space, and what it kept."""

    candidates: int
    possible: int
    reduction_ratio: float
    true_pairs_in_candidates: int
    true_pairs: int
    pair_completeness: float


@dataclass(frozen=True)
class ThresholdPoint:
    """Pairwise scores of the candidate pairs whose score is at least ``threshold``."""

    threshold: float
    precision: float
    recall: float
    f1: float
    predicted: int


@dataclass(frozen=True)
class TwinMerges:
    """Multiple-birth siblings (same ``birth_group_id``, different ``child_id``) put together."""

    child_pairs_merged: int
    child_pairs_total: int
    record_pairs_merged: int


@dataclass(frozen=True)
class StateCountError:
    """Worst per-state relative error of distinct-children counts."""

    max_relative_error: float
    state: str | None
    predicted: int
    true: int


@dataclass(frozen=True)
class ReviewQueue:
    """How long a tool's near-match queue is, and how many of its missed links it holds.

    A true pair is *not linked* when its two records end in different identities; it is
    *held* when some queue item joins those two identities (deciding the item as a match
    would merge them and link the pair).
    """

    items: int
    """Distinct record pairs in the queue."""
    records: int
    share_of_records: float
    """``items / records``."""
    unlinked_true_pairs: int
    held_true_pairs: int
    held_share: float
    """``held_true_pairs / unlinked_true_pairs`` (1 when nothing was left unlinked)."""


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


# --------------------------------------------------------------------------- helpers


def _pairs_within(group_cols: Sequence[str], frame: pl.DataFrame, link_only: bool) -> int:
    """Number of pairs inside each group of ``group_cols`` (summed), cross-file only if asked.

    ``frame`` has one row per record with the group columns and ``source``.
    """
    if frame.is_empty():
        return 0
    keys = list(group_cols)
    if not link_only:
        sizes = frame.group_by(keys).len().with_columns(pl.col("len").cast(pl.Int64))
        return int(sizes.select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item())
    per_source = frame.group_by([*keys, "source"]).len().with_columns(pl.col("len").cast(pl.Int64))
    per_group = per_source.group_by(keys).agg(
        n=pl.col("len").sum(), sq=(pl.col("len") * pl.col("len")).sum()
    )
    return int(per_group.select(((pl.col("n") * pl.col("n") - pl.col("sq")) // 2).sum()).item())


def complete_assignment(assignment: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """The tool's clustering over exactly the truth's records.

    A record the tool did not assign (rejected, dropped) becomes its own singleton identity, so
    what a tool loses counts against its recall. Assigned records absent from the truth are
    ignored. Returns ``record_id, identity_id, entity_id, source`` (+ any other truth columns).
    """
    assigned = assignment.select(
        pl.col("record_id").cast(pl.String), pl.col("identity_id").cast(pl.String)
    ).unique("record_id", keep="first")
    joined = truth.join(assigned, on="record_id", how="left")
    return joined.with_columns(
        pl.coalesce(pl.col("identity_id"), pl.lit("__unassigned__:") + pl.col("record_id")).alias(
            "identity_id"
        )
    )


def missing_assignments(assignment: pl.DataFrame, truth: pl.DataFrame) -> int:
    """How many truth records the tool left out of its clustering."""
    assigned = assignment.select(pl.col("record_id").cast(pl.String)).unique()
    return truth.join(assigned, on="record_id", how="anti").height


# --------------------------------------------------------------------------- cluster scores


def true_pair_count(truth: pl.DataFrame, *, link_only: bool) -> int:
    """Number of true matching pairs (cross-file only for a link-only task)."""
    return _pairs_within(["entity_id"], truth, link_only)


def cluster_pair_counts(
    assignment: pl.DataFrame, truth: pl.DataFrame, *, link_only: bool
) -> PairCounts:
    """Pairwise counts of a clustering: every pair of records in one identity is a prediction."""
    full = complete_assignment(assignment, truth)
    return PairCounts(
        tp=_pairs_within(["identity_id", "entity_id"], full, link_only),
        predicted=_pairs_within(["identity_id"], full, link_only),
        true=_pairs_within(["entity_id"], full, link_only),
    )


def pairwise_scores(assignment: pl.DataFrame, truth: pl.DataFrame, *, link_only: bool) -> PRF:
    """Pairwise precision/recall/F1 of a clustering."""
    return cluster_pair_counts(assignment, truth, link_only=link_only).prf


def bcubed(assignment: pl.DataFrame, truth: pl.DataFrame) -> PRF:
    """B-cubed precision/recall/F1 over all records (Bagga & Baldwin).

    precision = mean over records r of |C(r) ∩ E(r)| / |C(r)|, recall likewise over |E(r)|,
    with C(r) the record's predicted identity and E(r) its true entity.
    """
    full = complete_assignment(assignment, truth)
    n = full.height
    if n == 0:
        return PRF(1.0, 1.0, 1.0)
    cells = full.group_by(["identity_id", "entity_id"]).len("n_ce")
    cells = cells.join(full.group_by("identity_id").len("n_c"), on="identity_id").join(
        full.group_by("entity_id").len("n_e"), on="entity_id"
    ).with_columns(pl.col("n_ce", "n_c", "n_e").cast(pl.Float64))
    sums = cells.select(
        p=(pl.col("n_ce") * pl.col("n_ce") / pl.col("n_c")).sum(),
        r=(pl.col("n_ce") * pl.col("n_ce") / pl.col("n_e")).sum(),
    ).row(0)
    precision, recall = float(sums[0]) / n, float(sums[1]) / n
    return PRF(precision, recall, _f1(precision, recall))


def cluster_counts(assignment: pl.DataFrame, truth: pl.DataFrame) -> dict[str, int]:
    """Number of predicted identities and of true entities over the truth's records."""
    full = complete_assignment(assignment, truth)
    sizes = full.group_by("identity_id").len()
    return {
        "predicted_identities": full["identity_id"].n_unique(),
        "true_entities": full["entity_id"].n_unique(),
        "largest_identity": int(sizes.select(pl.col("len").max()).item() or 0),
    }


# --------------------------------------------------------------------------- review queue


def review_queue(
    queue: pl.DataFrame, assignment: pl.DataFrame, truth: pl.DataFrame, *, link_only: bool
) -> ReviewQueue:
    """The near-match queue against the true pairs the clustering did not link.

    Counted from (identity, entity[, source]) group sizes, never by listing true pairs: the
    true pairs between identities I and J are Σ_e n(e, I)·n(e, J), minus the within-file
    pairs Σ_{e,s} n(e, I, s)·n(e, J, s) for a link-only task. A queue item is counted once
    whichever way round it is written; items naming a record outside the truth, or two records
    of one identity, hold nothing.
    """
    full = complete_assignment(assignment, truth)
    linked = _pairs_within(["identity_id", "entity_id"], full, link_only)
    unlinked = _pairs_within(["entity_id"], full, link_only) - linked
    items = (
        queue.select(
            pl.col("record_id_l").cast(pl.String).alias("a"),
            pl.col("record_id_r").cast(pl.String).alias("b"),
        )
        .filter(pl.col("a") != pl.col("b"))
        .select(
            pl.min_horizontal("a", "b").alias("record_id_l"),
            pl.max_horizontal("a", "b").alias("record_id_r"),
        )
        .unique()
    )
    identity = full.select("record_id", "identity_id")
    identity_pairs = (
        items.join(identity.rename({"record_id": "record_id_l", "identity_id": "i"}),
                   on="record_id_l")
        .join(identity.rename({"record_id": "record_id_r", "identity_id": "j"}), on="record_id_r")
        .filter(pl.col("i") != pl.col("j"))
        .select(pl.min_horizontal("i", "j").alias("i"), pl.max_horizontal("i", "j").alias("j"))
        .unique()
    )
    held = _pairs_between(identity_pairs, full, ["entity_id"])
    if link_only:
        held -= _pairs_between(identity_pairs, full, ["entity_id", "source"])
    records = truth.height
    return ReviewQueue(
        items=items.height,
        records=records,
        share_of_records=items.height / records if records else 0.0,
        unlinked_true_pairs=unlinked,
        held_true_pairs=held,
        held_share=held / unlinked if unlinked else 1.0,
    )


def _pairs_between(identity_pairs: pl.DataFrame, full: pl.DataFrame, keys: list[str]) -> int:
    """Σ over identity pairs (i, j) and groups g of ``keys`` of n(g, i)·n(g, j)."""
    if identity_pairs.is_empty():
        return 0
    cells = full.group_by(["identity_id", *keys]).len("n").with_columns(pl.col("n").cast(pl.Int64))
    joined = identity_pairs.join(
        cells.rename({"identity_id": "i", "n": "n_i"}), on="i"
    ).join(cells.rename({"identity_id": "j", "n": "n_j"}), on=["j", *keys])
    return int(joined.select((pl.col("n_i") * pl.col("n_j")).sum()).item() or 0)


# --------------------------------------------------------------------------- scored pairs


def label_pairs(pairs: pl.DataFrame, truth: pl.DataFrame, *, link_only: bool) -> pl.DataFrame:
    """Scored candidate pairs, each once, with ``is_match`` from the truth.

    Pairs are put in a canonical order (smaller id left) and de-duplicated keeping the highest
    score; self-pairs and pairs naming records outside the truth are dropped; for a link-only
    task pairs within one file are dropped too.
    Returns ``record_id_l, record_id_r, match_probability, is_match``.
    """
    ids = truth.select("record_id", "entity_id", "source")
    canon = (
        pairs.select(
            pl.col("record_id_l").cast(pl.String).alias("a"),
            pl.col("record_id_r").cast(pl.String).alias("b"),
            pl.col("match_probability").cast(pl.Float64),
        )
        .filter(pl.col("a") != pl.col("b"))
        .select(
            pl.min_horizontal("a", "b").alias("record_id_l"),
            pl.max_horizontal("a", "b").alias("record_id_r"),
            "match_probability",
        )
        .group_by("record_id_l", "record_id_r")
        .agg(pl.col("match_probability").max())
    )
    labelled = canon.join(
        ids.rename({"record_id": "record_id_l", "entity_id": "e_l", "source": "s_l"}),
        on="record_id_l",
        how="inner",
    ).join(
        ids.rename({"record_id": "record_id_r", "entity_id": "e_r", "source": "s_r"}),
        on="record_id_r",
        how="inner",
    )
    if link_only:
        labelled = labelled.filter(pl.col("s_l") != pl.col("s_r"))
    return labelled.select(
        "record_id_l",
        "record_id_r",
        "match_probability",
        (pl.col("e_l") == pl.col("e_r")).alias("is_match"),
    )


def possible_pairs(truth: pl.DataFrame, *, link_only: bool) -> int:
    """Size of the full comparison space (n·(n−1)/2, or cross-file pairs for a link task)."""
    n = truth.height
    if not link_only:
        return n * (n - 1) // 2
    sizes = truth.group_by("source").len()["len"].to_list()
    return (sum(sizes) ** 2 - sum(s * s for s in sizes)) // 2


def blocking_scores(
    labelled: pl.DataFrame, truth: pl.DataFrame, *, link_only: bool
) -> BlockingScores:
    """Candidates, reduction ratio and pair completeness from the labelled scored pairs."""
    candidates = labelled.height
    possible = possible_pairs(truth, link_only=link_only)
    true_total = true_pair_count(truth, link_only=link_only)
    found = int(labelled["is_match"].sum()) if candidates else 0
    return BlockingScores(
        candidates=candidates,
        possible=possible,
        reduction_ratio=1.0 - candidates / possible if possible else 0.0,
        true_pairs_in_candidates=found,
        true_pairs=true_total,
        pair_completeness=found / true_total if true_total else 1.0,
    )


def threshold_curve(labelled: pl.DataFrame, true_pairs: int) -> pl.DataFrame:
    """Pairwise scores when every candidate pair scoring ≥ t is called a match, for each t.

    One row per distinct score, highest first: ``threshold, predicted, tp, precision, recall,
    f1``. Recall is against *all* true pairs, so what blocking missed counts as missed.
    """
    if labelled.is_empty():
        return pl.DataFrame(
            schema={
                "threshold": pl.Float64,
                "predicted": pl.Int64,
                "tp": pl.Int64,
                "precision": pl.Float64,
                "recall": pl.Float64,
                "f1": pl.Float64,
            }
        )
    by_score = (
        labelled.group_by("match_probability")
        .agg(n=pl.len(), tp=pl.col("is_match").cast(pl.Int64).sum())
        .sort("match_probability", descending=True)
        .select(
            pl.col("match_probability").alias("threshold"),
            pl.col("n").cast(pl.Int64).cum_sum().alias("predicted"),
            pl.col("tp").cum_sum().alias("tp"),
        )
    )
    precision = pl.col("tp") / pl.col("predicted")
    recall = pl.col("tp") / true_pairs if true_pairs else pl.lit(1.0)
    return by_score.with_columns(precision=precision, recall=recall).with_columns(
        f1=pl.when(pl.col("precision") + pl.col("recall") > 0)
        .then(2 * pl.col("precision") * pl.col("recall") / (pl.col("precision") + pl.col("recall")))
        .otherwise(0.0)
    )


def best_threshold(curve: pl.DataFrame) -> ThresholdPoint | None:
    """The threshold with the highest pairwise F1 — an upper bound chosen with the labels."""
    if curve.is_empty():
        return None
    row = curve.sort(["f1", "threshold"], descending=[True, True]).row(0, named=True)
    return _point(row)


def at_threshold(curve: pl.DataFrame, threshold: float, true_pairs: int) -> ThresholdPoint:
    """Pairwise scores of the candidate pairs scoring at least ``threshold``."""
    kept = curve.filter(pl.col("threshold") >= threshold)
    if kept.is_empty():
        prf = PRF.from_counts(0, 0, true_pairs)
        return ThresholdPoint(threshold, prf.precision, prf.recall, prf.f1, 0)
    row = kept.sort("threshold").row(0, named=True)
    return ThresholdPoint(
        threshold, row["precision"], row["recall"], row["f1"], int(row["predicted"])
    )


def _point(row: dict[str, Any]) -> ThresholdPoint:
    return ThresholdPoint(
        float(row["threshold"]),
        float(row["precision"]),
        float(row["recall"]),
        float(row["f1"]),
        int(row["predicted"]),
    )


def downsample_curve(curve: pl.DataFrame, max_points: int = 200) -> list[dict[str, float]]:
    """At most ``max_points`` rows of the curve for JSON and plots, the best-F1 row included."""
    if curve.is_empty():
        return []
    step = max(1, curve.height // max_points)
    keep = curve.with_row_index("i").filter(
        (pl.col("i") % step == 0)
        | (pl.col("i") == curve.height - 1)
        | (pl.col("f1") == pl.col("f1").max())
    )
    return [
        {k: float(v) for k, v in row.items() if k in ("threshold", "precision", "recall", "f1")}
        for row in keep.iter_rows(named=True)
    ]


# --------------------------------------------------------------------------- migrant data


def twin_merges(assignment: pl.DataFrame, truth: pl.DataFrame) -> TwinMerges:
    """Multiple-birth siblings put into one identity.

    Siblings are different ``child_id`` sharing a ``birth_group_id`` (null = single birth).
    ``child_pairs_merged`` counts sibling pairs with at least one record of each in a common
    identity; ``record_pairs_merged`` counts the record pairs (one record of each sibling) that
    share an identity.
    """
    full = complete_assignment(assignment, truth).filter(pl.col("birth_group_id").is_not_null())
    children = full.select("birth_group_id", "child_id").unique()
    k = children.group_by("birth_group_id").len().with_columns(pl.col("len").cast(pl.Int64))
    total = int(k.select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item() or 0)
    triples = full.select("identity_id", "birth_group_id", "child_id").unique()
    a = triples.rename({"child_id": "child_a"})
    b = triples.rename({"child_id": "child_b"})
    merged_pairs = (
        a.join(b, on=["identity_id", "birth_group_id"])
        .filter(pl.col("child_a") < pl.col("child_b"))
        .select("birth_group_id", "child_a", "child_b")
        .unique()
        .height
    )
    per_cell = (
        full.group_by(["identity_id", "birth_group_id", "child_id"])
        .len()
        .with_columns(pl.col("len").cast(pl.Int64))
    )
    per_group = per_cell.group_by(["identity_id", "birth_group_id"]).agg(
        n=pl.col("len").sum(), sq=(pl.col("len") * pl.col("len")).sum()
    )
    record_pairs = int(
        per_group.select(((pl.col("n") * pl.col("n") - pl.col("sq")) // 2).sum()).item() or 0
    )
    return TwinMerges(merged_pairs, total, record_pairs)


def state_count_errors(assignment: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Distinct predicted identities vs distinct true children per ``state``.

    An identity with records in two states counts once in each (as unduplicated per-state
    counts do). Returns ``state, predicted, true, relative_error`` sorted worst first.
    """
    full = complete_assignment(assignment, truth).filter(pl.col("state").is_not_null())
    return (
        full.group_by("state")
        .agg(
            predicted=pl.col("identity_id").n_unique().cast(pl.Int64),
            true=pl.col("child_id").n_unique().cast(pl.Int64),
        )
        .with_columns(
            relative_error=(pl.col("predicted") - pl.col("true")).abs() / pl.col("true")
        )
        .sort(["relative_error", "state"], descending=[True, False])
    )


def worst_state_count_error(assignment: pl.DataFrame, truth: pl.DataFrame) -> StateCountError:
    """The largest per-state relative error of distinct-children counts."""
    table = state_count_errors(assignment, truth)
    if table.is_empty():
        return StateCountError(0.0, None, 0, 0)
    row = table.row(0, named=True)
    return StateCountError(
        float(row["relative_error"]), str(row["state"]), int(row["predicted"]), int(row["true"])
    )
