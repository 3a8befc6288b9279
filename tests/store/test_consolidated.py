"""The consolidated record: chosen values with provenance, computed, and views audited."""

from __future__ import annotations

import pytest

from matcher.errors import NotFoundError
from matcher.store import IdentityStore
from tests.store.fakes import frame, rec


def test_consolidated_values_and_provenance(store: IdentityStore) -> None:
    store.load(frame(rec("r1", "TX", "Maria", "Lopez", "2010-01-02", grade="03")))
    store.load(frame(rec("r2", "CA", "maria", "Lopez", "2010-01-02", grade="04",
                         middle_name="Jose")))
    store.load(frame(rec("r3", "FL", "MARIA", "Lopez", "2010-01-02", grade="04")))
    identity = store.identities.of_record("r1")
    view = store.identities.consolidated(identity, actor="auditor1")
    assert view.record_ids == ["r1", "r2", "r3"]
    grade = view.fields["grade"]
    assert grade.value == "04" and grade.record_id == "r3" and grade.state == "FL"
    assert [(o.value, o.state, o.record_id) for o in grade.others] == [("03", "TX", "r1")]
    assert view.fields["middle_name"].value == "Jose"
    assert view.fields["middle_name"].state == "CA"
    first = view.fields["first_name"]
    assert first.value == "MARIA" and first.others == []  # one value, three spellings
    assert view.fields["suffix"].value is None
    # computed, never stored: the states' records are untouched
    assert sorted(store.identities.members(identity)["first_name"]) == ["MARIA", "Maria",
                                                                         "maria"]
    entry = store.audit.entries(action="identity_viewed")[-1]
    assert (entry.actor, entry.target_id) == ("auditor1", identity)


def test_identity_get_is_audited(store: IdentityStore) -> None:
    store.load(frame(rec("r1", "TX", "Maria", "Lopez", "2010-01-02")))
    identity = store.identities.of_record("r1")
    view = store.identities.get(identity, actor="viewer")
    assert (view.record_ids, view.states, view.status) == (["r1"], ["TX"], "active")
    assert store.audit.entries(actor="viewer")[0].action == "identity_viewed"
    with pytest.raises(NotFoundError):
        store.identities.get("123456789012")
