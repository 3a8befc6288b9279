"""The batch linkage job on Apache Spark: same inputs, same model, same outputs.

    ingest (driver, `read_inputs`) -> staged Parquet -> prepare (workers, `Linker.prepare`)
    -> term frequencies (group-by) -> blocking (self-joins per rule) -> compare (workers,
    `Linker.compare`) -> train (driver, `FellegiSunterModel` on pattern counts) -> score
    (workers, `Linker.score`) -> cluster (label propagation; `cluster_indexed` repairs the
    conflicted components on the driver) -> near matches and identities (driver, the default
    engine's functions) -> `LinkResult`, written by `matcher.output.write_outputs`.

Only the work that needs all records at once is done differently from the default engine
(term frequencies, blocking joins, connected components); every per-record and per-pair step
is the default engine's code, run on Arrow batches.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from features.comparisons import NULL_LEVEL
from matcher.blocking import _true_pair_count, total_pairs
from matcher.clustering import (
    ClusterOutcome,
    IndexedPairs,
    near_match_mask,
    near_match_reasons,
    pairs_to_complete,
)
from matcher.ingest import IngestResult, read_inputs
from matcher.pipeline import (
    LinkResult,
    gamma_array,
    identity_table,
    sample_random_pairs,
)
from matcher.settings import Settings
from matcher.spark.blocking import ENTITY, TRUE_PAIR, count_new, spark_candidate_pairs
from matcher.spark.frames import Staging, collect, map_polars
from matcher.spark.graph import PAIR_ORDER, cluster_on_spark
from matcher.spark.session import (
    DEFAULT_MASTER,
    SparkOptions,
    active_session,
    options_from_env,
    start_session,
)
from matcher.spark.work import (
    IDX,
    RULE,
    WITHIN,
    compare_batch,
    feature_columns,
    key_column,
    linker_for,
    prepare_batch,
    score_batch,
)
from matcher.training import COUNT, holds_column, tf_bucket_columns, train_on_teaching_rules
from models.base import MatchModel

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Progress = Callable[[str], None]


class SparkLinker:
    """`Linker.link` on Spark. One instance per run; `model` is set once trained."""

    def __init__(self, spark: SparkSession, settings: Settings, staging: Staging,
                 options: SparkOptions, model: MatchModel | None = None) -> None:
        self.spark = spark
        self.settings = settings
        self.staging = staging
        self.options = options
        self.model = model
        self.settings_json = settings.model_dump_json()
        self.linker = linker_for(self.settings_json)
        self.seconds: dict[str, float] = {}
        self.details: dict[str, int] = {}
        self.partitions = max(2, spark.sparkContext.defaultParallelism)
        self._cached: list[DataFrame] = []

    def size_partitions(self, n: int) -> None:
        """Partitions for n records: `records_per_partition` each, at least two per core;
        joins of pairs get twice as many (unless `shuffle_partitions` says otherwise)."""
        cores = self.spark.sparkContext.defaultParallelism
        self.partitions = max(2 * cores, -(-n // self.options.records_per_partition))
        shuffle = self.options.shuffle_partitions or 2 * self.partitions
        self.spark.conf.set("spark.sql.shuffle.partitions", str(shuffle))

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    # --- stages -----------------------------------------------------------------------------

    def prepare(self, records: pl.DataFrame, entity: pl.Series | None) -> DataFrame:
        """Features of every record on the workers, with global term frequencies."""
        from pyspark import StorageLevel

        staged = records.with_columns(pl.int_range(len(records), dtype=pl.Int64).alias(IDX))
        if entity is not None:
            staged = staged.with_columns(entity.cast(pl.String).alias(ENTITY))
        source = self.staging.upload(staged.drop(ENTITY, strict=False), "records",
                                     self.partitions)
        sample = prepare_batch(staged.drop(ENTITY, strict=False).head(200), self.settings_json)
        features = map_polars(source, partial(prepare_batch, settings_json=self.settings_json),
                              sample.schema)
        prepared = features.persist(StorageLevel.MEMORY_AND_DISK)
        features = self._add_term_frequencies(prepared)
        if entity is not None:
            truth = self.staging.upload(staged.select(IDX, ENTITY), "entity", self.partitions)
            features = features.join(truth, IDX, "left")
        # materialised and cut from its lineage: later plans stay small
        features = features.localCheckpoint(eager=True)
        prepared.unpersist()
        return features

    def _add_term_frequencies(self, features: DataFrame) -> DataFrame:
        """`tf_<col>` as `pipeline.add_term_frequencies` computes it over all records: the
        records carrying the value over the records with any value (one pass for all)."""
        from pyspark.sql import functions as F

        columns = self.linker.tf_columns()
        if not columns:
            return features
        entries = F.explode(F.array(*[
            F.struct(F.lit(i).alias("c"), F.col(col).cast("string").alias("v"))
            for i, col in enumerate(columns)])).alias("e")
        counts = (features.select(entries).select("e.*").groupBy("c", "v").count()
                  .persist())
        self._cached.append(counts)
        totals = dict(collect(counts.where(F.col("v").isNotNull()).groupBy("c")
                              .agg(F.sum(COUNT).alias("total"))).iter_rows())
        for i, column in enumerate(columns):
            total = int(totals.get(i, 0))
            # polars divides a column by a scalar as a product with the reciprocal; so does
            # this, to the last bit
            share = (F.col(COUNT) * F.lit(1.0 / total) if total
                     else F.lit(float("inf"))).cast("double")
            table = counts.where(F.col("c") == i).select(
                F.col("v").alias(f"{column}__v"), share.alias(f"tf_{column}"))
            features = features.join(
                table, features[column].cast("string").eqNullSafe(table[f"{column}__v"]),
                "left").drop(f"{column}__v")
        return features

    def compare(self, pairs: DataFrame, features: DataFrame, passthrough: tuple[str, ...],
                holds: bool = False) -> DataFrame:
        """`Linker.compare` over pairs (idx_l, idx_r, passthrough...) on the workers; with
        `holds`, also whether each rule's key agrees (`holds<i>`, for EM)."""
        from pyspark.sql import functions as F

        columns = feature_columns(self.linker)
        keys = [key_column(i) for i in range(len(self.linker.rules))] if holds else []
        left = features.select(F.col(IDX).alias("idx_l"),
                               *[F.col(c).alias(f"{c}_l") for c in columns + keys])
        right = features.select(F.col(IDX).alias("idx_r"),
                                *[F.col(c).alias(f"{c}_r") for c in columns + keys])
        gathered = pairs.join(left, "idx_l").join(right, "idx_r")
        if holds:
            agree = [F.arrays_overlap(F.col(f"{k}_l"), F.col(f"{k}_r")) if rule.multi_valued
                     else F.col(f"{k}_l") == F.col(f"{k}_r")
                     for k, rule in zip(keys, self.linker.rules, strict=True)]
            gathered = gathered.select(
                "*", *[F.coalesce(same, F.lit(False)).alias(holds_column(i))
                       for i, same in enumerate(agree)]
            ).drop(*[f"{k}_{side}" for k in keys for side in "lr"])
            passthrough = (*passthrough, *[holds_column(i) for i in range(len(keys))])
        schema = self._compare_schema(features, passthrough)
        return map_polars(gathered, partial(compare_batch, settings_json=self.settings_json,
                                            passthrough=passthrough), schema)

    def _compare_schema(self, features: DataFrame, passthrough: tuple[str, ...]) -> pl.Schema:
        """The compare output's schema, from comparing two sample records on the driver."""
        sample = collect(features.limit(2))
        columns = feature_columns(self.linker)
        one = min(len(sample), 1)  # no records at all: learn the schema from zero rows
        rows = pl.DataFrame({"idx_l": [0] * one, "idx_r": [len(sample) - 1] * one},
                            schema={"idx_l": pl.Int64, "idx_r": pl.Int64})
        frame = pl.concat([
            rows, sample.select(pl.col(c).alias(f"{c}_l") for c in columns).head(1),
            sample.select(pl.col(c).alias(f"{c}_r") for c in columns).tail(1)],
            how="horizontal")
        frame = frame.with_columns(
            pl.lit(0, dtype=pl.Int32).alias(c) if c == RULE else pl.lit(False).alias(c)
            for c in passthrough)
        return compare_batch(frame, self.settings_json, passthrough).schema

    def fit(self, features: DataFrame, gammas: DataFrame, sources: pl.Series,
            pairs_total: int, link_only: bool) -> MatchModel:
        """u from the default engine's random pairs, m by EM on the candidates' patterns."""
        from pyspark.sql import functions as F

        random_pairs = sample_random_pairs(sources, self.settings.u_sample_pairs, link_only,
                                           self.settings.seed)
        staged = self.staging.upload(random_pairs, "random_pairs", self.partitions)
        compared = self.compare(staged, features, ())
        gamma_cols = [c.gamma_column for c in self.linker.comparisons]
        random_gammas = gamma_array(collect(compared.select(gamma_cols)),
                                    self.linker.comparisons)
        vector = gamma_cols + tf_bucket_columns(self.linker.comparisons)

        def patterns(rules: list[int]) -> pl.DataFrame:
            found = collect(gammas.groupBy(vector + [holds_column(i) for i in rules])
                            .agg(F.count(F.lit(1)).alias(COUNT)))
            self.details["em_patterns"] = len(found)
            return found

        return train_on_teaching_rules(self.linker, random_gammas, patterns, pairs_total,
                                       em_max_pairs=self.options.em_max_pairs)

    def score(self, gammas: DataFrame, passthrough: tuple[str, ...]) -> DataFrame:
        assert self.model is not None
        sample = collect(gammas.limit(1))
        if not len(sample):
            sample = _zero_row(gammas)
        fn = partial(score_batch, settings_json=self.settings_json,
                     model_json=self.model.to_json(), passthrough=passthrough)
        return map_polars(gammas, fn, fn(sample).schema)

    # --- the whole batch job ----------------------------------------------------------------

    def link(self, records: pl.DataFrame, *, link_only: bool = False,
             entity: pl.Series | None = None, keep_pairs: bool = False,
             progress: Progress | None = None) -> LinkResult:
        """Link canonical records (with `source` = input index) into identities."""
        from pyspark.sql import functions as F

        say = progress or (lambda _stage: None)
        n = len(records)
        self.size_partitions(n)
        say("normalising (Spark)")
        with self._timed("normalise"):
            features = self.prepare(records, entity)
        say("blocking (Spark)")
        with self._timed("block"):
            true_pairs = (_true_pair_count(records, entity, link_only)
                          if entity is not None else None)
            blocking = spark_candidate_pairs(
                features, self.linker.rules, link_only=link_only,
                max_block_size=self.settings.max_block_size,
                skew_chunk=self.options.skew_chunk,
                total_pairs=total_pairs(records["source"], link_only), true_pairs=true_pairs)
        passthrough: tuple[str, ...] = (RULE, TRUE_PAIR) if entity is not None else (RULE,)
        say("comparing candidate pairs (Spark)")
        with self._timed("compare"):
            gammas = self.compare(blocking.pairs, features, passthrough, holds=True
                                  ).localCheckpoint(eager=True)
            per_rule = collect(gammas.groupBy(RULE).agg(F.count(F.lit(1)).alias("count")))
            found = (int(gammas.where(F.col(TRUE_PAIR)).count())
                     if entity is not None else None)
            count_new(blocking.report, per_rule, found, true_pairs)
        if self.model is None:
            say("training the model (u from random pairs, m by EM)")
            with self._timed("train"):
                self.model = self.fit(features, gammas, records["source"],
                                      blocking.report.total_pairs, link_only)
        say(f"scoring {blocking.report.candidates:,} pairs (Spark)")
        with self._timed("score"):
            scored = self.score(gammas, (RULE,)).localCheckpoint(eager=True)
            gammas.unpersist()
        say("checking linked components (Spark)")
        with self._timed("complete"):
            scored, completed = self._complete_components(
                scored, features, n, records["source"].to_numpy() if link_only else None)
        say("clustering (Spark)")
        with self._timed("cluster"):
            ids = records["record_id"]
            clusters = cluster_on_spark(scored, n, self.settings.thresholds,
                                        self.staging.download, self.indexed_pairs, ids)
            self.details["propagation_rounds"] = clusters.propagation_rounds
            near = self._near_matches(scored, clusters.labels, ids)
            identities = identity_table(ids, clusters.labels)
            pairs = (self._scored_frame(self.staging.download(scored, "pairs"), ids)
                     if keep_pairs else self._scored_frame(collect(scored.limit(0)), ids))
        for frame in (*self._cached, blocking.keyed):
            frame.unpersist()
        self._cached.clear()
        return LinkResult(identities, near, pairs, blocking.report, dict(self.seconds),
                          {**clusters.stats, "component_pairs": completed})

    def _complete_components(self, scored: DataFrame, features: DataFrame, n: int,
                             sources: np.ndarray | None) -> tuple[DataFrame, int]:
        """`Linker.complete_components` on Spark: the links (about one per record) come to
        the driver, the pairs inside small components that blocking did not propose go back
        to be compared and scored, and join the scored pairs."""
        from pyspark.sql import functions as F

        thresholds = self.settings.thresholds
        links = self.staging.download(scored.where(
            (F.col("match_probability") >= thresholds.upper)
            & ~F.col("possible_multiple_birth")).select("idx_l", "idx_r"), "links")
        none = np.zeros(0, dtype=np.int64)
        lo, hi = pairs_to_complete(n, links["idx_l"].to_numpy(), links["idx_r"].to_numpy(),
                                   none, none)
        if not len(lo):
            return scored, 0
        within = (sources[lo] == sources[hi] if sources is not None
                  else np.zeros(len(lo), dtype=bool))
        inside = self.staging.upload(pl.DataFrame({"idx_l": lo, "idx_r": hi, WITHIN: within}),
                                     "inside", self.partitions)
        known = scored.select(F.least("idx_l", "idx_r").alias("idx_l"),
                              F.greatest("idx_l", "idx_r").alias("idx_r"))
        rule = scored.schema[RULE].dataType
        extra = (inside.join(known, ["idx_l", "idx_r"], "left_anti")
                 .withColumn(RULE, F.lit(len(self.linker.rules)).cast(rule))
                 .localCheckpoint(eager=True))
        gammas = self.compare(extra, features, (RULE, WITHIN))
        if within.any():
            gammas = self._unshared_as_missing(gammas, scored)
        extra_scored = self.score(gammas, (RULE, WITHIN))
        # `evidence_within_sources`: within one input only a pair below the lower threshold
        extra_scored = extra_scored.where(
            ~F.col(WITHIN) | (F.col("match_probability") < thresholds.lower)
        ).localCheckpoint(eager=True)
        count = extra_scored.count()
        if not count:
            return scored, 0
        return (scored.unionByName(extra_scored.select(scored.columns))
                .localCheckpoint(eager=True), count)

    def _unshared_as_missing(self, gammas: DataFrame, scored: DataFrame) -> DataFrame:
        """`Linker.unshared_comparisons` read as missing on the pairs within one input."""
        from pyspark.sql import functions as F

        columns = [c.gamma_column for c in self.linker.comparisons]
        highest = collect(scored.agg(*(F.max(c).alias(c) for c in columns)))
        unshared = [c for c in columns if highest[c][0] is None or highest[c][0] == NULL_LEVEL]
        return gammas.withColumns({
            c: F.when(F.col(WITHIN), F.lit(NULL_LEVEL)).otherwise(F.col(c))
            .cast(gammas.schema[c].dataType) for c in unshared})

    def indexed_pairs(self, scored: pl.DataFrame, left: np.ndarray, right: np.ndarray
                      ) -> IndexedPairs:
        """Scored pair rows as `cluster_indexed` takes them (`Linker.indexed_pairs`)."""
        return self.linker.indexed_pairs(left, right, scored, scored)

    def _scored_frame(self, scored: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
        """The default engine's scored-pair columns, in its order, pairs in a fixed order."""
        scored = scored.sort(*PAIR_ORDER)
        return pl.concat([
            pl.DataFrame({"record_id_l": ids.gather(scored["idx_l"]),
                          "record_id_r": ids.gather(scored["idx_r"])}),
            scored.drop("idx_l", "idx_r", RULE),
            scored.select(pl.col(RULE).cast(pl.UInt8))], how="horizontal")

    def _near_matches(self, scored: DataFrame, labels: np.ndarray, ids: pl.Series
                      ) -> pl.DataFrame:
        """Pairs for review, chosen by the default engine's `near_match_mask`: the pairs at
        or above the lower threshold whose ends ended in different clusters."""
        from pyspark.sql import functions as F

        thresholds = self.settings.thresholds
        moved = np.flatnonzero(labels != np.arange(len(labels)))
        final = self.staging.upload(pl.DataFrame({IDX: moved, "label": labels[moved]}),
                                    "labels", self.partitions)
        left = final.select(F.col(IDX).alias("idx_l"), F.col("label").alias("label_l"))
        right = final.select(F.col(IDX).alias("idx_r"), F.col("label").alias("label_r"))
        candidates = (scored.where(F.col("match_probability") >= thresholds.lower)
                      .join(left, "idx_l", "left").join(right, "idx_r", "left")
                      .where(F.coalesce("label_l", "idx_l") != F.coalesce("label_r", "idx_r"))
                      .drop("label_l", "label_r"))
        rows = self.staging.download(candidates.select(scored.columns), "near_candidates")
        frame = self._scored_frame(rows, ids)
        rows = rows.sort(*PAIR_ORDER)
        indexed = self.indexed_pairs(rows, rows["idx_l"].to_numpy().astype(np.int64),
                                     rows["idx_r"].to_numpy().astype(np.int64))
        outcome = ClusterOutcome(labels, np.zeros(len(rows), dtype=bool),
                                 indexed.probability >= thresholds.upper)
        keep = near_match_mask(indexed, outcome, labels, thresholds, ids)
        reasons = near_match_reasons(indexed, outcome, thresholds, keep)
        return (frame.filter(pl.Series(keep))
                .with_columns(pl.Series("reason", reasons))
                .sort("match_probability", descending=True))


def _zero_row(gammas: DataFrame) -> pl.DataFrame:
    """A one-row stand-in (all levels null) to learn the scoring output's schema from."""
    empty = collect(gammas.limit(0))
    return pl.DataFrame([pl.Series(name, [None if dtype != pl.Int8 else -1], dtype=dtype)
                         for name, dtype in empty.schema.items()]).with_columns(
        pl.col(pl.Float64).fill_null(float("nan")))


def link_with_spark(inputs: list[Path], settings: Settings, *, link_only: bool = False,
                    master: str = DEFAULT_MASTER, model: MatchModel | None = None,
                    progress: Progress | None = None, truth: pl.DataFrame | None = None,
                    keep_pairs: bool = False, save_model: Path | None = None,
                    options: SparkOptions | None = None) -> tuple[IngestResult, LinkResult]:
    """Read, validate and link `inputs` on Spark; results as the default engine gives them.

    Inputs are read and validated on the driver with `read_inputs` (bad input fails, or is
    rejected row by row, exactly as with the default engine) before Spark starts.
    `truth` (record_id, entity_id) adds pair completeness to the blocking report;
    `keep_pairs` collects every scored pair into `LinkResult.pairs` (for --write-pairs;
    otherwise that frame is empty and the pair count is `result.blocking.candidates`);
    `result.seconds` has a `read` entry for the ingest and `spark_start` for the session.
    Without `options`, they come from `master` and the STUDENTLINK_SPARK_* environment
    variables (`session.options_from_env`); given `options` carry their own master.
    """
    options = options or options_from_env(master)
    say = progress or (lambda _stage: None)
    say("reading inputs")
    started = time.perf_counter()
    ingest = read_inputs(list(inputs), settings)
    read_seconds = time.perf_counter() - started
    entity = None
    if truth is not None:
        entity = ingest.records.join(truth, on="record_id", how="left")["entity_id"]
    workdir = Path(tempfile.mkdtemp(prefix="studentlink-spark-",
                                    dir=options.workdir if options.workdir else None))
    try:
        say(f"starting Spark ({options.master})")
        started = time.perf_counter()
        running = active_session()
        spark = running or start_session(options, workdir / "local")
        start_seconds = time.perf_counter() - started
        try:
            linker = SparkLinker(spark, settings, Staging(spark, workdir / "staging"), options,
                                 model)
            result = linker.link(ingest.records, link_only=link_only, entity=entity,
                                 keep_pairs=keep_pairs, progress=say)
        finally:
            if running is None:
                spark.stop()
        result.seconds = {"read": read_seconds, "spark_start": start_seconds, **result.seconds}
        if save_model is not None and linker.model is not None:
            save_model.write_text(linker.model.to_json(), encoding="utf-8")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ingest, result
