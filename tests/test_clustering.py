"""Clustering: equals networkx connected components where no guard applies; then the guards."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.clustering import (
    COMPLETION_LIMIT,
    REASON_BAND,
    REASON_TWIN,
    ClusterResult,
    cluster,
    evidence_within_sources,
    pairs_to_complete,
)
from matcher.settings import Thresholds

THRESHOLDS = Thresholds(upper=0.99, lower=0.5)

Pair = tuple[str, str, float] | tuple[str, str, float, bool]


def scored(pairs: Iterable[Pair]) -> pl.DataFrame:
    rows = [(p[0], p[1], p[2], p[3] if len(p) == 4 else False) for p in pairs]
    return pl.DataFrame(rows, schema={"record_id_l": pl.String, "record_id_r": pl.String,
                                      "match_probability": pl.Float64,
                                      "possible_multiple_birth": pl.Boolean},
                        orient="row").with_columns(
        # the weight a model gives with this probability (clustering orders merges by it)
        match_weight=(pl.col("match_probability") / (1 - pl.col("match_probability")))
        .log(2).clip(-60, 60))


def judged(pairs: Iterable[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(list(pairs), schema={"record_id_l": pl.String, "record_id_r": pl.String},
                        orient="row")


def run(ids: Iterable[str], pairs: Iterable[Pair], must: Iterable[tuple[str, str]] = (),
        cannot: Iterable[tuple[str, str]] = ()) -> ClusterResult:
    must_frame, cannot_frame = judged(must), judged(cannot)
    return cluster(pl.Series(list(ids), dtype=pl.String), scored(pairs), THRESHOLDS,
                   must_link=must_frame if len(must_frame) else None,
                   cannot_link=cannot_frame if len(cannot_frame) else None)


def partition(result: ClusterResult) -> set[frozenset[str]]:
    groups = result.assignments.group_by("cluster_id").agg(pl.col("record_id"))
    return {frozenset(ids) for ids in groups["record_id"].to_list()}


def together(result: ClusterResult, a: str, b: str) -> bool:
    label = dict(result.assignments.iter_rows())
    return label[a] == label[b]


# --- oracle: connected components ---------------------------------------------------------------

strong_probability = st.floats(min_value=0.99, max_value=1.0)
band_probability = st.floats(min_value=0.5, max_value=0.99, exclude_max=True)


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str, float]]]:
    n = draw(st.integers(min_value=1, max_value=14))
    ids = [f"r{i}" for i in range(n)]
    possible = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(possible), unique=True,
                           max_size=len(possible))) if possible else []
    pairs = []
    for i, j in chosen:
        probability = draw(st.one_of(strong_probability, band_probability))
        a, b = (ids[i], ids[j]) if draw(st.booleans()) else (ids[j], ids[i])
        pairs.append((a, b, probability))
    return ids, pairs


@settings(derandomize=True, max_examples=200, deadline=None)
@given(graph=graphs())
def test_partition_equals_connected_components(
        graph: tuple[list[str], list[tuple[str, str, float]]]) -> None:
    ids, pairs = graph
    result = run(ids, pairs)
    reference: nx.Graph[str] = nx.Graph()
    reference.add_nodes_from(ids)
    reference.add_edges_from((a, b) for a, b, p in pairs if p >= THRESHOLDS.upper)
    assert partition(result) == {frozenset(c) for c in nx.connected_components(reference)}
    assert sorted(result.assignments["record_id"].to_list()) == sorted(ids)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(graph=graphs())
def test_near_matches_one_per_cluster_pair(
        graph: tuple[list[str], list[tuple[str, str, float]]]) -> None:
    ids, pairs = graph
    result = run(ids, pairs)
    label = dict(result.assignments.iter_rows())
    best: dict[frozenset[int], float] = {}
    for a, b, p in pairs:
        if label[a] != label[b] and p >= THRESHOLDS.lower:
            key = frozenset((label[a], label[b]))
            best[key] = max(best.get(key, 0.0), p)
    near = result.near_matches
    keys = [frozenset((label[a], label[b])) for a, b in
            near.select("record_id_l", "record_id_r").iter_rows()]
    assert len(keys) == len(set(keys)) == len(best)
    for key, probability in zip(keys, near["match_probability"].to_list(), strict=True):
        assert probability == best[key]
    assert set(near["reason"].to_list()) <= {REASON_BAND}


def test_pairs_naming_unknown_records_are_ignored() -> None:
    result = run(["a", "b"], [("a", "b", 0.999), ("b", "zz", 1.0)])
    assert partition(result) == {frozenset({"a", "b"})}


# --- guards -------------------------------------------------------------------------------------


def test_twin_flagged_pair_never_links_even_at_probability_one() -> None:
    result = run(["a", "b"], [("a", "b", 1.0, True)])
    assert not together(result, "a", "b")
    near = result.near_matches
    assert near.select("record_id_l", "record_id_r").rows() == [("a", "b")]
    assert near["reason"].to_list() == [REASON_TWIN]
    assert near["possible_multiple_birth"].to_list() == [True]


def test_twins_are_not_linked_through_a_third_record() -> None:
    pairs: list[Pair] = [("a", "b", 1.0, True), ("a", "c", 0.999), ("c", "b", 0.995)]
    result = run(["a", "b", "c"], pairs)
    assert not together(result, "a", "b")


def test_twins_keep_their_own_records() -> None:
    """Each twin's duplicate stays with that twin when the twins are kept apart."""
    pairs: list[Pair] = [("a", "b", 1.0, True), ("a", "a2", 0.999), ("b", "b2", 0.999),
                         ("a2", "b2", 0.3)]
    result = run(["a", "a2", "b", "b2"], pairs)
    assert partition(result) == {frozenset({"a", "a2"}), frozenset({"b", "b2"})}


