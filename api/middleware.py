"""ASGI middleware: the request body limit, and one audit row per API call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.services.audit import AuditSink

UNAUDITED = ("/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/static",
             "/review/static")


def too_large(limit: int) -> str:
    return f"request body exceeds {limit} bytes"


class BodyLimit:
    """413 for a body longer than `limit` bytes: by Content-Length up front, or while read."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if length is not None:
            text = length.decode("latin-1").strip()
            if not text.isdigit():
                await _send_json(send, 400, {"detail": "invalid Content-Length header"})
                return
            if int(text) > self.limit:
                await _send_json(send, 413, {"detail": too_large(self.limit)})
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, too_large(self.limit))
            return message

        await self.app(scope, limited, send)


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


class AuditTrail:
    """Queue one audit row per call: who, which route, path ids, status, milliseconds.

    Bodies and query strings are never recorded (they hold names and birth dates).
    """

    def __init__(self, app: ASGIApp, sink: Callable[[], AuditSink | None]) -> None:
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(UNAUDITED):
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            sink = self.sink()
            if sink is not None:
                sink.add(_row(scope, status, time.perf_counter() - started))


def _row(scope: Scope, status: int, seconds: float) -> dict[str, Any]:
    principal = (scope.get("state") or {}).get("principal")
    route = scope.get("route")
    template = getattr(route, "path", None) or "(no route)"
    method = scope.get("method", "?")
    params = {k: str(v)[:64] for k, v in (scope.get("path_params") or {}).items()}
    return {
        "actor": principal.actor if principal is not None else "anonymous",
        "action": "api_call",
        "target_kind": "route",
        "target_id": f"{method} {template}"[:64],
        "detail": {"method": method, "route": template, "path_params": params,
                   "status": status, "ms": round(seconds * 1000, 2),
                   "role": principal.role.value if principal is not None else None},
    }
