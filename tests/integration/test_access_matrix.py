"""Every route x every role: the server refuses what a role may not open, Dash callbacks included."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROLES, csrf_token
from webapp.auth import AUDIENCES

PUBLIC = {"auth.login", "auth.index", "static", "health.healthz", "health.readyz", "api.openapi"}
DASH_ENDPOINTS = ("_dash-layout", "_dash-dependencies", "_dash-update-component")


def required_role(app, rule) -> str | None:
    view = app.view_functions[rule.endpoint]
    if hasattr(view, "required_role"):
        return view.required_role
    for prefix, role in AUDIENCES.items():
        if rule.rule.startswith(prefix):
            return role
    return None


SAMPLE_VALUES = {
    "task": "at_risk",
    "package_name": "dash",
    "fingerprinted_path": "dash-renderer/build/dash_renderer.min.js",
}


def sample_path(rule) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_VALUES.get(m.group(1), "1"), rule.rule)


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint == "auth.logout":
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        yield rule, method, sample_path(rule)


def test_every_route_is_guarded_or_declared_public(app):
    unguarded = [rule.rule for rule, _, _ in routes(app) if required_role(app, rule) is None]
    assert unguarded == [], f"routes with no role rule: {unguarded}"


def test_dash_apps_are_mounted_for_each_audience(app):
    paths = {rule.rule for rule in app.url_map.iter_rules()}
    for prefix in AUDIENCES:
        for endpoint in DASH_ENDPOINTS:
            assert f"{prefix}{endpoint}" in paths


def request_as(client, method: str, path: str):
    """A well-formed request (valid CSRF header), so only the role decides the answer."""
    headers = {"Accept": "application/json", "X-CSRFToken": csrf_token(client)}
    return client.open(path, method=method, json={} if method == "POST" else None, headers=headers)


def test_anonymous_gets_401_or_login_redirect_everywhere(app, client):
    for _rule, method, path in routes(app):
        response = request_as(client, method, path)
        assert response.status_code in (401, 302), (path, response.status_code)
        if response.status_code == 302:
            assert response.location.startswith("/login"), path


@pytest.fixture
def tolerant(app, monkeypatch):
    """Empty bodies make allowed callbacks fail with 500: fine here, only 401/403 matter."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr(app, "testing", False)


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, signed_in, tolerant, role):
    client = signed_in(role)
    for rule, method, path in routes(app):
        needed = required_role(app, rule)
        allowed = needed == "any" or role == "admin" or role == needed
        response = request_as(client, method, path)
        if allowed:
            assert response.status_code not in (401, 403), (role, path, response.status_code)
        else:
            assert response.status_code == 403, (role, path, response.status_code)


def test_faculty_cannot_open_ministry_callbacks(signed_in):
    client = signed_in("faculty")
    response = client.post(
        "/ministry/_dash-update-component",
        json={"output": "x.children", "inputs": []},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code == 403


def test_navigation_shows_only_what_the_role_may_open(signed_in):
    page = str(signed_in("facilities").get("/facilities/_dash-layout").json)
    assert "/facilities/" in page
    assert "/ministry/" not in page and "/admin/" not in page
    admin_page = signed_in("admin").get("/admin/").get_data(as_text=True)
    for path in ("/faculty/", "/facilities/", "/ministry/", "/admin/"):
        assert f'href="{path}"' in admin_page
