"""Overcrowding risk: will a session's attendance exceed its room's safe capacity (times a configurable share)?

The label is measured attendance (`ml.occupancy.features.measured_attendance`) above `share` x safe capacity
(share 1.0 by default: the fire limit itself; an institution may alert earlier, e.g. at 0.9). The features,
examples and time-ordered split are the attendance model's (`ml.occupancy.dataset`). Candidates: an SVM (RBF
kernel, as the reference system used; fitted on a stratified sample of at most `SVM_MAX_ROWS` rows, since its
training time grows with the square of the rows) and a gradient-boosted classifier (LightGBM). Probabilities
are Platt-scaled on the calibration weeks, where the alert threshold that maximises F1 is chosen too; the
candidate with the best calibration PR-AUC is kept and measured on the test weeks beside the rule the
timetable already knows: more students registered than the limit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ml import gate
from ml.evaluation import (
    CLASSIFICATION_HEADLINE,
    average_precision,
    class_report,
    classification_figures,
    curves,
    decision_figures,
    group_figures,
    plain,
)
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
from ml.occupancy.features import Calendar, FeatureBuilder, History, feature_imputer
from ml.occupancy.room_gate import room_type_groups, room_type_sentence
from ml.overcrowding.limit import DEFAULT_SHARE, check_share
from ml.overcrowding.task import GATE_MARGIN
from ml.task import Progress, TrainResult

CANDIDATES = ("svm", "lightgbm")
CANDIDATE_LABELS = {"svm": "SVM", "lightgbm": "LightGBM"}
CLASS_LABELS = ("fits", "overcrowded")
RULE = "registered_over_limit"
RULE_LABEL = "more students registered than the limit"
SVM_MAX_ROWS = 4000
SVM_PARAMS: dict = {"kernel": "rbf", "C": 1.0, "gamma": "scale", "class_weight": "balanced"}
LIGHTGBM_PARAMS: dict = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "n_jobs": 1,  # see ml.occupancy.model
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
GATE_METRIC = "f1"
MIN_POSITIVES = 5  # overcrowded (and fitting) sessions needed to learn from, and to judge a room type on


@dataclass
class OvercrowdingModel:
    """A fitted classifier with its Platt scaling, alert threshold and limit share. Picklable with joblib."""

    builder: FeatureBuilder
    estimator: object
    candidate: str
    platt: tuple[float, float]  # probability = sigmoid(a * raw score + b)
    threshold: float
    share: float
    settings: dict

    def probability_matrix(self, X: np.ndarray) -> np.ndarray:
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(-(a * raw_score(self.estimator, X) + b)))

    def probability(self, rows: pd.DataFrame, history: History) -> np.ndarray:
        """P(attendance > share x safe capacity) of rows to forecast (`ml.occupancy.features.ROW_COLUMNS`)."""
        if rows.empty:
            return np.empty(0)
        return self.probability_matrix(self.builder.matrix(rows, history))


def labels(found: Examples, share: float) -> np.ndarray:
    """1 where measured attendance went over share x safe capacity."""
    return (found.y > share * found.rows["safe_capacity"].to_numpy(dtype=np.float64)).astype(np.int64)


def rule(found: Examples, share: float) -> np.ndarray:
    """The baseline: alert whenever more students are registered than share x safe capacity."""
    return (found.registered > share * found.rows["safe_capacity"].to_numpy(dtype=np.float64)).astype(np.int64)


def make_classifier(name: str, seed: int = 0):
    if name == "svm":
        return Pipeline([("impute", feature_imputer()), ("scale", StandardScaler()), ("model", SVC(**SVM_PARAMS))])
    if name == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(**LIGHTGBM_PARAMS, random_state=seed)
    raise ValueError(f"unknown candidate {name!r}; choose from {CANDIDATES}")


def raw_score(estimator, X: np.ndarray) -> np.ndarray:
    """The classifier's uncalibrated score (SVM: distance to the margin; LightGBM: log-odds)."""
    if hasattr(estimator, "booster_"):
        return np.asarray(estimator.predict(X, raw_score=True), dtype=np.float64)
    return np.asarray(estimator.decision_function(X), dtype=np.float64)


