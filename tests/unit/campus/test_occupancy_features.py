"""What the facilities models may read: measured attendance from whichever signal exists, history only up to the
cutoff, and a split that keeps the future out of training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.occupancy.dataset import InsufficientDataError, example_sets, examples, period_key, time_split
from ml.occupancy.features import (
    HISTORY_FEATURES,
    TARGET_SOURCES,
    FeatureBuilder,
    learn_wifi_per_person,
    measured_attendance,
)


@pytest.fixture(scope="module")
def builder(observations) -> FeatureBuilder:
    return FeatureBuilder().fit(observations)


def test_head_counts_come_first_then_surveys_then_wifi():
    frame = pd.DataFrame(
        {
            "head_count": [30, np.nan, np.nan, np.nan, 12],
            "survey_pct": [50, 75, np.nan, np.nan, np.nan],
            "capacity": [40, 40, 40, 40, 40],
            "wifi_avg": [29, np.nan, 20, np.nan, np.nan],
            "cancelled": [False, False, False, False, True],
        }
    )
    value, source = measured_attendance(frame, wifi_per_person=0.9)
    np.testing.assert_allclose(value[:3], [30, 30, 18])
    assert np.isnan(value[3:]).all()  # nothing measured; cancelled is not attendance
    assert [TARGET_SOURCES[s] for s in source[:3]] == ["head count", "survey", "Wi-Fi"] and list(source[3:]) == [-1, -1]


def test_wifi_counts_people_only_once_learnt_where_counts_overlap(observations):
    ratio = learn_wifi_per_person(observations)
    assert 0.8 < ratio < 1.1  # the generator: ~1.15 devices per person seen at 85 %, plus background devices
    sensors_only = observations.drop(columns=["head_count", "survey_pct"])
    assert learn_wifi_per_person(sensors_only) is None
    value, _ = measured_attendance(sensors_only, None)
    assert np.isnan(value).all()  # Wi-Fi alone cannot say how many people were there


def test_sensor_features_exist_only_when_the_campus_has_the_sensors(observations):
    assert FeatureBuilder().fit(observations).sensors == ("wifi_last", "co2_last")
    counts_only = observations.assign(wifi_avg=np.nan, wifi_max=np.nan, co2_ppm=np.nan)
    fitted = FeatureBuilder().fit(counts_only)
    assert fitted.sensors == () and "wifi_last" not in fitted.columns


def test_features_never_read_the_week_they_forecast_or_later(observations, builder):
    found = examples(observations, builder, builder.history(observations), horizon="mixed", seed=0)
    assert (found.rows["as_of"] < found.rows["week"]).all()
    # Rewrite every measurement of the current term from week 8 on: rows seen from week 7 or earlier do not move.
    future = (observations["term_index"] == 1) & (observations["week"] >= 8)
    changed = observations.copy()
    changed.loc[future, ["head_count", "survey_pct", "wifi_avg", "co2_ppm"]] *= 3
    again = examples(changed, builder, builder.history(changed), horizon="mixed", seed=0)
    early = (found.rows["as_of"] < 8).to_numpy() & (found.rows["term_index"] == 1).to_numpy()
    np.testing.assert_array_equal(found.X[early], again.X[early])
    assert not np.allclose(np.nan_to_num(found.X[~early]), np.nan_to_num(again.X[~early]))


def test_history_is_missing_before_anything_is_measured(observations, builder):
    found = examples(observations, builder, builder.history(observations), horizon="next")
    first = found.rows[(found.rows["term_index"] == 0) & (found.rows["week"] == 1)].index
    columns = [builder.columns.index(name) for name in ("section_rate", "section_last", "course_rate")]
    assert len(first) and np.isnan(found.X[np.ix_(first, columns)]).all()
    later = found.rows[(found.rows["term_index"] == 1) & (found.rows["week"] == 5)].index
    assert np.isfinite(found.X[np.ix_(later, columns)]).mean() > 0.9


def test_the_split_trains_on_the_past_calibrates_next_and_tests_on_the_latest_weeks(observations, builder):
    split = time_split(observations, builder, test_weeks=4, calibration_weeks=3)
    sets = example_sets(observations, builder, builder.history(observations), split, seed=0)
    periods = {name: sets["mixed"][name].rows["period"] for name in ("train", "calibration", "test")}
    assert periods["train"].max() < periods["calibration"].min() <= periods["calibration"].max() < periods["test"].min()
    assert periods["test"].nunique() == 4 and periods["calibration"].nunique() == 3
    assert periods["test"].max() == period_key(1, 9)  # the current term's last observed week
    shifted = split.shifted()
    assert shifted.test_start == len(split.periods) and shifted.calibration_start == len(split.periods) - 3


def test_too_few_measured_weeks_say_how_many_are_needed(observations, builder):
    early = observations[(observations["term_index"] == 1) & (observations["week"] <= 6)]
    with pytest.raises(InsufficientDataError, match="at least 9 weeks"):
        time_split(early, builder)


def test_one_row_vector_is_the_batch_frame_row(observations, builder):
    history = builder.history(observations)
    rows = observations[(observations["term_index"] == 1) & (observations["week"] == 9)].head(5).assign(as_of=7)
    frame = builder.frame(rows, history)
    for i, (_, row) in enumerate(rows.iterrows()):
        values = {**row.to_dict(), **frame.iloc[i][list(HISTORY_FEATURES) + list(builder.sensors)].to_dict()}
        np.testing.assert_array_equal(builder.vector(values)[0], frame.iloc[i].to_numpy(dtype=float))
