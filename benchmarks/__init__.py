"""Benchmarks: accuracy, speed and memory of studentlink side by side with Splink and the
recordlinkage toolkit, in one run.

Public surface: :func:`run_suite` (``studentlink bench`` calls it), the suites in
:data:`benchmarks.suites.SUITES`, the tools in :data:`benchmarks.tools.TOOLS` and the data sets
in :data:`benchmarks.datasets.DATASETS`. ``python -m benchmarks --help`` for the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.runner import run_suite

__all__ = ["run_suite"]


def __getattr__(name: str) -> Any:
    # lazy, so that `import benchmarks.synthetic` stays light
    if name == "run_suite":
        from benchmarks.runner import run_suite

        return run_suite
    raise AttributeError(f"module 'benchmarks' has no attribute {name!r}")

