"""Re-scoring a whole store with another model.

A store keeps the model it was built with: the scores of its stored pairs only compare under
one model, and a model trained for other comparison levels (an older studentlink, another
preset) is refused when the store first matches (`matcher.pipeline.check_model_fits`). After
such a change, or to retrain on what the store holds now, `rebuild` scores every stored record
again with the new model, replaces every stored pair, and re-clusters the whole store, in one
transaction:
- identities keep their IDs where their records stay together, as in any re-clustering
  (`identity_plan`); what changed is in the events (cause 'rebuild') and the audit log;
- judgements hold: must-links, cannot-links and the judgements applied merges and splits left;
- review items are reconciled with the new scores (judged pairs stay out of the queue).
A failure leaves the store as it was. Processes that opened the store before the rebuild hold
the old model in memory: their writes are refused (`StoreError`, the store's model generation
moved on) until they reopen the store (restart the API server).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import delete

from matcher.errors import StoreError
from matcher.store import db
from matcher.store.backend import MatchingBackend
from matcher.store.context import insert_columns
from matcher.store.models import Link
from matcher.store.prescore import BATCH, Prescored
from matcher.store.recluster import (
    ChangeCounts,
    Evidence,
    components,
    neighbourhood,
    recluster,
)
from matcher.store.records import read_records

if TYPE_CHECKING:
    from matcher.store.context import WriteContext
    from matcher.store.store import IdentityStore


@dataclass
class RebuildResult(ChangeCounts):
    records: int = 0
    pairs: int = 0
    """Candidate pairs scored with the new model."""
    links_stored: int = 0
    seconds: float = 0.0


def rebuild(store: IdentityStore, settings: Any, model: Any, *, actor: str,
            say: Callable[[str], None] = lambda message: None) -> RebuildResult:
    """Score, link and cluster every stored record again with `model` (for `settings`), and
    make it the store's model. See the module docstring."""
    from matcher.store.store import (
        META_MODEL,
        META_MODEL_GENERATION,
        META_SETTINGS,
        model_generation,
        put_meta,
        settings_json,
    )

    started = time.perf_counter()
    backend = MatchingBackend.from_model(settings, model)
    result = RebuildResult()
    with store.write() as ctx:
        frame, _ = read_records(ctx.session, extra_fields=backend.extra_fields)
        result.records = frame.height
        if frame.height:
            _rescore_and_recluster(ctx, store, backend, frame, result, say)
        generation = str(int(model_generation(ctx)) + 1)
        put_meta(ctx, {META_MODEL: model.to_json(), META_SETTINGS: settings_json(settings),
                       META_MODEL_GENERATION: generation})
        ctx.audit(actor, "rebuild", target_kind="store", records=result.records,
                  pairs=result.pairs, records_moved=result.records_moved,
                  events=result.events)
    store.use_backend(backend, model_generation=generation)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def train_on_stored(store: IdentityStore, settings: Any,
                    say: Callable[[str], None] = lambda message: None) -> Any:
    """A model trained, as `studentlink link` trains one, on every record the store holds."""
    from matcher.pipeline import Linker

    with db.read_session(store.engine) as session:
        frame, _ = read_records(session, extra_fields=settings.extra_fields)
    if not frame.height:
        raise StoreError("'model' must be given to rebuild an empty store; got none, and no "
                         "stored records to train one on")
    say(f"training the model on {frame.height:,} stored records")
    linker = Linker(settings)
    linker.link(frame)
    return linker.model


def _rescore_and_recluster(ctx: WriteContext, store: IdentityStore, backend: MatchingBackend,
                           frame: pl.DataFrame, result: RebuildResult,
                           say: Callable[[str], None]) -> None:
    from matcher.store.store import link_columns, pair_rows

    say(f"scoring {frame.height:,} stored records with the new model")
    index = backend.make_index()
    pairs = Prescored.build(index, frame.with_columns(pl.lit(0).alias(BATCH))).pairs_of(0)
    if pairs is None:
        raise StoreError("every stored record must be scored; got none back")
    result.pairs = pairs.height
    lower, upper = backend.thresholds.lower, backend.thresholds.upper
    low = pl.col("match_probability") < lower
    kept = pairs.filter(~low)
    say(f"replacing the stored pairs ({kept.height:,} at or above the lower threshold)")
    ctx.session.connection().execute(delete(Link))
    insert_columns(ctx.session, Link, link_columns(kept), json_text=["contributions"])
    ids = frame["record_id"].to_list()
    hood = neighbourhood(ctx, ids, upper)
    must = [key for key, (_, decision) in hood.judgements.items() if decision == "match"]
    inside = _within_components(pairs.filter(low),
                                pairs.filter(pl.col("match_probability") >= upper), must)
    say(f"clustering {frame.height:,} records")
    outcome = recluster(ctx, backend, hood, cause="rebuild", evidence=Evidence(
        seeds=frozenset(ids), fresh_low=pair_rows(inside),
        rescore=store.rescorer(ctx, index, backend.extra_fields)))
    result.links_stored = kept.height + inside.height
    result.count(outcome, ctx.event_count)


def _within_components(low: pl.DataFrame, strong: pl.DataFrame,
                       must: list[tuple[str, str]]) -> pl.DataFrame:
    """The low pairs whose two records one component of strong pairs and must-links holds:
    the only low pairs the store keeps (`recluster` reads them as evidence against a link).
    Filtering here spares building a row per low pair of the whole store."""
    edges = [*strong.select("record_id_l", "record_id_r").iter_rows(), *must]
    component = components({r for edge in edges for r in edge}, edges)

    def of(side: str) -> pl.Expr:
        return pl.col(side).replace_strict(component, default=None, return_dtype=pl.String)

    return low.filter((of("record_id_l") == of("record_id_r")).fill_null(False))
