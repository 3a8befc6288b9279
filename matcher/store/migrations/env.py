"""Alembic environment: runs on the connection `matcher.store.db.upgrade` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from matcher.store.models import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    """Run migrations on an open connection (its transaction is the caller's)."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Entry point Alembic calls; offline (SQL script) mode is not supported."""
    if context.is_offline_mode():
        raise RuntimeError("studentlink migrations run online only (they open on start-up)")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = context.config.attributes["engine"]
    with engine.begin() as conn:
        run_migrations(conn)


main()
