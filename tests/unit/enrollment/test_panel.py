"""The grid is a complete calendar-year grid: a missing year file, a school absent from a year, a paused school
and a NULL count are NaN in their own year; a reported 0 stays 0."""

from __future__ import annotations

import numpy as np

from ml.enrollment.features import examples
from ml.enrollment.panel import load_grid
from tests.unit.enrollment.conftest import ACTIVE, PAUSED, write_panel


def school(code: int, students: int | None, status: int = ACTIVE) -> dict:
    row = {"CO_ENTIDADE": code, "CO_UF": 35, "CO_MUNICIPIO": 3550308, "TP_DEPENDENCIA": 3, "TP_LOCALIZACAO": 1}
    counts = {} if students is None else {"QT_MAT_BAS": students, "QT_MAT_FUND_AI": students, "QT_DOC_FUND_AI": 4}
    return {**row, "TP_SITUACAO_FUNCIONAMENTO": status, **counts}


def test_lags_are_calendar_years_across_a_missing_year_and_a_school_absent_from_a_file(tmp_path):
    # 2019 was never loaded; school 2 is not in 2020's file; school 3 is paused in 2020.
    files = write_panel(
        tmp_path,
        {
            2017: [school(1, 10), school(2, 100), school(3, 50)],
            2018: [school(1, 20), school(2, 110), school(3, 55)],
            2020: [school(1, 40), school(3, None, PAUSED)],
            2021: [school(1, 50), school(2, 130), school(3, 60)],
        },
    )
    grid = load_grid("FUND_AI", files=files)
    assert list(grid.years) == [2017, 2018, 2019, 2020, 2021]
    np.testing.assert_array_equal(grid["enrollment"][0], [10, 20, np.nan, 40, 50])
    np.testing.assert_array_equal(grid["enrollment"][1], [100, 110, np.nan, np.nan, 130])
    np.testing.assert_array_equal(grid["status"][2], [ACTIVE, ACTIVE, np.nan, PAUSED, ACTIVE])

    ahead = examples(grid, grid.n_years)  # next year, 2022
    lags = {int(s): (ahead.column("lag1")[i], ahead.column("lag2")[i], ahead.column("lag3")[i])
            for i, s in enumerate(ahead.schools)}  # fmt: skip
    assert lags[1][:2] == (50, 40) and np.isnan(lags[1][2])  # 2019 is NaN, not 2018's 20
    assert lags[2][0] == 130 and np.isnan(lags[2][1]) and np.isnan(lags[2][2])  # not 110 and 100
    assert lags[3][0] == 60 and np.isnan(lags[3][1])  # paused: no count, not 0
    assert set(ahead.year) == {2022}


def test_a_reported_zero_is_not_a_null(tmp_path):
    files = write_panel(tmp_path, {2022: [school(1, 0), school(2, None)], 2023: [school(1, 5), school(2, 7)]})
    grid = load_grid("FUND_AI", files=files)
    assert grid["enrollment"][0, 0] == 0 and np.isnan(grid["enrollment"][1, 0])
