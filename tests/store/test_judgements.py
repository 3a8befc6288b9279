"""Judgements: non-match is a cannot-link and match a must-link that later loads respect."""

from __future__ import annotations

import pytest

from matcher.errors import ConflictError, NotFoundError, StoreError
from matcher.store import IdentityStore
from tests.store.fakes import frame, rec
from tests.store.helpers import event_kinds

# Three fields agree (p = 0.8): a near match between the thresholds.
MARIA = rec("m1", "TX", "Maria", "Lopez", "2010-01-02")
MARIO = rec("m2", "CA", "Mario", "Lopez", "2010-01-02", sex="M")


def _item(store: IdentityStore) -> int:
    items = store.reviews.queue()
    assert [(i.record_id_l, i.record_id_r) for i in items] == [("m1", "m2")]
    return items[0].id


def test_near_match_is_queued_for_both_states(store: IdentityStore) -> None:
    store.load(frame(MARIA, MARIO))
    item = store.reviews.get(_item(store))
    assert (item.state_l, item.state_r, item.status) == ("TX", "CA", "open")
    assert item.contributions["mw_first_name"] == -1.0
    assert [i.id for i in store.reviews.queue(states=["ca"])] == [item.id]
    assert store.reviews.queue(states=["FL"]) == []
    created = store.events.since(0, state="CA", kinds=["near_match_created"]).events
    assert created[0].payload["near_match_id"] == item.id


def test_match_judgement_links_and_later_loads_keep_it(store: IdentityStore) -> None:
    store.load(frame(MARIA, MARIO))
    assert store.identities.of_record("m1") != store.identities.of_record("m2")
    older = store.identities.of_record("m1")
    j = store.reviews.judge(_item(store), decision="match", actor="rev1", note="same child")
    assert (j.decision, j.actor, j.note, j.active) == ("match", "rev1", "same child", True)
    assert store.identities.of_record("m2") == store.identities.of_record("m1") == older
    assert store.reviews.get(j.near_match_id or 0).status == "resolved"
    # a later load touching them (an update of m2, and a new neighbour) keeps the must-link
    store.load(frame({**MARIO, "parent1_first_name": "Alma"},
                     rec("m3", "FL", "Maria", "Lopez", "2010-01-02")))
    assert store.identities.of_record("m2") == store.identities.of_record("m1")
    assert "near_match_resolved" in event_kinds(store)
    entry = store.audit.entries(action="judgement")[0]
    assert (entry.actor, entry.detail["decision"]) == ("rev1", "match")


def test_non_match_is_never_overridden(store: IdentityStore) -> None:
    store.load(frame(MARIA, MARIO))
    store.reviews.judge(_item(store), decision="non_match", actor="rev1")
    # the second record is re-sent so that it now agrees on everything: still kept apart
    store.load(frame({**MARIO, "first_name": "Maria", "sex": "F"}))
    assert store.identities.of_record("m1") != store.identities.of_record("m2")
    assert store.reviews.queue() == []
    # and a reload of both changes nothing
    cursor = store.events.latest_cursor()
    store.load(frame(MARIA, {**MARIO, "first_name": "Maria", "sex": "F"}))
    assert store.events.latest_cursor() == cursor


def test_unsure_parks_the_item(store: IdentityStore) -> None:
    store.load(frame(MARIA, MARIO))
    item_id = _item(store)
    store.reviews.judge(item_id, decision="unsure", actor="rev1")
    assert store.reviews.queue() == []
    assert [i.id for i in store.reviews.queue(status="unsure")] == [item_id]
    store.reviews.judge(item_id, decision="non_match", actor="senior")
    assert [j.active for j in store.reviews.judgements("m1")] == [False, True]


def test_judging_by_record_pair(store: IdentityStore) -> None:
    store.load(frame(MARIA, MARIO))
    store.reviews.judge(record_ids=("m2", "m1"), decision="match", actor="rev1")
    assert store.identities.of_record("m2") == store.identities.of_record("m1")
    assert store.reviews.queue(status="resolved")[0].decision == "match"


def test_non_match_inside_one_identity_needs_a_split(store: IdentityStore) -> None:
    store.load(frame(MARIA, {**MARIA, "record_id": "m9", "state": "WA"}))
    with pytest.raises(ConflictError, match="split"):
        store.reviews.judge(record_ids=("m1", "m9"), decision="non_match", actor="rev1")


def test_bad_judgements_are_refused(store: IdentityStore) -> None:
    store.load(frame(MARIA, MARIO))
    with pytest.raises(StoreError, match="'decision' must be one of"):
        store.reviews.judge(_item(store), decision="maybe", actor="rev1")
    with pytest.raises(NotFoundError):
        store.reviews.judge(9999, decision="match", actor="rev1")
    with pytest.raises(NotFoundError):
        store.reviews.judge(record_ids=("m1", "nope"), decision="match", actor="rev1")
