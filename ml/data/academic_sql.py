"""Academic records in and out of SQL: the one path for generated and imported data.

`save_records` creates missing terms, courses and students and upserts enrollments in the caller's
transaction, so an import either lands whole or not at all.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, insert, select, update

from core.db import engine, session, transaction
from core.models import Course, Enrollment, ImportBatch, RecordField, Setting, Student, Term
from ml.data.academic import AcademicData
from ml.data.academic_fields import (
    BEFORE_TERM,
    DEFAULT_CHECKPOINT_WEEKS,
    DEFAULT_PASS_MARK,
    SIGNALS,
    STUDENT_FIELDS,
    TERM_WEEKS,
)

SIGNAL_NAMES = [s.name for s in SIGNALS]
CHUNK = 5000


def save_reference(
    terms: pd.DataFrame | None = None,
    courses: pd.DataFrame | None = None,
    students: pd.DataFrame | None = None,
) -> None:
    """Insert terms (term_code, name, start_date, is_current), courses and students not stored yet."""
    if terms is not None:
        columns = ["name", "start_date", "end_date", "weeks", "is_current"]
        _insert_missing(Term, "code", terms.rename(columns={"term_code": "code"}), columns)
    if courses is not None:
        _insert_missing(
            Course, "code", courses.rename(columns={"course_code": "code"}), ["name", "department", "pass_mark"]
        )
    if students is not None:
        _insert_missing(
            Student, "external_id", students.rename(columns={"student_id": "external_id"}), list(STUDENT_FIELDS)
        )


def save_generated(data: AcademicData) -> int:
    """Store a generated dataset (terms, courses, students, enrollments with weekly attendance); commits."""
    save_reference(terms=data.terms, courses=data.courses, students=data.students)
    weekly = data.enrollments["attendance_weekly"].to_numpy()  # records() keeps the enrollments' order
    rows = save_records(data.records().assign(attendance_weekly=weekly))
    session.commit()
    return rows


def save_records(records: pd.DataFrame, *, import_batch_id: int | None = None) -> int:
    """Upsert enrollments from a records frame; returns the number of rows written. Does not commit."""
    if records.empty:
        return 0
    save_reference(
        terms=pd.DataFrame({"term_code": records["term_code"].unique()}),
        courses=pd.DataFrame({"course_code": records["course_code"].unique()}),
        students=records.drop_duplicates("student_id", keep="last")[
            ["student_id", *[c for c in STUDENT_FIELDS if c in records]]
        ],
    )
    _update_student_fields(records)
    _update_calendar(records)
    _update_pass_marks(records)
    ids = _ids(records)
    frame = pd.DataFrame(
        {
            "student_id": ids["student"],
            "course_id": ids["course"],
            "term_id": ids["term"],
            **{name: _floats(records, name) for name in SIGNAL_NAMES},
            "final_grade": _floats(records, "final_grade"),
            "withdrawal_week": _floats(records, "withdrawal_week"),
        }
    )
    rows = frame.replace({np.nan: None}).to_dict("records")
    extras = _extras(records)
    weekly = records["attendance_weekly"].tolist() if "attendance_weekly" in records else [None] * len(records)
    passed = records["passed"].tolist() if "passed" in records else [None] * len(records)
    withdrawn = records["withdrawn"].fillna(False).astype(bool).tolist() if "withdrawn" in records else None
    for i, (row, extra, weeks, outcome) in enumerate(zip(rows, extras, weekly, passed, strict=True)):
        row["extra"] = extra
        row["attendance_weekly"] = _weekly(weeks)
        row["passed"] = None if outcome is None or pd.isna(outcome) else bool(outcome)
        row["withdrawn"] = bool(withdrawn[i]) if withdrawn is not None else row["withdrawal_week"] is not None
        row["import_batch_id"] = import_batch_id
    existing = _existing_enrollments(set(frame["term_id"].unique().tolist()))
    inserts, updates = [], []
    for row in rows:
        key = (row["student_id"], row["course_id"], row["term_id"])
        if key in existing:
            updates.append({"id": existing[key], **row})
        else:
            inserts.append(row)
    for start in range(0, len(inserts), CHUNK):
        session.execute(insert(Enrollment), inserts[start : start + CHUNK])
    for start in range(0, len(updates), CHUNK):
        session.execute(update(Enrollment), updates[start : start + CHUNK])
    return len(rows)


def store_import(
    records: pd.DataFrame,
    *,
    filename: str,
    mapping: dict,
    uploaded_by: str,
    n_rows: int,
    known_weeks: dict[str, int | None] | None = None,
) -> ImportBatch:
    """Save the valid rows of one uploaded file, its ImportBatch row and the weeks from which its fields are known,
    in one transaction."""
    batch = ImportBatch(
        kind="academic",
        filename=filename[:255],
        uploaded_by=uploaded_by,
        rows_total=n_rows,
        rows_valid=len(records),
        rows_invalid=n_rows - len(records),
        mapping=mapping,
    )
    with transaction():
        session.add(batch)
        session.flush()
        save_records(records.drop(columns=["source_row"], errors="ignore"), import_batch_id=batch.id)
        declare_weeks(known_weeks or {}, declared_by=uploaded_by)
        mark_current_term()
    return batch


def declare_weeks(weeks: dict[str, int | None], *, declared_by: str) -> None:
    """Record the institution's week of each field that differs from Aula's default, and of each extra column
    (None: kept, but not used by the model until a week is declared). Does not commit."""
    stored = {row.name: row for row in session.scalars(select(RecordField))}
    defaults = default_weeks()
    for name, week in weeks.items():
        if not name.startswith("x_") and week == defaults.get(name):
            if name in stored:
                session.delete(stored[name])
            continue
        row = stored.get(name) or RecordField(name=name)
        row.known_at_week, row.declared_by = week, declared_by
        session.add(row)


def default_weeks() -> dict[str, int]:
    """Aula's own: each signal from its window's end, who the student is from before the term."""
    return {s.name: s.known_at_week for s in SIGNALS} | dict.fromkeys(STUDENT_FIELDS, BEFORE_TERM)


def known_weeks() -> dict[str, int | None]:
    """The week from which each field is known here: Aula's defaults with the institution's declarations on top
    (an extra column is known only once declared)."""
    return default_weeks() | RecordField.weeks()


def mark_current_term() -> None:
    """The current term is the latest one with enrollments whose outcome is not known yet."""
    open_terms = set(session.scalars(select(Term.code).join(Enrollment).where(Enrollment.passed.is_(None)).distinct()))
    order = term_order()
    current = next((code for code in reversed(order) if code in open_terms), None)
    session.execute(update(Term).values(is_current=Term.code == current if current else False))


def load_records(
    *, terms: list[str] | None = None, enrollments: list[int] | None = None, with_ids: bool = True
) -> pd.DataFrame:
    """The records frame (see ml.data.academic_fields): all of it, or only `terms` / `enrollments`.

    `with_ids` keeps the `enrollment_id` column (the link back to the stored row).
    """
    e, s, c, t = Enrollment.__table__, Student.__table__, Course.__table__, Term.__table__
    query = select(
        e.c.id.label("enrollment_id"),
        s.c.external_id.label("student_id"),
        c.c.code.label("course_code"),
        t.c.code.label("term_code"),
        c.c.pass_mark,
        *[s.c[name] for name in STUDENT_FIELDS],
        *[e.c[name] for name in SIGNAL_NAMES],
        e.c.final_grade,
        e.c.passed,
        e.c.withdrawn,
        e.c.withdrawal_week,
        e.c.extra,
    )
    query = join_student_course_term(query)
    if terms:
        query = query.where(t.c.code.in_(terms))
    if enrollments:
        query = query.where(e.c.id.in_(enrollments))
    with engine().connect() as conn:
        frame = pd.read_sql(query, conn)
    frame["term_index"] = frame["term_code"].map(term_positions()).astype(int)
    current = {term.code for term in Term.ordered() if term.is_current}
    frame["is_current"] = frame["term_code"].isin(current)
    frame["pass_mark"] = frame["pass_mark"].fillna(DEFAULT_PASS_MARK).astype(float)
    frame["passed"] = frame["passed"].astype("boolean")
    frame["withdrawn"] = frame["withdrawn"].fillna(False).astype(bool)
    for name in [*SIGNAL_NAMES, "final_grade", "withdrawal_week", "age", "prior_gpa", "prior_failures"]:
        frame[name] = frame[name].astype(float)
    frame = _expand_extras(frame)
    if not with_ids:
        frame = frame.drop(columns="enrollment_id")
    return frame.sort_values(["term_index", "course_code", "student_id"], kind="stable").reset_index(drop=True)


def join_student_course_term(query: Select) -> Select:
    """`query`, which reads enrollments, joined to each enrollment's student, course and term."""
    e, s, c, t = Enrollment.__table__, Student.__table__, Course.__table__, Term.__table__
    return query.join(s, s.c.id == e.c.student_id).join(c, c.c.id == e.c.course_id).join(t, t.c.id == e.c.term_id)


