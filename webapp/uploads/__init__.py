"""Image upload for engagement scoring (faculty). The engagement model arrives with its own capability."""

from __future__ import annotations

from flask import Blueprint, render_template

from core.models import ModelVersion
from webapp.auth import role_required

bp = Blueprint("uploads", __name__, url_prefix="/upload")


@bp.get("/")
@role_required("faculty")
def index():
    return render_template("upload.html", production=ModelVersion.production("engagement"))
