"""Store commands for the `studentlink` CLI: load, rebuild, counts, events, and admin
merge/split.

`matcher.cli` calls `register(app)`. The store defaults to `$STUDENTLINK_STORE` or
`./studentlink.db`.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import polars as pl
import typer

from matcher.errors import InputFileError, SettingsError, StudentlinkError

DEFAULT_STORE = "./studentlink.db"
T = TypeVar("T")

StoreOption = Annotated[
    str,
    typer.Option("--store", envvar="STUDENTLINK_STORE",
                 help="Database URL (sqlite:///file.db, postgresql+psycopg://...) or file path."),
]
ActorOption = Annotated[
    str, typer.Option("--actor", help="Who is doing this (recorded in the audit log).")
]
NoteOption = Annotated[str | None, typer.Option("--note", help="Why (recorded with the change).")]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _print_json(value: Any) -> None:
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    typer.echo(json.dumps(value, default=_json_default, indent=2, sort_keys=True))


@contextmanager
def _errors_to_exit() -> Iterator[None]:
    try:
        yield
    except (InputFileError, SettingsError) as exc:  # the command's inputs: as `link` does
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except StudentlinkError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _open(url: str, **kwargs: Any) -> Any:
    from matcher.store.store import IdentityStore

    return IdentityStore.open(url, **kwargs)


def load_command(
    inputs: Annotated[list[Path], typer.Argument(help="CSV, Parquet or JSON files.")],
    store: StoreOption = DEFAULT_STORE,
    preset: Annotated[str, typer.Option("--preset", help="Preset name or JSON file.")] = "msix",
    model: Annotated[Path | None, typer.Option(
        "--model", help="Model JSON to use when the store has none yet.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 1000,
    actor: Annotated[str, typer.Option("--actor")] = "loader",
    errors_out: Annotated[Path | None, typer.Option(
        "--errors", help="Write rejected rows (record_id, source, row, field, reason) here.")
    ] = None,
) -> None:
    """Put records into a store and link them incrementally (batches, one transaction each).

    Re-loading the same file changes nothing; a re-sent record_id with new data is an update.
    The store keeps the model it was first loaded with (from --model, or trained on the
    records of that first load).
    """
    import polars as pl

    from matcher.ingest import read_inputs
    from matcher.pipeline import Linker
    from matcher.settings import load_preset

    with _errors_to_exit():
        settings = load_preset(preset)
        Linker(settings)  # checks the preset's columns before any input is read
        ingested = read_inputs(list(inputs), settings)
        opened = _open(store, settings=settings, preset=preset,
                       model=_load_model(model) if model else None)
        try:
            if not opened.has_backend:
                typer.echo(f"training the model on {len(ingested.records):,} records", err=True)
                opened = _reopen_with_trained_model(opened, store, settings, preset,
                                                    ingested.records)
            records = ingested.records
            typer.echo(f"scoring {len(records):,} records", err=True)
            with typer.progressbar(length=len(records), label="loading", file=sys.stderr
                                   ) as bar:

                def after_batch(result: Any) -> None:
                    _settle_heap()
                    bar.update(result.rows.height)

                loaded = opened.load_batches(records, batch_size=batch_size, actor=actor,
                                             after_batch=after_batch)
            totals = loaded.summary()
            # rows the input checks refused, then rows the store cannot keep (no state)
            totals["rejected_rows"] = ingested.rejected_rows + loaded.errors.height
            if errors_out is not None:
                pl.concat([ingested.errors, loaded.errors], how="diagonal_relaxed").select(
                    ingested.errors.columns).write_csv(errors_out)
            _print_json(totals)
        finally:
            opened.close()


def _settle_heap() -> None:
    """Collect the young garbage a batch left, then freeze what survives (mostly the index,
    which only grows) out of the garbage collector's view. A full collection walks every
    tracked object (~0.3 s at 300k records) and ran 23-44 times over a 300k load (10-13 s of
    CPU); frozen, ~1 s. The loader owns its process and exits after the load, so it may set
    this policy (cycles among frozen objects are never collected); the library does not."""
    gc.collect(1)
    gc.freeze()


def _load_model(path: Path) -> Any:
    from models import load_model_json

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"'--model' must be a readable JSON file; got {str(path)!r}") from exc
    return load_model_json(text)


def _reopen_with_trained_model(opened: Any, url: str, settings: Any, preset: str,
                               records: pl.DataFrame) -> Any:
    from matcher.pipeline import Linker

    linker = Linker(settings)
    linker.link(records)
    opened.close()
    return _open(url, settings=settings, preset=preset, model=linker.model)


def rebuild_command(
    store: StoreOption = DEFAULT_STORE,
    model: Annotated[Path | None, typer.Option(
        "--model", help="Model JSON to use (default: train one on the stored records).")] = None,
    preset: Annotated[str | None, typer.Option(
        "--preset", help="Preset name or JSON file (default: the store's own settings).")
    ] = None,
    actor: ActorOption = "admin",
) -> None:
    """Score, link and cluster every stored record again with a new model, in one transaction.

    Needed after an upgrade whose comparisons changed (the store then refuses its saved model),
    or to retrain on what the store holds now. Identities keep their IDs where their records
    stay together; judgements, merges and splits hold; what changed is in the events. Reopen
    other processes using the store (the API server) afterwards.
    """
    from matcher.settings import load_preset

    with _errors_to_exit():
        opened = _open(store)
        try:
            result = opened.rebuild(
                _load_model(model) if model else None,
                settings=load_preset(preset) if preset else None, actor=actor,
                say=lambda message: typer.echo(message, err=True))
        finally:
            opened.close()
    _print_json(result)


def counts_command(
    period: Annotated[str, typer.Option("--period", help="Reporting period, e.g. 2023-24.")],
    store: StoreOption = DEFAULT_STORE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Distinct children aged 3–21 per state and nationally for a reporting period
    (September 1 – August 31, by enrollment date)."""
    with _errors_to_exit():
        opened = _open(store)
        try:
            counts = opened.counts(period)
        finally:
            opened.close()
    if as_json:
        _print_json(counts.as_dict())
        return
    typer.echo(f"period {counts.period} ({counts.start} – {counts.end})")
    for state, n in sorted(counts.by_state.items()):
        typer.echo(f"{state}\t{n}")
    typer.echo(f"national\t{counts.national}")
    if counts.unknown_birth_date:
        typer.echo(f"not counted (unknown birth date)\t{counts.unknown_birth_date}")


