"""Sign-in and sign-out pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from core import db
from core.models import AuditLog, User
from webapp.auth import throttle
from webapp.auth.access import home_for

bp = Blueprint("auth", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    email, address = request.form.get("email", ""), request.remote_addr or "unknown"
    wait_s = throttle.seconds_locked(email, address)
    if wait_s:  # refused before the password is checked, so guessing costs the guesser time
        return _login_page(email, f"Too many failed sign-ins. Try again in {wait_s} s.", 429, {"Retry-After": wait_s})
    user = User.authenticate(email, request.form.get("password", ""))
    if user is None:
        throttle.record_failure(email, address)
        known = User.by_email(email)
        AuditLog.record(known.id if known else None, "login_failed", email[:200])
        db.session.commit()
        return _login_page(email, "Wrong email or password, or the account is disabled.", 401)
    throttle.record_success(email, address)
    login_user(user)
    user.last_login_at = db.utcnow()
    AuditLog.record(user.id, "login", user.email)
    db.session.commit()
    return redirect(safe_next(request.form.get("next")) or home_for(user))


@bp.post("/logout")
@login_required
def logout():
    # Rotating the session token voids this cookie even if a copy of it was taken.
    current_user.end_sessions()
    AuditLog.record(current_user.id, "logout", current_user.email)
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


def _login_page(email: str, error: str, status: int, headers: dict | None = None):
    page = render_template("auth/login.html", next=request.form.get("next", ""), email=email, error=error)
    return page, status, headers or {}


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
