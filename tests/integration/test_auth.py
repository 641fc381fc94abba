"""Sign-in, sign-out, sessions, CSRF, login throttling and safe redirects."""

from __future__ import annotations

import pytest

from core import db
from core.models import User
from tests.conftest import PASSWORD, csrf_token, sign_in
from webapp.auth.routes import safe_next


def test_each_role_lands_on_its_own_view(users, client):
    expected = {"admin": "/admin/", "faculty": "/faculty/", "facilities": "/facilities/", "ministry": "/ministry/"}
    for role, home in expected.items():
        fresh = client.application.test_client()
        response = sign_in(fresh, users[role].email)
        assert response.status_code == 302 and response.location == home


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(users, client):
    response = sign_in(client, users["faculty"].email, "not-the-password")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/faculty/").status_code == 302


def test_disabled_user_cannot_sign_in(users, client):
    users["faculty"].active = False
    db.session.commit()
    assert sign_in(client, users["faculty"].email).status_code == 401


def test_logout_ends_the_session(users, client):
    sign_in(client, users["faculty"].email)
    assert client.get("/faculty/").status_code == 200
    copied = client.get_cookie("session").value
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    assert client.get("/faculty/").status_code == 302
    replay = client.application.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/faculty/").status_code == 302
    assert replay.get("/api/v1/me").status_code == 401


def test_login_without_csrf_token_is_rejected(users, client):
    response = client.post("/login", data={"email": users["admin"].email, "password": PASSWORD})
    assert response.status_code == 400


def test_admin_form_without_csrf_token_is_rejected(signed_in):
    client = signed_in("admin")
    response = client.post("/admin/users", data={"email": "x@test.example", "role": "faculty"})
    assert response.status_code == 400
    assert User.by_email("x@test.example") is None


def test_dash_callback_without_csrf_header_is_rejected(signed_in):
    client = signed_in("faculty")
    response = client.post("/faculty/_dash-update-component", json={"output": "x.children", "inputs": []})
    assert response.status_code == 400


def test_dash_page_sets_the_csrf_cookie_dash_reads(signed_in):
    client = signed_in("faculty")
    client.get("/faculty/")
    cookie = client.get_cookie("_csrf_token")
    assert cookie is not None and cookie.http_only is False


def test_session_cookie_is_httponly_and_samesite(users, client):
    sign_in(client, users["admin"].email)
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_passwords_are_stored_with_scrypt(users):
    assert users["admin"].password_hash.startswith("scrypt:")
    assert PASSWORD not in users["admin"].password_hash


def test_short_password_is_refused():
    with pytest.raises(ValueError, match="10 characters"):
        User(email="a@b.c", role="admin").set_password("short")


def test_next_redirect_only_to_local_paths(users, client):
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"email": users["admin"].email, "password": PASSWORD, "csrf_token": token, "next": "/admin/models"},
    )
    assert response.location == "/admin/models"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "evil"]
)
def test_next_rejects_other_sites(target):
    assert safe_next(target) is None


def test_repeated_wrong_passwords_are_refused_for_a_while(app, users):
    client = app.test_client()
    free = app.config["LOGIN_FREE_FAILURES_PER_ACCOUNT_AND_ADDRESS"]
    statuses = [sign_in(client, users["admin"].email, "wrong-password").status_code for _ in range(free + 2)]
    assert statuses == [401] * (free + 1) + [429]
    refused = sign_in(client, users["admin"].email)  # even the right password waits
    assert refused.status_code == 429 and "Try again in" in refused.get_data(as_text=True)


def test_api_accepts_bearer_tokens(users, client):
    from core.models import ApiToken

    _, plain = ApiToken.issue(users["ministry"], "script")
    db.session.commit()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200 and response.json["role"] == "ministry"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/v1/models", headers={"Authorization": f"Bearer {plain}"}).status_code == 403


def test_a_bearer_client_that_keeps_cookies_stays_signed_in(users, client):
    """A client library with a cookie jar sends back the session an earlier answer set (here the sign-in page's
    CSRF token); that session is not a signed-in one, and the token must still count, and set no cookie."""
    from core.models import ApiToken

    _, plain = ApiToken.issue(users["ministry"], "script")
    db.session.commit()
    client.get("/login")
    assert client.get_cookie(client.application.config["SESSION_COOKIE_NAME"]) is not None
    for _ in range(2):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
        assert response.status_code == 200 and response.json["role"] == "ministry"
        assert "Set-Cookie" not in response.headers


def test_probes(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"database": "ok", "redis": "ok"}


def test_a_disabled_users_token_stops_working_within_the_trust_window(users, client, monkeypatch):
    from core.models import ApiToken
    from webapp.auth import access

    _, plain = ApiToken.issue(users["faculty"], "script")
    db.session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    db.session.get(User, users["faculty"].id).active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # trusted a moment longer
    monkeypatch.setattr(access, "TOKEN_TRUST_S", 0.0)  # the window has passed
    assert client.get("/api/v1/me", headers=headers).status_code == 401
