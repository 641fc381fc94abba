"""Stored at-risk predictions, interventions and recommendation rules, and the reads the faculty view needs.

Predictions are written once per production version (at promotion) so that every dashboard click is a
read of indexed rows, never a model run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, delete, func, insert, select

from core.db import analyze, engine, session
from core.models import (
    Course,
    Enrollment,
    ImportBatch,
    Intervention,
    ModelVersion,
    RecommendationRule,
    RiskPrediction,
    Student,
    Term,
)
from core.models.academic import INTERVENTION_ACTIONS
from core.view_cache import cached
from ml import registry
from ml.at_risk.recommend import DEFAULT_RULES, validate_rules
from ml.at_risk.withdrawals import active_at
from ml.data.academic_fields import SIGNALS, STUDENT_FIELDS
from ml.data.academic_sql import join_student_course_term, load_records, term_order, term_positions
from ml.task import Progress

TASK = "at_risk"
BATCH = 5000
SIGNAL_NAMES = tuple(s.name for s in SIGNALS)
GRID_LIMIT = 2000  # rows sent to the browser for "all courses"; the CSV export has them all


def publish_predictions(version: ModelVersion, model: Any, progress: Progress) -> int:
    """Score the current term at every checkpoint with `version` and store the rows in one transaction (readers
    see the old rows until it commits); returns rows written."""
    current = current_records()
    session.execute(delete(RiskPrediction).where(RiskPrediction.model_version_id == version.id))
    rules = effective_rules(model.rules)
    checkpoints = model.checkpoints if not current.empty else []
    written = 0
    for done, checkpoint in enumerate(checkpoints):
        enrolled = active_at(current, model.checkpoint_models[checkpoint].week)  # not those who had withdrawn
        progress(int(100 * done / len(checkpoints)), f"scoring {len(enrolled):,} enrollments at {checkpoint}")
        scored = model.predict(enrolled.drop(columns="enrollment_id"), checkpoint, rules=rules)
        rows = pd.DataFrame(
            {
                "enrollment_id": enrolled["enrollment_id"].astype(int).to_numpy(),
                "model_version_id": version.id,
                "checkpoint": checkpoint,
                "probability": scored["probability"].astype(float).round(4).to_numpy(),
                "at_risk": scored["at_risk"].astype(bool).to_numpy(),
                "risk_band": scored["risk_band"].to_numpy(),
                "segment": scored["segment"].to_numpy(),
                "recommendation": scored["recommendation"].to_numpy(),
                "reasons": scored["reasons"].to_numpy(),
            }
        ).to_dict("records")
        for start in range(0, len(rows), BATCH):
            session.execute(insert(RiskPrediction), _plain(rows[start : start + BATCH]))
        written += len(rows)
    session.commit()
    analyze(["risk_predictions"])  # fresh statistics, or SQLite walks a whole term instead of the index
    progress(95, "counting the lists")
    term = current_term()
    for checkpoint in model.checkpoints if term else []:  # the web's first "all courses" view is then instant
        summary(version.id, term.code, checkpoint)
    pass_rate_trend()
    return written


def current_records() -> pd.DataFrame:
    """The current term's records whose outcome is not known yet (withdrawals included: see `active_at`)."""
    term = current_term()
    current = load_records(terms=[term.code]) if term else pd.DataFrame({"passed": []})
    return current[current["passed"].isna()]


def prune_predictions(keep_version_ids: set[int]) -> int:
    """Delete the stored predictions of every version not kept (archived versions serve nothing)."""
    result = session.execute(delete(RiskPrediction).where(RiskPrediction.model_version_id.not_in(keep_version_ids)))
    return result.rowcount


def current_term() -> Term | None:
    terms = {t.code: t for t in Term.ordered()}
    current = [code for code in term_order() if terms[code].is_current]
    return terms[current[-1]] if current else None


