"""Batch scoring of an uploaded file of current-term records: parse, map, validate, score, explain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ml.data.academic_fields import DEFAULT_PASS_MARK
from ml.data.academic_import import (
    ColumnMapping,
    RowError,
    academic_mapping,
    apply_mapping,
    read_table,
    suggest_mapping,
)

OUTPUT_COLUMNS = ("source_row", "student_id", "course_code", "term_code")
CURRENT_TERM = "current"
# Records sent one by one (JSON) are on Aula's own scales and count as the current term unless they say otherwise.
SCORING_MAPPING = academic_mapping({}, default_term=CURRENT_TERM)


@dataclass
class BatchScore:
    table: pd.DataFrame  # one row per valid input row, riskiest first
    errors: list[RowError]
    n_rows: int
    n_invalid_rows: int
    mapping: ColumnMapping


def score_upload(
    data: bytes,
    filename: str,
    model: Any,
    *,
    mapping: ColumnMapping | None = None,
    checkpoint: str | None = None,
    rules: dict | None = None,
    pass_marks: dict[str, float] | None = None,
) -> BatchScore:
    """Score every valid row of an uploaded CSV/Excel file; invalid rows are reported, not scored.

    Raises `ImportFormatError` (unreadable file) or `MappingError` (required columns missing).
    """
    frame = read_table(data, filename)
    mapping = mapping or suggested_mapping(frame.columns)
    result = apply_mapping(frame, mapping)
    records = result.records
    courses = records["course_code"] if "course_code" in records else pd.Series(dtype=str)
    records = records.assign(pass_mark=courses.map(pass_marks or {}).fillna(DEFAULT_PASS_MARK).astype(float))
    scored = model.predict(records, checkpoint, rules=rules) if len(records) else _empty_scores()
    table = pd.concat([records[[c for c in OUTPUT_COLUMNS if c in records]], scored], axis=1)
    table["probability"] = table["probability"].astype(float).round(4)
    table = table.sort_values("probability", ascending=False, kind="stable").reset_index(drop=True)
    return BatchScore(table, result.errors, result.n_rows, result.n_invalid_rows, mapping)


def suggested_mapping(columns) -> ColumnMapping:
    """The automatic mapping; rows without a term column count as the current term."""
    fields = suggest_mapping(list(columns))
    return academic_mapping(fields, default_term=None if "term_code" in fields.values() else CURRENT_TERM)


def _empty_scores() -> pd.DataFrame:
    columns = ("checkpoint", "probability", "at_risk", "risk_band", "segment", "recommendation", "reasons")
    return pd.DataFrame({c: pd.Series(dtype=float if c == "probability" else object) for c in columns})
