"""The synthetic campus: reproducible, never double-booked, with the attendance effects and the signals a real
campus has."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from ml.data.campus import (
    CURRENT_WEEK,
    EXAM_WEEKS,
    FITTING_VENUE_TYPES,
    HOLIDAY_WEEK,
    OBSERVATION_COLUMNS,
    SCALES,
    SURVEY_BINS,
    TERM_WEEKS,
    TIMETABLE_COLUMNS,
    VENUE_TYPES,
    generate_campus,
    generate_scale,
    walking_distances,
    walking_minutes,
)
from tests.unit.campus.conftest import MEDIUM

TABLES = ("buildings", "venues", "terms", "sessions", "observations")


def test_same_seed_gives_identical_frames(medium_campus):
    again = generate_campus(**MEDIUM, seed=0)
    for name in TABLES:
        pdt.assert_frame_equal(getattr(medium_campus, name), getattr(again, name))


def test_different_seed_gives_different_data(medium_campus):
    other = generate_campus(**MEDIUM, seed=1)
    assert not other.observations["true_attendance"].equals(medium_campus.observations["true_attendance"])


def test_demo_scale_has_the_promised_size(demo_campus):
    assert len(demo_campus.buildings) == 3
    assert len(demo_campus.venues) == 30
    assert demo_campus.terms["term_code"].tolist() == ["2025-1", "2025-2"]
    per_term = demo_campus.sessions.groupby("term_code")["section_code"].nunique()
    assert per_term.tolist() == [150, 150]


def test_full_scale_is_the_benchmark_campus():
    assert SCALES["full"] == dict(n_buildings=15, n_venues=300, n_sections=2000, n_years=2)
    with pytest.raises(ValueError, match="unknown scale"):
        generate_scale("huge")


def test_no_venue_holds_two_sessions_at_once_and_no_section_meets_twice_at_once(medium_campus):
    sessions = medium_campus.sessions
    assert not sessions.duplicated(["term_code", "venue_code", "weekday", "slot"]).any()
    assert not sessions.duplicated(["term_code", "section_code", "weekday", "slot"]).any()


def test_venues_have_a_safe_capacity_within_their_seats_and_known_types(medium_campus):
    venues = medium_campus.venues
    assert (venues["safe_capacity"] <= venues["capacity"]).all() and (venues["safe_capacity"] > 0).all()
    assert (venues["safe_capacity"] < venues["capacity"]).mean() > 0.3  # many rooms have a lower fire limit
    assert set(venues["venue_type"]) == set(VENUE_TYPES)
    assert 0.5 < venues["accessible"].mean() < 1.0
    assert venues["venue_code"].is_unique
    halls = venues[venues["venue_type"] == "lecture_hall"]["capacity"]
    seminars = venues[venues["venue_type"] == "seminar_room"]["capacity"]
    assert halls.median() > 2 * seminars.median()


def test_sections_mostly_fit_their_room_and_some_are_overbooked_or_nearly_empty(medium_campus):
    timetable = medium_campus.timetable()
    fill = timetable["registered"] / timetable["capacity"]
    assert 0.7 < (fill <= 1.0).mean() < 0.95
    assert (fill > 1.0).mean() > 0.05
    assert (fill < 0.4).mean() > 0.03


def test_every_session_meets_in_a_room_of_a_fitting_type_and_accessible_when_needed(medium_campus):
    timetable = medium_campus.timetable()
    pairs = zip(timetable["needs_type"], timetable["venue_type"], strict=True)
    assert all(venue_type in FITTING_VENUE_TYPES[need] for need, venue_type in pairs)
    assert timetable.loc[timetable["needs_accessible"], "accessible"].all()
    assert timetable["needs_accessible"].mean() > 0.03
    assert (timetable["needs_type"] != timetable["venue_type"]).any()  # a seminar left in a hall


def test_big_sections_are_mostly_first_years(medium_campus):
    timetable = medium_campus.timetable()
    by_level = timetable.groupby("level")["registered"].median()
    assert by_level.index.tolist() == [1, 2, 3, 4]
    assert by_level[1] > 1.5 * by_level[4]
    assert timetable["course_code"].str[3].astype(int).equals(timetable["level"])


def test_past_terms_are_observed_throughout_and_the_current_one_to_the_current_week(medium_campus):
    frame = medium_campus.observation_frame()
    weeks = frame.groupby("term_code")["week"].max()
    current = medium_campus.terms.loc[medium_campus.terms["is_current"], "term_code"].item()
    assert weeks[current] == CURRENT_WEEK
    assert (weeks.drop(current) == TERM_WEEKS).all()


def test_frames_speak_the_shared_columns(demo_campus):
    assert list(demo_campus.timetable().columns) == list(TIMETABLE_COLUMNS)
    assert list(demo_campus.observation_frame().columns) == [*OBSERVATION_COLUMNS, "true_attendance"]


def test_observation_dates_fall_on_the_sessions_weekday_in_their_week(demo_campus):
    frame = demo_campus.observation_frame()
    assert (frame["date"].dt.day_of_week == frame["weekday"]).all()
    start = frame["term_code"].map(demo_campus.terms.set_index("term_code")["start_date"])
    assert ((frame["date"] - start).dt.days // 7 + 1 == frame["week"]).all()


# --- attendance effects (true show-up rate of sessions that went ahead)


def mean_show_up(held: pd.DataFrame, mask) -> float:
    return float(held.loc[mask, "show_up"].mean())


def test_attendance_declines_over_the_term(held):
    assert mean_show_up(held, held["week"].between(2, 5)) > mean_show_up(held, held["week"].between(10, 13)) + 0.04


def test_attendance_dips_in_holiday_midterm_and_exam_weeks(held):
    normal = mean_show_up(held, held["week"].isin([5, 6, 9, 10]))
    assert mean_show_up(held, held["week"] == HOLIDAY_WEEK) < normal - 0.02
    assert mean_show_up(held, held["week"] == HOLIDAY_WEEK + 1) < normal - 0.02
    assert mean_show_up(held, held["week"].isin(EXAM_WEEKS)) < normal - 0.1


def test_early_mornings_and_fridays_are_less_attended(held):
    midweek = held["weekday"].between(1, 3)
    assert mean_show_up(held, midweek & (held["slot"] == 0)) < mean_show_up(held, midweek & (held["slot"] == 1)) - 0.04
    assert mean_show_up(held, held["weekday"] == 4) < mean_show_up(held, midweek) - 0.03


def test_later_years_and_smaller_sections_attend_better(held):
    assert mean_show_up(held, held["level"] == 4) > mean_show_up(held, held["level"] == 1) + 0.05
    big = held["registered"] >= held["registered"].quantile(0.8)
    small = held["registered"] <= held["registered"].quantile(0.2)
    assert mean_show_up(held, small) > mean_show_up(held, big) + 0.05


def test_a_days_weather_is_shared_by_its_sessions(held):
    """Morning and afternoon sessions of one day deviate together from their section's usual show-up, beyond
    what the week of term and the weekday explain."""
    past = held[held["term_index"] < held["term_index"].max()]  # whole terms: a section's mean spans every week
    deviation = past["show_up"] - past.groupby(["term_code", "section_code"])["show_up"].transform("mean")
    halves = deviation.groupby([past["term_code"], past["week"], past["weekday"], past["slot"] < 3]).mean().unstack()
    residual = halves - halves.groupby(level=["week", "weekday"]).transform("mean")
    assert residual[True].corr(residual[False]) > 0.5  # about 0.1 without shared weather


def test_some_sessions_do_not_go_ahead(medium_campus):
    frame = medium_campus.observation_frame()
    assert 0.01 < frame["cancelled"].mean() < 0.05
    holiday = frame[frame["week"] == HOLIDAY_WEEK]
    by_day = holiday.groupby(["term_code", "weekday"])["cancelled"].mean()
    assert (by_day.groupby("term_code").max() == 1.0).all()  # a public holiday: every session that day
    cancelled = frame[frame["cancelled"]]
    assert (cancelled["true_attendance"] == 0).all()
    assert cancelled["survey_pct"].isna().all()
    assert (cancelled.loc[cancelled["count_method"] == "card", "head_count"] == 0).all()
    assert cancelled.loc[cancelled["count_method"] != "card", "head_count"].isna().all()


# --- what the campus measures


def test_head_counts_come_from_card_swipes_or_manual_counts(medium_campus):
    frame = medium_campus.observation_frame()
    counted = frame[frame["head_count"].notna() & ~frame["cancelled"]]
    assert set(counted["count_method"]) == {"card", "manual"}
    card = counted[counted["count_method"] == "card"]
    assert (card["head_count"] <= card["true_attendance"]).all()  # some students never tap in
    assert card["head_count"].sum() < card["true_attendance"].sum()
    assert np.corrcoef(counted["head_count"], counted["true_attendance"])[0, 1] > 0.97
    assert 0.6 < frame["head_count"].notna().mean() < 0.9


def test_survey_bins_are_fifths_of_the_room(medium_campus):
    frame = medium_campus.observation_frame()
    surveyed = frame[frame["survey_pct"].notna()]
    assert set(surveyed["survey_pct"].unique()) <= set(SURVEY_BINS)
    share = np.minimum(surveyed["true_attendance"] / surveyed["capacity"], 1.0) * 100
    assert (np.abs(share - surveyed["survey_pct"]) <= 12.5 + 1e-9).all()
    assert 0.05 < len(surveyed) / len(frame) < 0.4


def test_sensors_exist_in_some_venues_only_and_track_attendance(medium_campus):
    frame = medium_campus.observation_frame()
    per_venue = frame.groupby("venue_code")[["wifi_avg", "co2_ppm"]].apply(lambda g: g.notna().mean())
    for signal in ("wifi_avg", "co2_ppm"):
        assert ((per_venue[signal] == 0) | (per_venue[signal] > 0.9)).all()  # a venue has the sensor or not
        assert 0.2 < (per_venue[signal] > 0).mean() < 0.8
    wifi = frame[frame["wifi_avg"].notna()]
    assert (wifi["wifi_max"] >= wifi["wifi_avg"]).all()
    assert np.corrcoef(wifi["wifi_avg"], wifi["true_attendance"])[0, 1] > 0.9
    co2 = frame[frame["co2_ppm"].notna()]
    assert co2["co2_ppm"].min() > 350
    assert np.corrcoef(co2["co2_ppm"], co2["true_attendance"] / co2["capacity"])[0, 1] > 0.8


def test_every_observation_carries_some_signal_or_a_cancellation(medium_campus):
    frame = medium_campus.observation_frame()
    signals = frame[["head_count", "survey_pct", "wifi_avg", "co2_ppm"]].notna().any(axis=1)
    assert (signals | frame["cancelled"]).all()


# --- walking


def test_walking_distances_are_symmetric_and_campus_sized(medium_campus):
    metres = walking_distances(medium_campus.buildings)
    assert list(metres.index) == list(metres.columns) == medium_campus.buildings["building_code"].tolist()
    values = metres.to_numpy()
    assert (values == values.T).all() and (np.diag(values) == 0).all()
    off = values[~np.eye(len(values), dtype=bool)]
    assert off.min() > 0 and off.max() < 2000


def test_walking_minutes_at_a_normal_pace():
    assert walking_minutes(0) == 0
    assert walking_minutes(30) == 1
    assert walking_minutes(400) == 5
