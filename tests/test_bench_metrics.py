"""Benchmark metrics on literal cases computed by hand."""

from __future__ import annotations

import polars as pl
import pytest

from benchmarks import metrics as m


def truth_frame(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"record_id": pl.String, "entity_id": pl.String, "source": pl.Int32},
        orient="row",
    )


def assignment(clusters: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(r, f"id{i}") for i, members in enumerate(clusters) for r in members],
        schema={"record_id": pl.String, "identity_id": pl.String},
        orient="row",
    )


# entities: e1 = {a, b, c}, e2 = {d, e}, e3 = {f}; prediction {a, b}, {c, d, e}, {f}
DEDUPE_TRUTH = truth_frame(
    [("a", "e1", 0), ("b", "e1", 0), ("c", "e1", 0), ("d", "e2", 0), ("e", "e2", 0),
     ("f", "e3", 0)]
)
DEDUPE_PRED = assignment([["a", "b"], ["c", "d", "e"], ["f"]])


def test_pairwise_dedupe_by_hand() -> None:
    # true pairs ab ac bc de = 4; predicted ab cd ce de = 4; correct ab de = 2
    counts = m.cluster_pair_counts(DEDUPE_PRED, DEDUPE_TRUTH, link_only=False)
    assert (counts.tp, counts.predicted, counts.true) == (2, 4, 4)
    prf = counts.prf
    assert (prf.precision, prf.recall, prf.f1) == pytest.approx((0.5, 0.5, 0.5))


def test_bcubed_by_hand() -> None:
    # precision per record: a 1, b 1, c 1/3, d 2/3, e 2/3, f 1 -> 14/3 / 6 = 7/9
    # recall per record:    a 2/3, b 2/3, c 1/3, d 1, e 1, f 1 -> 14/3 / 6 = 7/9
    prf = m.bcubed(DEDUPE_PRED, DEDUPE_TRUTH)
    assert prf.precision == pytest.approx(7 / 9)
    assert prf.recall == pytest.approx(7 / 9)
    assert prf.f1 == pytest.approx(7 / 9)


def test_bcubed_perfect_and_all_singletons() -> None:
    perfect = assignment([["a", "b", "c"], ["d", "e"], ["f"]])
    assert m.bcubed(perfect, DEDUPE_TRUTH) == m.PRF(1.0, 1.0, 1.0)
    singletons = assignment([[r] for r in "abcdef"])
    prf = m.bcubed(singletons, DEDUPE_TRUTH)
    # recall: a,b,c 1/3 each, d,e 1/2 each, f 1 -> (1 + 1 + 1) / 6
    assert prf.precision == pytest.approx(1.0)
    assert prf.recall == pytest.approx(0.5)


def test_cluster_counts() -> None:
    assert m.cluster_counts(DEDUPE_PRED, DEDUPE_TRUTH) == {
        "predicted_identities": 3,
        "true_entities": 3,
        "largest_identity": 3,
    }


def test_unassigned_records_become_singletons() -> None:
    partial = assignment([["a", "b", "c"], ["d"]])  # e and f missing
    assert m.missing_assignments(partial, DEDUPE_TRUTH) == 2
    counts = m.cluster_pair_counts(partial, DEDUPE_TRUTH, link_only=False)
    assert (counts.tp, counts.predicted, counts.true) == (3, 3, 4)


# link-only: source 0 = {a, g, d, f}, source 1 = {b, e}; e1 = {a, g, b}, e2 = {d, e}, e3 = {f}
LINK_TRUTH = truth_frame(
    [("a", "e1", 0), ("g", "e1", 0), ("b", "e1", 1), ("d", "e2", 0), ("e", "e2", 1),
     ("f", "e3", 0)]
)


