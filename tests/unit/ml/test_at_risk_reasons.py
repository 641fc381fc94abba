"""Reasons: SHAP contributions mapped back to fields, written with the student's value and a reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.linear_model import LogisticRegression

from ml.at_risk.candidates import TermCalibratedClassifier, raw_score
from ml.at_risk.reasons import describe, feature_sources, top_reasons


def test_indicators_and_one_hot_columns_belong_to_their_field():
    names = ["quiz_1", "quiz_1__missing", "quiz_total", "quiz_pct", "sex_F", "sex_M", "programme_Business"]
    sources = feature_sources(names, n_numeric=4, categorical_fields=["sex", "programme"])
    assert sources == ["quiz_1", "quiz_1", "quiz_pct", "quiz_pct", "sex", "sex", "programme"]


def test_top_reasons_sum_a_field_and_keep_only_pushes_towards_fail():
    contributions = np.array([[0.3, 0.4, -1.0, 0.2], [-0.5, -0.1, -0.2, -0.3]])
    reasons = top_reasons(contributions, ["a", "a", "b", "c"], top=3)
    a, c = reasons.fields.index("a"), reasons.fields.index("c")
    assert reasons.index[0].tolist() == [a, c, -1]
    assert reasons.contribution[0, 0] == pytest.approx(0.7)
    assert reasons.index[1].tolist() == [-1, -1, -1]  # nothing pushes this row towards fail


def test_reason_text_has_the_value_and_the_course_median():
    features = pd.DataFrame({"attendance_w8": [54.0] + [82.0] * 5 + [40.0]})
    courses = pd.Series(["MAT101"] * 6 + ["PHY201"])
    reasons = top_reasons(np.full((7, 1), 0.5), ["attendance_w8"], top=3)
    text = describe(reasons, features, courses, {"attendance_w8": 87.5})["text"]
    assert text[0, 0] == "attendance (weeks 1-8): 54 % (course median 82 %)"
    # a course with fewer than 5 rows is compared with the training median
    assert text[6, 0] == "attendance (weeks 1-8): 40 % (median in past terms 88 %)"


def test_missing_value_is_said_plainly():
    features = pd.DataFrame({"quiz_2": [np.nan]})
    reasons = top_reasons(np.array([[0.4]]), ["quiz_2"])
    assert describe(reasons, features, None, {"quiz_2": 68.0})["text"][0, 0] == (
        "quiz 2: not recorded (median in past terms 68)"
    )


def test_lightgbm_reasons_are_treeshap_values_that_add_up_to_the_score():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = (X[:, 0] - X[:, 1] + rng.normal(0, 0.5, 600) > 0).astype(int)
    clf = TermCalibratedClassifier(LGBMClassifier(n_estimators=20, verbose=-1, n_jobs=1)).fit(X, y)
    contributions = clf.contributions(X[:5])
    expected = clf.estimator_.booster_.predict(X[:5], pred_contrib=True)[:, -1]
    assert contributions.sum(axis=1) + expected == pytest.approx(raw_score(clf.estimator_, X[:5]))


def test_logistic_reasons_are_coefficient_times_distance_from_the_training_mean():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = TermCalibratedClassifier(LogisticRegression()).fit(X, y)
    row = np.array([[2.0, 0.0, -1.0]])
    expected = clf.estimator_.coef_[0] * (row[0] - X.mean(axis=0))
    assert clf.contributions(row)[0] == pytest.approx(expected)


def test_predicted_reasons_for_at_risk_students_are_plain_sentences(trained, small_records):
    current = small_records[small_records["is_current"]]
    scored = trained.model.predict(current)
    flagged = scored.loc[scored["at_risk"], "reasons"]
    assert flagged.str.contains("median").mean() > 0.9
    assert flagged.str.count("; ").max() == 2  # three reasons at most
    assert "course median" in " ".join(flagged.head(50))  # the batch has >= 5 rows per course


def test_explain_returns_dicts_with_value_reference_and_text(trained, small_records):
    current = small_records[small_records["is_current"]]
    scored = trained.model.predict(current)
    rows = current.loc[scored.sort_values("probability", ascending=False).index[:5]]
    explained = trained.model.explain(rows, "midterm", top=3)
    assert len(explained) == 5
    for reasons in explained:
        assert 1 <= len(reasons) <= 3
        contributions = [r["contribution"] for r in reasons]
        assert contributions == sorted(contributions, reverse=True) and contributions[0] > 0
        for r in reasons:
            assert set(r) == {"feature", "label", "value", "reference", "contribution", "text"}
            assert r["text"].startswith(r["label"])


def test_a_text_field_is_named_with_its_value():
    features = pd.DataFrame({"x_campus": np.array(["North", "South"], dtype=object)})
    reasons = top_reasons(np.array([[0.3], [0.2]]), ["x_campus"])
    assert describe(reasons, features, None, {})["text"][:, 0].tolist() == ["campus: North", "campus: South"]


def test_latest_grade_is_not_repeated_next_to_the_grade_it_restates():
    features = pd.DataFrame({"midterm": [12.0, 30.0], "latest_grade": [12.0, 30.0], "quiz_mean": [20.0, 25.0]})
    contributions = np.array([[0.9, 0.8, 0.1], [0.2, 0.8, 0.1]])
    reasons = top_reasons(contributions, ["midterm", "latest_grade", "quiz_mean"], top=3)
    medians = {"midterm": 40.0, "latest_grade": 41.0, "quiz_mean": 55.0}
    text = describe(reasons, features, None, medians, keep=2)["text"]
    assert text[0].tolist() == [
        "midterm: 12 (median in past terms 40)",
        "average quiz score so far: 20 (median in past terms 55)",
    ]
    assert text[1].tolist() == [
        "midterm: 30 (median in past terms 40)",
        "average quiz score so far: 25 (median in past terms 55)",
    ]
