"""A fake tool that answers from the truth — for testing the harness, never in a suite.

``python -m benchmarks.tools.oracle --dataset DATASET_JSON --out DIR [--split-every K]
[--alloc-mb N] [--sleep S] [--kill-self]`` writes the standard outputs: identities are the
true entities (with every K-th record split off into its own identity, to make errors on
purpose), scored pairs are each true pair at 0.9 plus one non-matching neighbour per record at
0.1. ``--alloc-mb`` touches that much memory so the parent's peak-memory measurement can be
checked; ``--kill-self`` ends the process with SIGKILL, as the out-of-memory killer would.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

import polars as pl

from benchmarks.datasets import Dataset
from benchmarks.tools.base import StageTimer, write_standard_outputs


def run(dataset: Dataset, out_dir: Path, split_every: int, alloc_mb: int, sleep: float) -> None:
    timer = StageTimer()
    with timer("answer"):
        truth = dataset.read_truth().with_row_index("i")
        identities = truth.select(
            "record_id",
            pl.when((split_every > 0) & (pl.col("i") % max(split_every, 1) == 0))
            .then(pl.lit("split:") + pl.col("record_id"))
            .otherwise(pl.col("entity_id"))
            .alias("identity_id"),
        )
        true_pairs = (
            truth.join(truth, on="entity_id", suffix="_r")
            .filter(pl.col("record_id") < pl.col("record_id_r"))
            .select(
                pl.col("record_id").alias("record_id_l"),
                "record_id_r",
                pl.lit(0.9).alias("match_probability"),
            )
        )
        shifted = truth.select(
            pl.col("record_id").alias("record_id_l"),
            pl.col("record_id").shift(-1).alias("record_id_r"),
            (pl.col("entity_id") == pl.col("entity_id").shift(-1)).alias("same"),
        ).filter(pl.col("record_id_r").is_not_null() & ~pl.col("same"))
        noise = shifted.select(
            "record_id_l", "record_id_r", pl.lit(0.1).alias("match_probability")
        )
        pairs = pl.concat([true_pairs, noise])
    with timer("wait"):
        ballast = bytearray(alloc_mb * 1024 * 1024)
        for k in range(0, len(ballast), 4096):  # touch every page so it is resident
            ballast[k] = 1
        time.sleep(sleep)
        del ballast
    write_standard_outputs(
        out_dir,
        identities=identities,
        pairs=pairs,
        info={
            "tool": "oracle",
            "version": "truth",
            "threshold": 0.5,
            "seconds": timer.seconds,
            "scoring_stages": ["answer"],
            "settings": {"split_every": split_every},
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--split-every", type=int, default=0)
    parser.add_argument("--alloc-mb", type=int, default=0)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--kill-self", action="store_true")
    args = parser.parse_args(argv)
    if args.kill_self:
        os.kill(os.getpid(), signal.SIGKILL)
    run(Dataset.load(args.dataset), args.out, args.split_every, args.alloc_mb, args.sleep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
