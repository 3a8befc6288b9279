"""Benchmark: the Spark engine beside the default engine on synthetic data of growing size.

    python -m benchmarks.spark_bench --sizes 20000 200000 1000000 3000000 \
        --engines default spark splink-spark --master 'local[2]' --out bench-out/spark

Each (size, engine) runs in its own process, started and watched from here: wall time, and
peak memory as the largest sum of resident memory over the whole process tree (the Spark
engine is a Python driver, a JVM and Python workers; a single process's maxrss would miss
most of it). A run over `--max-memory-gb` or `--timeout` is killed and reported as such.
The same run reports pairwise and B-cubed F1 against the generator's truth, and how far the
Spark partition is from the default engine's (records whose identity differs).

`splink-spark` is Splink 5 on its Spark backend (`benchmarks.tools.splink_tool --backend
spark`, the benchmarks' Splink configuration for synthetic data), with the same master and
driver memory, measured the same way. Its identities are its own, so beside the default engine
it reports only how many records sit in clusters that differ.
Results: `results.json`, `results.md` and `scaling.png` in `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

ENGINES = ("default", "spark", "splink-spark")
SPARK_ENGINES = ("spark", "splink-spark")
SPLINK_ENGINES = {"splink-spark": "spark"}
"""Engines run by `benchmarks.tools.splink_tool`, with the Splink backend each uses."""


def dataset(root: Path, size: int, seed: int) -> tuple[Path, Path]:
    """records.parquet and truth.csv for `size` records (generated once, then reused)."""
    from benchmarks.synthetic import write

    folder = root / "data" / f"{size}-{seed}"
    paths = (folder / "records.parquet", folder / "truth.csv")
    if not all(p.exists() for p in paths):
        write(folder, size, seed, fmt="parquet")
    return paths


def peer_dataset(records: Path, truth_csv: Path, size: int, seed: int) -> Path:
    """`dataset.json` describing the generated records for the peer tools (as the benchmark
    suites' `synthetic_*` data sets describe theirs), written next to them once."""
    from benchmarks.datasets import Dataset, synthetic_truth, write_truth

    folder = records.parent
    path = folder / "dataset.json"
    if path.exists():
        return path
    truth = synthetic_truth(pl.read_parquet(records, columns=["record_id", "state"]),
                            pl.read_csv(truth_csv, infer_schema=False))
    write_truth(folder, truth)
    Dataset(name=f"synthetic_{size}_{seed}", family="synthetic", link_only=False,
            inputs=(records,), truth=folder / "truth.parquet",
            truth_entities=folder / "truth_entities.csv", n_records=truth.height,
            description=f"synthetic migrant-student records, {size:,} (seed {seed})",
            peer_config="synthetic", extra={"migrant_truth": True}).save(folder)
    return path


def command(engine: str, records: Path, truth: Path, run_dir: Path, size: int,
            args: argparse.Namespace) -> list[str]:
    """The command line of one measured run."""
    if engine in SPLINK_ENGINES:
        return [sys.executable, "-m", "benchmarks.tools.splink_tool",
                "--dataset", str(peer_dataset(records, truth, size, args.seed)),
                "--out", str(run_dir), "--backend", SPLINK_ENGINES[engine],
                "--spark-master", args.master, "--spark-driver-memory", args.driver_memory]
    return [sys.executable, "-m", "benchmarks.spark_bench", "run-one", "--engine", engine,
            "--records", str(records), "--out", str(run_dir), "--master", args.master,
            "--driver-memory", args.driver_memory]


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def measured(cmd: list[str], log: Path, timeout: float, max_bytes: int) -> dict[str, Any]:
    """Run `cmd`; wall time, peak tree memory, and why it stopped."""
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        peak, status = 0, "ok"
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            elapsed = time.perf_counter() - started
            if elapsed > timeout or peak > max_bytes:
                status = "timeout" if elapsed > timeout else "memory limit"
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.5)
    if status == "ok" and proc.returncode != 0:
        status = f"exit {proc.returncode}"
    return {"status": status, "wall_seconds": round(time.perf_counter() - started, 1),
            "peak_memory_mb": round(peak / 2**20)}


