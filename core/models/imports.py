"""Imported files of every kind (academic records, venues, timetables, observations...) and saved mappings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, session, utcnow


class ImportBatch(Base):
    """One uploaded file and what became of its rows; `kind` names the import schema it went through."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(254), default="")
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_valid: Mapped[int] = mapped_column(Integer, default=0)
    rows_invalid: Mapped[int] = mapped_column(Integer, default=0)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MappingPreset(Base):
    """A saved column mapping of one import kind, reused for the next upload from the same system."""

    __tablename__ = "mapping_presets"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @classmethod
    def for_kind(cls, kind: str) -> list[MappingPreset]:
        return list(session.scalars(select(cls).where(cls.kind == kind).order_by(cls.name)))

    @classmethod
    def save(cls, kind: str, name: str, mapping: dict, created_by: str) -> MappingPreset:
        """Create the preset, or replace the mapping of the one with that name (does not commit)."""
        name = name.strip()[:120]
        preset = session.scalar(select(cls).where(cls.kind == kind, cls.name == name))
        if preset is None:
            preset = cls(kind=kind, name=name, created_by=created_by)
            session.add(preset)
        preset.mapping = mapping
        return preset
