"""Held-out figures for the engagement classifier, beside the majority-class baseline.

Plain dicts of floats (scikit-learn metric names), for the registry's JSON. Figures are given at two levels: the
finer classes the model predicts (accuracy; per-class and macro precision, recall and F1; confusion matrix) and
engaged vs not engaged, the summary users see (`engaged_accuracy`, `roc_auc` of the engaged probability).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np


def classification_figures(
    labels: Sequence[str],
    probabilities: np.ndarray,
    classes: Sequence[str],
    engaged: Mapping[str, bool],
    *,
    train_labels: Sequence[str],
) -> dict:
    """Figures for `probabilities` (n x classes) against the true `labels`, beside the majority training class."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support, roc_auc_score

    classes = list(classes)
    y = np.array([classes.index(label) for label in labels])
    predicted = np.asarray(probabilities).argmax(axis=1)
    majority = classes.index(Counter(train_labels).most_common(1)[0][0])
    baseline = np.full_like(y, majority)
    engaged_of_class = np.array([bool(engaged[c]) for c in classes])
    engaged_probability = np.asarray(probabilities)[:, engaged_of_class].sum(axis=1)
    y_engaged = engaged_of_class[y]
    everything = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=everything, zero_division=0.0)
    figures = {
        "accuracy": float(accuracy_score(y, predicted)),
        **_macro(y, predicted, everything),
        "baseline_accuracy": float(accuracy_score(y, baseline)),
        **{f"baseline_{k}": v for k, v in _macro(y, baseline, everything).items()},
        "engaged_accuracy": float(((engaged_probability >= 0.5) == y_engaged).mean()) if len(y) else None,
        "baseline_engaged_accuracy": float((engaged_of_class[majority] == y_engaged).mean()) if len(y) else None,
        "roc_auc": float(roc_auc_score(y_engaged, engaged_probability)) if len(set(y_engaged.tolist())) == 2 else None,
        "n": len(y),
    }
    figures["per_class"] = {
        c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    }
    figures["confusion"] = {
        "labels": classes,
        "matrix": confusion_matrix(y, predicted, labels=everything).tolist(),  # rows: true class, columns: predicted
    }
    return figures


def _macro(y: np.ndarray, predicted: np.ndarray, labels: list[int]) -> dict:
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(
        y, predicted, labels=labels, average="macro", zero_division=0.0
    )
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}
