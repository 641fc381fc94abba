"""CSV written in one place for every download and API answer, safe to open in a spreadsheet.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets (OWASP "CSV injection"): such cells get a leading apostrophe, which the
spreadsheet shows as text. Numbers are written as numbers (a negative number is not a formula).
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV text (header, no index), with formula-like text cells defused."""
    return frame.apply(_defuse_column).to_csv(index=False)


def defuse(value: object) -> object:
    """One cell as written: text that a spreadsheet would evaluate gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _defuse_column(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return column
    return column.map(defuse, na_action="ignore")
