"""The overcrowding task as the lifecycle sees it: observations from SQL, train/evaluate, publish risks.

It shares `occupancy_predictions` with the occupancy task (whose module docstring says how): publishing
rewrites only the `overcrowding_probability` and `overcrowding_version_id` columns of every stored forecast of
the term (occupancy's own publish fills them from the overcrowding model in production, so a new forecast
never waits for this task), and pruning clears those two columns where another version wrote them.
The limit (a share of safe capacity) is an admin setting (`ml.overcrowding.limit`), read when training.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.models import ModelVersion
from ml.data.campus_sql import load_observations
from ml.occupancy.campus_calendar import current_calendar
from ml.overcrowding.limit import current_share
from ml.registry import JoblibFormat
from ml.task import Progress, TrainResult

GATE_MARGIN = 0.01  # one point of F1 (`ml.overcrowding.model` gates with it too)


class OvercrowdingTask:
    name = "overcrowding"
    primary_metric = "f1"
    higher_is_better = True
    gate_margin = GATE_MARGIN
    artifact_format = JoblibFormat()
    published_tables = ("occupancy_predictions",)

    def load_training_data(self) -> pd.DataFrame:
        return load_observations()

    def train(self, data: pd.DataFrame, progress: Progress) -> TrainResult:
        from ml.overcrowding.model import train

        return train(data, share=current_share(), progress=progress, calendar=current_calendar())

    def evaluate(self, model: Any, data: pd.DataFrame) -> dict:
        from ml.overcrowding.model import evaluate

        return evaluate(model, data)

    def saw_evaluation_data(self, production: ModelVersion, candidate: ModelVersion) -> bool:
        """As occupancy's; a production model trained for another limit is judged on its own figures too."""
        from ml.occupancy.store import saw_weeks_from

        other_limit = production.data_summary.get("share") != candidate.data_summary.get("share")
        return other_limit or saw_weeks_from(production.data_summary, candidate.data_summary)

    def publish(self, version: ModelVersion, model: Any, progress: Progress) -> int:
        from ml.occupancy.store import publish_overcrowding

        return publish_overcrowding(version, model, progress)

    def prune(self, keep_version_ids: set[int]) -> int:
        from ml.occupancy.store import prune_overcrowding

        return prune_overcrowding(keep_version_ids)


TASK = OvercrowdingTask()
