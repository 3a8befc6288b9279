"""Initial schema: every table of the identity store.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "api_keys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column(
            "states",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"], unique=False)
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_target", "audit_log", ["target_kind", "target_id"], unique=False)
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("identity_id", sa.String(length=12), nullable=True),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_identity_id"), "events", ["identity_id"], unique=False)
    op.create_index(op.f("ix_events_kind"), "events", ["kind"], unique=False)
    op.create_table(
        "identities",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("identity_id", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("merged_into", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_identities")),
        sa.UniqueConstraint("identity_id", name=op.f("uq_identities_identity_id")),
    )
    op.create_index(op.f("ix_identities_status"), "identities", ["status"], unique=False)
    op.create_table(
        "identity_lineage",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("identity_id", sa.String(length=12), nullable=False),
        sa.Column("related_id", sa.String(length=12), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_lineage")),
    )
    op.create_index(
        op.f("ix_identity_lineage_identity_id"), "identity_lineage", ["identity_id"], unique=False
    )
    op.create_index(
        op.f("ix_identity_lineage_related_id"), "identity_lineage", ["related_id"], unique=False
    )
    op.create_table(
        "pending_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "identity_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "record_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("initiated_by", sa.String(length=128), nullable=False),
        sa.Column("initiated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_changes")),
    )
    op.create_index(op.f("ix_pending_changes_status"), "pending_changes", ["status"], unique=False)
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_store_meta")),
    )
    op.create_table(
        "store_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_state")),
    )
    op.create_table(
        "event_states",
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["events.seq"], name=op.f("fk_event_states_seq_events")),
        sa.PrimaryKeyConstraint("state", "seq", name=op.f("pk_event_states")),
    )
    op.create_index(op.f("ix_event_states_seq"), "event_states", ["seq"], unique=False)
    op.create_table(
        "records",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("source_system", sa.Text(), nullable=True),
        sa.Column("local_student_id", sa.String(length=15), nullable=True),
        sa.Column("first_name", sa.String(length=60), nullable=True),
        sa.Column("middle_name", sa.String(length=60), nullable=True),
        sa.Column("last_name_1", sa.String(length=60), nullable=True),
        sa.Column("last_name_2", sa.String(length=60), nullable=True),
        sa.Column("suffix", sa.String(length=10), nullable=True),
        sa.Column("sex", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Text(), nullable=True),
        sa.Column("multiple_birth_flag", sa.Text(), nullable=True),
        sa.Column("birth_city", sa.String(length=80), nullable=True),
        sa.Column("birth_state", sa.String(length=40), nullable=True),
        sa.Column("birth_country", sa.String(length=60), nullable=True),
        sa.Column("parent1_first_name", sa.String(length=60), nullable=True),
        sa.Column("parent1_last_name", sa.String(length=60), nullable=True),
        sa.Column("parent2_first_name", sa.String(length=60), nullable=True),
        sa.Column("parent2_last_name", sa.String(length=60), nullable=True),
        sa.Column("enrollment_date", sa.Text(), nullable=True),
        sa.Column("qualifying_arrival_date", sa.Text(), nullable=True),
        sa.Column("grade", sa.String(length=4), nullable=True),
        sa.Column("identity_id", sa.String(length=12), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.identity_id"],
            name=op.f("fk_records_identity_id_identities"),
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_records")),
    )
    op.create_index(op.f("ix_records_change_seq"), "records", ["change_seq"], unique=False)
    op.create_index(op.f("ix_records_identity_id"), "records", ["identity_id"], unique=False)
    op.create_index(op.f("ix_records_state"), "records", ["state"], unique=False)
    op.create_table(
        "change_locks",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column(
            "change_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["pending_changes.id"],
            name=op.f("fk_change_locks_change_id_pending_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.record_id"], name=op.f("fk_change_locks_record_id_records")
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_change_locks")),
    )
    op.create_index(op.f("ix_change_locks_change_id"), "change_locks", ["change_id"], unique=False)
    op.create_table(
        "links",
        sa.Column("record_id_l", sa.String(length=64), nullable=False),
        sa.Column("record_id_r", sa.String(length=64), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("possible_multiple_birth", sa.Boolean(), nullable=False),
        sa.Column(
            "contributions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["record_id_l"], ["records.record_id"], name=op.f("fk_links_record_id_l_records")
        ),
        sa.ForeignKeyConstraint(
            ["record_id_r"], ["records.record_id"], name=op.f("fk_links_record_id_r_records")
        ),
        sa.PrimaryKeyConstraint("record_id_l", "record_id_r", name=op.f("pk_links")),
    )
    op.create_index(op.f("ix_links_record_id_r"), "links", ["record_id_r"], unique=False)
    op.create_table(
        "near_matches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("record_id_l", sa.String(length=64), nullable=False),
        sa.Column("record_id_r", sa.String(length=64), nullable=False),
        sa.Column("state_l", sa.String(length=2), nullable=False),
        sa.Column("state_r", sa.String(length=2), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("possible_multiple_birth", sa.Boolean(), nullable=False),
        sa.Column(
            "contributions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id_l"], ["records.record_id"], name=op.f("fk_near_matches_record_id_l_records")
        ),
        sa.ForeignKeyConstraint(
            ["record_id_r"], ["records.record_id"], name=op.f("fk_near_matches_record_id_r_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_near_matches")),
        sa.UniqueConstraint("record_id_l", "record_id_r", name=op.f("uq_near_matches_record_id_l")),
    )
    op.create_index(
        op.f("ix_near_matches_record_id_r"), "near_matches", ["record_id_r"], unique=False
    )
    op.create_index(op.f("ix_near_matches_state_l"), "near_matches", ["state_l"], unique=False)
    op.create_index(op.f("ix_near_matches_state_r"), "near_matches", ["state_r"], unique=False)
    op.create_index(op.f("ix_near_matches_status"), "near_matches", ["status"], unique=False)
    op.create_table(
        "judgements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("record_id_l", sa.String(length=64), nullable=False),
        sa.Column("record_id_r", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "near_match_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("change_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["pending_changes.id"],
            name=op.f("fk_judgements_change_id_pending_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["near_match_id"],
            ["near_matches.id"],
            name=op.f("fk_judgements_near_match_id_near_matches"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id_l"], ["records.record_id"], name=op.f("fk_judgements_record_id_l_records")
        ),
        sa.ForeignKeyConstraint(
            ["record_id_r"], ["records.record_id"], name=op.f("fk_judgements_record_id_r_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgements")),
    )
    op.create_index(op.f("ix_judgements_record_id_l"), "judgements", ["record_id_l"], unique=False)
    op.create_index(op.f("ix_judgements_record_id_r"), "judgements", ["record_id_r"], unique=False)


def downgrade() -> None:
    """Drop every table."""
    op.drop_index(op.f("ix_judgements_record_id_r"), table_name="judgements")
    op.drop_index(op.f("ix_judgements_record_id_l"), table_name="judgements")
    op.drop_table("judgements")
    op.drop_index(op.f("ix_near_matches_status"), table_name="near_matches")
    op.drop_index(op.f("ix_near_matches_state_r"), table_name="near_matches")
    op.drop_index(op.f("ix_near_matches_state_l"), table_name="near_matches")
    op.drop_index(op.f("ix_near_matches_record_id_r"), table_name="near_matches")
    op.drop_table("near_matches")
    op.drop_index(op.f("ix_links_record_id_r"), table_name="links")
    op.drop_table("links")
    op.drop_index(op.f("ix_change_locks_change_id"), table_name="change_locks")
    op.drop_table("change_locks")
    op.drop_index(op.f("ix_records_state"), table_name="records")
    op.drop_index(op.f("ix_records_identity_id"), table_name="records")
    op.drop_index(op.f("ix_records_change_seq"), table_name="records")
    op.drop_table("records")
    op.drop_index(op.f("ix_event_states_seq"), table_name="event_states")
    op.drop_table("event_states")
    op.drop_table("store_state")
    op.drop_table("store_meta")
    op.drop_index(op.f("ix_pending_changes_status"), table_name="pending_changes")
    op.drop_table("pending_changes")
    op.drop_index(op.f("ix_identity_lineage_related_id"), table_name="identity_lineage")
    op.drop_index(op.f("ix_identity_lineage_identity_id"), table_name="identity_lineage")
    op.drop_table("identity_lineage")
    op.drop_index(op.f("ix_identities_status"), table_name="identities")
    op.drop_table("identities")
    op.drop_index(op.f("ix_events_kind"), table_name="events")
    op.drop_index(op.f("ix_events_identity_id"), table_name="events")
    op.drop_table("events")
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("api_keys")