def test_link_only_counts_cross_file_pairs_only() -> None:
    # true cross pairs: ab, gb, de = 3 (the within-file pair ag does not count)
    assert m.true_pair_count(LINK_TRUTH, link_only=True) == 3
    assert m.true_pair_count(LINK_TRUTH, link_only=False) == 4
    pred = assignment([["a", "g", "b", "d"], ["e"], ["f"]])
    # predicted cross pairs: ab, gb, db = 3 (ag, ad, gd are within file 0); correct ab, gb
    counts = m.cluster_pair_counts(pred, LINK_TRUTH, link_only=True)
    assert (counts.tp, counts.predicted, counts.true) == (2, 3, 3)
    assert counts.prf.precision == pytest.approx(2 / 3)
    assert counts.prf.recall == pytest.approx(2 / 3)


def test_possible_pairs() -> None:
    assert m.possible_pairs(LINK_TRUTH, link_only=True) == 4 * 2
    assert m.possible_pairs(DEDUPE_TRUTH, link_only=False) == 15


LINK_PAIRS = pl.DataFrame(
    {
        "record_id_l": ["a", "a", "d", "e", "b", "e"],
        "record_id_r": ["g", "b", "b", "d", "a", "f"],
        "match_probability": [0.99, 0.9, 0.8, 0.3, 0.95, 0.1],
    }
)


def test_label_pairs_link_only() -> None:
    labelled = m.label_pairs(LINK_PAIRS, LINK_TRUTH, link_only=True).sort("match_probability")
    # a-g is within file 0: dropped; b-a duplicates a-b: kept once with the higher score
    assert labelled.rows() == [
        ("e", "f", 0.1, False),
        ("d", "e", 0.3, True),
        ("b", "d", 0.8, False),
        ("a", "b", 0.95, True),
    ]


def test_blocking_scores_by_hand() -> None:
    labelled = m.label_pairs(LINK_PAIRS, LINK_TRUTH, link_only=True)
    scores = m.blocking_scores(labelled, LINK_TRUTH, link_only=True)
    assert scores.candidates == 4
    assert scores.possible == 8
    assert scores.reduction_ratio == pytest.approx(0.5)
    assert scores.true_pairs_in_candidates == 2
    assert scores.pair_completeness == pytest.approx(2 / 3)


