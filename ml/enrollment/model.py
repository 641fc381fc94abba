"""Enrollment forecasts per stage: a LightGBM + XGBoost ensemble on top of a baseline, validated walk-forward.

Each stage's model learns the correction to its anchor baseline (cohort survival, or same as last year where
that was the better of the two on the years it trains on), so it starts from the planners' method and must earn
every student it moves; its forecast is the anchor + the mean of the two boosters' corrections, never below 0.
Validation is walk-forward with an expanding window: for each of the last `TEST_YEARS` years, both boosters are
fitted on every earlier year only and forecast that year; the saved model is then fitted on every year. Figures
are on student counts (MAE, RMSE, WAPE, R²), per stage, per size band and pooled, beside both baselines on the
same rows, and the gate compares WAPE per stage with a bootstrap over schools. Intervals are conformal on the
walk-forward residuals (`ml.enrollment.intervals`); their coverage is measured on each test year with a
calibrator fitted on the test years before it only.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml import gate
from ml.census.columns import STAGE_BY_CODE
from ml.enrollment.baselines import LABELS as BASELINE_LABELS
from ml.enrollment.baselines import NAMES as BASELINES
from ml.enrollment.features import Examples, examples, expected_newcomers, newcomers
from ml.enrollment.intervals import LEVEL, MIN_POINTS, Calibrator
from ml.enrollment.panel import STAGE_CODES, Grid, load_grid
from ml.enrollment.task import GATE_MARGIN
from ml.evaluation import (
    best_baseline,
    paired_bootstrap_difference,
    plain,
    regression_figures,
    residual_sample,
)
from ml.task import Progress, TrainResult

TEST_YEARS = 3
MIN_TRAIN_YEARS = 2
MIN_FIT_ROWS = 100  # school-years a fold needs before its boosters are fitted
MAX_TRAIN_ROWS = 250_000  # per fit, drawn evenly from the window: the trees gain little beyond it
GATE_METRIC = "wape"
BOOTSTRAP_SAMPLES = 400
SIZE_BANDS = ((1, 50, "1-49"), (50, 200, "50-199"), (200, 500, "200-499"), (500, float("inf"), "500+"))
# One thread each, the two boosters side by side: on 2 shared cores OpenMP's spin-waiting makes 2 threads per
# booster slower, not faster (see ml/at_risk/candidates.py).
LGB_PARAMS = {
    "objective": "huber",
    "alpha": 8.0,
    "num_leaves": 15,
    "learning_rate": 0.06,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.85,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 63,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
    "seed": 0,
}
XGB_PARAMS = {
    "objective": "reg:pseudohubererror",
    "huber_slope": 8.0,
    "tree_method": "hist",
    "max_depth": 4,
    "eta": 0.06,
    "subsample": 0.8,
    "colsample_bytree": 0.85,
    "min_child_weight": 20,
    "reg_lambda": 1.0,
    "max_bin": 63,
    "nthread": 1,
    "seed": 0,
}
ROUNDS = 200


@dataclass
class StageModel:
    """One stage's two boosters, their features and the intervals of their forecasts."""

    stage: str
    features: tuple[str, ...]
    lgb: Any  # lightgbm.Booster
    xgb: Any  # xgboost.Booster
    anchor: str = "cohort_survival"  # the baseline the boosters correct
    intervals: Calibrator | None = None

    def start(self, found: Examples) -> np.ndarray:
        return found.cohort if self.anchor == "cohort_survival" else found.last_year

    def correction(self, X: np.ndarray) -> np.ndarray:
        """The ensemble's correction to cohort survival: the mean of both boosters."""
        import xgboost

        if len(X) == 0:
            return np.zeros(0)
        lgb = self.lgb.predict(X, num_threads=1)
        xgb = self.xgb.predict(xgboost.DMatrix(X, feature_names=list(self.features), nthread=1))
        return (np.asarray(lgb, dtype=np.float64) + np.asarray(xgb, dtype=np.float64)) / 2.0

    def forecast(self, found: Examples) -> np.ndarray:
        return np.maximum(self.start(found) + self.correction(found.X), 0.0)


