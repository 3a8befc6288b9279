"""The fixed benchmark suites: each a list of (data set, tool) runs.

- ``smoke`` — FEBRL4 and 10k synthetic, studentlink only; runs in CI (no ``[bench]`` extras).
- ``standard`` — every public data set and 10k synthetic, studentlink side by side with Splink
  and both recordlinkage setups, plus 300k synthetic with studentlink and Splink (recordlinkage
  runs out of memory there); its report is the reference committed under
  ``benchmarks/results/``.
- ``scale`` — the synthetic sets from 10k to 1M records: the scaling curve and the 1M targets.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.datasets import (
    HELD_OUT_FEBRL,
    HELD_OUT_PSEUDOPEOPLE_TASKS,
    HELD_OUT_SEEDS,
    PSEUDOPEOPLE_TASKS,
    SPARSE_SYNTHETIC,
)
from benchmarks.errors import BenchmarkError


@dataclass(frozen=True)
class RunSpec:
    """One run: a tool on a data set, killed after ``timeout_s``."""

    dataset: str
    tool: str
    timeout_s: float | None = None

    @property
    def key(self) -> str:
        return f"{self.dataset}__{self.tool}"


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    runs: tuple[RunSpec, ...]
    timeout_s: float = 3600.0
    """Default per-run timeout."""

    def timeout_for(self, run: RunSpec) -> float:
        return run.timeout_s if run.timeout_s is not None else self.timeout_s

    def datasets(self) -> list[str]:
        return list(dict.fromkeys(r.dataset for r in self.runs))

    def tools(self) -> list[str]:
        return list(dict.fromkeys(r.tool for r in self.runs))


PUBLIC = ("febrl3", "febrl4", "pp_census_wic", "pp_census_ssa", "pp_census_all")
HELD_OUT = (
    *(name for name, *_ in HELD_OUT_FEBRL),
    *(
        f"{name}_seed{seed}"
        for seed in HELD_OUT_SEEDS
        for name in (*PSEUDOPEOPLE_TASKS, "synthetic_10k")
    ),
    *HELD_OUT_PSEUDOPEOPLE_TASKS,
    SPARSE_SYNTHETIC,
)
ALL_TOOLS = ("studentlink", "splink", "rl_tutorial", "rl_ecm")


def _grid(datasets: tuple[str, ...], tools: tuple[str, ...]) -> tuple[RunSpec, ...]:
    return tuple(RunSpec(d, t) for d in datasets for t in tools)


SUITES: dict[str, Suite] = {
    "smoke": Suite(
        "smoke",
        "FEBRL4 and 10k synthetic, studentlink only (keeps the harness alive in CI)",
        _grid(("febrl4", "synthetic_10k"), ("studentlink",)),
        timeout_s=170.0,
    ),
    "standard": Suite(
        "standard",
        "public data sets and 10k/300k synthetic; studentlink, Splink and recordlinkage",
        _grid((*PUBLIC, "synthetic_10k"), ALL_TOOLS)
        + _grid(("synthetic_300k",), ("studentlink", "splink")),
        timeout_s=3600.0,
    ),
    "scale": Suite(
        "scale",
        "synthetic migrant-student data from 10k to 1M records; studentlink and Splink",
        _grid(
            ("synthetic_10k", "synthetic_100k", "synthetic_300k", "synthetic_1m"),
            ("studentlink", "splink"),
        )
        + _grid(("synthetic_10k", "synthetic_100k"), ("rl_ecm",)),
        timeout_s=7200.0,
    ),
    "heldout": Suite(
        "heldout",
        "FEBRL1 and FEBRL2, the pseudopeople tasks and the 10k synthetic set drawn with other "
        "seeds, a sparse 10k export, census 2020 against ACS, CPS, W-2 and 1040 (never used "
        "to choose settings); studentlink and Splink",
        _grid(HELD_OUT, ("studentlink", "splink")),
        timeout_s=3600.0,
    ),
}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise BenchmarkError(f"'suite' must be one of {sorted(SUITES)}; got {name!r}")
    return SUITES[name]
