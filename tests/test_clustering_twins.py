"""Clustering around twins: a record that fits either twin is left for a reviewer
(row-number form, `cluster_indexed`)."""

from __future__ import annotations

import numpy as np

from matcher.clustering import IndexedPairs, cluster_indexed
from matcher.settings import Thresholds

THRESHOLDS = Thresholds(upper=0.99, lower=0.5)


def _groups(n: int, rows: list[tuple[int, int, float, bool]]) -> set[frozenset[int]]:
    """Clusters of rows 0..n-1 from (left, right, weight in bits, twin flag) pairs."""
    left, right, weight, flag = (np.asarray(c) for c in zip(*rows, strict=True))
    probability = 1 / (1 + 2.0 ** -weight.astype(float))
    pairs = IndexedPairs(left.astype(np.int64), right.astype(np.int64), probability,
                         flag.astype(bool), weight.astype(float))
    labels = cluster_indexed(n, pairs, THRESHOLDS).labels
    return {frozenset(np.flatnonzero(labels == k).tolist()) for k in np.unique(labels)}


def _twins_and(fit_a: float, fit_b: float) -> list[tuple[int, int, float, bool]]:
    """Twins: ANA MARIA (0, 1) and ANA KAREN (2), flagged apart. ANA (3) links to ANA KAREN
    by `fit_b` bits and to ANA MARIA's records by about `fit_a` (one pair flagged: a declared
    multiple birth, and ANA is not the very same name as ANA MARIA)."""
    return [(0, 1, 25.0, False), (0, 2, 9.0, True), (1, 2, 8.0, True),
            (3, 2, fit_b, False), (3, 0, fit_a + 0.5, True), (3, 1, fit_a - 0.5, False)]


def test_a_record_fitting_either_twin_is_left_alone() -> None:
    groups = _groups(4, _twins_and(fit_a=19.0, fit_b=20.0))
    assert groups == {frozenset({0, 1}), frozenset({2}), frozenset({3})}


def test_a_record_fitting_one_twin_much_better_joins_that_twin() -> None:
    groups = _groups(4, _twins_and(fit_a=12.0, fit_b=20.0))
    assert groups == {frozenset({0, 1}), frozenset({2, 3})}
