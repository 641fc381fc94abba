"""Admins set the academic calendar, terms' dates and courses' pass marks; the model and the order of terms use them."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select

from core import db
from core.models import Course, Term
from ml.data.academic_sql import academic_calendar, save_reference, term_order
from tests.conftest import csrf_token


def test_the_calendar_sets_the_checkpoint_weeks(signed_in):
    admin = signed_in("admin")
    token = csrf_token(admin, "/admin/calendar/")
    response = admin.post(
        "/admin/calendar/", data={"term_weeks": "16", "checkpoint_weeks": "3, 6, 10", "csrf_token": token}
    )
    assert response.status_code == 302
    assert academic_calendar() == {"term_weeks": 16, "checkpoint_weeks": [3, 6, 10]}
    bad = admin.post("/admin/calendar/", data={"term_weeks": "16", "checkpoint_weeks": "20", "csrf_token": token},
                     follow_redirects=True)  # fmt: skip
    assert "checkpoint weeks must be between 1 and" in bad.get_data(as_text=True)
    assert academic_calendar()["checkpoint_weeks"] == [3, 6, 10]


def test_term_dates_order_the_terms(signed_in):
    save_reference(terms=pd.DataFrame({"term_code": ["Autumn term", "Spring term"]}))
    db.session.commit()
    admin = signed_in("admin")
    token = csrf_token(admin, "/admin/calendar/")
    spring = db.session.scalar(select(Term).where(Term.code == "Spring term"))
    admin.post(f"/admin/calendar/terms/{spring.id}", data={"start_date": "2025-02-03", "end_date": "2025-06-20",
                                                          "weeks": "18", "csrf_token": token})  # fmt: skip
    autumn = db.session.scalar(select(Term).where(Term.code == "Autumn term"))
    admin.post(f"/admin/calendar/terms/{autumn.id}", data={"start_date": "2025-09-01", "csrf_token": token})
    db.session.expire_all()
    assert term_order() == ["Spring term", "Autumn term"]
    assert db.session.get(Term, spring.id).end_date == date(2025, 6, 20)
    page = admin.get("/admin/calendar/").get_data(as_text=True)
    assert "Spring term" in page and page.index("Spring term") < page.index("Autumn term")


def test_a_course_pass_mark_is_set_by_an_admin_only(signed_in):
    save_reference(courses=pd.DataFrame({"course_code": ["HIS101"]}))
    db.session.commit()
    admin, faculty = signed_in("admin"), signed_in("faculty")
    form = {"course_code": "HIS101", "pass_mark": "60", "csrf_token": csrf_token(admin, "/admin/calendar/")}
    assert (
        faculty.post("/admin/calendar/pass-marks", data={**form, "csrf_token": csrf_token(faculty)}).status_code == 403
    )
    admin.post("/admin/calendar/pass-marks", data=form)
    assert db.session.scalar(select(Course.pass_mark).where(Course.code == "HIS101")) == 60.0
