"""One education stage's school x calendar-year grid, read from the census Parquet panel with DuckDB.

Every school ever listed gets every calendar year from the first year loaded to the last, in order, so column k
of every array is `years[k]` for every school: a lag is a step back along that axis (a calendar year, never "the
previous row"), a rolling mean runs along one school's own row (never across schools), and a year missing from
the files, a school not yet open, paused or closed, and a NULL count are all NaN, kept apart from a reported 0.
`Grid.history(t)` is the grid cut before year index t: the features of year t are built from it alone, so
nothing of the target year can reach them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.census import panel
from ml.census.columns import STAGE_BY_CODE, STAGES, Stage

ACTIVE = 1  # TP_SITUACAO_FUNCIONAMENTO: em atividade
STAGE_CODES = tuple(stage.code for stage in STAGES)
# The grade (or stage) whose students move into a stage's first grade next year, when the same school has it.
FEEDERS = {
    "INF_PRE": "QT_MAT_INF_CRE",
    "FUND_AI": "QT_MAT_INF_PRE",
    "FUND_AF": "QT_MAT_FUND_AI_5",
    "MED": "QT_MAT_FUND_AF_9",
}
# Stages whose first grade continues the previous grade of the same school (grade 5 -> 6, 9 -> secondary 1st);
# the others' first grade is an entry grade, forecast by its own trend.
CONTINUES_FEEDER = ("FUND_AF", "MED")
# Attributes of the school in each year (codes; float32 holds them exactly).
ATTRIBUTES = {
    "status": "TP_SITUACAO_FUNCIONAMENTO",
    "dependency": "TP_DEPENDENCIA",
    "location": "TP_LOCALIZACAO",
    "co_uf": "CO_UF",
    "co_municipio": "CO_MUNICIPIO",
    "school_total": "QT_MAT_BAS",
}


@dataclass(frozen=True)
class Grid:
    """(schools x years) float32 arrays by name; NaN where nothing was reported."""

    stage: str
    years: np.ndarray  # consecutive calendar years
    schools: np.ndarray  # CO_ENTIDADE, sorted
    values: dict[str, np.ndarray]
    grades: tuple[str, ...] = ()  # names in `values` of the stage's grades, in order ("grade:FUND_AF_6", ...)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def __contains__(self, name: str) -> bool:
        return name in self.values

    @property
    def n_years(self) -> int:
        return len(self.years)

    def index_of(self, year: int) -> int:
        return int(year - self.years[0])

    def history(self, t: int) -> Grid:
        """The grid before year index `t` (views, no copy): all that a forecast of year t may know."""
        if not 0 < t <= self.n_years:
            raise ValueError(f"year index {t} is outside 1..{self.n_years}")
        cut = {name: values[:, :t] for name, values in self.values.items()}
        return Grid(self.stage, self.years[:t], self.schools, cut, self.grades)


def stage_columns(stage: Stage) -> dict[str, str]:
    """Grid name -> SQL expression over the panel's INEP columns, for one stage."""
    columns = {name: inep for name, inep in ATTRIBUTES.items()}
    columns |= {"enrollment": stage.enrollment, "teachers": stage.teachers, "classes": stage.classes}
    for grade in stage.grades:
        columns[f"grade:{grade.code}"] = _sum_or_null(grade.columns)
    if stage.code in FEEDERS:
        columns["feeder"] = FEEDERS[stage.code]
    return columns


def load_grid(stage: str, *, data_dir: Path | None = None, files: dict[int, Path] | None = None) -> Grid:
    """The stage's grid over every census year loaded (or over `files`, year -> Parquet path)."""
    spec = STAGE_BY_CODE[stage]
    files = panel.panel_files(data_dir) if files is None else files
    if not files:
        raise LookupError("no census year is loaded yet: run flask --app wsgi census refresh first")
    columns = stage_columns(spec)
    select = ", ".join(f'({sql})::FLOAT AS "{name}"' for name, sql in columns.items())
    with panel.connect(files=files) as con:
        found = con.execute(f"SELECT CO_ENTIDADE, NU_ANO_CENSO, {select} FROM panel").fetchnumpy()
    years = np.arange(min(files), max(files) + 1)
    schools, row = np.unique(np.asarray(found["CO_ENTIDADE"], dtype=np.int64), return_inverse=True)
    col = np.asarray(found["NU_ANO_CENSO"], dtype=np.int64) - years[0]
    values = {}
    for name in columns:
        grid = np.full((len(schools), len(years)), np.nan, dtype=np.float32)
        grid[row, col] = np.ma.filled(np.ma.asarray(found[name], dtype=np.float32), np.nan)
        values[name] = grid
    grades = tuple(f"grade:{grade.code}" for grade in spec.grades)
    return Grid(stage, years, schools, values, grades)


def _sum_or_null(columns: tuple[str, ...]) -> str:
    """The columns' sum, NULL only when every one is NULL (a track a year's file lacks adds nothing)."""
    if len(columns) == 1:
        return columns[0]
    total = " + ".join(f"coalesce({c}, 0)" for c in columns)
    return f"CASE WHEN {' AND '.join(f'{c} IS NULL' for c in columns)} THEN NULL ELSE {total} END"
