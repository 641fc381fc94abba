"""Facilities domain: buildings, venues, the weekly timetable, attendance observations and occupancy forecasts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.models.academic import Term


class Building(Base):
    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class Venue(Base):
    """A room sessions meet in: seats (`capacity`) and the most it may hold safely (fire limit)."""

    __tablename__ = "venues"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("safe_capacity > 0 AND safe_capacity <= capacity", name="safe_within_capacity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    venue_type: Mapped[str] = mapped_column(String(20))  # ml.data.campus.VENUE_TYPES
    capacity: Mapped[int] = mapped_column(Integer)
    safe_capacity: Mapped[int] = mapped_column(Integer)
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))

    building: Mapped[Building] = relationship()


class ClassSession(Base):
    """One weekly meeting of a course section in a term: a (weekday, slot) cell of a venue's timetable.

    The unique (term, venue, weekday, slot) constraint is what makes a double booking impossible: two
    reassignments applied at the same time cannot both commit a session into one cell. A session without a
    venue (not allocated yet) holds no cell.
    """

    __tablename__ = "class_sessions"
    __table_args__ = (
        UniqueConstraint("term_id", "venue_id", "weekday", "slot", name="uq_class_sessions_venue_time"),
        UniqueConstraint("term_id", "section_code", "weekday", "slot", name="uq_class_sessions_section_time"),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("slot >= 0", name="slot_range"),
        CheckConstraint("registered >= 0", name="registered_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("terms.id", ondelete="CASCADE"))
    section_code: Mapped[str] = mapped_column(String(60))
    course_code: Mapped[str] = mapped_column(String(40), index=True)
    level: Mapped[int | None] = mapped_column(Integer)
    registered: Mapped[int] = mapped_column(Integer)
    needs_type: Mapped[str] = mapped_column(String(20))
    needs_accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id", ondelete="SET NULL"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    slot: Mapped[int] = mapped_column(Integer)  # index into ml.data.campus.SLOT_STARTS
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    term: Mapped[Term] = relationship()
    venue: Mapped[Venue | None] = relationship()


class AttendanceObservation(Base):
    """What was measured at one session in one week of term; any signal may be missing.

    `venue_id` is where the session met that week, which a later reassignment does not change.
    """

    __tablename__ = "attendance_observations"
    __table_args__ = (
        UniqueConstraint("session_id", "week"),
        CheckConstraint("survey_pct IN (0, 25, 50, 75, 100)", name="survey_bin"),
        CheckConstraint("head_count >= 0", name="head_count_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id", ondelete="SET NULL"), index=True)
    week: Mapped[int] = mapped_column(Integer)
    date: Mapped[date | None] = mapped_column(Date)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    head_count: Mapped[int | None] = mapped_column(Integer)
    count_method: Mapped[str | None] = mapped_column(String(20))  # card | manual
    survey_pct: Mapped[int | None] = mapped_column(Integer)  # share of the capacity seen full, in bins of 25 %
    wifi_avg: Mapped[float | None] = mapped_column(Float)
    wifi_max: Mapped[int | None] = mapped_column(Integer)
    co2_ppm: Mapped[float | None] = mapped_column(Float)  # the session's peak reading
    source: Mapped[str] = mapped_column(String(40), default="")
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OccupancyPrediction(Base):
    """A stored attendance forecast for one session in one week, with its interval and overcrowding risk."""

    __tablename__ = "occupancy_predictions"
    __table_args__ = (
        UniqueConstraint("model_version_id", "session_id", "week"),
        # The facilities view reads one version's forecasts for one week.
        Index("ix_occupancy_predictions_version_week", "model_version_id", "week"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"), index=True)
    week: Mapped[int] = mapped_column(Integer)
    attendance: Mapped[float] = mapped_column(Float)
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    overcrowding_probability: Mapped[float | None] = mapped_column(Float)
    # The overcrowding classifier that gave the probability (the forecast's own version is model_version_id).
    overcrowding_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    scored_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
