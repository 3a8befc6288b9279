"""The Spark benchmark's `splink-spark` engine: Splink 5 on its Spark backend, end to end.

The end-to-end test runs `benchmarks.spark_bench` on a few hundred synthetic records with the
default engine and Splink's Spark backend (`local[2]`, 1 GB driver), each in its own measured
process, as the benchmark does at any size. Skipped, with the reason, where Splink, PySpark or
Java is missing: install the `[bench]` and `[spark]` extras and Java 17. It takes a few minutes
(Splink runs one Spark job per EM iteration and per clustering step).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import polars as pl
import pytest

from benchmarks import spark_bench
from matcher.spark.session import spark_unavailable_reason

REASON = spark_unavailable_reason() or (
    None if importlib.util.find_spec("splink") else "Splink is not installed (the [bench] extra)")
N_RECORDS = 300


def test_report_compares_splink_by_differing_records(tmp_path: Path) -> None:
    """Splink has its own ids and no near matches: the share of records in differing
    clusters, never "identical"; without a default run the comparison is n/a."""
    base = {"status": "ok", "wall_seconds": 1.0, "peak_memory_mb": 10, "pairs_scored": 5,
            "pairwise_f1": 0.9, "bcubed_f1": 0.95}
    spark_bench.write_report(tmp_path, [
        {**base, "size": 1000, "engine": "default"},
        {**base, "size": 1000, "engine": "splink-spark", "same_identity_ids": False,
         "records_in_differing_clusters": 25, "same_near_matches": None},
        {**base, "size": 2000, "engine": "splink-spark"},
    ])
    rows = (tmp_path / "results.md").read_text().splitlines()[2:]
    assert rows[1].startswith("| 1,000 | splink-spark | ok |")
    assert rows[1].endswith("| 25 records (2.5%) in differing clusters |")
    assert rows[2].endswith("| n/a |")


def test_splink_runs_only_through_its_tool() -> None:
    """`run-one` is studentlink's engines only; splink-spark is launched as the peer tool."""
    with pytest.raises(SystemExit):
        spark_bench.main(["run-one", "--engine", "splink-spark", "--records", "x",
                          "--out", "y"])


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.skipif(REASON is not None, reason=f"Splink on Spark: {REASON}")
def test_splink_spark_engine_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    assert spark_bench.main(["--sizes", str(N_RECORDS), "--engines", "default", "splink-spark",
                             "--driver-memory", "1g", "--timeout", "1200",
                             "--max-memory-gb", "8", "--out", str(out)]) == 0

    rows = {r["engine"]: r for r in json.loads((out / "results.json").read_text())}
    assert set(rows) == {"default", "splink-spark"}
    splink = rows["splink-spark"]
    log = out / "runs" / f"{N_RECORDS}-splink-spark" / "log.txt"
    assert splink["status"] == "ok", log.read_text()[-3000:]
    assert splink["master"] == "local[2]"
    assert splink["wall_seconds"] > 0 and splink["peak_memory_mb"] > 0

    # every input record in exactly one identity
    records = pl.read_parquet(out / "data" / f"{N_RECORDS}-0" / "records.parquet")
    run_dir = out / "runs" / f"{N_RECORDS}-splink-spark"
    identities = pl.read_parquet(run_dir / "identities.parquet")
    assert identities["record_id"].is_unique().all()
    assert sorted(identities["record_id"]) == sorted(records["record_id"].cast(pl.String))
    assert splink["records_unassigned"] == 0
    assert 0 < splink["identities"] < N_RECORDS  # some records were linked

    # linkage quality: Splink finds most true matches on this easy data
    assert splink["pairwise_f1"] >= 0.7, splink
    assert splink["bcubed_f1"] >= 0.85, splink

    # pairs scored by Splink's Spark backend, with probabilities
    pairs = pl.read_parquet(run_dir / "pairs.parquet")
    assert pairs.height == splink["pairs_scored"] > 0
    assert pairs["match_probability"].is_between(0.0, 1.0).all()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["tool"] == "splink-spark" and "spark" in info["version"]
    assert not list(run_dir.glob(".splink-work-*"))  # checkpoints and part files cleaned up

    # beside the default engine: only the records in differing clusters (its ids are its own)
    assert splink["same_near_matches"] is None
    assert 0 <= splink["records_in_differing_clusters"] <= N_RECORDS
    table = (out / "results.md").read_text()
    assert "| splink-spark | ok |" in table and "in differing clusters" in table
