"""Reasons behind a risk score, in plain words, from per-feature SHAP contributions.

Contributions of the model's inputs are summed back onto the record field or engineered feature they came
from (a field and its missing indicator, the one-hot columns of a category), the fields pushing hardest
towards FAIL are kept, and each is written with the student's value and a reference: the median of the
student's course in the scored batch when the course has at least `MIN_COURSE_ROWS` values, otherwise the
median of the training rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.at_risk.features import MISSING_SUFFIX, SAME_REASON
from ml.at_risk.labels import label_and_unit

MIN_COURSE_ROWS = 5
# A push smaller than this (log-odds of FAIL) is not worth a sentence: a low-risk student may get none.
MIN_CONTRIBUTION = 0.05
UNIT_SUFFIX = {"%": " %", "minutes": " min", "hours": " h", "points": " points"}
DECIMALS = {"hours": 1, "z": 1, "ratio": 1, "value": 1, "gpa": 2}  # other units: whole numbers
# Features that restate another field's value (the latest grade is the midterm, or quiz 3...): shown only
# when the field they restate is not already among the row's reasons.
RESTATING = frozenset({"latest_grade"})


References = dict[str, tuple[np.ndarray, np.ndarray]]  # field -> (reference per row, is a course median)


@dataclass
class TopReasons:
    """The `top` fields pushing each row towards FAIL: field index into `fields` (-1 = none) and push."""

    fields: list[str]
    index: np.ndarray  # (n_rows, top) int
    contribution: np.ndarray  # (n_rows, top) float, log-odds


def feature_sources(feature_names: list[str], n_numeric: int, categorical_fields: list[str]) -> list[str]:
    """The record field or engineered feature behind each model input.

    The first `n_numeric` inputs are numbers (`<field>__missing` belongs to `<field>`); the rest are
    one-hot columns `<category>_<level>` of `categorical_fields`.
    """
    by_length = sorted(categorical_fields, key=len, reverse=True)
    sources = []
    for i, name in enumerate(feature_names):
        if i >= n_numeric:
            sources.append(next((c for c in by_length if name.startswith(f"{c}_")), name))
        elif name.endswith(MISSING_SUFFIX):
            sources.append(name[: -len(MISSING_SUFFIX)])
        else:
            sources.append(name)
    present = set(sources)
    return [SAME_REASON.get(s, s) if SAME_REASON.get(s) in present else s for s in sources]


def top_reasons(
    contributions: np.ndarray, sources: list[str], top: int = 3, min_contribution: float = MIN_CONTRIBUTION
) -> TopReasons:
    """Sum contributions per source field and keep the `top` pushing towards FAIL per row (strongest first)."""
    fields = list(dict.fromkeys(sources))
    membership = np.zeros((len(sources), len(fields)))
    membership[np.arange(len(sources)), [fields.index(s) for s in sources]] = 1.0
    by_field = np.asarray(contributions, dtype=np.float64) @ membership
    top = min(top, len(fields))
    order = np.argsort(-by_field, axis=1, kind="stable")[:, :top]
    pushed = np.take_along_axis(by_field, order, axis=1)
    kept = pushed >= min_contribution
    return TopReasons(fields=fields, index=np.where(kept, order, -1), contribution=np.where(kept, pushed, 0.0))


def describe(
    reasons: TopReasons,
    features: pd.DataFrame | dict[str, np.ndarray],
    course_codes: pd.Series | None,
    training_medians: dict[str, float],
    keep: int | None = None,
    references: References | None = None,
) -> dict[str, np.ndarray]:
    """Value, reference and sentence of the reasons, as arrays of `keep` columns (default: all of `reasons`).

    The reference of a value is the median of the student's course in this batch (`course_codes`), or the
    `references` given (e.g. the course's median in past terms, for one record scored alone). `features` is a
    frame, or (the one-record path) a dict of arrays.
    Returns a dict with "text", "value", "reference" and the matching "index" and "contribution". A reason
    restating another one's value is dropped and the rest move up, so ask `top_reasons` for one more than
    `keep`.
    """
    n, top = reasons.index.shape
    text = np.full((n, top), "", dtype=object)
    value = np.full((n, top), None, dtype=object)
    reference = np.full((n, top), None, dtype=object)
    used = np.unique(reasons.index[reasons.index >= 0])
    if references is None:
        references = _references(features, course_codes, [reasons.fields[g] for g in used], training_medians)
    for g in used:
        field = reasons.fields[g]
        label, unit = label_and_unit(field)
        rows, slots = np.nonzero(reasons.index == g)
        if field not in features:
            text[rows, slots] = label
            continue
        column = np.asarray(features[field])
        raw = column[rows]
        if column.dtype.kind not in "biuf":
            value[rows, slots] = raw
            text[rows, slots] = [f"{label}: {v}" for v in raw]
            continue
        ref_values, from_course = references[field]
        raw = raw.astype(np.float64)
        refs = ref_values[rows]
        value[rows, slots] = _objects(raw)
        reference[rows, slots] = _objects(refs)
        ref_words = np.where(from_course[rows], "course median", "median in past terms")
        text[rows, slots] = [
            f"{label}: {v} ({w} {r})"
            for v, w, r in zip(_formatted(raw, unit), ref_words, _formatted(refs, unit), strict=True)
        ]
    described = {
        "text": text,
        "value": value,
        "reference": reference,
        "index": reasons.index.copy(),
        "contribution": reasons.contribution.copy(),
    }
    described = _without_repeats(described, reasons.fields)
    return {key: arr[:, :keep] for key, arr in described.items()}


def _without_repeats(described: dict[str, np.ndarray], fields: list[str]) -> dict[str, np.ndarray]:
    """Drop a RESTATING reason whose value another reason of its row already gives ("midterm 12" and
    "latest grade 12"); the reasons after it move up."""
    value, index = described["value"], described["index"]
    n, top = value.shape
    restating = np.array([f in RESTATING for f in fields] + [False])[index]  # index -1 -> False
    repeat = np.zeros((n, top), dtype=bool)
    for k in range(top):
        for j in range(top):
            if j != k:
                same = (value[:, k] == value[:, j]) & pd.notna(value[:, k]) & (index[:, j] >= 0)
                repeat[:, k] |= same & restating[:, k] & ~restating[:, j]
    if not repeat.any():
        return described
    order = np.argsort(repeat, axis=1, kind="stable")  # kept slots first, in their order
    blank = {"text": "", "value": None, "reference": None, "index": -1, "contribution": 0.0}
    out = {}
    for key, arr in described.items():
        arr = arr.copy()
        arr[repeat] = blank[key]
        out[key] = np.take_along_axis(arr, order, axis=1)
    return out


def join_texts(text: np.ndarray) -> np.ndarray:
    """One string per row: the non-empty reasons joined with "; "."""
    return np.array(["; ".join(t for t in row if t) for row in text.tolist()], dtype=object)


def _formatted(values: np.ndarray, unit: str) -> list[str]:
    """Numbers as display text with the unit ("54 %", "2.5 h"); NaN as "not recorded"."""
    decimals = DECIMALS.get(unit, 0)
    missing = np.isnan(values)
    rounded = np.round(np.where(missing, 0.0, values), decimals)
    # Whole numbers through int64 (no "54.0"); + 0.0 turns -0.0 into 0.0.
    text = (rounded.astype(np.int64) if decimals == 0 else rounded + 0.0).astype(str).astype(object)
    text = text + UNIT_SUFFIX.get(unit, "")
    text[missing] = "not recorded"
    return text.tolist()


def _objects(values: np.ndarray) -> np.ndarray:
    """Floats as Python objects with None for NaN (for JSON)."""
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out


def past_course_references(
    fields: list[str],
    courses: list[str | None],
    course_medians: dict[str, dict[str, float]],
    training_medians: dict[str, float],
) -> References:
    """Per field: the course's median in past terms where known, else the training median."""
    out = {}
    for field in fields:
        per_course = [course_medians.get(c or "", {}).get(field) for c in courses]
        from_course = np.array([m is not None for m in per_course], dtype=bool)
        fallback = training_medians.get(field, np.nan)
        out[field] = (np.array([fallback if m is None else m for m in per_course], dtype=np.float64), from_course)
    return out


def _references(
    features: pd.DataFrame,
    course_codes: pd.Series | None,
    fields: list[str],
    training_medians: dict[str, float],
) -> References:
    """Per field: reference value per row and whether it is the course median (else training median)."""
    numeric = [f for f in fields if f in features.columns and pd.api.types.is_numeric_dtype(features[f])]
    n = len(features)
    out = {}
    if numeric and course_codes is not None:
        course = pd.Series(np.asarray(course_codes, dtype=object), index=features.index, name="course")
        grouped = features[numeric].groupby(course, sort=False)
        medians = grouped.transform("median")
        counts = grouped.transform("count")
    for field in numeric:
        fallback = np.full(n, training_medians.get(field, np.nan))
        if course_codes is None:
            out[field] = (fallback, np.zeros(n, dtype=bool))
            continue
        from_course = counts[field].to_numpy() >= MIN_COURSE_ROWS
        out[field] = (np.where(from_course, medians[field].to_numpy(dtype=np.float64), fallback), from_course)
    return out
