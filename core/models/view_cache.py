"""Computed figures shared by every web process (e.g. a term's counts), keyed so a key never goes stale."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class ViewCache(Base):
    __tablename__ = "view_cache"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict | list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
