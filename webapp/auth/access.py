"""Who may open what. Admin may open everything; each other role its own audience."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import Flask, Request, Response, abort, jsonify, redirect, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from core import db
from core.models import ApiToken, User
from webapp.extensions import login_manager

# URL prefix -> role, for the Dash apps (whose internal routes cannot carry decorators).
AUDIENCES = {"/faculty/": "faculty", "/facilities/": "facilities", "/ministry/": "ministry"}

# (label, path, role) in navigation order.
SECTIONS = (
    ("Faculty", "/faculty/", "faculty"),
    ("Facilities", "/facilities/", "facilities"),
    ("Ministry", "/ministry/", "ministry"),
    ("Image upload", "/upload/", "faculty"),
    ("Admin", "/admin/", "admin"),
)
DASH_CSRF_COOKIE = "_csrf_token"  # Dash 4.2+ reads this cookie and sends it as X-CSRFToken
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def home_for(user: User) -> str:
    return "/admin/" if user.role == "admin" else f"/{user.role}/"


def visible_sections(user: User) -> list[tuple[str, str]]:
    return [(label, path) for label, path, role in SECTIONS if user.may(role)]


def role_required(role: str) -> Callable:
    """Route decorator: 401/redirect when anonymous, 403 when the role may not open it ("any": signed in)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            refusal = _refusal(role)
            return refusal if refusal is not None else view(*args, **kwargs)

        guarded.required_role = role
        return guarded

    return decorate


def install_guards(app: Flask) -> None:
    """Guard every Dash route (pages, layout, dependencies, callbacks, assets) by its audience prefix."""

    @app.before_request
    def _guard_dash():
        role = _audience_role(request.path)
        return _refusal(role) if role else None

    @app.after_request
    def _dash_csrf_cookie(response):
        if _audience_role(request.path) and current_user.is_authenticated:
            response.set_cookie(
                DASH_CSRF_COOKIE,
                generate_csrf(),
                samesite="Lax",
                secure=app.config["SESSION_COOKIE_SECURE"],
                httponly=False,  # the Dash renderer must read it
            )
        return response

    @login_manager.user_loader
    def _load_user(session_id: str) -> User | None:
        return User.by_session_id(session_id)

    @login_manager.request_loader
    def _load_user_from_token(req) -> User | None:
        plain = _bearer_token(req)
        return token_user(plain) if plain is not None else None

    app.session_interface = TokenStatelessSessions()

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to open that page."
    login_manager.session_protection = "strong"


class TokenStatelessSessions(SecureCookieSessionInterface):
    """A request with a bearer token is stateless: its session cookie is neither read nor written.

    A client that keeps cookies (requests.Session, Postman) sends back whatever an earlier answer set; under
    flask-login's "strong" protection a session that is not a signed-in one makes the request anonymous before
    the token is looked at, so such a client's next call was refused. The token alone says who is calling.
    """

    def open_session(self, app: Flask, req: Request) -> SecureCookieSession | None:
        if _bearer_token(req) is not None:
            return self.session_class()
        return super().open_session(app, req)

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if _bearer_token(request) is None:
            super().save_session(app, session, response)


def _bearer_token(req: Request) -> str | None:
    header = req.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None


# An API client sends its token with every request; checking it against the database each time costs more than
# scoring a record. A verified token is trusted for this long in each process (so a revoked token, or a disabled
# user, stops working within that time).
TOKEN_TRUST_S = 2.0
_trusted_tokens: dict[str, tuple[float, User]] = {}
_trusted_lock = threading.Lock()


def token_user(plain: str) -> User | None:
    """The active user a bearer token belongs to, or None; see TOKEN_TRUST_S."""
    now = time.monotonic()
    with _trusted_lock:
        trusted = _trusted_tokens.get(plain)
    if trusted is not None and now - trusted[0] < TOKEN_TRUST_S:
        return trusted[1]
    token = ApiToken.find_active(plain)
    if token is None:
        with _trusted_lock:
            _trusted_tokens.pop(plain, None)
        return None
    stamp = db.utcnow()
    # A write per request would serialise every API call on the database: note use once a minute.
    if token.last_used_at is None or stamp - token.last_used_at > TOKEN_USE_RESOLUTION:
        token.last_used_at = stamp
        db.session.commit()
    user = _snapshot(token.user)
    with _trusted_lock:
        if len(_trusted_tokens) > 10_000:
            _trusted_tokens.clear()
        _trusted_tokens[plain] = (now, user)
    return user


def _snapshot(user: User) -> User:
    """A copy of the user bound to no database session, safe to share read-only between this process's threads
    (what API handlers read of `current_user`: id, email, name, role, active)."""
    columns = ("id", "email", "name", "role", "active", "password_hash", "session_token", "created_at")
    return User(**{name: getattr(user, name) for name in columns})


def _audience_role(path: str) -> str | None:
    for prefix, role in AUDIENCES.items():
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            return role
    return None


def _refusal(role: str):
    if not current_user.is_authenticated:
        if _wants_json():
            return jsonify(error="sign in first"), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if role != "any" and not current_user.may(role):
        if _wants_json():
            return jsonify(error=f"the {current_user.role} role may not open this"), 403
        abort(403)
    return None


def _wants_json() -> bool:
    return (
        "/_dash-" in request.path
        or request.path.startswith("/api/")
        or request.accept_mimetypes.best == "application/json"
        or request.method != "GET"
    )