def term_order() -> list[str]:
    """Term codes oldest first: by start date, else by the date the code stands for (`term_start_from_code`)."""
    return [
        term.code
        for term in sorted(Term.ordered(), key=lambda t: (t.start_date or term_start_from_code(t.code), t.code))
    ]


def term_positions() -> dict[str, int]:
    """Term code -> its place in `term_order()` (0 = oldest)."""
    return {code: i for i, code in enumerate(term_order())}


# Month a term starting in that season starts, as Northern and Southern calendars both write them.
_SEASONS = {
    "spring": 2, "primavera": 2, "summer": 6, "verao": 6, "fall": 9, "autumn": 9, "outono": 9,
    "winter": 1, "inverno": 1,
}  # fmt: skip
_PART_MONTH = {1: 2, 2: 8, 3: 11}  # first, second, third part of a year (semester or term number)


def term_start_from_code(code: str) -> date:
    """When a term probably starts, read from its code: "2024-1", "2024.2", "2024/2", "Fall 2024", "Spring 2025",
    "1º semestre 2024", "S2 2024", "2024 T3". Codes say where a term falls in the year, so "Fall 2024" comes
    after "Spring 2024" and before "Spring 2025", whatever their alphabetical order. Unknown codes: 1900."""
    text = unicodedata.normalize("NFKD", code.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    year_match = re.search(r"(?<!\d)(19|20)\d\d(?!\d)", text)
    if not year_match:
        return date(1900, 1, 1)
    year = int(year_match.group(0))
    season = next((month for word, month in _SEASONS.items() if re.search(rf"\b{word}\b", text)), None)
    if season is not None:
        return date(year, season, 1)
    rest = text[: year_match.start()] + " " + text[year_match.end() :]
    part = re.search(r"(?<![\d])([123])(?![\d])", rest)
    return date(year, _PART_MONTH[int(part.group(1))] if part else 1, 1)


def _insert_missing(model, key: str, frame: pd.DataFrame, columns: list[str]) -> None:
    existing = set(session.scalars(select(getattr(model, key))))
    fresh = frame[~frame[key].astype(str).isin(existing)].drop_duplicates(key)
    if fresh.empty:
        return
    keep = [key, *[c for c in columns if c in fresh]]
    rows = fresh[keep].astype(object).where(fresh[keep].notna(), None).to_dict("records")
    for row in rows:
        row[key] = str(row[key])
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[start : start + CHUNK])


