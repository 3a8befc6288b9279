"""The store on the real matching core and synthetic data: chunked load vs batch `link`.

Order effects (documented in matcher/store/README.md):
- the store re-clusters whole connected neighbourhoods with every stored pair among them, so
  with the same pair scores chunked loading gives exactly the batch partition (checked below
  with term frequencies frozen to the batch values);
- the production `OnlineMatcher` takes term frequencies from the records indexed so far, so a
  pair scored early sees other frequencies than the batch run; those differences are bounded
  here (records whose identity differs from the batch one).
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from benchmarks.synthetic import generate
from matcher.clustering import cluster
from matcher.errors import StoreError
from matcher.ingest import validate
from matcher.online import OnlineMatcher
from matcher.pipeline import Linker, identifier_agreement
from matcher.settings import load_preset
from matcher.store import IdentityStore, MatchingBackend
from tests.store.helpers import BatchRun, assert_consistent, partition, store_partition

RECORDS = 3000
CHUNKS = 10
ONLINE_TF_BOUND = 0.10
"""Share of records whose identity may differ from batch `link` with index-time TFs."""


@pytest.fixture(scope="module")
def batch() -> BatchRun:
    settings = load_preset("msix")
    raw, _ = generate(RECORDS, seed=3)
    return BatchRun.of(settings, validate(raw, settings).records)


def _frozen_tf_backend(batch: BatchRun) -> MatchingBackend:
    prepared = batch.linker.prepare(batch.records)
    tables = {c: dict(prepared.group_by(c).agg(pl.col(f"tf_{c}").first()).drop_nulls(c)
                      .iter_rows()) for c in batch.linker.tf_columns()}

    class FrozenTF(OnlineMatcher):
        """Term frequencies of the whole data set, as the batch run sees them."""

        def _index_tf(self, prepared: pl.DataFrame) -> list[pl.Series]:
            return [pl.Series(f"tf_{c}", [float("nan") if v is None
                                          else tables[c].get(v, float("nan"))
                                          for v in prepared[c].to_list()], dtype=pl.Float64)
                    for c in tables]

    assert batch.linker.model is not None
    model: Any = batch.linker.model
    return MatchingBackend(make_index=lambda: FrozenTF(batch.settings, model), cluster=cluster,
                           thresholds=batch.settings.thresholds)


def _other_model(batch: BatchRun) -> Any:
    other = Linker(batch.settings)
    other.link(batch.records.slice(0, 1500))
    return other.model


def _load_in_chunks(store: IdentityStore, records: pl.DataFrame) -> None:
    size = -(-records.height // CHUNKS)
    for start in range(0, records.height, size):
        store.load(records.slice(start, size))


def _identity_pairs(store: IdentityStore, pairs: list[tuple[str, str]]) -> set[frozenset[str]]:
    owner = dict(store.identities.assignments().iter_rows())
    return {frozenset((owner[a], owner[b])) for a, b in pairs}


@pytest.mark.slow
def test_chunked_load_equals_batch_link_given_the_same_scores(batch: BatchRun, store_url: str
                                                              ) -> None:
    # batch link scored pairs inside small linked components that blocking did not propose;
    # the store scores them too (`recluster._complete_components`)
    assert batch.result.cluster_stats["component_pairs"] > 0
    with IdentityStore.open(store_url, backend=_frozen_tf_backend(batch)) as store:
        _load_in_chunks(store, batch.records)
        assert_consistent(store)
        assert store_partition(store) == partition(batch.result.identities)
        # the review queue holds one item per pair of identities, as the batch run does
        queued = [(i.record_id_l, i.record_id_r) for i in store.reviews.queue(limit=100_000)]
        expected = batch.result.near_matches.select("record_id_l", "record_id_r").rows()
        assert _identity_pairs(store, queued) == _identity_pairs(store, expected)


@pytest.mark.slow
def test_load_batches_equals_batch_link_given_the_same_scores(batch: BatchRun, store_url: str
                                                              ) -> None:
    with IdentityStore.open(store_url, backend=_frozen_tf_backend(batch)) as store:
        store.load_batches(batch.records, batch_size=RECORDS // CHUNKS)
        assert_consistent(store)
        assert store_partition(store) == partition(batch.result.identities)
        assert len(store.index()) == batch.records.height


def _each_pair_once(pairs: pl.DataFrame) -> pl.DataFrame:
    """Record ids in (smaller, larger) order, same_name and identifier_agrees, a pair once
    (both are symmetric)."""
    ids = ("record_id_l", "record_id_r")
    return pairs.select(pl.min_horizontal(*ids).alias(ids[0]),
                        pl.max_horizontal(*ids).alias(ids[1]),
                        "same_name", "identifier_agrees").unique(ids).sort(ids)


def test_online_pairs_carry_the_evidence_batch_link_clusters_with(batch: BatchRun) -> None:
    """same_name and identifier_agrees of the online matcher's pairs (a few records at a time,
    the plain-Python comparisons, and many at once, the polars path) are batch `link`'s
    `Linker.same_name` and `identifier_agreement` of the same pairs."""
    assert batch.linker.model is not None
    online = OnlineMatcher(batch.settings, batch.linker.model)
    online.add(batch.records)
    probes = batch.records.head(400)
    found = _each_pair_once(pl.concat(
        [online.match(probes), *(online.match(probes.slice(i, 1)) for i in range(0, 40, 4))]))
    scored = batch.result.pairs
    expected = _each_pair_once(scored.with_columns(
        pl.Series("same_name", batch.linker.same_name(scored)),
        identifier_agreement(batch.linker.comparisons).alias("identifier_agrees")))
    both = found.join(expected, on=["record_id_l", "record_id_r"], suffix="_batch")
    assert both.height > 0.9 * found.height
    for column in ("same_name", "identifier_agrees"):
        assert both[column].to_list() == both[f"{column}_batch"].to_list(), column
        assert both[column].any() and not both[column].all(), column


@pytest.mark.slow
def test_chunked_load_with_online_term_frequencies_is_bounded(batch: BatchRun, tmp_path: Any
                                                              ) -> None:
    assert batch.linker.model is not None
    url = f"sqlite:///{tmp_path / 'online.db'}"
    with IdentityStore.open(url, settings=batch.settings, model=batch.linker.model) as store:
        _load_in_chunks(store, batch.records)
        got = store.identities.assignments()
    ours = {r: g for g in partition(got) for r in g}
    theirs = {r: g for g in partition(batch.result.identities) for r in g}
    differing = sorted(r for r in ours if ours[r] != theirs[r])
    share = len(differing) / len(ours)
    assert share <= ONLINE_TF_BOUND, (share, differing[:20])


@pytest.mark.slow
def test_reload_and_restart_with_real_core(batch: BatchRun, store_url: str) -> None:
    assert batch.linker.model is not None
    first = batch.records.slice(0, 1000)
    with IdentityStore.open(store_url, settings=batch.settings, model=batch.linker.model) as s:
        s.load(first)
        before = s.identities.assignments()
    with IdentityStore.open(store_url) as s:  # the saved model and settings are reused
        assert s.load(first).unchanged == first.height
        assert s.identities.assignments().equals(before)
        row = first.row(0, named=True)
        outcome = s.upsert_record({**row, "record_id": "copy-of-first"})
        assert outcome.identity_id == s.identities.of_record(row["record_id"])
        with pytest.raises(StoreError, match="'model' must be the one"):
            IdentityStore.open(store_url, settings=batch.settings,
                               model=_other_model(batch))
        bad = s.upsert_record({"record_id": "bad-1", "state": "TX", "first_name": "Ana",
                               "birth_date": "2010-13-45"})
        assert bad.status == "rejected" and bad.identity_id is None
        assert "birth_date" in {e["field"] for e in bad.errors}
        assert_consistent(s)
