"""A generated password is shown on the page that answers the admin's request, and never put in a cookie."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

from core.models import User
from tests.conftest import csrf_token, sign_in


def shown_password(response) -> str:
    match = re.search(r'id="one-time-password">.*?<code[^>]*>([^<]+)</code>', response.get_data(as_text=True), re.S)
    assert match, "no one-time password on the page"
    return match.group(1)


def assert_in_no_cookie(app, response, secret: str) -> None:
    """Neither any Set-Cookie header nor the decoded (signed, not encrypted) session holds `secret`."""
    serializer = app.session_interface.get_signing_serializer(app)
    set_cookies = response.headers.getlist("Set-Cookie")
    for header in set_cookies:
        assert secret not in header
        for name, morsel in SimpleCookie(header).items():
            if name == app.config["SESSION_COOKIE_NAME"]:
                assert secret not in repr(serializer.loads(morsel.value))


def test_a_generated_password_is_on_the_page_and_in_no_cookie(app, signed_in):
    admin = signed_in("admin")
    response = admin.post(
        "/admin/users",
        data={"email": "gen@test.example", "role": "ministry", "csrf_token": csrf_token(admin, "/admin/users")},
    )

    assert response.status_code == 200  # the page itself, not a redirect to a page that reads a flash
    password = shown_password(response)
    assert "no-store" in response.headers["Cache-Control"]
    assert_in_no_cookie(app, response, password)
    assert password not in admin.get("/admin/users").get_data(as_text=True)  # shown once
    assert sign_in(app.test_client(), "gen@test.example", password).location == "/ministry/"


def test_a_reset_password_is_on_the_page_and_in_no_cookie(app, users, signed_in):
    admin = signed_in("admin")
    response = admin.post(
        f"/admin/users/{users['faculty'].id}",
        data={"action": "reset", "csrf_token": csrf_token(admin, "/admin/users")},
    )

    assert response.status_code == 200
    password = shown_password(response)
    assert_in_no_cookie(app, response, password)
    assert User.by_email(users["faculty"].email).check_password(password)
    assert password not in admin.get("/admin/users").get_data(as_text=True)


def test_a_password_the_admin_typed_is_not_echoed(app, signed_in):
    admin = signed_in("admin")
    response = admin.post(
        "/admin/users",
        data={
            "email": "typed@test.example",
            "role": "faculty",
            "password": "typed-by-the-admin",
            "csrf_token": csrf_token(admin, "/admin/users"),
        },
        follow_redirects=True,
    )
    assert "Created typed@test.example" in response.get_data(as_text=True)
    assert "typed-by-the-admin" not in response.get_data(as_text=True)
