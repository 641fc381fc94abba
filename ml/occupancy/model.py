"""Attendance forecasts with prediction intervals: candidates, training on the past, figures on later weeks.

Every candidate forecasts the show-up rate (attendance over registered students, weighted by registered
students, so big sections count as much as their seats) from `ml.occupancy.features`; the forecast is that rate
times registered. Candidates: linear regression and a random forest (what the reference system used) and a
gradient-boosted model (LightGBM). The one with the lowest WAPE on the calibration weeks is kept, its figures
measured on the test weeks beside the naive baselines (`ml.occupancy.baselines`), then refitted for the saved
model (`ml.occupancy.dataset`).

Intervals are split-conformal: on the calibration weeks, the error of each forecast over a scale that grows
with the section (sqrt(registered) + registered / 10: head counts vary like a binomial count in small sections
and with the whole section in big ones) gives the quantile that covers `level` of them, separately for the
coming week and for weeks further ahead. Their coverage on the test weeks is measured, not assumed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ml.evaluation import REGRESSION_HEADLINE, plain, regression_figures, regression_group_figures, residual_sample
from ml.occupancy import baselines as naive
from ml.occupancy.dataset import (
    CALIBRATION_WEEKS,
    MIN_ROWS,
    TEST_WEEKS,
    Examples,
    InsufficientDataError,
    data_summary,
    evaluation_sets,
    prepare,
    split_examples,
    term_codes,
)
from ml.occupancy.features import TARGET_SOURCES, Calendar, FeatureBuilder, History, feature_imputer
from ml.occupancy.room_gate import room_type_groups, room_type_sentence
from ml.task import Progress, TrainResult

CANDIDATES = ("linear_regression", "random_forest", "lightgbm")
CANDIDATE_LABELS = {"linear_regression": "linear regression", "random_forest": "random forest", "lightgbm": "LightGBM"}
DEFAULT_LEVEL = 0.9
# Sized for training time on 2 cores: 40 trees on 30 % samples each are within 0.001 WAPE of 100 full ones here.
RANDOM_FOREST_PARAMS: dict = {
    "n_estimators": 40,
    "min_samples_leaf": 30,
    "max_features": 0.5,
    "max_samples": 0.3,
    "max_depth": 14,
    "n_jobs": 1,
}
# One thread, as at_risk's candidates: OpenMP spin-waiting on 2 shared cores makes more threads slower.
LIGHTGBM_PARAMS: dict = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "n_jobs": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
SIZE_BANDS = ((0, 30, "under 30"), (30, 80, "30-79"), (80, 10**9, "80 or more"))


@dataclass
class ConformalInterval:
    """Split-conformal bounds: forecast ± quantile x scale(registered), one quantile per horizon band."""

    level: float
    quantiles: dict[str, float] = field(default_factory=dict)  # "next" (the coming week), "later"

    def fit(
        self, y: np.ndarray, forecast: np.ndarray, registered: np.ndarray, weeks_ahead: np.ndarray
    ) -> ConformalInterval:
        score = np.abs(y - forecast) / interval_scale(registered)
        for band in ("next", "later"):
            chosen = score[_band(weeks_ahead) == band]
            if len(chosen):
                rank = min(1.0, np.ceil((len(chosen) + 1) * self.level) / len(chosen))
                self.quantiles[band] = float(np.quantile(chosen, rank, method="higher"))
        self.quantiles.setdefault("later", self.quantiles.get("next", 0.0))
        self.quantiles.setdefault("next", self.quantiles["later"])
        return self

    def bounds(
        self, forecast: np.ndarray, registered: np.ndarray, weeks_ahead: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        q = np.where(_band(weeks_ahead) == "next", self.quantiles["next"], self.quantiles["later"])
        half = q * interval_scale(registered)
        return np.maximum(forecast - half, 0.0), forecast + half


def interval_scale(registered: np.ndarray) -> np.ndarray:
    """How much a section's head count varies: sqrt(registered) + registered / 10 (see the module docstring)."""
    registered = np.maximum(np.asarray(registered, dtype=np.float64), 1.0)
    return np.sqrt(registered) + 0.1 * registered


