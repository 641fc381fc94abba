"""Retraining: load data, train, evaluate, register a candidate, gate it against production, promote.

Each task plugs in through a `TaskSpec` in its own package (`ml/<task>/task.py`), imported lazily so that
heavy libraries load only where a task is trained or served.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.db import session
from core.models import ModelVersion
from ml import registry

log = logging.getLogger(__name__)

Progress = Callable[[int, str], None]

# Task name -> module that defines `TASK`. Later capabilities add their task here.
TASK_MODULES = {
    "at_risk": "ml.at_risk.task",
}


class UnknownTaskError(ValueError):
    pass


class TrainResultLike(Protocol):
    model: Any
    metrics: dict
    params: dict
    data_summary: dict


class TaskSpec(Protocol):
    name: str
    primary_metric: str  # compared between candidate and production before promotion
    higher_is_better: bool

    def load_training_data(self) -> Any: ...

    def train(self, data: Any, progress: Progress) -> TrainResultLike: ...

    def evaluate(self, model: Any, data: Any) -> dict: ...

    def saw_evaluation_data(self, production: ModelVersion, candidate: ModelVersion) -> bool:
        """Whether production was trained on the data the candidate is evaluated on (then re-scoring it
        there would flatter it, and the gate compares both versions' own held-out figures instead)."""

    def publish(self, version: ModelVersion, model: Any) -> None:
        """Prepare what the web serves from a version (e.g. stored predictions) before it goes live."""


@dataclass(frozen=True)
class RetrainOutcome:
    version: ModelVersion
    promoted: bool
    reason: str

    def as_dict(self) -> dict:
        return {
            "task": self.version.task,
            "version": self.version.version,
            "status": self.version.status,
            "promoted": self.promoted,
            "reason": self.reason,
        }


def available_tasks() -> list[str]:
    return list(TASK_MODULES)


def task_spec(name: str) -> TaskSpec:
    if name not in TASK_MODULES:
        raise UnknownTaskError(f"unknown task {name!r}; known tasks: {', '.join(TASK_MODULES)}")
    return importlib.import_module(TASK_MODULES[name]).TASK


def retrain(task: str, *, requested_by: str, progress: Progress | None = None) -> RetrainOutcome:
    """Train a candidate and promote it if it is not worse than production on the same evaluation data."""
    progress = progress or _no_progress
    spec = task_spec(task)
    progress(2, "loading training data")
    data = spec.load_training_data()
    progress(5, "training")
    result = spec.train(data, lambda pct, msg: progress(5 + int(pct * 0.8), msg))
    progress(86, "registering candidate")
    candidate = registry.register(
        task,
        result.model,
        metrics=result.metrics,
        params=result.params,
        data_summary=result.data_summary,
        created_by=requested_by,
    )
    progress(88, "comparing with production")
    promote_it, reason = _gate(spec, candidate, data)
    if promote_it:
        progress(92, "publishing")
        promote(candidate, model=result.model, note=reason)
    else:
        candidate.note = reason
        session.commit()
    progress(100, reason)
    log.info("retrain %s: v%s %s", task, candidate.version, reason)
    return RetrainOutcome(candidate, promote_it, reason)


def promote(version: ModelVersion, *, model: Any = None, note: str = "") -> ModelVersion:
    """Publish what the web serves from `version`, then make it production."""
    spec = task_spec(version.task)
    spec.publish(version, model if model is not None else registry.load(version))
    return registry.promote(version, note=note)


def rollback(task: str) -> ModelVersion:
    return registry.rollback(task)


def _gate(spec: TaskSpec, candidate: ModelVersion, data: Any) -> tuple[bool, str]:
    production = ModelVersion.production(spec.name)
    if production is None:
        return True, "promoted: first production version"
    metric = spec.primary_metric
    new = candidate.metrics.get(metric)
    if spec.saw_evaluation_data(production, candidate):
        old, basis = production.metrics.get(metric), "each on its own held-out data (production saw this data)"
    else:
        basis = "on the same evaluation data"
        try:
            old = spec.evaluate(registry.load(production), data).get(metric)
        except Exception as exc:  # an unloadable production model must not block a working candidate
            log.warning("could not evaluate production %s v%s: %s", spec.name, production.version, exc)
            return True, f"promoted: production v{production.version} could not be evaluated ({exc})"
    if new is None or old is None:
        return False, f"kept as candidate: {metric} missing (candidate {new}, production {old})"
    not_worse = round(new, 4) >= round(old, 4) if spec.higher_is_better else round(new, 4) <= round(old, 4)
    verdict = "promoted" if not_worse else "kept as candidate"
    return not_worse, f"{verdict}: {metric} {new:.4f} vs production v{production.version} {old:.4f}, {basis}"


def _no_progress(_pct: int, _msg: str) -> None:
    pass
