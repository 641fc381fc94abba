"""The tests erase their database, so they refuse one whose name does not say it is for tests."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, database_url_for_tests

FALLBACK = "sqlite:////tmp/aula-x/test.db"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg://aula@db/aula_test",
        "postgresql://ci@localhost/Testing",
        "sqlite:////tmp/aula-1/test.db",
    ],
)
def test_a_database_named_for_tests_is_used(url):
    assert database_url_for_tests({"DATABASE_URL": url}, FALLBACK) == url


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://aula@db/aula", "postgresql://aula@db/", "sqlite:////srv/tests/aula.db"]
)
def test_any_other_database_is_refused(url):
    with pytest.raises(pytest.UsageError, match="refusing to run the tests against DATABASE_URL"):
        database_url_for_tests({"DATABASE_URL": url}, FALLBACK)


def test_aula_test_database_url_wins_over_database_url():
    env = {"DATABASE_URL": "postgresql://aula@db/aula", "AULA_TEST_DATABASE_URL": "postgresql://aula@db/scratch"}
    assert database_url_for_tests(env, FALLBACK) == "postgresql://aula@db/scratch"


def test_without_either_the_tests_use_their_own_sqlite_file():
    assert database_url_for_tests({}, FALLBACK) == FALLBACK


def test_pytest_stops_before_touching_a_real_database(tmp_path):
    real = tmp_path / "aula.db"
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "AULA_DATA_DIR")}
    env.pop("AULA_TEST_DATABASE_URL", None)
    env["DATABASE_URL"] = f"sqlite:///{real}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/integration/test_auth.py::test_probes", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "refusing to run the tests against DATABASE_URL" in result.stdout + result.stderr
    assert not real.exists()