def fit_classifier(name: str, found: Examples, y: np.ndarray, seed: int):
    """Fit a candidate; the SVM on a stratified sample of at most SVM_MAX_ROWS rows."""
    X = found.X
    if name == "svm" and len(y) > SVM_MAX_ROWS:
        rows = _stratified_sample(y, SVM_MAX_ROWS, seed)
        X, y = X[rows], y[rows]
    return make_classifier(name, seed).fit(X, y)


def train(
    observations: pd.DataFrame,
    *,
    share: float = DEFAULT_SHARE,
    seed: int = 0,
    progress: Progress | None = None,
    candidates: Sequence[str] = CANDIDATES,
    test_weeks: int = TEST_WEEKS,
    calibration_weeks: int = CALIBRATION_WEEKS,
    calendar: Calendar | None = None,
) -> TrainResult:
    """Train the overcrowding classifier on an observation frame (`ml.data.campus.OBSERVATION_COLUMNS`)."""
    report = progress or _no_progress
    if not candidates or any(c not in CANDIDATES for c in candidates):
        raise ValueError(f"candidates must be a non-empty selection of {CANDIDATES}")
    check_share(share)
    report(0, "Reading the measured attendance")
    builder = FeatureBuilder(calendar or Calendar()).fit(observations)
    history, split, sets = prepare(
        observations, builder, test_weeks=test_weeks, calibration_weeks=calibration_weeks, seed=seed
    )
    train_rows = sets["mixed"]["train"]
    y_train = labels(train_rows, share)
    _check_labels(train_rows, y_train, share)
    settings = {"test_weeks": test_weeks, "calibration_weeks": calibration_weeks, "seed": seed, "share": share}

    fitted, seconds, calibration_pr_auc = {}, {}, {}
    for done, name in enumerate(candidates):
        report(5 + 70 * done // len(candidates), f"Fitting the {CANDIDATE_LABELS[name]}")
        started = time.perf_counter()
        estimator = fit_classifier(name, train_rows, y_train, seed)
        seconds[name] = round(time.perf_counter() - started, 2)
        fitted[name] = _calibrated(builder, estimator, name, sets, share, settings)
        calibration = sets["next"]["calibration"]
        probability = fitted[name].probability_matrix(calibration.X)
        calibration_pr_auc[name] = average_precision(labels(calibration, share), probability)
    chosen = max(candidates, key=lambda c: (calibration_pr_auc[c] or 0.0, -CANDIDATES.index(c)))

    report(80, "Measuring on the test weeks")
    detail = hold_out_detail(fitted, chosen, sets, share, split.describe(term_codes(observations)), seed=seed)
    detail["calibration_pr_auc"] = calibration_pr_auc
    detail["fit_seconds"] = seconds

    report(88, f"Refitting the {CANDIDATE_LABELS[chosen]} on every week but the last {calibration_weeks}")
    final_sets = {h: split_examples(found, split.shifted()) for h, found in sets["all"].items()}
    final_rows = final_sets["mixed"]["train"]
    final = fit_classifier(chosen, final_rows, labels(final_rows, share), seed)
    model = _calibrated(builder, final, chosen, final_sets, share, settings)
    detail["deployed_threshold"] = model.threshold
    metrics = _flat(detail)
    params = {
        "candidates": {c: candidate_params(c) for c in candidates},
        "chosen": chosen,
        "share": share,
        "label": f"measured attendance > {share:g} x safe capacity",
        "threshold": model.threshold,
        "calibration": "Platt scaling on the calibration weeks; threshold maximising F1 there",
        "svm_max_rows": SVM_MAX_ROWS,
        **builder.params(),
        **settings,
    }
    report(100, "Done")
    return TrainResult(
        model=model,
        metrics=plain(metrics),
        params=plain(params),
        data_summary=data_summary(observations, history, split, share=share),
    )


def evaluate(model: OvercrowdingModel, observations: pd.DataFrame) -> dict:
    """The flat metrics of an existing model on the test weeks `train` would hold out of these observations."""
    sets, split = evaluation_sets(observations, model.builder, model.settings)
    detail = hold_out_detail(
        {model.candidate: model}, model.candidate, sets, model.share, split, seed=model.settings["seed"]
    )
    return plain(_flat(detail))


def hold_out_detail(
    fitted: dict[str, OvercrowdingModel], chosen: str, sets: dict, share: float, split: dict, *, seed: int = 0
) -> dict:
    """Test-week figures of every candidate and the rule, report, curves, groups, gate and a verdict."""
    test, later = sets["next"]["test"], sets["later"]["test"]
    if len(test) == 0:
        raise InsufficientDataError("No measured session in the test weeks.")
    y = labels(test, share)
    candidates, probabilities = {}, {}
    for name, model in fitted.items():
        probabilities[name] = model.probability_matrix(test.X)
        candidates[name] = classification_figures(y, probabilities[name], model.threshold)
    model = fitted[chosen]
    probability = probabilities[chosen]
    predicted = (probability >= model.threshold).astype(np.int64)
    baseline = rule(test, share)
    rule_figures = decision_figures(y, baseline)
    venue_type = test.rows["venue_type"].astype(str).to_numpy()
    later_figures = None
    if len(later):
        later_figures = classification_figures(labels(later, share), model.probability_matrix(later.X), model.threshold)
    gate_groups = room_type_groups(_f1, test, y, predicted, baseline, RULE, seed=seed, min_positives=MIN_POSITIVES)
    summary = gate.summary(GATE_METRIC, True, gate_groups, GATE_MARGIN)
    detail = {
        "chosen": chosen,
        "candidate_labels": {name: CANDIDATE_LABELS[name] for name in fitted},
        "baseline_labels": {RULE: f"Rule: {RULE_LABEL}"},
        "class_labels": list(CLASS_LABELS),
        "share": share,
        "threshold": model.threshold,
        "candidates": candidates,
        "model": candidates[chosen],
        "later_weeks": later_figures,
        "baselines": {RULE: rule_figures},
        "best_baseline": RULE,
        "class_report": class_report(
            np.array(CLASS_LABELS)[y], np.array(CLASS_LABELS)[predicted], labels=list(CLASS_LABELS)
        ),
        "rule_class_report": class_report(
            np.array(CLASS_LABELS)[y], np.array(CLASS_LABELS)[baseline], labels=list(CLASS_LABELS)
        ),
        "curves": curves(y, probability),
        "groups": group_figures(
            y, probability, model.threshold, {"room type": np.char.replace(venue_type.astype(str), "_", " ")}
        ),
        "gate": summary,
        "beats_baseline": summary["beats_baseline"],
        "test_rows": len(test),
        "split": split,
    }
    detail["sentence"] = verdict(detail)
    return detail


def verdict(detail: dict) -> str:
    """What the classifier is worth beside the rule, in words."""
    chosen, model = detail["chosen"], detail["model"]
    rule_figures = detail["baselines"][RULE]
    limit = "its safe capacity" if detail["share"] == 1.0 else f"{detail['share']:.0%} of its safe capacity"
    weeks = f" ({detail['split']['test']})" if detail.get("split", {}).get("test") else ""
    if not model["n_positive"]:
        return f"No session of the test weeks{weeks} went over {limit}, so the alert cannot be judged yet."
    text = (
        f"Of the {model['n_positive']:,} sessions of the test weeks{weeks} that went over {limit}, the "
        f"{CANDIDATE_LABELS[chosen]} flagged {model['recall']:.0%} with precision {model['precision']:.0%} "
        f"(F1 {model['f1']:.2f}); the rule '{RULE_LABEL}' flagged {rule_figures['recall']:.0%} with precision "
        f"{rule_figures['precision']:.0%} (F1 {rule_figures['f1']:.2f})."
    )
    return text + room_type_sentence(detail["gate"], "the rule", "F1")


def candidate_params(name: str) -> dict:
    return {"svm": SVM_PARAMS, "lightgbm": LIGHTGBM_PARAMS}[name]


def _calibrated(
    builder: FeatureBuilder, estimator, name: str, sets: dict, share: float, settings: dict
) -> OvercrowdingModel:
    """Platt scaling on the calibration weeks (next and later cutoffs), threshold for the best F1 there."""
    parts = [sets["next"]["calibration"], sets["later"]["calibration"]]
    raw = np.concatenate([raw_score(estimator, p.X) for p in parts])
    y = np.concatenate([labels(p, share) for p in parts])
    if len(np.unique(y)) < 2:
        raise InsufficientDataError(
            "The calibration weeks have sessions of one kind only (all over or all within the limit), so the "
            "alert threshold cannot be chosen; import more weeks of observations."
        )
    platt = LogisticRegression(C=1e4).fit(raw.reshape(-1, 1), y)
    model = OvercrowdingModel(
        builder, estimator, name, (float(platt.coef_[0, 0]), float(platt.intercept_[0])), 0.5, share, settings
    )
    nearest = sets["next"]["calibration"]
    model.threshold = best_f1_threshold(labels(nearest, share), model.probability_matrix(nearest.X))
    return model


def best_f1_threshold(y: np.ndarray, probability: np.ndarray) -> float:
    """The probability threshold with the highest F1 (0.5 when there is no positive)."""
    y = np.asarray(y, dtype=np.int64)
    if not y.any():
        return 0.5
    order = np.argsort(-probability, kind="mergesort")
    ranked, hits = probability[order], np.cumsum(y[order])
    last_of_tie = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tp = hits[last_of_tie]
    f1 = 2 * tp / (last_of_tie + 1 + y.sum())
    return float(ranked[last_of_tie[int(np.argmax(f1))]])


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = int((predicted[y == 1] == 1).sum())
    wrong = int((predicted != y).sum())
    return 2 * tp / (2 * tp + wrong) if tp or wrong else 0.0


def _flat(detail: dict) -> dict:
    model, rule_figures = detail["model"], detail["baselines"][RULE]
    metrics = {k: model[k] for k in CLASSIFICATION_HEADLINE}
    metrics["threshold"] = detail["threshold"]
    metrics.update({f"baseline_{k}": rule_figures[k] for k in CLASSIFICATION_HEADLINE})
    metrics["beats_baseline"] = detail["gate"]["beats_baseline"]
    metrics["detail"] = detail
    return metrics


def _check_labels(found: Examples, y: np.ndarray, share: float) -> None:
    if len(found) < MIN_ROWS:
        raise InsufficientDataError(
            f"Only {len(found)} measured sessions in the training weeks; at least {MIN_ROWS} are needed."
        )
    positives = int(y.sum())
    if positives < MIN_POSITIVES or len(y) - positives < MIN_POSITIVES:
        raise InsufficientDataError(
            f"{positives} of {len(y)} measured sessions in the training weeks went over {share:g} x safe capacity; "
            f"at least {MIN_POSITIVES} of each kind are needed to learn the difference."
        )


def _stratified_sample(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = []
    for label in (0, 1):
        members = np.flatnonzero(y == label)
        take = min(len(members), max(1, round(size * len(members) / len(y))))
        rows.append(rng.choice(members, take, replace=False))
    return np.sort(np.concatenate(rows))


def _no_progress(_pct: int, _msg: str) -> None:
    pass
