"""Test fixtures: a migrated database (DATABASE_URL's server, or SQLite), Redis (REDIS_URL's server, or the
embedded one), an app, users per role and signed-in clients.

With DATABASE_URL / REDIS_URL set the tests run against those real servers; without them, against SQLite and
the embedded redis-server, so `make test` works on a laptop with nothing running.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"
ROLES = ("admin", "faculty", "facilities", "ministry")


@pytest.fixture(scope="session")
def data_dir():
    # Short path: the embedded Redis listens on a unix socket in here (limit ~100 characters).
    path = Path(tempfile.mkdtemp(prefix="aula-", dir="/tmp"))
    previous = os.environ.get("AULA_DATA_DIR")
    os.environ["AULA_DATA_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("AULA_DATA_DIR", None)
    else:
        os.environ["AULA_DATA_DIR"] = previous
    from jobs import redis_server

    redis_server.stop(path)  # the app starts one lazily (login throttle, queue) in tests without the redis fixture
    shutil.rmtree(path, ignore_errors=True)


def database_url_for_tests(env: Mapping[str, str], fallback: str) -> str:
    """AULA_TEST_DATABASE_URL, else DATABASE_URL if its database is named for tests, else `fallback`.

    The tests empty every table (PostgreSQL: drop the schema), so a DATABASE_URL left pointing at real data
    must stop the run, not be reset.
    """
    if env.get("AULA_TEST_DATABASE_URL"):
        return env["AULA_TEST_DATABASE_URL"]
    url = env.get("DATABASE_URL")
    if not url:
        return fallback
    name = Path(make_url(url).database or "").name  # SQLite: the file's name, not the folders above it
    if "test" not in name.lower():
        raise pytest.UsageError(
            f"refusing to run the tests against DATABASE_URL's database {name!r}: the tests erase it. "
            "Use a database whose name contains 'test', or name one in AULA_TEST_DATABASE_URL."
        )
    return url


@pytest.fixture(scope="session")
def database_url(data_dir):
    try:
        url = database_url_for_tests(os.environ, f"sqlite:///{data_dir / 'test.db'}")
    except pytest.UsageError as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:  # a clean schema: earlier runs may have left tables behind
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    os.environ["DATABASE_URL"] = url  # worker subprocesses read it
    return url


@pytest.fixture(scope="session")
def redis_url(data_dir):
    from jobs import redis_server

    url = os.environ.get("REDIS_URL")
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()
        yield url
        return
    url = redis_server.ensure_running(data_dir)
    yield url
    redis_server.stop(data_dir)


def migrate(url: str, revision: str = "head", down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    (command.downgrade if down else command.upgrade)(config, revision)


@pytest.fixture(scope="session")
def migrated(database_url):
    migrate(database_url)
    return database_url


@pytest.fixture(scope="session")
def app(migrated, redis_url, data_dir):
    from core.settings import Settings
    from webapp import create_app

    settings = Settings(database_url=migrated, redis_url=redis_url, data_dir=data_dir, scale="demo")
    app = create_app({"SETTINGS": settings, "TESTING": True})
    os.environ["REDIS_URL"] = redis_url  # the worker subprocesses and jobs.queue read it
    yield app


def empty_tables() -> None:
    from core import db
    from core.db import Base

    db.session.remove()
    with db.engine().begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(autouse=True)
def clean_tables(request):
    """Every test that touches the database leaves empty tables and empty job queues behind, except in
    `shared_data` modules, whose module fixture seeds once and empties the tables when the module is done."""
    uses_db = "app" in request.fixturenames or "migrated" in request.fixturenames
    yield
    if uses_db and request.node.get_closest_marker("shared_data") is None:
        empty_tables()
        empty_queues()


def empty_queues() -> None:
    """Jobs left queued by a test would otherwise run, against emptied tables, in the next test's worker."""
    from rq import Queue

    from jobs import queue

    for name in queue.QUEUES:
        Queue(name, connection=queue.connection()).empty()


@pytest.fixture(autouse=True)
def fresh_login_throttle(request):
    """Every test client comes from 127.0.0.1: start each test with no failed sign-ins counted."""
    if "app" in request.fixturenames:
        from jobs import queue
        from webapp.auth.throttle import KEY_PREFIX

        connection = queue.connection(queue.redis_url(request.getfixturevalue("app").config["SETTINGS"]))
        keys = list(connection.scan_iter(f"{KEY_PREFIX}*"))
        if keys:
            connection.delete(*keys)
    yield


@pytest.fixture
def users(app):
    from core import db
    from core.models import User

    created = {role: User.create(f"{role}@test.example", role, PASSWORD) for role in ROLES}
    db.session.commit()
    return created


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no csrf token on {path}"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def signed_in_clients(app, roles: tuple[str, ...], tag: str) -> dict:
    """A new user and a signed-in test client per role (`<role>-<tag>@test.example`), for a module's fixtures."""
    from core import db
    from core.models import User

    made = {}
    for role in roles:
        User.create(f"{role}-{tag}@test.example", role, PASSWORD)
        db.session.commit()
        made[role] = app.test_client()
        assert sign_in(made[role], f"{role}-{tag}@test.example").status_code == 302
    return made


@pytest.fixture
def signed_in(app, users):
    """signed_in(role) -> a test client with that role's session."""

    def make(role: str):
        client = app.test_client()
        response = sign_in(client, users[role].email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make
