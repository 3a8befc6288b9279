"""Links record what batch `link` clusters with besides the scores: whether the given names
agree exactly (`same_name`) and whether an identifier agrees (`identifier_agrees`).

Both are nullable: pairs stored before this revision get null (unknown, read as False), and
are written with their values when either record is scored again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = ("same_name", "identifier_agrees")


def upgrade() -> None:
    """Add the two nullable columns (a plain ALTER TABLE on both engines: no table copy)."""
    for name in COLUMNS:
        op.add_column("links", sa.Column(name, sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Drop them (SQLite copies the table)."""
    with op.batch_alter_table("links") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
