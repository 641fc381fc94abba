"""Image upload for engagement scoring (faculty and admin): several images at once, their faces boxed and scored.

Every file is checked by content before anything is kept (`ml.engagement.uploads.store_image`); a refused file
is named with the reason and nothing of it is stored. Each upload belongs to its uploader: anyone else gets a
404 (admins may open every upload). Uploads expire after AULA_UPLOAD_RETENTION_DAYS; an expired one is deleted
when someone opens it, a few more on every upload, and all of them by `flask --app wsgi engagement purge-uploads`.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core import db
from core.models import ModelVersion
from webapp.auth import role_required
from webapp.uploads.scoring import NoModelError, model_statement, production_model

bp = Blueprint("uploads", __name__, url_prefix="/upload")

MAX_FILES = 20  # per request; the request as a whole is bounded by MAX_CONTENT_LENGTH
PURGE_PER_REQUEST = 20  # expired uploads deleted on the way of each upload


@bp.get("/")
@role_required("faculty")
def index():
    return _page()


@bp.post("/")
@role_required("faculty")
def upload():
    from ml.data.images import ImageRejectedError
    from ml.engagement.uploads import purge_expired, retention_days, score_upload, store_image

    # An empty file field still sends one nameless, empty part; a named empty file is refused below.
    files = [(f.filename or "image", data) for f in request.files.getlist("files") if (data := f.read()) or f.filename]
    if not files:
        flash("Choose one or more images (JPEG, PNG or WebP) first.", "warning")
        return redirect(url_for("uploads.index"))
    if len(files) > MAX_FILES:
        flash(f"At most {MAX_FILES} images at once; you chose {len(files)}.", "warning")
        return redirect(url_for("uploads.index"))
    folder = _images_dir()
    purge_expired(folder, limit=PURGE_PER_REQUEST)
    try:
        loaded, problem = production_model(), ""
    except NoModelError as exc:
        loaded, problem = None, str(exc)
    results = []
    for name, data in files:
        try:
            stored, image = store_image(data, name, current_user.id, folder=folder, retention=retention_days())
        except ImageRejectedError as exc:
            results.append({"filename": name, "error": f"{exc} Nothing was stored."})
            continue
        score = score_upload(stored, loaded, image.pixels, folder=folder) if loaded else None
        results.append({"filename": name, "upload": stored, "score": score, "problem": problem})
    return _page(results=results)


@bp.get("/<int:upload_id>")
@role_required("faculty")
def show(upload_id: int):
    upload = _visible_upload(upload_id)
    production = ModelVersion.production("engagement")
    return render_template(
        "upload_detail.html",
        upload=upload,
        score=upload.latest_score,
        production=production,
        statement=model_statement(production),
    )


@bp.get("/<int:upload_id>/image")
@role_required("faculty")
def image(upload_id: int):
    from ml.engagement.uploads import MIME_TYPES, StoredImageMissingError, read_file

    upload = _visible_upload(upload_id)
    try:
        data = read_file(upload, _images_dir())
    except StoredImageMissingError as exc:
        abort(404, description=str(exc))
    return Response(data, mimetype=MIME_TYPES[upload.format], headers={"Cache-Control": "private, max-age=3600"})


@bp.post("/<int:upload_id>/rescore")
@role_required("faculty")
def rescore(upload_id: int):
    from ml.engagement.uploads import StoredImageMissingError, score_upload

    upload = _visible_upload(upload_id)
    try:
        score = score_upload(upload, production_model(), folder=_images_dir())
    except (NoModelError, StoredImageMissingError) as exc:
        flash(f"Not scored: {exc}", "warning")
    else:
        flash(f"Scored with engagement model v{score.model_version}.", "success")
    return redirect(url_for("uploads.show", upload_id=upload.id))


@bp.post("/<int:upload_id>/delete")
@role_required("faculty")
def delete(upload_id: int):
    from ml.engagement.uploads import delete_upload

    upload = _visible_upload(upload_id)
    name = upload.filename
    delete_upload(upload, _images_dir())
    flash(f"Deleted {name} and its scores.", "success")
    return redirect(url_for("uploads.index"))


def _page(results: list[dict] | None = None):
    from ml.engagement.uploads import retention_days

    production = ModelVersion.production("engagement")
    return render_template(
        "upload.html",
        production=production,
        statement=model_statement(production),
        results=results or [],
        history=_history(),
        max_files=MAX_FILES,
        retention_days=retention_days(),
    )


def _history():
    from core.models import ImageUpload

    return ImageUpload.history(current_user.id, db.utcnow())


def _visible_upload(upload_id: int):
    """The upload if the signed-in user may open it (404 otherwise, also for an expired one, deleted on the way)."""
    from ml.engagement.uploads import open_upload

    upload = open_upload(upload_id, current_user, folder=_images_dir())
    if upload is None:
        abort(404, description="no such upload (or it has expired and was deleted)")
    return upload


def _images_dir():
    from ml.engagement.uploads import images_dir

    return images_dir(current_app.config["SETTINGS"])