def courses_in_term(term_code: str) -> list[tuple[str, str]]:
    query = (
        select(Course.code, Course.name)
        .join(Enrollment, Enrollment.course_id == Course.id)
        .join(Term, Term.id == Enrollment.term_id)
        .where(Term.code == term_code)
        .group_by(Course.code, Course.name)
        .order_by(Course.code)
    )
    return [(code, name) for code, name in session.execute(query)]


def predictions(
    version_id: int, term_code: str, checkpoint: str, course_code: str | None = None, limit: int | None = GRID_LIMIT
) -> pd.DataFrame:
    """Stored predictions, riskiest first, with the signals the grid and scatter show (`limit` rows at most)."""
    e, s, c, t, p = (m.__table__ for m in (Enrollment, Student, Course, Term, RiskPrediction))
    quiz_mean = _row_mean(e.c.quiz_1, e.c.quiz_2, e.c.quiz_3)
    query = select(
        p.c.enrollment_id,
        s.c.external_id.label("student_id"),
        c.c.code.label("course_code"),
        (p.c.probability * 100).label("risk_pct"),
        p.c.at_risk,
        p.c.risk_band,
        p.c.segment,
        p.c.recommendation,
        p.c.reasons,
        e.c.attendance_w8.label("attendance_pct"),
        quiz_mean.label("quiz_avg"),
        e.c.midterm,
        e.c.lms_minutes_w8.label("lms_minutes"),
    ).join(e, e.c.id == p.c.enrollment_id)
    query = (
        join_student_course_term(query)
        .where(p.c.model_version_id == version_id, p.c.checkpoint == checkpoint, t.c.code == term_code)
        .order_by(p.c.probability.desc())
    )
    if course_code:
        query = query.where(c.c.code == course_code)
    if limit:
        query = query.limit(limit)
    with engine().connect() as conn:
        frame = pd.read_sql(query, conn)
    numeric = ["risk_pct", "attendance_pct", "quiz_avg", "midterm", "lms_minutes"]
    frame[numeric] = frame[numeric].astype(float)  # PostgreSQL returns NUMERIC averages as Decimal
    return frame.round({"risk_pct": 1, "attendance_pct": 1, "quiz_avg": 1, "midterm": 1, "lms_minutes": 0})


def summary(version_id: int, term_code: str, checkpoint: str, course_code: str | None = None) -> dict:
    """Counts over every stored prediction of the selection: enrollments and distinct students (in all and at
    risk), per band, per segment, a histogram.

    Counting a whole term at 30,000 students takes a few hundred milliseconds, so the counts are computed at
    publish time and cached under the model's sha256 and the data version: the stored predictions (whose band
    and segment never change afterwards) are a function of both, even when an old model is published again.
    """
    selection = f"{term_code}:{checkpoint}:{course_code or '*'}"
    key = f"at_risk:summary:{_artifact(version_id)}:{':'.join(map(str, _data_version()))}:{selection}"
    return cached(key, lambda: _count(version_id, term_code, checkpoint, course_code))


def _count(version_id: int, term_code: str, checkpoint: str, course_code: str | None) -> dict:
    p, e, c, t = (m.__table__ for m in (RiskPrediction, Enrollment, Course, Term))
    bucket = func.floor(p.c.probability * 20)
    base = (
        select(p.c.risk_band, p.c.segment, bucket.label("bucket"), func.count().label("n"))
        .join(e, e.c.id == p.c.enrollment_id)
        .join(t, t.c.id == e.c.term_id)
        .where(p.c.model_version_id == version_id, p.c.checkpoint == checkpoint, t.c.code == term_code)
        .group_by(p.c.risk_band, p.c.segment, bucket)
    )
    if course_code:
        base = base.join(c, c.c.id == e.c.course_id).where(c.c.code == course_code)
    students = (
        select(
            func.count(func.distinct(e.c.student_id)).label("students"),
            func.count(func.distinct(case((p.c.risk_band == "high", e.c.student_id)))).label("students_high"),
        )
        .select_from(p)
        .join(e, e.c.id == p.c.enrollment_id)
        .join(t, t.c.id == e.c.term_id)
        .where(p.c.model_version_id == version_id, p.c.checkpoint == checkpoint, t.c.code == term_code)
    )
    if course_code:
        students = students.join(c, c.c.id == e.c.course_id).where(c.c.code == course_code)
    with engine().connect() as conn:
        frame = pd.read_sql(base, conn)
        distinct = conn.execute(students).one()
    histogram = frame.groupby("bucket")["n"].sum().reindex(range(21), fill_value=0)
    histogram.iloc[19] += histogram.iloc[20]  # probability 1.0 belongs to the last bin
    return {
        "enrollments": int(frame["n"].sum()),
        "students": int(distinct.students),
        "students_high": int(distinct.students_high),
        "bands": {band: int(n) for band, n in frame.groupby("risk_band")["n"].sum().items()},
        "segments": {segment: int(n) for segment, n in frame.groupby("segment")["n"].sum().items()},
        "histogram": [int(n) for n in histogram.iloc[:20]],
    }


