"""Bring a database to the newest schema of the given contexts (Alembic, per context).

python -m shop.persistence.migrate --url sqlite:///data/monolith.sqlite
python -m shop.persistence.migrate --url postgresql://.../catalog --context catalog
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from alembic import command
from alembic.config import Config

from shop.persistence.database import Database, normalize_url
from shop.persistence.tables import CONTEXTS
from shop.startup_errors import readable_errors

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str, context: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS / "versions" / context))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    config.attributes["context_name"] = context
    return config


def upgrade(url: str, contexts: Iterable[str] = CONTEXTS) -> None:
    """Apply every pending migration of each context (idempotent)."""
    database = Database(url)
    try:
        for context in contexts:
            config = alembic_config(url, context)
            with database.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
    finally:
        database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the database")
    parser.add_argument(
        "--context", action="append", choices=CONTEXTS, help="context to migrate (default: all)"
    )
    args = parser.parse_args(argv)
    contexts = args.context or list(CONTEXTS)
    with readable_errors("migrate"):
        upgrade(args.url, contexts)
    print(f"migrated {', '.join(contexts)}")


if __name__ == "__main__":
    main()
