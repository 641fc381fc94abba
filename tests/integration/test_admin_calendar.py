"""Admins set the academic calendar, terms' dates, courses' pass marks and the campus calendar; the models and the
order of terms use them."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select

from core import db
from core.models import Course, Term
from ml.data.academic_sql import academic_calendar, save_reference, term_order
from ml.occupancy import model as occupancy_model
from ml.occupancy.campus_calendar import current_calendar
from ml.occupancy.features import Calendar
from ml.occupancy.task import TASK as OCCUPANCY
from ml.overcrowding import model as overcrowding_model
from ml.overcrowding.task import TASK as OVERCROWDING
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


def test_the_campus_calendar_is_what_the_facilities_models_learn_with(signed_in, monkeypatch):
    admin = signed_in("admin")
    token = csrf_token(admin, "/admin/calendar/")
    form = {"term_weeks": "18", "holiday_weeks": "5; 12", "midterm_weeks": "9", "exam_weeks": "", "csrf_token": token}
    assert admin.post("/admin/calendar/campus", data=form).status_code == 302
    expected = Calendar(holiday_weeks=(5, 12), midterm_weeks=(9,), exam_weeks=(), term_weeks=18)
    assert current_calendar() == expected
    bad = admin.post("/admin/calendar/campus", data={**form, "exam_weeks": "19"}, follow_redirects=True)
    assert "exam weeks must be between 1 and the term&#39;s 18 weeks" in bad.get_data(as_text=True)
    assert current_calendar() == expected, "a refused calendar leaves the saved one"
    page = admin.get("/admin/calendar/").get_data(as_text=True)
    assert 'id="holiday-weeks" name="holiday_weeks" value="5, 12"' in page

    learnt = {}
    monkeypatch.setattr(occupancy_model, "train", lambda data, **kw: learnt.setdefault("occupancy", kw["calendar"]))
    monkeypatch.setattr(
        overcrowding_model, "train", lambda data, **kw: learnt.setdefault("overcrowding", kw["calendar"])
    )
    OCCUPANCY.train(pd.DataFrame(), lambda *_: None)
    OVERCROWDING.train(pd.DataFrame(), lambda *_: None)
    assert learnt == {"occupancy": expected, "overcrowding": expected}
