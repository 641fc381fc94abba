"""Sign-in and sign-out pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from core import db
from core.models import AuditLog, User
from webapp.auth.access import home_for
from webapp.extensions import limiter

bp = Blueprint("auth", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    email = request.form.get("email", "")
    user = User.by_email(email)
    if user is None or not user.active or not user.check_password(request.form.get("password", "")):
        AuditLog.record(user.id if user else None, "login_failed", email[:200])
        db.session.commit()
        flash("Wrong email or password, or the account is disabled.", "danger")
        return render_template("auth/login.html", next=request.form.get("next", ""), email=email), 401
    login_user(user)
    user.last_login_at = db.utcnow()
    AuditLog.record(user.id, "login", user.email)
    db.session.commit()
    return redirect(safe_next(request.form.get("next")) or home_for(user))


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
