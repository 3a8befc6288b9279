"""The canonical record (DESIGN §2): column names and which ones are required."""

from __future__ import annotations

CANONICAL_COLUMNS: tuple[str, ...] = (
    "record_id",
    "state",
    "source_system",
    "local_student_id",
    "first_name",
    "middle_name",
    "last_name_1",
    "last_name_2",
    "suffix",
    "sex",
    "birth_date",
    "multiple_birth_flag",
    "birth_city",
    "birth_state",
    "birth_country",
    "parent1_first_name",
    "parent1_last_name",
    "parent2_first_name",
    "parent2_last_name",
    "enrollment_date",
    "qualifying_arrival_date",
    "grade",
)

REQUIRED_COLUMNS: tuple[str, ...] = ("record_id", "state", "first_name", "last_name_1")
"""Required by the `msix` preset; other presets declare their own list."""

MAX_LENGTHS: dict[str, int] = {
    "record_id": 64,
    "state": 2,
    "local_student_id": 15,
    "first_name": 60,
    "middle_name": 60,
    "last_name_1": 60,
    "last_name_2": 60,
    "suffix": 10,
    "birth_city": 80,
    "birth_state": 40,
    "birth_country": 60,
    "parent1_first_name": 60,
    "parent1_last_name": 60,
    "parent2_first_name": 60,
    "parent2_last_name": 60,
    "grade": 4,
}
"""Longer values are absurd for the field and the row is rejected."""

ERROR_COLUMNS: tuple[str, ...] = ("record_id", "source", "row", "field", "reason")
