"""Held-out figures for the engagement classifier beside the majority-class baseline, and the gate's view of them.

The figures come from `ml.evaluation`, the one place for them: `class_report` for the finer classes the model
predicts (accuracy; per-class and macro precision, recall and F1; confusion matrix), `classification_figures` for
engaged vs not engaged, the summary users see (ROC-AUC of the engaged probability), and
`paired_bootstrap_difference` for the interval of the model's macro F1 minus the baseline's, resampling whole
split groups (a person's or session's frames are not independent of each other).

The primary metric is macro F1 (`f1`): with six states and a majority class the accuracy of always answering the
majority looks respectable, its macro F1 does not. The gate sees it in two groups, the finer classes and engaged
vs not engaged (one group when there are only two classes), so a model is promoted only when it beats always
answering the most common training class at both levels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from ml import gate
from ml.evaluation import class_report, classification_figures, decision_figures

GATE_METRIC = "f1"
GATE_MARGIN = 0.01  # of macro F1
BOOTSTRAP_SAMPLES = 1000
BASELINE = "majority"
BASELINE_DESCRIPTION = "always the most common class of the training faces"
CLASSES_GROUP = "classes"
ENGAGED_GROUP = "engaged vs not engaged"


def held_out_metrics(
    labels: Sequence[str],
    probabilities: np.ndarray,
    classes: Sequence[str],
    engaged: Mapping[str, bool],
    *,
    train_labels: Sequence[str],
    clusters: np.ndarray | None = None,
    seed: int = 0,
) -> dict:
    """Flat headline figures (scikit-learn names, `baseline_` beside them) and their detail, gate included, for
    `probabilities` (n x classes) against the true `labels`; `clusters` are the rows' split groups."""
    classes = [str(c) for c in classes]
    labels = np.asarray([str(label) for label in labels], dtype=object)
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(len(labels), len(classes))
    unknown = sorted(set(labels.tolist()) - set(classes))
    if unknown:
        raise ValueError(f"the model does not know the classes {', '.join(unknown)}")
    y = np.array([classes.index(label) for label in labels], dtype=np.int64)
    predicted = probabilities.argmax(axis=1) if len(y) else np.empty(0, np.int64)
    majority = classes.index(Counter(str(label) for label in train_labels).most_common(1)[0][0])
    baseline = np.full_like(y, majority)

    model_report = class_report(labels, [classes[k] for k in predicted], classes)
    baseline_report = class_report(labels, [classes[majority]] * len(y), classes)
    engaged_of_class = np.array([bool(engaged[c]) for c in classes])
    y_engaged = engaged_of_class[y].astype(np.int64)
    p_engaged = probabilities[:, engaged_of_class].sum(axis=1)
    engaged_model = classification_figures(y_engaged, p_engaged, 0.5)
    engaged_baseline = decision_figures(y_engaged, np.full_like(y_engaged, int(engaged_of_class[majority])))

    groups = {CLASSES_GROUP: _gate_group(y, predicted, baseline, len(classes), clusters, seed)}
    if len(classes) > 2:
        called = (p_engaged >= 0.5).astype(np.int64)
        groups[ENGAGED_GROUP] = _gate_group(
            y_engaged, called, np.full_like(y_engaged, int(engaged_of_class[majority])), 2, clusters, seed
        )
    summary = gate.summary(GATE_METRIC, True, groups, GATE_MARGIN)

    metrics = {
        "accuracy": model_report["accuracy"],
        **model_report["macro"],
        "roc_auc": engaged_model["roc_auc"],
        "engaged_accuracy": engaged_model["accuracy"],
        "baseline_accuracy": baseline_report["accuracy"],
        **{f"baseline_{k}": v for k, v in baseline_report["macro"].items()},
        "baseline_engaged_accuracy": engaged_baseline["accuracy"],
        "beats_baseline": summary["beats_baseline"],
        "n": len(y),
    }
    metrics["detail"] = {
        "per_class": model_report["per_class"],
        "confusion": {"labels": classes, "matrix": model_report["confusion_matrix"]},  # rows true, columns predicted
        "weighted": model_report["weighted"],
        "engaged": _without_threshold(engaged_model) | {"f1_macro": groups.get(ENGAGED_GROUP, {}).get("model")},
        "baseline": {
            "name": BASELINE,
            "description": BASELINE_DESCRIPTION,
            "class": classes[majority],
            "per_class": baseline_report["per_class"],
            "engaged": _without_threshold(engaged_baseline),
        },
        "gate": summary,
    }
    return metrics


def macro_f1(y: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Macro F1 over classes 0..n_classes-1 (absent ones count as 0), as `class_report`'s, fast enough to
    bootstrap."""
    y, predicted = np.asarray(y, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    matrix = np.bincount(y * n_classes + predicted, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(matrix).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(matrix.sum(axis=0) > 0, tp / matrix.sum(axis=0), 0.0)
        recall = np.where(matrix.sum(axis=1) > 0, tp / matrix.sum(axis=1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return float(f1.mean())


def _gate_group(
    y: np.ndarray, predicted: np.ndarray, baseline: np.ndarray, n_classes: int, clusters: np.ndarray | None, seed: int
) -> dict:
    def metric(y_: np.ndarray, predicted_: np.ndarray) -> float:
        return macro_f1(y_, predicted_, n_classes)

    return gate.paired_group(
        metric, y, predicted, baseline, BASELINE, samples=BOOTSTRAP_SAMPLES, seed=seed, clusters=clusters
    )


def _without_threshold(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if k not in ("threshold", "accuracy_at_05")}
