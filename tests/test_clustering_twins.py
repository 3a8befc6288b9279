"""Clustering around twins: a record that fits either twin is left for a reviewer
(row-number form, `cluster_indexed`)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest

import matcher.clustering
from matcher.clustering import IndexedPairs, cluster, cluster_indexed
from matcher.settings import Thresholds

THRESHOLDS = Thresholds(upper=0.99, lower=0.5)


def _groups(n: int, rows: list[tuple[int, int, float, bool]],
            confirmed: frozenset[tuple[int, int]] = frozenset()) -> set[frozenset[int]]:
    """Clusters of rows 0..n-1 from (left, right, weight in bits, twin flag) pairs; an
    identifier agrees on the `confirmed` pairs."""
    left, right, weight, flag = (np.asarray(c) for c in zip(*rows, strict=True))
    probability = 1 / (1 + 2.0 ** -weight.astype(float))
    agrees = np.array([(a, b) in confirmed for a, b, *_ in rows], dtype=bool)
    pairs = IndexedPairs(left.astype(np.int64), right.astype(np.int64), probability,
                         flag.astype(bool), weight.astype(float), confirmed=agrees)
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


def test_a_record_fitting_either_twin_joins_the_one_whose_student_id_it_shares() -> None:
    """ANA fits both twins by name, but she and ANA KAREN have one student id in one state:
    that state's system says one child, whatever the names say."""
    groups = _groups(4, _twins_and(fit_a=19.0, fit_b=20.0), confirmed=frozenset({(3, 2)}))
    assert groups == {frozenset({0, 1}), frozenset({2, 3})}


def test_a_shared_student_id_does_not_link_a_weak_pair() -> None:
    groups = _groups(4, [*_twins_and(fit_a=19.0, fit_b=20.0)[:3], (3, 2, 2.0, False),
                         (3, 0, 19.5, True), (3, 1, 18.5, False)], confirmed=frozenset({(3, 2)}))
    assert groups == {frozenset({0, 1}), frozenset({2}), frozenset({3})}


def _frame(rows: list[tuple[int, int, float, bool]], **columns: Sequence[bool | None]
           ) -> pl.DataFrame:
    """The pairs as `cluster()` takes them (the store's form): records r0, r1, ..."""
    weight = np.array([w for _, _, w, _ in rows])
    return pl.DataFrame({
        "record_id_l": [f"r{a}" for a, *_ in rows], "record_id_r": [f"r{b}" for _, b, *_ in rows],
        "match_probability": 1 / (1 + 2.0 ** -weight), "match_weight": weight,
        "possible_multiple_birth": [f for *_, f in rows],
        **{name: pl.Series(values, dtype=pl.Boolean) for name, values in columns.items()}})


def _frame_groups(n: int, pairs: pl.DataFrame, order: Sequence[int] | None = None
                  ) -> set[frozenset[int]]:
    """The clusters of records r0..r{n-1}, numbered in `order` (r0 first by default)."""
    ids = pl.Series([f"r{i}" for i in (range(n) if order is None else order)])
    groups = cluster(ids, pairs, THRESHOLDS).assignments.group_by("cluster_id").agg(
        "record_id")["record_id"]
    return {frozenset(int(r[1:]) for r in g) for g in groups.to_list()}


def _partitions_over_numberings(n: int, pairs: pl.DataFrame) -> set[frozenset[frozenset[int]]]:
    """The partition `cluster()` gives for every numbering of records r0..r{n-1}."""
    return {frozenset(_frame_groups(n, pairs, order))
            for order in itertools.permutations(range(n))}


def test_cluster_reads_identifier_agrees_as_batch_link_passes_confirmed() -> None:
    rows = _twins_and(fit_a=19.0, fit_b=20.0)
    agrees = [(a, b) == (3, 2) for a, b, *_ in rows]
    assert _frame_groups(4, _frame(rows, identifier_agrees=agrees)) == _groups(
        4, rows, confirmed=frozenset({(3, 2)})) == {frozenset({0, 1}), frozenset({2, 3})}
    # absent, or unknown (null), as without it
    alone = {frozenset({0, 1}), frozenset({2}), frozenset({3})}
    assert _frame_groups(4, _frame(rows)) == alone
    assert _frame_groups(4, _frame(rows, identifier_agrees=[None] * len(rows))) == alone


