"""Liveness and readiness."""

from __future__ import annotations

from api.schemas.common import Public


class HealthPublic(Public):
    status: str


class ReadyPublic(Public):
    """Ready when the database answers, a match model is loaded and the index is built."""

    status: str
    database: bool
    model: bool
    index: bool
    records_indexed: int | None = None
