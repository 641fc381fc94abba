"""The at-risk model: term split, candidates and thresholds, metrics contract, predictions, persistence."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from ml.at_risk.features import CHECKPOINTS
from ml.at_risk.model import (
    PREDICTION_COLUMNS,
    InsufficientDataError,
    evaluate,
    split_by_term,
    train,
)
from ml.data.academic_fields import SIGNALS, SIGNALS_BY_NAME
from ml.evaluation import threshold_for_recall

HEADLINE = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "brier")


def test_split_holds_out_the_latest_past_term(small_records):
    split = split_by_term(small_records)
    assert split.evaluation_term == "2025-1"
    assert split.train_terms == ["2024-1", "2024-2"]
    assert split.evaluation_term not in set(split.train["term_code"])
    assert set(split.evaluation["term_code"]) == {"2025-1"}
    assert not split.past["is_current"].any()  # the current term has no outcome and never trains


def test_evaluation_term_is_reported_and_not_trained_on(trained):
    detail = trained.metrics["detail"]
    assert detail["evaluation_term"] == "2025-1"
    assert "2025-1" not in detail["train_terms"]
    assert trained.data_summary["evaluation_term"] == "2025-1"


def test_every_checkpoint_is_trained_in_order(trained):
    assert trained.model.checkpoints == list(CHECKPOINTS)
    assert set(trained.params["chosen"].values()) <= {"logistic_regression", "lightgbm"}


def test_week_4_model_does_not_use_week_8_signals(trained):
    later = {name for name, s in SIGNALS_BY_NAME.items() if s.known_at_week > 4}
    inputs = trained.model.feature_names("week_4")
    assert not any(name.split("__")[0] in later for name in inputs)
    assert not later & set(trained.model.fields("week_4"))
    assert "midterm" in trained.model.fields("midterm")


def test_model_beats_the_majority_baseline_at_every_checkpoint(trained):
    for name, detail in trained.metrics["detail"]["checkpoints"].items():
        model = detail["candidates"][detail["chosen"]]
        majority = detail["baselines"]["majority"]
        assert model["roc_auc"] > majority["roc_auc"] + 0.2, name
        assert model["pr_auc"] > majority["pr_auc"], name


def test_final_model_beats_the_latest_grade_baseline(trained):
    detail = trained.metrics["detail"]["checkpoints"]["midterm"]
    assert detail["beats_baseline"] is True
    assert "The model beats that rule" in detail["sentence"]
    assert trained.metrics["f1"] > trained.metrics["baseline_f1"]


def test_threshold_reaches_the_target_recall_on_out_of_fold_training_rows(trained):
    for detail in trained.metrics["detail"]["checkpoints"].values():
        for figures in detail["candidates"].values():
            assert figures["oof_recall"] == pytest.approx(0.8, abs=0.02)


def test_threshold_for_recall_is_the_highest_threshold_reaching_it():
    y = np.array([1, 1, 1, 1, 1, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.5, 0.2, 0.05])
    threshold = threshold_for_recall(y, p, 0.8)
    assert threshold == 0.6
    assert ((p >= threshold) & (y == 1)).sum() / y.sum() >= 0.8


def test_flat_metrics_use_sklearn_names_and_are_strict_json(trained):
    for key in (*HEADLINE, "threshold", *(f"baseline_{k}" for k in HEADLINE)):
        assert isinstance(trained.metrics[key], float), key
    json.dumps(trained.metrics, allow_nan=False)
    json.dumps(trained.params, allow_nan=False)
    json.dumps(trained.data_summary, allow_nan=False)


def test_detail_has_curves_calibration_and_group_tables(trained):
    detail = trained.metrics["detail"]["checkpoints"]["midterm"]
    assert len(detail["curves"]["roc"]["fpr"]) <= 100
    assert len(detail["curves"]["pr"]["precision"]) <= 100
    assert 1 <= len(detail["curves"]["calibration"]) <= 10
    assert set(detail["groups"]["sex"]) == {"F", "M"}
    assert set(detail["groups"]["age_band"]) <= {"<20", "20-24", "25+"}
    confusion = detail["candidates"][detail["chosen"]]["confusion"]
    assert sum(confusion.values()) == detail["candidates"][detail["chosen"]]["n"]


def test_data_summary_hash_is_stable_for_equal_data_in_any_order(trained, small_records):
    summary = trained.data_summary
    assert summary["n_terms"] == 3 and summary["first_term"] == "2024-1" and summary["last_term"] == "2025-1"
    assert 0.2 <= summary["fail_rate"] <= 0.3
    shuffled = small_records.sample(frac=1.0, random_state=1)
    from ml.at_risk.model import data_summary

    assert data_summary(split_by_term(shuffled))["data_hash"] == summary["data_hash"]
    changed = small_records.copy()
    changed.loc[changed.index[0], "midterm"] = 1.0
    assert data_summary(split_by_term(changed))["data_hash"] != summary["data_hash"]


def test_one_past_term_is_not_enough(small_records):
    one_term = small_records[small_records["term_index"].isin([2, 3])]
    with pytest.raises(InsufficientDataError, match="at least 2 past terms"):
        train(one_term)


def test_one_class_only_is_not_enough(small_records):
    all_pass = small_records.assign(passed=small_records["passed"].where(small_records["passed"].isna(), True))
    with pytest.raises(InsufficientDataError, match="failed"):
        train(all_pass)


def test_predict_returns_the_contract_columns_aligned_to_the_input(trained, small_records):
    current = small_records[small_records["is_current"]].sample(200, random_state=0)
    scored = trained.model.predict(current)
    assert list(scored.columns) == list(PREDICTION_COLUMNS)
    assert scored.index.equals(current.index)
    assert (scored["checkpoint"] == "midterm").all()
    threshold = trained.model.thresholds["midterm"]
    assert (scored["at_risk"] == (scored["probability"] >= threshold)).all()
    assert (scored.loc[scored["at_risk"], "risk_band"] == "high").all()
    medium = scored["risk_band"] == "medium"
    assert (scored.loc[medium, "probability"] >= threshold / 2).all()
    assert scored["probability"].between(0, 1).all()
    assert scored["recommendation"].str.len().gt(0).all()
    assert scored.loc[scored["at_risk"], "reasons"].str.len().gt(0).all()


def test_predict_picks_the_latest_checkpoint_whose_signals_are_present(trained, small_records):
    current = small_records[small_records["is_current"]].head(50)
    after_week_8 = [s.name for s in SIGNALS if s.known_at_week > 8]
    after_week_4 = [s.name for s in SIGNALS if s.known_at_week > 4]
    assert trained.model.predict(current.drop(columns=after_week_8))["checkpoint"].iloc[0] == "week_8"
    assert trained.model.predict(current.assign(**{c: np.nan for c in after_week_4}))["checkpoint"].iloc[0] == "week_4"
    assert trained.model.predict(current, "week_4")["checkpoint"].iloc[0] == "week_4"


def test_risk_rises_when_the_midterm_drops(trained, small_records):
    row = small_records[small_records["is_current"]].head(1)
    good, bad = row.assign(midterm=90.0), row.assign(midterm=10.0)
    assert trained.model.predict(bad)["probability"].iloc[0] > trained.model.predict(good)["probability"].iloc[0]


def test_model_round_trips_through_joblib_and_predicts_identically(trained, small_records, tmp_path):
    path = tmp_path / "at_risk.joblib"
    joblib.dump(trained.model, path)
    loaded = joblib.load(path)
    current = small_records[small_records["is_current"]].head(300)
    pdt.assert_frame_equal(loaded.predict(current), trained.model.predict(current))


def test_trains_with_only_absences_and_period_grades(small_records):
    """An imported institution that records only absences and two period grades still gets a model."""
    period_1 = small_records[["quiz_1", "quiz_2", "assignment_1", "assignment_2"]].mean(axis=1)
    period_2 = small_records[["quiz_3", "midterm"]].mean(axis=1)
    keep = {"absences", "grade_p1", "grade_p2"}
    imported = small_records.drop(columns=[s.name for s in SIGNALS if s.name not in keep])
    imported = imported.assign(grade_p1=period_1, grade_p2=period_2)

    result = train(imported, candidates=("logistic_regression",))

    assert result.model.fields("midterm")[:3] == ["absences", "grade_p1", "grade_p2"]
    assert not set(result.model.fields("week_4")) & keep  # nothing recorded by week 4 but who the student is
    assert result.metrics["roc_auc"] > 0.8
    scored = result.model.predict(imported[imported["is_current"]])
    assert (scored["checkpoint"] == "midterm").all()
    assert scored["probability"].notna().all()
    json.dumps(result.metrics, allow_nan=False)


def test_an_extra_column_is_used_from_its_declared_week(small_records):
    rng = np.random.default_rng(0)
    extra = small_records.assign(
        x_works_full_time=(rng.random(len(small_records)) < 0.2).astype(float),  # known before the term
        x_lab_report=rng.uniform(0, 100, len(small_records)),  # handed in in week 8
        x_tutor=rng.choice(["A", "B"], len(small_records)),  # never dated: kept, not used
    )
    weeks = {"x_works_full_time": 0, "x_lab_report": 8, "x_tutor": None}
    result = train(extra, known_weeks=weeks, candidates=("logistic_regression",))
    assert "x_works_full_time" in result.model.fields("week_4")
    assert "x_lab_report" not in result.model.fields("week_4") and "x_lab_report" in result.model.fields("week_8")
    assert not any("x_tutor" in result.model.fields(c) for c in result.model.checkpoints)


def test_a_field_the_current_term_lacks_is_not_used_and_the_model_says_so(small_records):
    current = small_records["is_current"].to_numpy()
    records = small_records.assign(prior_gpa=np.where(current, np.nan, small_records["prior_gpa"]))
    result = train(records, candidates=("logistic_regression",))
    assert all("prior_gpa" not in result.model.fields(c) for c in result.model.checkpoints)
    assert result.metrics["detail"]["left_out"] == {"prior_gpa": "the current term has no values"}


def test_the_institutions_checkpoint_weeks_are_used(small_records):
    result = train(small_records, checkpoint_weeks=(3, 6, 10), candidates=("logistic_regression",))
    assert result.model.checkpoints == ["week_3", "week_6", "week_10"]
    assert "quiz_2" not in result.model.fields("week_3") and "quiz_2" in result.model.fields("week_6")


def test_withdrawn_students_are_at_risk_before_their_week_and_left_out_after(small_records):
    result = train(small_records, candidates=("logistic_regression",))
    detail = result.metrics["detail"]["checkpoints"]
    evaluation = small_records[small_records["term_code"] == result.metrics["detail"]["evaluation_term"]]
    withdrawn = evaluation[evaluation["withdrawn"]]
    by_week_4 = int((withdrawn["withdrawal_week"] <= 4).sum())
    by_week_9 = int((withdrawn["withdrawal_week"] <= 9).sum())
    assert detail["week_4"]["withdrawn_left_out"] == by_week_4 < by_week_9 == detail["midterm"]["withdrawn_left_out"]
    evaluated = detail["midterm"]["candidates"][detail["midterm"]["chosen"]]["n"]
    assert evaluated == len(evaluation) - by_week_9


def test_progress_is_reported_from_0_to_100(small_records):
    calls: list[tuple[int, str]] = []
    train(small_records, candidates=("logistic_regression",), progress=lambda p, m: calls.append((p, m)))
    percents = [p for p, _ in calls]
    assert percents[0] == 0 and percents[-1] == 100
    assert percents == sorted(percents)
    assert any("midterm" in m for _, m in calls)


def test_evaluate_gives_the_same_flat_metrics_on_the_held_out_term(trained, small_records):
    metrics = evaluate(trained.model, small_records)
    assert set(trained.metrics) <= set(metrics) | {"detail"}
    assert metrics["detail"]["evaluation_term"] == "2025-1"
    assert metrics["threshold"] == pytest.approx(trained.model.thresholds["midterm"])
    json.dumps(metrics, allow_nan=False)


def test_text_outcomes_from_a_csv_are_understood(small_records):
    as_text = small_records.assign(passed=small_records["passed"].map({True: "true", False: "false"}))
    split = split_by_term(as_text)
    assert len(split.past) == small_records["passed"].notna().sum()


def test_predict_accepts_a_frame_read_back_from_csv(trained, small_records, tmp_path):
    current = small_records[small_records["is_current"]].head(100)
    path = tmp_path / "current.csv"
    current.to_csv(path, index=False)
    scored = trained.model.predict(pd.read_csv(path))
    assert np.allclose(scored["probability"], trained.model.predict(current)["probability"])


def test_predict_probability_is_the_saved_pipeline_probability(trained, small_records):
    """Scoring runs exactly the fitted pipeline: preprocessing from training, then the calibrated model."""
    current = small_records[small_records["is_current"]].head(200)
    for name in trained.model.checkpoints:
        pipeline = trained.model.checkpoint_models[name].pipeline
        expected = pipeline.predict_proba(current)[:, 1]
        assert np.allclose(trained.model.predict(current, name)["probability"], expected)


def test_predict_on_no_rows_returns_an_empty_table(trained, small_records):
    scored = trained.model.predict(small_records.head(0))
    assert scored.empty and list(scored.columns) == list(PREDICTION_COLUMNS)


def test_training_is_reproducible_for_a_seed(trained, small_records):
    again = train(small_records, seed=0)
    assert again.metrics == trained.metrics
    current = small_records[small_records["is_current"]].head(100)
    pdt.assert_frame_equal(again.model.predict(current), trained.model.predict(current))
