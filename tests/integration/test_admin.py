"""Admin area: users and roles; the registry's promote and roll back through the web."""

from __future__ import annotations

from sqlalchemy import select

from core import db
from core.models import AuditLog, User
from tests.conftest import csrf_token, sign_in


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/admin/users"), **data})


def test_admin_creates_a_user_who_can_then_sign_in(signed_in, app):
    admin = signed_in("admin")
    post(admin, "/admin/users", email="New.Lecturer@Test.example", role="faculty", password="a-long-password")
    assert User.by_email("new.lecturer@test.example").role == "faculty"
    assert sign_in(app.test_client(), "new.lecturer@test.example", "a-long-password").location == "/faculty/"


def test_generated_password_is_shown_once(signed_in):
    admin = signed_in("admin")
    page = post(admin, "/admin/users", email="gen@test.example", role="ministry").get_data(as_text=True)
    assert "shown once" in page  # on the answer itself; never in a flash (see test_security_one_time_passwords)
    assert "shown once" not in admin.get("/admin/users").get_data(as_text=True)


def test_duplicate_email_is_refused_with_a_message(signed_in, users):
    admin = signed_in("admin")
    post(admin, "/admin/users", email=users["faculty"].email, role="faculty", password="a-long-password")
    assert "already exists" in admin.get("/admin/users").get_data(as_text=True)


def test_change_role_takes_effect_on_the_next_request(signed_in, users):
    faculty = signed_in("faculty")
    admin = signed_in("admin")
    post(admin, f"/admin/users/{users['faculty'].id}", action="role", role="ministry")
    assert faculty.get("/faculty/").status_code == 403
    assert faculty.get("/ministry/").status_code == 200


def test_disabled_user_loses_their_session(signed_in, users):
    faculty = signed_in("faculty")
    admin = signed_in("admin")
    post(admin, f"/admin/users/{users['faculty'].id}", action="disable")
    assert faculty.get("/faculty/").status_code == 302


def test_reset_password_replaces_the_old_one(signed_in, users, app):
    admin = signed_in("admin")
    post(admin, f"/admin/users/{users['faculty'].id}", action="reset")
    assert not User.by_email(users["faculty"].email).check_password("correct-horse-battery")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "user_reset")) is not None


def test_admin_cannot_disable_themselves(signed_in, users):
    admin = signed_in("admin")
    post(admin, f"/admin/users/{users['admin'].id}", action="disable")
    assert User.by_email(users["admin"].email).active
