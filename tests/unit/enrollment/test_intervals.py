"""Conformal intervals hold about their nominal share of held-out values."""

from __future__ import annotations

import numpy as np
import pytest

from ml.enrollment.intervals import Calibrator


def exchangeable(rng, n):
    forecast = rng.lognormal(4.0, 1.2, n)
    actual = np.maximum(forecast * (1 + rng.normal(0, 0.12, n)) + rng.normal(0, 3, n), 0)
    return actual, forecast


def test_coverage_on_held_out_data_is_near_nominal():
    rng = np.random.default_rng(0)
    calibrator = Calibrator.fit(*exchangeable(rng, 20_000), level=0.8)
    actual, forecast = exchangeable(rng, 20_000)
    lower, upper = calibrator.bounds(forecast)
    assert ((actual >= lower) & (actual <= upper)).mean() == pytest.approx(0.8, abs=0.02)
    assert (lower >= 0).all() and (upper >= forecast).all()


def test_a_band_with_few_residuals_borrows_the_nearest_band():
    rng = np.random.default_rng(1)
    forecast = np.r_[np.full(500, 30.0), np.full(5, 3000.0)]
    actual = forecast * (1 + rng.normal(0, 0.1, len(forecast)))
    calibrator = Calibrator.fit(actual, forecast, min_points=50)
    small, large = np.searchsorted(calibrator.edges, [30.0, 3000.0], side="right") - 1
    assert calibrator.points[large] == 0 and calibrator.low[large] == calibrator.low[small]
