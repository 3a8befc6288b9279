"""The tools the benchmarks compare, by name.

- ``studentlink`` — this project, through its CLI;
- ``splink`` — Splink 5 + DuckDB (``[bench]`` extra);
- ``rl_tutorial`` / ``rl_ecm`` — the recordlinkage toolkit, tutorial setup and good blocking;
- ``oracle`` — answers from the truth; only for testing the harness.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.datasets import Dataset
from benchmarks.tools.base import Tool, ToolOutput, missing_modules, read_standard_outputs
from benchmarks.tools.peer_configs import PEER_CONFIGS
from benchmarks.tools.studentlink import StudentlinkTool


@dataclass(frozen=True)
class PeerTool:
    """A tool run as ``python -m <module> --dataset D --out DIR [args]``."""

    name: str
    label: str
    module: str
    args: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    needs_peer_config: bool = True
    max_records: int | None = None
    """Larger data sets are skipped (the tool's pair comparisons would take hours)."""
    notes: tuple[str, ...] = field(default=())

    def unavailable_reason(self) -> str | None:
        missing = missing_modules(*self.requires)
        if missing:
            return f"needs {', '.join(missing)} (pip install 'studentlink[bench]')"
        return None

    def supports(self, dataset: Dataset) -> str | None:
        if self.needs_peer_config and dataset.peer_config not in PEER_CONFIGS:
            return f"no {self.label} configuration for {dataset.name}"
        if self.max_records is not None and dataset.n_records > self.max_records:
            return f"{self.label} is not run above {self.max_records:,} records"
        return None

    def command(self, dataset: Dataset, dataset_json: Path, out_dir: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            self.module,
            *self.args,
            "--dataset",
            str(dataset_json),
            "--out",
            str(out_dir),
        ]

    def collect(self, dataset: Dataset, out_dir: Path) -> ToolOutput:
        return read_standard_outputs(out_dir)


TOOLS: dict[str, Tool] = {
    "studentlink": StudentlinkTool(),
    "splink": PeerTool(
        "splink",
        "Splink 5 (DuckDB)",
        "benchmarks.tools.splink_tool",
        requires=("splink", "duckdb"),
    ),
    "rl_tutorial": PeerTool(
        "rl_tutorial",
        "recordlinkage (tutorial)",
        "benchmarks.tools.recordlinkage_tool",
        args=("--mode", "tutorial"),
        requires=("recordlinkage",),
        max_records=100_000,
    ),
    "rl_ecm": PeerTool(
        "rl_ecm",
        "recordlinkage (blocking union + ECM)",
        "benchmarks.tools.recordlinkage_tool",
        args=("--mode", "ecm"),
        requires=("recordlinkage",),
        max_records=100_000,  # 300k synthetic: killed at 19 GB (pandas candidate index)
    ),
    "oracle": PeerTool(
        "oracle",
        "oracle (truth; harness self-test)",
        "benchmarks.tools.oracle",
        needs_peer_config=False,
    ),
}

PEERS = ("splink", "rl_tutorial", "rl_ecm")

__all__ = ["PEERS", "TOOLS", "PeerTool", "Tool", "ToolOutput"]
