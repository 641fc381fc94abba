"""Alembic owns the schema: up, down and up again on SQLite and PostgreSQL, and no drift from the models."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

import core.models  # noqa: F401
from core.db import Base
from tests.conftest import migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request, tmp_path):
    """An empty database of each kind: a fresh SQLite file, or a new database on DATABASE_URL's server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgresql"):
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    name = f"aula_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_have_a_single_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from tests.conftest import ROOT

    heads = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: give one a down_revision of the other"


def test_upgrade_downgrade_upgrade(scratch_url):
    migrate(scratch_url)
    engine = create_engine(scratch_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    migrate(scratch_url, "base", down=True)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(scratch_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_models_and_migrations_do_not_drift(scratch_url):
    migrate(scratch_url)
    engine = create_engine(scratch_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations; run alembic revision --autogenerate: {diff}"
