"""Uploaded files of the signed-in user in this app's instance folder (see `core.uploads`), and Dash's upload
encoding."""

from __future__ import annotations

import base64
from pathlib import Path

from flask import current_app

from core import uploads
from core.uploads import MAX_UPLOAD_BYTES, UploadError

__all__ = ["MAX_UPLOAD_BYTES", "UploadError", "decode_dash_upload", "load", "path_of", "save"]


def decode_dash_upload(contents: str) -> bytes:
    """The bytes of a dcc.Upload `contents` data URL."""
    try:
        _, encoded = contents.split(",", 1)
        return base64.b64decode(encoded, validate=True)
    except (ValueError, TypeError, AttributeError) as exc:
        raise UploadError("the upload arrived damaged; please try again") from exc


def save(kind: str, user_id: int, filename: str, data: bytes) -> str:
    """Store `data`; returns a token only this user can read it back with."""
    return uploads.save(_uploads_dir(), kind, user_id, filename, data)


def load(kind: str, user_id: int, token: str) -> tuple[str, bytes]:
    return uploads.load(_uploads_dir(), kind, user_id, token)


def path_of(kind: str, user_id: int, token: str) -> Path:
    return uploads.path_of(_uploads_dir(), kind, user_id, token)


def _uploads_dir() -> Path:
    return current_app.config["SETTINGS"].uploads_dir
