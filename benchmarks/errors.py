"""Errors the benchmark harness raises on purpose (children of ``StudentlinkError``)."""

from __future__ import annotations

from matcher.errors import StudentlinkError


class BenchmarkError(StudentlinkError):
    """A suite, data set or tool name is unknown, or a run cannot be set up."""


class DatasetError(BenchmarkError):
    """A data set cannot be built, or what was built is not what the benchmark expects."""


class ToolOutputError(BenchmarkError):
    """A tool finished but its output files are missing or break the output contract."""
