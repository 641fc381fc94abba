"""A person signs in with a real browser and sees only their views."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import sign_in_page

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("role", ["faculty", "facilities", "ministry"])
def test_each_audience_lands_on_its_dashboard_with_its_navigation(page, server, users, role):
    sign_in_page(page, server, users[role].email, PASSWORD)
    page.wait_for_url(f"{server}/{role}/")
    page.wait_for_selector(".navbar-brand")
    nav = page.inner_text("nav")
    assert role.capitalize() in nav
    assert "Admin" not in nav and ("Ministry" in nav) == (role == "ministry")


def test_faculty_is_refused_the_ministry_view(page, server, users):
    sign_in_page(page, server, users["faculty"].email, PASSWORD)
    page.wait_for_url(f"{server}/faculty/")
    response = page.goto(f"{server}/ministry/")
    assert response.status == 403


def test_admin_sees_every_section_and_signs_out(page, server, users):
    sign_in_page(page, server, users["admin"].email, PASSWORD)
    page.wait_for_url(f"{server}/admin/")
    nav = page.inner_text("nav")
    for label in ("Faculty", "Facilities", "Ministry", "Admin"):
        assert label in nav
    page.click("text=Sign out")
    page.wait_for_url(f"{server}/login")
    page.goto(f"{server}/admin/")
    assert "/login" in page.url


def test_wrong_password_shows_a_message(page, server, users):
    sign_in_page(page, server, users["faculty"].email, "wrong-password")
    assert "Wrong email or password" in page.inner_text("main")
