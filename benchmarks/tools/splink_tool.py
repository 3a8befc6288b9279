"""Splink 5 with DuckDB (or Spark), configured as its documentation recommends for people data.

Run as ``python -m benchmarks.tools.splink_tool --dataset DATASET_JSON --out DIR``; writes the
standard outputs (see :mod:`benchmarks.tools.base`). The configuration per data set is in
:mod:`benchmarks.tools.peer_configs`.

``--backend spark`` runs the same settings, training, prediction and clustering on Splink's
Spark backend instead: a local session started like studentlink's Spark engine starts its own
(:func:`matcher.spark.session.start_session`, ``--spark-master``, ``--spark-driver-memory``)
with Splink's similarity-function jar on ``spark.jars`` and a checkpoint folder, as Splink's
Spark documentation sets them up. Only the database API, how the inputs are registered and how
the outputs are written differ between the two backends.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from benchmarks.datasets import Dataset
from benchmarks.tools.base import IDENTITIES, PAIRS, StageTimer, write_standard_outputs
from benchmarks.tools.peer_configs import (
    PEER_CONFIGS,
    BlockingRule,
    Cmp,
    PeerConfig,
    rule_columns,
)
from benchmarks.tools.prep import align_columns, peer_frames


def usable_config(config: PeerConfig, present: set[str]) -> tuple[PeerConfig, list[str]]:
    """The configuration without comparisons and rules over columns this data set lacks."""
    from dataclasses import replace

    notes: list[str] = []

    def keep_rules(rules: tuple[BlockingRule, ...]) -> tuple[BlockingRule, ...]:
        kept = []
        for rule in rules:
            missing = [c for c in rule_columns(rule) if c not in present]
            if missing:
                notes.append(f"blocking rule {rule!r} dropped: no column {missing}")
            else:
                kept.append(rule)
        return tuple(kept)

    comparisons = []
    for cmp in config.comparisons:
        if cmp.column in present:
            comparisons.append(cmp)
        else:
            notes.append(f"comparison on {cmp.column!r} dropped: no such column")
    return (
        replace(
            config,
            comparisons=tuple(comparisons),
            blocking=keep_rules(config.blocking),
            deterministic=keep_rules(config.deterministic),
            em_blocking=keep_rules(config.em_blocking),
        ),
        notes,
    )


def _comparison(cmp: Cmp, date_format: str = "%Y-%m-%d") -> Any:
    """The Splink comparison for ``cmp``; ``date_format`` is ISO in the backend's own syntax."""
    import splink.comparison_library as cl

    c: Any
    if cmp.kind == "name":
        c = cl.NameComparison(cmp.column)
    elif cmp.kind == "dob":
        c = cl.DateOfBirthComparison(
            cmp.column, input_is_string=True, datetime_format=date_format,
            invalid_dates_as_null=True,
        )
    elif cmp.kind == "exact":
        c = cl.ExactMatch(cmp.column)
    elif cmp.kind == "damerau":
        c = cl.DamerauLevenshteinAtThresholds(cmp.column, [int(t) for t in cmp.thresholds])
    else:
        c = cl.JaroWinklerAtThresholds(cmp.column, list(cmp.thresholds))
    return c.configure(term_frequency_adjustments=True) if cmp.tf else c


def _rule(rule: BlockingRule) -> Any:
    from splink import block_on

    return rule if isinstance(rule, str) else block_on(*rule)


BACKENDS = ("duckdb", "spark")


class Backend(Protocol):
    """What differs between Splink's backends here: the database API, how an input frame is
    registered, how tables are counted and how the two result tables are written."""

    db_api: Any
    date_format: str
    """ISO dates (``YYYY-MM-DD``) in the backend's date-parsing syntax."""
    text_type: str
    """The SQL type the outputs' ids are cast to."""
    version: str

    def register(self, frame: pl.DataFrame, name: str) -> Any: ...

    def count(self, table: Any) -> int: ...

    def write(self, sql: str, target: Path) -> None:
        """Write the result of ``sql`` (over Splink's tables) to the parquet file ``target``."""
        ...

    def close(self) -> None: ...


