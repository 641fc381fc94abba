"""Prediction intervals from walk-forward residuals: split conformal, one band of forecast size at a time.

Errors grow with size, so the residuals are taken relative to the forecast, (actual - forecast) / max(forecast,
1), and their quantiles are kept per band of forecast size (Mondrian conformal); a band with too few residuals
borrows the nearest band that has enough (the smaller one on a tie: its relative errors are the wider), and
with no such band all residuals are pooled. The same calibrator serves a school's stage, a school's total, a
municipality, a UF or the country: each is fitted on walk-forward sums at its own level, since errors of a sum
are not the sum of the errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEVEL = 0.8  # the intervals hold the actual count 8 times in 10
BAND_EDGES = (0.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 5_000.0, 25_000.0, 100_000.0, 1_000_000.0)
MIN_POINTS = 50


@dataclass(frozen=True)
class Calibrator:
    level: float
    edges: tuple[float, ...]
    low: tuple[float, ...]  # per band: the lower quantile of the relative residual
    high: tuple[float, ...]
    points: tuple[int, ...]  # residuals behind each band (0: the pooled quantiles stand in)

    @classmethod
    def fit(
        cls,
        y: np.ndarray,
        forecast: np.ndarray,
        level: float = LEVEL,
        edges: tuple[float, ...] = BAND_EDGES,
        min_points: int = MIN_POINTS,
    ) -> Calibrator:
        y, forecast = np.asarray(y, dtype=np.float64), np.asarray(forecast, dtype=np.float64)
        relative = (y - forecast) / np.maximum(forecast, 1.0)
        band = _band(forecast, edges)
        counts = np.bincount(band, minlength=len(edges))
        enough = np.flatnonzero(counts >= min_points)
        pooled = _quantiles(relative, level)
        low, high = [], []
        for b in range(len(edges)):
            source = enough[np.argmin(np.abs(enough - b))] if len(enough) else None
            quantiles = _quantiles(relative[band == source], level) if source is not None else pooled
            low.append(quantiles[0])
            high.append(quantiles[1])
        points = tuple(int(n) if n >= min_points else 0 for n in counts)
        return cls(level, tuple(edges), tuple(low), tuple(high), points)

    def bounds(self, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) around each forecast; never below 0 students."""
        forecast = np.asarray(forecast, dtype=np.float64)
        band = _band(forecast, self.edges)
        scale = np.maximum(forecast, 1.0)
        lower = forecast + np.asarray(self.low)[band] * scale
        upper = forecast + np.asarray(self.high)[band] * scale
        return np.maximum(lower, 0.0), np.maximum(upper, forecast)

    def as_dict(self) -> dict:
        return {"level": self.level, "edges": self.edges, "low": self.low, "high": self.high, "points": self.points}


def _band(forecast: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    return np.clip(np.searchsorted(np.asarray(edges), forecast, side="right") - 1, 0, len(edges) - 1)


def _quantiles(relative: np.ndarray, level: float) -> tuple[float, float]:
    """Both tails at (1 - level) / 2, with split conformal's finite-sample correction."""
    n = len(relative)
    if n == 0:
        return 0.0, 0.0
    tail = (1.0 - level) / 2.0
    upper_rank = min(math.ceil((n + 1) * (1.0 - tail)) / n, 1.0)
    lower_rank = max(math.floor((n + 1) * tail) / n - 1.0 / n, 0.0)
    return float(np.quantile(relative, lower_rank)), float(np.quantile(relative, upper_rank))
