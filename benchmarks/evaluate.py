"""Score one finished tool run against the truth (every metric the report shows)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import polars as pl

from benchmarks import metrics as m
from benchmarks.datasets import Dataset
from benchmarks.tools.base import ToolOutput


def evaluate(
    output: ToolOutput, dataset: Dataset, truth: pl.DataFrame | None = None
) -> dict[str, Any]:
    """All accuracy and blocking numbers of one run, as plain JSON-able values.

    Keys: ``pairwise`` (the tool's identities at its default threshold), ``bcubed``,
    ``clusters``, ``missing_records``, ``blocking``, ``pairs_at_default`` (scored pairs at the
    default threshold), ``best`` (best-F1 threshold on the scored pairs: an upper bound chosen
    with the labels), ``curve`` (precision/recall against threshold), ``review_queue`` when the
    tool writes a near-match queue and, on migrant data, ``twins`` and ``state_counts``.
    """
    truth = dataset.read_truth() if truth is None else truth
    link_only = dataset.link_only
    ids = output.identities
    counts = m.cluster_pair_counts(ids, truth, link_only=link_only)
    result: dict[str, Any] = {
        "pairwise": {**counts.prf.as_dict(), **asdict(counts)},
        "bcubed": m.bcubed(ids, truth).as_dict(),
        "clusters": m.cluster_counts(ids, truth),
        "missing_records": m.missing_assignments(ids, truth),
    }
    if output.pairs is not None:
        labelled = m.label_pairs(output.pairs, truth, link_only=link_only)
        proposed = (labelled if output.candidate_pairs is None
                    else m.label_pairs(output.candidate_pairs, truth, link_only=link_only))
        blocking = m.blocking_scores(proposed, truth, link_only=link_only)
        curve = m.threshold_curve(labelled, blocking.true_pairs)
        best = m.best_threshold(curve)
        result["blocking"] = asdict(blocking)
        result["best"] = asdict(best) if best else None
        if output.threshold is not None:
            result["pairs_at_default"] = asdict(
                m.at_threshold(curve, float(output.threshold), blocking.true_pairs)
            )
        result["curve"] = m.downsample_curve(curve)
    if output.near_matches is not None:
        queue = m.review_queue(output.near_matches, ids, truth, link_only=link_only)
        result["review_queue"] = asdict(queue)
    if dataset.has_migrant_truth:
        result["twins"] = asdict(m.twin_merges(ids, truth))
        worst = m.worst_state_count_error(ids, truth)
        result["state_counts"] = asdict(worst)
    return result
