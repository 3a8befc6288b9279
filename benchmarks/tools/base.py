"""What every benchmarked tool provides, and the output files the peer runners write.

A tool run is one subprocess (so its wall time and peak memory are its own). The parent builds
the command line with :meth:`Tool.command` and, once the process has exited, reads what it
wrote with :meth:`Tool.collect` into a :class:`ToolOutput`.

The peer runners (``python -m benchmarks.tools.<tool> --dataset D --out DIR``) all write the
same three files, read back by :func:`read_standard_outputs`:

- ``identities.parquet``: ``record_id, identity_id`` — the tool's clustering at its default
  threshold, every input record once;
- ``pairs.parquet``: ``record_id_l, record_id_r, match_probability`` — every candidate pair
  the tool scored;
- ``run.json``: ``tool``, ``version``, ``threshold`` (the default match threshold, in the
  tool's own score), ``seconds`` {stage: seconds}, ``scoring_stages`` (which of those stages
  score pairs), ``settings`` (a readable description of the configuration) and ``notes``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from benchmarks.datasets import Dataset
from benchmarks.errors import ToolOutputError

IDENTITIES = "identities.parquet"
PAIRS = "pairs.parquet"
RUN_INFO = "run.json"


@dataclass
class ToolOutput:
    """What a finished tool run produced, in the benchmark's own shapes."""

    identities: pl.DataFrame
    """``record_id, identity_id`` (strings)."""
    pairs: pl.DataFrame | None
    """``record_id_l, record_id_r, match_probability`` or None if the tool wrote none."""
    threshold: float | None
    """The tool's default match threshold on ``match_probability``."""
    candidate_pairs: pl.DataFrame | None = None
    """The scored pairs blocking proposed, where the tool scored others too (studentlink's
    pairs inside linked components); the blocking metrics use these. None: all of ``pairs``."""
    near_matches: pl.DataFrame | None = None
    """``record_id_l, record_id_r, ...`` (strings): the review queue, or None if the tool
    writes none."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    scoring_seconds: float | None = None
    """Seconds spent generating and scoring candidate pairs (for pairs per second)."""
    version: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    reported: dict[str, Any] = field(default_factory=dict)
    """Numbers the tool reported about itself (e.g. studentlink's summary.json)."""
    problems: list[str] = field(default_factory=list)
    """Ways the tool's output broke its contract (the run still counts if it can)."""


class Tool(Protocol):
    """A record-linkage tool the benchmarks can run."""

    @property
    def name(self) -> str:
        """Short name used in suites, results and file names."""
        ...

    @property
    def label(self) -> str:
        """Readable name for reports."""
        ...

    def unavailable_reason(self) -> str | None:
        """Why the tool cannot run here (not installed, ...), or None."""
        ...

    def supports(self, dataset: Dataset) -> str | None:
        """Why the tool does not run on this data set, or None if it does."""
        ...

    def command(self, dataset: Dataset, dataset_json: Path, out_dir: Path) -> list[str]:
        """The command line of one run writing into ``out_dir``."""
        ...

    def collect(self, dataset: Dataset, out_dir: Path) -> ToolOutput:
        """Read the finished run's outputs."""
        ...


def missing_modules(*modules: str) -> list[str]:
    """Which of ``modules`` cannot be imported here."""
    missing = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ModuleNotFoundError, ValueError):
            found = False
        if not found:
            missing.append(module)
    return missing


def which(executable: str) -> str | None:
    return shutil.which(executable)


# --------------------------------------------------------------------------- stage timer


class StageTimer:
    """Wall seconds per named stage: ``with timer("predict"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


# --------------------------------------------------------------------------- standard files


def write_standard_outputs(
    out_dir: Path,
    *,
    identities: pl.DataFrame | None,
    pairs: pl.DataFrame | None,
    info: dict[str, Any],
) -> None:
    """Write ``run.json`` and, when given, ``identities.parquet`` and ``pairs.parquet``.

    A runner that wrote the parquet files itself (e.g. straight from DuckDB) passes None.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if identities is not None:
        identities.select(
            pl.col("record_id").cast(pl.String), pl.col("identity_id").cast(pl.String)
        ).write_parquet(out_dir / IDENTITIES)
    if pairs is not None:
        pairs.select(
            pl.col("record_id_l").cast(pl.String),
            pl.col("record_id_r").cast(pl.String),
            pl.col("match_probability").cast(pl.Float64),
        ).write_parquet(out_dir / PAIRS)
    (out_dir / RUN_INFO).write_text(json.dumps(info, indent=2, default=str) + "\n")


def read_standard_outputs(out_dir: Path) -> ToolOutput:
    """Read what :func:`write_standard_outputs` wrote."""
    info_path = out_dir / RUN_INFO
    ident_path = out_dir / IDENTITIES
    if not info_path.exists() or not ident_path.exists():
        raise ToolOutputError(
            f"the run must write {RUN_INFO} and {IDENTITIES} in {out_dir}; "
            f"got {sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else 'nothing'}"
        )
    info = json.loads(info_path.read_text())
    pairs_path = out_dir / PAIRS
    seconds = {str(k): float(v) for k, v in info.get("seconds", {}).items()}
    scoring = [s for s in info.get("scoring_stages", []) if s in seconds]
    return ToolOutput(
        identities=pl.read_parquet(ident_path),
        pairs=pl.read_parquet(pairs_path) if pairs_path.exists() else None,
        threshold=info.get("threshold"),
        stage_seconds=seconds,
        scoring_seconds=sum(seconds[s] for s in scoring) if scoring else None,
        version=str(info.get("version", "")),
        settings=dict(info.get("settings", {})),
        reported={k: v for k, v in info.items() if k not in {"seconds", "settings"}},
    )
