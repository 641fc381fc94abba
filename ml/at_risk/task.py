"""The at-risk task as the lifecycle sees it: data from SQL, train/evaluate, publish stored predictions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.models import ModelVersion
from ml.at_risk.baselines import GATE_MARGIN
from ml.data.academic_sql import academic_calendar, known_weeks, load_records
from ml.registry import JoblibFormat
from ml.task import Progress, TrainResult


@dataclass
class AcademicTrainingData:
    """Every stored record, the week each field is known from, and the institution's checkpoint weeks."""

    records: pd.DataFrame
    known_weeks: dict[str, int | None]
    checkpoint_weeks: list[int]


class AtRiskTask:
    name = "at_risk"
    primary_metric = "pr_auc"
    higher_is_better = True
    gate_margin = GATE_MARGIN
    artifact_format = JoblibFormat()
    published_tables = ("risk_predictions",)

    def load_training_data(self) -> AcademicTrainingData:
        return AcademicTrainingData(
            load_records(with_ids=False), known_weeks(), academic_calendar()["checkpoint_weeks"]
        )

    def train(self, data: AcademicTrainingData, progress: Progress) -> TrainResult:
        from ml.at_risk.model import train

        return train(
            data.records, known_weeks=data.known_weeks, checkpoint_weeks=data.checkpoint_weeks, progress=progress
        )

    def evaluate(self, model: Any, data: AcademicTrainingData) -> dict:
        from ml.at_risk.model import evaluate

        return evaluate(model, data.records)

    def saw_evaluation_data(self, production: ModelVersion, candidate: ModelVersion) -> bool:
        """The saved model is refitted on every past term, its evaluation term included."""
        seen = {*production.data_summary.get("train_terms", []), production.data_summary.get("evaluation_term")}
        return candidate.data_summary.get("evaluation_term") in seen

    def publish(self, version: ModelVersion, model: Any, progress: Progress) -> int:
        from ml.at_risk.store import publish_predictions

        return publish_predictions(version, model, progress)

    def prune(self, keep_version_ids: set[int]) -> int:
        from ml.at_risk.store import prune_predictions

        return prune_predictions(keep_version_ids)


TASK = AtRiskTask()
