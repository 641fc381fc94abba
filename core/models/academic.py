"""Faculty domain: terms, courses, students, enrollments (the canonical record), predictions, interventions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, session, utcnow

INTERVENTION_ACTIONS = ("meeting", "email", "tutoring", "other")


class Term(Base):
    """A teaching period. Its dates order the terms (never their codes); `weeks` and `checkpoint_weeks`, when
    set, override the institution's calendar (`Setting` "academic_calendar") for this term."""

    __tablename__ = "terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    weeks: Mapped[int | None] = mapped_column(Integer)
    checkpoint_weeks: Mapped[list | None] = mapped_column(JSON)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)

    @classmethod
    def ordered(cls) -> list[Term]:
        return list(session.scalars(select(cls).order_by(cls.start_date, cls.code)))


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str] = mapped_column(String(120), default="")
    pass_mark: Mapped[float] = mapped_column(Float, default=50.0)


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    age: Mapped[float | None] = mapped_column(Float)
    sex: Mapped[str | None] = mapped_column(String(20))
    programme: Mapped[str | None] = mapped_column(String(120))
    prior_gpa: Mapped[float | None] = mapped_column(Float)
    prior_failures: Mapped[float | None] = mapped_column(Float)


class Enrollment(Base):
    """A student in a course in a term: the signals of `ml.data.academic_fields` and the outcome."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("student_id", "course_id", "term_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("terms.id", ondelete="CASCADE"), index=True)
    study_time_hours: Mapped[float | None] = mapped_column(Float)
    quiz_1: Mapped[float | None] = mapped_column(Float)
    attendance_w4: Mapped[float | None] = mapped_column(Float)
    lms_minutes_w4: Mapped[float | None] = mapped_column(Float)
    lms_logins_w4: Mapped[float | None] = mapped_column(Float)
    assignment_1: Mapped[float | None] = mapped_column(Float)
    quiz_2: Mapped[float | None] = mapped_column(Float)
    attendance_w8: Mapped[float | None] = mapped_column(Float)
    lms_minutes_w8: Mapped[float | None] = mapped_column(Float)
    lms_logins_w8: Mapped[float | None] = mapped_column(Float)
    assignment_2: Mapped[float | None] = mapped_column(Float)
    absences: Mapped[float | None] = mapped_column(Float)
    grade_p1: Mapped[float | None] = mapped_column(Float)
    quiz_3: Mapped[float | None] = mapped_column(Float)
    midterm: Mapped[float | None] = mapped_column(Float)
    grade_p2: Mapped[float | None] = mapped_column(Float)
    attendance_weekly: Mapped[list | None] = mapped_column(JSON)
    extra: Mapped[dict | None] = mapped_column(JSON)
    final_grade: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    # A withdrawn student counts as at risk at the checkpoints before `withdrawal_week`, and is left out after it.
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawal_week: Mapped[float | None] = mapped_column(Float)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    student: Mapped[Student] = relationship()
    course: Mapped[Course] = relationship()
    term: Mapped[Term] = relationship()


class RiskPrediction(Base):
    """A stored at-risk score, so the dashboard reads instead of recomputing per click."""

    __tablename__ = "risk_predictions"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "model_version_id", "checkpoint"),
        # The at-risk list reads one version and checkpoint, riskiest first.
        Index("ix_risk_predictions_version_checkpoint_probability", "model_version_id", "checkpoint", "probability"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    checkpoint: Mapped[str] = mapped_column(String(20))
    probability: Mapped[float] = mapped_column(Float)
    at_risk: Mapped[bool] = mapped_column(Boolean)
    risk_band: Mapped[str] = mapped_column(String(10))
    segment: Mapped[str] = mapped_column(String(60))
    recommendation: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(Text)
    scored_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Intervention(Base):
    __tablename__ = "interventions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    action_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    enrollment: Mapped[Enrollment] = relationship()


class RecordField(Base):
    """The institution's declaration of when a field of its records is known: a canonical field whose week
    differs from Aula's default, or an extra column (`x_<name>`), which the model uses only once declared."""

    __tablename__ = "record_fields"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    known_at_week: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200), default="")
    declared_by: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @classmethod
    def weeks(cls) -> dict[str, int | None]:
        return {row.name: row.known_at_week for row in session.scalars(select(cls))}


class RecommendationRule(Base):
    """Faculty's edits to the risk band x segment recommendation table."""

    __tablename__ = "recommendation_rules"
    __table_args__ = (UniqueConstraint("risk_band", "segment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_band: Mapped[str] = mapped_column(String(10))
    segment: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