class DuckDBBackend:
    def __init__(self) -> None:
        import duckdb
        from splink import DuckDBAPI

        self.con = duckdb.connect()
        self.db_api = DuckDBAPI(connection=self.con)
        self.date_format = "%Y-%m-%d"
        self.text_type = "varchar"
        self.version = f"duckdb {metadata.version('duckdb')}"

    def register(self, frame: pl.DataFrame, name: str) -> Any:
        return self.db_api.register(frame.to_arrow(), dataset_display_name=name)

    def count(self, table: Any) -> int:
        # fetchall: duckdb 2 refuses further work on a connection with an unread result
        rows = self.con.execute(f"select count(*) from {table.physical_name}").fetchall()
        return int(rows[0][0])

    def write(self, sql: str, target: Path) -> None:
        self.con.execute(f"copy ({sql}) to '{target}' (format parquet)")

    def close(self) -> None:
        self.con.close()


class SparkBackend:
    """A local Spark session with Splink's UDF jar; intermediate files in ``work``."""

    def __init__(self, master: str, driver_memory: str, work: Path) -> None:
        import pyspark
        from splink.backends.spark import SparkAPI, similarity_jar_location

        from matcher.spark.session import SparkOptions, start_session

        self.work = work
        options = SparkOptions(
            master=master,
            driver_memory=driver_memory,
            # Splink's Jaro-Winkler, Damerau-Levenshtein, ... are Scala UDFs in this jar
            conf={"spark.jars": similarity_jar_location(),
                  # Spark's default (studentlink turns it off for its own pair frames)
                  "spark.sql.adaptive.coalescePartitions.enabled": "true"},
        )
        self.spark = start_session(options, work / "spark-local")
        # Splink's default way of breaking lineage writes its tables as parquet here
        self.spark.sparkContext.setCheckpointDir(str(work / "checkpoints"))
        self.db_api = SparkAPI(spark_session=self.spark)
        self.date_format = "yyyy-MM-dd"
        self.text_type = "string"
        self.version = f"spark {pyspark.__version__} ({master}, driver {driver_memory})"

    def register(self, frame: pl.DataFrame, name: str) -> Any:
        # the cleaned frame goes to Spark as a file, not through the driver's Py4J socket
        path = self.work / f"{name}.parquet"
        frame.write_parquet(path)
        return self.db_api.register(self.spark.read.parquet(str(path)),
                                    dataset_display_name=name)

    def count(self, table: Any) -> int:
        return int(self.spark.table(table.physical_name).count())

    def write(self, sql: str, target: Path) -> None:
        # Spark writes its part files, polars streams them into the one file the runner reads
        parts = self.work / f"out-{target.stem}"
        self.spark.sql(sql).write.mode("overwrite").parquet(str(parts))
        files = sorted(parts.glob("*.parquet"))
        if not files:  # Spark writes one empty part file (with the schema) for no rows
            raise RuntimeError(f"Spark wrote no parquet part files into {parts}")
        pl.scan_parquet(files).sink_parquet(target)
        shutil.rmtree(parts, ignore_errors=True)

    def close(self) -> None:
        self.spark.stop()