def test_cluster_passes_the_optional_columns_into_indexed_pairs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[IndexedPairs] = []
    real = matcher.clustering.cluster_indexed

    def spy(n: int, pairs: IndexedPairs, *args: object, **kwargs: object
            ) -> matcher.clustering.ClusterOutcome:
        seen.append(pairs)
        return real(n, pairs, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(matcher.clustering, "cluster_indexed", spy)
    rows = [(0, 1, 20.0, False), (1, 2, 20.0, False), (0, 2, 1.0, False)]
    _frame_groups(3, _frame(rows, same_name=[True, None, False],
                            identifier_agrees=[None, True, False]))
    _frame_groups(3, _frame(rows))
    with_columns, without = seen
    assert with_columns.same_name is not None and with_columns.confirmed is not None
    by_pair = {(a, b): (s, c) for a, b, s, c in zip(
        with_columns.left.tolist(), with_columns.right.tolist(),
        with_columns.same_name.tolist(), with_columns.confirmed.tolist(), strict=True)}
    assert by_pair == {(0, 1): (True, False), (1, 2): (False, True), (0, 2): (False, False)}
    assert without.same_name is None and without.confirmed is None


def _one_girl(by_names: str, unflagged_from_mari: int = 2) -> set[frozenset[int]]:
    """MARIA FERNANDA (0, 1), FERNANDA (2) and MARI (3), one girl: MARI against FERNANDA is
    flagged (two given names), MARI against MARIA FERNANDA is not. `by_names`: the
    `multiple_birth_by_names` value of the flagged pair ("yes", "no", "null"), or "absent"
    for no such column."""
    rows = [(0, 1, 36.0, False), (0, 2, 25.0, False), (1, 2, 24.0, False),
            (3, 2, 14.0, True), (3, 0, 21.0, False), (3, 1, 15.0, False)]
    rows = rows[:4 + unflagged_from_mari]
    value = {"yes": True, "no": False, "null": None}.get(by_names)
    columns = {} if by_names == "absent" else {
        "multiple_birth_by_names": [value if flag else False for *_, flag in rows]}
    return _frame_groups(4, _frame(rows, **columns))


def test_a_flag_the_names_alone_raise_is_outvoted_by_more_strong_pairs() -> None:
    assert _one_girl(by_names="yes") == {frozenset({0, 1, 2, 3})}


@pytest.mark.parametrize("by_names", ["no", "null", "absent"])
def test_a_flag_the_records_raise_or_an_unknown_one_keeps_the_groups_apart(
        by_names: str) -> None:
    """A declared multiple birth, enrollments together or two sexes say two children
    whatever the other pairs say (and a store's pairs from before the column, null, are read
    so)."""
    assert _one_girl(by_names=by_names) == {frozenset({0, 1, 2}), frozenset({3})}


def test_a_flag_the_names_alone_raise_holds_against_as_many_strong_pairs() -> None:
    assert _one_girl(by_names="yes", unflagged_from_mari=1) == {frozenset({0, 1, 2}),
                                                                frozenset({3})}


@pytest.mark.parametrize(("by_names", "same_name", "groups"), [
    (True, True, {frozenset({0, 1, 2})}),
    (True, False, {frozenset({0, 1}), frozenset({2})}),   # JUAN fits JUAN PABLO as well
    (False, True, {frozenset({0, 1}), frozenset({2})}),   # the records say two children
])
def test_a_tie_is_broken_by_a_pair_of_the_very_same_given_names(
        by_names: bool, same_name: bool, groups: set[frozenset[int]]) -> None:
    """JUAN | CARLOS (0) and JUAN CT (1) link; JUAN CARLOS (2) is flagged against JUAN CT by
    its names and links, unflagged, to JUAN | CARLOS: one flag, one strong pair. When that
    pair has the very same given names, JUAN CT is a typo, not a twin."""
    rows = [(0, 1, 30.0, False), (2, 1, 16.0, True), (2, 0, 22.0, False)]
    pairs = _frame(rows, multiple_birth_by_names=[False, by_names, False],
                   same_name=[False, False, same_name])
    assert _frame_groups(3, pairs) == groups


@pytest.mark.parametrize(("by_names", "groups"), [
    (True, {frozenset({0, 1, 2, 3})}),
    # a flag the records raise: MARIA stays apart from GUADALUPE, and the fourth record,
    # fitting either nearly as well, is left alone
    (False, {frozenset({0}), frozenset({1, 2}), frozenset({3})}),
])
def test_a_record_fitting_a_group_kept_apart_only_until_it_joins_is_no_guess(
        by_names: bool, groups: set[frozenset[int]]) -> None:
    """GUADALUPE (0), MARIA (1), MARIA GUADALUPE (2, 3), one girl: GUADALUPE against MARIA
    is flagged by the names, MARIA and one MARIA GUADALUPE share a student id. The other
    MARIA GUADALUPE (3) fits GUADALUPE nearly as well as those two; once it joins them, two
    strong unflagged pairs outvote the one flag, so GUADALUPE is not a rival to guess
    between but the same child."""
    rows = [(0, 1, 9.1, True), (0, 2, 17.8, False), (0, 3, 19.0, False),
            (1, 3, 19.0, False), (2, 3, 21.8, False), (1, 2, 35.9, False)]
    pairs = _frame(rows, multiple_birth_by_names=[by_names] + [False] * 5,
                   same_name=[False, False, False, False, True, False])
    assert _frame_groups(4, pairs) == groups


def test_a_record_fitting_either_twin_is_still_left_alone_when_a_flag_is_by_names() -> None:
    """JUAN CARLOS (0, 1) and JUAN PABLO (2, 3), every pair between them flagged by the
    names; JUAN (4) fits both. Joined to either twin, the other is still kept apart: a guess."""
    rows = [(0, 1, 30.0, False), (2, 3, 30.0, False),
            (0, 2, 9.0, True), (0, 3, 9.0, True), (1, 2, 9.0, True), (1, 3, 9.0, True),
            (4, 0, 15.0, False), (4, 1, 15.0, False), (4, 2, 14.0, False), (4, 3, 14.0, False)]
    pairs = _frame(rows, multiple_birth_by_names=[flag for *_, flag in rows])
    assert _frame_groups(5, pairs) == {frozenset({0, 1}), frozenset({2, 3}), frozenset({4})}


def test_an_identifier_does_not_settle_whether_a_rival_group_joins() -> None:
    """MARIA (0) and MARIA GUADALUPE (1) share a student id; MARHIA JOSE (2), her declared
    twin, links strongly to MARIA alone and is flagged against MARIA GUADALUPE. MARIA fits
    MARIA GUADALUPE nearly as well as MARHIA JOSE: joining MARIA to her twin is a guess,
    whatever the student id says of MARIA GUADALUPE (it ties her to MARIA, which is the
    question)."""
    rows = [(0, 2, 24.0, False), (0, 1, 23.1, False), (1, 2, 9.0, True)]
    pairs = _frame(rows, identifier_agrees=[False, True, False],
                   multiple_birth_by_names=[False, False, False])
    assert _frame_groups(3, pairs) == {frozenset({0, 1}), frozenset({2})}


def test_a_held_back_guess_does_not_depend_on_how_records_are_numbered() -> None:
    """PA (0) fits the pair NC | FL (1, 2) and, flagged by the names, FL2 (3), which a shared
    student id ties to FL. The merge of PA into NC | FL is held back as a guess; FL2 then
    joins NC | FL. Whichever root that union keeps, the guess stays held back: the store
    numbers a neighbourhood by record id, batch `link` by input row, and both must agree."""
    rows = [(0, 3, 4.8, True), (1, 3, 15.5, True), (0, 1, 21.8, False), (0, 2, 27.8, False),
            (3, 2, 29.4, False), (1, 2, 38.5, False)]
    columns = {"multiple_birth_by_names": [True, True, False, False, False, False],
               "same_name": [False, False, True, False, False, False],
               "identifier_agrees": [False, False, False, False, True, False]}
    pairs = _frame(rows, **columns)
    assert _partitions_over_numberings(4, pairs) == {
        frozenset({frozenset({0}), frozenset({1, 2, 3})})}



def test_an_exact_tie_in_a_rebuild_goes_the_same_way_however_records_are_numbered() -> None:
    """r0 links to r1 and to r2 by the very same weight; r1 and r2 scored far apart, so r0
    can join only one of them. Which one is a tie: the lowest record ids win it, whatever the
    rows' order (a store numbers a neighbourhood by record id, batch `link` by input row)."""
    pairs = _frame([(0, 1, 20.0, False), (0, 2, 20.0, False), (1, 2, -30.0, False)])
    assert _partitions_over_numberings(3, pairs) == {
        frozenset({frozenset({0, 1}), frozenset({2})})}


def test_a_tie_in_mean_weight_up_to_rounding_is_still_a_tie() -> None:
    """Means of weights that agree but for the last bits of their sums (-0.05 + 20.4 against
    -0.15 + 20.5) tie: r2, the lower record id, joins r0 | r1, not r3, in every numbering."""
    pairs = _frame([(0, 1, 40.0, False), (0, 2, -0.05, False), (1, 2, 20.4, False),
                    (0, 3, -0.15, False), (1, 3, 20.5, False), (2, 3, -30.0, False)])
    assert -0.05 + 20.4 != -0.15 + 20.5
    assert _partitions_over_numberings(4, pairs) == {
        frozenset({frozenset({0, 1, 2}), frozenset({3})})}


def test_of_equally_probable_band_pairs_the_queue_shows_the_lowest_record_ids() -> None:
    """r0 | r1 and r2 | r3 are two people; r0-r2 and r1-r3 fall in the band with the very
    same score. One review item, naming r0 and r2, whatever the rows' order."""
    pairs = _frame([(0, 1, 30.0, False), (2, 3, 30.0, False), (1, 3, 2.0, False),
                    (0, 2, 2.0, False)])
    shown = set()
    for order in itertools.permutations(range(4)):
        near = cluster(pl.Series([f"r{i}" for i in order]), pairs, THRESHOLDS).near_matches
        shown.add(tuple(near.select("record_id_l", "record_id_r").rows()))
    assert shown == {(("r0", "r2"),)}
