"""Admin: the academic calendar (term length, checkpoint weeks; each term's dates), courses' pass marks, and
the campus calendar the facilities models learn with (holiday, midterm and exam weeks).

Terms are ordered by their dates; a term without dates is placed by the date its code stands for. Checkpoint
weeks take effect at the next retraining of at_risk (each checkpoint has its own model), the campus calendar at
the next retraining of occupancy and overcrowding.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core import db
from core.models import AuditLog, Course, Term
from ml.data.academic_fields import DEFAULT_PASS_MARK
from ml.data.academic_sql import academic_calendar, save_calendar, term_order, term_start_from_code
from ml.occupancy import campus_calendar
from webapp.auth import role_required

bp = Blueprint("admin_calendar", __name__, url_prefix="/admin/calendar")
SHOWN_COURSES = 500


@bp.get("/")
@role_required("admin")
def index():
    terms = {t.code: t for t in Term.ordered()}
    ordered = [terms[code] for code in term_order()]
    marks = db.session.scalars(
        select(Course).where(Course.pass_mark != DEFAULT_PASS_MARK).order_by(Course.code).limit(SHOWN_COURSES)
    )
    return render_template(
        "admin/calendar.html",
        calendar=academic_calendar(),
        campus=campus_calendar.current_calendar(),
        terms=ordered,
        estimated={t.code: term_start_from_code(t.code) for t in ordered if t.start_date is None},
        courses=list(marks),
        default_mark=DEFAULT_PASS_MARK,
    )


@bp.post("/")
@role_required("admin")
def save_institution():
    try:
        weeks = _weeks(request.form.get("checkpoint_weeks"))
        saved = save_calendar(int(request.form.get("term_weeks", "")), weeks, current_user.email)
    except ValueError as exc:
        flash(f"Calendar not saved: {exc}.", "danger")
        return redirect(url_for("admin_calendar.index"))
    AuditLog.record(current_user.id, "calendar_saved", "academic calendar", **saved)
    db.session.commit()
    flash("Calendar saved. Checkpoint weeks apply from the next at_risk retraining.", "success")
    return redirect(url_for("admin_calendar.index"))


@bp.post("/campus")
@role_required("admin")
def save_campus():
    form = request.form
    try:
        saved = campus_calendar.save_calendar(
            int(form.get("term_weeks", "")),
            _weeks(form.get("holiday_weeks")),
            _weeks(form.get("midterm_weeks")),
            _weeks(form.get("exam_weeks")),
            current_user.email,
        )
    except ValueError as exc:
        flash(f"Campus calendar not saved: {exc}.", "danger")
        return redirect(url_for("admin_calendar.index"))
    AuditLog.record(current_user.id, "campus_calendar_saved", "campus calendar", **saved.as_dict())
    db.session.commit()
    flash("Campus calendar saved. It applies from the next occupancy and overcrowding retraining.", "success")
    return redirect(url_for("admin_calendar.index"))


@bp.post("/terms/<int:term_id>")
@role_required("admin")
def save_term(term_id: int):
    term = db.session.get(Term, term_id)
    if term is None:
        flash("No such term.", "danger")
        return redirect(url_for("admin_calendar.index"))
    try:
        start, end = _date(request.form.get("start_date")), _date(request.form.get("end_date"))
        if start and end and end <= start:
            raise ValueError("the term must end after it starts")
        weeks = int(request.form["weeks"]) if request.form.get("weeks") else None
        if weeks is not None and not 1 <= weeks <= 60:
            raise ValueError("a term lasts from 1 to 60 weeks")
    except ValueError as exc:
        flash(f"{term.code} not saved: {exc}.", "danger")
        return redirect(url_for("admin_calendar.index"))
    term.start_date, term.end_date, term.weeks = start, end, weeks
    AuditLog.record(current_user.id, "term_saved", term.code, start=str(start), end=str(end), weeks=weeks)
    db.session.commit()
    flash(f"{term.code} saved.", "success")
    return redirect(url_for("admin_calendar.index"))


@bp.post("/pass-marks")
@role_required("admin")
def save_pass_mark():
    code = request.form.get("course_code", "").strip()
    course = db.session.scalar(select(Course).where(Course.code == code))
    try:
        mark = float(request.form.get("pass_mark", ""))
        if course is None:
            raise ValueError(f"no course {code!r}")
        if not 0 <= mark <= 100:
            raise ValueError("a pass mark is from 0 to 100 (Aula's scale)")
    except ValueError as exc:
        flash(f"Pass mark not saved: {exc}.", "danger")
        return redirect(url_for("admin_calendar.index"))
    course.pass_mark = mark
    AuditLog.record(current_user.id, "pass_mark_saved", code, pass_mark=mark)
    db.session.commit()
    flash(f"{code} passes from {mark:g}. Outcomes imported from now on, and the next retraining, use it.", "success")
    return redirect(url_for("admin_calendar.index"))


def _weeks(text: str | None) -> list[int]:
    """Week numbers typed as "4, 8" (or "4; 8"); ValueError on anything else."""
    return [int(week) for week in (text or "").replace(";", ",").split(",") if week.strip()]


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
