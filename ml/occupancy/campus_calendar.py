"""The campus calendar the facilities models learn with: the term's length and the teaching weeks with a known
effect on attendance (a public holiday, midterms, exams).

An admin setting (`Setting` "campus_calendar"), read when occupancy and overcrowding train: a change takes effect
with the next retraining, and each model keeps the calendar it learnt with (`FeatureBuilder.calendar`). Without
the setting, the demo campus's calendar.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.db import session
from core.models import Setting
from ml.occupancy.features import Calendar

SETTING_KEY = "campus_calendar"
MAX_TERM_WEEKS = 60


def current_calendar() -> Calendar:
    stored = Setting.get(SETTING_KEY)
    if not stored:
        return Calendar()
    try:
        return check_calendar(**stored)
    except (TypeError, ValueError):
        return Calendar()  # a hand-edited row that no longer checks: the default, not a crash in training


def save_calendar(
    term_weeks: int,
    holiday_weeks: Iterable[int],
    midterm_weeks: Iterable[int],
    exam_weeks: Iterable[int],
    updated_by: str,
) -> Calendar:
    """Store the campus calendar (ValueError naming what is wrong); commits."""
    calendar = check_calendar(term_weeks, holiday_weeks, midterm_weeks, exam_weeks)
    Setting.put(SETTING_KEY, calendar.as_dict(), updated_by)
    session.commit()
    return calendar


def check_calendar(
    term_weeks: int,
    holiday_weeks: Iterable[int] = (),
    midterm_weeks: Iterable[int] = (),
    exam_weeks: Iterable[int] = (),
) -> Calendar:
    """The calendar, validated: a term of 1 to 60 weeks, and each list of weeks inside it."""
    term_weeks = int(term_weeks)
    if not 1 <= term_weeks <= MAX_TERM_WEEKS:
        raise ValueError(f"a term lasts from 1 to {MAX_TERM_WEEKS} weeks")
    lists = {"holiday": holiday_weeks, "midterm": midterm_weeks, "exam": exam_weeks}
    checked = {}
    for name, weeks in lists.items():
        weeks = tuple(sorted({int(week) for week in weeks}))
        if weeks and (weeks[0] < 1 or weeks[-1] > term_weeks):
            raise ValueError(f"{name} weeks must be between 1 and the term's {term_weeks} weeks")
        checked[f"{name}_weeks"] = weeks
    return Calendar(term_weeks=term_weeks, **checked)
