"""The synthetic academic generator: reproducible, realistic enough, and speaking the records contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from ml.data.academic import CURRENT_WEEK, SCALES, generate_academic, generate_scale
from ml.data.academic_fields import KEY_FIELDS, OUTCOME_FIELDS, SIGNALS, STUDENT_FIELDS, TERM_WEEKS, WITHDRAWAL_FIELDS


def test_same_seed_gives_identical_frames(small_academic, small_scale):
    again = generate_academic(**small_scale, seed=0)
    for name in ("terms", "courses", "students", "enrollments"):
        pdt.assert_frame_equal(getattr(small_academic, name), getattr(again, name))


def test_different_seed_gives_different_data(small_records, small_scale):
    other = generate_academic(**small_scale, seed=1).records()
    assert not small_records["final_grade"].equals(other["final_grade"])


def test_fail_rate_is_between_20_and_30_percent(small_records):
    past = small_records[~small_records["is_current"]]
    fail_rate = 1.0 - past["passed"].astype(float).mean()
    assert 0.20 <= fail_rate <= 0.30


def test_only_the_last_term_is_current(small_academic):
    terms = small_academic.terms.sort_values("term_index")
    assert terms["is_current"].tolist() == [False] * (len(terms) - 1) + [True]
    assert terms["term_code"].tolist() == ["2024-1", "2024-2", "2025-1", "2025-2"]


def test_current_term_has_no_outcome_but_all_checkpoint_signals(small_records):
    current = small_records[small_records["is_current"]]
    assert current["passed"].isna().all()
    assert current["final_grade"].isna().all()
    for signal in SIGNALS:
        if signal.known_at_week <= CURRENT_WEEK and signal.name not in ("grade_p1", "grade_p2"):
            assert current[signal.name].notna().mean() > 0.85, signal.name


def test_current_term_weekly_attendance_stops_at_the_current_week(small_academic):
    enr = small_academic.enrollments
    current_codes = small_academic.terms.loc[small_academic.terms["is_current"], "term_code"]
    current = enr[enr["term_code"].isin(current_codes)]["attendance_weekly"]
    past = enr[~enr["term_code"].isin(current_codes)]["attendance_weekly"]
    assert all(len(w) == TERM_WEEKS for w in current.head(50))
    assert all(w[CURRENT_WEEK - 1] is not None and w[CURRENT_WEEK:] == [None] * 5 for w in current.head(50))
    assert all(None not in w and all(0.0 <= x <= 1.0 for x in w) for w in past.head(50))


def test_passed_is_nullable_boolean_and_matches_pass_mark(small_records):
    assert isinstance(small_records["passed"].dtype, pd.BooleanDtype)
    past = small_records[~small_records["is_current"]]
    expected = past["final_grade"] >= past["pass_mark"]
    assert (past["passed"].astype(bool) == expected).all()


def test_records_frame_follows_the_contract(small_records):
    expected = [*KEY_FIELDS, "term_index", "is_current", "pass_mark", *STUDENT_FIELDS]
    expected += [s.name for s in SIGNALS] + list(OUTCOME_FIELDS) + list(WITHDRAWAL_FIELDS)
    assert list(small_records.columns) == expected
    assert "difficulty" not in small_records.columns  # latent: never shown to the model
    for name in KEY_FIELDS:
        assert pd.api.types.is_string_dtype(small_records[name])
    for signal in SIGNALS:
        assert small_records[signal.name].dtype == np.float64
    assert small_records["student_id"].str.fullmatch(r"S\d{6}").all()


def test_students_are_17_to_45_and_mostly_young(small_academic):
    age = small_academic.students["age"]
    assert age.between(17, 45).all()
    assert age.median() < 22
    assert set(small_academic.students["sex"]) == {"F", "M"}
    assert 0.02 < small_academic.students["prior_gpa"].isna().mean() < 0.12


def test_most_students_take_three_to_five_courses_a_term(small_academic):
    per_term = small_academic.enrollments.groupby(["student_id", "term_code"]).size()
    assert per_term.between(3, 5).mean() > 0.95


def test_signals_have_a_few_percent_missing_values(small_records):
    for signal in SIGNALS:
        if signal.name in ("grade_p1", "grade_p2"):
            continue  # left for imported institutions
        share = small_records[signal.name].isna().mean()
        assert 0.02 <= share <= 0.12, (signal.name, share)


def test_lms_minutes_have_a_heavy_tail_and_absurd_outliers(small_records):
    minutes = small_records["lms_minutes_w8"].dropna()
    assert minutes.max() > 5_000
    assert minutes.mean() > minutes.median()


def test_most_courses_pass_at_50(small_academic):
    marks = small_academic.courses["pass_mark"]
    assert set(marks) <= {50.0, 60.0}
    assert (marks == 50.0).mean() > 0.7
    assert small_academic.courses["course_code"].is_unique


def test_scales_and_unknown_scale_name():
    assert SCALES["demo"] == dict(n_students=1200, n_courses=40, n_terms=4)
    assert SCALES["full"] == dict(n_students=30000, n_courses=2000, n_terms=6)
    with pytest.raises(ValueError, match="unknown scale"):
        generate_scale("huge")


def test_some_disengaged_students_withdraw_and_nothing_is_recorded_after(small_records):
    withdrawn = small_records[small_records["withdrawn"]]
    assert 0.01 < small_records["withdrawn"].mean() < 0.06
    assert withdrawn["withdrawal_week"].between(1, 14).all()
    past = withdrawn[~withdrawn["is_current"]]
    assert not past["passed"].astype(bool).any() and past["final_grade"].isna().all()
    after_midterm = withdrawn[withdrawn["withdrawal_week"] <= 9]
    assert after_midterm["midterm"].isna().all()
