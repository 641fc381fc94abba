"""In Chromium, the pages work under the Content-Security-Policy: nothing is blocked, callbacks run, charts draw."""

from __future__ import annotations

import pytest

from core import db
from core.models import User
from ml import lifecycle
from ml.data.academic import generate_academic
from ml.data.academic_sql import save_generated
from tests.conftest import PASSWORD, empty_tables
from tests.e2e.conftest import sign_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.shared_data]

# Collects every CSP violation the page reports (a blocked script, style, eval, image, font or connection).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => window.cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI} in ${event.sourceFile}:${event.lineNumber}`));
"""


@pytest.fixture(scope="module")
def lecturer(app):
    save_generated(generate_academic(n_students=300, n_courses=10, n_terms=4, seed=11))
    lifecycle.retrain("at_risk", requested_by="e2e")
    User.create("csp-lecturer@test.example", "faculty", PASSWORD)
    db.session.commit()
    yield "csp-lecturer@test.example"
    empty_tables()


@pytest.fixture
def watched(browser):
    """A page that records CSP violations and console errors as they happen."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.add_init_script(RECORD_VIOLATIONS)
    page.console_errors = []
    page.on("console", lambda message: page.console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def assert_nothing_blocked(page) -> None:
    assert page.evaluate("window.cspViolations") == []
    assert [text for text in page.console_errors if "Content Security Policy" in text] == []


def test_faculty_dashboard_renders_and_runs_callbacks_under_the_csp(watched, server, lecturer):
    page = watched
    sign_in_page(page, server, lecturer, PASSWORD)
    page.wait_for_url(f"{server}/faculty/")

    page.wait_for_selector("#risk-grid .ag-row")  # the grid's rows come from a server callback
    page.wait_for_selector("#risk-histogram .bars path")  # Plotly SVG
    page.wait_for_selector("#segment-scatter .gl-container canvas")  # Plotly WebGL (needs eval, see security.py)
    assert "WebGL is not supported" not in page.inner_text("#segment-scatter")
    header_height = page.evaluate("document.querySelector('#risk-grid .ag-header').getBoundingClientRect().height")
    assert header_height > 20  # AG Grid's injected theme styles applied

    page.locator("#risk-grid .ag-row[row-index='0'] [col-id=student_id]").first.click()
    page.locator("#student-panel").get_by_text("Earlier courses").wait_for()  # a callback the click started
    page.locator("#student-panel-canvas .btn-close").click()  # the side panel closes over the list again
    page.locator("#student-panel-canvas").wait_for(state="hidden")
    with page.expect_download() as download:
        page.click("#export-csv")
    assert download.value.suggested_filename.endswith(".csv")

    page.get_by_role("tab", name="Model quality").click()
    page.locator("#model-verdict").wait_for()
    assert_nothing_blocked(page)


def test_sign_in_and_admin_pages_work_under_the_csp(watched, server, users):
    page = watched
    sign_in_page(page, server, users["admin"].email, PASSWORD)
    page.wait_for_url(f"{server}/admin/")
    page.goto(f"{server}/admin/jobs")
    page.goto(f"{server}/admin/users")
    page.goto(f"{server}/upload/")
    assert_nothing_blocked(page)