def events_command(
    store: StoreOption = DEFAULT_STORE,
    since: Annotated[int, typer.Option("--since", help="Cursor from the last poll.")] = 0,
    state: Annotated[str | None, typer.Option("--state", help="Only events for this state.")
                     ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
) -> None:
    """Print events after a cursor, one JSON object a line, then the next cursor."""
    with _errors_to_exit():
        opened = _open(store)
        try:
            page = opened.events.since(since, state=state, limit=limit)
        finally:
            opened.close()
    for event in page.events:
        typer.echo(json.dumps(asdict(event), default=_json_default, sort_keys=True))
    typer.echo(json.dumps({"cursor": page.cursor}))


admin_app = typer.Typer(help="Merges and splits: one administrator initiates, another validates.",
                        no_args_is_help=True)


def _with_store(url: str, action: Callable[[Any], T]) -> T:
    with _errors_to_exit():
        opened = _open(url)
        try:
            return action(opened)
        finally:
            opened.close()


@admin_app.command("merge")
def merge_command(
    identity_ids: Annotated[list[str], typer.Argument(help="Two or more identity IDs.")],
    actor: ActorOption,
    store: StoreOption = DEFAULT_STORE,
    note: NoteOption = None,
) -> None:
    """Initiate a merge (the oldest identity's ID survives)."""
    _print_json(_with_store(store, lambda s: s.changes.initiate_merge(
        identity_ids, actor=actor, note=note)))


@admin_app.command("split")
def split_command(
    identity_id: Annotated[str, typer.Argument(help="The identity to split.")],
    record_ids: Annotated[list[str], typer.Argument(help="Records that leave (new ID).")],
    actor: ActorOption,
    store: StoreOption = DEFAULT_STORE,
    note: NoteOption = None,
) -> None:
    """Initiate a split: the listed records leave and get a new identity ID."""
    _print_json(_with_store(store, lambda s: s.changes.initiate_split(
        identity_id, record_ids, actor=actor, note=note)))


@admin_app.command("validate")
def validate_command(
    change_id: Annotated[int, typer.Argument()],
    actor: ActorOption,
    store: StoreOption = DEFAULT_STORE,
    note: NoteOption = None,
) -> None:
    """Validate a pending merge or split (must be a different administrator)."""
    _print_json(_with_store(store, lambda s: s.changes.validate(change_id, actor=actor,
                                                                note=note)))


@admin_app.command("reject")
def reject_command(
    change_id: Annotated[int, typer.Argument()],
    actor: ActorOption,
    store: StoreOption = DEFAULT_STORE,
    note: NoteOption = None,
) -> None:
    """Reject a pending merge or split (the initiator withdrawing it is recorded as such)."""
    _print_json(_with_store(store, lambda s: s.changes.reject(change_id, actor=actor,
                                                              note=note)))


@admin_app.command("pending")
def pending_command(store: StoreOption = DEFAULT_STORE) -> None:
    """List pending merges and splits."""
    _print_json(_with_store(store, lambda s: s.changes.list_changes(status="pending")))


@admin_app.command("escalate")
def escalate_command(store: StoreOption = DEFAULT_STORE) -> None:
    """Approve pending changes whose escalation period has passed (recorded as automatic)."""
    _print_json(_with_store(store, lambda s: s.changes.escalate()))


def register(app: typer.Typer) -> None:
    """Add the store commands to the `studentlink` app."""
    app.command("load")(load_command)
    app.command("rebuild")(rebuild_command)
    app.command("counts")(counts_command)
    app.command("events")(events_command)
    app.add_typer(admin_app, name="admin")


def main() -> None:
    """Run the store commands on their own (`python -m matcher.store.cli`)."""
    app = typer.Typer(no_args_is_help=True)
    register(app)
    app()


if __name__ == "__main__":
    main()

