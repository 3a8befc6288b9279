"""Child counts per reporting period."""

from __future__ import annotations

from datetime import date

from api.schemas.common import Public


class CountsPublic(Public):
    """Unduplicated children aged 3–21 per state and nationally, September 1 – August 31."""

    period: str
    start: date
    end: date
    by_state: dict[str, int]
    national: int
    unknown_birth_date: int
