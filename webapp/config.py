"""Flask configuration built from `core.settings` (the environment) plus per-app overrides (tests)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.settings import Settings
from jobs import redis_server

MAX_UPLOAD_BYTES = 64 * 1024 * 1024


def build_config(settings: Settings, overrides: dict | None = None) -> dict:
    config = {
        "SETTINGS": settings,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _persisted_secret(settings.data_dir),
        "MAX_CONTENT_LENGTH": MAX_UPLOAD_BYTES,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("AULA_SECURE_COOKIES", "") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead, so a long-open dashboard keeps working
        # Every gunicorn worker counts in Redis (the embedded one too), so the limit holds across workers.
        "RATELIMIT_STORAGE_URI": _limiter_storage(settings.redis_url or redis_server.url_for(settings.data_dir)),
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": "10 per minute",
    }
    config.update(overrides or {})
    return config


def _limiter_storage(redis_url: str) -> str:
    return "redis+unix://" + redis_url.removeprefix("unix://") if redis_url.startswith("unix://") else redis_url


def _persisted_secret(data_dir: Path) -> str:
    """A random key kept in the instance folder, so sessions survive restarts without a committed secret."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
