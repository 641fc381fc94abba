"""Login, logout, role checks for Flask routes and the guard in front of every Dash endpoint."""

from webapp.auth.access import AUDIENCES, home_for, install_guards, role_required, visible_sections
from webapp.auth.routes import bp

__all__ = ["AUDIENCES", "bp", "home_for", "install_guards", "role_required", "visible_sections"]
