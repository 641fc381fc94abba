"""Small generated census years shared by the census tests (written once per session)."""

from __future__ import annotations

import pytest

from ml.data.census_generator import GeneratedYear, write_census_zips

YEARS = (2019, 2020, 2021, 2022, 2023, 2024, 2025)
N_SCHOOLS = 600


@pytest.fixture(scope="session")
def census_zips(tmp_path_factory) -> dict[int, GeneratedYear]:
    """Year -> a generated zip: 600 active schools, 2019-2024 in the school-level layout, 2025 in six tables."""
    folder = tmp_path_factory.mktemp("census-zips")
    return {generated.year: generated for generated in write_census_zips(folder, YEARS, N_SCHOOLS, seed=11)}


@pytest.fixture
def census_db(migrated):
    """The migrated test database, bound for core.db (no web app needed); emptied after each test."""
    from core import db

    db.bind(migrated)
    return migrated