def _update_student_fields(records: pd.DataFrame) -> None:
    """Imported demographics refresh what is stored (only the fields the file has)."""
    present = [c for c in STUDENT_FIELDS if c in records and records[c].notna().any()]
    if not present:
        return
    latest = records.drop_duplicates("student_id", keep="last").set_index("student_id")[present]
    id_by_external = dict(session.execute(select(Student.external_id, Student.id)).all())
    updates = []
    for external_id, values in latest.iterrows():
        row = {k: (None if pd.isna(v) else v) for k, v in values.items()}
        row = {k: v for k, v in row.items() if v is not None}
        if row:
            updates.append({"id": id_by_external[str(external_id)], **row})
    for start in range(0, len(updates), CHUNK):
        session.execute(update(Student), updates[start : start + CHUNK])


def _update_calendar(records: pd.DataFrame) -> None:
    """Term dates and lengths from the file, when it carries them (the first value given per term)."""
    columns = {"term_start": "start_date", "term_end": "end_date", "term_weeks": "weeks"}
    present = [c for c in columns if c in records and records[c].notna().any()]
    if not present:
        return
    per_term = records.groupby("term_code")[present].first()
    id_by_code = dict(session.execute(select(Term.code, Term.id)).all())
    updates = []
    for code, values in per_term.iterrows():
        row = {columns[c]: _calendar_value(values[c], columns[c]) for c in present if pd.notna(values[c])}
        if row:
            updates.append({"id": id_by_code[str(code)], **row})
    for start in range(0, len(updates), CHUNK):
        session.execute(update(Term), updates[start : start + CHUNK])


def _update_pass_marks(records: pd.DataFrame) -> None:
    """A course's pass mark from the file's pass-mark column (the last value given per course)."""
    if "pass_mark" not in records or records["pass_mark"].isna().all():
        return
    marks = records.dropna(subset=["pass_mark"]).groupby("course_code")["pass_mark"].last()
    id_by_code = dict(session.execute(select(Course.code, Course.id)).all())
    updates = [{"id": id_by_code[str(code)], "pass_mark": float(mark)} for code, mark in marks.items()]
    for start in range(0, len(updates), CHUNK):
        session.execute(update(Course), updates[start : start + CHUNK])


