"""Retraining and publishing: train, register a candidate, gate it, publish what the web serves, promote.

Every step here runs in a worker (`jobs.tasks`) or in `demo seed`, never in a web request: publishing scores a
whole term or writes a year of forecasts. Tasks plug in through `ml.task.TaskSpec`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from core.db import analyze, session
from core.models import ModelVersion, Publication
from ml import gate, registry
from ml.task import Progress, TaskSpec, TrainResult, available_tasks, task_spec

__all__ = ["RetrainOutcome", "available_tasks", "promote", "republish", "retrain", "rollback"]

log = logging.getLogger(__name__)


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


def retrain(task: str, *, requested_by: str, progress: Progress | None = None) -> RetrainOutcome:
    """Train a candidate and promote it if the gate says so; a failed training is recorded as a failed version."""
    progress = progress or _no_progress
    spec = task_spec(task)
    try:
        progress(2, "loading training data")
        data = spec.load_training_data()
        progress(5, "training")
        result = spec.train(data, lambda pct, msg: progress(5 + int(pct * 0.75), msg))
    except Exception as exc:
        session.rollback()
        failed = registry.record_failure(task, f"{type(exc).__name__}: {exc}", created_by=requested_by)
        log.warning("retrain %s: v%s failed: %s", task, failed.version, exc)
        raise
    progress(81, "registering candidate")
    candidate = register_candidate(task, result, created_by=requested_by)
    progress(84, "comparing with production")
    decision = _gate(spec, candidate, data)
    if decision.promote:
        promote(candidate, model=result.model, note=decision.reason, progress=_scaled(progress, 86, 99))
    else:
        candidate.note = decision.reason
        session.commit()
    progress(100, decision.reason)
    log.info("retrain %s: v%s %s", task, candidate.version, decision.reason)
    return RetrainOutcome(candidate, decision.promote, decision.reason)


def register_candidate(task: str, result: TrainResult, *, created_by: str) -> ModelVersion:
    """Record a training result as the task's next candidate, saved in the task's artifact format."""
    return registry.register(
        task,
        result.model,
        artifact_format=task_spec(task).artifact_format,
        metrics=result.metrics,
        params=result.params,
        data_summary=result.data_summary,
        created_by=created_by,
    )


def promote(
    version: ModelVersion,
    *,
    model: Any = None,
    note: str = "",
    rollback: bool = False,
    progress: Progress | None = None,
) -> ModelVersion:
    """Publish what the web serves from `version`, make it production, then prune other versions' stored rows."""
    progress = progress or _no_progress
    spec = task_spec(version.task)
    if model is None:
        progress(0, f"loading {version.task} v{version.version}")
        model = registry.load(version, spec.artifact_format)
    rows = spec.publish(version, model, _scaled(progress, 5, 90))
    registry.promote(version, note=note, rollback=rollback)
    pruned = _prune_and_analyze(spec, version, rows)
    progress(100, f"{version.task} v{version.version} in production: {rows:,} rows published, {pruned:,} pruned")
    return version


def republish(task: str, *, progress: Progress | None = None) -> int:
    """Rewrite what the web serves from the production version (after a rules change or an import of current
    records); returns the rows written."""
    progress = progress or _no_progress
    spec = task_spec(task)
    loaded = registry.load_production(task)
    if loaded is None:
        raise registry.RegistryError(f"{task} has no production version to publish")
    rows = spec.publish(loaded.version, loaded.model, _scaled(progress, 0, 90))
    pruned = _prune_and_analyze(spec, loaded.version, rows)
    progress(100, f"{task} v{loaded.version.version}: {rows:,} rows published, {pruned:,} pruned")
    return rows


def rollback(task: str, *, progress: Progress | None = None) -> ModelVersion:
    """Put back (and republish) the version that was in production before the current one."""
    current = ModelVersion.production(task)
    target = registry.rollback_target(task)
    return promote(target, note=f"rolled back from v{current.version}", rollback=True, progress=progress)


def _gate(spec: TaskSpec, candidate: ModelVersion, data: Any) -> gate.Decision:
    production = ModelVersion.production(spec.name)
    if production is None:
        return gate.decide(candidate.metrics, None)
    label = f"production v{production.version}"
    if spec.saw_evaluation_data(production, candidate):
        # Re-scoring production on data it trained on would flatter it: compare each version's own held-out figures.
        return gate.decide(candidate.metrics, production.metrics, production_label=f"{label} (its own held-out data)")
    try:
        rescored = spec.evaluate(registry.load(production, spec.artifact_format), data)
    except Exception as exc:  # never promote on a comparison that did not happen
        log.warning("could not evaluate %s v%s: %s", spec.name, production.version, exc)
        return gate.Decision(
            False, f"kept as candidate: {label} could not be evaluated ({type(exc).__name__}: {exc}); promote by hand"
        )
    return gate.decide(candidate.metrics, rescored, production_label=f"{label} on the same data")


def _prune_and_analyze(spec: TaskSpec, version: ModelVersion, rows: int) -> int:
    """Delete other versions' rows, record the publication (the views say when their data was written)."""
    pruned = spec.prune({version.id})
    session.add(Publication(task=spec.name, model_version_id=version.id, rows=rows))
    session.commit()
    analyze(spec.published_tables)
    return pruned


def _scaled(progress: Progress, start: int, end: int) -> Progress:
    return lambda pct, msg: progress(start + int((end - start) * max(0, min(100, pct)) / 100), msg)


def _no_progress(_pct: int, _msg: str) -> None:
    pass
