"""The shared evaluation figures: equal to scikit-learn's where both exist, intervals that mean something."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    classification_report,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

from ml import evaluation


@pytest.fixture
def scores():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 400)
    return y, np.clip(0.3 * y + rng.random(400) * 0.7, 0, 1).round(2)  # ties on purpose


def test_ranking_metrics_equal_sklearn_with_ties(scores):
    y, p = scores
    assert evaluation.roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert evaluation.average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)


def test_ranking_metrics_are_undefined_for_one_class():
    assert evaluation.roc_auc(np.ones(5), np.linspace(0, 1, 5)) is None
    assert evaluation.average_precision(np.zeros(5), np.linspace(0, 1, 5)) is None


def test_classification_figures_report_accuracy_at_half_beside_the_alert_threshold():
    y = np.array([1, 1, 0, 0])
    p = np.array([0.4, 0.3, 0.2, 0.1])
    figures = evaluation.classification_figures(y, p, threshold=0.25)
    assert figures["accuracy"] == 1.0 and figures["accuracy_at_05"] == 0.5
    assert figures["confusion"] == {"tn": 2, "fp": 0, "fn": 0, "tp": 2}
    assert figures["recall"] == 1.0 and figures["n_positive"] == 2


def test_class_report_matches_sklearn():
    true = ["engaged", "bored", "engaged", "drowsy", "bored", "engaged"]
    pred = ["engaged", "engaged", "engaged", "drowsy", "bored", "bored"]
    labels = ["bored", "drowsy", "engaged"]
    ours = evaluation.class_report(true, pred, labels)
    theirs = classification_report(true, pred, labels=labels, output_dict=True, zero_division=0)
    for label in labels:
        for key in ("precision", "recall", "f1"):
            assert ours["per_class"][label][key] == pytest.approx(theirs[label][f"{key}-score" if key == "f1" else key])
    assert ours["weighted"]["f1"] == pytest.approx(theirs["weighted avg"]["f1-score"])
    assert ours["confusion_matrix"] == [[1, 0, 1], [0, 1, 0], [1, 0, 2]]


def test_regression_figures_on_counts_with_intervals():
    y = np.array([100.0, 50.0, 0.0, 10.0])
    f = np.array([90.0, 60.0, 5.0, 10.0])
    figures = evaluation.regression_figures(y, f, lower=f - 8, upper=f + 8)
    assert figures["mae"] == pytest.approx(mean_absolute_error(y, f))
    assert figures["r2"] == pytest.approx(r2_score(y, f))
    assert figures["wape"] == pytest.approx(25 / 160)
    assert figures["interval_coverage"] == pytest.approx(0.5) and figures["interval_width"] == pytest.approx(16)


def test_wape_is_undefined_when_nothing_was_actual():
    assert evaluation.regression_figures(np.zeros(3), np.ones(3))["wape"] is None


def test_paired_bootstrap_resamples_the_same_rows_for_both(scores):
    y, p = scores
    identical = evaluation.paired_bootstrap_difference(evaluation.average_precision, y, p, p.copy(), samples=200)
    assert identical["low"] == identical["high"] == 0.0
    better = evaluation.paired_bootstrap_difference(
        evaluation.average_precision, y, p, np.full(len(y), 0.5), samples=200
    )
    assert better["low"] > 0 and better["low"] <= better["estimate"] <= better["high"]


def test_bootstrap_interval_covers_the_estimate_and_shrinks_with_more_rows():
    rng = np.random.default_rng(0)

    def width(n: int) -> float:
        values = rng.normal(10, 2, n)
        ci = evaluation.bootstrap_ci(np.mean, values, samples=300)
        assert ci["low"] < ci["estimate"] < ci["high"]
        return ci["high"] - ci["low"]

    assert width(2000) < width(50)


def test_cluster_bootstrap_keeps_a_clusters_rows_together():
    clusters = np.repeat(np.arange(10), 20)
    values = np.repeat(np.arange(10, dtype=float), 20)  # constant inside a cluster
    seen = []

    def record(v: np.ndarray) -> float:
        seen.append(len(v))
        return float(v.mean())

    evaluation.bootstrap_ci(record, values, samples=20, clusters=clusters)
    assert set(seen) == {200}


def test_plain_is_json_ready():
    import json

    value = evaluation.plain({"a": np.float32(0.5), "b": np.array([1, 2]), "c": float("nan"), 3: np.bool_(True)})
    assert json.dumps(value, allow_nan=False) == '{"a": 0.5, "b": [1, 2], "c": null, "3": true}'
