"""``studentlink bench``: plugged into the studentlink CLI by ``matcher.cli`` when present."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: Any) -> None:
    """Add the ``bench`` command to the studentlink Typer app."""

    @app.command()
    def bench(
        suite: Annotated[str, typer.Option(help="smoke, standard, scale or heldout.")] = "smoke",
        out: Annotated[Path | None, typer.Option(
            "--out", help="Output folder (default bench-out/<suite>).")] = None,
        tools: Annotated[str | None, typer.Option(
            help="Comma-separated tools (default: the suite's own): studentlink, splink, "
                 "rl_tutorial, rl_ecm.")] = None,
        data_dir: Annotated[Path | None, typer.Option(
            help="Data set cache (default $STUDENTLINK_BENCH_DATA or "
                 "~/.cache/studentlink/bench-data).")] = None,
        keep_work: Annotated[bool, typer.Option(
            "--keep-work", help="Keep each tool's scored pairs and identities.")] = False,
    ) -> None:
        """Benchmark accuracy, speed and memory side by side with Splink and recordlinkage."""
        from benchmarks.errors import BenchmarkError
        from benchmarks.runner import run_suite

        selected = [t.strip() for t in tools.split(",") if t.strip()] if tools else None
        try:
            report = run_suite(suite, out or Path("bench-out") / suite, selected,
                               data_dir=data_dir, keep_work=keep_work)
        except BenchmarkError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(str(report))
