"""Classroom images uploaded for scoring: checked, stored once per content, owned by their uploader, scored, and
deleted when the retention period ends.

A file is accepted only through `ml.data.images.validate_image` (format by content, byte and pixel limits, bomb
guard, corrupt files refused), which applies the EXIF orientation and re-encodes the pixels without metadata;
nothing is written for a refused file. The stored file is named by the sha256 of those bytes
(`<uploads>/images/ab/abcd....jpg`), so a duplicate, from anyone, reuses it; each user's upload of it is one row,
and a user's repeated upload of the same image renews that row's retention. Expired uploads are deleted with their
scores (`purge_expired`: on each upload, on access, and from `flask --app wsgi engagement purge-uploads`); the
file goes with the last row that names it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.exc import IntegrityError

from core.db import session, utcnow
from core.models import ImageScore, ImageUpload, User
from core.settings import Settings
from ml.data.images import ValidatedImage, decode_image, validate_image

if TYPE_CHECKING:
    from ml.registry import Loaded

RETENTION_ENV = "AULA_UPLOAD_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class StoredImageMissingError(FileNotFoundError):
    """The upload's row exists but its file does not (deleted by hand, or lost with a volume)."""


def retention_days(env: Mapping[str, str] = os.environ) -> int:
    """Days an upload is kept: AULA_UPLOAD_RETENTION_DAYS, a whole number of at least 1 (default 30)."""
    value = env.get(RETENTION_ENV, "").strip() or str(DEFAULT_RETENTION_DAYS)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{RETENTION_ENV} must be a whole number of days (at least 1), not {value!r}")
    return int(value)


def images_dir(settings: Settings | None = None) -> Path:
    return (settings or Settings.from_env()).uploads_dir / "images"


def store_image(
    data: bytes,
    filename: str,
    user_id: int,
    *,
    folder: Path,
    retention: int,
    now: datetime | None = None,
) -> tuple[ImageUpload, ValidatedImage]:
    """Validate `data` and keep it as this user's upload (raises `ImageRejectedError`, storing nothing, for a file
    that is not an acceptable image)."""
    image = validate_image(data)
    now = now or utcnow()
    path = file_path(folder, image.sha256, image.format)
    if not path.is_file():
        _write(path, image.data)
    expires = now + timedelta(days=retention)
    for _ in range(2):  # a second request of the same user with the same image may insert first
        upload = ImageUpload.of_user(user_id, image.sha256)
        if upload is None:
            upload = ImageUpload(
                user_id=user_id,
                sha256=image.sha256,
                filename=Path(filename or "image").name[:255],
                format=image.format,
                bytes=image.size,
                width=image.width,
                height=image.height,
                created_at=now,
                expires_at=expires,
            )
            session.add(upload)
        else:
            upload.expires_at = max(upload.expires_at, expires)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        if not path.is_file():  # another user's last copy was deleted while this one was being recorded
            _write(path, image.data)
        return upload, image
    raise RuntimeError("could not record the upload")  # pragma: no cover - two lost races in a row


def score_upload(upload: ImageUpload, loaded: Loaded, pixels: np.ndarray | None = None, *, folder: Path) -> ImageScore:
    """The production model's score of the upload (`loaded`: `registry.load_production("engagement")`), scoring
    it now unless that version already has; `pixels` spare decoding the stored file again."""
    existing = upload.score_by(loaded.version.id)
    if existing is not None:
        return existing
    if pixels is None:
        pixels = decode_image(read_file(upload, folder)).pixels
    result = loaded.model.score_image(pixels)
    score = ImageScore(
        upload=upload,
        model_version_id=loaded.version.id,
        model_version=loaded.version.version,
        faces=[face.as_dict() for face in result.faces],
        summary=result.summary,
        fallback=result.fallback,
    )
    session.add(score)
    try:
        session.commit()
    except IntegrityError:  # scored by a concurrent request meanwhile: keep theirs
        session.rollback()
        session.refresh(upload)
        return upload.score_by(loaded.version.id)
    return score


def read_file(upload: ImageUpload, folder: Path) -> bytes:
    path = file_path(folder, upload.sha256, upload.format)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise StoredImageMissingError(f"the stored image of upload {upload.id} is missing; upload it again") from exc


def open_upload(upload_id: int, user: User, *, folder: Path, now: datetime | None = None) -> ImageUpload | None:
    """The upload if `user` may open it (its uploader, or an admin) and it has not expired; an expired one is
    deleted on the way."""
    upload = session.get(ImageUpload, upload_id)
    if upload is None or not upload.visible_to(user):
        return None
    if upload.expires_at <= (now or utcnow()):
        delete_upload(upload, folder)
        return None
    return upload


def delete_upload(upload: ImageUpload, folder: Path) -> None:
    """Delete the upload and its scores; the file too when no other upload has the same content."""
    sha256, image_format = upload.sha256, upload.format
    session.delete(upload)
    session.commit()
    if not ImageUpload.content_in_use(sha256):
        file_path(folder, sha256, image_format).unlink(missing_ok=True)


def purge_expired(folder: Path, *, now: datetime | None = None, limit: int | None = None) -> int:
    """Delete uploads whose retention has passed (at most `limit`); returns how many."""
    expired = ImageUpload.expired(now or utcnow(), limit)
    for upload in expired:
        delete_upload(upload, folder)
    return len(expired)


def file_path(folder: Path, sha256: str, image_format: str) -> Path:
    return Path(folder) / sha256[:2] / f"{sha256}.{EXTENSIONS[image_format]}"


def _write(path: Path, data: bytes) -> None:
    """Written under a temporary name and renamed, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
