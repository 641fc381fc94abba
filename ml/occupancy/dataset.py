"""Examples for the facilities models and their time-ordered split: train on the past, judge on later weeks.

Every observed (term, week) is a period. The latest `test_weeks` periods are the hold-out the figures are
measured on; the `calibration_weeks` before them choose the candidate, fit probabilities and thresholds and
calibrate prediction intervals; every earlier period trains. Rows are never shuffled across periods, and a row's
features only read weeks up to its cutoff (`as_of`, before its own week), so no figure sees the future.

The saved model is then refitted the same way one step later: trained on every period before the last
`calibration_weeks`, calibrated on those.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ml.evaluation import plain
from ml.occupancy.features import (
    MAX_HORIZON,
    NEXT_WEEK_SHARE,
    ROW_COLUMNS,
    FeatureBuilder,
    History,
    measured_attendance,
)

TEST_WEEKS = 4
CALIBRATION_WEEKS = 3
MIN_TRAIN_WEEKS = 2
MIN_ROWS = 100
META_COLUMNS = tuple(c for c in ROW_COLUMNS if c != "as_of")  # an example's cutoff is chosen per horizon


class InsufficientDataError(ValueError):
    """The observations cannot train or evaluate a facilities model; the message says what is missing."""


@dataclass
class Examples:
    """Rows with their features, measured attendance (`y`) and the naive forecasts of the same cutoff."""

    rows: pd.DataFrame  # META_COLUMNS, as_of, weeks_ahead, period, source, y, section_rate, section_last, course_rate
    X: np.ndarray
    columns: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def where(self, mask: np.ndarray) -> Examples:
        return Examples(self.rows[mask].reset_index(drop=True), self.X[mask], self.columns)

    @property
    def y(self) -> np.ndarray:
        return self.rows["y"].to_numpy(dtype=np.float64)

    @property
    def registered(self) -> np.ndarray:
        return self.rows["registered"].to_numpy(dtype=np.float64)

    @property
    def clusters(self) -> np.ndarray:
        """The section of each row: rows of one section are not independent, so bootstraps resample sections."""
        return (self.rows["term_code"].astype(str) + "/" + self.rows["section_code"].astype(str)).to_numpy()


@dataclass(frozen=True)
class TimeSplit:
    """Observed periods, oldest first, cut into train / calibration / test."""

    periods: tuple[tuple[int, int], ...]
    calibration_start: int  # index into periods
    test_start: int

    def segment_of(self, period: np.ndarray) -> np.ndarray:
        """'train', 'calibration' or 'test' per period key (`period_key`)."""
        keys = np.array([period_key(t, w) for t, w in self.periods])
        position = np.searchsorted(keys, period)
        return np.where(
            position >= self.test_start, "test", np.where(position >= self.calibration_start, "calibration", "train")
        )

    def describe(self, term_codes: dict[int, str]) -> dict:
        def label(i: int) -> str:
            term, week = self.periods[i]
            return f"{term_codes.get(term, term)} week {week}"

        return {
            "train": f"{label(0)} to {label(self.calibration_start - 1)}",
            "calibration": f"{label(self.calibration_start)} to {label(self.test_start - 1)}",
            "test": f"{label(self.test_start)} to {label(len(self.periods) - 1)}",
            "train_weeks": self.calibration_start,
            "calibration_weeks": self.test_start - self.calibration_start,
            "test_weeks": len(self.periods) - self.test_start,
        }

    def shifted(self) -> TimeSplit:
        """The split of the saved model: everything before the last calibration weeks trains, they calibrate."""
        width = self.test_start - self.calibration_start
        return TimeSplit(self.periods, len(self.periods) - width, len(self.periods))


def prepare(
    observations: pd.DataFrame,
    builder: FeatureBuilder,
    *,
    test_weeks: int = TEST_WEEKS,
    calibration_weeks: int = CALIBRATION_WEEKS,
    seed: int = 0,
) -> tuple[History, TimeSplit, dict]:
    """The history, time split and example sets (`example_sets`) a facilities model trains and is judged on."""
    history = builder.history(observations)
    split = time_split(observations, builder, test_weeks=test_weeks, calibration_weeks=calibration_weeks)
    return history, split, example_sets(observations, builder, history, split, seed)


def evaluation_sets(observations: pd.DataFrame, builder: FeatureBuilder, settings: dict) -> tuple[dict, dict]:
    """The example sets of a fitted model's own split of these observations (`settings`: its test_weeks,
    calibration_weeks and seed), and that split in words."""
    _, split, sets = prepare(
        observations,
        builder,
        test_weeks=settings["test_weeks"],
        calibration_weeks=settings["calibration_weeks"],
        seed=settings["seed"],
    )
    return sets, split.describe(term_codes(observations))


def period_key(term_index: ArrayLike, week: ArrayLike) -> np.ndarray:
    """One sortable number per (term_index, week)."""
    return np.asarray(term_index, dtype=np.int64) * 1000 + np.asarray(week, dtype=np.int64)


def time_split(
    observations: pd.DataFrame,
    builder: FeatureBuilder,
    *,
    test_weeks: int = TEST_WEEKS,
    calibration_weeks: int = CALIBRATION_WEEKS,
) -> TimeSplit:
    """The split of the observed periods with measured attendance (InsufficientDataError when too few)."""
    attendance, _ = measured_attendance(observations, builder.wifi_per_person)
    measured = observations.loc[np.isfinite(attendance), ["term_index", "week"]].drop_duplicates()
    periods = tuple(sorted((int(t), int(w)) for t, w in measured.itertuples(index=False)))
    needed = test_weeks + calibration_weeks + MIN_TRAIN_WEEKS
    if len(periods) < needed:
        raise InsufficientDataError(
            f"Training needs measured attendance (head counts, surveys or Wi-Fi) in at least {needed} weeks: "
            f"{MIN_TRAIN_WEEKS} to train on, {calibration_weeks} to calibrate and {test_weeks} to test on; found "
            f"{len(periods)}. Import more weeks of observations."
        )
    return TimeSplit(periods, len(periods) - test_weeks - calibration_weeks, len(periods) - test_weeks)


def examples(
    observations: pd.DataFrame,
    builder: FeatureBuilder,
    history: History,
    *,
    horizon: str,
    seed: int = 0,
) -> Examples:
    """Every measured, held observation as an example seen from a cutoff before it.

    `horizon`: "next" (the week before: the coming-week forecast), "later" (2 to MAX_HORIZON weeks before, for
    rows late enough; the rest of the term) or "mixed" (training: the week before for NEXT_WEEK_SHARE of rows,
    else 2 to MAX_HORIZON weeks before).
    """
    attendance, source = measured_attendance(observations, builder.wifi_per_person)
    keep = np.isfinite(attendance) & (observations["registered"].to_numpy(dtype=np.float64) > 0)
    rows = observations.loc[keep, list(META_COLUMNS)].reset_index(drop=True)
    rows["y"], rows["source"] = attendance[keep], source[keep]
    week = rows["week"].to_numpy(dtype=np.int64)
    rng = np.random.default_rng(seed)
    furthest = np.minimum(MAX_HORIZON, week)
    later = 2 + np.floor(rng.random(len(rows)) * np.maximum(furthest - 1, 0)).astype(np.int64)
    if horizon == "next":
        ahead = np.ones(len(rows), dtype=np.int64)
    elif horizon == "later":
        rows, later = rows[week >= 2].reset_index(drop=True), later[week >= 2]
        ahead = later
    elif horizon == "mixed":
        ahead = np.where((rng.random(len(rows)) < NEXT_WEEK_SHARE) | (week < 2), 1, later)
    else:
        raise ValueError(f"horizon must be next, later or mixed, not {horizon!r}")
    rows["as_of"] = rows["week"].to_numpy(dtype=np.int64) - ahead
    rows["weeks_ahead"] = ahead
    rows["period"] = period_key(rows["term_index"], rows["week"])
    features = builder.frame(rows, history)
    for name in ("section_rate", "section_last", "course_rate"):
        rows[name] = features[name].to_numpy()
    return Examples(rows, features.to_numpy(dtype=np.float64), builder.columns)


def split_examples(found: Examples, split: TimeSplit) -> dict[str, Examples]:
    segment = split.segment_of(found.rows["period"].to_numpy())
    return {name: found.where(segment == name) for name in ("train", "calibration", "test")}


def example_sets(
    observations: pd.DataFrame, builder: FeatureBuilder, history: History, split: TimeSplit, seed: int
) -> dict:
    """Examples seen from a mixed, the next and a later cutoff, each split by period (`"all"`: unsplit)."""
    found = {
        "mixed": examples(observations, builder, history, horizon="mixed", seed=seed),
        "next": examples(observations, builder, history, horizon="next"),
        "later": examples(observations, builder, history, horizon="later", seed=seed + 1),
    }
    sets: dict = {name: split_examples(e, split) for name, e in found.items()}
    sets["all"] = found
    return sets


def term_codes(observations: pd.DataFrame) -> dict[int, str]:
    """term_index -> term_code of the observations."""
    pairs = observations[["term_index", "term_code"]].drop_duplicates()
    return {int(i): str(c) for i, c in pairs.itertuples(index=False)}


def data_summary(observations: pd.DataFrame, history: History, split: TimeSplit, **extra) -> dict:
    """Rows, weeks, sources, `extra` and a hash of the observations (stable for equal data in any row order)."""
    terms = term_codes(observations)
    first, last, test = split.periods[0], split.periods[-1], split.periods[split.test_start]
    return plain(
        {
            "rows": len(observations),
            "measured_rows": history.n_measured,
            "target_sources": history.sources,
            "weeks": len(split.periods),
            "first": {"term_code": terms[first[0]], "week": first[1]},
            "last": {"term_code": terms[last[0]], "week": last[1]},
            "test_from": {"term_code": terms[test[0]], "week": test[1]},
            **extra,
            "data_hash": _observations_hash(observations),
        }
    )


def _observations_hash(observations: pd.DataFrame) -> str:
    key = ["term_code", "section_code", "weekday", "slot", "week"]
    columns = sorted(c for c in observations.columns if c != "session_id")  # ids differ between databases
    ordered = observations[columns].sort_values(key, kind="stable").reset_index(drop=True)
    return hashlib.sha256(
        "|".join(columns).encode() + pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes()
    ).hexdigest()
