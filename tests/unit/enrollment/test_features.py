"""Features come from the years before the one forecast, along each school's own years."""

from __future__ import annotations

import numpy as np

from ml.enrollment.features import examples
from tests.unit.enrollment.conftest import ACTIVE, CLOSED, PAUSED, grid_of

YEARS = [2016, 2017, 2018, 2019, 2020, 2021]


def two_schools():
    return grid_of(
        "FUND_AI",
        YEARS,
        [11, 22],
        enrollment=[[10, 12, 14, 16, 18, 20], [1000, 900, 800, 700, 600, 500]],
    )


def test_rolling_means_and_lags_never_mix_schools():
    grid = two_schools()
    found = examples(grid, 5)  # forecasting 2021 from 2016-2020
    by_school = dict(zip(found.schools.tolist(), range(len(found)), strict=True))
    small, big = by_school[11], by_school[22]
    assert found.column("mean3")[small] == (14 + 16 + 18) / 3
    assert found.column("mean5")[big] == (1000 + 900 + 800 + 700 + 600) / 5
    assert found.column("lag1")[small] == 18 and found.column("diff1")[small] == 2
    reversed_grid = grid_of("FUND_AI", YEARS, [22, 11], enrollment=grid["enrollment"][::-1].tolist())
    again = examples(reversed_grid, 5)
    order = np.argsort(again.schools)
    np.testing.assert_array_equal(again.X[order], found.X[np.argsort(found.schools)])


def test_features_are_unchanged_when_the_target_year_is_perturbed():
    grid = two_schools()
    t = 5
    before = examples(grid, t)
    for name, values in grid.values.items():  # the target year changes in every way it can, closure included
        values[:, t] = 3 if name == "status" else values[:, t] * 10 + 7
    after = examples(grid, t)
    np.testing.assert_array_equal(before.X, after.X)
    np.testing.assert_array_equal(before.cohort, after.cohort)
    assert not np.array_equal(before.y, after.y)


def test_a_school_that_closes_in_the_target_year_is_forecast_and_counts_as_zero():
    grid = grid_of(
        "FUND_AI",
        YEARS,
        [11, 22, 33],
        enrollment=[[10, 12, 14, 16, 18, None], [30, 30, 30, 30, None, 30], [0, 0, 5, 6, 0, 9]],
        status=[[ACTIVE] * 5 + [CLOSED], [ACTIVE] * 4 + [PAUSED, ACTIVE], [ACTIVE] * 6],
    )
    found = examples(grid, 5)
    # 22 was paused last year and 33 had no students: neither is forecast; 11 closes and counts 0 students.
    assert found.schools.tolist() == [11] and found.y.tolist() == [0.0]
