"""The canonical academic record: one row per student x course x term.

Generators, CSV/Excel imports, the SQL tables and the at-risk features all speak in these names,
so an institution's own columns are mapped onto them once, at the import edge.
"""

from __future__ import annotations

from dataclasses import dataclass

TERM_WEEKS = 14


@dataclass(frozen=True)
class Signal:
    """A numeric signal recorded during the term and the week from which it is known."""

    name: str
    label: str
    known_at_week: int
    unit: str  # "%" (0-100), "score" (0-100), "minutes", "count", "hours"


# Signals known during the term. Scores are on a 0-100 scale (imports rescale with a declared maximum).
SIGNALS: tuple[Signal, ...] = (
    Signal("study_time_hours", "weekly study time", 0, "hours"),
    Signal("quiz_1", "quiz 1", 3, "score"),
    Signal("attendance_w4", "attendance (weeks 1-4)", 4, "%"),
    Signal("lms_minutes_w4", "LMS time (weeks 1-4)", 4, "minutes"),
    Signal("lms_logins_w4", "LMS logins (weeks 1-4)", 4, "count"),
    Signal("assignment_1", "assignment 1", 4, "score"),
    Signal("quiz_2", "quiz 2", 6, "score"),
    Signal("attendance_w8", "attendance (weeks 1-8)", 8, "%"),
    Signal("lms_minutes_w8", "LMS time (weeks 1-8)", 8, "minutes"),
    Signal("lms_logins_w8", "LMS logins (weeks 1-8)", 8, "count"),
    Signal("assignment_2", "assignment 2", 8, "score"),
    Signal("absences", "absences (weeks 1-8)", 8, "count"),
    Signal("grade_p1", "first-period grade", 8, "score"),
    Signal("quiz_3", "quiz 3", 9, "score"),
    Signal("midterm", "midterm", 9, "score"),
    Signal("grade_p2", "second-period grade", 9, "score"),
)
SIGNALS_BY_NAME = {s.name: s for s in SIGNALS}
SCORE_SIGNALS = tuple(s.name for s in SIGNALS if s.unit == "score")

# Who the student is: known before the term starts (used at every checkpoint).
STUDENT_FIELDS: tuple[str, ...] = ("age", "sex", "programme", "prior_gpa", "prior_failures")

# Keys of a record. `student_id` is the institution's own identifier (text).
KEY_FIELDS: tuple[str, ...] = ("student_id", "course_code", "term_code")

# Outcome, known once the term closes: final grade (0-100) and passed (True/False; a withdrawal is not a pass).
OUTCOME_FIELDS: tuple[str, ...] = ("final_grade", "passed")
# A student who withdrew, and from which week (at risk at checkpoints before it, left out after it).
WITHDRAWAL_FIELDS: tuple[str, ...] = ("withdrawn", "withdrawal_week")
# Per term and per course, when the file carries them: the calendar, and the course's pass mark.
TERM_FIELDS: tuple[str, ...] = ("term_start", "term_end", "term_weeks")
COURSE_FIELDS: tuple[str, ...] = ("pass_mark",)

DEFAULT_PASS_MARK = 50.0
# The institution's calendar unless an admin sets another (Setting "academic_calendar") or a term its own.
DEFAULT_CHECKPOINT_WEEKS: tuple[int, ...] = (4, 8, 9)
# Known before the term starts (week 0), and known only once the term is over (never an early-warning signal).
BEFORE_TERM, END_OF_TERM = 0, 99
