"""Uploaded files kept between steps (mapping, then import; scoring, then download), owned by one user.

A file is stored under `<uploads dir>/<kind>/<user id>-<random>--<safe name>`; its token names it, and only the
user whose id starts the token may read it. Web requests and background jobs (which read big uploads) share this.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class UploadError(ValueError):
    pass


def save(uploads_dir: Path, kind: str, user_id: int, filename: str, data: bytes) -> str:
    """Store `data`; returns a token only this user can read it back with."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
    token = f"{user_id}-{secrets.token_hex(12)}"
    _write(_folder(uploads_dir, kind) / f"{token}--{_safe(filename)}", data)
    return token


def load(uploads_dir: Path, kind: str, user_id: int, token: str) -> tuple[str, bytes]:
    """(original filename, bytes) for a token this user saved; UploadError otherwise."""
    path = path_of(uploads_dir, kind, user_id, token)
    return path.name.split("--", 1)[1], path.read_bytes()


def replace(uploads_dir: Path, kind: str, user_id: int, token: str, filename: str, data: bytes) -> None:
    """Put another form of the same upload under its token (e.g. a workbook once read into a table)."""
    old = path_of(uploads_dir, kind, user_id, token)
    _write(old.parent / f"{token}--{_safe(filename)}", data)
    if old.name != f"{token}--{_safe(filename)}":
        old.unlink(missing_ok=True)


def path_of(uploads_dir: Path, kind: str, user_id: int, token: str) -> Path:
    """The stored file of a token this user saved; UploadError otherwise."""
    if not re.fullmatch(rf"{user_id}-[0-9a-f]{{24}}", token or ""):
        raise UploadError("that file is not yours or has expired; upload it again")
    matches = list(_folder(uploads_dir, kind).glob(f"{token}--*"))
    if not matches:
        raise UploadError("that file has expired; upload it again")
    return matches[0]


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _folder(uploads_dir: Path, kind: str) -> Path:
    folder = uploads_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _safe(filename: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename or "upload").name)[:100] or "upload"
