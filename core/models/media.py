"""Images uploaded for engagement scoring, their scores, and the labelled face sets admins import for training.

An upload's file is stored once per content (`sha256`), however many users upload it; each user's upload is
their own row (one per user and content), which only they (and admins) may open, and which is deleted with its
scores once `expires_at` passes. The file goes when the last upload of its content does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, exists, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from core.db import Base, session, utcnow

DATASET_STATUSES = ("queued", "reading", "needs_mapping", "ready", "refused")


class ImageUpload(Base):
    __tablename__ = "image_uploads"
    __table_args__ = (UniqueConstraint("user_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No index of its own: the unique (user_id, sha256) index leads with it.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the stored (metadata-free) file
    filename: Mapped[str] = mapped_column(String(255), default="")  # as the user named it, for display only
    format: Mapped[str] = mapped_column(String(10))  # JPEG | PNG | WEBP
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    scores: Mapped[list[ImageScore]] = relationship(
        back_populates="upload", cascade="all, delete-orphan", passive_deletes=True, order_by="ImageScore.id"
    )

    @property
    def latest_score(self) -> ImageScore | None:
        return self.scores[-1] if self.scores else None

    def score_by(self, model_version_id: int) -> ImageScore | None:
        return next((s for s in self.scores if s.model_version_id == model_version_id), None)

    def visible_to(self, user) -> bool:
        return user.role == "admin" or user.id == self.user_id

    @classmethod
    def of_user(cls, user_id: int, sha256: str) -> ImageUpload | None:
        return session.scalar(select(cls).where(cls.user_id == user_id, cls.sha256 == sha256))

    @classmethod
    def history(cls, user_id: int, now: datetime, limit: int = 50) -> list[ImageUpload]:
        """The user's uploads that have not expired, newest first."""
        query = (
            select(cls)
            .where(cls.user_id == user_id, cls.expires_at > now)
            .options(selectinload(cls.scores))
            .order_by(cls.created_at.desc(), cls.id.desc())
            .limit(limit)
        )
        return list(session.scalars(query))

    @classmethod
    def expired(cls, now: datetime, limit: int | None = None) -> list[ImageUpload]:
        query = select(cls).where(cls.expires_at <= now).order_by(cls.expires_at)
        return list(session.scalars(query.limit(limit) if limit else query))

    @classmethod
    def content_in_use(cls, sha256: str) -> bool:
        return bool(session.scalar(select(exists().where(cls.sha256 == sha256))))


class ImageScore(Base):
    """One model version's reading of one upload: every face (box, engaged probability, label) and the summary."""

    __tablename__ = "image_scores"
    __table_args__ = (UniqueConstraint("upload_id", "model_version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("image_uploads.id", ondelete="CASCADE"))  # unique index leads
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[int] = mapped_column(Integer)  # the version number, as shown to users
    faces: Mapped[list] = mapped_column(JSON, default=list)  # FaceScore.as_dict() per face
    summary: Mapped[dict] = mapped_column(JSON, default=dict)  # faces, engaged, share_engaged, face_detected
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)  # no face found: the whole image was scored
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    upload: Mapped[ImageUpload] = relationship(back_populates="scores")

    def as_dict(self) -> dict:
        return {
            "model_version": self.model_version,
            "faces": self.faces,
            "summary": self.summary,
            "fallback": self.fallback,
            "scored_at": self.created_at.isoformat(),
        }


class LabelledDataset(Base):
    """A labelled zip of face images an admin imported: where it is kept, its classes, their engaged mapping
    and the import report. Only `ready` datasets that are `included` are trained on."""

    __tablename__ = "labelled_datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(255), default="")
    path: Mapped[str] = mapped_column(String(500), default="")  # folder under AULA_DATA_DIR
    layout: Mapped[str] = mapped_column(String(20), default="auto")  # auto | class | group/subclass
    status: Mapped[str] = mapped_column(String(20), default="queued")
    classes: Mapped[dict] = mapped_column(JSON, default=dict)  # class -> accepted images
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # class -> engaged (true) / not engaged (false)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")  # why it was refused, or what to do next
    faces: Mapped[int] = mapped_column(Integer, default=0)
    included: Mapped[bool] = mapped_column(Boolean, default=True)
    uploaded_by: Mapped[str] = mapped_column(String(254), default="")
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def mapping_complete(self) -> bool:
        values = [self.mapping.get(c) for c in self.classes]
        return bool(values) and None not in values and len(set(values)) == 2

    @classmethod
    def all(cls) -> list[LabelledDataset]:
        return list(session.scalars(select(cls).order_by(cls.id.desc())))

    @classmethod
    def for_training(cls) -> list[LabelledDataset]:
        query = select(cls).where(cls.status == "ready", cls.included.is_(True)).order_by(cls.id)
        return list(session.scalars(query))
