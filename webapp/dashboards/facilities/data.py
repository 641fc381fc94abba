"""What the facilities callbacks read (production versions, the horizon, stored forecasts) and the one place that
asks for the forecasts to be rewritten after a change."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from core.models import ModelVersion
from jobs import queue, tasks
from ml import registry
from ml.data.campus import SLOT_STARTS, WEEKDAYS
from ml.data.campus_sql import load_buildings
from ml.occupancy import store
from ml.occupancy.store import Horizon

if TYPE_CHECKING:
    from ml.data.campus_import import CampusImport
    from ml.occupancy.model import OccupancyModel
    from ml.overcrowding.model import OvercrowdingModel

OCCUPANCY, OVERCROWDING = "occupancy", "overcrowding"


def occupancy_version() -> ModelVersion | None:
    return ModelVersion.production(OCCUPANCY)


def overcrowding_version() -> ModelVersion | None:
    return ModelVersion.production(OVERCROWDING)


def horizon() -> Horizon | None:
    return store.forecast_horizon()


def production_models() -> tuple[OccupancyModel | None, OvercrowdingModel | None]:
    """(occupancy model, overcrowding model), each loaded once per process; None where none is in production."""
    occupancy, overcrowding = registry.load_production(OCCUPANCY), registry.load_production(OVERCROWDING)
    return (occupancy.model if occupancy else None), (overcrowding.model if overcrowding else None)


def forecasts(week: int) -> pd.DataFrame:
    """The stored forecasts of a week of the current term, each session in its room now (empty: none stored)."""
    version, now = occupancy_version(), horizon()
    if version is None or now is None:
        return pd.DataFrame(columns=list(store.STORED_COLUMNS))
    return store.stored_forecasts(version.id, now.term_code, week)


def forecast_weeks() -> list[int]:
    version, now = occupancy_version(), horizon()
    return store.stored_weeks(version.id, now.term_code) if version and now else []


def limit_share() -> float:
    """The limit of the overcrowding model in production (the admin's current setting takes effect on retraining)."""
    version = overcrowding_version()
    return float(version.params.get("share", 1.0)) if version else 1.0


def alert_threshold() -> float | None:
    version = overcrowding_version()
    return float(version.params["threshold"]) if version and "threshold" in version.params else None


def buildings() -> list[dict]:
    frame = load_buildings()
    return [
        {"label": f"{row.building_code} · {row.name}" if row.name else row.building_code, "value": row.building_code}
        for row in frame.itertuples()
    ]


def when(weekday: int, slot: int) -> str:
    day = WEEKDAYS[weekday] if 0 <= weekday < len(WEEKDAYS) else f"day {weekday}"
    return f"{day} {SLOT_STARTS[slot] if 0 <= slot < len(SLOT_STARTS) else slot}"


def request_republish(requested_by: str, reason: str) -> str:
    """Queue the rewrite of the stored forecasts (occupancy's publish also rescores overcrowding) and say when
    the view will show it."""
    if occupancy_version() is None:
        return "No occupancy model is in production yet: retrain occupancy from the admin page to forecast from it."
    try:
        run = tasks.request_publish(OCCUPANCY, requested_by, reason)
    except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
        return f"The forecasts could not be rewritten now ({exc}); an admin can republish occupancy."
    if run.kind == f"publish {OCCUPANCY}":
        return f"The forecasts are being rewritten (job {run.id}); they show the change in a minute."
    return f"The forecasts are rewritten once {run.kind} (job {run.id}) finishes."


def republish_after_import(report: CampusImport, requested_by: str) -> str:
    """After a stored campus import: rewrite the forecasts when it touched the term they are for (venues always:
    a room's size is a feature), else say how the models learn from it."""
    if not report.stored:
        return ""
    now = horizon()
    if report.kind == "venues" or (now is not None and now.term_code in report.terms):
        return request_republish(requested_by, f"{report.kind} imported (batch {report.batch_id})")
    return "Retrain occupancy and overcrowding from the admin page to learn from them."