def _calendar_value(value, column: str):
    return int(value) if column == "weeks" else pd.Timestamp(value).date()


def _ids(records: pd.DataFrame) -> dict[str, np.ndarray]:
    maps = {
        "student": dict(session.execute(select(Student.external_id, Student.id)).all()),
        "course": dict(session.execute(select(Course.code, Course.id)).all()),
        "term": dict(session.execute(select(Term.code, Term.id)).all()),
    }
    columns = {"student": "student_id", "course": "course_code", "term": "term_code"}
    return {name: records[columns[name]].astype(str).map(maps[name]).to_numpy() for name in maps}


def _existing_enrollments(term_ids: set[int]) -> dict[tuple[int, int, int], int]:
    rows = session.execute(
        select(Enrollment.student_id, Enrollment.course_id, Enrollment.term_id, Enrollment.id).where(
            Enrollment.term_id.in_(term_ids)
        )
    )
    return {(s, c, t): i for s, c, t, i in rows}


def _floats(records: pd.DataFrame, name: str) -> np.ndarray:
    if name not in records:
        return np.full(len(records), np.nan)
    return pd.to_numeric(records[name], errors="coerce").to_numpy(dtype=float)


def _extras(records: pd.DataFrame) -> list[dict | None]:
    columns = [c for c in records.columns if c.startswith("x_")]
    if not columns:
        return [None] * len(records)
    values = records[columns].astype(object).where(records[columns].notna(), None)
    return [
        {k.removeprefix("x_"): v for k, v in row.items() if v is not None} or None for row in values.to_dict("records")
    ]


def _weekly(weeks) -> list | None:
    if weeks is None or (isinstance(weeks, float) and np.isnan(weeks)):
        return None
    return [None if w is None or (isinstance(w, float) and np.isnan(w)) else round(float(w), 3) for w in weeks]


def _expand_extras(frame: pd.DataFrame) -> pd.DataFrame:
    extras = frame.pop("extra")
    if extras.isna().all():
        return frame
    expanded = pd.DataFrame([e if isinstance(e, dict) else {} for e in extras], index=frame.index)
    expanded.columns = [f"x_{c}" for c in expanded.columns]
    for column in expanded:
        numeric = pd.to_numeric(expanded[column], errors="coerce")
        expanded[column] = numeric if numeric.notna().sum() == expanded[column].notna().sum() else expanded[column]
    return pd.concat([frame, expanded], axis=1)


class AcademicSeeder:
    """Demo terms, courses, students and enrollments (see `ml.demo`)."""

    domain = "academic"

    def has_data(self) -> bool:
        return bool(session.scalar(select(func.count()).select_from(Enrollment)))

    def seed(self, scale: str, seed: int) -> str:
        from ml.data.academic import generate_scale

        data = generate_scale(scale, seed=seed)
        rows = save_generated(data)
        return (
            f"{len(data.terms)} terms, {len(data.courses)} courses, {len(data.students)} students, {rows} enrollments."
        )


SEEDER = AcademicSeeder()


CALENDAR_KEY = "academic_calendar"


def academic_calendar() -> dict:
    """The institution's calendar: term length in weeks and the checkpoint weeks (an admin may change both;
    a term may carry its own)."""
    stored = Setting.get(CALENDAR_KEY) or {}
    return {
        "term_weeks": int(stored.get("term_weeks", TERM_WEEKS)),
        "checkpoint_weeks": [int(w) for w in stored.get("checkpoint_weeks", DEFAULT_CHECKPOINT_WEEKS)],
    }


def save_calendar(term_weeks: int, checkpoint_weeks: list[int], updated_by: str) -> dict:
    """Store the calendar after checking it: checkpoints are distinct weeks inside the term."""
    weeks = sorted({int(w) for w in checkpoint_weeks})
    if not 1 <= int(term_weeks) <= 60:
        raise ValueError("a term lasts from 1 to 60 weeks")
    if not weeks or weeks[0] < 1 or weeks[-1] > int(term_weeks):
        raise ValueError(f"checkpoint weeks must be between 1 and the term's {term_weeks} weeks")
    Setting.put(CALENDAR_KEY, {"term_weeks": int(term_weeks), "checkpoint_weeks": weeks}, updated_by)
    session.commit()
    return academic_calendar()
