"""Institution-wide settings an admin edits (the academic calendar, thresholds), one JSON value per key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, session, utcnow


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @classmethod
    def get(cls, key: str, default: Any = None) -> Any:
        row = session.get(cls, key)
        return default if row is None else row.value

    @classmethod
    def put(cls, key: str, value: Any, updated_by: str) -> None:
        """Store `value` under `key` (does not commit)."""
        row = session.get(cls, key)
        if row is None:
            session.add(cls(key=key, value=value, updated_by=updated_by))
        else:
            row.value, row.updated_by = value, updated_by
