"""A lecturer finds a student at risk, reads why, tries a what-if and records an intervention, in Chromium."""

from __future__ import annotations

import re

import pytest

from core import db
from core.models import User
from ml import lifecycle
from ml.data.academic import generate_academic
from ml.data.academic_sql import save_generated
from tests.conftest import PASSWORD, empty_tables
from tests.e2e.conftest import sign_in_page

pytestmark = [pytest.mark.e2e, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def lecturer(app):
    data = generate_academic(n_students=300, n_courses=10, n_terms=4, seed=7)
    save_generated(data)
    lifecycle.retrain("at_risk", requested_by="e2e")
    User.create("lecturer-e2e@test.example", "faculty", PASSWORD)
    db.session.commit()
    yield "lecturer-e2e@test.example"
    empty_tables()


def test_lecturer_flow(page, server, lecturer):
    sign_in_page(page, server, lecturer, PASSWORD)
    page.wait_for_url(f"{server}/faculty/")
    page.wait_for_selector("#risk-grid .ag-row")
    assert "Students at risk" in page.inner_text("h1")

    first = page.locator("#risk-grid .ag-row[row-index='0'] [col-id=student_id]").first
    student = first.inner_text()
    first.click()
    panel = page.locator("#student-panel")
    panel.get_by_text("Earlier courses").wait_for()  # beside the list, where the lecturer is looking
    canvas = page.locator("#student-panel-canvas")
    assert canvas.is_visible() and student in canvas.locator(".offcanvas-title").inner_text()
    assert "Why" in panel.inner_text()
    row_height = page.evaluate("document.querySelector('#risk-grid .ag-row').getBoundingClientRect().height")
    assert row_height < 60  # one line per student, the full text in the panel

    panel.locator("#intervention-note").fill("Met after class; tutoring on Tuesdays.")
    panel.get_by_role("button", name="Record intervention").click()
    page.get_by_text("Intervention recorded.").wait_for()
    assert "tutoring on Tuesdays" in page.locator("#student-interventions").inner_text()
    canvas.locator(".btn-close").click()
    canvas.wait_for(state="hidden")

    page.get_by_role("tab", name="What-if").click()
    page.locator("#what-if-probability").wait_for()
    before = page.inner_text("#what-if-probability")
    for field in ("attendance_w4", "attendance_w8", "quiz_1", "quiz_2", "quiz_3", "midterm"):
        box = page.locator(f'[id*="{field}"][id*="what-if"]')
        box.fill("100")
        box.press("Enter")
    page.wait_for_function(
        "before => document.querySelector('#what-if-probability').innerText !== before", arg=before, timeout=20_000
    )
    after = page.inner_text("#what-if-probability")
    assert int(re.search(r"(\d+)%", after).group(1)) < int(re.search(r"(\d+)%", before).group(1))

    page.get_by_role("tab", name="Model quality").click()
    page.locator("#model-verdict").wait_for()
    assert "simple rule" in page.inner_text("#model-verdict")


def test_a_file_above_the_upload_limit_is_refused_with_a_message(page, server, lecturer, tmp_path):
    from core.uploads import MAX_UPLOAD_BYTES

    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.write(b"a;b\n")
        handle.truncate(MAX_UPLOAD_BYTES + 1024)  # sparse: a big file without writing it all
    sign_in_page(page, server, lecturer, PASSWORD)
    page.wait_for_url(f"{server}/faculty/")
    page.get_by_role("tab", name="Import records").click()
    page.locator("#import-upload input[type=file]").set_input_files(str(huge))
    message = page.locator("#import-upload-limit")
    message.wait_for(state="visible")
    assert "huge.csv" in message.inner_text() and "limit" in message.inner_text()
    assert "records import" in message.inner_text()  # and how to import it anyway
