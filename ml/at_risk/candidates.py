"""Candidate classifiers for the at-risk model, calibrated on term-grouped out-of-fold scores.

Each candidate is one sklearn `Pipeline`: the checkpoint's preprocessing steps, then (logistic regression
only) a scaler, then a `TermCalibratedClassifier`. The positive class everywhere is FAIL (y = 1).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ml.at_risk.features import preprocessing_steps

CANDIDATES = ("logistic_regression", "lightgbm")
CANDIDATE_LABELS = {"logistic_regression": "logistic regression", "lightgbm": "LightGBM"}

LOGISTIC_PARAMS: dict = {"C": 1.0, "class_weight": "balanced", "max_iter": 2000}
# Shallow trees: TreeSHAP costs trees x leaves x depth^2 per row, and reasons for 100k rows must take
# seconds. On generated data depth 3 / 100 trees matches depth 6 / 150 trees within 0.001 PR-AUC.
LIGHTGBM_PARAMS: dict = {
    "n_estimators": 100,
    "learning_rate": 0.15,
    "num_leaves": 8,
    "max_depth": 3,
    "min_child_samples": 40,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "max_bin": 127,
    # One thread on purpose. On these 2 shared cores OpenMP's spin-waiting made n_jobs=2 4-12x SLOWER
    # than one thread whenever another process or a BLAS thread pool held a core (a 100-tree fit on 480k
    # rows: 4.6 s with one thread, 21-25 s with two); alone, two threads gained only 2x.
    "n_jobs": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
CALIBRATION_FOLDS = 3
# Out-of-fold models are fitted on at most this many rows: at full scale the calibration map and the
# alert threshold are as stable from a sample, and training time drops by about a half.
CALIBRATION_MAX_ROWS = 150_000


def make_candidate(
    name: str,
    week: int,
    *,
    known_weeks: dict[str, int | None] | None = None,
    exclude: tuple[str, ...] = (),
    seed: int = 0,
) -> Pipeline:
    """An unfitted candidate pipeline (`name` in `CANDIDATES`) for a checkpoint at `week`."""
    steps = preprocessing_steps(week, known_weeks, exclude)
    if name == "logistic_regression":
        estimator = LogisticRegression(**LOGISTIC_PARAMS, random_state=seed)
        steps.append(("scale", StandardScaler()))
    elif name == "lightgbm":
        from lightgbm import LGBMClassifier

        estimator = LGBMClassifier(**LIGHTGBM_PARAMS, random_state=seed)
    else:
        raise ValueError(f"unknown candidate {name!r}; choose from {CANDIDATES}")
    steps.append(("classifier", TermCalibratedClassifier(estimator, seed=seed)))
    return Pipeline(steps)


def candidate_params() -> dict[str, dict]:
    """The settings of every candidate, for the model registry."""
    return {"logistic_regression": dict(LOGISTIC_PARAMS), "lightgbm": dict(LIGHTGBM_PARAMS)}


class TermCalibratedClassifier(BaseEstimator, ClassifierMixin):
    """A classifier whose probabilities are Platt-calibrated on out-of-fold scores grouped by term.

    `fit(X, y, groups=term)` scores each fold of terms with a model that never saw that term, fits a
    sigmoid on those out-of-fold scores, then refits the estimator on all rows (sklearn's
    `CalibratedClassifierCV(ensemble=False)` scheme, kept by hand so the out-of-fold probabilities stay
    available for choosing the alert threshold: `oof_probability_`). With one term only, folds are
    stratified by row. The preprocessing before this step is fitted on all training rows.
    """

    def __init__(self, estimator, seed: int = 0, folds: int = CALIBRATION_FOLDS, max_rows: int = CALIBRATION_MAX_ROWS):
        self.estimator = estimator
        self.seed = seed
        self.folds = folds
        self.max_rows = max_rows

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> TermCalibratedClassifier:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        self.classes_ = np.array([0, 1])
        rng = np.random.default_rng(self.seed)
        oof = np.full(len(y), np.nan)
        for train_idx, test_idx in self._splits(y, groups):
            if len(train_idx) > self.max_rows:
                train_idx = np.sort(rng.choice(train_idx, self.max_rows, replace=False))
            if len(np.unique(y[train_idx])) < 2:
                continue
            fold_model = clone(self.estimator).fit(X[train_idx], y[train_idx])
            oof[test_idx] = raw_score(fold_model, X[test_idx])
        scored = ~np.isnan(oof)
        self.estimator_ = clone(self.estimator).fit(X, y)
        if scored.sum() < 2 or len(np.unique(y[scored])) < 2:
            # No usable folds (tiny data): calibrate in-sample rather than not at all.
            oof, scored = raw_score(self.estimator_, X), np.ones(len(y), dtype=bool)
        platt = LogisticRegression(C=1e4).fit(oof[scored].reshape(-1, 1), y[scored])
        self.calibration_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        self.oof_probability_ = np.full(len(y), np.nan)
        self.oof_probability_[scored] = self._calibrate(oof[scored])
        self.feature_means_ = X.mean(axis=0)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = self._calibrate(raw_score(self.estimator_, np.asarray(X, dtype=np.float64)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature contributions to the log-odds of FAIL (n_rows x n_features), SHAP values.

        LightGBM: native TreeSHAP. Logistic regression: exact linear SHAP, coef x (x - training mean).
        The calibration sigmoid is monotone, so the ranking of reasons carries over to probabilities.
        """
        X = np.asarray(X, dtype=np.float64)
        if hasattr(self.estimator_, "booster_"):
            contrib = self.estimator_.booster_.predict(X, pred_contrib=True)
            return np.asarray(contrib)[:, :-1]  # last column is the expected value
        return (X - self.feature_means_) * self.estimator_.coef_[0]

    def _calibrate(self, score: np.ndarray) -> np.ndarray:
        a, b = self.calibration_
        return 1.0 / (1.0 + np.exp(-(a * score + b)))

    def _splits(self, y: np.ndarray, groups: np.ndarray | None):
        n_groups = len(np.unique(groups)) if groups is not None else 0
        if n_groups >= 2:
            return GroupKFold(n_splits=min(self.folds, n_groups)).split(y, y, groups)
        n_splits = int(min(self.folds, np.bincount(y, minlength=2).min()))
        if n_splits < 2:
            return []
        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.seed).split(y, y)


def raw_score(estimator, X: np.ndarray) -> np.ndarray:
    """Uncalibrated log-odds of FAIL."""
    if hasattr(estimator, "booster_"):
        return np.asarray(estimator.predict(X, raw_score=True), dtype=np.float64)
    return estimator.decision_function(X)
