"""SHAP explanations of the enrollment forecasts, with the `shap` library's TreeExplainer (imported where used).

A stage's forecast is its anchor baseline (cohort survival, or same as last year where that did better on the
training years) + the ensemble's correction (the mean of its LightGBM and XGBoost
boosters), so the ensemble's SHAP values are the mean of the two boosters' and add up exactly:
forecast = anchor + base value + sum of the row's SHAP values (before the floor at 0 students). `reasons` says
the largest of them in words: "cohort survival 300 -> forecast 312: +9 feeding grade last year (84), ...";
"everything else" is what the other features and the floor at 0 students add.
"""

from __future__ import annotations

import numpy as np

from ml.census.geography import UF_BY_CODE
from ml.enrollment.baselines import LABELS as BASELINE_LABELS
from ml.enrollment.features import LABELS
from ml.enrollment.model import StageModel

IMPORTANCE_ROWS = 2000
IMPORTANCE_TOP = 15
DEPENDENCIES = {1: "federal", 2: "state", 3: "municipal", 4: "private"}
LOCATIONS = {1: "urban", 2: "rural"}
RATIO_FEATURES = {"growth1", "trend5", "per_teacher1", "per_class1", "per_class_diff1", "municipality_growth"}
SHARE_FEATURES = {"stage_share1"}

_explainers: dict[int, tuple] = {}


def shap_values(model: StageModel, X: np.ndarray) -> tuple[np.ndarray, float]:
    """(rows x features) contributions to the ensemble's correction and its base value."""
    lgb, xgb = _explainer_pair(model)
    frame = _frame(model, X)
    values = (np.asarray(lgb.shap_values(frame)) + np.asarray(xgb.shap_values(frame))) / 2.0
    base = (float(np.ravel(lgb.expected_value)[0]) + float(np.ravel(xgb.expected_value)[0])) / 2.0
    return values, base


def global_importance(model: StageModel, X: np.ndarray, *, seed: int = 0) -> list[list]:
    """[(feature, its label, mean |SHAP| in students)] over a sample of rows, the largest first."""
    if len(X) == 0:
        return []
    rows = np.random.default_rng(seed).choice(len(X), min(len(X), IMPORTANCE_ROWS), replace=False)
    values, _ = shap_values(model, X[np.sort(rows)])
    mean = np.abs(values).mean(axis=0)
    order = np.argsort(-mean)[:IMPORTANCE_TOP]
    return [[model.features[i], label_of(model.features[i]), round(float(mean[i]), 3)] for i in order]


def reasons(model: StageModel, X: np.ndarray, start: np.ndarray, forecast: np.ndarray, k: int = 3) -> list[str]:
    """Per row, the forecast in words: the baseline the model corrects (`start`), the model's figure, and the
    `k` largest reasons."""
    if len(X) == 0:
        return []
    start_label = BASELINE_LABELS[model.anchor].lower()
    values, _ = shap_values(model, X)
    top = np.argsort(-np.abs(values), axis=1)[:, :k]
    out = []
    for row in range(len(X)):
        parts = []
        for i in top[row]:
            contribution = values[row, i]
            if abs(contribution) < 0.5:
                continue
            name = model.features[i]
            parts.append(f"{contribution:+.0f} {label_of(name)} ({value_text(name, X[row, i])})")
        rest = forecast[row] - start[row] - sum(values[row, i] for i in top[row] if abs(values[row, i]) >= 0.5)
        head = f"{start_label} {start[row]:,.0f} -> forecast {forecast[row]:,.0f}"
        tail = f"{rest:+.0f} everything else" if abs(rest) >= 0.5 else ""
        out.append(f"{head}: {', '.join([*parts, tail] if tail else parts) or 'no adjustment'}")
    return out


def label_of(feature: str) -> str:
    if feature in LABELS:
        return LABELS[feature]
    return f"{feature.replace('_', ' ').replace('FUND AI', 'grade').replace('FUND AF', 'grade')} last year"


def value_text(feature: str, value: float) -> str:
    """A feature's value as a planner reads it: counts whole, ratios with a decimal, codes as words."""
    if not np.isfinite(value):
        return "not reported"
    if feature == "dependency":
        return DEPENDENCIES.get(int(value), str(int(value)))
    if feature == "location":
        return LOCATIONS.get(int(value), str(int(value)))
    if feature == "co_uf":
        uf = UF_BY_CODE.get(int(value))
        return uf.sigla if uf else str(int(value))
    if feature == "paused_recently":
        return "yes" if value else "no"
    if feature in SHARE_FEATURES:
        return f"{value:.0%}"
    if feature in RATIO_FEATURES:
        return f"{value:.2f}" if "growth" in feature or "trend" in feature else f"{value:.1f}"
    if feature == "municipality_students":
        return f"{np.expm1(value):,.0f} students"
    return f"{value:,.0f}"


def _explainer_pair(model: StageModel) -> tuple:
    import shap

    key = id(model)
    if key not in _explainers or _explainers[key][0] is not model:
        if len(_explainers) > 64:
            _explainers.clear()
        _explainers[key] = (model, shap.TreeExplainer(model.lgb), shap.TreeExplainer(model.xgb))
    return _explainers[key][1:]


def _frame(model: StageModel, X: np.ndarray):
    import pandas as pd

    return pd.DataFrame(np.asarray(X, dtype=np.float32), columns=list(model.features))
