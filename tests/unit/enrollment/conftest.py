"""Hand-built grids and small generated census panels for the enrollment tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.census.columns import PANEL_SCHEMA
from ml.enrollment.panel import Grid

ACTIVE, PAUSED, CLOSED = 1, 2, 3


def grid_of(stage: str, years: list[int], schools: list[int], grades: tuple[str, ...] = (), **values) -> Grid:
    """A Grid from lists per school (one value per year, None = not reported); unnamed arrays are filled with
    what an ordinary active urban municipal school in one municipality would report."""
    n, y = len(schools), len(years)
    defaults = {
        "status": ACTIVE,
        "dependency": 3,
        "location": 1,
        "co_uf": 35,
        "co_municipio": 3550308,
        "teachers": 10,
        "classes": 5,
    }
    arrays = {}
    for name, rows in values.items():
        arrays[name] = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float32)
    for name, value in defaults.items():
        arrays.setdefault(name, np.full((n, y), value, dtype=np.float32))
    arrays.setdefault("school_total", arrays["enrollment"].copy())
    return Grid(stage, np.array(years), np.array(schools), arrays, grades)


def write_panel(folder: Path, rows_by_year: dict[int, list[dict]]) -> dict[int, Path]:
    """Parquet panel files in PANEL_SCHEMA (columns not given are NULL), one per year."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for year, rows in rows_by_year.items():
        columns = {
            field.name: pa.array([row.get(field.name) for row in rows], type=field.type) for field in PANEL_SCHEMA
        }
        for row in rows:
            row.setdefault("NU_ANO_CENSO", year)
        columns["NU_ANO_CENSO"] = pa.array([year] * len(rows), type=pa.int16())
        path = folder / f"{year}.parquet"
        pq.write_table(pa.table(columns, schema=PANEL_SCHEMA), path)
        files[year] = path
    return files


@pytest.fixture(scope="session")
def generated_panel(tmp_path_factory) -> dict[int, Path]:
    """Generated census years 2014-2023 (700 schools) read by the census reader into Parquet panel files."""
    from ml.census.store import read_year
    from ml.data.census_generator import write_census_zips

    zips = tmp_path_factory.mktemp("enrollment-zips")
    folder = tmp_path_factory.mktemp("enrollment-panel")
    files = {}
    for generated in write_census_zips(zips, range(2014, 2024), 700, seed=5):
        path = folder / f"{generated.year}.parquet"
        pq.write_table(read_year(generated.path, generated.year).table, path)
        files[generated.year] = path
    return files