def run_one(engine: str, records: Path, out: Path, master: str, driver_memory: str) -> None:
    """One linkage run (the child process): read, link, write outputs."""
    from matcher.ingest import read_inputs
    from matcher.output import write_outputs
    from matcher.pipeline import Linker
    from matcher.settings import load_preset

    settings = load_preset("msix")
    if engine == "spark":
        from matcher.spark import SparkOptions, link_with_spark

        options = SparkOptions(master=master, driver_memory=driver_memory)
        ingest, result = link_with_spark([records], settings, master=master, options=options,
                                         progress=lambda m: print(time.strftime("%X"), m,
                                                                  flush=True))
        seconds = result.seconds
    else:
        started = time.perf_counter()
        ingest = read_inputs([records], settings)
        read = time.perf_counter() - started
        result = Linker(settings).link(ingest.records, progress=lambda m: print(
            time.strftime("%X"), m, flush=True))
        seconds = {"read": read, **result.seconds}
    summary = write_outputs(out, result, ingest, settings, seconds)
    summary["pairs_scored"] = result.blocking.candidates
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


def read_identities(out: Path) -> pl.DataFrame:
    """`record_id, identity_id` as strings: studentlink's identities.csv, or the peer tools'
    identities.parquet."""
    from benchmarks.tools.base import IDENTITIES

    if (out / "identities.csv").exists():
        return pl.read_csv(out / "identities.csv", infer_schema=False)
    return pl.read_parquet(out / IDENTITIES).select(pl.col("record_id").cast(pl.String),
                                                    pl.col("identity_id").cast(pl.String))


def run_summary(out: Path) -> dict[str, Any]:
    """Identities, near matches, pairs scored, seconds per stage, clustering of a run."""
    from benchmarks.tools.base import RUN_INFO

    if (out / "summary.json").exists():
        summary = json.loads((out / "summary.json").read_text())
        return {k: summary.get(k) for k in ("identities", "near_matches", "pairs_scored",
                                            "seconds", "clustering")}
    info = json.loads((out / RUN_INFO).read_text())
    return {"identities": read_identities(out)["identity_id"].n_unique(), "near_matches": None,
            "pairs_scored": info.get("candidates"),
            "seconds": {k: round(v, 1) for k, v in info.get("seconds", {}).items()},
            "clustering": None, "version": info.get("version")}


def quality(out: Path, truth_path: Path) -> dict[str, Any]:
    from benchmarks.metrics import bcubed, missing_assignments, pairwise_scores

    identities = read_identities(out)
    truth = pl.read_csv(truth_path, infer_schema=False).select(
        "record_id", pl.col("child_id").alias("entity_id"), pl.lit(0).alias("source"))
    report: dict[str, Any] = {
        "pairwise_f1": round(pairwise_scores(identities, truth, link_only=False).f1, 4),
        "bcubed_f1": round(bcubed(identities, truth).f1, 4),
        "records_unassigned": missing_assignments(identities, truth)}
    report.update(run_summary(out))
    return report


def against_default(run_out: Path, default_out: Path) -> dict[str, Any]:
    """How a run's outputs differ from the default engine's on the same data (near matches
    only where the run wrote them: Splink does not)."""
    identities = read_identities(run_out)
    other = read_identities(default_out)
    joined = identities.join(other, on="record_id", suffix="_default")
    same_near: bool | None = None
    if (run_out / "near_matches.csv").exists():
        key = ["record_id_l", "record_id_r"]
        near = pl.read_csv(run_out / "near_matches.csv", infer_schema=False).sort(key)
        near_default = pl.read_csv(default_out / "near_matches.csv",
                                   infer_schema=False).sort(key)
        same_near = near.equals(near_default)
    return {"same_identity_ids": bool(len(joined) == len(other) and (
                joined["identity_id"] == joined["identity_id_default"]).all()),
            "records_in_differing_clusters": differing_records(joined),
            "same_near_matches": same_near}


def differing_records(joined: pl.DataFrame) -> int:
    """Records whose cluster is not exactly the same set of records in both partitions."""
    a = joined.group_by("identity_id").agg(pl.col("identity_id_default").n_unique().alias("k"),
                                            pl.len().alias("n"))
    b = joined.group_by("identity_id_default").agg(pl.col("identity_id").n_unique().alias("k"),
                                                   pl.len().alias("n"))
    split = joined.join(a.filter(pl.col("k") > 1), on="identity_id", how="semi")
    merged = joined.join(b.filter(pl.col("k") > 1), on="identity_id_default", how="semi")
    return pl.concat([split, merged]).select("record_id").n_unique()


