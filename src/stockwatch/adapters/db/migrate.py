"""Alembic migrations, run from code: ``stockwatch db upgrade`` and the daemon's auto-upgrade."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from stockwatch.adapters.db.tables import metadata

if TYPE_CHECKING:  # Alembic (with Mako and Pygments) loads only when there is work to do
    from alembic.config import Config as AlembicConfig


def migrations_dir() -> Path:
    return Path(str(resources.files("stockwatch") / "adapters" / "db_migrations"))


def newest_revision() -> str:
    """The head revision as the files name it (``0009_….py`` holds revision ``0009``).

    Read without Alembic: a daemon whose database is already current skips importing it
    (~150 ms of its start). A contract test checks this agrees with Alembic's own head.
    """
    names = (p.name for p in (migrations_dir() / "versions").glob("[0-9]*_*.py"))
    return max(name.split("_", 1)[0] for name in names)


def stored_revision(engine: Engine) -> str | None:
    """The database's revision from ``alembic_version``; None when it has none (or no table)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return None
    return str(rows[0]) if len(rows) == 1 else None


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser interpolates %: a URL-encoded password or option must be escaped.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``revision``; return (revision before, revision after).

    A database whose tables were made by ``metadata.create_all`` (the other CLI commands'
    ``open_engine`` do that) has no revision yet but the current schema: it is stamped at head
    instead of failing on "table already exists".
    """
    if revision == "head":
        stored = stored_revision(engine)
        if stored is not None and stored == newest_revision():
            return stored, stored  # already current: nothing to import, nothing to run
    from alembic import command

    before = current_revision(engine)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if before is None and revision == "head" and _has_current_tables(conn):
            command.stamp(cfg, "head")
        else:
            command.upgrade(cfg, revision)
    return before, current_revision(engine)


def _has_current_tables(conn: Connection) -> bool:
    present = set(inspect(conn).get_table_names())
    return bool(present) and set(metadata.tables) <= present


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)
