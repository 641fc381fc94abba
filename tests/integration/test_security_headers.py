"""Security headers on every kind of response; the proxy fix trusts only as many proxies as configured."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from core import db
from core.models import ApiToken
from tests.conftest import csrf_token
from webapp import create_app

BASIC = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";"))}


def assert_secured(response) -> dict[str, list[str]]:
    for name, value in BASIC.items():
        assert response.headers.get(name) == value, name
    csp = policy(response)
    assert csp["default-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and "'unsafe-inline'" not in csp["script-src"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here
    return csp


def dash_callback(client):
    """A real callback: the grid's selection becomes the selected enrollment."""
    return client.post(
        "/faculty/_dash-update-component",
        json={
            "output": "selected-enrollment.data",
            "outputs": {"id": "selected-enrollment", "property": "data"},
            "inputs": [{"id": "risk-grid", "property": "selectedRows", "value": [{"enrollment_id": 7}]}],
            "changedPropIds": ["risk-grid.selectedRows"],
        },
        headers={"X-CSRFToken": csrf_token(client)},
    )


def test_a_flask_page_carries_the_headers_and_allows_no_eval(client):
    csp = assert_secured(client.get("/login"))
    assert csp["script-src"] == ["'self'"]


def test_a_dash_page_carries_the_headers(signed_in):
    response = signed_in("faculty").get("/faculty/")
    assert response.status_code == 200
    assert_secured(response)


def test_a_dash_callback_carries_the_headers(signed_in):
    response = dash_callback(signed_in("faculty"))
    assert response.status_code == 200 and response.json["response"]["selected-enrollment"]["data"] == 7
    assert_secured(response)


def test_the_api_carries_the_headers(users, client):
    _, plain = ApiToken.issue(users["ministry"], "script")
    db.session.commit()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200
    assert_secured(response)


@pytest.mark.parametrize("path", ["/static/css/aula.css", "/no-such-page", "/admin/", "/faculty/_dash-layout"])
def test_static_files_errors_and_refusals_carry_the_headers(client, path):
    assert_secured(client.get(path))


def test_dash_pages_allow_exactly_their_inline_scripts(signed_in):
    page = signed_in("faculty").get("/faculty/")
    allowed = policy(page)["script-src"]
    html = re.sub(r"<!--.*?-->", "", page.text, flags=re.S)  # Dash's "no Internet Explorer" script never runs
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", html, re.S)
    assert inline, "Dash starts its renderer from an inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed
    # Plotly's WebGL charts compile shaders with Function(): allowed on Dash pages only (see webapp/security.py).
    assert "'unsafe-eval'" in allowed


def test_hsts_only_when_cookies_are_secure(app):
    secure = create_app({**app.config, "SESSION_COOKIE_SECURE": True})
    assert secure.test_client().get("/login").headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers


def failed_sign_ins_from(flask_app, forwarded_for: list[str], email: str) -> list[int]:
    client = flask_app.test_client()
    statuses = []
    for address in forwarded_for:
        token = csrf_token(client)
        response = client.post(
            "/login",
            data={"email": email, "password": "wrong-password", "csrf_token": token},
            headers={"X-Forwarded-For": address},
        )
        statuses.append(response.status_code)
    return statuses


def test_forwarded_addresses_are_ignored_unless_a_proxy_is_trusted(app, users, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FREE_FAILURES_PER_ACCOUNT_AND_ADDRESS", 2)
    addresses = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]
    # Not trusted: a client cannot dodge the per-address count by making up X-Forwarded-For.
    assert failed_sign_ins_from(app, addresses, users["admin"].email) == [401, 401, 401, 429]

    behind_proxy = create_app({**app.config, "TRUSTED_PROXIES": 1})
    # Trusted: each forwarded address is its own client, so none of them reaches its free count.
    assert failed_sign_ins_from(behind_proxy, addresses, users["faculty"].email) == [401] * 4


def test_trusted_proxies_must_be_a_whole_number(monkeypatch, app):
    from webapp.config import build_config

    monkeypatch.setenv("AULA_TRUSTED_PROXIES", "yes")
    with pytest.raises(ValueError, match="AULA_TRUSTED_PROXIES"):
        build_config(app.config["SETTINGS"])
