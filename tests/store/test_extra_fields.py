"""The store keeps a preset's extra evidence fields and matches on them as batch `link` does.

FEBRL's preset compares addresses, a postcode and a social security number beside the names
and the birth date; a store built with it must read them back for its index, its re-scoring
and its one-record matches (before, it kept the canonical fields only and matched on those).
"""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import select

from benchmarks.datasets import febrl_dir
from matcher.ingest import read_inputs
from matcher.pipeline import Linker
from matcher.settings import load_preset
from matcher.store import IdentityStore, db
from matcher.store.models import Record
from matcher.store.records import read_records
from tests.store.helpers import BatchRun, assert_consistent, partition, store_partition

RECORDS = 1500


@pytest.fixture(scope="module")
def batch() -> BatchRun:
    settings = load_preset("febrl")
    ingested = read_inputs([febrl_dir() / "dataset3.csv"], settings)
    # the store keeps a state per record; FEBRL's `state` is the address's (an extra field)
    return BatchRun.of(settings, ingested.records.head(RECORDS).with_columns(state=pl.lit("AU")))


def test_the_febrl_preset_has_extra_fields(batch: BatchRun) -> None:
    assert set(batch.settings.extra_fields) >= {"ssn", "postcode", "address_1", "suburb"}
    assert "first_name" not in batch.settings.extra_fields


def _stored_extras(store: IdentityStore) -> dict[str, dict[str, str] | None]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(Record.record_id, Record.extra_fields)).tuples().all())


@pytest.mark.slow
def test_extra_fields_are_stored_and_matched_on(batch: BatchRun, store_url: str) -> None:
    extras = batch.settings.extra_fields
    with IdentityStore.open(store_url, settings=batch.settings, model=batch.model) as store:
        store.load_batches(batch.records, batch_size=RECORDS // 5)
        assert_consistent(store)
        # one chunk scored with the chunk's term frequencies: the batch partition exactly,
        # which the canonical fields alone do not give (see the last assertion)
        assert store_partition(store) == partition(batch.result.identities)

        stored = _stored_extras(store)
        first = batch.records.row(0, named=True)
        present = {f: first[f] for f in extras if first[f] is not None}
        assert present and stored[first["record_id"]] == present
        with db.read_session(store.engine) as session:
            frame, _ = read_records(session, record_ids=[first["record_id"]],
                                    extra_fields=extras)
        assert frame.select(extras).row(0) == tuple(first[f] for f in extras)

        # a one-record match reads the probe's extra fields: the SSN contributes
        probe = {**first, "record_id": "probe"}
        found = store.match(pl.DataFrame([probe]))
        best = found.filter(pl.col("record_id_r") == first["record_id"]).row(0, named=True)
        without = store.match(pl.DataFrame([{**probe, "ssn": None}]))
        worse = without.filter(pl.col("record_id_r") == first["record_id"]).row(0, named=True)
        assert best["match_weight"] > worse["match_weight"]

        # re-sending the same rows changes nothing; a changed extra field is an update
        assert store.load(batch.records).unchanged == batch.records.height
        changed = batch.records.head(1).with_columns(ssn=pl.lit("1234567"))
        result = store.load(changed)
        assert result.updated == 1
        assert _stored_extras(store)[first["record_id"]] == {**present, "ssn": "1234567"}
        # the one-record path (validated as an input row is) keeps them too
        outcome = store.upsert_record({**first, "record_id": "copy", "ssn": "1234567"})
        assert outcome.status != "rejected"
        assert _stored_extras(store)["copy"] == {**present, "ssn": "1234567"}
        assert outcome.identity_id == store.identities.of_record(first["record_id"])
        # the consolidated record has them too, with provenance, after the canonical fields
        consolidated = store.identities.consolidated(outcome.identity_id)
        assert list(consolidated.fields)[-len(extras):] == list(extras)
        assert consolidated.fields["ssn"].value == "1234567"
        assert consolidated.fields["ssn"].record_id in {first["record_id"], "copy"}
        assert_consistent(store)

    without_extras = batch.records.with_columns(pl.lit(None, dtype=pl.String).alias(f)
                                                for f in extras)
    assert partition(Linker(batch.settings, batch.model).link(without_extras).identities) \
        != partition(batch.result.identities)


def test_a_record_without_extra_fields_stores_null(store_url: str) -> None:
    settings = load_preset("febrl")
    linker = Linker(settings)
    records = read_inputs([febrl_dir() / "dataset3.csv"], settings).records.head(300)
    linker.link(records)
    bare = pl.DataFrame([{"record_id": "bare-1", "state": "AU", "first_name": "ANA",
                          "last_name_1": "SMITH", "birth_date": "1990-01-02"}])
    with IdentityStore.open(store_url, settings=settings, model=linker.model) as store:
        assert store.load(bare).new == 1
        assert _stored_extras(store) == {"bare-1": None}
        assert store.identities.assignments()["record_id"].to_list() == ["bare-1"]
