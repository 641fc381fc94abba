"""Every registered task follows the TaskSpec protocol the lifecycle, registry and gate rely on."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import core.models  # noqa: F401  (registers every table)
from core.db import Base
from ml.task import TASK_MODULES, TaskSpec, available_tasks, task_spec

ROOT = Path(__file__).resolve().parents[3]
# DESIGN's contracts: metric keys use scikit-learn's names plus wape.
CONTRACT_METRICS = {"roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "brier", "mae", "rmse", "r2", "wape"}
CONTRACT_TASKS = {"at_risk", "occupancy", "overcrowding", "enrollment", "engagement"}
METHODS = {
    "load_training_data": [],
    "train": ["data", "progress"],
    "evaluate": ["model", "data"],
    "saw_evaluation_data": ["production", "candidate"],
    "publish": ["version", "model", "progress"],
    "prune": ["keep_version_ids"],
}


@pytest.fixture(params=available_tasks())
def spec(request) -> TaskSpec:
    return task_spec(request.param)


def test_task_names_are_the_contracts_names(spec):
    assert spec.name in CONTRACT_TASKS and TASK_MODULES[spec.name] == f"ml.{spec.name}.task"


def test_the_gate_can_compare_the_primary_metric(spec):
    assert spec.primary_metric in CONTRACT_METRICS
    assert isinstance(spec.higher_is_better, bool)
    assert isinstance(spec.gate_margin, float) and 0 <= spec.gate_margin < 0.2


def test_the_registry_can_write_and_read_its_artifacts(spec):
    fmt = spec.artifact_format
    assert isinstance(fmt.name, str) and fmt.name
    assert list(inspect.signature(fmt.dump).parameters) == ["model", "folder"]
    assert list(inspect.signature(fmt.load).parameters) == ["folder"]


def test_it_publishes_only_into_tables_that_exist(spec):
    assert set(spec.published_tables) <= set(Base.metadata.tables)


def test_its_methods_take_what_the_lifecycle_passes(spec):
    for method, parameters in METHODS.items():
        assert list(inspect.signature(getattr(spec, method)).parameters) == parameters, method


def test_task_modules_import_no_heavy_library():
    """The lifecycle imports every task module; training libraries load only inside train/evaluate/publish."""
    heavy = ("tensorflow", "shap", "lightgbm", "xgboost")
    code = (
        "import json, sys; from ml.task import available_tasks, task_spec; "
        "[task_spec(t) for t in available_tasks()]; "
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(output.stdout.strip().splitlines()[-1]) == []