def write_report(out: Path, results: list[dict[str, Any]]) -> None:
    (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    lines = ["| records | engine | status | wall s | peak MB | pairs | pairwise F1 | "
             "B3 F1 | same as default |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        same = "" if r["engine"] == "default" or r["status"] != "ok" else "n/a"
        if "same_identity_ids" in r:
            differing = r["records_in_differing_clusters"]
            if r["same_identity_ids"] and r["same_near_matches"]:
                same = "identities and near matches identical"
            elif r["same_near_matches"] is None:  # another tool: its own ids, no near matches
                same = (f"{differing:,} records ({differing / r['size']:.1%}) in differing "
                        "clusters")
            else:
                same = f"{differing} records in differing clusters"
        pairs = f"{r['pairs_scored']:,}" if r.get("pairs_scored") else ""
        lines.append(
            f"| {r['size']:,} | {r['engine']} | {r['status']} | {r['wall_seconds']} | "
            f"{r['peak_memory_mb']:,} | {pairs} | {r.get('pairwise_f1', '')} | "
            f"{r.get('bcubed_f1', '')} | {same} |")
    (out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(10, 4))
    for engine in ENGINES:
        done = [r for r in results if r["engine"] == engine and r["status"] == "ok"]
        if not done:
            continue
        sizes = [r["size"] for r in done]
        ax_time.plot(sizes, [r["wall_seconds"] for r in done], marker="o", label=engine)
        ax_mem.plot(sizes, [r["peak_memory_mb"] for r in done], marker="o", label=engine)
    for ax, label in ((ax_time, "wall seconds"), (ax_mem, "peak memory (MB, process tree)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("records")
        ax.set_ylabel(label)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "scaling.png", dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spark_bench",
                                     description=__doc__.split("\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("run-one", help="(internal) one measured run")
    one.add_argument("--engine", choices=[e for e in ENGINES if e not in SPLINK_ENGINES],
                     required=True)
    one.add_argument("--records", type=Path, required=True)
    one.add_argument("--out", type=Path, required=True)
    one.add_argument("--master", default="local[2]")
    one.add_argument("--driver-memory", default="4g")
    sub.add_parser("report", help="rebuild results.md and scaling.png from results.json")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=3 * 3600)
    parser.add_argument("--max-memory-gb", type=float, default=16.0)
    parser.add_argument("--out", type=Path, default=Path("bench-out/spark"))
    args = parser.parse_args(argv)
    if args.command == "run-one":
        run_one(args.engine, args.records, args.out, args.master, args.driver_memory)
        return 0
    if args.command == "report":
        finished = json.loads((args.out / "results.json").read_text())
        compare_engines(args.out, finished)
        write_report(args.out, finished)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    results: list[dict[str, Any]] = (json.loads(results_path.read_text())
                                     if results_path.exists() else [])
    for size in args.sizes:
        records, truth = dataset(args.out, size, args.seed)
        for engine in args.engines:
            run_dir = args.out / "runs" / f"{size}-{engine}"
            run_dir.mkdir(parents=True, exist_ok=True)
            cmd = command(engine, records, truth, run_dir, size, args)
            print(f"{size:,} records, {engine} engine ...", flush=True)
            row: dict[str, Any] = {"size": size, "engine": engine,
                                   "master": args.master if engine in SPARK_ENGINES else None,
                                   **measured(cmd, run_dir / "log.txt", args.timeout,
                                              int(args.max_memory_gb * 2**30))}
            if row["status"] == "ok":
                row.update(quality(run_dir, truth))
            print(f"  {row['status']}: {row['wall_seconds']} s, {row['peak_memory_mb']} MB",
                  flush=True)
            results = [r for r in results if (r["size"], r["engine"]) != (size, engine)]
            results.append(row)
            results.sort(key=lambda r: (r["size"], r["engine"]))
            compare_engines(args.out, results)
            write_report(args.out, results)
    return 0


def compare_engines(out: Path, results: list[dict[str, Any]]) -> None:
    """Add to every other finished run how it differs from the default run of its size."""
    done = {(r["size"], r["engine"]) for r in results if r["status"] == "ok"}
    for row in results:
        if row["engine"] != "default" and (row["size"], "default") in done and row[
                "status"] == "ok":
            runs = out / "runs"
            row.update(against_default(runs / f"{row['size']}-{row['engine']}",
                                       runs / f"{row['size']}-default"))


if __name__ == "__main__":
    raise SystemExit(main())
