"""Splink 5 with DuckDB, configured as its documentation recommends for people data.

Run as ``python -m benchmarks.tools.splink_tool --dataset DATASET_JSON --out DIR``; writes the
standard outputs (see :mod:`benchmarks.tools.base`). The configuration per data set is in
:mod:`benchmarks.tools.peer_configs`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

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


def _comparison(cmp: Cmp) -> Any:
    import splink.comparison_library as cl

    c: Any
    if cmp.kind == "name":
        c = cl.NameComparison(cmp.column)
    elif cmp.kind == "dob":
        c = cl.DateOfBirthComparison(
            cmp.column, input_is_string=True, datetime_format="%Y-%m-%d", invalid_dates_as_null=True
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


def run(dataset: Dataset, out_dir: Path) -> None:
    import duckdb
    import splink
    from splink import DuckDBAPI, Linker, SettingsCreator

    logging.getLogger("splink").setLevel(logging.WARNING)
    timer = StageTimer()
    if dataset.peer_config is None or dataset.peer_config not in PEER_CONFIGS:
        raise SystemExit(f"no Splink configuration for data set {dataset.name!r}")
    config = PEER_CONFIGS[dataset.peer_config]

    with timer("prepare"):
        frames = peer_frames(dataset)
        present = set.union(*(set(f.columns) for f in frames))
        config, notes = usable_config(config, present)
        columns = [c for c in config.columns() if c in present]
        frames = align_columns(frames, columns)
        con = duckdb.connect()
        db_api = DuckDBAPI(connection=con)
        tables = [
            db_api.register(f.to_arrow(), dataset_display_name=f"input_{i}")
            for i, f in enumerate(frames)
        ]
        settings = SettingsCreator(
            link_type="link_only" if dataset.link_only else "dedupe_only",
            unique_id_column_name="record_id",
            comparisons=[_comparison(c) for c in config.comparisons],
            blocking_rules_to_generate_predictions=[_rule(r) for r in config.blocking],
            retain_matching_columns=False,
            retain_intermediate_calculation_columns=False,
        )
        linker = Linker(tables if dataset.link_only else tables[0], settings, log_level=None)

    with timer("train"):
        linker.training.estimate_probability_two_random_records_match(
            [_rule(r) for r in config.deterministic], recall=config.recall
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=0)
        for rule in config.em_blocking:
            linker.training.estimate_parameters_using_expectation_maximisation(
                _rule(rule), estimate_without_term_frequencies=True
            )

    with timer("predict"):
        predictions = linker.inference.predict()
        n_pairs = con.execute(f"select count(*) from {predictions.physical_name}").fetchall()[0]

    with timer("cluster"):
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=config.cluster_threshold
        )

    out_dir.mkdir(parents=True, exist_ok=True)
    with timer("write"):
        con.execute(
            f"copy (select cast(record_id_l as varchar) as record_id_l, "
            f"cast(record_id_r as varchar) as record_id_r, "
            f"cast(match_probability as double) as match_probability "
            f"from {predictions.physical_name}) to '{out_dir / PAIRS}' (format parquet)"
        )
        con.execute(
            f"copy (select cast(record_id as varchar) as record_id, "
            f"cast(cluster_id as varchar) as identity_id from {clusters.physical_name}) "
            f"to '{out_dir / IDENTITIES}' (format parquet)"
        )

    write_standard_outputs(
        out_dir,
        identities=None,
        pairs=None,
        info={
            "tool": "splink",
            "version": f"splink {splink.__version__}, duckdb {metadata.version('duckdb')}",
            "threshold": config.cluster_threshold,
            "seconds": timer.seconds,
            "scoring_stages": ["predict"],
            "candidates": int(n_pairs[0]) if n_pairs else None,
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
    args = parser.parse_args(argv)
    run(Dataset.load(args.dataset), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
