"""Ministry domain: schools, the census years loaded, refresh records, and the enrollment aggregates the web reads.

The school x year panel itself (millions of rows) is not here: it is Parquet under AULA_DATA_DIR/census/panel,
read with DuckDB (`ml.census.panel`). What is here is small and written in bulk, one year at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, session, utcnow

REFRESH_STATUSES = ("running", "succeeded", "failed")
MD5_CHECKS = ("ok", "mismatch", "absent")


class School(Base):
    """A school as of the latest census year loaded that lists it (INEP's CO_ENTIDADE is the key)."""

    __tablename__ = "schools"
    __table_args__ = (Index("ix_schools_co_uf_co_municipio", "co_uf", "co_municipio"),)

    co_entidade: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200), default="")
    uf: Mapped[str] = mapped_column(String(2))
    co_uf: Mapped[int] = mapped_column(SmallInteger)
    co_municipio: Mapped[int] = mapped_column(Integer)
    municipality: Mapped[str] = mapped_column(String(120), default="")
    dependency: Mapped[int] = mapped_column(SmallInteger)  # TP_DEPENDENCIA: 1 federal, 2 state, 3 municipal, 4 private
    location: Mapped[int] = mapped_column(SmallInteger)  # TP_LOCALIZACAO: 1 urban, 2 rural
    status: Mapped[int] = mapped_column(SmallInteger)  # TP_SITUACAO_FUNCIONAMENTO in last_year
    first_year: Mapped[int] = mapped_column(SmallInteger)
    last_year: Mapped[int] = mapped_column(SmallInteger)


class CensusYear(Base):
    """A census year whose panel file and aggregates are in place; `load_id` ties the two together."""

    __tablename__ = "census_years"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    load_id: Mapped[str] = mapped_column(String(32))  # also in the Parquet file's metadata
    rows: Mapped[int] = mapped_column(Integer)
    active_schools: Mapped[int] = mapped_column(Integer)
    csv_md5: Mapped[str | None] = mapped_column(String(32))
    md5_check: Mapped[str] = mapped_column(String(10))
    renamed_columns: Mapped[dict] = mapped_column(JSON, default=dict)
    missing_columns: Mapped[list] = mapped_column(JSON, default=list)
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @classmethod
    def loaded(cls) -> list[CensusYear]:
        return list(session.scalars(select(cls).order_by(cls.year)))


class CensusRefresh(Base):
    """One year of one refresh: where it came from, what arrived, and how it ended."""

    __tablename__ = "census_refreshes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refresh_id: Mapped[str] = mapped_column(String(32), index=True)  # the same for every year of one refresh
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    year: Mapped[int] = mapped_column(SmallInteger, index=True)
    source: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="running")
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the file as downloaded (the zip)
    csv_md5: Mapped[str | None] = mapped_column(String(32))
    md5_check: Mapped[str | None] = mapped_column(String(10))
    rows: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # download attempts, resumes, renamed columns...
    requested_by: Mapped[str] = mapped_column(String(254), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    download_s: Mapped[float | None] = mapped_column(Float)
    load_s: Mapped[float | None] = mapped_column(Float)

    @classmethod
    def latest(cls, limit: int = 50) -> list[CensusRefresh]:
        return list(session.scalars(select(cls).order_by(cls.id.desc()).limit(limit)))

    @classmethod
    def last_finished(cls) -> datetime | None:
        return session.scalar(select(func.max(cls.finished_at)).where(cls.status == "succeeded"))

    def as_dict(self) -> dict:
        return {
            "refresh_id": self.refresh_id,
            "run_id": self.run_id,
            "year": self.year,
            "source": self.source,
            "status": self.status,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "csv_md5": self.csv_md5,
            "md5_check": self.md5_check,
            "rows": self.rows,
            "error": self.error,
            "detail": self.detail,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "download_s": self.download_s,
            "load_s": self.load_s,
        }


class _StageTotals:
    """Per stage (`ml.census.columns.STAGES` codes, and BAS for the whole school): schools with students in it,
    students (QT_MAT_*), teachers (QT_DOC_*) and classes (QT_TUR_*)."""

    stage: Mapped[str] = mapped_column(String(10), primary_key=True)
    schools: Mapped[int] = mapped_column(Integer, default=0)
    enrollment: Mapped[int] = mapped_column(Integer, default=0)
    teachers: Mapped[int] = mapped_column(Integer, default=0)
    classes: Mapped[int] = mapped_column(Integer, default=0)


class CensusUfEnrollment(_StageTotals, Base):
    """Enrollment by UF x dependency x location x stage x year."""

    __tablename__ = "census_uf_enrollment"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    co_uf: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    dependency: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    location: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    uf: Mapped[str] = mapped_column(String(2))


class CensusMunicipalityEnrollment(_StageTotals, Base):
    """Enrollment by municipality x stage x year."""

    __tablename__ = "census_municipality_enrollment"
    __table_args__ = (Index("ix_census_municipality_enrollment_co_uf_year", "co_uf", "year"),)

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    co_municipio: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    co_uf: Mapped[int] = mapped_column(SmallInteger)
    municipality: Mapped[str] = mapped_column(String(120), default="")