def terms_with_predictions(version_id: int) -> list[str]:
    """The terms the version has stored predictions for, newest first."""
    query = (
        select(Term.code)
        .join(Enrollment, Enrollment.term_id == Term.id)
        .join(RiskPrediction, RiskPrediction.enrollment_id == Enrollment.id)
        .where(RiskPrediction.model_version_id == version_id)
        .distinct()
    )
    order = term_positions()
    return sorted(session.scalars(query), key=lambda code: order.get(code, -1), reverse=True)


def current_week(term: Term, today: date | None = None) -> int | None:
    """The week of the term `today` falls in (1 = the first week), or None when the term has no start date."""
    if term.start_date is None:
        return None
    return max(1, ((today or date.today()) - term.start_date).days // 7 + 1)


def default_checkpoint(checkpoints: dict[str, int], term: Term, today: date | None = None) -> str:
    """The latest checkpoint the current week has reached (the first one before it; the last without dates)."""
    week = current_week(term, today)
    if week is None:
        return list(checkpoints)[-1]
    reached = [name for name, at in checkpoints.items() if at <= week]
    return reached[-1] if reached else next(iter(checkpoints))


def current_term_notes(version: ModelVersion) -> dict:
    """What the page must say about scoring the current term: the withdrawn students each checkpoint leaves out,
    and the fields a checkpoint model reads that the current term has no value of (scored as typical)."""
    key = f"at_risk:notes:{version.artifact_sha256}:{':'.join(map(str, _data_version()))}"
    return cached(key, lambda: _notes(version))


def _notes(version: ModelVersion) -> dict:
    current = current_records()
    checkpoints = version.params.get("checkpoints", {})
    fields = {name: spec.get("fields", []) for name, spec in version.params.get("features", {}).items()}
    notes: dict = {"withdrawn": {}, "missing": {}}
    for name, week in checkpoints.items():
        notes["withdrawn"][name] = len(current) - len(active_at(current, week))
        notes["missing"][name] = [f for f in fields.get(name, []) if f in current and current[f].isna().all()]
    return notes


def pass_rate_trend(course_code: str | None = None) -> pd.DataFrame:
    """Pass rate per past term (all courses or one), recounted only when enrollments are added or imported."""
    key = f"at_risk:trend:{':'.join(map(str, _data_version()))}:{course_code or '*'}"
    records = cached(key, lambda: _pass_rates(course_code).to_dict("records"))
    return pd.DataFrame(records, columns=["term_code", "pass_rate", "students"])


def _pass_rates(course_code: str | None) -> pd.DataFrame:
    query = (
        select(
            Term.code.label("term_code"),
            func.avg(case((Enrollment.passed.is_(True), 1.0), else_=0.0)).label("pass_rate"),
            func.count().label("students"),
        )
        .join(Term, Term.id == Enrollment.term_id)
        .where(Enrollment.passed.is_not(None))
        .group_by(Term.code)
    )
    if course_code:
        query = query.join(Course, Course.id == Enrollment.course_id).where(Course.code == course_code)
    with engine().connect() as conn:
        frame = pd.read_sql(query, conn)
    order = term_positions()
    return frame.assign(order=frame["term_code"].map(order)).sort_values("order").drop(columns="order")


def student_panel(enrollment_id: int) -> dict:
    """The student of an enrollment: who they are, their history of courses, weekly attendance here."""
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise LookupError(f"no enrollment {enrollment_id}")
    student = enrollment.student
    history = session.execute(
        select(Term.code, Course.code, Enrollment.final_grade, Enrollment.passed)
        .join(Term, Term.id == Enrollment.term_id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.student_id == student.id)
    ).all()
    order = term_positions()
    return {
        "student_id": student.external_id,
        "age": student.age,
        "sex": student.sex,
        "programme": student.programme,
        "prior_gpa": student.prior_gpa,
        "course_code": enrollment.course.code,
        "term_code": enrollment.term.code,
        "attendance_weekly": enrollment.attendance_weekly or [],
        "history": sorted(
            [
                {"term": term, "course": course, "final_grade": grade, "passed": passed}
                for term, course, grade, passed in history
            ],
            key=lambda row: (order.get(row["term"], -1), row["course"]),
        ),
    }


def record_intervention(enrollment_id: int, action: str, action_date: date, note: str, created_by: str) -> None:
    if action not in INTERVENTION_ACTIONS:
        raise ValueError(f"action must be one of {', '.join(INTERVENTION_ACTIONS)}")
    if session.get(Enrollment, enrollment_id) is None:
        raise ValueError("choose a student in the list first")
    session.add(
        Intervention(
            enrollment_id=enrollment_id,
            action=action,
            action_date=action_date,
            note=note.strip()[:2000],
            created_by=created_by,
        )
    )
    session.commit()


def interventions(
    *, enrollment_id: int | None = None, course_code: str | None = None, action: str | None = None
) -> pd.DataFrame:
    """Recorded interventions, newest first, with the outcome once the term has closed."""
    i, e, s, c, t = (m.__table__ for m in (Intervention, Enrollment, Student, Course, Term))
    outcome = case((e.c.passed.is_(True), "passed"), (e.c.passed.is_(False), "failed"), else_="term open")
    query = select(
        i.c.id,
        i.c.action_date,
        s.c.external_id.label("student_id"),
        c.c.code.label("course_code"),
        t.c.code.label("term_code"),
        i.c.action,
        i.c.note,
        i.c.created_by,
        outcome.label("outcome"),
    ).join(e, e.c.id == i.c.enrollment_id)
    query = join_student_course_term(query).order_by(i.c.action_date.desc(), i.c.id.desc())
    conditions = [
        cond
        for cond in (
            i.c.enrollment_id == enrollment_id if enrollment_id else None,
            c.c.code == course_code if course_code else None,
            i.c.action == action if action else None,
        )
        if cond is not None
    ]
    if conditions:
        query = query.where(and_(*conditions))
    with engine().connect() as conn:
        frame = pd.read_sql(query, conn)
    frame["action_date"] = frame["action_date"].astype(str)
    return frame


def production_model() -> tuple[registry.Loaded, dict[str, dict[str, str]]]:
    """The production model (loaded once per process, reloaded after a promotion) and the recommendation
    rules in force for it, so every scoring path shows faculty's edits. LookupError when there is none."""
    loaded = registry.load_production("at_risk")
    if loaded is None:
        raise LookupError("no at-risk model is in production yet")
    return loaded, effective_rules(loaded.model.rules)


_records: dict[tuple, dict] = {}
SCORING_FIELDS = ("student_id", "course_code", "term_code", "pass_mark", *SIGNAL_NAMES, *STUDENT_FIELDS)


def scoring_record(enrollment_id: int) -> dict:
    """A stored enrollment as a record for the fast scorer (its fields and dated extras), kept per process until
    the data changes (the what-if form asks for it on every edit). LookupError when there is no such one."""
    key = (enrollment_id, _data_version())
    if key not in _records:
        frame = load_records(enrollments=[enrollment_id], with_ids=False)
        if frame.empty:
            raise LookupError(f"no enrollment {enrollment_id}")
        row = frame.iloc[0]
        names = [*SCORING_FIELDS, *(c for c in frame.columns if c.startswith("x_"))]
        if len(_records) > 1000:
            _records.clear()
        _records[key] = {n: (None if pd.isna(row[n]) else _native(row[n])) for n in names if n in frame.columns}
    return dict(_records[key])


def _native(value):
    return value.item() if hasattr(value, "item") else value


@dataclass(frozen=True)
class ServingModel:
    """The production version as the one-record paths serve it."""

    version_id: int
    version: int
    scorer: Any  # ml.at_risk.fast.FastScorer


# The one-record paths look for a promotion or a rules edit at most this often (each web process): at hundreds of
# requests a second, a database round trip per request would cost more than the scoring itself.
SERVING_FRESHNESS_S = 1.0
_serving: dict[str, tuple[float, tuple, ServingModel]] = {}


def production_scorer() -> ServingModel:
    """The production model compiled for scoring a few records at once (`ml.at_risk.fast.FastScorer`) with the
    rules in force: built once per process and version, rebuilt within a second of a promotion or a rules edit.
    LookupError when no version is in production."""
    from ml.at_risk.fast import FastScorer

    now = time.monotonic()
    held = _serving.get(TASK)
    if held is not None and now - held[0] < SERVING_FRESHNESS_S:
        return held[2]
    key = _serving_key()
    if held is None or held[1] != key:
        loaded, rules = production_model()
        held = (now, key, ServingModel(loaded.version.id, loaded.version.version, FastScorer(loaded.model, rules)))
    _serving[TASK] = (now, key, held[2])
    return held[2]


def _serving_key() -> tuple:
    """What the served scorer depends on: the production version and the state of the edited rules."""
    version = session.execute(
        select(ModelVersion.id, ModelVersion.artifact_sha256).where(
            ModelVersion.task == TASK, ModelVersion.status == "production"
        )
    ).first()
    if version is None:
        raise LookupError("no at-risk model is in production yet")
    rules = session.execute(select(func.count(), func.max(RecommendationRule.updated_at))).one()
    return (*version, *rules)


def effective_rules(model_rules: dict | None = None) -> dict[str, dict[str, str]]:
    """The model's recommendation table with faculty's edits on top."""
    rules = {band: dict(actions) for band, actions in (model_rules or DEFAULT_RULES).items()}
    for rule in session.scalars(select(RecommendationRule)):
        rules.setdefault(rule.risk_band, {})[rule.segment] = rule.action
    return validate_rules(rules)


def save_rule(risk_band: str, segment: str, action: str, updated_by: str) -> None:
    """Store an edited rule (stored predictions pick it up when the task is republished, a queued job)."""
    action = action.strip()
    if not action:
        raise ValueError("the recommendation text is empty")
    validate_rules({risk_band: {segment: action}})
    rule = session.scalar(
        select(RecommendationRule).where(
            RecommendationRule.risk_band == risk_band, RecommendationRule.segment == segment
        )
    )
    if rule is None:
        session.add(RecommendationRule(risk_band=risk_band, segment=segment, action=action, updated_by=updated_by))
    else:
        rule.action, rule.updated_by = action, updated_by
    session.commit()


def _artifact(version_id: int) -> str:
    """Version ids can be reused after rows are deleted; the artifact's hash cannot."""
    version = session.get(ModelVersion, version_id)
    return version.artifact_sha256 if version else ""


def _data_version() -> tuple:
    """Changes whenever enrollments are added or a file is imported (both cheap index lookups)."""
    return (session.scalar(select(func.max(Enrollment.id))), session.scalar(select(func.max(ImportBatch.id))))


def _row_mean(*columns):
    present = sum(case((col.is_not(None), 1), else_=0) for col in columns)
    total = sum(func.coalesce(col, 0) for col in columns)
    return case((present > 0, total / present), else_=None)


def _plain(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["enrollment_id"] = int(row["enrollment_id"])
        row["at_risk"] = bool(row["at_risk"])
        row["probability"] = float(row["probability"])
    return rows
