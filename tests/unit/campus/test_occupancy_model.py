"""The attendance model on generated campuses: beside its naive baselines on later weeks it never saw, with
intervals that hold what they promise."""

from __future__ import annotations

import numpy as np
import pytest

from ml.evaluation import REGRESSION_HEADLINE
from ml.occupancy import model as occupancy
from ml.occupancy.baselines import BASELINE_LABELS
from tests.unit.campus.conftest import MEDIUM

COVERAGE_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def trained(observations):
    return occupancy.train(observations, seed=0)


def test_metrics_are_the_contracts_flat_figures_beside_the_best_baseline(trained):
    metrics = trained.metrics
    for key in REGRESSION_HEADLINE:
        assert isinstance(metrics[key], float) and isinstance(metrics[f"baseline_{key}"], float)
    detail = metrics["detail"]
    assert set(detail["baselines"]) == set(BASELINE_LABELS) and set(detail["candidates"]) == set(occupancy.CANDIDATES)
    assert metrics["baseline_wape"] == detail["baselines"][detail["best_baseline"]]["wape"]
    assert detail["gate"]["metric"] == "wape" and detail["gate"]["higher_is_better"] is False
    assert set(detail["gate"]["groups"]) == {"lab", "lecture_hall", "seminar_room"}
    assert metrics["beats_baseline"] == detail["gate"]["beats_baseline"]


def test_every_candidate_forecasts_better_than_the_naive_rules_on_the_test_weeks(trained):
    detail = trained.metrics["detail"]
    best_naive = min(figures["wape"] for figures in detail["baselines"].values())
    for name, figures in detail["candidates"].items():
        assert figures["wape"] < best_naive, name
    assert detail["model"]["r2"] > 0.9


def test_intervals_reach_their_nominal_coverage_on_the_test_weeks(trained):
    detail = trained.metrics["detail"]
    level = detail["level"]
    assert abs(detail["model"]["interval_coverage"] - level) < COVERAGE_TOLERANCE
    assert abs(detail["later_weeks"]["interval_coverage"] - level) < COVERAGE_TOLERANCE
    for size, figures in detail["groups"]["section size"].items():
        assert abs(figures["interval_coverage"] - level) < 2 * COVERAGE_TOLERANCE, size


def test_the_verdict_names_the_model_the_rule_and_the_coverage(trained):
    sentence = trained.metrics["detail"]["sentence"]
    assert "test weeks (2025-2 week 6 to 2025-2 week 9)" in sentence
    assert "WAPE" in sentence and "intervals held" in sentence
    assert ("beats that rule" in sentence) == trained.metrics["beats_baseline"]


def test_a_rule_that_is_as_good_as_the_model_is_reported_so(trained, observations):
    from ml.occupancy.model import verdict

    detail = {**trained.metrics["detail"]}
    detail["gate"] = {
        **detail["gate"],
        "groups": {k: {**g, "beats_baseline": False} for k, g in detail["gate"]["groups"].items()},
    }
    assert "NO BETTER than that rule" in verdict(detail)


def test_the_saved_model_forecasts_rows_with_bounds_around_the_forecast(trained, observations):
    model = trained.model
    rows = observations[(observations["term_index"] == 1) & (observations["week"] == 9)].assign(as_of=9, week=12)
    forecast = model.forecast(rows, model.builder.history(observations))
    assert len(forecast) == len(rows) and forecast.index.equals(rows.index)
    assert (forecast["lower"] <= forecast["attendance"]).all() and (forecast["attendance"] <= forecast["upper"]).all()
    assert (forecast["lower"] >= 0).all()
    assert model.interval.quantiles["later"] >= model.interval.quantiles["next"] * 0.9


def test_evaluate_gives_the_same_keys_as_training(trained, observations):
    evaluated = occupancy.evaluate(trained.model, observations)
    assert set(evaluated) == set(trained.metrics)
    assert evaluated["detail"]["split"] == trained.metrics["detail"]["split"]


def test_the_data_summary_says_what_was_measured_and_when(trained):
    summary = trained.data_summary
    assert summary["test_from"] == {"term_code": "2025-2", "week": 6}
    assert summary["last"] == {"term_code": "2025-2", "week": 9}
    assert summary["target_sources"]["head count"] > summary["target_sources"]["survey"] > 0
    assert len(summary["data_hash"]) == 64


def test_a_campus_with_survey_bins_only_trains_on_them_and_says_so(observations):
    surveys = observations.assign(head_count=np.nan, wifi_avg=np.nan, wifi_max=np.nan)
    result = occupancy.train(surveys, candidates=("linear_regression",))
    assert result.data_summary["target_sources"] == {"head count": 0, "survey": pytest.approx(867, abs=50), "Wi-Fi": 0}
    assert result.params["sensors"] == ["co2_last"] and result.params["wifi_per_person"] is None


def test_rooms_with_wifi_but_no_counter_are_counted_by_their_devices(observations):
    mixed = observations.assign(survey_pct=np.nan)
    mixed.loc[mixed["venue_code"].str.startswith("A"), "head_count"] = np.nan  # building A has no card readers
    result = occupancy.train(mixed, candidates=("linear_regression",))
    sources = result.data_summary["target_sources"]
    assert sources["Wi-Fi"] > 1000 and sources["survey"] == 0
    assert result.metrics["wape"] < result.metrics["baseline_wape"]


def test_unknown_candidates_are_refused(observations):
    with pytest.raises(ValueError, match="candidates"):
        occupancy.train(observations, candidates=("neural_net",))


@pytest.mark.slow
def test_on_a_bigger_campus_the_model_beats_both_baselines_in_every_room_type():
    from ml.data.campus import generate_campus

    frame = generate_campus(**MEDIUM, seed=1).observation_frame().drop(columns="true_attendance")
    result = occupancy.train(frame, seed=0)
    assert result.metrics["beats_baseline"], result.metrics["detail"]["gate"]
    assert abs(result.metrics["interval_coverage"] - 0.9) < 0.03
