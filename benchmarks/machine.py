"""A description of the machine a benchmark ran on (written as ``machine.json``)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "studentlink",
    "polars",
    "pyarrow",
    "rapidfuzz",
    "numpy",
    "scikit-learn",
    "splink",
    "duckdb",
    "recordlinkage",
    "pandas",
    "scipy",
    "jellyfish",
    "pseudopeople",
    "matplotlib",
)

THREAD_VARIABLES = (
    "POLARS_MAX_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "MKL_NUM_THREADS",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit() -> str | None:
    """The commit benchmarked (``-dirty`` if the work tree has changes).

    ``$STUDENTLINK_BENCH_COMMIT`` names it when the code runs from an exported copy.
    """
    if os.environ.get("STUDENTLINK_BENCH_COMMIT"):
        return os.environ["STUDENTLINK_BENCH_COMMIT"]
    root = Path(__file__).resolve().parent.parent
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        return None
    dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    return f"{commit}-dirty" if dirty else commit


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def describe_machine() -> dict[str, Any]:
    """CPU model, cores, memory, OS, Python and package versions, thread settings, commit."""
    import psutil

    memory = psutil.virtual_memory().total
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": round(memory / 1024**3, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": package_versions(),
        "thread_settings": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ},
        "git_commit": git_commit(),
    }


def machine_summary(machine: dict[str, Any]) -> str:
    """One line for a report heading."""
    return (
        f"{machine.get('cpu_model')}, {machine.get('logical_cores')} cores, "
        f"{machine.get('memory_gb')} GB, Python {machine.get('python')}, {machine.get('os')}"
    )
