"""The migrations are the schema: up, down, up again, and no drift from the models."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from service.migrate import alembic_config, downgrade, upgrade
from service.tables import include_name, made_by_migrations, metadata
from tests.conftest import BACKEND


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """A database of the current backend with nothing in it."""
    if BACKEND == "postgres":
        server = os.environ["LINLI_TEST_POSTGRES_URL"]
        name = f"linli_mig_{uuid.uuid4().hex[:10]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / 'migrations.db'}"


def _tables(url: str, *, all_tables: bool = False) -> set[str]:
    """The tables of the models (or, with all_tables, every one) in the database."""
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        return names if all_tables else {name for name in names if not made_by_migrations(name)}
    finally:
        engine.dispose()


def _drift(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_name}
            )
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database_url):
    url = empty_database_url
    upgrade(url)
    assert _tables(url) == set(metadata.tables)
    downgrade(url, "base")
    assert _tables(url, all_tables=True) == set()
    upgrade(url)
    assert _tables(url) == set(metadata.tables)


def test_each_revision_steps_down_and_up(empty_database_url):
    url = empty_database_url
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in script.walk_revisions("base", "heads")][::-1]
    for revision in revisions:
        upgrade(url, revision)
        downgrade(url, "-1")
        upgrade(url, revision)


def test_models_and_migrations_have_not_drifted(empty_database_url):
    upgrade(empty_database_url)
    assert _drift(empty_database_url) == []


def test_one_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1
