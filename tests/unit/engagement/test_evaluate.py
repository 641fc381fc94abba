"""Held-out figures of the engagement classifier: scikit-learn's definitions, the majority baseline, the gate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support, roc_auc_score

from ml.engagement.evaluate import held_out_metrics, macro_f1
from ml.evaluation import class_report

CLASSES = ["a", "b", "c"]
ENGAGED = {"a": True, "b": True, "c": False}


def test_figures_compare_with_the_majority_class():
    labels = ["a", "a", "b", "c"]
    probabilities = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.1, 0.4]])

    metrics = held_out_metrics(labels, probabilities, CLASSES, ENGAGED, train_labels=["b", "b", "a"])

    assert metrics["accuracy"] == 0.75
    assert metrics["baseline_accuracy"] == 0.25  # always "b"
    assert metrics["detail"]["confusion"]["matrix"] == [[2, 0, 0], [0, 1, 0], [1, 0, 0]]  # rows true, columns predicted
    assert metrics["detail"]["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["engaged_accuracy"] == 0.75  # c's engaged probability is 0.6
    assert metrics["baseline_engaged_accuracy"] == 0.75
    assert metrics["roc_auc"] == 1.0  # every engaged face scores above the one that is not
    assert metrics["detail"]["baseline"]["class"] == "b"


def test_figures_follow_scikit_learn(rng=np.random.default_rng(4)):
    n = 400
    labels = rng.choice(CLASSES, n, p=[0.5, 0.3, 0.2])
    probabilities = rng.dirichlet([1, 1, 1], n)
    truth = np.array([CLASSES.index(label) for label in labels])
    probabilities[np.arange(n), truth] += rng.uniform(0, 0.6, n)  # a model better than chance
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    predicted = np.array(CLASSES)[probabilities.argmax(axis=1)]

    metrics = held_out_metrics(labels, probabilities, CLASSES, ENGAGED, train_labels=labels)

    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, labels=CLASSES, average="macro")
    assert metrics["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == pytest.approx((precision, recall, f1))
    assert metrics["baseline_f1"] == pytest.approx(f1_score(labels, ["a"] * n, labels=CLASSES, average="macro"))
    engaged = np.isin(labels, ["a", "b"])
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(engaged, probabilities[:, :2].sum(axis=1)))


def test_macro_f1_is_class_reports(rng=np.random.default_rng(5)):
    y, predicted = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    predicted[:5] = 0  # class 3 may be missing from the predictions of a resample

    report = class_report(y, predicted, [0, 1, 2, 3])

    assert macro_f1(y, predicted, 4) == pytest.approx(report["macro"]["f1"])
    assert macro_f1(np.array([0, 0]), np.array([0, 0]), 3) == pytest.approx(1 / 3)  # absent classes count as 0


def test_the_gate_sees_classes_and_engaged_vs_not(rng=np.random.default_rng(6)):
    groups = np.repeat(np.arange(40), 10)  # 40 people, 10 frames each
    labels = np.array(CLASSES)[rng.integers(0, 3, 400)]
    perfect = np.eye(3)[[CLASSES.index(label) for label in labels]]

    good = held_out_metrics(labels, perfect, CLASSES, ENGAGED, train_labels=labels, clusters=groups)
    noise = held_out_metrics(labels, rng.dirichlet([1, 1, 1], 400), CLASSES, ENGAGED, train_labels=labels)

    gate = good["detail"]["gate"]
    assert gate["metric"] == "f1" and set(gate["groups"]) == {"classes", "engaged vs not engaged"}
    assert good["beats_baseline"] is True and gate["groups"]["classes"]["difference"]["low"] > 0
    assert noise["f1"] < 0.45 and noise["detail"]["gate"]["groups"]["classes"]["model"] == pytest.approx(noise["f1"])
    mapping = {"x": True, "y": False}
    two = held_out_metrics(["x", "y"] * 20, np.eye(2)[[0, 1] * 20], ["x", "y"], mapping, train_labels=["x"])
    assert set(two["detail"]["gate"]["groups"]) == {"classes"}  # with two classes, both levels are one


def test_labels_the_model_does_not_know_are_refused():
    with pytest.raises(ValueError, match="does not know the classes d"):
        held_out_metrics(["d"], np.array([[1.0, 0, 0]]), CLASSES, ENGAGED, train_labels=["a"])
