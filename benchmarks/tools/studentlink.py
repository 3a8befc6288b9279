"""studentlink itself, run through its CLI exactly as a user runs it.

The subprocess is ``studentlink link INPUT... --out DIR [--link-only] [--preset P] --truth
TRUTH --write-pairs``; its outputs (``identities.csv``, ``pairs.parquet``,
``near_matches.csv``, ``summary.json``) are read back and checked against the CLI contract —
whatever breaks it is reported as a problem of the run, not silently fixed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.datasets import Dataset
from benchmarks.errors import ToolOutputError
from benchmarks.tools.base import ToolOutput

SUMMARY_KEYS = (
    "records_in",
    "records_rejected",
    "identities",
    "near_matches",
    "thresholds",
    "seconds",
    "peak_memory_mb",
    "blocking",
)
SCORING_STAGE = re.compile(r"block|compar|scor|predict|pair", re.IGNORECASE)


def studentlink_executable() -> str | None:
    """The ``studentlink`` console script: next to this interpreter first, then on PATH."""
    import shutil

    local = Path(sys.executable).with_name("studentlink")
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("studentlink")


class StudentlinkTool:
    name = "studentlink"
    label = "studentlink"

    def unavailable_reason(self) -> str | None:
        if studentlink_executable() is None:
            return "the 'studentlink' console script is not installed (pip install -e .)"
        return None

    def supports(self, dataset: Dataset) -> str | None:
        return None

    def command(self, dataset: Dataset, dataset_json: Path, out_dir: Path) -> list[str]:
        exe = studentlink_executable() or "studentlink"
        cmd = [exe, "link", *(str(p) for p in dataset.inputs), "--out", str(out_dir)]
        if dataset.link_only:
            cmd.append("--link-only")
        if dataset.preset:
            cmd += ["--preset", dataset.preset]
        cmd += ["--truth", str(dataset.truth_entities), "--write-pairs"]
        return cmd

    def collect(self, dataset: Dataset, out_dir: Path) -> ToolOutput:
        return read_studentlink_outputs(out_dir)


def check_summary(summary: dict[str, Any], *, with_truth: bool = True) -> list[str]:
    """Every way ``summary.json`` departs from the CLI contract."""
    problems = [f"summary.json has no {k!r}" for k in SUMMARY_KEYS if k not in summary]
    thresholds = summary.get("thresholds")
    if isinstance(thresholds, dict):
        problems += [
            f"summary.json thresholds has no {k!r}"
            for k in ("upper", "lower")
            if k not in thresholds
        ]
    seconds = summary.get("seconds")
    if isinstance(seconds, dict) and "total" not in seconds:
        problems.append("summary.json seconds has no 'total'")
    blocking = summary.get("blocking")
    if isinstance(blocking, dict):
        for key in ("candidates", "reduction_ratio", "rules"):
            if key not in blocking:
                problems.append(f"summary.json blocking has no {key!r}")
        if with_truth and "pair_completeness" not in blocking:
            problems.append("summary.json blocking has no 'pair_completeness' (given --truth)")
        for rule in blocking.get("rules", []) or []:
            missing = [k for k in ("name", "candidates", "new_candidates") if k not in rule]
            if with_truth and "pair_completeness" not in rule:
                missing.append("pair_completeness")
            if missing:
                problems.append(f"blocking rule {rule.get('name')!r} has no {missing}")
    return problems


def read_studentlink_outputs(out_dir: Path) -> ToolOutput:
    """Read ``identities.csv``, ``pairs.parquet``, ``near_matches.csv`` and ``summary.json``."""
    ident_path = out_dir / "identities.csv"
    summary_path = out_dir / "summary.json"
    if not ident_path.exists():
        raise ToolOutputError(f"studentlink link must write identities.csv in {out_dir}")
    problems: list[str] = []
    identities = pl.read_csv(ident_path, infer_schema=False)
    if {"record_id", "identity_id"} - set(identities.columns):
        raise ToolOutputError(
            f"identities.csv must have columns record_id, identity_id; got {identities.columns}"
        )
    dupes = identities.filter(pl.col("record_id").is_duplicated())["record_id"].n_unique()
    if dupes:
        problems.append(f"identities.csv lists {dupes} record ids more than once")
    summary: dict[str, Any] = {}
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        problems += check_summary(summary)
    else:
        problems.append("no summary.json")
    pairs_path = out_dir / "pairs.parquet"
    pairs = None
    if pairs_path.exists():
        pairs = pl.read_parquet(pairs_path)
        missing = {"record_id_l", "record_id_r", "match_probability"} - set(pairs.columns)
        if missing:
            problems.append(f"pairs.parquet has no {sorted(missing)}")
            pairs = None
    else:
        problems.append("no pairs.parquet although --write-pairs was given")

    near_matches = _read_near_matches(out_dir / "near_matches.csv", problems)
    if (
        near_matches is not None
        and isinstance(summary.get("near_matches"), int)
        and summary["near_matches"] != near_matches.height
    ):
        problems.append(
            f"summary.json near_matches = {summary['near_matches']}; "
            f"near_matches.csv has {near_matches.height} rows"
        )

    accepted = summary.get("records_in", 0) - summary.get("records_rejected", 0)
    if "records_in" in summary and identities.height != accepted:
        problems.append(
            f"identities.csv has {identities.height} rows; summary says "
            f"{accepted} accepted records (records_in - records_rejected)"
        )
    n_ident = identities["identity_id"].n_unique()
    if "identities" in summary and summary["identities"] != n_ident:
        problems.append(
            f"summary.json identities = {summary['identities']}; identities.csv has {n_ident}"
        )
    if (
        pairs is not None
        and isinstance(summary.get("pairs_scored"), int)
        and summary["pairs_scored"] != pairs.height
    ):
        problems.append(
            f"summary.json pairs_scored = {summary['pairs_scored']}; "
            f"pairs.parquet has {pairs.height} rows"
        )
    candidates = None
    if pairs is not None and "blocked" in pairs.columns:
        candidates = pairs.filter(pl.col("blocked"))
        blocking = summary.get("blocking") or {}
        if isinstance(blocking, dict) and blocking.get("candidates") not in (
                None, candidates.height):
            problems.append(
                f"summary.json blocking.candidates = {blocking['candidates']}; "
                f"pairs.parquet has {candidates.height} rows blocking proposed"
            )

    seconds = {
        str(k): float(v)
        for k, v in (summary.get("seconds") or {}).items()
        if k != "total" and isinstance(v, int | float)
    }
    scoring = [s for s in seconds if SCORING_STAGE.search(s)]
    thresholds = summary.get("thresholds") or {}
    return ToolOutput(
        identities=identities.select("record_id", "identity_id"),
        pairs=pairs,
        threshold=thresholds.get("upper") if isinstance(thresholds, dict) else None,
        candidate_pairs=candidates,
        near_matches=near_matches,
        stage_seconds=seconds,
        scoring_seconds=sum(seconds[s] for s in scoring) if scoring else None,
        version=_studentlink_version(),
        settings={"preset": summary.get("preset"), "model": summary.get("model")},
        reported=summary,
        problems=problems,
    )


def _read_near_matches(path: Path, problems: list[str]) -> pl.DataFrame | None:
    """``near_matches.csv`` as strings, or None (and a listed problem) if it is unusable."""
    if not path.exists():
        problems.append("no near_matches.csv")
        return None
    try:
        near = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.NoDataError:
        problems.append("near_matches.csv is empty (not even a header)")
        return None
    missing = {"record_id_l", "record_id_r"} - set(near.columns)
    if missing:
        problems.append(f"near_matches.csv has no {sorted(missing)}")
        return None
    return near


def _studentlink_version() -> str:
    from importlib import metadata

    try:
        return f"studentlink {metadata.version('studentlink')}"
    except metadata.PackageNotFoundError:
        return "studentlink (not installed as a package)"
