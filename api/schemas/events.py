"""The change feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.common import Public


class EventPublic(Public):
    """One event; `seq` is its cursor and `states` the states it is routed to."""

    seq: int
    kind: str = Field(examples=["student_moved"])
    identity_id: str | None = None
    record_id: str | None = None
    payload: dict[str, Any]
    created_at: datetime
    states: list[str]


class EventsPublic(Public):
    """A page of events, oldest first; poll again with `after=cursor`."""

    data: list[EventPublic]
    count: int
    cursor: int
