"""The Aula web application: Flask pages, one Dash app per audience, the JSON API and the CLI."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request

from core import db
from core.settings import Settings
from webapp.config import build_config
from webapp.extensions import csrf, login_manager


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder="../static", static_url_path="/static")
    settings = (config or {}).get("SETTINGS") or Settings.from_env()
    app.config.update(build_config(settings, config))
    db.bind(app.config["DATABASE_URL"])

    login_manager.init_app(app)
    csrf.init_app(app)

    from webapp import admin, api, auth, cli, health, security, uploads
    from webapp.dashboards import mount_dashboards

    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(uploads.bp)
    from webapp.admin.calendar import bp as calendar_admin_bp
    from webapp.admin.engagement import bp as engagement_admin_bp

    app.register_blueprint(engagement_admin_bp)
    app.register_blueprint(calendar_admin_bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    auth.install_guards(app)
    mount_dashboards(app)
    security.install(app)  # after the Dash apps: their inline scripts' hashes go into the CSP
    cli.register(app)

    _install_page_helpers(app)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        db.session.remove()

    return app


def _install_page_helpers(app: Flask) -> None:
    """The navbar's sections for Jinja pages, and error pages a person can read."""
    from flask_login import current_user

    from webapp.auth import visible_sections

    @app.context_processor
    def _navigation() -> dict:
        return {"nav_sections": visible_sections(current_user) if current_user.is_authenticated else []}

    @app.errorhandler(413)
    def _too_large(_error):
        limit = app.config["MAX_CONTENT_LENGTH"] // 2**20
        return jsonify(error=f"the upload is too large (limit {limit} MB)"), 413

    for code, title in ((403, "Not allowed"), (404, "Not found")):
        app.register_error_handler(code, _error_page(code, title))


def _error_page(code: int, title: str):
    def handler(error):
        message = getattr(error, "description", "") or title
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return jsonify(error=message), code
        return render_template("error.html", code=code, title=title, message=message), code

    return handler
