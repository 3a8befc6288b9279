"""The audit log (auditor only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.schemas.common import Public


class AuditEntryPublic(Public):
    """Who did what when; `detail` carries ids and counts, never names or birth dates."""

    id: int
    at: datetime
    actor: str
    action: str
    target_kind: str | None
    target_id: str | None
    detail: dict[str, Any]


class AuditEntriesPublic(Public):
    data: list[AuditEntryPublic]
    count: int
    next_cursor: int | None
