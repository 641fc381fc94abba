"""Stored forecasts (`occupancy_predictions`): publishing and pruning of both facilities tasks, and their reads.

How the two tasks share the table:

- occupancy owns the rows: for each class session with a room in the current term, one row per week from the
  coming week to the end of term per occupancy version (attendance, lower and upper bound). `publish_forecasts`
  rewrites its version's rows in one transaction and fills the overcrowding columns with the overcrowding model
  in production, so a new forecast is whole at once; `prune_forecasts` deletes the rows of other versions.
- overcrowding owns two columns of those rows, `overcrowding_probability` and `overcrowding_version_id`:
  `publish_overcrowding` rewrites them on every stored row of the term, whichever occupancy version wrote it,
  and `prune_overcrowding` clears them where another overcrowding version wrote them.

Forecasts are made as of the last observed week; the rows name the session, not its room: the view reads each
session's room (capacity, safe capacity) now, and a reassignment queues an occupancy republish, since a room's
size is one of the features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select, update

from core.db import analyze, session, transaction
from core.models import (
    AttendanceObservation,
    Building,
    ClassSession,
    ImportBatch,
    ModelVersion,
    OccupancyPrediction,
    Term,
    Venue,
)
from ml import registry
from ml.data.academic_sql import term_positions
from ml.data.campus import ROOM_COLUMNS, SECTION_COLUMNS
from ml.data.campus_sql import coming_week, load_observations, load_timetable, room_fields, section_fields
from ml.occupancy.features import Calendar
from ml.task import Progress

BATCH = 5000
STORED_COLUMNS = (
    "session_id",
    *SECTION_COLUMNS,
    "weekday",
    "slot",
    *ROOM_COLUMNS,
    "week",
    "forecast",
    "lower",
    "upper",
    "probability",
)


@dataclass(frozen=True)
class Horizon:
    """The weeks to forecast: `weeks` of `term_code`, as of its last observed week `as_of`."""

    term_code: str
    as_of: int
    weeks: tuple[int, ...]

    @property
    def coming(self) -> int:
        return self.as_of + 1


def forecast_horizon(calendar: Calendar | None = None) -> Horizon | None:
    """From the coming week (`ml.data.campus_sql.coming_week`) to the end of its term (None: no timetable)."""
    coming = coming_week()
    if coming is None:
        return None
    term_code, week = coming
    stored_weeks = session.scalar(select(Term.weeks).where(Term.code == term_code))
    last = stored_weeks or (calendar or Calendar()).term_weeks
    return Horizon(term_code, week - 1, tuple(range(week, last + 1)))


def rows_to_forecast(horizon: Horizon) -> pd.DataFrame:
    """Every session of the term with a room, once per week of the horizon, as rows to forecast."""
    timetable = load_timetable(horizon.term_code)
    timetable = timetable[timetable["venue_code"].notna()].reset_index(drop=True)
    if timetable.empty or not horizon.weeks:
        return timetable.iloc[:0].assign(term_index=0, week=0, as_of=0)
    n_weeks = len(horizon.weeks)
    rows = timetable.loc[timetable.index.repeat(n_weeks)].reset_index(drop=True)
    rows["week"] = np.tile(np.array(horizon.weeks, dtype=np.int64), len(timetable))
    rows["as_of"] = horizon.as_of
    rows["term_index"] = term_positions()[horizon.term_code]
    return rows


def publish_forecasts(version: ModelVersion, model: Any, progress: Progress) -> int:
    """Forecast the rest of the term with `version` and store its rows in one transaction; returns rows written."""
    horizon = forecast_horizon(model.builder.calendar)
    progress(5, "reading the observations")
    observations = load_observations()
    rows = rows_to_forecast(horizon) if horizon else pd.DataFrame()
    progress(30, f"forecasting {len(rows):,} sessions x weeks")
    forecast = model.forecast(rows, model.builder.history(observations)) if len(rows) else pd.DataFrame()
    probability, overcrowding_id = _production_overcrowding(rows, observations)
    progress(70, "storing the forecasts")
    records = [
        {
            "model_version_id": version.id,
            "session_id": int(session_id),
            "week": int(week),
            "attendance": round(float(attendance), 2),
            "lower": round(float(lower), 2),
            "upper": round(float(upper), 2),
            "overcrowding_probability": None if p is None else round(float(p), 4),
            "overcrowding_version_id": overcrowding_id,
        }
        for session_id, week, attendance, lower, upper, p in zip(
            rows.get("session_id", []),
            rows.get("week", []),
            forecast.get("attendance", []),
            forecast.get("lower", []),
            forecast.get("upper", []),
            probability if probability is not None else [None] * len(rows),
            strict=True,
        )
    ]
    with transaction():
        session.execute(delete(OccupancyPrediction).where(OccupancyPrediction.model_version_id == version.id))
        for start in range(0, len(records), BATCH):
            session.execute(insert(OccupancyPrediction), records[start : start + BATCH])
    analyze(["occupancy_predictions"])
    return len(records)


def publish_overcrowding(version: ModelVersion, model: Any, progress: Progress) -> int:
    """Rewrite the overcrowding columns of every stored forecast of the term with `version`; returns rows."""
    horizon = forecast_horizon(model.builder.calendar)
    if horizon is None:
        return 0
    progress(5, "reading the stored forecasts")
    stored = pd.read_sql(
        select(OccupancyPrediction.id, OccupancyPrediction.session_id, OccupancyPrediction.week)
        .join(ClassSession, ClassSession.id == OccupancyPrediction.session_id)
        .join(Term, Term.id == ClassSession.term_id)
        .where(Term.code == horizon.term_code),
        session.connection(),
    )
    timetable = load_timetable(horizon.term_code)
    rows = stored.merge(timetable[timetable["venue_code"].notna()], on="session_id", how="inner")
    if rows.empty:
        return 0
    rows["as_of"] = np.minimum(horizon.as_of, rows["week"].to_numpy(dtype=np.int64) - 1)
    rows["term_index"] = term_positions()[horizon.term_code]
    progress(30, f"scoring {len(rows):,} stored forecasts")
    probability = model.probability(rows, model.builder.history(load_observations()))
    updates = [
        {"id": int(i), "overcrowding_probability": round(float(p), 4), "overcrowding_version_id": version.id}
        for i, p in zip(rows["id"], probability, strict=True)
    ]
    progress(70, "storing the risks")
    with transaction():
        for start in range(0, len(updates), BATCH):
            session.execute(update(OccupancyPrediction), updates[start : start + BATCH])
    return len(updates)


def prune_forecasts(keep_version_ids: set[int]) -> int:
    """Delete the forecast rows of every occupancy version not kept."""
    result = session.execute(
        delete(OccupancyPrediction).where(OccupancyPrediction.model_version_id.not_in(keep_version_ids))
    )
    return result.rowcount


def prune_overcrowding(keep_version_ids: set[int]) -> int:
    """Clear the overcrowding columns that a version not kept wrote."""
    result = session.execute(
        update(OccupancyPrediction)
        .where(
            OccupancyPrediction.overcrowding_version_id.is_not(None),
            OccupancyPrediction.overcrowding_version_id.not_in(keep_version_ids),
        )
        .values(overcrowding_probability=None, overcrowding_version_id=None)
    )
    return result.rowcount


def saw_weeks_from(production_summary: dict, candidate_summary: dict) -> bool:
    """Whether a model whose data ran to `production_summary["last"]` saw the candidate's first test week."""
    last, test_from = production_summary.get("last"), candidate_summary.get("test_from")
    if not last or not test_from:
        return True
    positions = term_positions()

    def when(point: dict) -> tuple[int, int]:
        return positions.get(point.get("term_code"), -1), int(point.get("week", 0))

    return when(last) >= when(test_from)


