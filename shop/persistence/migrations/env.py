"""Alembic environment shared by the five contexts.

Each context has its own folder of revisions (versions/<context>/) and its
own version table (alembic_version_<context>), so a context can be migrated
alone in its own database, or beside the others in the monolith's.
"""

from alembic import context
from sqlalchemy import create_engine

from shop.persistence.tables import METADATA

config = context.config
name = config.attributes["context_name"]

connectable = config.attributes.get("connection") or create_engine(
    config.get_main_option("sqlalchemy.url")
)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=METADATA[name],
        version_table=f"alembic_version_{name}",
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if hasattr(connectable, "connect"):
    with connectable.connect() as connection:
        _run(connection)
else:
    _run(connectable)
