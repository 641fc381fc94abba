"""Evaluation figures for the at-risk model and its baselines. FAIL (y = 1) is the positive class.

Metric names follow scikit-learn: roc_auc, pr_auc (average precision), accuracy, precision, recall, f1,
brier. Every figure is a plain float/int/list/str with None for "not defined" (e.g. ROC-AUC of one class),
so the result goes into JSON with `allow_nan=False`.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

HEADLINE = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "brier")
CURVE_POINTS = 100
CALIBRATION_BINS = 10
BASELINE_LABELS = {
    "majority": "always predicting the majority class",
    "latest_grade": "latest grade below the pass mark",
}


def threshold_for_recall(y: np.ndarray, probability: np.ndarray, target_recall: float) -> float:
    """The highest threshold whose alerts (probability >= threshold) catch `target_recall` of the fails."""
    y = np.asarray(y, dtype=bool)
    p = np.asarray(probability, dtype=np.float64)
    keep = ~np.isnan(p)
    fails = np.sort(p[keep & y])[::-1]
    if len(fails) == 0:
        return 0.5
    k = max(1, math.ceil(target_recall * len(fails)))
    return float(fails[min(k, len(fails)) - 1])


def classification_figures(y: np.ndarray, probability: np.ndarray, threshold: float) -> dict:
    """Headline metrics and the confusion matrix at `threshold`."""
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probability, dtype=np.float64)
    predicted = (p >= threshold).astype(np.int64)
    both = len(np.unique(y)) == 2
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "pr_auc": float(average_precision_score(y, p)) if y.any() else None,
        "accuracy": float(accuracy_score(y, predicted)),
        "precision": float(precision_score(y, predicted, zero_division=0)),
        "recall": float(recall_score(y, predicted, zero_division=0)),
        "f1": float(f1_score(y, predicted, zero_division=0)),
        "brier": float(brier_score_loss(y, p, labels=[0, 1])),
        "threshold": float(threshold),
        "n": len(y),
        "n_fail": int(y.sum()),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


def curves(y: np.ndarray, probability: np.ndarray) -> dict:
    """ROC and PR curves (at most CURVE_POINTS points each) and a 10-bin calibration table."""
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probability, dtype=np.float64)
    out: dict = {"roc": None, "pr": None, "calibration": []}
    if len(np.unique(y)) == 2:
        fpr, tpr, _ = roc_curve(y, p)
        keep = _downsample(len(fpr))
        out["roc"] = {"fpr": _rounded(fpr[keep]), "tpr": _rounded(tpr[keep])}
        precision, recall, _ = precision_recall_curve(y, p)
        keep = _downsample(len(precision))
        out["pr"] = {"precision": _rounded(precision[keep]), "recall": _rounded(recall[keep])}
    # Uniform bins as in sklearn's calibration_curve, with the count of each (non-empty) bin.
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    bins = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(bins, minlength=CALIBRATION_BINS)
    predicted = np.bincount(bins, weights=p, minlength=CALIBRATION_BINS)
    fails = np.bincount(bins, weights=y, minlength=CALIBRATION_BINS)
    out["calibration"] = [
        {
            "bin": [round(float(edges[b]), 2), round(float(edges[b + 1]), 2)],
            "mean_predicted": round(float(predicted[b] / counts[b]), 4),
            "fraction_fail": round(float(fails[b] / counts[b]), 4),
            "count": int(counts[b]),
        }
        for b in np.flatnonzero(counts)
    ]
    return out


def group_figures(y: np.ndarray, probability: np.ndarray, threshold: float, groups: dict[str, np.ndarray]) -> dict:
    """`classification_figures` per level of each grouping (e.g. sex, age band), plus the fail rate."""
    y = np.asarray(y, dtype=np.int64)
    out: dict = {}
    for name, values in groups.items():
        values = np.asarray(values, dtype=object)
        table = {}
        for level in sorted({str(v) for v in values}):
            mask = values.astype(str) == level
            figures = classification_figures(y[mask], probability[mask], threshold)
            figures["fail_rate"] = float(y[mask].mean())
            table[level] = figures
        out[name] = table
    return out


def age_band(age: np.ndarray) -> np.ndarray:
    """ "<20", "20-24", "25+" or "unknown"."""
    age = np.asarray(age, dtype=np.float64)
    band = np.where(age < 20, "<20", np.where(age < 25, "20-24", "25+")).astype(object)
    band[np.isnan(age)] = "unknown"
    return band


def baseline_figures(
    y: np.ndarray, train_fail_rate: float, latest_grade: np.ndarray | None, pass_mark: np.ndarray
) -> dict[str, dict]:
    """Figures of the simple baselines on the same rows.

    majority: always the training majority class (probability = training fail rate).
    latest_grade: FAIL when the latest grade known is below the pass mark (no grade: pass); its
    probability is that 0/1 prediction, its ranking score the distance below the pass mark.
    """
    y = np.asarray(y, dtype=np.int64)
    majority_fail = train_fail_rate > 0.5
    constant = np.full(len(y), train_fail_rate)
    out = {"majority": classification_figures(y, constant, 0.0 if majority_fail else np.inf)}
    out["majority"]["threshold"] = None
    if latest_grade is not None and not np.all(np.isnan(latest_grade)):
        gap = np.asarray(pass_mark, dtype=np.float64) - latest_grade
        score = np.where(np.isnan(gap), np.nanmin(gap) - 1.0, gap)
        predicted = (gap > 0).astype(np.float64)  # NaN > 0 is False: no grade means predicted pass
        figures = classification_figures(y, predicted, 0.5)
        if len(np.unique(y)) == 2:
            figures["roc_auc"] = float(roc_auc_score(y, score))
        figures["pr_auc"] = float(average_precision_score(y, score)) if y.any() else None
        figures["threshold"] = None
        out["latest_grade"] = figures
    return out


def best_baseline(baselines: dict[str, dict]) -> str:
    """The baseline with the highest PR-AUC (ties: higher F1)."""
    return max(baselines, key=lambda b: (baselines[b]["pr_auc"] or 0.0, baselines[b]["f1"]))


def beats_baselines(model: dict, baselines: dict[str, dict]) -> bool:
    """True when the model beats every baseline on both F1 and PR-AUC."""
    return all(model["f1"] > b["f1"] and (model["pr_auc"] or 0.0) > (b["pr_auc"] or 0.0) for b in baselines.values())


def plain(obj):
    """A JSON-ready copy: numpy scalars to Python numbers, NaN/inf to None, tuples and arrays to lists."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [plain(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _downsample(n: int) -> np.ndarray:
    if n <= CURVE_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, CURVE_POINTS).round().astype(np.int64))


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]
