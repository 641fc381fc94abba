"""Checkpoint features for the at-risk model and the preprocessing steps fitted on training rows.

A checkpoint sees only the fields known by its week: the signals (from `Signal.known_at_week`, or the week the
institution declared for them), who the student is (known before the term) and the institution's `x_*` extra
fields once it has declared from which week each is known. The steps below run in this order inside one sklearn
`Pipeline` per checkpoint, so inference always repeats what training did:

1. `RecordFeatures`: select the usable fields, apply logical caps, derive the engineered features.
2. `IQRClipper`: clip gross outliers of unbounded quantities (minutes, counts, hours) to training fences.
3. `MedianImputer`: fill gaps with training medians and add missing-value indicators.
4. `make_encoder()`: one-hot the categorical fields (unknown categories ignored), pass numbers through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.preprocessing import OneHotEncoder

from ml.at_risk.labels import ENGINEERED, EXTRA_PREFIX
from ml.data.academic_fields import BEFORE_TERM, DEFAULT_CHECKPOINT_WEEKS, SIGNALS, SIGNALS_BY_NAME

NUMERIC_STUDENT_FIELDS = ("age", "prior_gpa", "prior_failures")
Columns = Mapping[str, Sequence]  # field -> one value per record
CATEGORICAL_STUDENT_FIELDS = ("sex", "programme")
QUIZZES = ("quiz_1", "quiz_2", "quiz_3")
MISSING_CATEGORY = "missing"
MISSING_SUFFIX = "__missing"

# Features that are one reason for people: quiz_total is quiz_pct times the number of quizzes so far.
SAME_REASON: dict[str, str] = {"quiz_total": "quiz_pct"}
# Unbounded quantities get IQR clipping; scores and percentages are already capped to 0-100, and a very
# low score is exactly what the model should see, not an outlier.
UNBOUNDED_UNITS = ("minutes", "count", "hours")
LOGICAL_CAPS: dict[str, tuple[float, float]] = {
    "%": (0.0, 100.0),
    "score": (0.0, 100.0),
    "minutes": (0.0, np.inf),
    "count": (0.0, np.inf),
    "hours": (0.0, 168.0),  # weekly study time cannot exceed the hours in a week
}


def is_unbounded(name: str) -> bool:
    """Whether a feature is an open-ended quantity that IQR clipping should guard."""
    if name in SIGNALS_BY_NAME:
        return SIGNALS_BY_NAME[name].unit in UNBOUNDED_UNITS
    return name.startswith(EXTRA_PREFIX) or name == "effort_to_performance"


def checkpoint_names(weeks: tuple[int, ...] = DEFAULT_CHECKPOINT_WEEKS) -> dict[str, int]:
    """Checkpoint name -> week, earliest first: "week_<n>", and "midterm" for the week the midterm is known."""
    midterm = SIGNALS_BY_NAME["midterm"].known_at_week
    return {("midterm" if week == midterm else f"week_{week}"): int(week) for week in sorted(set(weeks))}


# Ordered: the last one is the final checkpoint ("midterm" = after the midterm).
CHECKPOINTS: dict[str, int] = checkpoint_names()


def signals_known_by(week: int, known_weeks: dict[str, int | None] | None = None) -> list[str]:
    """Names of the signals known at `week` (by Aula's default weeks, or the institution's), in `SIGNALS` order."""
    weeks = known_weeks or {}
    return [s.name for s in SIGNALS if (w := weeks.get(s.name, s.known_at_week)) is not None and w <= week]


def preprocessing_steps(
    week: int, known_weeks: dict[str, int | None] | None = None, exclude: tuple[str, ...] = ()
) -> list[tuple[str, object]]:
    """Fresh (unfitted) preprocessing steps for a checkpoint at `week`."""
    return [
        ("features", RecordFeatures(week=week, known_weeks=known_weeks, exclude=exclude)),
        ("clip", IQRClipper()),
        ("impute", MedianImputer()),
        ("encode", make_encoder()),
    ]


def make_encoder() -> ColumnTransformer:
    """One-hot for text columns (unknown and rare categories tolerated), numbers passed through."""
    return ColumnTransformer(
        [
            ("numeric", "passthrough", make_column_selector(dtype_include="number")),
            (
                "categorical",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=20,
                    sparse_output=False,
                    dtype=np.float64,
                ),
                make_column_selector(dtype_exclude="number"),
            ),
        ],
        verbose_feature_names_out=False,
        sparse_threshold=0.0,
    )


def numeric_column(records: pd.DataFrame | Columns, name: str, n: int | None = None) -> np.ndarray:
    """A column as float64 (text that is not a number becomes NaN); all-NaN when absent. `records` is a frame,
    or a dict of equal-length columns of `n` rows (the one-record scoring path builds no frame)."""
    if isinstance(records, Mapping):
        values = records.get(name)
        if values is None:
            return np.full(n, np.nan)
        return np.asarray([v if isinstance(v, int | float) and not isinstance(v, bool) else np.nan for v in values],
                          dtype=np.float64)  # fmt: skip
    if name not in records.columns:
        return np.full(len(records), np.nan)
    col = records[name]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        col = pd.to_numeric(col.astype("object"), errors="coerce")
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


class RecordFeatures(BaseEstimator, TransformerMixin):
    """Select a checkpoint's usable fields from the records frame, cap them and add engineered features.

    A field is usable when present in at least `min_present_share` of the training rows, so an
    institution that records only absences and period grades still gets a model from what it has.

    Engineered features (each only from what is known at the checkpoint):
    - quiz_total / quiz_mean / quiz_std: sum, mean and spread of the quiz scores recorded so far;
      quiz_pct: quiz points as a percentage of the quizzes given so far (a skipped quiz counts 0).
    - engagement_index: mean of the z-scores (training mean/std) of the latest attendance, log LMS
      minutes and log LMS logins; logs because LMS time has a heavy right tail.
    - effort_to_performance: hours of effort (LMS hours + weekly study hours x weeks) per 10 points of
      the average assessment score so far: high when a student works but scores do not follow.
    - attendance_trend: attendance in weeks 5-8 minus weeks 1-4, in percentage points
      (= 2 x (attendance_w8 - attendance_w4), since attendance_w8 averages weeks 1-8).
    - latest_grade: the most recent assessment score recorded by the checkpoint.
    """

    def __init__(
        self,
        week: int = 9,
        known_weeks: dict[str, int | None] | None = None,
        exclude: tuple[str, ...] = (),
        min_present_share: float = 0.05,
    ):
        self.week = week
        self.known_weeks = known_weeks
        self.exclude = exclude
        self.min_present_share = min_present_share

    def fit(self, X: pd.DataFrame, y=None) -> RecordFeatures:
        usable = [
            c
            for c in X.columns
            if c not in self.exclude and self._present_share(X, c) >= self.min_present_share and self._known(c)
        ]
        self.signals_ = [s.name for s in SIGNALS if s.name in usable]
        self.numeric_fields_ = [c for c in (*NUMERIC_STUDENT_FIELDS, "pass_mark") if c in usable]
        self.categorical_fields_ = [c for c in CATEGORICAL_STUDENT_FIELDS if c in usable]
        extra = [c for c in usable if c.startswith(EXTRA_PREFIX)]
        # An extra column is numeric when (almost) every recorded value parses as a number.
        numeric_extra = [c for c in extra if self._numeric_share(X[c]) >= 0.95]
        self.numeric_fields_ += numeric_extra
        self.categorical_fields_ += [c for c in extra if c not in numeric_extra]
        capped = self._capped(X)
        self.engagement_stats_ = {}
        for name, values in self._engagement_components(capped).items():
            present = values[~np.isnan(values)]
            std = float(present.std()) if len(present) > 1 else 0.0
            if std > 0:
                self.engagement_stats_[name] = (float(present.mean()), std)
        engineered = self._engineered(capped, len(X))
        self.engineered_ = list(engineered)
        self.feature_names_out_ = np.array(
            [*self.signals_, *self.numeric_fields_, *self.engineered_, *self.categorical_fields_], dtype=object
        )
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        capped = self._capped(X)
        out = {name: capped[name] for name in (*self.signals_, *self.numeric_fields_)}
        out.update(self._engineered(capped, len(X)))
        for name in self.categorical_fields_:
            col = X[name] if name in X.columns else pd.Series(np.nan, index=X.index)
            text = col.astype("object").where(col.notna(), MISSING_CATEGORY).astype("str")
            out[name] = text.to_numpy(dtype=object)
        return pd.DataFrame(out, index=X.index)[list(self.feature_names_out_)]

    def transform_columns(self, columns: Columns, n: int) -> dict[str, np.ndarray]:
        """`transform` of `n` records given as columns (field -> list of values), without building a frame."""
        capped = self._capped(columns, n)
        out = {name: capped[name] for name in (*self.signals_, *self.numeric_fields_)}
        out.update(self._engineered(capped, n))
        for name in self.categorical_fields_:
            values = columns.get(name) or [None] * n
            out[name] = np.array([MISSING_CATEGORY if v is None else str(v) for v in values], dtype=object)
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return self.feature_names_out_

    # -- helpers

    def _known(self, name: str) -> bool:
        """Known by this checkpoint's week: a signal from its window's end (or the institution's declared week),
        who the student is and the pass mark from before the term, an extra column only once declared."""
        weeks = self.known_weeks or {}
        if name in weeks:
            return weeks[name] is not None and weeks[name] <= self.week
        if name in SIGNALS_BY_NAME:
            return SIGNALS_BY_NAME[name].known_at_week <= self.week
        if name in (*NUMERIC_STUDENT_FIELDS, *CATEGORICAL_STUDENT_FIELDS, "pass_mark"):
            return self.week >= BEFORE_TERM
        return False  # an extra column nobody has dated, or any other column

    @staticmethod
    def _present_share(X: pd.DataFrame, name: str) -> float:
        return float(X[name].notna().mean()) if len(X) else 0.0

    @staticmethod
    def _numeric_share(col: pd.Series) -> float:
        present = col.dropna()
        if len(present) == 0 or pd.api.types.is_bool_dtype(col):
            return 0.0
        return float(pd.to_numeric(present.astype("object"), errors="coerce").notna().mean())

    def _capped(self, X: pd.DataFrame | Columns, n: int | None = None) -> dict[str, np.ndarray]:
        capped = {}
        for name in (*self.signals_, *self.numeric_fields_):
            values = numeric_column(X, name, n)
            unit = SIGNALS_BY_NAME[name].unit if name in SIGNALS_BY_NAME else None
            if unit in LOGICAL_CAPS:
                values = np.clip(values, *LOGICAL_CAPS[unit])
            elif name in ("age", "prior_gpa", "pass_mark"):
                values = np.clip(values, 0.0, None)
            capped[name] = values
        return capped

    def _latest(self, capped: dict[str, np.ndarray], *names: str) -> np.ndarray | None:
        """The latest-known of several windows of one quantity, falling back to earlier windows."""
        present = [capped[n] for n in names if n in capped]
        if not present:
            return None
        out = present[0].copy()
        for earlier in present[1:]:
            out = np.where(np.isnan(out), earlier, out)
        return out

    def _engagement_components(self, capped: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        components = {
            "attendance": self._latest(capped, "attendance_w8", "attendance_w4"),
            "lms_minutes": self._latest(capped, "lms_minutes_w8", "lms_minutes_w4"),
            "lms_logins": self._latest(capped, "lms_logins_w8", "lms_logins_w4"),
        }
        for name in ("lms_minutes", "lms_logins"):
            if components[name] is not None:
                components[name] = np.log1p(components[name])
        return {k: v for k, v in components.items() if v is not None}

    def _engineered(self, capped: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        quizzes = [capped[q] for q in QUIZZES if q in capped]
        with np.errstate(all="ignore"):
            if quizzes:
                q = np.column_stack(quizzes)
                taken = (~np.isnan(q)).sum(axis=1)
                total = np.nansum(q, axis=1)
                out["quiz_total"] = np.where(taken > 0, total, np.nan)
                out["quiz_mean"] = np.where(taken > 0, total / np.maximum(taken, 1), np.nan)
                if q.shape[1] >= 2:
                    out["quiz_std"] = np.where(taken >= 2, _nanstd(q), np.nan)
                out["quiz_pct"] = total / (100.0 * q.shape[1]) * 100.0
            stats = getattr(self, "engagement_stats_", {})
            components = self._engagement_components(capped)
            z = [(components[k] - mean) / std for k, (mean, std) in stats.items() if k in components]
            if z:
                z_stack = np.column_stack(z)
                counts = (~np.isnan(z_stack)).sum(axis=1)
                out["engagement_index"] = np.where(
                    counts > 0, np.nansum(z_stack, axis=1) / np.maximum(counts, 1), np.nan
                )
            scores = [capped[s] for s in self.signals_ if SIGNALS_BY_NAME[s].unit == "score"]
            lms = self._latest(capped, "lms_minutes_w8", "lms_minutes_w4")
            study = capped.get("study_time_hours")
            if scores and (lms is not None or study is not None):
                effort = np.zeros(n)
                known = np.zeros(n, dtype=bool)
                for part in (
                    lms / 60.0 if lms is not None else None,
                    study * self.week if study is not None else None,
                ):
                    if part is not None:
                        effort += np.nan_to_num(part)
                        known |= ~np.isnan(part)
                performance = _nanmean(np.column_stack(scores))
                ratio = effort / np.maximum(performance, 5.0) * 10.0
                out["effort_to_performance"] = np.where(known & ~np.isnan(performance), ratio, np.nan)
            if "attendance_w4" in capped and "attendance_w8" in capped:
                out["attendance_trend"] = np.clip(
                    2.0 * (capped["attendance_w8"] - capped["attendance_w4"]), -100.0, 100.0
                )
            if scores:
                latest = np.full(n, np.nan)
                # SIGNALS is in the order results arrive; the last recorded score wins.
                for values in scores:
                    latest = np.where(np.isnan(values), latest, values)
                out["latest_grade"] = latest
        return out


def _nanmean(values: np.ndarray) -> np.ndarray:
    counts = (~np.isnan(values)).sum(axis=1)
    return np.where(counts > 0, np.nansum(values, axis=1) / np.maximum(counts, 1), np.nan)


def _nanstd(values: np.ndarray) -> np.ndarray:
    mean = _nanmean(values)
    counts = (~np.isnan(values)).sum(axis=1)
    sq = np.nansum((values - mean[:, None]) ** 2, axis=1)
    return np.sqrt(sq / np.maximum(counts, 1))


class IQRClipper(BaseEstimator, TransformerMixin):
    """Clip unbounded numeric columns to Tukey's far-out fences (Q1 - k IQR, Q3 + k IQR) of the training rows.

    k = 3 only catches gross outliers (a 10,000-minute LMS session); a column with zero IQR is left alone
    so that a mostly-constant field is not flattened.
    """

    def __init__(self, k: float = 3.0):
        self.k = k

    def fit(self, X: pd.DataFrame, y=None) -> IQRClipper:
        self.bounds_: dict[str, tuple[float, float]] = {}
        for name in X.columns:
            if not (is_unbounded(name) and pd.api.types.is_numeric_dtype(X[name])):
                continue
            values = X[name].to_numpy(dtype=np.float64)
            values = values[~np.isnan(values)]
            if len(values) == 0:
                continue
            q1, q3 = np.percentile(values, [25, 75])
            if q3 > q1:
                self.bounds_[name] = (float(q1 - self.k * (q3 - q1)), float(q3 + self.k * (q3 - q1)))
        self.feature_names_out_ = np.array(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for name, (low, high) in self.bounds_.items():
            X[name] = X[name].clip(low, high)
        return X

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return self.feature_names_out_


class MedianImputer(BaseEstimator, TransformerMixin):
    """Fill missing numbers with training medians; add `<name>__missing` indicators where they tell something.

    An indicator is considered for a recorded field (not an engineered feature) missing in at least
    `indicator_min_share` of the training rows. When the outcome is given to `fit`, it is kept only if the
    fail rate of rows missing the field differs from the others by at least `indicator_min_z` (two-proportion
    z-test): a skipped quiz says something, a record lost at random does not, and its indicator would only
    add noise to the model and to the reasons.
    """

    def __init__(self, indicator_min_share: float = 0.01, indicator_min_z: float = 3.0):
        self.indicator_min_share = indicator_min_share
        self.indicator_min_z = indicator_min_z

    def fit(self, X: pd.DataFrame, y=None) -> MedianImputer:
        numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
        self.medians_: dict[str, float] = {}
        self.indicators_: list[str] = []
        for name in numeric:
            values = X[name].to_numpy(dtype=np.float64)
            missing = np.isnan(values)
            self.medians_[name] = float(np.median(values[~missing])) if (~missing).any() else 0.0
            share = missing.mean() if len(values) else 0.0
            if name in ENGINEERED or not self.indicator_min_share <= share < 1.0:
                continue
            if y is None or abs(_two_proportion_z(np.asarray(y), missing)) >= self.indicator_min_z:
                self.indicators_.append(name)
        self.feature_names_out_ = np.array(
            [*X.columns, *(f"{c}{MISSING_SUFFIX}" for c in self.indicators_)], dtype=object
        )
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        indicators = {f"{c}{MISSING_SUFFIX}": X[c].isna().to_numpy(dtype=np.float64) for c in self.indicators_}
        filled = X.fillna(self.medians_)
        return pd.concat([filled, pd.DataFrame(indicators, index=X.index)], axis=1)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return self.feature_names_out_


def _two_proportion_z(y: np.ndarray, group: np.ndarray) -> float:
    """z statistic for the difference in the rate of y between `group` rows and the others."""
    n1, n0 = group.sum(), (~group).sum()
    if n1 == 0 or n0 == 0:
        return 0.0
    p1, p0 = y[group].mean(), y[~group].mean()
    pooled = y.mean()
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    return float((p1 - p0) / se) if se > 0 else 0.0
