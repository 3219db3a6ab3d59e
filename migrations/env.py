"""Alembic environment: the URL comes from the caller or LINLI_DATABASE_URL."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, make_url, pool

from service.config import get_settings
from service.db import postgres_connect_args
from service.tables import include_name, metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def _skip_empty(context_, revision, directives) -> None:  # type: ignore[no-untyped-def]
    # An autogenerate that finds no change writes no file.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []


def _configure(**kwargs) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        include_name=include_name,
        process_revision_directives=_skip_empty,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = make_url(_url())
    # Through a PgBouncer in transaction mode: no prepared statements (service.db).
    args = postgres_connect_args(get_settings()) if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=args)
    with engine.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
