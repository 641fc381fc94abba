"""The occupancy task as the lifecycle sees it: observations from SQL, train/evaluate, publish forecasts.

Forecasts for the coming week and the rest of the term go to `occupancy_predictions`, which the two facilities
tasks share: occupancy owns the rows (one per session and week per occupancy version: attendance and its
interval) and deletes only its own versions' rows; overcrowding owns two columns of them,
`overcrowding_probability` and `overcrowding_version_id` (see `ml.overcrowding.task`). See `ml.occupancy.store`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.models import ModelVersion
from ml.data.campus_sql import load_observations
from ml.occupancy.baselines import GATE_MARGIN
from ml.occupancy.campus_calendar import current_calendar
from ml.registry import JoblibFormat
from ml.task import Progress, TrainResult


class OccupancyTask:
    name = "occupancy"
    primary_metric = "wape"
    higher_is_better = False
    gate_margin = GATE_MARGIN
    artifact_format = JoblibFormat()
    published_tables = ("occupancy_predictions",)

    def load_training_data(self) -> pd.DataFrame:
        return load_observations()

    def train(self, data: pd.DataFrame, progress: Progress) -> TrainResult:
        from ml.occupancy.model import train

        return train(data, progress=progress, calendar=current_calendar())

    def evaluate(self, model: Any, data: pd.DataFrame) -> dict:
        from ml.occupancy.model import evaluate

        return evaluate(model, data)

    def saw_evaluation_data(self, production: ModelVersion, candidate: ModelVersion) -> bool:
        """The saved model trains and calibrates on every observed week, so it saw the candidate's test weeks
        unless they all came after its last one."""
        from ml.occupancy.store import saw_weeks_from

        return saw_weeks_from(production.data_summary, candidate.data_summary)

    def publish(self, version: ModelVersion, model: Any, progress: Progress) -> int:
        from ml.occupancy.store import publish_forecasts

        return publish_forecasts(version, model, progress)

    def prune(self, keep_version_ids: set[int]) -> int:
        from ml.occupancy.store import prune_forecasts

        return prune_forecasts(keep_version_ids)


TASK = OccupancyTask()