def test_chain_with_a_cannot_link_is_split() -> None:
    result = run(["a", "b", "c"], [("a", "b", 0.999), ("b", "c", 0.995)], cannot=[("a", "c")])
    assert not together(result, "a", "c")
    assert len(partition(result)) >= 2


def test_longer_chain_with_a_cannot_link_keeps_the_strong_ends() -> None:
    pairs: list[Pair] = [("a", "a2", 0.9999), ("c", "c2", 0.9999), ("a2", "b", 0.995),
                         ("b", "c2", 0.991)]
    result = run(["a", "a2", "b", "c", "c2"], pairs, cannot=[("a", "c")])
    assert not together(result, "a", "c")
    assert together(result, "a", "a2")
    assert together(result, "c", "c2")


def test_cannot_link_on_a_strong_pair_keeps_it_apart() -> None:
    result = run(["a", "b"], [("a", "b", 1.0)], cannot=[("b", "a")])
    assert not together(result, "a", "b")


def test_must_link_forces_a_link() -> None:
    result = run(["a", "b", "c"], [("a", "b", 0.2)], must=[("a", "b")])
    assert together(result, "a", "b")
    assert not together(result, "a", "c")
    unscored = run(["a", "b", "c"], [], must=[("c", "a")])
    assert partition(unscored) == {frozenset({"a", "c"}), frozenset({"b"})}


def test_must_link_survives_a_low_scoring_pair_inside_its_component() -> None:
    pairs: list[Pair] = [("a", "b", 0.999), ("b", "c", 0.999), ("a", "c", 0.01)]
    result = run(["a", "b", "c"], pairs, must=[("a", "c")])
    assert together(result, "a", "c")


def test_low_scoring_pair_inside_a_chain_breaks_the_weakest_link() -> None:
    """a-b and b-c link, but a and c scored as a clear non-match: coherence splits the chain."""
    pairs: list[Pair] = [("a", "b", 0.999), ("b", "c", 0.991), ("a", "c", 0.001)]
    result = run(["a", "b", "c"], pairs)
    assert not together(result, "a", "c")
    assert together(result, "a", "b")


