"""The naive forecasts the attendance model must beat, and the promotion gate's view of them.

- `show_up_so_far`: registered students x the section's show-up rate so far this term (before any week is
  measured: the course's rate in earlier terms, else the training rows' overall rate);
- `last_week`: registered x the section's show-up in its last measured week (same fallbacks).

The gate compares WAPE per room type (lower is better; `ml.occupancy.room_gate`).
"""

from __future__ import annotations

import numpy as np

from ml import gate
from ml.evaluation import best_baseline
from ml.occupancy.dataset import Examples

BASELINE_LABELS = {
    "show_up_so_far": "registered × show-up rate so far",
    "last_week": "same as last week",
}
GATE_METRIC = "wape"
GATE_MARGIN = 0.005  # half a percentage point of WAPE


def baseline_forecasts(found: Examples, fallback_rate: float) -> dict[str, np.ndarray]:
    """Each baseline's attendance forecast of the examples (rates as of each row's cutoff)."""
    rows = found.rows
    course = rows["course_rate"].to_numpy(dtype=np.float64)
    fallback = np.where(np.isfinite(course), course, fallback_rate)
    so_far = _first_known(rows["section_rate"].to_numpy(dtype=np.float64), fallback)
    last = _first_known(rows["section_last"].to_numpy(dtype=np.float64), fallback)
    return {"show_up_so_far": so_far * found.registered, "last_week": last * found.registered}


def overall_rate(found: Examples) -> float:
    """Attendance over registered students of the examples, pooled (the fallback show-up rate)."""
    total = found.registered.sum()
    return float(found.y.sum() / total) if total > 0 else 1.0


def wape(y: np.ndarray, forecast: np.ndarray) -> float | None:
    total = float(np.abs(y).sum())
    return float(np.abs(forecast - y).sum()) / total if total > 0 else None


def best(figures: dict[str, dict]) -> str:
    return best_baseline(figures, GATE_METRIC, higher_is_better=False)


def gate_summary(groups: dict[str, dict]) -> dict:
    return gate.summary(GATE_METRIC, False, groups, GATE_MARGIN)


def _first_known(*candidates: np.ndarray) -> np.ndarray:
    out = np.array(candidates[0], dtype=np.float64, copy=True)
    for values in candidates[1:]:
        out = np.where(np.isfinite(out), out, values)
    return out
