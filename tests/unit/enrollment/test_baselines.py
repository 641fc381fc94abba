"""Cohort survival and same-as-last-year on hand-built schools, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ml.enrollment.baselines import cohort_survival, same_as_last_year
from tests.unit.enrollment.conftest import ACTIVE, PAUSED, grid_of

YEARS = [2020, 2021, 2022]
AF_GRADES = ("grade:FUND_AF_6", "grade:FUND_AF_7", "grade:FUND_AF_8", "grade:FUND_AF_9")


def af_school(**extra):
    grades = {"grade:FUND_AF_6": [40, 45, 55], "grade:FUND_AF_7": [38, 41, 44], "grade:FUND_AF_8": [35, 36, 40],
              "grade:FUND_AF_9": [30, 33, 34]}  # fmt: skip
    total = [sum(g[i] for g in grades.values()) for i in range(3)]
    values = {name: [row] for name, row in grades.items()}
    return grid_of("FUND_AF", YEARS, [1], AF_GRADES, enrollment=[total], feeder=[[50, 60, 70]], **values, **extra)


def test_cohort_survival_moves_each_grade_up_with_the_schools_weighted_progression_ratios():
    # Weights 5 (2021->2022) and 4 (2020->2021). Grade 6 is fed by this school's grade 5.
    expected = (
        (5 * 55 + 4 * 45) / (5 * 60 + 4 * 50) * 70  # grade 5 -> 6
        + (5 * 44 + 4 * 41) / (5 * 45 + 4 * 40) * 55  # 6 -> 7
        + (5 * 40 + 4 * 36) / (5 * 41 + 4 * 38) * 44  # 7 -> 8
        + (5 * 34 + 4 * 33) / (5 * 36 + 4 * 35) * 40  # 8 -> 9
    )
    assert cohort_survival(af_school())[0] == pytest.approx(expected)
    assert same_as_last_year(af_school())[0] == 55 + 44 + 40 + 34


def test_a_paused_year_gives_no_transition():
    paused = af_school(status=[[ACTIVE, PAUSED, ACTIVE]])
    for name in (*AF_GRADES, "feeder", "enrollment"):
        paused.values[name][0, 1] = np.nan
    # Only 2020 -> 2021 and 2021 -> 2022 existed, and both touch the paused 2021: the ratio falls back to 1.
    assert cohort_survival(paused)[0] == pytest.approx(70 + 55 + 44 + 40)


def test_an_ungraded_stage_follows_its_own_weighted_trend():
    grid = grid_of("INF_CRE", YEARS, [1], enrollment=[[100, 110, 121]])
    trend = (5 * 121 + 4 * 110) / (5 * 110 + 4 * 100)
    assert cohort_survival(grid)[0] == pytest.approx(121 * trend)


def test_a_schools_ratio_is_its_own_not_its_neighbours():
    grid = grid_of("INF_CRE", YEARS, [1, 2], enrollment=[[100, 100, 100], [1000, 2000, 4000]])
    forecast = cohort_survival(grid)
    # School 1 is stable; shrinking by 5 weighted students towards the pooled ratio moves it by under 2 %.
    assert forecast[0] == pytest.approx(100, rel=0.02) and forecast[1] > 7000