def test_band_pairs_across_clusters_become_one_near_match() -> None:
    pairs: list[Pair] = [("a", "b", 0.999), ("c", "d", 0.995),
                         ("a", "c", 0.7), ("b", "d", 0.8), ("a", "d", 0.6),
                         ("e", "a", 0.4)]
    result = run(["a", "b", "c", "d", "e"], pairs)
    near = result.near_matches
    assert near.select("record_id_l", "record_id_r", "match_probability").rows() == [
        ("b", "d", 0.8)]
    assert near["reason"].to_list() == [REASON_BAND]


def test_band_pair_inside_a_cluster_is_not_a_near_match() -> None:
    pairs: list[Pair] = [("a", "b", 0.999), ("b", "c", 0.999), ("a", "c", 0.7)]
    result = run(["a", "b", "c"], pairs)
    assert partition(result) == {frozenset({"a", "b", "c"})}
    assert len(result.near_matches) == 0


@pytest.mark.parametrize(("probability", "linked", "near"), [
    (0.99, True, False),
    (0.9899, False, True),
    (0.5, False, True),
    (0.4999, False, False),
])
def test_threshold_edges(probability: float, linked: bool, near: bool) -> None:
    result = run(["a", "b"], [("a", "b", probability)])
    assert together(result, "a", "b") is linked
    assert (len(result.near_matches) == 1) is near


def test_identifier_agreement_has_a_value_per_pair_without_identifier_comparisons() -> None:
    """A preset with no identifier comparison (pseudopeople) still gets one flag per pair."""
    import polars as pl

    from features.comparisons import exact_comparison
    from matcher.pipeline import identifier_agreement

    gammas = pl.DataFrame({"gamma_sex": pl.Series([0, 1, -1], dtype=pl.Int8)})
    flags = gammas.select(identifier_agreement([exact_comparison("sex", "sex")])).to_series()
    assert flags.to_list() == [False, False, False]
    with_id = [exact_comparison("lsid", "lsid", identifier=True)]
    ids = pl.DataFrame({"gamma_lsid": pl.Series([0, 1, -1], dtype=pl.Int8)})
    assert ids.select(identifier_agreement(with_id)).to_series().to_list() == [True, False, False]


# --- completing small linked components ----------------------------------------------------------


def _complete(n: int, edges: list[tuple[int, int]], scored: list[tuple[int, int]]
              ) -> set[tuple[int, int]]:
    def arrays(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        frame = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        return frame[:, 0], frame[:, 1]

    lo, hi = pairs_to_complete(n, *arrays(edges), *arrays(scored))
    assert (lo < hi).all()
    return set(zip(lo.tolist(), hi.tolist(), strict=True))


def test_a_chain_gets_its_unscored_ends_compared() -> None:
    # 0-1-2 linked, 0-2 never scored; 3-4 a pair (nothing to complete); 5 alone
    assert _complete(6, [(0, 1), (1, 2), (3, 4)], [(0, 1), (1, 2), (3, 4)]) == {(0, 2)}


def test_pairs_already_scored_either_way_round_are_not_completed() -> None:
    assert _complete(4, [(0, 1), (1, 2), (2, 3)], [(0, 1), (2, 1), (3, 2), (2, 0)]) == {
        (0, 3), (1, 3)}


def test_linking_across_inputs_keeps_a_pair_within_one_input_only_below_the_lower_threshold(
) -> None:
    # inputs 0 1 0 1 linked in a chain: (0, 3) is across, (0, 2) and (1, 3) within one input
    assert _complete(4, [(0, 1), (1, 2), (2, 3)], [(0, 1), (1, 2), (2, 3)]) == {
        (0, 2), (0, 3), (1, 3)}
    within = np.array([True, False, True, False])
    probability = np.array([0.2, 0.2, 0.7, 0.99])
    assert evidence_within_sources(within, probability, 0.5).tolist() == [
        True, True, False, True]


def test_components_over_the_limit_are_left_as_blocked() -> None:
    chain = [(i, i + 1) for i in range(COMPLETION_LIMIT)]  # LIMIT + 1 records
    assert _complete(COMPLETION_LIMIT + 1, chain, chain) == set()
    shorter = chain[:-1]
    assert len(_complete(COMPLETION_LIMIT, shorter, shorter)) == (
        COMPLETION_LIMIT * (COMPLETION_LIMIT - 1) // 2 - len(shorter))
