"""Enrollment forecasts as the ministry view reads them, written in bulk when a model version is published.

- `enrollment_forecasts`: next year's students per school x stage (and the school's total, stage BAS) with
  the interval, both baselines, this year's teachers and classes and the forecast in words (SHAP).
- `enrollment_area_forecasts`: the same summed per municipality, UF and the country, for every census year
  loaded (the history, `enrollment`) and for next year (`forecast`, `lower`, `upper`): one indexed read per
  chart, whatever the scale.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

AREA_LEVELS = ("country", "uf", "municipality")


class EnrollmentForecast(Base):
    """Next year's students in one stage of one school, from one model version."""

    __tablename__ = "enrollment_forecasts"
    __table_args__ = (
        # Rankings of growth and decline, nationally and within a UF; a municipality's schools; one school.
        Index("ix_enrollment_forecasts_version_stage_change", "model_version_id", "stage", "change"),
        Index("ix_enrollment_forecasts_version_uf_stage_change", "model_version_id", "co_uf", "stage", "change"),
        Index("ix_enrollment_forecasts_version_municipality", "model_version_id", "co_municipio", "stage"),
        Index("ix_enrollment_forecasts_version_school", "model_version_id", "co_entidade"),
        # Capacity: where next year's students per class will be highest.
        Index("ix_enrollment_forecasts_version_stage_per_class", "model_version_id", "stage", "per_class_next"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    co_entidade: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(10))  # ml.census.columns.STAGES codes, BAS for the school's total
    year: Mapped[int] = mapped_column(SmallInteger)  # the year forecast
    co_uf: Mapped[int] = mapped_column(SmallInteger)
    co_municipio: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer)  # students this year (the last census loaded)
    forecast: Mapped[float] = mapped_column(Float)
    lower: Mapped[float] = mapped_column(Float)
    upper: Mapped[float] = mapped_column(Float)
    change: Mapped[float] = mapped_column(Float)  # forecast - last
    cohort: Mapped[float] = mapped_column(Float)  # the cohort-survival forecast
    teachers: Mapped[int | None] = mapped_column(Integer)  # this year's
    classes: Mapped[int | None] = mapped_column(Integer)
    per_teacher_next: Mapped[float | None] = mapped_column(Float)  # forecast over this year's teachers
    per_class_next: Mapped[float | None] = mapped_column(Float)
    explanation: Mapped[str | None] = mapped_column(Text)


class EnrollmentAreaForecast(Base):
    """Students of one stage in one area (the country, a UF, a municipality) in one year: counted in the census
    (`enrollment`) or forecast (`forecast`, `lower`, `upper`), as published by one model version."""

    __tablename__ = "enrollment_area_forecasts"
    __table_args__ = (Index("ix_enrollment_area_forecasts_version_level_uf", "model_version_id", "level", "co_uf"),)

    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    level: Mapped[str] = mapped_column(String(12), primary_key=True)  # country | uf | municipality
    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0, CO_UF, CO_MUNICIPIO
    stage: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    co_uf: Mapped[int] = mapped_column(SmallInteger)  # the area's UF (0 for the country)
    name: Mapped[str] = mapped_column(String(120), default="")
    enrollment: Mapped[int | None] = mapped_column(Integer)
    teachers: Mapped[int | None] = mapped_column(Integer)
    classes: Mapped[int | None] = mapped_column(Integer)
    schools: Mapped[int | None] = mapped_column(Integer)  # with students in the stage (forecast: forecast ones)
    forecast: Mapped[float | None] = mapped_column(Float)
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    cohort: Mapped[float | None] = mapped_column(Float)
