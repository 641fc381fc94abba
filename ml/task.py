"""What a model task is to the platform: the `TaskSpec` protocol, its training result, and the task registry.

A task plugs in by defining `TASK` (an object following `TaskSpec`) in its own package, `ml/<task>/task.py`, and
adding one line to `TASK_MODULES`. Task modules are imported lazily, so heavy libraries load only where a task is
trained or served. `tests/unit/ml/test_task_conformance.py` checks every registered task against this protocol.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.models import ModelVersion
    from ml.registry import ArtifactFormat

Progress = Callable[[int, str], None]

# Task name -> module that defines `TASK`. A new task adds its line here.
TASK_MODULES = {
    "at_risk": "ml.at_risk.task",
    "enrollment": "ml.enrollment.task",
    "engagement": "ml.engagement.task",
    "occupancy": "ml.occupancy.task",
    "overcrowding": "ml.overcrowding.task",
}


class UnknownTaskError(ValueError):
    pass


@dataclass
class TrainResult:
    """A trained model with its evaluation figures (see `ml.gate` for `metrics["detail"]["gate"]`), its settings
    and a summary of the data it saw (rows, time span, hash)."""

    model: Any
    metrics: dict
    params: dict
    data_summary: dict


class TaskSpec(Protocol):
    name: str
    primary_metric: str  # a metric key of DESIGN's contracts, compared by the promotion gate
    higher_is_better: bool
    gate_margin: float  # non-inferiority margin of the gate, in units of `primary_metric`
    artifact_format: ArtifactFormat  # how the registry writes and reads this task's model files
    published_tables: tuple[str, ...]  # tables `publish` writes (the only ones analysed after publishing)

    def load_training_data(self) -> Any: ...

    def train(self, data: Any, progress: Progress) -> TrainResult: ...

    def evaluate(self, model: Any, data: Any) -> dict:
        """Metrics of an existing model on the evaluation data `train` would hold out (same keys as train's)."""

    def saw_evaluation_data(self, production: ModelVersion, candidate: ModelVersion) -> bool:
        """Whether production was trained on the data the candidate is evaluated on (then re-scoring it there
        would flatter it, and the gate compares both versions' own held-out figures instead)."""

    def publish(self, version: ModelVersion, model: Any, progress: Progress) -> int:
        """Write what the web serves from `version` (stored predictions, forecasts, summaries) in one
        transaction; returns the rows written. Runs in a worker (or `demo seed`), never in a web request."""

    def prune(self, keep_version_ids: set[int]) -> int:
        """Delete stored rows of every version not in `keep_version_ids`; returns the rows deleted."""


def available_tasks() -> list[str]:
    return list(TASK_MODULES)


def task_spec(name: str) -> TaskSpec:
    if name not in TASK_MODULES:
        raise UnknownTaskError(f"unknown task {name!r}; known tasks: {', '.join(TASK_MODULES)}")
    return importlib.import_module(TASK_MODULES[name]).TASK
