"""Links record whether the given names alone raise the twin flag (`multiple_birth_by_names`):
a rebuild lets more strong unflagged pairs between two groups outvote such a flag.

Nullable: pairs stored before this revision get null (read as False: the flag holds, as it
did), and are written with their value when either record is scored again; `studentlink
rebuild` rescores every pair.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMN = "multiple_birth_by_names"


def upgrade() -> None:
    """Add the nullable column (a plain ALTER TABLE on both engines: no table copy)."""
    op.add_column("links", sa.Column(COLUMN, sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Drop it (SQLite copies the table)."""
    with op.batch_alter_table("links") as batch:
        batch.drop_column(COLUMN)
