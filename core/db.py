"""Database access shared by every domain package: one engine per URL, created
lazily, declarative bases under one naming convention, and the Alembic runner.

`engine_for(url)` caches engines so the actions, the NLU component and the
services of a process share a pool per database; nothing is created at import
time. Each domain package keeps its own tables, its own migrations directory and
its own version table in the same database (`alembic_version_<package>`), and
calls `upgrade(engine, its_migrations_dir)`.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy import orm as sa_orm
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def declarative_base() -> Any:
    """A declarative base with a MetaData of its own under the shared naming
    convention, so that each package's migrations compare against its tables only."""
    return sa_orm.declarative_base(metadata=MetaData(naming_convention=NAMING))


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead log: readers (the CLI, the staff API, the web chat's notice feed)
    never wait for the dispatcher's writes, and commits need no fsync of their own
    (synchronous=NORMAL: every commit survives a crash of the process; a power cut
    can undo the last ones, never corrupt the file)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create(url: str) -> Engine:
    """A new engine for `url` (SQLite files get their directory created)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            engine = create_engine(url, future=True)
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            # A pool of open connections (SQLAlchemy 1.4 opens and closes the file for
            # every transaction otherwise); each is used by one thread at a time.
            engine = create_engine(url, future=True, poolclass=QueuePool,
                                   connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_wal)
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    options: dict[str, Any] = {}
    if parsed.get_driver_name() == "psycopg2":
        # execute_batch for executemany UPDATEs (the broadcaster records outcomes in
        # batches): pages of statements per round trip instead of one per row.
        options["executemany_mode"] = "values_plus_batch"
    return create_engine(url, future=True, pool_pre_ping=True, **options)


def engine_for(url: str) -> Engine:
    """The shared engine for `url`, created on first use."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create(url)
            _engines[url] = engine
            logger.debug("Created engine for %s", make_url(url).render_as_string(hide_password=True))
        return engine


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, future=True, expire_on_commit=False)


def new_session(engine: Engine) -> Session:
    return Session(engine, future=True, expire_on_commit=False)


def alembic_config(migrations_dir: Path) -> Any:
    from alembic.config import Config

    config = Config(str(migrations_dir / "alembic.ini"))
    config.set_main_option("script_location", str(migrations_dir))
    return config


# Processes starting together (two dispatchers, the Rasa server and the staff API) must
# not migrate at the same time: on PostgreSQL the runner holds this advisory lock for
# the migration's transaction (SQLite serialises writers by itself).
MIGRATION_LOCK = 0x636C6F7564  # "cloud"


def upgrade(engine: Engine, migrations_dir: Path, revision: str = "head") -> None:
    """Bring the tables of `migrations_dir` up to `revision`."""
    from alembic import command

    config = alembic_config(migrations_dir)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, migrations_dir: Path, revision: str = "base") -> None:
    from alembic import command

    config = alembic_config(migrations_dir)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine, version_table: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": version_table})
        return context.get_current_revision()


def run_migration_env(target_metadata: Any, version_table: str) -> None:
    """The body of every `env.py`: programmatic use passes an open connection in
    `config.attributes["connection"]`; from the shell the URL comes from
    `sqlalchemy.url` or, when unset, from the application's Settings."""
    from alembic import context

    config = context.config

    def url() -> str:
        configured = config.get_main_option("sqlalchemy.url")
        if configured:
            return str(configured)
        from core.settings import Settings

        return Settings.from_env().database_url

    def configure(connection: Any) -> None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          version_table=version_table,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(url=url(), target_metadata=target_metadata,
                          version_table=version_table, literal_binds=True,
                          dialect_opts={"paramstyle": "named"})
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        configure(connection)
        return
    engine = create(url())
    try:
        with engine.begin() as fresh:
            configure(fresh)
    finally:
        engine.dispose()
