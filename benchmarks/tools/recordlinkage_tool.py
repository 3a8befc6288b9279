"""The recordlinkage toolkit, two ways (see :mod:`benchmarks.tools.peer_configs`).

Run as ``python -m benchmarks.tools.recordlinkage_tool --mode tutorial|ecm --dataset
DATASET_JSON --out DIR``; writes the standard outputs (see :mod:`benchmarks.tools.base`).

- ``tutorial``: block on the given name, binary comparisons, match when more than 3 agree (the
  tutorial's ``features.sum(axis=1) > 3``); the pair score is the share of comparisons that
  agree.
- ``ecm``: several blocking / sorted-neighbourhood indexes unioned, binary comparisons, the
  ECM classifier; the pair score is ECM's match probability, default threshold 0.5.

Identities are the connected components of the matched pairs.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.datasets import Dataset
from benchmarks.tools.base import StageTimer, write_standard_outputs
from benchmarks.tools.peer_configs import PEER_CONFIGS, RLCompare, RLIndex
from benchmarks.tools.prep import align_columns, peer_frames

TUTORIAL_MIN_AGREE = 4
"""The tutorial calls a pair a match when ``features.sum(axis=1) > 3``."""


def _indexer(indexes: tuple[RLIndex, ...]) -> Any:
    import recordlinkage as rl
    from recordlinkage.index import Block, SortedNeighbourhood

    indexer = rl.Index()
    for ix in indexes:
        if ix.kind == "block":
            indexer.add(Block(list(ix.columns)))
        else:
            first, *rest = ix.columns
            indexer.add(
                SortedNeighbourhood(first, window=ix.window, block_on=rest or None)
            )
    return indexer


def _comparer(compares: tuple[RLCompare, ...]) -> Any:
    import recordlinkage as rl

    comparer = rl.Compare()
    for i, c in enumerate(compares):
        label = f"{i}_{c.column}"
        if c.kind == "exact":
            comparer.exact(c.column, c.column, label=label)
        else:
            comparer.string(
                c.column, c.column, method=c.method, threshold=c.threshold, label=label
            )
    return comparer


def connected_components(record_ids: list[str], left: np.ndarray, right: np.ndarray) -> list[int]:
    """Component label per record, for links given as positions into ``record_ids``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as cc

    n = len(record_ids)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = cc(graph, directed=False)
    return [int(x) for x in labels]


def run(dataset: Dataset, out_dir: Path, mode: str) -> None:
    import recordlinkage as rl

    timer = StageTimer()
    if dataset.peer_config is None or dataset.peer_config not in PEER_CONFIGS:
        raise SystemExit(f"no recordlinkage configuration for data set {dataset.name!r}")
    config = PEER_CONFIGS[dataset.peer_config]
    if mode == "tutorial":
        indexes: tuple[RLIndex, ...] = (RLIndex("block", (config.rl_tutorial_block,)),)
        compares = config.rl_tutorial_compare
    else:
        indexes, compares = config.rl_ecm_indexes, config.rl_ecm_compare

    with timer("prepare"):
        frames = peer_frames(dataset)
        present = set.union(*(set(f.columns) for f in frames))
        notes = [f"comparison on {c.column!r} dropped" for c in compares if c.column not in present]
        compares = tuple(c for c in compares if c.column in present)
        indexes = tuple(ix for ix in indexes if all(col in present for col in ix.columns))
        columns = list(
            dict.fromkeys([c.column for c in compares] + [c for ix in indexes for c in ix.columns])
        )
        frames = align_columns(frames, columns)
        pandas_frames = [f.to_pandas().set_index("record_id") for f in frames]

    with timer("index"):
        indexer = _indexer(indexes)
        candidates = indexer.index(*pandas_frames)

    with timer("compare"):
        features = _comparer(compares).compute(candidates, *pandas_frames)

    with timer("classify"):
        if len(features) == 0:
            scores = np.zeros(0)
            threshold = 0.5
        elif mode == "tutorial":
            # the tutorial's rule, features.sum(axis=1) > 3, with the score as a share
            scores = features.sum(axis=1).to_numpy() / features.shape[1]
            threshold = (TUTORIAL_MIN_AGREE - 1e-9) / features.shape[1]
        else:
            ecm = rl.ECMClassifier(binarize=None)
            ecm.fit(features)
            scores = np.asarray(ecm.prob(features), dtype=float)
            threshold = 0.5

    with timer("cluster"):
        left_ids = [str(x) for x in features.index.get_level_values(0)]
        right_ids = [str(x) for x in features.index.get_level_values(1)]
        pairs = pl.DataFrame(
            {"record_id_l": left_ids, "record_id_r": right_ids, "match_probability": scores},
            schema={
                "record_id_l": pl.String,
                "record_id_r": pl.String,
                "match_probability": pl.Float64,
            },
        )
        record_ids = [str(r) for f in frames for r in f["record_id"].to_list()]
        position = {r: i for i, r in enumerate(record_ids)}
        matched = pairs.filter(pl.col("match_probability") >= threshold)
        left = np.array([position[r] for r in matched["record_id_l"].to_list()], dtype=np.int64)
        right = np.array([position[r] for r in matched["record_id_r"].to_list()], dtype=np.int64)
        labels = connected_components(record_ids, left, right)
        identities = pl.DataFrame({"record_id": record_ids, "identity_id": labels})

    with timer("write"):
        write_standard_outputs(out_dir, identities=identities, pairs=pairs, info={})

    write_standard_outputs(
        out_dir,
        identities=None,
        pairs=None,
        info={
            "tool": f"rl_{mode}",
            "version": f"recordlinkage {metadata.version('recordlinkage')}",
            "threshold": threshold,
            "seconds": timer.seconds,
            "scoring_stages": ["index", "compare", "classify"],
            "candidates": len(features),
            "settings": {
                "indexes": [f"{ix.kind}({', '.join(ix.columns)})" for ix in indexes],
                "compare": [
                    f"{c.kind}({c.column}"
                    + (f", {c.method} >= {c.threshold})" if c.kind == "string" else ")")
                    for c in compares
                ],
                "classifier": "at least 4 comparisons agree" if mode == "tutorial" else "ECM",
            },
            "notes": notes,
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["tutorial", "ecm"], required=True)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    run(Dataset.load(args.dataset), args.out, args.mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
