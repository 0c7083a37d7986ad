"""The Alembic migrations build exactly the tables the code maps, per context."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from shop.persistence.database import Database
from shop.persistence.migrate import upgrade
from shop.persistence.tables import CONTEXTS, METADATA


def _not_a_version_table(name, type_, _parent) -> bool:
    return not (type_ == "table" and name.startswith("alembic_version_"))


def test_migrations_match_the_mapped_tables(database):
    with database.engine.connect() as connection:
        migration = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "target_metadata": list(METADATA.values()),
                "include_name": _not_a_version_table,
            },
        )
        diff = compare_metadata(migration, list(METADATA.values()))
    assert diff == [], f"migrations and tables.py differ: {diff}"


def test_upgrade_twice_changes_nothing(database_url):
    upgrade(database_url)
    upgrade(database_url)
    db = Database(database_url)
    try:
        tables = set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()
    for context in CONTEXTS:
        assert set(METADATA[context].tables) <= tables
        assert f"alembic_version_{context}" in tables


def test_a_context_can_live_alone_in_its_own_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'inventory.sqlite'}"
    upgrade(url, ["inventory"])
    db = Database(url)
    try:
        tables = set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()
    assert tables == {
        "inventory_stock_levels",
        "inventory_reservations",
        "inventory_inbox",
        "alembic_version_inventory",
    }