def run(
    dataset: Dataset,
    out_dir: Path,
    backend: str = "duckdb",
    spark_master: str = "local[2]",
    spark_driver_memory: str = "4g",
) -> None:
    import splink
    from splink import Linker, SettingsCreator

    if backend not in BACKENDS:
        raise SystemExit(f"'backend' must be one of {BACKENDS}; got {backend!r}")
    logging.getLogger("splink").setLevel(logging.WARNING)
    timer = StageTimer()
    if dataset.peer_config is None or dataset.peer_config not in PEER_CONFIGS:
        raise SystemExit(f"no Splink configuration for data set {dataset.name!r}")
    config = PEER_CONFIGS[dataset.peer_config]
    out_dir.mkdir(parents=True, exist_ok=True)
    # Spark's local folder, checkpoints and part files (removed afterwards)
    work = (
        Path(tempfile.mkdtemp(prefix=".splink-work-", dir=out_dir)) if backend == "spark" else None
    )
    db: Backend | None = None
    try:
        with timer("prepare"):
            frames = peer_frames(dataset)
            present = set.union(*(set(f.columns) for f in frames))
            config, notes = usable_config(config, present)
            columns = [c for c in config.columns() if c in present]
            frames = align_columns(frames, columns)
            db = (
                SparkBackend(spark_master, spark_driver_memory, work)
                if work is not None
                else DuckDBBackend()
            )
            version = f"splink {splink.__version__}, {db.version}"
            tables = [db.register(f, f"input_{i}") for i, f in enumerate(frames)]
            settings = SettingsCreator(
                link_type="link_only" if dataset.link_only else "dedupe_only",
                unique_id_column_name="record_id",
                comparisons=[_comparison(c, db.date_format) for c in config.comparisons],
                blocking_rules_to_generate_predictions=[_rule(r) for r in config.blocking],
                retain_matching_columns=False,
                retain_intermediate_calculation_columns=False,
            )
            linker = Linker(tables if dataset.link_only else tables[0], settings, log_level=None)

        with timer("train"):
            linker.training.estimate_probability_two_random_records_match(
                [_rule(r) for r in config.deterministic], recall=config.recall
            )
            linker.training.estimate_u_using_random_sampling(
                max_pairs=config.u_max_pairs, seed=0
            )
            for rule in config.em_blocking:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    _rule(rule), estimate_without_term_frequencies=True
                )

        with timer("predict"):
            predictions = linker.inference.predict()
            n_pairs = db.count(predictions)

        with timer("cluster"):
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=config.cluster_threshold
            )

        with timer("write"):
            text = db.text_type
            db.write(
                f"select cast(record_id_l as {text}) as record_id_l, "
                f"cast(record_id_r as {text}) as record_id_r, "
                f"cast(match_probability as double) as match_probability "
                f"from {predictions.physical_name}",
                out_dir / PAIRS,
            )
            db.write(
                f"select cast(record_id as {text}) as record_id, "
                f"cast(cluster_id as {text}) as identity_id from {clusters.physical_name}",
                out_dir / IDENTITIES,
            )
    finally:
        if db is not None:
            db.close()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    write_standard_outputs(
        out_dir,
        identities=None,
        pairs=None,
        info={
            "tool": "splink" if backend == "duckdb" else f"splink-{backend}",
            "backend": backend,
            "version": version,
            "threshold": config.cluster_threshold,
            "seconds": timer.seconds,
            "scoring_stages": ["predict"],
            "candidates": n_pairs,
            "settings": {
                "comparisons": [
                    f"{c.kind}({c.column}{', tf' if c.tf else ''})" for c in config.comparisons
                ],
                "blocking": [str(r) for r in config.blocking],
                "deterministic": [str(r) for r in config.deterministic],
                "recall": config.recall,
                "u_max_pairs": config.u_max_pairs,
                "em_blocking": [str(r) for r in config.em_blocking],
                "cluster_threshold": config.cluster_threshold,
            },
            "notes": notes,
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--backend", choices=BACKENDS, default="duckdb",
                        help="Splink's database backend (default duckdb)")
    parser.add_argument("--spark-master", default="local[2]",
                        help="Spark master for --backend spark (default local[2])")
    parser.add_argument("--spark-driver-memory", default="4g",
                        help="driver memory for --backend spark (default 4g, as studentlink's "
                        "Spark engine)")
    args = parser.parse_args(argv)
    run(Dataset.load(args.dataset), args.out, backend=args.backend,
        spark_master=args.spark_master, spark_driver_memory=args.spark_driver_memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
