"""Stored enrollment forecasts: publishing a version's forecasts and aggregates, and the reads the ministry view needs.

`publish_forecasts` runs in a worker (on promotion, rollback, a republish, or after a census refresh): it
forecasts the year after the last census loaded for every school x stage (and each school's total, BAS), says
each forecast in words with SHAP, and writes the sums per municipality, UF and the country beside the census
history, all in one transaction. Every read below is then a few indexed rows, whatever the scale.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select

from core.db import engine, session
from core.models import EnrollmentAreaForecast, EnrollmentForecast, ModelVersion, School
from ml.census.geography import UF_BY_CODE
from ml.task import Progress

TOTAL = "BAS"  # the whole school: every stage summed
BATCH = 10_000
EXPLAIN_CHUNK = 20_000
LIST_LIMIT = 15
CSV_LIMIT = 50_000  # rows of a downloaded selection


def publish_forecasts(version: ModelVersion, model: Any, progress: Progress) -> int:
    """Forecast the year after the last census loaded with `version` and store it in one transaction; returns
    the rows written."""
    from ml.census.panel import panel_files
    from ml.enrollment.model import CensusData

    started = time.perf_counter()
    data = CensusData(panel_files())
    if not data.files:
        raise LookupError("no census year is loaded: nothing to forecast from")
    year = data.years[-1] + 1
    schools, history, arrivals = [], [], {}
    for index, (stage, fitted) in enumerate(model.stages.items()):
        progress(int(70 * index / len(model.stages)), f"forecasting {stage} for {year}")
        grid = data.grid(stage)
        schools.append(_stage_forecasts(stage, fitted, grid, year))
        history.append(_stage_history(stage, grid))
        arrivals[stage] = _newcomers(grid, year)
    progress(72, "summing schools, municipalities, UFs and the country")
    forecasts = pd.concat(schools, ignore_index=True)
    forecasts = _capacity(pd.concat([forecasts, _school_totals(forecasts, model, data)], ignore_index=True))
    areas = _areas(pd.concat(history, ignore_index=True), forecasts, arrivals, model, data, year)
    progress(80, f"storing {len(forecasts):,} school forecasts and {len(areas):,} area rows")
    session.execute(delete(EnrollmentForecast).where(EnrollmentForecast.model_version_id == version.id))
    session.execute(delete(EnrollmentAreaForecast).where(EnrollmentAreaForecast.model_version_id == version.id))
    written = _insert(EnrollmentForecast, forecasts.assign(model_version_id=version.id))
    written += _insert(EnrollmentAreaForecast, areas.assign(model_version_id=version.id))
    session.commit()
    progress(100, f"{written:,} rows in {time.perf_counter() - started:.0f} s")
    return written


def prune_forecasts(keep_version_ids: set[int]) -> int:
    """Delete the forecasts of every version not kept."""
    deleted = 0
    for table in (EnrollmentForecast, EnrollmentAreaForecast):
        deleted += session.execute(delete(table).where(table.model_version_id.not_in(keep_version_ids))).rowcount
    return deleted


# --- publishing -----------------------------------------------------------------------------------------------


def _stage_forecasts(stage: str, fitted, grid, year: int) -> pd.DataFrame:
    from ml.enrollment.explain import reasons
    from ml.enrollment.features import examples

    found = examples(grid, grid.n_years)
    forecast = fitted.forecast(found)
    lower, upper = fitted.intervals.bounds(forecast)
    start = fitted.start(found)
    words = []
    for at in range(0, len(found), EXPLAIN_CHUNK):
        part = slice(at, at + EXPLAIN_CHUNK)
        words += reasons(fitted, found.X[part], start[part], forecast[part])
    teachers, classes = found.context["teachers"].astype(np.float64), found.context["classes"].astype(np.float64)
    return pd.DataFrame(
        {
            "co_entidade": found.schools.astype(np.int64),
            "stage": stage,
            "year": year,
            "co_uf": found.context["co_uf"].astype(np.int64),
            "co_municipio": found.context["co_municipio"].astype(np.int64),
            "last": found.last_year.round().astype(np.int64),
            "forecast": forecast,
            "lower": lower,
            "upper": upper,
            "cohort": found.cohort,
            "teachers": teachers,
            "classes": classes,
            "explanation": words,
        }
    )


def _school_totals(forecasts: pd.DataFrame, model, data) -> pd.DataFrame:
    """Each school's stages summed (BAS), its interval from walk-forward sums of schools, its whole staff."""
    from ml.census.panel import connect

    totals = forecasts.groupby("co_entidade", as_index=False).agg(
        co_uf=("co_uf", "first"),
        co_municipio=("co_municipio", "first"),
        year=("year", "first"),
        last=("last", "sum"),
        forecast=("forecast", "sum"),
        cohort=("cohort", "sum"),
    )
    lower, upper = model.area_intervals["school"].bounds(totals["forecast"].to_numpy())
    with connect(files={data.years[-1]: data.files[data.years[-1]]}) as con:
        staff = con.execute(
            "SELECT CO_ENTIDADE AS co_entidade, QT_DOC_BAS::DOUBLE AS teachers, QT_TUR_BAS::DOUBLE AS classes "
            "FROM panel"
        ).df()
    totals = totals.merge(staff, on="co_entidade", how="left")
    return totals.assign(stage=TOTAL, lower=lower, upper=upper, explanation=None)


