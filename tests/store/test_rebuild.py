"""Rebuilding a store with another model (real matching core, synthetic data, both engines)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from benchmarks.synthetic import generate
from matcher.cli import app
from matcher.errors import ModelError, StoreError
from matcher.ingest import validate
from matcher.pipeline import Linker, LinkResult
from matcher.settings import Settings, load_preset
from matcher.store import IdentityStore
from matcher.store.store import META_MODEL, META_SETTINGS
from tests.store.helpers import assert_consistent, event_kinds, partition, store_partition

RECORDS = 1200


@dataclass(frozen=True)
class Batch:
    settings: Settings
    records: pl.DataFrame
    result: LinkResult
    model: Any
    """Trained by the batch run on all records."""
    early_model: Any
    """Trained on the first half only: the store's model before the rebuild."""


@pytest.fixture(scope="module")
def batch() -> Batch:
    settings = load_preset("msix")
    raw, _ = generate(RECORDS, seed=11)
    records = validate(raw, settings).records
    linker, early = Linker(settings), Linker(settings)
    result = linker.link(records)
    early.link(records.slice(0, RECORDS // 2))
    return Batch(settings, records, result, linker.model, early.model)


def _loaded(url: str, batch: Batch) -> IdentityStore:
    store = IdentityStore.open(url, settings=batch.settings, model=batch.early_model)
    store.load_batches(batch.records, batch_size=300)
    return store


@pytest.mark.slow
def test_rebuild_scores_and_clusters_everything_with_the_new_model(batch: Batch, store_url: str
                                                                  ) -> None:
    with _loaded(store_url, batch) as store:
        before = store.identities.assignments()
        cursor = store.events.latest_cursor()
        result = store.rebuild(batch.model, actor="admin1")
        assert_consistent(store)
        after = store.identities.assignments()
        assert result.records == batch.records.height and result.pairs > 0
        # the batch run's partition with the same model: one chunk through the index is
        # blocked, weighed (term frequencies of every stored record) and clustered as batch
        # `link` does
        assert store_partition(store) == partition(batch.result.identities)
        # identities whose records stayed together keep their IDs
        kept = before.join(after, on="record_id", suffix="_after")
        same_groups = {g for g in partition(before)} & {g for g in partition(after)}
        unmoved = kept.filter(pl.col("record_id").is_in([r for g in same_groups for r in g]))
        assert unmoved.filter(pl.col("identity_id") != pl.col("identity_id_after")).is_empty()
        # the change is told: events after the cursor, an audit entry, the new model kept
        if result.records_moved:
            assert event_kinds(store, cursor)
        audit = store.audit.entries(action="rebuild")
        assert [e.actor for e in audit] == ["admin1"]
        assert store.meta(META_MODEL) == batch.model.to_json()
    with IdentityStore.open(store_url) as reopened:  # the new model is the saved one
        row = batch.records.row(0, named=True)
        assert not reopened.match(pl.DataFrame([{**row, "record_id": "probe"}])).is_empty()


@pytest.mark.slow
def test_rebuild_keeps_judgements(batch: Batch, store_url: str) -> None:
    with _loaded(store_url, batch) as store:
        owner = dict(store.identities.assignments().iter_rows())
        items = store.reviews.queue(limit=1000)
        assert items, "the synthetic data must leave near matches to judge"
        apart = next(i for i in items if owner[i.record_id_l] != owner[i.record_id_r])
        store.reviews.judge(apart.id, decision="non_match", actor="reviewer1")
        together = next(i for i in store.reviews.queue(limit=1000)
                        if owner[i.record_id_l] != owner[i.record_id_r])
        store.reviews.judge(together.id, decision="match", actor="reviewer1")
        store.rebuild(batch.model, actor="admin1")
        owner = dict(store.identities.assignments().iter_rows())
        assert owner[apart.record_id_l] != owner[apart.record_id_r]
        assert owner[together.record_id_l] == owner[together.record_id_r]
        judged = {frozenset((apart.record_id_l, apart.record_id_r)),
                  frozenset((together.record_id_l, together.record_id_r))}
        queued = {frozenset((i.record_id_l, i.record_id_r))
                  for i in store.reviews.queue(limit=100_000)}
        assert not judged & queued
        assert_consistent(store)


def _with_levels_changed(model_json: str) -> str:
    """The model as an older version would have saved it: its first comparison had a level
    less."""
    saved = json.loads(model_json)
    first = saved["comparisons"][0]
    first["labels"], first["m"], first["u"] = (first["labels"][1:], first["m"][1:],
                                               first["u"][1:])
    return json.dumps(saved)


@pytest.mark.slow
def test_a_store_whose_model_no_longer_fits_is_rebuilt_with_a_retrained_one(
        batch: Batch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with _loaded(url, batch) as store:
        store.set_meta({META_MODEL: _with_levels_changed(store.meta(META_MODEL) or "")})
    with IdentityStore.open(url) as store:
        with pytest.raises(ModelError, match="studentlink rebuild"):
            store.match(batch.records.head(1))
        result = store.rebuild(actor="admin1")  # trains on the stored records
        assert result.records == batch.records.height
        assert not store.match(batch.records.head(1)).is_empty()
        assert_consistent(store)


def test_rebuild_of_an_empty_store_needs_a_model(tmp_path: Path) -> None:
    settings = load_preset("msix")
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with (IdentityStore.open(url, settings=settings) as store,
          pytest.raises(StoreError, match="'model' must be given")):
        store.rebuild(actor="admin1")


@pytest.mark.slow
def test_rebuild_command(batch: Batch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    _loaded(url, batch).close()
    model_file = tmp_path / "model.json"
    model_file.write_text(batch.model.to_json(), encoding="utf-8")
    done = CliRunner().invoke(app, ["rebuild", "--store", url, "--model", str(model_file),
                                    "--actor", "admin1"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["records"] == batch.records.height
    missing = CliRunner().invoke(app, ["rebuild", "--store", url, "--model",
                                       str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "--model" in missing.output


@pytest.mark.slow
def test_a_process_holding_the_old_model_refuses_to_write_after_a_rebuild(
        batch: Batch, store_url: str) -> None:
    with _loaded(store_url, batch) as store, IdentityStore.open(store_url) as other:
        row = batch.records.row(0, named=True)
        other.upsert_record({**row, "record_id": "before-rebuild"})  # writes while current
        store.rebuild(batch.model, actor="admin1")
        with pytest.raises(StoreError, match="rebuilt with a new model"):
            other.upsert_record({**row, "record_id": "after-rebuild"})
        assert store.upsert_record({**row, "record_id": "after-rebuild"}).identity_id
    with IdentityStore.open(store_url) as reopened:
        assert reopened.upsert_record({**row, "record_id": "reopened"}).identity_id
        assert_consistent(reopened)


def test_settings_saved_by_an_older_version_and_refused_now_say_what_to_do(
        store: IdentityStore) -> None:
    """A store keeps the settings it was built with; if this version refuses them (here a
    comparison's thresholds rising), opening them is a StoreError naming the problem and the
    way out, not a validation traceback."""
    saved = load_preset("msix").model_dump(mode="json")
    saved["comparisons"][0]["thresholds"] = [0.8, 0.9]
    store.set_meta({META_SETTINGS: json.dumps(saved)})
    with pytest.raises(StoreError, match=r"(?s)'thresholds' must be similarities.*"
                                         r"studentlink rebuild --store URL --preset"):
        _ = store.settings
