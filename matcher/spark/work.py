"""What the Spark workers run on each Arrow batch: the default engine's own stages.

Every function here takes a polars batch and returns a polars batch; nothing in this module
re-implements matching logic. `Linker.prepare`, `Linker.compare` and `Linker.score` run as
they do in the default engine; only their inputs are cut into batches:
- `prepare_batch`: records -> features (term frequencies are dropped here and added later
  from global counts, the one part of `prepare` that is not row-local);
- `compare_batch`: pair rows carrying both records' features as `<column>_l`/`<column>_r`
  -> comparison levels, term frequencies and the twin flag;
- `score_batch`: comparison levels -> match weight, probability and contributions.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from matcher.clustering import TWIN_BY_NAMES
from matcher.pipeline import GUARD_SIDES, TWIN_FLAG, Linker
from matcher.settings import Settings
from matcher.training import tf_bucket_exprs
from models import load_model_json

IDX = "idx"
RULE = "rule"
WITHIN = "within_input"
"""Completed pair column (Spark engine): both records come from one input (link-only)."""


def key_column(index: int) -> str:
    """The prepared column holding blocking rule `index`'s key."""
    return f"bk{index}"


@cache
def linker_for(settings_json: str, model_json: str | None = None) -> Linker:
    """One Linker per worker process and settings (building comparisons is not free)."""
    model = load_model_json(model_json) if model_json else None
    return Linker(Settings.model_validate_json(settings_json), model)


def tf_columns(linker: Linker) -> list[str]:
    return [f"tf_{c}" for c in linker.tf_columns()]


def prepare_batch(records: pl.DataFrame, settings_json: str) -> pl.DataFrame:
    """Features of a batch of canonical records; `idx` is the record's global row number
    (given as input column `idx`), `bk<i>` the blocking keys."""
    linker = linker_for(settings_json)
    prepared = linker.prepare(records.drop(IDX)).drop(tf_columns(linker))
    keys = [rule.key_expr().alias(key_column(i)) for i, rule in enumerate(linker.rules)]
    return prepared.with_columns(records[IDX].alias(IDX), *keys)


def feature_columns(linker: Linker) -> list[str]:
    """Prepared columns a pair needs from each side to be compared."""
    read = set().union(*(c.columns() for c in linker.comparisons)) | set(GUARD_SIDES)
    return sorted(read) + tf_columns(linker)


def _side(pairs: pl.DataFrame, columns: list[str], suffix: str) -> pl.DataFrame:
    return pairs.select(pl.col(f"{c}{suffix}").alias(c) for c in columns
                        if f"{c}{suffix}" in pairs.columns)


def compare_batch(pairs: pl.DataFrame, settings_json: str, passthrough: tuple[str, ...]
                  ) -> pl.DataFrame:
    """`Linker.compare` on a batch of pair rows, with the passthrough columns.

    The batch's left and right features become two frames of equal length and row k of one
    is compared with row k of the other, so the comparison code is the default engine's.
    """
    linker = linker_for(settings_json)
    columns = feature_columns(linker)
    left, right = _side(pairs, columns, "_l"), _side(pairs, columns, "_r")
    rows = pl.int_range(len(pairs), dtype=pl.UInt32, eager=True)
    gammas = linker.compare(left, pl.DataFrame({"idx_l": rows, "idx_r": rows}), right)
    return pl.concat([pairs.select("idx_l", "idx_r", *passthrough),
                      gammas.drop("idx_l", "idx_r").with_columns(
                          tf_bucket_exprs(linker.comparisons))], how="horizontal")


def score_batch(gammas: pl.DataFrame, settings_json: str, model_json: str,
                passthrough: tuple[str, ...]) -> pl.DataFrame:
    """`Linker.score` on a batch of compared pairs: the scored-pair columns of the default
    engine (weight, probability, `mw_*`, `gamma_*`, twin flags) with ids and passthrough."""
    linker = linker_for(settings_json, model_json)
    scores = linker.score(gammas)
    return pl.concat([
        gammas.select("idx_l", "idx_r", *passthrough), scores,
        gammas.select(pl.col("^gamma_.*$"), TWIN_FLAG, TWIN_BY_NAMES)], how="horizontal")