@dataclass
class EnrollmentModel:
    """Every stage's model, the calibrators of sums (school totals, municipalities, UFs, the country) and what
    the model was trained on."""

    stages: dict[str, StageModel]
    area_intervals: dict[str, Calibrator]
    trained_through: int  # the last census year it learnt from
    test_years: tuple[int, ...]
    importance: dict[str, list] = field(default_factory=dict)  # stage -> [(feature, mean |SHAP|)], largest first
    level: float = LEVEL


@dataclass(frozen=True)
class CensusData:
    """The census panel as training sees it: the Parquet file of each year loaded."""

    files: dict[int, Path]

    @property
    def years(self) -> list[int]:
        return sorted(self.files)

    def grid(self, stage: str) -> Grid:
        return load_grid(stage, files=self.files)

    def summary(self) -> dict:
        digest = hashlib.sha256()
        for year, path in sorted(self.files.items()):
            stat = path.stat()
            digest.update(f"{year}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        years = self.years
        return {"years": years, "first_year": years[0], "last_year": years[-1], "hash": digest.hexdigest()[:16]}


def held_out_years(years: list[int], n: int = TEST_YEARS) -> list[int]:
    """The years held out one at a time (each after at least MIN_TRAIN_YEARS forecastable years)."""
    forecastable = years[1:]
    return forecastable[max(MIN_TRAIN_YEARS, len(forecastable) - n) :]


def train(data: CensusData, *, progress: Progress | None = None) -> TrainResult:
    """Walk-forward validation of every stage, then the models fitted on every year."""
    progress = progress or (lambda _pct, _msg: None)
    start = time.perf_counter()
    held_out = held_out_years(data.years)
    if not held_out:
        raise ValueError(
            f"walk-forward validation needs at least {MIN_TRAIN_YEARS + 2} census years; loaded: "
            f"{', '.join(map(str, data.years)) or 'none'}"
        )
    stages, folds, arrivals, timings, rows, skipped = {}, {}, {}, {}, {}, {}
    for index, stage in enumerate(STAGE_CODES):
        began = time.perf_counter()
        share = (100 * index // len(STAGE_CODES), 100 * (index + 1) // len(STAGE_CODES))
        grid = data.grid(stage)
        found = all_examples(grid)
        arrivals[stage] = newcomers(grid)
        tested = []
        for k, year in enumerate(held_out):
            progress(share[0] + (share[1] - share[0]) * k // (len(held_out) + 1), f"{stage}: forecasting {year}")
            window, test = found.subset(found.year < year), found.subset(found.year == year)
            if len(window) >= MIN_FIT_ROWS and len(test):
                tested.append((test, fit_stage(window).forecast(test)))
        if not tested:  # too few schools teach it: no model, no forecast, said in the figures
            skipped[stage] = f"{len(found)} school-years"
            continue
        progress(share[0] + (share[1] - share[0]) * len(held_out) // (len(held_out) + 1), f"{stage}: final fit")
        stages[stage] = fit_stage(found)
        folds[stage] = tested
        rows[stage] = len(found)
        timings[stage] = round(time.perf_counter() - began, 1)
    if not stages:
        raise ValueError(f"no stage has the {MIN_FIT_ROWS} school-years a model needs: load more census years")
    model = _assemble(stages, folds, arrivals, data, held_out)
    metrics = figures(model, folds)
    metrics["detail"]["seconds"] = {"stages": timings, "total": round(time.perf_counter() - start, 1)}
    metrics["detail"]["skipped_stages"] = skipped
    progress(100, "trained")
    params = {
        "lightgbm": LGB_PARAMS,
        "xgboost": XGB_PARAMS,
        "rounds": ROUNDS,
        "max_train_rows": MAX_TRAIN_ROWS,
        "interval_level": LEVEL,
        "features": {stage: list(m.features) for stage, m in stages.items()},
        "forecast_year": model.trained_through + 1,
    }
    summary = {**data.summary(), "rows": int(sum(rows.values())), "rows_by_stage": rows, "test_years": held_out}
    return TrainResult(model, plain(metrics), plain(params), plain(summary))


def evaluate(model: EnrollmentModel, data: CensusData) -> dict:
    """The saved models' figures on the years `train` would hold out (no refitting: for the gate's comparison)."""
    held_out = held_out_years(data.years)
    folds = {}
    for stage, fitted in model.stages.items():
        found = all_examples(data.grid(stage))
        tests = [found.subset(found.year == year) for year in held_out]
        folds[stage] = [(test, fitted.forecast(test)) for test in tests if len(test)]
    return plain(figures(model, {s: f for s, f in folds.items() if f}))


def all_examples(grid: Grid) -> Examples:
    """Every forecastable year of the grid (from its second), one block of rows per year."""
    return Examples.concat([examples(grid, t) for t in range(1, grid.n_years)])


def fit_stage(found: Examples, *, seed: int = 0) -> StageModel:
    """Both boosters on the correction to cohort survival, side by side in two threads."""
    import lightgbm
    import xgboost

    anchor = min(BASELINES, key=lambda name: _wape(found.y, _baseline(found, name)))
    train_rows = _sample(len(found), MAX_TRAIN_ROWS, seed)
    X, target = found.X[train_rows], (found.y - _baseline(found, anchor))[train_rows]
    names = list(found.features)

    def fit_lgb():
        dataset = lightgbm.Dataset(X, target, feature_name=names, free_raw_data=True)
        return lightgbm.train(LGB_PARAMS, dataset, num_boost_round=ROUNDS)

    def fit_xgb():
        matrix = xgboost.QuantileDMatrix(X, target, feature_names=names, max_bin=XGB_PARAMS["max_bin"], nthread=1)
        return xgboost.train(XGB_PARAMS, matrix, num_boost_round=ROUNDS)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="enrollment-fit") as pool:
        lgb, xgb = pool.submit(fit_lgb), pool.submit(fit_xgb)
        return StageModel(found.stage, found.features, lgb.result(), xgb.result(), anchor)


def _baseline(found: Examples, name: str) -> np.ndarray:
    return found.cohort if name == "cohort_survival" else found.last_year


def _wape(y: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.abs(forecast - y).sum() / max(np.abs(y).sum(), 1.0))


def _sample(n: int, limit: int, seed: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def _assemble(stages: dict, folds: dict, arrivals: dict, data: CensusData, held_out: list[int]) -> EnrollmentModel:
    """The saved model: each stage's intervals and the sums' intervals from every walk-forward residual."""
    for stage, tested in folds.items():
        y = np.concatenate([test.y for test, _ in tested])
        stages[stage].intervals = Calibrator.fit(y, np.concatenate([f for _, f in tested]))
    area_intervals = area_calibrators(area_sums(folds, arrivals))
    model = EnrollmentModel(stages, area_intervals, data.years[-1], tuple(held_out))
    from ml.enrollment.explain import global_importance

    for stage, tested in folds.items():
        model.importance[stage] = global_importance(stages[stage], tested[-1][0].X)
    return model


def area_calibrators(sums: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Calibrator]:
    """A calibrator per level and kind of sum ("uf:stage", "uf:total"...; "school" for a school's total). A
    level with too few sums (the country has one per test year) borrows the next finer level's: their relative
    errors are the larger, so its intervals err on the wide side."""
    out = {"school": Calibrator.fit(*sums["school"])}
    for kind in ("stage", "total"):
        chosen = None
        for level in ("municipality", "uf", "country"):
            y, forecast = sums[f"{level}:{kind}"]
            if chosen is None or len(y) >= MIN_POINTS:
                chosen = (y, forecast)
            out[f"{level}:{kind}"] = Calibrator.fit(*chosen)
    return out


def area_sums(folds: dict[str, list], arrivals: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Walk-forward (actual, forecast) summed per school (all stages), and per municipality, UF and the country
    both per stage and for all stages ("<level>:stage", "<level>:total"), per test year. An area's sums include
    its newcomers (`features.newcomers`): counted in the actual, forecast as the mean of the years before."""
    import pandas as pd

    parts, arriving = [], []
    for stage, tested in folds.items():
        table = arrivals[stage]
        for test, _ in tested:
            year = int(test.year[0])
            actual = table[table["year"] == year].set_index("co_municipio")["students"]
            both = pd.concat({"y": actual, "f": expected_newcomers(table, year)}, axis=1).fillna(0.0)
            arriving.append(both.rename_axis("co_municipio").reset_index().assign(stage=stage, year=year))
        for test, forecast in tested:
            parts.append(
                pd.DataFrame(
                    {
                        "stage": stage,
                        "year": test.year,
                        "school": test.schools,
                        "co_municipio": test.context["co_municipio"],
                        "co_uf": test.context["co_uf"],
                        "y": test.y,
                        "f": forecast,
                    }
                )
            )
    rows = pd.concat(parts, ignore_index=True)
    out = {}
    school = rows.groupby(["school", "year"])[["y", "f"]].sum()
    out["school"] = (school["y"].to_numpy(), school["f"].to_numpy())
    if arriving:
        extra = pd.concat(arriving, ignore_index=True)
        extra["co_uf"] = extra["co_municipio"] // 100_000
        rows = pd.concat([rows, extra], ignore_index=True)
    for level, key in (("municipality", "co_municipio"), ("uf", "co_uf"), ("country", None)):
        keys = [key] if key else []
        by_stage = rows.groupby([*keys, "stage", "year"])[["y", "f"]].sum()
        total = rows.groupby([*keys, "year"])[["y", "f"]].sum()
        out[f"{level}:stage"] = (by_stage["y"].to_numpy(), by_stage["f"].to_numpy())
        out[f"{level}:total"] = (total["y"].to_numpy(), total["f"].to_numpy())
    return out


# --- figures --------------------------------------------------------------------------------------------------


def figures(model: EnrollmentModel, folds: dict[str, list]) -> dict:
    """Headline figures (all stages pooled, beside the best baseline), per stage, per size band, per test year,
    interval coverage, the gate's view and the global SHAP importance."""
    stages, gate_groups, pooled = {}, {}, []
    for stage, tested in folds.items():
        detail, rows = stage_figures(stage, tested)
        stages[stage] = detail
        gate_groups[stage] = detail.pop("gate")
        stages[stage]["importance"] = model.importance.get(stage, [])
        pooled.append(rows)
    y, f, lag1, covered = (np.concatenate([p[i] for p in pooled]) for i in (0, 1, 3, 4))
    baselines = {name: np.concatenate([p[2][name] for p in pooled]) for name in BASELINES}
    model_figures = regression_figures(y, f)
    baseline_figures = {name: regression_figures(y, b) for name, b in baselines.items()}
    model_figures.update(_coverage(covered))
    best = best_baseline(baseline_figures, GATE_METRIC, higher_is_better=False)
    summary = gate.summary(GATE_METRIC, False, gate_groups, GATE_MARGIN)
    headline = {key: model_figures[key] for key in ("mae", "rmse", "r2", "wape", "interval_coverage")}
    headline |= {f"baseline_{key}": baseline_figures[best][key] for key in ("mae", "rmse", "r2", "wape")}
    return {
        **headline,
        "n": model_figures["n"],
        "baseline_name": best,
        "beats_baseline": summary["beats_baseline"],
        "detail": {
            "gate": summary,
            "stages": stages,
            "pooled": {"model": model_figures, "baselines": baseline_figures, "best_baseline": best},
            "sizes": size_figures(y, f, baselines, lag1),
            "test_years": list(model.test_years),
            "trained_through": model.trained_through,
            "forecast_year": model.trained_through + 1,
            "interval_level": model.level,
            "baseline_labels": BASELINE_LABELS,
            "sentence": verdict_sentence(summary),
        },
    }


def stage_figures(stage: str, tested: list) -> tuple[dict, tuple]:
    """One stage's figures over its test years; also its pooled arrays for the all-stage figures."""
    test = Examples.concat([t for t, _ in tested])
    forecast = np.concatenate([f for _, f in tested])
    baselines = {"same_as_last_year": test.last_year, "cohort_survival": test.cohort}
    covered = _walk_forward_coverage(tested)
    model_figures = regression_figures(test.y, forecast) | _coverage(covered)
    baseline_figures = {name: regression_figures(test.y, b) for name, b in baselines.items()}
    best = best_baseline(baseline_figures, GATE_METRIC, higher_is_better=False)
    by_year = {}
    for t, f in tested:
        year = int(t.year[0])
        by_year[year] = {
            "model": regression_figures(t.y, f),
            **{
                name: regression_figures(t.y, b)
                for name, b in (("same_as_last_year", t.last_year), ("cohort_survival", t.cohort))
            },
            "actual_total": float(t.y.sum()),
            "forecast_total": float(f.sum()),
            "same_as_last_year_total": float(t.last_year.sum()),
            "cohort_survival_total": float(t.cohort.sum()),
        }
    detail = {
        "label": STAGE_BY_CODE[stage].label,
        "model": model_figures,
        "baselines": baseline_figures,
        "best_baseline": best,
        "by_year": by_year,
        "sizes": size_figures(test.y, forecast, baselines, test.last_year),
        "residuals": residual_sample(test.y, forecast),
        "gate": {
            "model": model_figures[GATE_METRIC],
            "baseline": baseline_figures[best][GATE_METRIC],
            "baseline_name": best,
            "difference": _wape_difference(test, forecast, baselines[best]),
        },
    }
    return detail, (test.y, forecast, baselines, test.last_year, covered)


def size_figures(y: np.ndarray, forecast: np.ndarray, baselines: dict[str, np.ndarray], lag1: np.ndarray) -> dict:
    """Per band of last year's size: the model's figures and each baseline's WAPE and MAE beside them."""
    out = {}
    for low, high, label in SIZE_BANDS:
        mask = (lag1 >= low) & (lag1 < high)
        if not mask.any():
            continue
        figures_ = regression_figures(y[mask], forecast[mask])
        for name, b in baselines.items():
            base = regression_figures(y[mask], b[mask])
            figures_[f"{name}_wape"], figures_[f"{name}_mae"] = base["wape"], base["mae"]
        out[label] = figures_
    return out


def verdict_sentence(summary: dict) -> str:
    """What the gate says, in one sentence a planner can repeat."""
    groups = summary["groups"]
    better = [s for s, g in groups.items() if g["beats_baseline"]]
    if summary["beats_baseline"]:
        return (
            "The model beats the best simple forecast (same as last year or cohort survival) in every stage, "
            "by more than chance over schools."
        )
    worse = [s for s in groups if s not in better]
    return (
        f"The model is NOT clearly better than the best simple forecast in {len(worse)} of {len(groups)} stages "
        f"({', '.join(worse)}): there, plan with cohort survival or same as last year as much as with the model."
    )


def _wape_difference(test: Examples, forecast: np.ndarray, baseline: np.ndarray) -> dict:
    """Bootstrap interval of WAPE(model) - WAPE(baseline) over schools: each school's test years resampled
    together (their errors are not independent), done on per-school sums, which is the same and fast."""
    schools, which = np.unique(test.schools, return_inverse=True)
    actual = np.bincount(which, weights=np.abs(test.y), minlength=len(schools))
    model_error = np.bincount(which, weights=np.abs(forecast - test.y), minlength=len(schools))
    baseline_error = np.bincount(which, weights=np.abs(baseline - test.y), minlength=len(schools))

    def wape(actual_: np.ndarray, error_: np.ndarray) -> float | None:
        total = actual_.sum()
        return float(error_.sum() / total) if total > 0 else None

    return paired_bootstrap_difference(wape, actual, model_error, baseline_error, samples=BOOTSTRAP_SAMPLES)


def _walk_forward_coverage(tested: list) -> np.ndarray:
    """Per row of the test years after the first: inside (1) or outside (0) an interval calibrated on the test
    years before it only; NaN on the first test year, which has nothing earlier to calibrate on."""
    covered = []
    for k, (test, forecast) in enumerate(tested):
        if k == 0:
            covered.append(np.full(len(test), np.nan))
            continue
        earlier_y = np.concatenate([t.y for t, _ in tested[:k]])
        earlier_f = np.concatenate([f for _, f in tested[:k]])
        lower, upper = Calibrator.fit(earlier_y, earlier_f).bounds(forecast)
        covered.append(((test.y >= lower) & (test.y <= upper)).astype(np.float64))
    return np.concatenate(covered)


def _coverage(covered: np.ndarray) -> dict:
    known = covered[np.isfinite(covered)]
    return {"interval_coverage": float(known.mean()) if len(known) else None, "interval_rows": len(known)}
