"""The overcrowding classifier beside the rule the timetable already knows (registered > the limit), honestly."""

from __future__ import annotations

import numpy as np
import pytest

from ml.evaluation import CLASSIFICATION_HEADLINE
from ml.overcrowding import model as overcrowding
from ml.overcrowding.limit import check_share
from tests.unit.campus.conftest import MEDIUM


@pytest.fixture(scope="module")
def trained(observations):
    return overcrowding.train(observations, seed=0)


def test_metrics_are_flat_beside_the_rule_with_report_confusion_and_curves(trained):
    metrics, detail = trained.metrics, trained.metrics["detail"]
    for key in CLASSIFICATION_HEADLINE:
        assert f"baseline_{key}" in metrics and key in metrics
    assert set(detail["candidates"]) == {"svm", "lightgbm"} and detail["best_baseline"] == overcrowding.RULE
    report = detail["class_report"]
    assert report["labels"] == list(overcrowding.CLASS_LABELS) and report["n"] == detail["model"]["n"]
    confusion = detail["model"]["confusion"]
    assert (
        sum(confusion.values()) == detail["model"]["n"]
        and confusion["tp"] + confusion["fn"] == report["per_class"]["overcrowded"]["support"]
    )
    assert detail["curves"]["roc"] and detail["gate"]["metric"] == "f1"


def test_the_model_is_more_precise_than_the_rule_and_ranks_better(trained):
    model, rule = trained.metrics["detail"]["model"], trained.metrics["detail"]["baselines"][overcrowding.RULE]
    assert rule["recall"] > 0.9 and rule["precision"] < 0.5  # most registered-over-limit sessions do fit
    assert model["precision"] > rule["precision"] and model["f1"] > rule["f1"]
    assert model["roc_auc"] > 0.9


def test_the_verdict_says_plainly_when_the_model_is_no_better_than_the_rule(trained):
    detail = trained.metrics["detail"]
    sentence = detail["sentence"]
    if trained.metrics["beats_baseline"]:
        assert "beats the rule in every room type" in sentence
    else:
        assert "NO BETTER than the rule" in sentence
    failing = {name for name, g in detail["gate"]["groups"].items() if not g["beats_baseline"]}
    assert trained.metrics["beats_baseline"] == (not failing)


def test_the_limit_is_a_share_of_safe_capacity_stored_with_the_model(observations):
    strict = overcrowding.train(observations, share=0.8, candidates=("lightgbm",))
    assert strict.model.share == 0.8 and strict.params["share"] == 0.8 and strict.data_summary["share"] == 0.8
    default = overcrowding.train(observations, candidates=("lightgbm",))
    assert strict.metrics["detail"]["model"]["n_positive"] > default.metrics["detail"]["model"]["n_positive"]
    with pytest.raises(ValueError, match=r"from 0\.5 to 1\.2"):
        check_share(2.0)


def test_probabilities_are_probabilities_and_the_threshold_was_chosen_on_calibration(trained, observations):
    model = trained.model
    rows = observations[(observations["term_index"] == 1) & (observations["week"] == 9)].assign(as_of=9, week=10)
    p = model.probability(rows, model.builder.history(observations))
    assert ((p >= 0) & (p <= 1)).all() and 0 < model.threshold < 1
    assert trained.params["threshold"] == model.threshold


def test_best_f1_threshold_is_the_one_with_the_highest_f1():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1, 0.05])
    assert overcrowding.best_f1_threshold(y, p) == 0.6  # top 4: tp 3, F1 = 6/7


def test_the_svm_trains_on_a_stratified_sample_only():
    y = np.r_[np.zeros(9000, dtype=int), np.ones(1000, dtype=int)]
    rows = overcrowding._stratified_sample(y, overcrowding.SVM_MAX_ROWS, seed=0)
    assert len(rows) == overcrowding.SVM_MAX_ROWS and y[rows].mean() == pytest.approx(0.1, abs=0.001)


@pytest.mark.slow
def test_on_a_bigger_campus_the_model_beats_the_rule_in_every_room_type():
    from ml.data.campus import generate_campus

    frame = generate_campus(**MEDIUM, seed=1).observation_frame().drop(columns="true_attendance")
    result = overcrowding.train(frame, seed=0)
    assert result.metrics["beats_baseline"], result.metrics["detail"]["gate"]
