"""Model versions (the registry's rows) and background job runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, session, utcnow

MODEL_STATUSES = ("candidate", "production", "archived", "failed")
JOB_STATUSES = ("queued", "running", "succeeded", "failed")
OPEN_JOB_STATUSES = ("queued", "running")


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("task", "version"),
        # The database itself guarantees at most one production version per task.
        Index(
            "uq_model_versions_one_production",
            "task",
            unique=True,
            sqlite_where=text("status = 'production'"),
            postgresql_where=text("status = 'production'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="candidate")
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    data_summary: Mapped[dict] = mapped_column(JSON, default=dict)
    artifact_path: Mapped[str] = mapped_column(String(500), default="")
    artifact_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The production version this one replaced when promoted: what a rollback returns to.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")

    @classmethod
    def production(cls, task: str) -> ModelVersion | None:
        return session.scalar(select(cls).where(cls.task == task, cls.status == "production"))

    @classmethod
    def for_task(cls, task: str | None = None) -> list[ModelVersion]:
        query = select(cls).order_by(cls.task, cls.version.desc())
        if task:
            query = query.where(cls.task == task)
        return list(session.scalars(query))

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "task": self.task,
            "version": self.version,
            "status": self.status,
            "metrics": self.metrics,
            "params": self.params,
            "data_summary": self.data_summary,
            "artifact_sha256": self.artifact_sha256,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "promoted_at": self.promoted_at.isoformat() if self.promoted_at else None,
            "note": self.note,
        }


class Publication(Base):
    """When a version's served data (predictions, forecasts) was last written, and how many rows."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(40), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @classmethod
    def latest(cls, task: str) -> Publication | None:
        return session.scalar(select(cls).where(cls.task == task).order_by(cls.id.desc()).limit(1))


class JobRun(Base):
    """One enqueued background job as the admin page shows it; RQ's job meta carries live progress.

    `lock_key` (e.g. "task:at_risk") makes jobs exclusive: the database holds at most one open run per key, so
    a second retrain or publish of a task is refused while one is queued or running, whichever process asks.
    `follow_up` names work to queue when this run ends (a publish requested while the task was busy).
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        Index(
            "uq_job_runs_one_open_per_lock",
            "lock_key",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    queue: Mapped[str] = mapped_column(String(40))
    rq_job_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    lock_key: Mapped[str | None] = mapped_column(String(80))
    follow_up: Mapped[str | None] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return round((end - self.started_at).total_seconds(), 1)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_JOB_STATUSES

    @classmethod
    def recent(cls, limit: int = 50) -> list[JobRun]:
        return list(session.scalars(select(cls).order_by(cls.id.desc()).limit(limit)))

    @classmethod
    def open_for(cls, lock_key: str) -> JobRun | None:
        return session.scalar(select(cls).where(cls.lock_key == lock_key, cls.status.in_(OPEN_JOB_STATUSES)))

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "params": self.params,
            "queue": self.queue,
            "lock_key": self.lock_key,
            "status": self.status,
            "progress": self.progress,
            "message": self.message,
            "result": self.result,
            "error": self.error,
            "requested_by": self.requested_by,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_s": self.duration_s,
        }
