"""The enrollment task as the lifecycle sees it: the census panel, walk-forward training, published forecasts.

Publishing writes next year's forecast per school x stage and the aggregates the ministry view reads
(`ml.enrollment.store`); a census refresh asks for it again (`jobs.census`), so the forecasts always start
from the latest year loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.models import ModelVersion
from ml.enrollment.artifact import EnsembleFormat
from ml.task import Progress, TrainResult

if TYPE_CHECKING:
    from ml.enrollment.model import CensusData

GATE_MARGIN = 0.002  # a fifth of a percentage point of WAPE


class EnrollmentTask:
    name = "enrollment"
    primary_metric = "wape"
    higher_is_better = False
    gate_margin = GATE_MARGIN
    artifact_format = EnsembleFormat()
    published_tables = ("enrollment_forecasts", "enrollment_area_forecasts")

    def load_training_data(self) -> CensusData:
        from ml.census.panel import panel_files
        from ml.enrollment.model import CensusData

        files = panel_files()
        if not files:
            raise LookupError("no census year is loaded: run flask --app wsgi census refresh --years A-B first")
        return CensusData(files)

    def train(self, data: CensusData, progress: Progress) -> TrainResult:
        from ml.enrollment.model import train

        return train(data, progress=progress)

    def evaluate(self, model: Any, data: CensusData) -> dict:
        from ml.enrollment.model import evaluate

        return evaluate(model, data)

    def saw_evaluation_data(self, production: ModelVersion, candidate: ModelVersion) -> bool:
        """The saved model is fitted on every year it was given, so it saw the candidate's test years unless all
        of them came after its last one."""
        last_seen = production.data_summary.get("last_year")
        held_out = candidate.data_summary.get("test_years") or []
        return last_seen is None or not held_out or min(held_out) <= last_seen

    def publish(self, version: ModelVersion, model: Any, progress: Progress) -> int:
        from ml.enrollment.store import publish_forecasts

        return publish_forecasts(version, model, progress)

    def prune(self, keep_version_ids: set[int]) -> int:
        from ml.enrollment.store import prune_forecasts

        return prune_forecasts(keep_version_ids)


TASK = EnrollmentTask()
