"""Mapping fresh clusters onto persistent identity IDs."""

from __future__ import annotations

from matcher.store.identity_plan import plan_identities


def test_unchanged_cluster_keeps_its_id() -> None:
    plan = plan_identities({0: ["a", "b"]}, {"a": "X", "b": "X"}, {"X": 1})
    assert plan.cluster_identity == {0: "X"} and plan.merged_into == {}


def test_new_records_alone_get_a_new_id() -> None:
    plan = plan_identities({0: ["a"], 1: ["n"]}, {"a": "X", "n": None}, {"X": 1})
    assert plan.cluster_identity == {0: "X", 1: None}


def test_merge_keeps_the_oldest() -> None:
    plan = plan_identities({0: ["a", "b", "c"]}, {"a": "Y", "b": "Y", "c": "X"},
                           {"X": 1, "Y": 2})
    assert plan.cluster_identity == {0: "X"} and plan.merged_into == {"Y": "X"}


def test_split_majority_keeps_the_id() -> None:
    plan = plan_identities({0: ["a"], 1: ["b", "c"]}, {"a": "X", "b": "X", "c": "X"}, {"X": 1})
    assert plan.cluster_identity == {0: None, 1: "X"}


def test_anchor_overrides_majority() -> None:
    plan = plan_identities({0: ["a"], 1: ["b", "c"]}, {"a": "X", "b": "X", "c": "X"}, {"X": 1},
                           anchors={"X": {"a"}})
    assert plan.cluster_identity == {0: "X", 1: None}


def test_tie_goes_to_the_cluster_with_the_first_record() -> None:
    plan = plan_identities({0: ["d"], 1: ["a"]}, {"a": "X", "d": "X"}, {"X": 1})
    assert plan.cluster_identity == {0: None, 1: "X"}


def test_swap_of_records_between_identities() -> None:
    plan = plan_identities({0: ["a1", "a2", "b1"], 1: ["b2", "b3"]},
                           {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "b3": "B"},
                           {"A": 1, "B": 2})
    assert plan.cluster_identity == {0: "A", 1: "B"} and plan.merged_into == {}