@dataclass
class OccupancyModel:
    """The fitted attendance model with its features and intervals. Picklable with joblib."""

    builder: FeatureBuilder
    estimator: object  # predicts the show-up rate from builder.matrix(...)
    candidate: str
    interval: ConformalInterval
    settings: dict  # test_weeks, calibration_weeks, seed

    def forecast_matrix(
        self, X: np.ndarray, registered: np.ndarray, weeks_ahead: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Attendance forecasts with their lower and upper bounds from an input matrix."""
        registered = np.asarray(registered, dtype=np.float64)
        forecast = np.clip(self.estimator.predict(X), 0.0, None) * registered
        lower, upper = self.interval.bounds(forecast, registered, np.asarray(weeks_ahead))
        return forecast, lower, upper

    def forecast(self, rows: pd.DataFrame, history: History) -> pd.DataFrame:
        """attendance, lower, upper for rows to forecast (`ml.occupancy.features.ROW_COLUMNS`)."""
        if rows.empty:
            return pd.DataFrame({"attendance": [], "lower": [], "upper": []}, dtype=np.float64)
        X = self.builder.matrix(rows, history)
        ahead = rows["week"].to_numpy(dtype=np.int64) - rows["as_of"].to_numpy(dtype=np.int64)
        forecast, lower, upper = self.forecast_matrix(X, rows["registered"].to_numpy(), ahead)
        return pd.DataFrame({"attendance": forecast, "lower": lower, "upper": upper}, index=rows.index)


def make_regressor(name: str, seed: int = 0):
    """An unfitted candidate (`name` in `CANDIDATES`) that predicts the show-up rate."""
    if name == "linear_regression":
        return Pipeline([("impute", feature_imputer()), ("scale", StandardScaler()), ("model", LinearRegression())])
    if name == "random_forest":
        return Pipeline(
            [("impute", feature_imputer()), ("model", RandomForestRegressor(**RANDOM_FOREST_PARAMS, random_state=seed))]
        )
    if name == "lightgbm":
        from lightgbm import LGBMRegressor

        return LGBMRegressor(**LIGHTGBM_PARAMS, random_state=seed)
    raise ValueError(f"unknown candidate {name!r}; choose from {CANDIDATES}")


def fit_regressor(estimator, found: Examples):
    """Fit on the show-up rate, each row weighted by its registered students."""
    rate, weight = found.y / found.registered, found.registered
    if isinstance(estimator, Pipeline):
        return estimator.fit(found.X, rate, model__sample_weight=weight)
    return estimator.fit(found.X, rate, sample_weight=weight)


def train(
    observations: pd.DataFrame,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    candidates: Sequence[str] = CANDIDATES,
    level: float = DEFAULT_LEVEL,
    test_weeks: int = TEST_WEEKS,
    calibration_weeks: int = CALIBRATION_WEEKS,
    calendar: Calendar | None = None,
) -> TrainResult:
    """Train the attendance model on an observation frame (`ml.data.campus.OBSERVATION_COLUMNS`).

    Raises InsufficientDataError when there are too few measured weeks or rows.
    """
    report = progress or _no_progress
    if not candidates or any(c not in CANDIDATES for c in candidates):
        raise ValueError(f"candidates must be a non-empty selection of {CANDIDATES}")
    if not 0.5 <= level < 1.0:
        raise ValueError("level must be in [0.5, 1)")
    report(0, "Reading the measured attendance")
    builder = FeatureBuilder(calendar or Calendar()).fit(observations)
    history, split, sets = prepare(
        observations, builder, test_weeks=test_weeks, calibration_weeks=calibration_weeks, seed=seed
    )
    train_rows, calibration = sets["mixed"]["train"], sets["next"]["calibration"]
    if len(train_rows) < MIN_ROWS:
        raise InsufficientDataError(
            f"Only {len(train_rows)} measured sessions in the training weeks; at least {MIN_ROWS} are needed."
        )
    fallback = naive.overall_rate(train_rows)
    settings = {"test_weeks": test_weeks, "calibration_weeks": calibration_weeks, "seed": seed, "level": level}

    fitted, seconds, calibration_wape = {}, {}, {}
    for done, name in enumerate(candidates):
        report(5 + 70 * done // len(candidates), f"Fitting {CANDIDATE_LABELS[name]}")
        started = time.perf_counter()
        estimator = fit_regressor(make_regressor(name, seed), train_rows)
        seconds[name] = round(time.perf_counter() - started, 2)
        forecast = np.clip(estimator.predict(calibration.X), 0.0, None) * calibration.registered
        calibration_wape[name] = naive.wape(calibration.y, forecast)
        interval = _calibrated(estimator, sets, "calibration", level)
        fitted[name] = OccupancyModel(builder, estimator, name, interval, settings)
    chosen = min(candidates, key=lambda c: (calibration_wape[c], CANDIDATES.index(c)))

    report(78, "Measuring on the test weeks")
    detail = hold_out_detail(fitted, chosen, sets, fallback, split.describe(term_codes(observations)), seed=seed)
    detail["calibration_wape"] = calibration_wape
    detail["fit_seconds"] = seconds

    report(85, f"Refitting {CANDIDATE_LABELS[chosen]} on every week but the last {calibration_weeks}")
    final_split = split.shifted()
    final_sets = {h: split_examples(found, final_split) for h, found in sets["all"].items()}
    final_estimator = fit_regressor(make_regressor(chosen, seed), final_sets["mixed"]["train"])
    model = OccupancyModel(
        builder, final_estimator, chosen, _calibrated(final_estimator, final_sets, "calibration", level), settings
    )
    detail["deployed_interval"] = model.interval.quantiles
    metrics = _flat(detail)
    params = {
        "candidates": {c: candidate_params(c) for c in candidates},
        "chosen": chosen,
        "level": level,
        "interval": "split-conformal on the calibration weeks, |error| / (sqrt(registered) + registered/10)",
        "target": "show-up rate x registered; rows weighted by registered students",
        **builder.params(),
        **settings,
    }
    report(100, "Done")
    return TrainResult(
        model=model,
        metrics=plain(metrics),
        params=plain(params),
        data_summary=data_summary(observations, history, split, sensors=list(builder.sensors)),
    )


def evaluate(model: OccupancyModel, observations: pd.DataFrame) -> dict:
    """The flat metrics of an existing model on the test weeks `train` would hold out of these observations."""
    sets, split = evaluation_sets(observations, model.builder, model.settings)
    fallback = naive.overall_rate(sets["mixed"]["train"])
    detail = hold_out_detail(
        {model.candidate: model}, model.candidate, sets, fallback, split, seed=model.settings["seed"]
    )
    return plain(_flat(detail))


def hold_out_detail(
    fitted: dict[str, OccupancyModel], chosen: str, sets: dict, fallback: float, split: dict, *, seed: int = 0
) -> dict:
    """Test-week figures of every candidate and both baselines, groups, the gate, residuals and a verdict."""
    test, later = sets["next"]["test"], sets["later"]["test"]
    if len(test) == 0:
        raise InsufficientDataError("No measured session in the test weeks.")
    candidates = {}
    for name, model in fitted.items():
        forecast, lower, upper = model.forecast_matrix(test.X, test.registered, test.rows["weeks_ahead"].to_numpy())
        candidates[name] = regression_figures(test.y, forecast, lower, upper)
        if name == chosen:
            chosen_forecast, chosen_lower, chosen_upper = forecast, lower, upper
    found = naive.baseline_forecasts(test, fallback)
    baseline_figures = {name: regression_figures(test.y, forecast) for name, forecast in found.items()}
    best = naive.best(baseline_figures)
    model = fitted[chosen]
    later_figures = None
    if len(later):
        f, lo, hi = model.forecast_matrix(later.X, later.registered, later.rows["weeks_ahead"].to_numpy())
        later_figures = regression_figures(later.y, f, lo, hi)
    gate_groups = room_type_groups(naive.wape, test, test.y, chosen_forecast, found[best], best, seed=seed)
    gate = naive.gate_summary(gate_groups)
    detail = {
        "chosen": chosen,
        "candidate_labels": {name: CANDIDATE_LABELS[name] for name in fitted},
        "baseline_labels": dict(naive.BASELINE_LABELS),
        "level": model.interval.level,
        "candidates": candidates,
        "model": candidates[chosen],
        "later_weeks": later_figures,
        "baselines": baseline_figures,
        "best_baseline": best,
        "groups": regression_group_figures(test.y, chosen_forecast, _groups(test), chosen_lower, chosen_upper),
        "baseline_groups": regression_group_figures(test.y, found[best], _groups(test)),
        "gate": gate,
        "beats_baseline": gate["beats_baseline"],
        "residuals": residual_sample(test.y, chosen_forecast, seed=seed),
        "target_sources": _source_counts(test),
        "test_rows": len(test),
        "split": split,
    }
    detail["sentence"] = verdict(detail)
    return detail


def verdict(detail: dict) -> str:
    """What the attendance model is worth, in words: "beats" only where the bootstrap interval says so."""
    chosen, model = detail["chosen"], detail["model"]
    best = detail["best_baseline"]
    baseline = detail["baselines"][best]
    split = detail.get("split", {})
    weeks = f" ({split['test']})" if split.get("test") else ""
    text = (
        f"On the {detail['test_rows']:,} sessions of the test weeks{weeks}, which it never trained on, the "
        f"{CANDIDATE_LABELS[chosen]} model forecasts attendance with WAPE {model['wape']:.1%} (MAE "
        f"{model['mae']:.1f} students); the best simple rule, {naive.BASELINE_LABELS[best]}, has WAPE "
        f"{baseline['wape']:.1%} (MAE {baseline['mae']:.1f})."
    )
    text += room_type_sentence(detail["gate"], "that rule", "WAPE")
    coverage = model.get("interval_coverage")
    if coverage is not None:
        text += f" Its {detail['level']:.0%} intervals held {coverage:.1%} of actual attendances"
        later = detail.get("later_weeks") or {}
        if later.get("interval_coverage") is not None:
            text += f" ({later['interval_coverage']:.1%} for weeks further ahead)"
        text += "."
    return text


def candidate_params(name: str) -> dict:
    return {"linear_regression": {}, "random_forest": RANDOM_FOREST_PARAMS, "lightgbm": LIGHTGBM_PARAMS}[name]


def _calibrated(estimator, sets: dict, segment: str, level: float) -> ConformalInterval:
    """Conformal quantiles from the segment's next-week and later-week examples."""
    parts = [sets["next"][segment], sets["later"][segment]]
    y = np.concatenate([p.y for p in parts])
    registered = np.concatenate([p.registered for p in parts])
    forecast = np.concatenate([np.clip(estimator.predict(p.X), 0.0, None) * p.registered for p in parts])
    ahead = np.concatenate([p.rows["weeks_ahead"].to_numpy() for p in parts])
    return ConformalInterval(level).fit(y, forecast, registered, ahead)


def _flat(detail: dict) -> dict:
    """Headline figures flat (the chosen model's, then the best baseline's with `baseline_`), detail beside."""
    model = detail["model"]
    baseline = detail["baselines"][detail["best_baseline"]]
    metrics = {k: model[k] for k in REGRESSION_HEADLINE}
    metrics["interval_coverage"] = model.get("interval_coverage")
    metrics["interval_width"] = model.get("interval_width")
    metrics.update({f"baseline_{k}": baseline[k] for k in REGRESSION_HEADLINE})
    metrics["beats_baseline"] = detail["gate"]["beats_baseline"]
    metrics["detail"] = detail
    return metrics


def _groups(found: Examples) -> dict[str, np.ndarray]:
    rows = found.rows
    registered = found.registered
    size = np.full(len(rows), SIZE_BANDS[-1][2], dtype=object)
    for low, high, label in SIZE_BANDS:
        size[(registered >= low) & (registered < high)] = label
    level = rows["level"].astype("Float64").round().astype("Int64").astype(str).replace("<NA>", "unknown")
    return {
        "room type": rows["venue_type"].astype(str).str.replace("_", " ").to_numpy(),
        "course level": level.to_numpy(),
        "section size": size,
        "measured by": np.array(TARGET_SOURCES, dtype=object)[rows["source"].to_numpy()],
    }


def _source_counts(found: Examples) -> dict[str, int]:
    counts = np.bincount(found.rows["source"].to_numpy(dtype=np.int64), minlength=len(TARGET_SOURCES))
    return {name: int(n) for name, n in zip(TARGET_SOURCES, counts, strict=True)}


def _band(weeks_ahead: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(weeks_ahead) <= 1, "next", "later")


def _no_progress(_pct: int, _msg: str) -> None:
    pass
