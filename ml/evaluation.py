"""Evaluation figures for every task: classification, regression, curves, groups, baselines, bootstrap intervals.

Metric names follow scikit-learn: roc_auc, pr_auc (average precision), accuracy, precision, recall, f1, brier,
mae, rmse, r2, plus wape (sum of absolute errors over the sum of actuals). The positive class of a binary task is
1 (at_risk: FAIL; overcrowding: over capacity). Every figure is a plain float/int/list/str with None for "not
defined" (e.g. ROC-AUC of one class), so results go into JSON with `allow_nan=False` (see `plain`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

CLASSIFICATION_HEADLINE = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "brier")
REGRESSION_HEADLINE = ("mae", "rmse", "r2", "wape")
CURVE_POINTS = 100
CALIBRATION_BINS = 10
RESIDUAL_POINTS = 500
BOOTSTRAP_SAMPLES = 1000


# --- classification -------------------------------------------------------------------------


def threshold_for_recall(y: np.ndarray, probability: np.ndarray, target_recall: float) -> float:
    """The highest threshold whose alerts (probability >= threshold) catch `target_recall` of the positives."""
    y = np.asarray(y, dtype=bool)
    p = np.asarray(probability, dtype=np.float64)
    keep = ~np.isnan(p)
    positives = np.sort(p[keep & y])[::-1]
    if len(positives) == 0:
        return 0.5
    k = max(1, math.ceil(target_recall * len(positives)))
    return float(positives[min(k, len(positives)) - 1])


def classification_figures(y: np.ndarray, probability: np.ndarray, threshold: float) -> dict:
    """Headline metrics at `threshold`, accuracy at 0.5 beside it, and the confusion matrix."""
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probability, dtype=np.float64)
    predicted = (p >= threshold).astype(np.int64)
    both = len(np.unique(y)) == 2
    tn, fp, fn, tp = _binary_confusion(y, predicted)
    return {
        "roc_auc": roc_auc(y, p) if both else None,
        "pr_auc": average_precision(y, p) if y.any() else None,
        "accuracy": _ratio(tp + tn, len(y)),
        "accuracy_at_05": _ratio(int(((p >= 0.5) == (y == 1)).sum()), len(y)),
        "precision": _ratio(tp, tp + fp, zero=0.0),
        "recall": _ratio(tp, tp + fn, zero=0.0),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn, zero=0.0),
        "brier": float(((p - y) ** 2).mean()) if len(y) else None,
        "threshold": float(threshold),
        "n": len(y),
        "n_positive": int(y.sum()),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half), as sklearn's roc_auc_score, in O(n log n) without its checks."""
    y = np.asarray(y, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if not positives or not negatives:
        return None
    ranks = _average_ranks(np.asarray(score, dtype=np.float64))
    return float((ranks[y].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def average_precision(y: np.ndarray, score: np.ndarray) -> float | None:
    """Average precision (PR-AUC) with sklearn's step rule and tie handling, fast enough to bootstrap."""
    y = np.asarray(y, dtype=np.float64)
    total = y.sum()
    if not total:
        return None
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="mergesort")
    ranked_score, ranked_y = np.asarray(score, dtype=np.float64)[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(ranked_score)), len(ranked_y) - 1]
    tps = np.cumsum(ranked_y)[last_of_tie]
    precision = tps / (last_of_tie + 1)
    recall = tps / total
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def decision_figures(y: np.ndarray, predicted: np.ndarray) -> dict:
    """Figures of a yes/no rule with no score to rank by (a baseline such as "registered > capacity")."""
    y = np.asarray(y, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    tn, fp, fn, tp = _binary_confusion(y, predicted)
    figures = classification_figures(y, predicted.astype(np.float64), 0.5)
    figures.update(threshold=None, confusion={"tn": tn, "fp": fp, "fn": fn, "tp": tp})
    return figures


def class_report(y_true: Sequence, y_pred: Sequence, labels: Sequence[str]) -> dict:
    """Per-class precision, recall, F1 and support, accuracy, macro and weighted averages, confusion matrix
    (rows: true class, columns: predicted class, in `labels` order) -- scikit-learn's classification report."""
    true = np.asarray([str(v) for v in y_true], dtype=object)
    pred = np.asarray([str(v) for v in y_pred], dtype=object)
    labels = [str(label) for label in labels]
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(true, pred, strict=True):
        if t in index and p in index:
            matrix[index[t], index[p]] += 1
    per_class = {}
    for i, label in enumerate(labels):
        tp, support, predicted = matrix[i, i], matrix[i].sum(), matrix[:, i].sum()
        precision, recall = _ratio(tp, predicted, zero=0.0), _ratio(tp, support, zero=0.0)
        per_class[label] = {
            "precision": precision,
            "recall": recall,
            "f1": _ratio(2 * precision * recall, precision + recall, zero=0.0),
            "support": int(support),
        }
    supports = np.array([per_class[label]["support"] for label in labels], dtype=np.float64)

    def average(key: str, weights: np.ndarray | None) -> float | None:
        values = np.array([per_class[label][key] for label in labels])
        if not len(values) or (weights is not None and weights.sum() == 0):
            return None
        return float(np.average(values, weights=weights))

    return {
        "labels": labels,
        "per_class": per_class,
        "accuracy": _ratio(int(np.trace(matrix)), int(matrix.sum())),
        "macro": {key: average(key, None) for key in ("precision", "recall", "f1")},
        "weighted": {key: average(key, supports) for key in ("precision", "recall", "f1")},
        "confusion_matrix": matrix.tolist(),
        "n": int(matrix.sum()),
    }


def curves(y: np.ndarray, probability: np.ndarray) -> dict:
    """ROC and PR curves (at most CURVE_POINTS points each) and a 10-bin calibration table."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probability, dtype=np.float64)
    out: dict = {"roc": None, "pr": None, "calibration": []}
    if len(np.unique(y)) == 2:
        fpr, tpr, _ = roc_curve(y, p)
        keep = _downsample(len(fpr), CURVE_POINTS)
        out["roc"] = {"fpr": _rounded(fpr[keep]), "tpr": _rounded(tpr[keep])}
        precision, recall, _ = precision_recall_curve(y, p)
        keep = _downsample(len(precision), CURVE_POINTS)
        out["pr"] = {"precision": _rounded(precision[keep]), "recall": _rounded(recall[keep])}
    out["calibration"] = calibration(y, p)
    return out


def calibration(y: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Uniform bins as in sklearn's calibration_curve, with the count of each non-empty bin."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(which, minlength=bins)
    predicted = np.bincount(which, weights=p, minlength=bins)
    observed = np.bincount(which, weights=y, minlength=bins)
    return [
        {
            "bin": [round(float(edges[b]), 2), round(float(edges[b + 1]), 2)],
            "mean_predicted": round(float(predicted[b] / counts[b]), 4),
            "fraction_positive": round(float(observed[b] / counts[b]), 4),
            "count": int(counts[b]),
        }
        for b in np.flatnonzero(counts)
    ]


def group_figures(y: np.ndarray, probability: np.ndarray, threshold: float, groups: Mapping[str, np.ndarray]) -> dict:
    """`classification_figures` per level of each grouping (e.g. sex, age band), plus the positive rate."""
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probability, dtype=np.float64)
    out: dict = {}
    for name, mask in _group_masks(groups):
        figures = classification_figures(y[mask], p[mask], threshold)
        figures["positive_rate"] = float(y[mask].mean())
        out.setdefault(name[0], {})[name[1]] = figures
    return out


# --- regression -----------------------------------------------------------------------------


def regression_figures(
    y: np.ndarray, predicted: np.ndarray, lower: np.ndarray | None = None, upper: np.ndarray | None = None
) -> dict:
    """MAE, RMSE, R², WAPE and bias on the original scale; interval coverage and mean width when bounds are given."""
    y = np.asarray(y, dtype=np.float64)
    f = np.asarray(predicted, dtype=np.float64)
    error = f - y
    total = float(np.abs(y).sum())
    variance = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    figures = {
        "mae": float(np.abs(error).mean()) if len(y) else None,
        "rmse": float(np.sqrt((error**2).mean())) if len(y) else None,
        "r2": 1.0 - float((error**2).sum()) / variance if variance > 0 else None,
        "wape": float(np.abs(error).sum()) / total if total > 0 else None,
        "bias": float(error.mean()) if len(y) else None,
        "n": len(y),
        "total_actual": total,
    }
    if lower is not None and upper is not None:
        figures.update(interval_figures(y, lower, upper))
    return figures


def interval_figures(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> dict:
    """Share of actual values inside [lower, upper] and the intervals' mean width."""
    y = np.asarray(y, dtype=np.float64)
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    inside = (y >= lower) & (y <= upper)
    return {
        "interval_coverage": float(inside.mean()) if len(y) else None,
        "interval_width": float((upper - lower).mean()) if len(y) else None,
    }


def regression_group_figures(
    y: np.ndarray,
    predicted: np.ndarray,
    groups: Mapping[str, np.ndarray],
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> dict:
    """`regression_figures` per level of each grouping (e.g. stage, size band)."""
    y, f = np.asarray(y, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    out: dict = {}
    for (name, level), mask in _group_masks(groups):
        bounds = (lower[mask], upper[mask]) if lower is not None and upper is not None else (None, None)
        out.setdefault(name, {})[level] = regression_figures(y[mask], f[mask], *bounds)
    return out


def residual_sample(y: np.ndarray, predicted: np.ndarray, points: int = RESIDUAL_POINTS, seed: int = 0) -> dict:
    """A reproducible sample of (predicted, actual) pairs for a residual plot."""
    y, f = np.asarray(y, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    keep = np.arange(len(y))
    if len(y) > points:
        keep = np.sort(np.random.default_rng(seed).choice(len(y), points, replace=False))
    return {"predicted": _rounded(f[keep]), "actual": _rounded(y[keep])}


# --- baselines and confidence ---------------------------------------------------------------


def best_baseline(baselines: Mapping[str, dict], metric: str, higher_is_better: bool = True) -> str:
    """The baseline with the best `metric` (missing counts as the worst)."""
    worst = -math.inf if higher_is_better else math.inf

    def score(name: str) -> float:
        value = baselines[name].get(metric)
        return worst if value is None else value

    return max(baselines, key=score) if higher_is_better else min(baselines, key=score)


def bootstrap_ci(
    metric: Callable[..., float | None],
    *arrays: np.ndarray,
    samples: int = BOOTSTRAP_SAMPLES,
    level: float = 0.95,
    seed: int = 0,
    clusters: np.ndarray | None = None,
) -> dict:
    """A percentile bootstrap interval of `metric(*arrays)`, resampling rows (or whole `clusters`, e.g. schools)."""
    arrays = tuple(np.asarray(a) for a in arrays)
    estimate = metric(*arrays)
    draw = _row_sampler(len(arrays[0]), clusters)
    values = []
    for rng in _rngs(seed, samples):
        rows = draw(rng)  # the same rows for every array: a paired resample
        value = _metric_or_none(metric, tuple(a[rows] for a in arrays))
        if value is not None:
            values.append(value)
    return _interval(estimate, values, level, samples)


def paired_bootstrap_difference(
    metric: Callable[[np.ndarray, np.ndarray], float | None],
    y: np.ndarray,
    model: np.ndarray,
    baseline: np.ndarray,
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    level: float = 0.95,
    seed: int = 0,
    clusters: np.ndarray | None = None,
) -> dict:
    """Interval of metric(y, model) - metric(y, baseline) on the same resampled rows: the model beats the
    baseline by a margin that is not noise when the whole interval is on the better side of zero."""

    def difference(y_: np.ndarray, model_: np.ndarray, baseline_: np.ndarray) -> float | None:
        a, b = metric(y_, model_), metric(y_, baseline_)
        return None if a is None or b is None else a - b

    return bootstrap_ci(difference, y, model, baseline, samples=samples, level=level, seed=seed, clusters=clusters)


# --- JSON -----------------------------------------------------------------------------------


def plain(obj):
    """A JSON-ready copy: numpy scalars to Python numbers, NaN/inf to None, tuples and arrays to lists."""
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [plain(v) for v in obj]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    return obj


# --- helpers --------------------------------------------------------------------------------


def _binary_confusion(y: np.ndarray, predicted: np.ndarray) -> tuple[int, int, int, int]:
    positive, called = y == 1, predicted == 1
    return (
        int((~positive & ~called).sum()),
        int((~positive & called).sum()),
        int((positive & ~called).sum()),
        int((positive & called).sum()),
    )


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (scipy.stats.rankdata's "average")."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _ratio(numerator: float, denominator: float, zero: float | None = None) -> float | None:
    return float(numerator) / float(denominator) if denominator else zero


def _group_masks(groups: Mapping[str, np.ndarray]):
    for name, values in groups.items():
        values = np.asarray(values, dtype=object).astype(str)
        for level in sorted(set(values)):
            yield (name, level), values == level


def _rngs(seed: int, samples: int):
    for child in np.random.SeedSequence(seed).spawn(samples):
        yield np.random.default_rng(child)


def _row_sampler(n: int, clusters: np.ndarray | None) -> Callable[[np.random.Generator], np.ndarray]:
    """Draws n rows with replacement, or as many whole clusters as there are (their rows together)."""
    if clusters is None:
        return lambda rng: rng.integers(0, n, n)
    _, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
    return lambda rng: np.concatenate([members[c] for c in rng.integers(0, len(members), len(members))])


def _metric_or_none(metric: Callable, arrays: tuple[np.ndarray, ...]) -> float | None:
    try:
        return metric(*arrays)
    except ValueError:  # e.g. a resample with one class only
        return None


def _interval(estimate: float | None, values: list[float], level: float, samples: int) -> dict:
    tail = (1.0 - level) / 2.0
    low, high = (float(np.quantile(values, tail)), float(np.quantile(values, 1.0 - tail))) if values else (None, None)
    return {"estimate": estimate, "low": low, "high": high, "level": level, "samples": samples, "valid": len(values)}


def _downsample(n: int, points: int) -> np.ndarray:
    if n <= points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, points).round().astype(np.int64))


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]
