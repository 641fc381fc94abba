"""Recommendations: risk band x segment -> action, editable by faculty."""

from __future__ import annotations

import pytest

from ml.at_risk.recommend import DEFAULT_RULES, recommend, recommend_many, validate_rules


def test_high_risk_at_risk_student_gets_an_in_person_meeting_and_tutoring():
    action = recommend("high", "At risk")
    assert "in person" in action and "tutoring" in action


def test_a_segment_the_band_does_not_name_gets_the_band_default():
    assert recommend("high", "Something new") == DEFAULT_RULES["high"]["*"]
    assert recommend("low", "At risk") == DEFAULT_RULES["low"]["*"]


def test_recommend_many_matches_recommend_row_by_row():
    bands = ["high", "medium", "low", "high"]
    segments = ["Disengaged", "At risk", "High performer", "Struggling but engaged"]
    assert list(recommend_many(bands, segments)) == [recommend(b, s) for b, s in zip(bands, segments, strict=True)]


def test_validate_rules_rejects_unknown_bands_and_non_text_actions():
    with pytest.raises(ValueError, match="unknown risk band"):
        validate_rules({"severe": {"*": "call"}})
    with pytest.raises(ValueError, match="action text"):
        validate_rules({"high": {"*": 3}})


def test_model_stores_its_rules_and_predict_accepts_an_override(trained, small_records):
    assert trained.model.rules == DEFAULT_RULES
    current = small_records[small_records["is_current"]].head(100)
    rules = {"high": {"*": "Call today."}, "medium": {"*": "Email."}, "low": {"*": "Nothing."}}
    scored = trained.model.predict(current, rules=rules)
    expected = scored["risk_band"].map({"high": "Call today.", "medium": "Email.", "low": "Nothing."})
    assert (scored["recommendation"] == expected).all()


def test_default_advice_names_only_what_the_institution_records():
    from ml.at_risk.recommend import default_rules

    grades_only = default_rules({"grade_p1", "grade_p2", "absences"})
    text = " ".join(a for band in grades_only.values() for a in band.values())
    assert "LMS" not in text and "attendance" in text
    nothing_recorded = " ".join(a for band in default_rules({"grade_p1"}).values() for a in band.values())
    assert "LMS" not in nothing_recorded and "attendance" not in nothing_recorded
