"""`create_app(settings)`: the FastAPI application over the identity store.

The store is opened when the app starts (or passed in, for tests and the demo), the matching
index is built in the background (`/readyz` says when), request audit rows are flushed on
shutdown. The review page's router (`api.review`) is included when that module exists.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.errors import install_handlers
from api.middleware import AuditTrail, BodyLimit
from api.routers import (
    audit,
    changes,
    counts,
    events,
    health,
    identities,
    keys,
    match,
    near_matches,
    records,
)
from api.services import AuditSink, Services
from api.settings import ApiSettings, get_settings
from matcher.store import IdentityStore

log = logging.getLogger("studentlink.api")

API_VERSION = "1.0.0"
DESCRIPTION = """\
Links migrant children's state records into persistent identities.

Every `/v1` call needs an API key (`X-API-Key: <key>` or `Authorization: Bearer <key>`), made
with `studentlink keys create --role ROLE --states TX,FL`. Roles: `exchange` uploads and
matches records; `reviewer` decides near matches of its states; `admin` merges and splits
identities of its states and manages keys; `auditor` reads the audit log. A key sees only the
identities, near matches and events that involve its states.
"""


def open_store(settings: ApiSettings) -> IdentityStore:
    """Open the configured store, applying a model file and threshold overrides."""
    from matcher.store import MatchingBackend

    model = None
    if settings.model_path is not None:
        from models import load_model

        model = load_model(settings.model_path)
    store = IdentityStore.open(settings.store_url, model=model, preset=settings.preset)
    if store.has_backend and (settings.upper_threshold is not None
                              or settings.lower_threshold is not None):
        from matcher.settings import Settings, Thresholds, load_preset
        from models import load_model_json

        saved = store.meta("settings_json")
        matching = (Settings.model_validate_json(saved) if saved
                    else load_preset(settings.preset))
        thresholds = Thresholds(upper=settings.upper_threshold or matching.thresholds.upper,
                                lower=settings.lower_threshold or matching.thresholds.lower)
        saved_model = store.meta("model_json")
        if saved_model:
            store.use_backend(MatchingBackend.from_model(
                matching.model_copy(update={"thresholds": thresholds}),
                load_model_json(saved_model)))
    return store


def _attach(app: FastAPI, store: IdentityStore, settings: ApiSettings) -> None:
    """Put the store, services, audit sink and readiness flags on `app.state`."""
    app.state.store = store
    app.state.services = Services.build(store, settings)
    app.state.audit_sink = AuditSink(store, settings.audit_flush_seconds)
    app.state.index_ready = threading.Event()
    app.state.records_indexed = 0
    app.state.closed = False


def _warm(app: FastAPI, store: IdentityStore) -> None:
    try:
        if store.has_backend:
            app.state.records_indexed = len(store.index())
            app.state.index_ready.set()
    except Exception as exc:  # readyz keeps saying "not ready"; the reason is logged
        log.error("building the matching index failed: %s", type(exc).__name__)


def create_app(settings: ApiSettings | None = None, *, store: IdentityStore | None = None,
               ) -> FastAPI:
    """The API app. Pass `store` to serve an already open store (it is not closed at exit)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.store is None or app.state.closed:
            _attach(app, store if store is not None else open_store(settings), settings)
        opened: IdentityStore = app.state.store
        if settings.warm_index:
            threading.Thread(target=_warm, args=(app, opened), name="index-warmup",
                             daemon=True).start()
        elif opened.has_backend:
            app.state.index_ready.set()
        try:
            yield
        finally:
            app.state.services.close()
            app.state.audit_sink.close()
            app.state.closed = True
            if store is None:
                opened.close()

    app = FastAPI(title="studentlink", version=API_VERSION, description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.store = None
    app.state.audit_sink = None
    if store is not None:
        _attach(app, store, settings)
    install_handlers(app)
    for module in (records, match, identities, near_matches, changes, events, counts, keys,
                   audit, health):
        app.include_router(module.router)
    _include_review(app)
    app.add_middleware(AuditTrail, sink=lambda: app.state.audit_sink)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["X-API-Key", "Authorization", "Content-Type",
                                          "Idempotency-Key", "If-Match"])
    return app


def app_from_env() -> FastAPI:
    """The app with settings from `STUDENTLINK_*` variables (for `uvicorn --factory` and for
    `studentlink serve --workers N`, where each worker process builds its own)."""
    return create_app(ApiSettings())


def _include_review(app: FastAPI) -> None:
    """Include the review page (issue 6) when `api.review` is installed."""
    try:
        from api import review
    except ImportError as exc:
        if exc.name not in ("api.review", None):
            raise
        return
    router: Any = getattr(review, "router", None)
    if router is not None:
        app.include_router(router)
    mount = getattr(review, "mount", None)
    if callable(mount):
        mount(app)