def test_threshold_curve_and_best_threshold() -> None:
    labelled = m.label_pairs(LINK_PAIRS, LINK_TRUTH, link_only=True)
    curve = m.threshold_curve(labelled, true_pairs=3)
    rows = [(r["threshold"], r["predicted"], r["tp"]) for r in curve.iter_rows(named=True)]
    assert rows == [(0.95, 1, 1), (0.8, 2, 1), (0.3, 3, 2), (0.1, 4, 2)]
    best = m.best_threshold(curve)
    assert best is not None
    assert best.threshold == pytest.approx(0.3)
    assert (best.precision, best.recall, best.f1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    at = m.at_threshold(curve, 0.9, true_pairs=3)
    assert (at.precision, at.recall, at.predicted) == (1.0, pytest.approx(1 / 3), 1)
    nothing = m.at_threshold(curve, 0.99, true_pairs=3)
    assert (nothing.predicted, nothing.recall, nothing.f1) == (0, 0.0, 0.0)


def test_threshold_curve_ties_share_a_threshold() -> None:
    labelled = pl.DataFrame(
        {"match_probability": [0.5, 0.5, 0.2], "is_match": [True, False, True]}
    )
    curve = m.threshold_curve(labelled, true_pairs=4)
    assert curve.select("threshold", "predicted", "tp").rows() == [(0.5, 2, 1), (0.2, 3, 2)]


def test_empty_curve() -> None:
    empty = m.label_pairs(LINK_PAIRS.head(0), LINK_TRUTH, link_only=True)
    curve = m.threshold_curve(empty, true_pairs=3)
    assert curve.is_empty()
    assert m.best_threshold(curve) is None
    assert m.downsample_curve(curve) == []


def test_downsample_keeps_best_point() -> None:
    labelled = pl.DataFrame(
        {
            "match_probability": [1 - i / 1000 for i in range(1000)],
            "is_match": [i % 3 != 0 for i in range(1000)],
        }
    )
    curve = m.threshold_curve(labelled, true_pairs=700)
    points = m.downsample_curve(curve, max_points=50)
    assert len(points) <= 60
    best = m.best_threshold(curve)
    assert best is not None
    assert any(p["threshold"] == best.threshold for p in points)


# migrant data: x and y are twins (birth group G), z is single; p, q, r are triplets (H)
MIGRANT_TRUTH = pl.DataFrame(
    [
        ("x1", "x", "G", "TX"),
        ("x2", "x", "G", "CA"),
        ("y1", "y", "G", "TX"),
        ("z1", "z", None, "TX"),
        ("p1", "p", "H", "CA"),
        ("q1", "q", "H", "CA"),
        ("r1", "r", "H", "CA"),
    ],
    schema={
        "record_id": pl.String,
        "child_id": pl.String,
        "birth_group_id": pl.String,
        "state": pl.String,
    },
    orient="row",
).with_columns(pl.col("child_id").alias("entity_id"), pl.lit(0, dtype=pl.Int32).alias("source"))
MIGRANT_PRED = assignment([["x1", "y1"], ["x2"], ["z1"], ["p1", "q1"], ["r1"]])


def test_twin_merges_by_hand() -> None:
    twins = m.twin_merges(MIGRANT_PRED, MIGRANT_TRUTH)
    # sibling child pairs: x-y (G), p-q, p-r, q-r (H) = 4; merged: x-y and p-q
    assert twins == m.TwinMerges(child_pairs_merged=2, child_pairs_total=4, record_pairs_merged=2)


def test_twin_merges_counts_each_child_pair_once() -> None:
    pred = assignment([["x1", "x2", "y1"], ["z1"], ["p1"], ["q1"], ["r1"]])
    twins = m.twin_merges(pred, MIGRANT_TRUTH)
    # x-y merged once as children, twice as records (x1-y1, x2-y1)
    assert twins == m.TwinMerges(child_pairs_merged=1, child_pairs_total=4, record_pairs_merged=2)


def test_state_count_errors_by_hand() -> None:
    table = m.state_count_errors(MIGRANT_PRED, MIGRANT_TRUTH)
    # TX: identities {x1,y1}, {z1} = 2 vs children x, y, z = 3 -> 1/3
    # CA: identities {x2}, {p1,q1}, {r1} = 3 vs children x, p, q, r = 4 -> 1/4
    assert table.select("state", "predicted", "true").rows() == [("TX", 2, 3), ("CA", 3, 4)]
    worst = m.worst_state_count_error(MIGRANT_PRED, MIGRANT_TRUTH)
    assert (worst.state, worst.predicted, worst.true) == ("TX", 2, 3)
    assert worst.max_relative_error == pytest.approx(1 / 3)


def test_state_count_error_counts_an_identity_in_each_state() -> None:
    pred = assignment([["x1", "x2"], ["y1"], ["z1"], ["p1"], ["q1"], ["r1"]])
    table = m.state_count_errors(pred, MIGRANT_TRUTH)
    assert set(table.select("state", "predicted", "true").rows()) == {("TX", 3, 3), ("CA", 4, 4)}
    assert m.worst_state_count_error(pred, MIGRANT_TRUTH).max_relative_error == 0.0


def test_overcount_relative_error() -> None:
    singletons = assignment([[r] for r in MIGRANT_TRUTH["record_id"].to_list()])
    worst = m.worst_state_count_error(singletons, MIGRANT_TRUTH)
    # every record its own identity: TX 3 vs 3, CA 4 vs 4 -> no error; split x1 from x2 is
    # across states, so counts stay right even though pairwise recall is 0
    assert worst.max_relative_error == 0.0
    counts = m.cluster_pair_counts(singletons, MIGRANT_TRUTH, link_only=False)
    assert counts.prf.recall == 0.0


# review queue: identities X = {a, b}, Y = {c, d}, Z = {e, f} over e1 = {a, b, c}, e2 = {d, e},
# e3 = {f}. True pairs ab ac bc de; linked ab; not linked ac, bc (X-Y) and de (Y-Z).
QUEUE_PRED = pl.DataFrame(
    {"record_id": list("abcdef"), "identity_id": ["X", "X", "Y", "Y", "Z", "Z"]}
)


def queue(items: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        items, schema={"record_id_l": pl.String, "record_id_r": pl.String}, orient="row"
    )


def test_review_queue_by_hand() -> None:
    # c-a joins Y and X: holds ac and bc; b-f joins X and Z, which share no entity: holds none
    result = m.review_queue(
        queue([("c", "a"), ("b", "f")]), QUEUE_PRED, DEDUPE_TRUTH, link_only=False
    )
    assert result == m.ReviewQueue(
        items=2,
        records=6,
        share_of_records=pytest.approx(2 / 6),
        unlinked_true_pairs=3,
        held_true_pairs=2,
        held_share=pytest.approx(2 / 3),
    )


def test_review_queue_counts_identity_pairs_once() -> None:
    # a-c twice (both orders) and b-d all join X and Y: ac and bc held once; e-f lies inside Z,
    # a-a is a self-pair and a-zzz names a record outside the truth: they hold nothing
    items = [("a", "c"), ("c", "a"), ("b", "d"), ("e", "f"), ("a", "a"), ("a", "zzz")]
    result = m.review_queue(queue(items), QUEUE_PRED, DEDUPE_TRUTH, link_only=False)
    assert (result.items, result.unlinked_true_pairs, result.held_true_pairs) == (4, 3, 2)
    # d-e would be held by any item joining Y and Z
    result = m.review_queue(queue([("c", "f")]), QUEUE_PRED, DEDUPE_TRUTH, link_only=False)
    assert (result.items, result.held_true_pairs, result.held_share) == (1, 1, pytest.approx(1 / 3))


def test_review_queue_empty_and_all_linked() -> None:
    empty = m.review_queue(queue([]), QUEUE_PRED, DEDUPE_TRUTH, link_only=False)
    assert empty == m.ReviewQueue(0, 6, 0.0, 3, 0, 0.0)
    perfect = assignment([["a", "b", "c"], ["d", "e"], ["f"]])
    nothing_missed = m.review_queue(queue([("a", "d")]), perfect, DEDUPE_TRUTH, link_only=False)
    assert nothing_missed == m.ReviewQueue(1, 6, pytest.approx(1 / 6), 0, 0, 1.0)


def test_review_queue_unassigned_record_is_its_own_identity() -> None:
    # f and e left out: e is a singleton, so d-e is not linked and an item d-e holds it
    partial = assignment([["a", "b", "c"], ["d"]])
    result = m.review_queue(queue([("e", "d")]), partial, DEDUPE_TRUTH, link_only=False)
    assert (result.unlinked_true_pairs, result.held_true_pairs, result.held_share) == (1, 1, 1.0)


def test_review_queue_link_only() -> None:
    # LINK_TRUTH: file 0 = {a, g, d, f}, file 1 = {b, e}; e1 = {a, g, b}, e2 = {d, e}, e3 = {f}
    # identities P = {a}, Q = {g, b}, R = {d}, S = {e}, T = {f}
    pred = assignment([["a"], ["g", "b"], ["d"], ["e"], ["f"]])
    items = queue([("a", "b"), ("d", "f")])
    # cross-file true pairs ab, gb, de; linked gb; not linked ab, de. a-b joins P and Q, which
    # hold e1 records a | g, b: the cross-file pair ab is held, a-g (both file 0) does not count;
    # d-f joins R and T: no common entity
    link = m.review_queue(items, pred, LINK_TRUTH, link_only=True)
    assert link == m.ReviewQueue(2, 6, pytest.approx(2 / 6), 2, 1, pytest.approx(0.5))
    # as a dedupe task a-g counts too: not linked ab, ag, de; held ab, ag
    dedupe = m.review_queue(items, pred, LINK_TRUTH, link_only=False)
    assert (dedupe.unlinked_true_pairs, dedupe.held_true_pairs) == (3, 2)
