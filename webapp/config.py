"""Flask configuration built from `core.settings` (the environment) plus per-app overrides (tests)."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from core.settings import Settings

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
        # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host; 0 trusts none of them.
        "TRUSTED_PROXIES": _whole_number("AULA_TRUSTED_PROXIES", 0),
        # Failed sign-ins are counted in Redis per window (see webapp.auth.throttle). Past the free count, each
        # further failure locks that scope for BASE * 2**n seconds, up to MAX. One account from one address
        # is locked first; one account from anywhere later; one address (a school's NAT) much later.
        "LOGIN_FREE_FAILURES_PER_ACCOUNT_AND_ADDRESS": 5,
        "LOGIN_FREE_FAILURES_PER_ACCOUNT": 20,
        "LOGIN_FREE_FAILURES_PER_ADDRESS": 300,
        "LOGIN_FAILURE_WINDOW_S": 3600,
        "LOGIN_BACKOFF_BASE_S": 2,
        "LOGIN_BACKOFF_MAX_S": 900,
    }
    config.update(overrides or {})
    return config


def _whole_number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _persisted_secret(data_dir: Path) -> str:
    """A random key kept in the instance folder, so sessions survive restarts without a committed secret."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".secret_key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        # Linked into place whole, so a second worker starting at the same time never reads a half-written key.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()
