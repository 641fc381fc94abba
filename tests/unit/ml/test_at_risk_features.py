"""Checkpoint features: what each checkpoint may see, and preprocessing fitted on training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from ml.at_risk.features import (
    CHECKPOINTS,
    IQRClipper,
    MedianImputer,
    RecordFeatures,
    preprocessing_steps,
    signals_known_by,
)
from ml.data.academic_fields import SIGNALS_BY_NAME


def _frame(**columns) -> pd.DataFrame:
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in columns.items()})


def test_checkpoints_are_ordered_and_end_after_the_midterm():
    weeks = list(CHECKPOINTS.values())
    assert weeks == sorted(weeks) and len(set(weeks)) == len(weeks) >= 3
    assert weeks[-1] >= SIGNALS_BY_NAME["midterm"].known_at_week > weeks[-2]


def test_week_4_features_use_no_signal_known_later(small_records):
    names = RecordFeatures(week=4).fit(small_records).feature_names_out_
    later = {s for s, sig in SIGNALS_BY_NAME.items() if sig.known_at_week > 4}
    assert later.isdisjoint(names)
    assert {"quiz_1", "attendance_w4", "assignment_1"} <= set(names)
    assert "attendance_trend" not in names  # needs weeks 5-8


def test_imputed_value_is_the_training_median_not_the_scored_batch_median(small_records):
    train = small_records[small_records["term_index"] == 0]
    pipe = Pipeline(preprocessing_steps(week=9)[:3]).fit(train)
    other = small_records[small_records["term_index"] == 2].copy()
    other["midterm"] = np.nan
    other.loc[other.index[:10], "midterm"] = 0.0  # the scored batch's own median would be 0
    out = pipe.transform(other)
    assert out.loc[other.index[10:], "midterm"].unique().tolist() == [train["midterm"].median()]
    assert (out.loc[other.index[10:], "midterm__missing"] == 1.0).all()


def test_attendance_is_capped_at_100_and_scores_to_0_100():
    rows = _frame(attendance_w4=[130.0, 50.0], quiz_1=[-5.0, 120.0], lms_logins_w4=[-3.0, 4.0])
    out = RecordFeatures(week=4).fit(rows).transform(rows)
    assert out["attendance_w4"].tolist() == [100.0, 50.0]
    assert out["quiz_1"].tolist() == [0.0, 100.0]
    assert out["lms_logins_w4"].tolist() == [0.0, 4.0]


def test_iqr_fences_come_from_training_rows():
    train = _frame(lms_minutes_w4=np.arange(100, dtype=float), quiz_1=np.arange(100, dtype=float))
    clipper = IQRClipper(k=3.0).fit(train)
    q1, q3 = np.percentile(np.arange(100), [25, 75])
    scored = clipper.transform(_frame(lms_minutes_w4=[10_000.0, 20.0], quiz_1=[0.0, 99.0]))
    assert scored["lms_minutes_w4"].tolist() == [q3 + 3 * (q3 - q1), 20.0]
    assert "quiz_1" not in clipper.bounds_  # a low score is a signal, not an outlier


def test_engineered_features_follow_their_definitions():
    rows = _frame(
        quiz_1=[40.0, np.nan],
        quiz_2=[60.0, np.nan],
        attendance_w4=[100.0, 80.0],
        attendance_w8=[75.0, 80.0],
        assignment_2=[55.0, 70.0],
        lms_minutes_w8=[600.0, 300.0],
        lms_logins_w8=[10.0, 20.0],
    )
    out = RecordFeatures(week=8).fit(rows).transform(rows)
    assert out["quiz_total"].tolist()[0] == 100.0
    assert out["quiz_mean"].tolist()[0] == 50.0
    assert out["quiz_std"].tolist()[0] == 10.0
    assert out["quiz_pct"].tolist() == [50.0, 0.0]  # a skipped quiz counts as zero points
    assert np.isnan(out["quiz_mean"].iloc[1])
    # weeks 5-8 attended 50 % vs 100 % in weeks 1-4
    assert out["attendance_trend"].tolist() == [-50.0, 0.0]
    assert out["latest_grade"].tolist() == [55.0, 70.0]  # assignment 2 is the latest by week 8
    assert out["engagement_index"].notna().all()


def test_absent_or_all_missing_signals_are_dropped(small_records):
    rows = small_records.drop(columns=["quiz_1"]).assign(attendance_w4=np.nan)
    names = RecordFeatures(week=4).fit(rows).feature_names_out_
    assert "quiz_1" not in names and "attendance_w4" not in names
    assert "quiz_mean" not in names  # no quizzes known by week 4 any more


def test_extra_fields_only_once_dated_and_typed_by_content(small_records):
    rows = small_records.assign(x_scholarship=(small_records.index % 2).astype(float), x_campus="North")
    assert not any(n.startswith("x_") for n in RecordFeatures(week=9).fit(rows).feature_names_out_)
    dated = {"x_scholarship": 0, "x_campus": 0}
    step = RecordFeatures(week=4, known_weeks=dated).fit(rows)
    assert "x_scholarship" in step.numeric_fields_ and "x_campus" in step.categorical_fields_


def test_a_field_dated_after_the_checkpoint_is_not_used(small_records):
    """A whole-term absences total declared known at the end of the term never feeds an early checkpoint."""
    step = RecordFeatures(week=8, known_weeks={"absences": 14}).fit(small_records)
    assert "absences" not in step.signals_ and "absences" in RecordFeatures(week=8).fit(small_records).signals_


def test_who_the_student_is_is_known_at_every_checkpoint(small_records):
    step = RecordFeatures(week=4).fit(small_records)
    assert {"age", "prior_gpa", "prior_failures"} <= set(step.numeric_fields_)
    assert {"sex", "programme"} <= set(step.categorical_fields_)


def test_missing_indicator_only_where_missingness_tells_about_the_outcome():
    rng = np.random.default_rng(0)
    n = 4000
    y = rng.random(n) < 0.25
    skipped = rng.random(n) < np.where(y, 0.15, 0.02)  # failing students skip quizzes
    lost = rng.random(n) < 0.05  # records lost at random
    rows = _frame(quiz_1=np.where(skipped, np.nan, 50.0), attendance_w4=np.where(lost, np.nan, 80.0))
    imputer = MedianImputer().fit(rows, y.astype(int))
    assert imputer.indicators_ == ["quiz_1"]


def test_unknown_category_at_scoring_time_is_ignored(small_records):
    pipe = Pipeline(preprocessing_steps(week=4)).fit(small_records)
    scored = small_records.head(3).assign(programme="Astrology")
    out = pipe.transform(scored)
    names = list(pipe.get_feature_names_out())
    programme_columns = [i for i, n in enumerate(names) if n.startswith("programme_")]
    assert out[:, programme_columns].sum() == 0.0


@pytest.mark.parametrize("week", [4, 8, 9])
def test_signals_known_by_respects_known_at_week(week):
    known = set(signals_known_by(week))
    assert known == {name for name, signal in SIGNALS_BY_NAME.items() if signal.known_at_week <= week}
    assert "attendance_w4" in known and ("attendance_w8" in known) == (week >= 8)
    assert ("midterm" in known) == (week >= 9)
