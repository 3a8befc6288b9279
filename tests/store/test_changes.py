"""Merges and splits under the two-person rule, locks, rejection and escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from matcher.errors import ConflictError, StoreError
from matcher.store import IdentityStore, StoreConfig
from matcher.store.changes import ESCALATION_ACTOR
from tests.store.fakes import fake_backend, frame, rec

A = [rec("a1", "TX", "Ana", "Reyes", "2012-02-02"), rec("a2", "CA", "Ana", "Reyes", "2012-02-02")]
B = [rec("b1", "FL", "Anita", "Reyes", "2012-02-20", sex="M", parent1_first_name="Luz")]
C = [rec("c1", "WA", "Pedro", "Ortiz", "2009-09-09")]


@pytest.fixture
def ids(store: IdentityStore) -> dict[str, str]:
    store.load(frame(*A))
    store.load(frame(*B, *C))
    return {k: store.identities.of_record(r) for k, r in (("a", "a1"), ("b", "b1"), ("c", "c1"))}


def test_merge_needs_a_second_administrator(store: IdentityStore, ids: dict[str, str]) -> None:
    change = store.changes.initiate_merge([ids["b"], ids["a"]], actor="admin1", note="same kid")
    assert change.status == "pending"
    assert store.identities.of_record("b1") == ids["b"]  # nothing happens yet
    with pytest.raises(ConflictError, match="two-person rule"):
        store.changes.validate(change.id, actor="admin1")
    done = store.changes.validate(change.id, actor="admin2")
    assert (done.status, done.decided_by) == ("approved", "admin2")
    # the oldest identity's ID survives
    assert done.result == {"identity_id": ids["a"], "merged_ids": [ids["b"]]}
    assert {store.identities.of_record(r) for r in ("a1", "a2", "b1")} == {ids["a"]}
    merged = store.identities.get(ids["b"])
    assert (merged.status, merged.merged_into) == ("merged", ids["a"])
    assert store.identities.resolve(ids["b"]) == ids["a"]
    assert [(x.identity_id, x.relation, x.related_id) for x in store.identities.lineage(ids["b"])
            ] == [(ids["b"], "merged_into", ids["a"])]
    merged_event = store.events.since(0, kinds=["identities_merged"]).events[0]
    assert merged_event.payload["merged_ids"] == [ids["b"]]
    assert merged_event.payload["change_id"] == change.id
    # a student move was detected: FL joined a TX/CA child; TX and CA are told
    moved = store.events.since(0, kinds=["student_moved"]).events[-1]
    assert moved.states == ("CA", "TX") and moved.payload["to_states"] == ["FL"]
    actions = [e.action for e in store.audit.entries(target_id=str(change.id))]
    assert actions == ["merge_initiated", "merge_approved"]


def test_merge_survives_later_loads(store: IdentityStore, ids: dict[str, str]) -> None:
    change = store.changes.initiate_merge([ids["a"], ids["b"]], actor="admin1")
    store.changes.validate(change.id, actor="admin2")
    store.load(frame({**B[0], "parent1_first_name": "Irma"}))
    store.load(frame(rec("a3", "OR", "Ana", "Reyes", "2012-02-02")))
    assert {store.identities.of_record(r) for r in ("a1", "a2", "a3", "b1")} == {ids["a"]}


def test_locked_records_refuse_a_second_change(store: IdentityStore, ids: dict[str, str]
                                               ) -> None:
    first = store.changes.initiate_merge([ids["a"], ids["b"]], actor="admin1")
    with pytest.raises(ConflictError, match=f"locked by pending change #{first.id}"):
        store.changes.initiate_merge([ids["b"], ids["c"]], actor="admin3")
    with pytest.raises(ConflictError, match="locked"):
        store.changes.initiate_split(ids["a"], ["a2"], actor="admin3")
    with pytest.raises(ConflictError, match="locked"):
        store.reviews.judge(record_ids=("a1", "c1"), decision="match", actor="rev")
    store.changes.reject(first.id, actor="admin2", note="different kids")
    assert store.changes.get(first.id).status == "rejected"
    # unlocked again
    again = store.changes.initiate_merge([ids["b"], ids["c"]], actor="admin3")
    store.changes.reject(again.id, actor="admin3")
    assert store.changes.get(again.id).status == "withdrawn"
    with pytest.raises(ConflictError, match="already withdrawn"):
        store.changes.validate(again.id, actor="admin1")
    assert store.identities.of_record("b1") == ids["b"]


def test_split_gives_new_id_to_leavers_only(store: IdentityStore) -> None:
    store.load(frame(*A, rec("a3", "OR", "Ana", "Reyes", "2012-02-02")))
    original = store.identities.of_record("a1")
    # the leavers are the majority: the ID still stays with the records that stay
    change = store.changes.initiate_split(original, ["a2", "a3"], actor="admin1")
    done = store.changes.validate(change.id, actor="admin2")
    assert store.identities.of_record("a1") == original
    new_id = store.identities.of_record("a2")
    assert new_id != original and store.identities.of_record("a3") == new_id
    assert done.result["new_identity_ids"] == [new_id]
    assert [(x.identity_id, x.relation) for x in store.identities.lineage(new_id)] == [
        (new_id, "split_from")]
    split = store.events.since(0, kinds=["identity_split"]).events[-1]
    assert (split.identity_id, split.payload["record_ids"]) == (original, ["a2", "a3"])
    # later loads do not undo the split
    store.load(frame(rec("a4", "GA", "Ana", "Reyes", "2012-02-02")))
    assert store.identities.of_record("a2") == store.identities.of_record("a3") == new_id
    assert store.identities.of_record("a1") != new_id


def test_split_validation_rules(store: IdentityStore, ids: dict[str, str]) -> None:
    with pytest.raises(StoreError, match="at least one record behind"):
        store.changes.initiate_split(ids["a"], ["a1", "a2"], actor="admin1")
    with pytest.raises(StoreError, match="must be records of identity"):
        store.changes.initiate_split(ids["a"], ["c1"], actor="admin1")
    with pytest.raises(StoreError, match="at least two"):
        store.changes.initiate_merge([ids["a"], ids["a"]], actor="admin1")


def test_escalation_approves_automatically(store_url: str) -> None:
    config = StoreConfig(escalation_period=timedelta(hours=1))
    store = IdentityStore.open(store_url, backend=fake_backend(), config=config)
    try:
        store.load(frame(*A))
        store.load(frame(*B))
        a, b = store.identities.of_record("a1"), store.identities.of_record("b1")
        change = store.changes.initiate_merge([a, b], actor="admin1")
        assert store.changes.escalate() == []
        done = store.changes.escalate(now=change.initiated_at + timedelta(hours=2))
        assert [(c.id, c.status, c.decided_by) for c in done] == [
            (change.id, "auto_approved", ESCALATION_ACTOR)]
        assert store.identities.of_record("b1") == a
        assert store.audit.entries(action="merge_auto_approved")[0].actor == ESCALATION_ACTOR
    finally:
        store.close()


def test_merge_refuses_judged_non_match(store: IdentityStore, ids: dict[str, str]) -> None:
    store.reviews.judge(record_ids=("a1", "b1"), decision="non_match", actor="rev")
    with pytest.raises(ConflictError, match="non-match judgement"):
        store.changes.initiate_merge([ids["a"], ids["b"]], actor="admin1")


def test_merge_holds_every_member_even_against_the_twin_guard(store: IdentityStore) -> None:
    """A merge is a person's decision that all these records are one child: a member held
    in its identity only by automatic links stays, even where the guard sees possible twins."""
    store.load(frame(rec("x1", "TX", "Ana", "Reyes", "2012-02-02"),
                     rec("x2", "CA", "Ana", "Reyes", "2012-02-02", multiple_birth_flag="Y")))
    store.load(frame(rec("y1", "FL", "Eva", "Reyes", "2012-02-02", multiple_birth_flag="Y")))
    x, y = store.identities.of_record("x1"), store.identities.of_record("y1")
    assert x != y and store.identities.of_record("x2") == x
    change = store.changes.initiate_merge([x, y], actor="admin1")
    done = store.changes.validate(change.id, actor="admin2")
    assert done.status == "approved"
    assert {store.identities.of_record(r) for r in ("x1", "x2", "y1")} == {x}
    store.load(frame(rec("x2", "CA", "Ana", "Reyes", "2012-02-02", multiple_birth_flag="Y",
                         parent1_first_name="Irma")))  # an update re-evaluates x2's links
    assert {store.identities.of_record(r) for r in ("x1", "x2", "y1")} == {x}
