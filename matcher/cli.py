"""The `studentlink` command line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console

from matcher.errors import InputFileError, StudentlinkError

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Link migrant students' state records into identities.")
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def progress_display() -> Iterator[Callable[[str], None]]:
    """A live status line on a terminal; silent when output is not a terminal."""
    if not err.is_terminal:
        yield lambda _message: None
        return
    with err.status("starting") as status:
        yield lambda message: status.update(message)


def read_truth(path: Path) -> pl.DataFrame:
    """record_id and entity_id (or the second column) from a truth file of any input format."""
    from matcher.ingest import read_table

    frame = read_table(path)
    if "record_id" not in frame.columns or len(frame.columns) < 2:
        raise InputFileError(f"{path}: a truth file needs a record_id column and an entity_id "
                             f"column; found {', '.join(frame.columns) or 'no columns'}")
    entity = ("entity_id" if "entity_id" in frame.columns
              else next(c for c in frame.columns if c != "record_id"))
    return frame.select(pl.col("record_id"), pl.col(entity).alias("entity_id"))


@app.command()
def link(
    inputs: Annotated[list[Path], typer.Argument(help="CSV, Parquet or JSON files.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the outputs.")],
    link_only: Annotated[bool, typer.Option("--link-only",
                                            help="Only link across inputs (two-file linkage).")
                         ] = False,
    preset: Annotated[str, typer.Option(help="msix, febrl, pseudopeople or a JSON file.")
                      ] = "msix",
    model: Annotated[Path | None, typer.Option(help="A saved model JSON (skip training).")
                     ] = None,
    save_model: Annotated[Path | None, typer.Option(help="Write the trained model here.")
                          ] = None,
    truth: Annotated[Path | None, typer.Option(
        help="CSV with record_id and entity_id: report blocking pair completeness.")] = None,
    write_pairs: Annotated[bool, typer.Option(
        "--write-pairs", help="Also write every scored pair to pairs.parquet.")] = False,
    engine: Annotated[str, typer.Option(help="'local' (polars, default) or 'spark'.")
                      ] = "local",
    spark_master: Annotated[str, typer.Option(
        "--spark-master", help="Spark master URL for --engine spark.")] = "local[*]",
) -> None:
    """Link records into identities; write identities, near matches, errors and a summary."""
    from matcher.ingest import read_inputs
    from matcher.output import write_outputs
    from matcher.pipeline import Linker
    from matcher.settings import load_preset
    from models import load_model

    started = time.perf_counter()
    try:
        settings = load_preset(preset)
        match_model = load_model(model) if model else None
        linker = Linker(settings, match_model)  # checks the preset's columns before any work
        if link_only and len(inputs) < 2:
            raise fail("'--link-only' needs at least two inputs; got one")
        if engine not in ("local", "spark"):
            raise fail(f"'--engine' must be 'local' or 'spark'; got {engine!r}")
        if save_model is not None:
            save_model.parent.mkdir(parents=True, exist_ok=True)
        with progress_display() as say:
            labels = read_truth(truth) if truth is not None else None
            if engine == "spark":
                from matcher.spark.engine import link_with_spark

                ingest, result = link_with_spark(
                    inputs, settings, link_only=link_only, master=spark_master,
                    model=match_model, progress=say, truth=labels, keep_pairs=write_pairs,
                    save_model=save_model)
                seconds = dict(result.seconds)
            else:
                say("reading inputs")
                read_start = time.perf_counter()
                ingest = read_inputs(inputs, settings)
                read_seconds = time.perf_counter() - read_start
                entity = None
                if labels is not None:
                    entity = ingest.records.join(labels, on="record_id", how="left")["entity_id"]
                result = linker.link(ingest.records, link_only=link_only, entity=entity,
                                     progress=say, keep_pairs=write_pairs)
                seconds = {"read": read_seconds, **result.seconds}
                if save_model and linker.model is not None:
                    save_model.write_text(linker.model.to_json(), encoding="utf-8")
            say("writing outputs")
            write_start = time.perf_counter()
            summary = write_outputs(out, result, ingest, settings, seconds,
                                    write_pairs=write_pairs)
    except StudentlinkError as exc:
        raise fail(str(exc)) from None
    summary["seconds"]["write"] = round(time.perf_counter() - write_start, 3)
    summary["seconds"]["total"] = round(time.perf_counter() - started, 3)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    err.print(
        f"{summary['records_accepted']:,} records -> {summary['identities']:,} identities, "
        f"{summary['near_matches']:,} near matches, {summary['records_rejected']:,} rejected "
        f"rows ({summary['seconds']['total']:.1f} s, peak {summary['peak_memory_mb']:.0f} MB); "
        f"outputs in {out}", highlight=False)


def _register_optional() -> None:
    """Commands from other packages (store, API, benchmarks) plug in here when present."""
    for module_name in ("matcher.store.cli", "api.cli", "benchmarks.cli"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        module.register(app)


_register_optional()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
