"""CSV written for downloads and API answers: formula cells defused (OWASP CSV injection), numbers untouched."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from core.csv_export import defuse, to_csv


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'])
def test_formula_cells_get_a_leading_apostrophe(cell):
    assert defuse(cell) == "'" + cell


def test_plain_text_and_numbers_are_written_as_they_are():
    frame = pd.DataFrame({"student": ["S1", "=cmd|' /C calc'!A0"], "delta": [-3.5, 2.0], "count": [1, -1]})
    rows = list(csv.reader(io.StringIO(to_csv(frame))))
    assert rows[0] == ["student", "delta", "count"]
    assert rows[1] == ["S1", "-3.5", "1"]
    assert rows[2] == ["'=cmd|' /C calc'!A0", "2.0", "-1"]


def test_missing_values_stay_empty():
    rows = list(csv.reader(io.StringIO(to_csv(pd.DataFrame({"a": ["x", None]})))))
    assert rows == [["a"], ["x"], [""]]
