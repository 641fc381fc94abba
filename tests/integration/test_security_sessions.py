"""Sessions end on logout, password reset, password change and disable: a copied session cookie stops working."""

from __future__ import annotations

import secrets

from sqlalchemy import create_engine, text

from core import db
from core.models import ApiToken, User
from tests.conftest import csrf_token, migrate, sign_in
from tests.integration.test_migrations import scratch_url  # noqa: F401  (the SQLite / PostgreSQL fixture)


def copied_session(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A fresh client carrying only a copied session cookie, as an attacker who took it would."""
    attacker = app.test_client()
    attacker.set_cookie("session", cookie)
    return attacker


def admin_action(admin, user: User, action: str):
    return admin.post(
        f"/admin/users/{user.id}", data={"action": action, "csrf_token": csrf_token(admin, "/admin/users")}
    )


def test_copied_cookie_stops_working_after_logout(app, users):
    faculty = app.test_client()
    sign_in(faculty, users["faculty"].email)
    cookie = copied_session(faculty)
    assert replay(app, cookie).get("/faculty/").status_code == 200  # the copy works while the session lives

    faculty.post("/logout", data={"csrf_token": csrf_token(faculty, "/login")})

    page = replay(app, cookie).get("/faculty/")
    assert page.status_code == 302 and "/login" in page.location
    assert replay(app, cookie).get("/api/v1/me").status_code == 401


def test_copied_cookie_stops_working_after_a_password_reset(app, users, signed_in):
    faculty = signed_in("faculty")
    cookie = copied_session(faculty)

    assert admin_action(signed_in("admin"), users["faculty"], "reset").status_code == 200

    assert faculty.get("/faculty/").status_code == 302
    assert replay(app, cookie).get("/api/v1/me").status_code == 401


def test_copied_cookie_stops_working_after_disable_even_once_enabled_again(app, users, signed_in):
    faculty = signed_in("faculty")
    cookie = copied_session(faculty)
    admin = signed_in("admin")

    admin_action(admin, users["faculty"], "disable")
    assert replay(app, cookie).get("/faculty/").status_code == 302
    admin_action(admin, users["faculty"], "enable")

    assert replay(app, cookie).get("/faculty/").status_code == 302
    assert sign_in(app.test_client(), users["faculty"].email).status_code == 302  # a new sign-in works


def test_a_password_change_ends_every_session_of_that_user_only(app, users, signed_in):
    laptop, phone, colleague = signed_in("faculty"), signed_in("faculty"), signed_in("ministry")

    User.by_email(users["faculty"].email).set_password("a-brand-new-password")
    db.session.commit()

    assert laptop.get("/faculty/").status_code == 302
    assert phone.get("/faculty/").status_code == 302
    assert colleague.get("/ministry/").status_code == 200


def test_end_sessions_leaves_api_tokens_working(app, users, signed_in):
    browser = signed_in("ministry")
    _, plain = ApiToken.issue(users["ministry"], "script")
    db.session.commit()

    User.by_email(users["ministry"].email).end_sessions()
    db.session.commit()

    assert browser.get("/api/v1/me").status_code == 401
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 200


def test_session_identity_names_the_user_and_their_current_token(users):
    user = users["faculty"]
    assert user.get_id() == f"{user.id}:{user.session_token}"
    assert User.by_session_id(user.get_id()) is user
    for stale in (str(user.id), f"{user.id}:", f"{user.id}:{secrets.token_urlsafe(32)}", "x:y", f"{user.id}:é"):
        assert User.by_session_id(stale) is None


def test_an_admin_who_resets_their_own_password_stays_signed_in(users, signed_in):
    admin = signed_in("admin")
    assert admin_action(admin, users["admin"], "reset").status_code == 200
    assert admin.get("/admin/users").status_code == 200


def test_migration_gives_every_existing_user_a_token_of_their_own(scratch_url):  # noqa: F811
    migrate(scratch_url, "0003")
    engine = create_engine(scratch_url)
    with engine.begin() as conn:
        for n in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, active, created_at) "
                    "VALUES (:id, :email, '', 'x', 'faculty', true, CURRENT_TIMESTAMP)"
                ),
                {"id": n, "email": f"u{n}@test.example"},
            )
        conn.execute(
            text(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (1, 't', 'h', CURRENT_TIMESTAMP)"
            )
        )

    migrate(scratch_url)

    with engine.connect() as conn:
        tokens = conn.execute(text("SELECT session_token FROM users ORDER BY id")).scalars().all()
        kept = conn.execute(text("SELECT count(*) FROM api_tokens")).scalar()
    engine.dispose()
    assert len(tokens) == 2 and all(len(token) >= 40 for token in tokens) and tokens[0] != tokens[1]
    assert kept == 1  # rebuilding the table on SQLite kept the rows that point at it
