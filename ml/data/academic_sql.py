"""Academic records in and out of SQL: the one path for generated and imported data.

`save_records` creates missing terms, courses and students and upserts enrollments in the caller's
transaction, so an import either lands whole or not at all.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, insert, select, update

from core.db import engine, session, transaction
from core.models import Course, Enrollment, ImportBatch, Student, Term
from ml.data.academic import AcademicData
from ml.data.academic_fields import DEFAULT_PASS_MARK, SIGNALS, STUDENT_FIELDS

SIGNAL_NAMES = [s.name for s in SIGNALS]
CHUNK = 5000


def save_reference(
    terms: pd.DataFrame | None = None,
    courses: pd.DataFrame | None = None,
    students: pd.DataFrame | None = None,
) -> None:
    """Insert terms (term_code, name, start_date, is_current), courses and students not stored yet."""
    if terms is not None:
        _insert_missing(Term, "code", terms.rename(columns={"term_code": "code"}), ["name", "start_date", "is_current"])
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
    ids = _ids(records)
    frame = pd.DataFrame(
        {
            "student_id": ids["student"],
            "course_id": ids["course"],
            "term_id": ids["term"],
            **{name: _floats(records, name) for name in SIGNAL_NAMES},
            "final_grade": _floats(records, "final_grade"),
        }
    )
    rows = frame.replace({np.nan: None}).to_dict("records")
    extras = _extras(records)
    weekly = records["attendance_weekly"].tolist() if "attendance_weekly" in records else [None] * len(records)
    passed = records["passed"].tolist() if "passed" in records else [None] * len(records)
    for row, extra, weeks, outcome in zip(rows, extras, weekly, passed, strict=True):
        row["extra"] = extra
        row["attendance_weekly"] = _weekly(weeks)
        row["passed"] = None if outcome is None or pd.isna(outcome) else bool(outcome)
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


def store_import(records: pd.DataFrame, *, filename: str, mapping: dict, uploaded_by: str, n_rows: int) -> ImportBatch:
    """Save the valid rows of one uploaded file and its ImportBatch row in one transaction."""
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
        mark_current_term()
    return batch


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
    for name in [*SIGNAL_NAMES, "final_grade", "age", "prior_gpa"]:
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
    """Term codes oldest first: by start date, else by the year and part read from the code."""
    return [
        term.code
        for term in sorted(Term.ordered(), key=lambda term: (term.start_date or _date_from_code(term.code), term.code))
    ]


def term_positions() -> dict[str, int]:
    """Term code -> its place in `term_order()` (0 = oldest)."""
    return {code: i for i, code in enumerate(term_order())}


def _date_from_code(code: str) -> date:
    match = re.search(r"(19|20)\d\d", code)
    year = int(match.group(0)) if match else 1900
    part = re.search(r"[-/.](\d)\b", code)
    return date(year, 7 if part and part.group(1) == "2" else 1, 1)


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
