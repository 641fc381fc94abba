"""The two forecasts every enrollment figure is shown beside, per school, summed to the stage.

- `same_as_last_year`: next year's students are this year's.
- `cohort_survival`, as enrollment planners do it: next year's grade g = ratio x this year's grade g-1, the ratio
  (grade progression ratio) a weighted average of the school's last five years of that transition (recent years
  weigh more: 5, 4, 3, 2, 1), so repetition, dropout and migration of the school are in it. Entry grades (1st
  grade, and the first grade of a stage the school's own previous grade does not feed) and the un-graded
  stages (creche, pre-school, technical, EJA, special classes) follow their own trend: this year's students x
  the same weighted ratio of each year to the year before. Students outside the listed grades (secondary
  school's 4th year and non-graded classes) are carried over as they are.

A school with little history would get a ratio from a handful of students, so each ratio is shrunk towards
the ratio of all schools over the same years by `PSEUDO_COUNT` (weighted) students. Both baselines read only a
`Grid.history`, never the year they forecast.
"""

from __future__ import annotations

import itertools

import numpy as np

from ml.enrollment.panel import CONTINUES_FEEDER, Grid

WINDOW = 5
WEIGHTS = np.arange(WINDOW, 0, -1, dtype=np.float64)  # the latest transition first
PSEUDO_COUNT = 5.0
RATIO_RANGE = (0.0, 3.0)
NAMES = ("same_as_last_year", "cohort_survival")
LABELS = {"same_as_last_year": "Same as last year", "cohort_survival": "Cohort survival"}


def same_as_last_year(history: Grid) -> np.ndarray:
    return np.nan_to_num(history["enrollment"][:, -1]).astype(np.float64)


def cohort_survival(history: Grid) -> np.ndarray:
    """Every school's forecast of the year after `history` (0 where it reported nothing last year)."""
    last = np.nan_to_num(history["enrollment"][:, -1]).astype(np.float64)
    if not history.grades:
        return last * own_trend(history["enrollment"])
    grades = [history[name] for name in history.grades]
    first = grades[0]
    entry = np.nan_to_num(first[:, -1]) * own_trend(first)
    if history.stage in CONTINUES_FEEDER:
        feeder = history["feeder"]
        fed = np.nan_to_num(feeder[:, -1]) > 0
        entry = np.where(fed, progression_ratio(first, feeder) * np.nan_to_num(feeder[:, -1]), entry)
    forecast = entry
    for before, grade in itertools.pairwise(grades):
        forecast = forecast + progression_ratio(grade, before) * np.nan_to_num(before[:, -1])
    in_grades = np.sum([np.nan_to_num(g[:, -1]) for g in grades], axis=0)
    carried = np.maximum(last - in_grades, 0.0)
    return np.maximum(forecast + carried, 0.0)


def progression_ratio(grade: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Per school: weighted sum over the last five years of `grade` in year y over `previous` in year y-1."""
    numerator, denominator = _weighted_transitions(grade, previous)
    total_num, total_den = numerator.sum(), denominator.sum()
    pooled = total_num / total_den if total_den > 0 else 1.0
    ratio = (numerator + PSEUDO_COUNT * pooled) / (denominator + PSEUDO_COUNT)
    return np.clip(ratio, *RATIO_RANGE)


def own_trend(counts: np.ndarray) -> np.ndarray:
    """Per school: the weighted ratio of each of its last five years to the year before."""
    return progression_ratio(counts, counts)


def _weighted_transitions(grade: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_schools, n_years = grade.shape
    numerator, denominator = np.zeros(n_schools), np.zeros(n_schools)
    for back, weight in enumerate(WEIGHTS):
        year = n_years - 1 - back
        if year < 1:
            break
        now, before = grade[:, year].astype(np.float64), previous[:, year - 1].astype(np.float64)
        known = np.isfinite(now) & np.isfinite(before)  # a paused, closed or unlisted year has no transition
        numerator += np.where(known, weight * np.nan_to_num(now), 0.0)
        denominator += np.where(known, weight * np.nan_to_num(before), 0.0)
    return numerator, denominator
