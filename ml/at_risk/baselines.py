"""The simple rules the at-risk model must beat, and the groups its errors are reported by."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml import gate
from ml.evaluation import average_precision, best_baseline, classification_figures, roc_auc

BASELINE_LABELS = {
    "majority": "always predicting the majority class",
    "latest_grade": "latest grade below the pass mark",
}
GATE_METRIC = "pr_auc"
GATE_MARGIN = 0.005
# Paired bootstrap resamples of the evaluation term for the model-vs-baseline interval (each costs two PR-AUCs).
BOOTSTRAP_SAMPLES = 300


@dataclass
class Baselines:
    """Figures of each baseline on the evaluation rows and the score it ranks students by."""

    figures: dict[str, dict]
    scores: dict[str, np.ndarray]

    @property
    def best(self) -> str:
        return best_baseline(self.figures, GATE_METRIC)


def baselines(
    y: np.ndarray, train_fail_rate: float, latest_grade: np.ndarray | None, pass_mark: np.ndarray
) -> Baselines:
    """The simple baselines on the same rows (FAIL = 1).

    majority: always the training majority class (probability = training fail rate).
    latest_grade: FAIL when the latest grade known is below the pass mark (no grade: pass); its
    probability is that 0/1 prediction, its ranking score the distance below the pass mark.
    """
    y = np.asarray(y, dtype=np.int64)
    majority_fail = train_fail_rate > 0.5
    constant = np.full(len(y), train_fail_rate)
    figures = {"majority": classification_figures(y, constant, 0.0 if majority_fail else np.inf)}
    figures["majority"]["threshold"] = None
    scores = {"majority": constant}
    if latest_grade is not None and not np.all(np.isnan(latest_grade)):
        score = _latest_grade_score(latest_grade, pass_mark)
        predicted = (np.asarray(pass_mark, dtype=np.float64) - latest_grade > 0).astype(np.float64)
        grade_figures = classification_figures(y, predicted, 0.5)  # no grade (NaN) means predicted pass
        grade_figures.update(roc_auc=roc_auc(y, score), pr_auc=average_precision(y, score), threshold=None)
        figures["latest_grade"], scores["latest_grade"] = grade_figures, score
    return Baselines(figures, scores)


def gate_group(y: np.ndarray, probability: np.ndarray, found: Baselines, seed: int = 0) -> dict:
    """One checkpoint as the promotion gate sees it: the model's PR-AUC, the best baseline's, and a paired
    bootstrap interval of their difference on the evaluation term."""
    best = found.best
    return gate.paired_group(
        average_precision, y, probability, found.scores[best], best, samples=BOOTSTRAP_SAMPLES, seed=seed
    )


def gate_summary(groups: dict[str, dict]) -> dict:
    return gate.summary(GATE_METRIC, True, groups, GATE_MARGIN)


def age_band(age: np.ndarray) -> np.ndarray:
    """ "<20", "20-24", "25+" or "unknown"."""
    age = np.asarray(age, dtype=np.float64)
    band = np.where(age < 20, "<20", np.where(age < 25, "20-24", "25+")).astype(object)
    band[np.isnan(age)] = "unknown"
    return band


def _latest_grade_score(latest_grade: np.ndarray, pass_mark: np.ndarray) -> np.ndarray:
    """How far below the pass mark the latest grade is (no grade ranks last)."""
    gap = np.asarray(pass_mark, dtype=np.float64) - np.asarray(latest_grade, dtype=np.float64)
    floor = np.nanmin(gap) - 1.0 if np.isfinite(gap).any() else 0.0
    return np.where(np.isnan(gap), floor, gap)
