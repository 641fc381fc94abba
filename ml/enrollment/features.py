"""Features of one stage's school-year rows, built from the years before the one forecast and nothing else.

`examples(grid, t)` forecasts year index `t` of a `Grid` (t may be one past the last year loaded: next year's
forecast). It hands the feature code `grid.history(t)` only, so the target year's counts, its status (a school
that closes that year) and any filter on it cannot reach a feature; the target comes from the full grid
afterwards. Rows are the schools listed in activity the year before with students in the stage; a school that
then closes or pauses counts as 0 students, an error the model and the baselines pay for alike.

Lags are calendar years (the grid has every year), rolling means run along a school's own years, NaN (not
reported) stays NaN for the trees, which route it on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.enrollment.baselines import cohort_survival, own_trend, same_as_last_year
from ml.enrollment.panel import ACTIVE, Grid

PAUSED = 2
# Feature -> what it is, in words a planner reads in an explanation.
LABELS = {
    "lag1": "students last year",
    "lag2": "students 2 years ago",
    "lag3": "students 3 years ago",
    "mean3": "average of the last 3 years",
    "mean5": "average of the last 5 years",
    "diff1": "change over last year",
    "diff2": "change the year before",
    "growth1": "growth ratio over last year",
    "trend5": "5-year trend ratio",
    "years_reported5": "years reported of the last 5",
    "years_listed": "years in the census",
    "paused_recently": "paused in the last 5 years",
    "teachers1": "teachers last year",
    "classes1": "classes last year",
    "per_teacher1": "students per teacher last year",
    "per_class1": "students per class last year",
    "per_class_diff1": "change in students per class",
    "school_total1": "students in the whole school last year",
    "school_total_diff1": "change in the whole school",
    "stage_share1": "share of the school's students in this stage",
    "first_grade1": "entry grade last year",
    "last_grade1": "final grade last year (leaving)",
    "feeder1": "feeding grade last year",
    "feeder_diff1": "change in the feeding grade",
    "cohort": "cohort-survival forecast",
    "cohort_change": "change implied by cohort survival",
    "dependency": "network (federal, state, municipal, private)",
    "location": "urban or rural",
    "co_uf": "state (UF)",
    "municipality_students": "size of the municipality (students, log)",
    "municipality_growth": "municipality's growth in this stage",
}
BASE_FEATURES = tuple(LABELS)


@dataclass
class Examples:
    """School-year rows of one stage: features, both baselines, the target (None for next year's forecast)."""

    stage: str
    features: tuple[str, ...]
    X: np.ndarray  # float32 (rows, features)
    schools: np.ndarray  # CO_ENTIDADE
    year: np.ndarray  # the year forecast
    last_year: np.ndarray  # the same-as-last-year forecast (= lag1)
    cohort: np.ndarray  # the cohort-survival forecast
    y: np.ndarray | None = None
    context: dict[str, np.ndarray] = field(default_factory=dict)  # co_uf, co_municipio, teachers, classes

    def __len__(self) -> int:
        return len(self.schools)

    def column(self, name: str) -> np.ndarray:
        return self.X[:, self.features.index(name)]

    def subset(self, mask: np.ndarray) -> Examples:
        return Examples(
            self.stage,
            self.features,
            self.X[mask],
            self.schools[mask],
            self.year[mask],
            self.last_year[mask],
            self.cohort[mask],
            None if self.y is None else self.y[mask],
            {k: v[mask] for k, v in self.context.items()},
        )

    @classmethod
    def concat(cls, parts: list[Examples]) -> Examples:
        first = parts[0]
        ys = [p.y for p in parts]
        return cls(
            first.stage,
            first.features,
            np.concatenate([p.X for p in parts]),
            np.concatenate([p.schools for p in parts]),
            np.concatenate([p.year for p in parts]),
            np.concatenate([p.last_year for p in parts]),
            np.concatenate([p.cohort for p in parts]),
            None if any(y is None for y in ys) else np.concatenate(ys),
            {k: np.concatenate([p.context[k] for p in parts]) for k in first.context},
        )


def feature_names(grid: Grid) -> tuple[str, ...]:
    """The stage's features: the common ones and last year's students in each of its grades."""
    return BASE_FEATURES + tuple(name.removeprefix("grade:") for name in grid.grades)


def examples(grid: Grid, t: int) -> Examples:
    """The rows forecasting year index `t` (`t == grid.n_years`: the year after the last one loaded)."""
    history = grid.history(t)
    rows = eligible(history)
    X = build(history, rows)
    y = None
    if t < grid.n_years:
        y = np.nan_to_num(grid["enrollment"][rows, t]).astype(np.float64)  # closed, paused, unlisted: 0 students
    names = feature_names(grid)
    context = {
        "co_uf": history["co_uf"][rows, -1],
        "co_municipio": history["co_municipio"][rows, -1],
        "teachers": history["teachers"][rows, -1],
        "classes": history["classes"][rows, -1],
    }
    year = np.full(len(rows), int(grid.years[0]) + t, dtype=np.int64)
    return Examples(
        grid.stage,
        names,
        X,
        grid.schools[rows],
        year,
        X[:, names.index("lag1")].astype(np.float64),
        X[:, names.index("cohort")].astype(np.float64),
        y,
        context,
    )


def eligible(history: Grid) -> np.ndarray:
    """Schools listed in activity in the last year known, with students in the stage that year."""
    last = history["enrollment"][:, -1]
    return np.flatnonzero((history["status"][:, -1] == ACTIVE) & (np.nan_to_num(last) > 0))


def build(history: Grid, rows: np.ndarray) -> np.ndarray:
    """The feature matrix of `rows` (float32, NaN where unknown), in `feature_names` order."""
    e = history["enrollment"][rows].astype(np.float64)
    f: dict[str, np.ndarray] = {}
    f["lag1"], f["lag2"], f["lag3"] = (_back(e, k) for k in (1, 2, 3))
    f["mean3"], f["mean5"] = _rolling_mean(e, 3), _rolling_mean(e, 5)
    f["diff1"], f["diff2"] = f["lag1"] - f["lag2"], f["lag2"] - f["lag3"]
    f["growth1"] = _ratio(f["lag1"], f["lag2"])
    f["trend5"] = own_trend(history["enrollment"][rows])
    f["years_reported5"] = np.isfinite(e[:, -5:]).sum(axis=1).astype(np.float64)
    status = history["status"][rows]
    f["years_listed"] = np.isfinite(status).sum(axis=1).astype(np.float64)
    f["paused_recently"] = (status[:, -5:] == PAUSED).any(axis=1).astype(np.float64)
    teachers, classes = history["teachers"][rows].astype(np.float64), history["classes"][rows].astype(np.float64)
    f["teachers1"], f["classes1"] = _back(teachers, 1), _back(classes, 1)
    f["per_teacher1"] = _ratio(f["lag1"], f["teachers1"])
    f["per_class1"] = _ratio(f["lag1"], f["classes1"])
    f["per_class_diff1"] = f["per_class1"] - _ratio(f["lag2"], _back(classes, 2))
    total = history["school_total"][rows].astype(np.float64)
    f["school_total1"] = _back(total, 1)
    f["school_total_diff1"] = f["school_total1"] - _back(total, 2)
    f["stage_share1"] = _ratio(f["lag1"], f["school_total1"])
    grades = [history[name][rows].astype(np.float64) for name in history.grades]
    f["first_grade1"] = _back(grades[0], 1) if grades else np.full(len(rows), np.nan)
    f["last_grade1"] = _back(grades[-1], 1) if grades else np.full(len(rows), np.nan)
    feeder = history["feeder"][rows].astype(np.float64) if "feeder" in history else None
    f["feeder1"] = _back(feeder, 1) if feeder is not None else np.full(len(rows), np.nan)
    f["feeder_diff1"] = f["feeder1"] - _back(feeder, 2) if feeder is not None else np.full(len(rows), np.nan)
    f["cohort"] = cohort_survival(history)[rows]
    f["cohort_change"] = f["cohort"] - same_as_last_year(history)[rows]
    for name in ("dependency", "location", "co_uf"):
        f[name] = history[name][rows, -1].astype(np.float64)
    f["municipality_students"], f["municipality_growth"] = _municipality(history, rows)
    columns = [f[name] for name in BASE_FEATURES] + [_back(g, 1) for g in grades]
    return np.column_stack(columns).astype(np.float32)


def _back(values: np.ndarray, k: int) -> np.ndarray:
    """The value k calendar years before the year forecast (NaN when the history is shorter)."""
    return values[:, -k].copy() if values.shape[1] >= k else np.full(len(values), np.nan)


def _rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each school's own last `window` reported years (NaN when it reported none)."""
    recent = values[:, -window:]
    known = np.isfinite(recent)
    count = known.sum(axis=1)
    total = np.where(known, recent, 0.0).sum(axis=1)
    return np.divide(total, count, out=np.full(len(values), np.nan), where=count > 0)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    ok = np.isfinite(numerator) & np.isfinite(denominator) & (denominator > 0)
    return np.divide(numerator, denominator, out=np.full(len(numerator), np.nan), where=ok)


def _municipality(history: Grid, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Students of the municipality last year (log) and its growth in the stage, over the schools listed there."""
    municipality = history["co_municipio"][:, -1]
    listed = np.isfinite(municipality)
    codes, which = np.unique(municipality[listed], return_inverse=True)
    total = np.nan_to_num(history["school_total"][listed, -1]).astype(np.float64)
    students = np.log1p(np.bincount(which, weights=total, minlength=len(codes)))
    growth = np.full(len(codes), np.nan)
    if history.n_years >= 2:
        now = history["enrollment"][listed, -1].astype(np.float64)
        before = history["enrollment"][listed, -2].astype(np.float64)
        both = np.isfinite(now) & np.isfinite(before)
        sum_now = np.bincount(which, weights=np.where(both, now, 0.0), minlength=len(codes))
        sum_before = np.bincount(which, weights=np.where(both, before, 0.0), minlength=len(codes))
        growth = np.divide(sum_now, sum_before, out=growth, where=sum_before > 0)
    position = np.searchsorted(codes, municipality[rows])
    return students[position], growth[position]


NEWCOMER_YEARS = 3


def newcomers(grid: Grid) -> pd.DataFrame:
    """Students per municipality and year in schools or stages that had none the year before (new schools, a
    stage just opened, a school back from a pause): what no school-level forecast covers. Columns: year,
    co_municipio, students."""
    parts = []
    enrollment = grid["enrollment"]
    for t in range(1, grid.n_years):
        now = np.nan_to_num(enrollment[:, t])
        new = np.ones(len(now), dtype=bool)
        new[eligible(grid.history(t))] = False
        rows = np.flatnonzero(new & (now > 0))
        parts.append(
            pd.DataFrame(
                {
                    "year": int(grid.years[t]),
                    "co_municipio": grid["co_municipio"][rows, t].astype(np.int64),
                    "students": now[rows].astype(np.float64),
                }
            )
        )
    if not parts:
        return pd.DataFrame({"year": [], "co_municipio": [], "students": []})
    return pd.concat(parts, ignore_index=True).groupby(["year", "co_municipio"], as_index=False)["students"].sum()


def expected_newcomers(table: pd.DataFrame, year: int, years: int = NEWCOMER_YEARS) -> pd.Series:
    """Per municipality, the mean newcomers of the `years` census years before `year` (a year with none counts 0)."""
    window = table[(table["year"] < year) & (table["year"] >= year - years)]
    seen = max(1, min(years, len(set(table["year"][table["year"] < year]))))
    return window.groupby("co_municipio")["students"].sum() / seen