def _capacity(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Change in students, and next year's students per teacher and per class at this year's staff and classes."""
    forecast = forecasts["forecast"]
    return forecasts.assign(
        change=forecast - forecasts["last"],
        per_teacher_next=forecast / forecasts["teachers"].where(forecasts["teachers"] > 0),
        per_class_next=forecast / forecasts["classes"].where(forecasts["classes"] > 0),
    )


def _stage_history(stage: str, grid) -> pd.DataFrame:
    """Students, teachers, classes and schools with students per municipality and census year."""
    listed = np.isfinite(grid["co_municipio"])
    school, year = np.nonzero(listed)
    frame = pd.DataFrame(
        {
            "year": grid.years[year],
            "co_municipio": grid["co_municipio"][school, year].astype(np.int64),
            "enrollment": np.nan_to_num(grid["enrollment"][school, year]),
            "teachers": np.nan_to_num(grid["teachers"][school, year]),
            "classes": np.nan_to_num(grid["classes"][school, year]),
        }
    )
    frame["schools"] = (frame["enrollment"] > 0).astype(np.int64)
    return frame.groupby(["year", "co_municipio"], as_index=False).sum().assign(stage=stage)


def _newcomers(grid, year: int) -> pd.Series:
    from ml.enrollment.features import expected_newcomers, newcomers

    return expected_newcomers(newcomers(grid), year)


def _areas(history, forecasts, arrivals, model, data, year: int) -> pd.DataFrame:
    """Rows of `enrollment_area_forecasts`: every census year counted and next year forecast, per
    municipality, UF and the country, per stage and for all stages (BAS)."""
    from ml.census.panel import connect

    stages = forecasts[forecasts["stage"] != TOTAL]
    stages = stages.assign(schools=(stages["forecast"] >= 0.5).astype(np.int64))  # forecast to have students
    ahead = stages.groupby(["co_municipio", "stage"])[["forecast", "cohort", "schools"]].sum()
    newcomers = pd.concat(arrivals, names=["stage", "co_municipio"]).swaplevel().rename("newcomers")
    ahead = ahead.join(newcomers, how="outer").fillna(0.0)
    ahead["forecast"] += ahead["newcomers"]
    ahead["cohort"] += ahead["newcomers"]
    ahead = ahead.drop(columns="newcomers").reset_index().assign(year=year)
    counted = history.copy()
    with connect(files=data.files) as con:  # the whole school's staff (a teacher of two stages counts once)
        staff = con.execute(
            "SELECT NU_ANO_CENSO::INTEGER AS year, CO_MUNICIPIO::BIGINT AS co_municipio, sum(QT_DOC_BAS)::DOUBLE "
            "AS teachers, sum(QT_TUR_BAS)::DOUBLE AS classes, count_if(QT_MAT_BAS > 0)::DOUBLE AS schools "
            "FROM panel GROUP BY 1, 2"
        ).df()
    total_counted = counted.groupby(["year", "co_municipio"], as_index=False)[["enrollment"]].sum()
    total_counted = total_counted.merge(staff, on=["year", "co_municipio"], how="left").assign(stage=TOTAL)
    counted = pd.concat([counted, total_counted], ignore_index=True)
    total_ahead = ahead.groupby(["co_municipio", "year"], as_index=False)[["forecast", "cohort", "schools"]].sum()
    ahead = pd.concat([ahead, total_ahead.assign(stage=TOTAL)], ignore_index=True)
    ahead["schools"] = np.where(ahead["stage"] == TOTAL, np.nan, ahead["schools"])
    rows = []
    names = _municipality_names()
    for level in ("municipality", "uf", "country"):
        key = {
            "municipality": lambda f: f["co_municipio"],
            "uf": lambda f: f["co_municipio"] // 100_000,
            "country": lambda f: f["co_municipio"] * 0,
        }[level]
        past = (
            counted.assign(code=key(counted))
            .groupby(["code", "stage", "year"], as_index=False)[["enrollment", "teachers", "classes", "schools"]]
            .sum(min_count=1)
        )
        future = (
            ahead.assign(code=key(ahead))
            .groupby(["code", "stage", "year"], as_index=False)[["forecast", "cohort", "schools"]]
            .sum(min_count=1)
        )
        total = (future["stage"] == TOTAL).to_numpy()
        lower, upper = np.empty(len(future)), np.empty(len(future))
        for kind, rows_of_kind in (("total", total), ("stage", ~total)):
            calibrator = model.area_intervals[f"{level}:{kind}"]
            lower[rows_of_kind], upper[rows_of_kind] = calibrator.bounds(future["forecast"].to_numpy()[rows_of_kind])
        future = future.assign(lower=lower, upper=upper)
        both = pd.concat([past, future], ignore_index=True).assign(level=level)
        both["co_uf"] = both["code"] // 100_000 if level == "municipality" else both["code"]
        both["name"] = _area_names(level, both["code"], names)
        rows.append(both)
    out = pd.concat(rows, ignore_index=True)
    out["enrollment"] = out["enrollment"].round()
    return out


def _municipality_names() -> dict[int, str]:
    rows = session.execute(select(School.co_municipio, func.max(School.municipality)).group_by(School.co_municipio))
    return {int(code): name or "" for code, name in rows}


def _area_names(level: str, codes: pd.Series, municipalities: dict[int, str]) -> pd.Series:
    if level == "country":
        return pd.Series("Brasil", index=codes.index)
    if level == "uf":
        return codes.map(lambda c: UF_BY_CODE[int(c)].sigla if int(c) in UF_BY_CODE else str(c))
    return codes.map(lambda c: municipalities.get(int(c), str(c)))


def _insert(model, frame: pd.DataFrame) -> int:
    """Bulk insert of the frame's columns that the table has (NaN as NULL), a batch at a time through the
    driver's executemany: at a country's half a million rows, per-row dicts would cost more than the database."""
    table = model.__table__
    columns = [c.key for c in table.columns if c.key in frame.columns]
    connection = session.connection()
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=columns)
    order = list(compiled.positiontup) if compiled.positional else columns
    for start in range(0, len(frame), BATCH):
        part = frame.iloc[start : start + BATCH][order]
        part = part.astype(object).where(part.notna(), None)
        rows = list(part.itertuples(index=False, name=None))
        params = rows if compiled.positional else [dict(zip(order, row, strict=True)) for row in rows]
        connection.exec_driver_sql(compiled.string, params)
    return len(frame)


# --- reads for the ministry view -----------------------------------------------------------------------------


def forecast_year(version_id: int) -> int | None:
    return session.scalar(
        select(func.max(EnrollmentAreaForecast.year)).where(
            EnrollmentAreaForecast.model_version_id == version_id, EnrollmentAreaForecast.level == "country"
        )
    )


def ufs(version_id: int) -> list[tuple[int, str]]:
    return _areas_of(version_id, "uf")


def municipalities(version_id: int, co_uf: int) -> list[tuple[int, str]]:
    return _areas_of(version_id, "municipality", co_uf)


def schools_in(version_id: int, co_municipio: int) -> list[tuple[int, str]]:
    """The schools of a municipality with a forecast, by name."""
    f = EnrollmentForecast
    rows = session.execute(
        select(f.co_entidade, School.name)
        .join(School, School.co_entidade == f.co_entidade, isouter=True)
        .where(f.model_version_id == version_id, f.co_municipio == co_municipio, f.stage == TOTAL)
        .order_by(School.name, f.co_entidade)
    )
    return [(int(code), name or str(code)) for code, name in rows]


def area_series(version_id: int, level: str, code: int, stage: str) -> pd.DataFrame:
    """One area's stage year by year: counted, then next year's forecast with its interval."""
    a = EnrollmentAreaForecast
    query = (
        select(a.year, a.enrollment, a.forecast, a.lower, a.upper, a.cohort, a.teachers, a.classes, a.schools)
        .where(a.model_version_id == version_id, a.level == level, a.code == code, a.stage == stage)
        .order_by(a.year)
    )
    return _frame(query)


def area_stages(version_id: int, level: str, code: int, years: tuple[int, int]) -> pd.DataFrame:
    """Every stage of one area in two years (this year counted, next year forecast)."""
    a = EnrollmentAreaForecast
    query = select(
        a.stage, a.year, a.name, a.enrollment, a.forecast, a.lower, a.upper, a.cohort, a.teachers, a.classes
    ).where(a.model_version_id == version_id, a.level == level, a.code == code, a.year.in_(years))
    return _frame(query)


def movers(
    version_id: int,
    stage: str,
    *,
    co_uf: int | None = None,
    co_municipio: int | None = None,
    growth: bool = True,
    limit: int = LIST_LIMIT,
) -> pd.DataFrame:
    """The schools with the largest forecast growth (or decline) in students, within an area."""
    f = EnrollmentForecast
    order = f.change.desc() if growth else f.change.asc()
    return _schools_query(version_id, stage, co_uf, co_municipio, order, limit)


def crowded(
    version_id: int, stage: str, *, co_uf: int | None = None, co_municipio: int | None = None, limit: int = LIST_LIMIT
) -> pd.DataFrame:
    """The schools whose forecast students per class (at this year's number of classes) is highest."""
    f = EnrollmentForecast
    order = f.per_class_next.desc()
    return _schools_query(version_id, stage, co_uf, co_municipio, order, limit, f.per_class_next.is_not(None))


def school_forecasts(version_id: int, co_entidade: int) -> pd.DataFrame:
    f = EnrollmentForecast
    query = select(
        f.stage, f.year, f.last, f.forecast, f.lower, f.upper, f.cohort, f.teachers, f.classes, f.explanation
    ).where(f.model_version_id == version_id, f.co_entidade == co_entidade)
    return _frame(query)


def school_history(co_entidade: int, stages: list[str]) -> pd.DataFrame:
    """A school's students per stage in every census year loaded (from the Parquet panel)."""
    from ml.census.columns import STAGE_BY_CODE
    from ml.census.panel import connect

    columns = ", ".join(f'{STAGE_BY_CODE[s].enrollment} AS "{s}"' for s in stages if s in STAGE_BY_CODE)
    if not columns:
        return pd.DataFrame({"year": []})
    with connect() as con:
        return con.execute(
            f"SELECT NU_ANO_CENSO AS year, {columns} FROM panel WHERE CO_ENTIDADE = ? ORDER BY 1", [co_entidade]
        ).df()


def school(co_entidade: int) -> School | None:
    return session.get(School, co_entidade)


def _schools_query(version_id, stage, co_uf, co_municipio, order, limit, *conditions) -> pd.DataFrame:
    f = EnrollmentForecast
    query = (
        select(
            f.co_entidade,
            School.name,
            School.municipality,
            School.uf,
            f.last,
            f.forecast,
            f.lower,
            f.upper,
            f.change,
            f.teachers,
            f.classes,
            f.per_teacher_next,
            f.per_class_next,
        )
        .join(School, School.co_entidade == f.co_entidade, isouter=True)
        .where(f.model_version_id == version_id, f.stage == stage, *conditions)
        .order_by(order)
        .limit(limit)
    )
    if co_municipio is not None:
        query = query.where(f.co_municipio == co_municipio)
    elif co_uf is not None:
        query = query.where(f.co_uf == co_uf)
    return _frame(query)


def _areas_of(version_id: int, level: str, co_uf: int | None = None) -> list[tuple[int, str]]:
    a = EnrollmentAreaForecast
    query = select(a.code, a.name).where(a.model_version_id == version_id, a.level == level, a.stage == TOTAL)
    if co_uf is not None:
        query = query.where(a.co_uf == co_uf)
    rows = session.execute(query.group_by(a.code, a.name).order_by(a.name))
    return [(int(code), name) for code, name in rows]


def _frame(query) -> pd.DataFrame:
    with engine().connect() as conn:
        return pd.read_sql(query, conn)
