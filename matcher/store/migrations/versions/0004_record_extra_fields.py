"""Records keep the preset's extra evidence fields (`records.extra_fields`, a JSON object of
the fields present), so a store built with a preset that maps them (the FEBRL and
pseudopeople presets, a state's own export) matches on them as batch `link` does.

Nullable: records stored before this revision get null (no extra field), as they were
matched; re-sending a record with its extra fields updates it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMN = "extra_fields"


def upgrade() -> None:
    """Add the nullable column (a plain ALTER TABLE on both engines: no table copy)."""
    op.add_column("records", sa.Column(
        COLUMN, sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True))


def downgrade() -> None:
    """Drop it (SQLite copies the table)."""
    with op.batch_alter_table("records") as batch:
        batch.drop_column(COLUMN)
