"""API commands for the `studentlink` CLI: `serve`, `keys create|list|revoke` and `demo`.

`matcher.cli` calls `register(app)`. The store defaults to `$STUDENTLINK_STORE` or
`./studentlink.db`, like the store commands.
"""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

import typer

from matcher.errors import StudentlinkError

DEFAULT_STORE = "./studentlink.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEMO_RECORDS = 2000
DEMO_TRAINING_RECORDS = 2000
DEMO_U_SAMPLE_PAIRS = 200_000

StoreOption = Annotated[
    str,
    typer.Option("--store", envvar="STUDENTLINK_STORE",
                 help="Database URL (sqlite:///file.db, postgresql+psycopg://...) or file path."),
]
HostOption = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")]

keys_app = typer.Typer(help="API keys: shown once when created, stored hashed.",
                       no_args_is_help=True)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _fail(exc: Exception) -> typer.Exit:
    _say(f"error: {exc}")
    return typer.Exit(2 if isinstance(exc, ValueError) else 1)


def _open(url: str) -> Any:
    from matcher.store import IdentityStore

    return IdentityStore.open(url)


def _settings(store: str, **overrides: Any) -> Any:
    from api.settings import ApiSettings

    return ApiSettings(store_url=store, **overrides)


def _run(app: Any, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, **_server_options())


def _server_options() -> dict[str, Any]:
    """uvicorn settings shared by one- and multi-worker serving."""
    from api.http_protocol import NoDelayH11Protocol

    return {"log_level": "info", "access_log": False, "http": NoDelayH11Protocol}


