"""Where the school x year panel lives (one Parquet file per census year) and how to query it with DuckDB.

Layout: `AULA_DATA_DIR/census/panel/<year>.parquet`, each in `PANEL_SCHEMA` (INEP's column names), one row per
school listed that year. A query sees the view `panel` over every year loaded:

    panel.query("SELECT NU_ANO_CENSO, sum(QT_MAT_FUND_AI) FROM panel GROUP BY 1 ORDER BY 1")
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from core.settings import Settings
from ml.census.columns import PANEL_SCHEMA

PANEL_FILE = re.compile(r"^(\d{4})\.parquet$")
DUCKDB_MEMORY_LIMIT = "1GB"  # a query over every year stays inside the ingest's memory budget


def census_dir(data_dir: Path | None = None) -> Path:
    return Path(data_dir or Settings.from_env().data_dir) / "census"


def panel_dir(data_dir: Path | None = None) -> Path:
    return census_dir(data_dir) / "panel"


def year_path(year: int, data_dir: Path | None = None) -> Path:
    return panel_dir(data_dir) / f"{year}.parquet"


def panel_files(data_dir: Path | None = None) -> dict[int, Path]:
    """Census year -> its Parquet file, for every year loaded."""
    folder = panel_dir(data_dir)
    if not folder.is_dir():
        return {}
    found = {int(m.group(1)): path for path in folder.iterdir() if (m := PANEL_FILE.match(path.name))}
    return dict(sorted(found.items()))


def years_loaded(data_dir: Path | None = None) -> list[int]:
    return list(panel_files(data_dir))


@contextlib.contextmanager
def connect(data_dir: Path | None = None, *, files: dict[int, Path] | None = None) -> Iterator:
    """A DuckDB connection with the view `panel` over every year loaded (or over `files`)."""
    import duckdb

    files = panel_files(data_dir) if files is None else files
    # DuckDB spills to a ".tmp" folder in the working directory unless told otherwise: keep it in the instance.
    spill = census_dir(data_dir) / "duckdb-tmp"
    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": str(spill)})
    try:
        if files:
            paths = ", ".join(_quote(path) for path in files.values())
            con.execute(f"CREATE VIEW panel AS SELECT * FROM read_parquet([{paths}], union_by_name = true)")
        else:  # nothing loaded yet: queries answer with no rows rather than fail
            con.register("panel", PANEL_SCHEMA.empty_table())
        yield con
    finally:
        con.close()


def query(sql: str, params: list | None = None, *, data_dir: Path | None = None) -> pd.DataFrame:
    """Run `sql` against the view `panel`; a frame of the result."""
    with connect(data_dir) as con:
        return con.execute(sql, params or []).df()


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
