"""Uploaded files kept between steps (mapping, then import; scoring, then download), owned by one user."""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path

from flask import current_app

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class UploadError(ValueError):
    pass


def decode_dash_upload(contents: str) -> bytes:
    """The bytes of a dcc.Upload `contents` data URL."""
    try:
        _, encoded = contents.split(",", 1)
        return base64.b64decode(encoded, validate=True)
    except (ValueError, TypeError) as exc:
        raise UploadError("the upload arrived damaged; please try again") from exc


def save(kind: str, user_id: int, filename: str, data: bytes) -> str:
    """Store `data`; returns a token only this user can read it back with."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
    token = f"{user_id}-{secrets.token_hex(12)}"
    path = _folder(kind) / f"{token}--{_safe(filename)}"
    path.write_bytes(data)
    return token


def load(kind: str, user_id: int, token: str) -> tuple[str, bytes]:
    """(original filename, bytes) for a token this user saved; UploadError otherwise."""
    path = path_of(kind, user_id, token)
    return path.name.split("--", 1)[1], path.read_bytes()


def path_of(kind: str, user_id: int, token: str) -> Path:
    """The stored file of a token this user saved; UploadError otherwise."""
    if not re.fullmatch(rf"{user_id}-[0-9a-f]{{24}}", token or ""):
        raise UploadError("that file is not yours or has expired; upload it again")
    matches = list(_folder(kind).glob(f"{token}--*"))
    if not matches:
        raise UploadError("that file has expired; upload it again")
    return matches[0]


def _folder(kind: str) -> Path:
    folder = current_app.config["SETTINGS"].uploads_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _safe(filename: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename or "upload").name)[:100] or "upload"
