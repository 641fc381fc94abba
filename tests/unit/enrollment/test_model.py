"""Walk-forward training on generated census years: never on the future, figures on counts, SHAP that adds up,
intervals near their nominal coverage, and an artifact that loads back to the same forecasts."""

from __future__ import annotations

import numpy as np
import pytest

from ml.enrollment import model as enrollment_model
from ml.enrollment.artifact import EnsembleFormat
from ml.enrollment.explain import reasons, shap_values
from ml.enrollment.features import Examples
from ml.enrollment.model import CensusData, all_examples, held_out_years, stage_figures


@pytest.fixture(scope="module")
def trained(generated_panel, monkeypatch_module):
    calls = []
    fit = enrollment_model.fit_stage

    def recording(found, **kwargs):
        calls.append((found.stage, int(found.year.max()), int(found.year.min())))
        return fit(found, **kwargs)

    monkeypatch_module.setattr(enrollment_model, "fit_stage", recording)
    data = CensusData(generated_panel)
    return enrollment_model.train(data), calls, data


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_walk_forward_fits_each_test_year_on_earlier_years_only(trained):
    result, calls, data = trained
    held_out = held_out_years(data.years)
    assert held_out == [2021, 2022, 2023] and result.data_summary["test_years"] == held_out
    for stage in result.model.stages:
        fits = [(last, first) for s, last, first in calls if s == stage]
        assert [last for last, _ in fits] == [2020, 2021, 2022, 2023]  # expanding: each fold, then every year
        assert {first for _, first in fits} == {data.years[1]}


def test_figures_are_on_student_counts():
    found = Examples(
        "MED", ("lag1", "cohort"), np.zeros((2, 2), np.float32), np.array([1, 2]), np.array([2023, 2023]),
        np.array([100.0, 10.0]), np.array([90.0, 10.0]), np.array([100.0, 10.0]), {},
    )  # fmt: skip
    detail, _ = stage_figures("MED", [(found, np.array([110.0, 20.0]))])
    assert detail["model"]["mae"] == 10 and detail["model"]["wape"] == pytest.approx(20 / 110)
    assert detail["model"]["rmse"] == 10 and detail["baselines"]["cohort_survival"]["wape"] == pytest.approx(10 / 110)


def test_headline_figures_pool_all_stages_beside_the_best_baseline(trained):
    metrics = trained[0].metrics
    assert {"mae", "rmse", "r2", "wape", "baseline_wape", "baseline_mae", "beats_baseline"} <= set(metrics)
    gate = metrics["detail"]["gate"]
    assert gate["metric"] == "wape" and set(gate["groups"]) == set(metrics["detail"]["stages"])
    for figures in gate["groups"].values():
        assert figures["difference"]["low"] <= figures["difference"]["high"]
    assert metrics["beats_baseline"] == gate["beats_baseline"]


def test_interval_coverage_on_later_held_out_years_is_near_nominal(trained):
    stages = trained[0].metrics["detail"]["stages"]
    graded = [stages[s]["model"] for s in ("FUND_AI", "FUND_AF", "MED")]
    covered = sum(f["interval_coverage"] * f["interval_rows"] for f in graded) / sum(f["interval_rows"] for f in graded)
    assert covered == pytest.approx(0.8, abs=0.07)


def test_shap_values_add_up_to_the_forecast(trained):
    result, _, data = trained
    fitted = result.model.stages["FUND_AF"]
    found = all_examples(data.grid("FUND_AF"))
    rows = found.subset(found.year == 2023)
    values, base = shap_values(fitted, rows.X)
    forecast = fitted.forecast(rows)
    unclipped = fitted.start(rows) + base + values.sum(axis=1)
    positive = forecast > 0
    np.testing.assert_allclose(unclipped[positive], forecast[positive], rtol=1e-4, atol=1e-3)
    words = reasons(fitted, rows.X[:3], fitted.start(rows)[:3], forecast[:3])
    assert all("-> forecast" in w for w in words)


def test_the_artifact_loads_back_to_the_same_forecasts(trained, tmp_path):
    result, _, data = trained
    EnsembleFormat().dump(result.model, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {"model.joblib", "MED.lightgbm.txt", "MED.xgboost.json"}
    loaded = EnsembleFormat().load(tmp_path)
    found = all_examples(data.grid("MED"))
    np.testing.assert_allclose(loaded.stages["MED"].forecast(found), result.model.stages["MED"].forecast(found))
    levels = {f"{level}:{kind}" for level in ("municipality", "uf", "country") for kind in ("stage", "total")}
    assert loaded.area_intervals.keys() == {"school", *levels}