def stored_forecasts(version_id: int, term_code: str, week: int) -> pd.DataFrame:
    """The stored forecasts of one week with each session's room now (`STORED_COLUMNS`)."""
    p, s, v = OccupancyPrediction, ClassSession, Venue
    query = (
        select(
            p.session_id,
            *section_fields(),
            s.weekday,
            s.slot,
            *room_fields(),
            p.week,
            p.attendance.label("forecast"),
            p.lower,
            p.upper,
            p.overcrowding_probability.label("probability"),
        )
        .join(s, s.id == p.session_id)
        .join(Term, Term.id == s.term_id)
        .join(v, v.id == s.venue_id)
        .join(Building, Building.id == v.building_id)
        .where(p.model_version_id == version_id, p.week == week, Term.code == term_code)
        .order_by(s.weekday, s.slot, v.code)
    )
    frame = pd.read_sql(query, session.connection())
    for column in ("needs_accessible", "accessible"):
        frame[column] = frame[column].astype(bool)
    for column in ("forecast", "lower", "upper", "probability"):
        frame[column] = frame[column].astype(float)
    return frame[list(STORED_COLUMNS)]


def stored_weeks(version_id: int, term_code: str) -> list[int]:
    query = (
        select(OccupancyPrediction.week)
        .join(ClassSession, ClassSession.id == OccupancyPrediction.session_id)
        .join(Term, Term.id == ClassSession.term_id)
        .where(OccupancyPrediction.model_version_id == version_id, Term.code == term_code)
        .distinct()
    )
    return sorted(int(w) for w in session.scalars(query))


def weekly_forecast_totals(version_id: int, term_code: str, building: str | None = None) -> pd.DataFrame:
    """Per stored week: forecast attendance, its bounds and the seats of the rooms (for the term's trend)."""
    p, s, v = OccupancyPrediction, ClassSession, Venue
    query = (
        select(
            p.week,
            func.sum(p.attendance).label("attendance"),
            func.sum(p.lower).label("lower"),
            func.sum(p.upper).label("upper"),
            func.sum(v.capacity).label("capacity"),
            func.sum(s.registered).label("registered"),
        )
        .join(s, s.id == p.session_id)
        .join(Term, Term.id == s.term_id)
        .join(v, v.id == s.venue_id)
        .where(p.model_version_id == version_id, Term.code == term_code)
        .group_by(p.week)
        .order_by(p.week)
    )
    if building:
        query = query.join(Building, Building.id == v.building_id).where(Building.code == building)
    return pd.read_sql(query, session.connection()).astype(float)


def data_version() -> tuple:
    """Changes whenever observations, the timetable, the rooms or an import change (cheap index lookups)."""
    return (
        session.scalar(select(func.max(AttendanceObservation.id))),
        str(session.scalar(select(func.max(ClassSession.updated_at)))),
        session.scalar(select(func.max(ClassSession.id))),
        session.scalar(select(func.max(Venue.id))),
        session.scalar(select(func.max(ImportBatch.id))),
    )


def _production_overcrowding(rows: pd.DataFrame, observations: pd.DataFrame) -> tuple[np.ndarray | None, int | None]:
    """The overcrowding model in production's probabilities of the rows (None, None when there is none)."""
    loaded = registry.load_production("overcrowding") if len(rows) else None
    if loaded is None:
        return None, None
    model = loaded.model
    return model.probability(rows, model.builder.history(observations)), loaded.version.id