def serve_command(
    store: StoreOption = DEFAULT_STORE,
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=64,
        help="Worker processes (each holds its own matching index; 1 per core at most).")
    ] = 1,
) -> None:
    """Run the HTTP API (and the review page) with uvicorn.

    Limits and thresholds come from STUDENTLINK_* variables (see `api.settings.ApiSettings`).
    """
    import uvicorn

    from api.app import create_app

    try:
        settings = _settings(store)
    except (StudentlinkError, ValueError) as exc:
        raise _fail(exc) from None
    _say(f"serving the API on http://{host}:{port}/docs (store {store}, "
         f"{workers} worker{'s' if workers > 1 else ''})")
    if workers > 1:
        os.environ["STUDENTLINK_STORE_URL"] = settings.store_url
        # The workers are the parallelism: one polars thread each wastes less on tiny queries.
        os.environ.setdefault("POLARS_MAX_THREADS", "1")
        uvicorn.run("api.app:app_from_env", factory=True, workers=workers, host=host,
                    port=port, **_server_options())
        return
    try:
        app = create_app(settings)
    except (StudentlinkError, ValueError) as exc:
        raise _fail(exc) from None
    _run(app, host, port)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help="exchange, reviewer, admin or auditor.")],
    states: Annotated[str, typer.Option(
        "--states", help="Comma-separated state codes (TX,FL), or '*' for every state.")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from api.auth import Role, create_key

    try:
        with _open(store) as opened:
            created = create_key(opened, Role(role), states)
    except ValueError as exc:
        raise _fail(ValueError(f"'--role' must be one of exchange, reviewer, admin, auditor "
                               f"and '--states' state codes or '*'; {exc}")) from None
    except StudentlinkError as exc:
        raise _fail(exc) from None
    record = created.record
    _say(f"key {record.id}: role {record.role.value}, states {','.join(record.states)} "
         "(shown once; keep it safe)")
    typer.echo(created.key)


@keys_app.command("list")
def keys_list(
    store: StoreOption = DEFAULT_STORE,
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked keys.")
                               ] = False,
) -> None:
    """List keys (id, role, states, created, revoked); never the keys themselves."""
    from api.auth import list_keys

    try:
        with _open(store) as opened:
            keys = list_keys(opened, include_revoked=include_revoked)
    except StudentlinkError as exc:
        raise _fail(exc) from None
    for key in keys:
        revoked = key.revoked_at.isoformat() if key.revoked_at else "-"
        typer.echo(f"{key.id}\t{key.role.value}\t{','.join(key.states)}\t"
                   f"{key.created_at.isoformat()}\t{revoked}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (from `keys list`).")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Revoke a key: it stops working at once."""
    from api.auth import revoke_key

    try:
        with _open(store) as opened:
            revoked = revoke_key(opened, key_id)
    except StudentlinkError as exc:
        raise _fail(exc) from None
    if revoked is None:
        raise _fail(LookupError(f"'key_id' must name a key; got {key_id}"))
    _say(f"key {key_id} revoked")


def build_demo_store(url: str, n_records: int, seed: int) -> Any:
    """Synthetic records, a model trained on them, linked into the store at `url`.

    Re-running with the same seed changes nothing (the records are the same).
    """
    from benchmarks.synthetic import generate
    from matcher.pipeline import Linker
    from matcher.settings import load_preset
    from matcher.store import IdentityStore

    records, _truth = generate(n_records, seed)
    store = IdentityStore.open(url)
    if not store.has_backend:
        settings = load_preset("msix")
        settings = settings.model_copy(update={"u_sample_pairs": DEMO_U_SAMPLE_PAIRS})
        _say(f"training the match model on {min(n_records, DEMO_TRAINING_RECORDS):,} records")
        linker = Linker(settings)
        linker.link(records.head(DEMO_TRAINING_RECORDS))
        store.close()
        store = IdentityStore.open(url, settings=load_preset("msix"), model=linker.model,
                                   preset="msix")
    _say(f"linking {n_records:,} synthetic records into {url}")
    result = store.load(records, actor="demo")
    summary = result.summary()
    _say(f"{summary['new']:,} new, {summary['updated']:,} updated, "
         f"{result.unchanged:,} unchanged records; {summary['identities_created']:,} "
         f"identities created, {summary['near_matches_created']:,} near matches queued")
    return store


def demo_command(
    store: StoreOption = DEFAULT_STORE,
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    records: Annotated[int, typer.Option("--records", min=10, max=1_000_000,
                                         help="Synthetic records to generate.")] = DEMO_RECORDS,
    seed: Annotated[int, typer.Option("--seed", help="Generator seed.")] = 0,
    serve: Annotated[bool, typer.Option("--serve/--no-serve",
                                        help="Serve the API after loading.")] = True,
) -> None:
    """Quick start: synthetic data into the store, keys printed once, API + review page served.

    Loads `--records` synthetic migrant-student records (with twins, moves and typos) into the
    store, creates an admin, a reviewer (TX,FL) and an exchange key, prints them, and serves on
    http://HOST:PORT (API docs at /docs).
    """
    from api.app import create_app
    from api.auth import Role, create_key

    started = time.perf_counter()
    try:
        opened = build_demo_store(store, records, seed)
        keys = {
            "admin (all states)": create_key(opened, Role.ADMIN, "*"),
            "reviewer (TX,FL)": create_key(opened, Role.REVIEWER, "TX,FL"),
            "exchange (all states)": create_key(opened, Role.EXCHANGE, "*"),
        }
    except (StudentlinkError, ValueError) as exc:
        raise _fail(exc) from None
    base = f"http://{host}:{port}"
    lines = [f"ready in {time.perf_counter() - started:.0f} s. Keys (shown once):"]
    lines += [f"  {label:<22} {new.key}" for label, new in keys.items()]
    reviewer = keys["reviewer (TX,FL)"].key
    lines += [
        f"API docs:     {base}/docs",
        f"Review page:  {base}/review",
        f"Try:          curl -H 'X-API-Key: {reviewer}' '{base}/v1/near-matches?limit=3'",
    ]
    typer.echo("\n".join(lines))
    if not serve:
        opened.close()
        return
    app = create_app(_settings(store), store=opened)
    try:
        _run(app, host, port)
    finally:
        opened.close()


def register(app: typer.Typer) -> None:
    """Add `serve`, `keys` and `demo` to the `studentlink` app."""
    app.command("serve")(serve_command)
    app.command("demo")(demo_command)
    app.add_typer(keys_app, name="keys")


def main() -> None:
    """Run the API commands on their own (`python -m api.cli`)."""
    app = typer.Typer(no_args_is_help=True)
    register(app)
    app()


if __name__ == "__main__":
    main()

