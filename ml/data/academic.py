"""Synthetic academic records: students, courses, terms and enrollments with in-term signals.

The generative story: each student has a latent ability and motivation; each course a latent difficulty.
Motivation drifts per term, and some enrollments disengage from a random week on, which shows first in
weekly attendance and LMS activity and later in scores. Quizzes, assignments, the midterm and a final exam
follow from skill (ability minus difficulty) and current motivation; the final grade is a weighted sum and
the student passes when it reaches the course's pass mark. The last term is the current one: signals up to
week 9 only, no outcome.

Everything is drawn from one seeded generator in a fixed order, so a seed reproduces the data exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.data.academic_fields import (
    KEY_FIELDS,
    OUTCOME_FIELDS,
    SIGNALS,
    STUDENT_FIELDS,
    TERM_WEEKS,
    WITHDRAWAL_FIELDS,
)

SCALES: dict[str, dict[str, int]] = {
    "demo": dict(n_students=1200, n_courses=40, n_terms=4),
    "full": dict(n_students=30000, n_courses=2000, n_terms=6),
}

# The week the current term has reached: every signal known by week 9 exists, nothing after it.
CURRENT_WEEK = 9
LAST_TERM_CODE = (2025, 2)

DEPARTMENTS: dict[str, str] = {
    "MAT": "Mathematics",
    "PHY": "Physics",
    "CHE": "Chemistry",
    "BIO": "Biology",
    "CSC": "Computer Science",
    "ECO": "Economics",
    "MGT": "Management",
    "PSY": "Psychology",
    "EDU": "Education",
    "HIS": "History",
}
# Programme -> departments whose courses its students mostly take.
PROGRAMMES: dict[str, tuple[str, ...]] = {
    "Engineering": ("MAT", "PHY", "CSC"),
    "Computer Science": ("CSC", "MAT"),
    "Business": ("ECO", "MGT"),
    "Health Sciences": ("BIO", "CHE", "PSY"),
    "Education": ("EDU", "PSY", "HIS"),
    "Humanities": ("HIS", "PSY", "EDU"),
}
HOME_COURSE_SHARE = 0.6
MAX_PICKS = 8  # course draws per student-term before de-duplication (at most 5 are kept)
WITHDRAWAL_SHARE = 0.25  # of the enrollments that disengage (about 3 % of all)


@dataclass
class AcademicData:
    """Generated academic tables; `records()` flattens them into the records frame."""

    terms: pd.DataFrame
    courses: pd.DataFrame
    students: pd.DataFrame
    enrollments: pd.DataFrame

    def records(self) -> pd.DataFrame:
        """One row per enrollment in the records-frame contract (no latent or list columns)."""
        enr = self.enrollments.drop(columns=["attendance_weekly"])
        out = (
            enr.merge(self.terms[["term_code", "term_index", "is_current"]], on="term_code", how="left")
            .merge(self.courses[["course_code", "pass_mark"]], on="course_code", how="left")
            .merge(self.students[["student_id", *STUDENT_FIELDS]], on="student_id", how="left")
        )
        columns = [
            *KEY_FIELDS,
            "term_index",
            "is_current",
            "pass_mark",
            *STUDENT_FIELDS,
            *(s.name for s in SIGNALS),
            *OUTCOME_FIELDS,
            *WITHDRAWAL_FIELDS,
        ]
        return out[columns].reset_index(drop=True)


def generate_scale(name: str, seed: int = 0) -> AcademicData:
    """Generate one of the named `SCALES` ("demo" or "full")."""
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; choose one of {sorted(SCALES)}")
    return generate_academic(**SCALES[name], seed=seed)


def generate_academic(n_students: int, n_courses: int, n_terms: int, seed: int = 0) -> AcademicData:
    """Generate a reproducible synthetic institution: `n_terms` terms, the last one current."""
    if n_terms < 1 or n_students < 1 or n_courses < 1:
        raise ValueError("n_students, n_courses and n_terms must be positive")
    rng = np.random.default_rng(seed)
    terms = _terms(n_terms)
    courses = _courses(rng, n_courses)
    students, ability, motivation = _students(rng, n_students)
    enrollments = _enrollments(rng, terms, courses, students, ability, motivation)
    return AcademicData(terms=terms, courses=courses, students=students, enrollments=enrollments)


def semesters(n_terms: int) -> pd.DataFrame:
    """Two terms a year, oldest first, ending with LAST_TERM_CODE: `term_code` ("2025-1"), `name` and the
    first of the month the term opens (`opens`: March or August); campus data uses the same terms."""
    year, half = LAST_TERM_CODE
    codes = []
    for _ in range(n_terms):
        codes.append((year, half))
        year, half = (year, 1) if half == 2 else (year - 1, 2)
    codes.reverse()
    return pd.DataFrame(
        {
            "term_code": pd.Series([f"{y}-{h}" for y, h in codes], dtype="str"),
            "name": pd.Series([f"{y} {'first' if h == 1 else 'second'} semester" for y, h in codes], dtype="str"),
            "opens": pd.to_datetime([f"{y}-{'03' if h == 1 else '08'}-01" for y, h in codes]),
        }
    )


def _terms(n_terms: int) -> pd.DataFrame:
    terms = semesters(n_terms)
    start = pd.DatetimeIndex(terms.pop("opens"))
    return terms.assign(
        term_index=np.arange(n_terms, dtype="int64"),
        start_date=start,
        end_date=start + pd.Timedelta(weeks=TERM_WEEKS) - pd.Timedelta(days=3),
        weeks=TERM_WEEKS,
        is_current=np.arange(n_terms) == n_terms - 1,
    )


def _courses(rng: np.random.Generator, n_courses: int) -> pd.DataFrame:
    prefixes = np.array(list(DEPARTMENTS))
    dept = rng.integers(0, len(prefixes), size=n_courses)
    dept.sort()  # courses grouped by department, so a department is a contiguous index range
    number = np.empty(n_courses, dtype="int64")
    for d in range(len(prefixes)):
        idx = np.flatnonzero(dept == d)
        # levels 1-4, sections 01-99: 396 distinct codes per department
        number[idx] = rng.choice(396, size=len(idx), replace=False)
    level = number // 99 + 1
    code = [f"{prefixes[d]}{lv}{n % 99 + 1:02d}" for d, lv, n in zip(dept, level, number, strict=True)]
    names = [f"{DEPARTMENTS[prefixes[d]]} {c[3:]}" for d, c in zip(dept, code, strict=True)]
    pass_mark = np.where(rng.random(n_courses) < 0.1, 60.0, 50.0)
    spread = rng.normal(0.0, 0.5, n_courses)
    # Centred so the overall fail rate does not swing with a few hard courses at small scales.
    difficulty = spread - spread.mean() + 0.1 * (level - 2.5)
    return pd.DataFrame(
        {
            "course_code": pd.Series(code, dtype="str"),
            "name": pd.Series(names, dtype="str"),
            "department": pd.Series([DEPARTMENTS[prefixes[d]] for d in dept], dtype="str"),
            "pass_mark": pass_mark,
            "difficulty": difficulty,
        }
    )


def _students(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    ability = rng.normal(0.0, 1.0, n)
    motivation = rng.normal(0.0, 1.0, n)
    age = np.clip(17 + np.round(rng.gamma(1.6, 2.4, n)), 17, 45).astype("int64")
    mature = age >= 25
    motivation = motivation + 0.3 * mature  # mature students tend to be more deliberate
    sex = np.where(rng.random(n) < 0.55, "F", "M")
    programmes = np.array(list(PROGRAMMES))
    programme = programmes[rng.choice(len(programmes), size=n, p=[0.22, 0.16, 0.2, 0.18, 0.12, 0.12])]
    prior_gpa = np.round(np.clip(4 / (1 + np.exp(-(0.6 + 0.9 * ability + rng.normal(0, 0.5, n)))), 0, 4), 2)
    prior_gpa[rng.random(n) < 0.06] = np.nan
    prior_failures = np.minimum(rng.poisson(np.exp(-1.3 - 0.9 * ability)), 6).astype(float)
    students = pd.DataFrame(
        {
            "student_id": pd.Series([f"S{i:06d}" for i in range(1, n + 1)], dtype="str"),
            "age": age,
            "sex": pd.Series(sex, dtype="str"),
            "programme": pd.Series(programme, dtype="str"),
            "prior_gpa": prior_gpa,
            "prior_failures": prior_failures,
        }
    )
    return students, ability, motivation


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _enrollments(
    rng: np.random.Generator,
    terms: pd.DataFrame,
    courses: pd.DataFrame,
    students: pd.DataFrame,
    ability: np.ndarray,
    motivation: np.ndarray,
) -> pd.DataFrame:
    n_students, n_terms, n_courses = len(students), len(terms), len(courses)

    # --- who takes what: 3-5 courses per student-term, mostly from the programme's departments
    term_motivation = motivation[:, None] + rng.normal(0.0, 0.4, (n_students, n_terms))
    k = rng.choice([3, 4, 5], size=n_students * n_terms, p=[0.3, 0.4, 0.3])
    # Draw a few spare picks per student-term, drop repeats, keep the first k distinct courses.
    group = np.repeat(np.arange(n_students * n_terms), MAX_PICKS)
    course = _pick_courses(rng, courses, students["programme"].to_numpy()[group // n_terms])
    _, first = np.unique(group.astype("int64") * n_courses + course, return_index=True)
    first.sort()
    group, course = group[first], course[first]
    rank = np.arange(len(group)) - np.searchsorted(group, group, side="left")
    keep = rank < k[group]
    s, t, c = group[keep] // n_terms, group[keep] % n_terms, course[keep]
    n = len(s)

    # --- latent state of each enrollment
    skill = ability[s] - courses["difficulty"].to_numpy()[c] + rng.normal(0.0, 0.5, n)
    mot = term_motivation[s, t] + rng.normal(0.0, 0.3, n)
    disengages = rng.random(n) < _sigmoid(-2.0 - 0.9 * mot)
    onset = rng.integers(3, 13, n)  # week the disengagement starts (some after the midterm: unforeseeable)
    severity = rng.uniform(0.3, 0.9, n) * disengages
    weeks = np.arange(1, TERM_WEEKS + 1)
    effort = mot[:, None] - severity[:, None] * np.maximum(0, weeks[None, :] - onset[:, None]) / 3.0

    def effort_at(week: int) -> np.ndarray:
        return effort[:, week - 1]

    # --- attendance: two sessions a week
    p_attend = _sigmoid(1.9 + 0.9 * effort + 0.2 * ability[s][:, None])
    weekly = rng.binomial(2, p_attend) / 2.0
    attendance_w4 = weekly[:, :4].mean(axis=1) * 100
    attendance_w8 = weekly[:, :8].mean(axis=1) * 100
    absences = (2 - 2 * weekly[:, :8]).sum(axis=1)

    # --- LMS activity: Poisson logins, log-normal minutes per login (heavy right tail)
    early, mid = effort[:, :4].mean(axis=1), effort[:, 4:8].mean(axis=1)
    logins_1 = rng.poisson(8.0 * np.exp(0.35 * early + 0.1 * ability[s]))
    logins_2 = rng.poisson(8.0 * np.exp(0.35 * mid + 0.1 * ability[s]))
    minutes_1 = logins_1 * np.exp(rng.normal(np.log(22) + 0.15 * early, 0.5, n))
    minutes_2 = logins_2 * np.exp(rng.normal(np.log(22) + 0.15 * mid, 0.5, n))
    lms_logins_w4 = logins_1.astype(float)
    lms_logins_w8 = (logins_1 + logins_2).astype(float)
    lms_minutes_w4 = np.round(minutes_1)
    lms_minutes_w8 = np.round(minutes_1 + minutes_2)
    absurd = rng.random(n) < 0.003  # a browser tab left open for days
    lms_minutes_w8[absurd] += rng.uniform(5_000, 15_000, absurd.sum()).round()
    study_time_hours = np.round(np.exp(rng.normal(np.log(5.0) + 0.3 * motivation[s], 0.5, n)) * 2) / 2
    study_time_hours[rng.random(n) < 0.002] = rng.choice([80.0, 100.0, 168.0])

    # --- assessments (0-100)
    def score(base: float, w_skill: float, w_effort: float, week: int, noise: float) -> np.ndarray:
        z = base + w_skill * skill + w_effort * effort_at(week) + rng.normal(0.0, noise, n)
        return np.round(100 * _sigmoid(z), 1)

    quizzes = np.column_stack([score(0.8, 0.8, 0.3, wk, 0.9) for wk in (3, 6, 9)])
    skips_quizzes = rng.random(n_students)[s] < 0.05
    skipped = skips_quizzes[:, None] & (rng.random((n, 3)) < 0.5)
    quizzes_taken = np.where(skipped, 0.0, quizzes)  # a skipped quiz counts as zero towards the grade
    assignments = np.column_stack([score(1.2, 0.5, 0.6, wk, 0.8) for wk in (4, 8)])
    assignments[rng.random((n, 2)) < 0.05] = 0.0  # not handed in: a real zero, not a missing value
    midterm = score(0.5, 1.0, 0.25, 9, 0.7)
    final_exam = score(1.05, 1.0, 0.5, 13, 0.9)
    final_grade = np.round(
        0.10 * quizzes_taken.mean(axis=1)
        + 0.15 * assignments.mean(axis=1)
        + 0.25 * midterm
        + 0.40 * final_exam
        + 0.10 * weekly.mean(axis=1) * 100,
        1,
    )
    quizzes = np.where(skipped, np.nan, quizzes)

    signals = {
        "study_time_hours": study_time_hours,
        "quiz_1": quizzes[:, 0],
        "attendance_w4": attendance_w4,
        "lms_minutes_w4": lms_minutes_w4,
        "lms_logins_w4": lms_logins_w4,
        "assignment_1": assignments[:, 0],
        "quiz_2": quizzes[:, 1],
        "attendance_w8": attendance_w8,
        "lms_minutes_w8": lms_minutes_w8,
        "lms_logins_w8": lms_logins_w8,
        "assignment_2": assignments[:, 1],
        "absences": absences,
        "quiz_3": quizzes[:, 2],
        "midterm": midterm,
    }
    # Missing completely at random: 3-8 % per signal (lost records, late uploads).
    for name in signals:
        values = signals[name].astype(float)
        values[rng.random(n) < rng.uniform(0.03, 0.08)] = np.nan
        signals[name] = values

    current = terms["is_current"].to_numpy()[t]
    # Some who disengage withdraw a few weeks later: nothing is recorded after that week.
    withdrawal_week = np.where(
        disengages & (rng.random(n) < WITHDRAWAL_SHARE), onset + rng.integers(1, 4, n), TERM_WEEKS + 1
    ).astype(float)
    withdrawal_week[current & (withdrawal_week > CURRENT_WEEK)] = TERM_WEEKS + 1  # not yet, this term
    withdrawn = withdrawal_week <= TERM_WEEKS
    for sig in SIGNALS:
        if sig.name in signals:
            signals[sig.name][withdrawn & (withdrawal_week <= sig.known_at_week)] = np.nan
    pass_mark = courses["pass_mark"].to_numpy()[c]
    final_grade = np.where(current | withdrawn, np.nan, final_grade)
    passed = pd.array(final_grade >= pass_mark, dtype="boolean")
    passed[withdrawn] = False
    passed[current] = pd.NA  # the current term's outcome is not known yet, withdrawals included

    frame = pd.DataFrame(
        {
            "student_id": students["student_id"].to_numpy()[s],
            "course_code": courses["course_code"].to_numpy()[c],
            "term_code": terms["term_code"].to_numpy()[t],
        }
    ).astype("str")
    for sig in SIGNALS:
        frame[sig.name] = signals.get(sig.name, np.full(n, np.nan))
    frame["final_grade"] = final_grade
    frame["passed"] = passed
    frame["withdrawn"] = withdrawn
    frame["withdrawal_week"] = np.where(withdrawn, withdrawal_week, np.nan)
    weekly[withdrawn[:, None] & (weeks[None, :] >= withdrawal_week[:, None])] = np.nan
    frame["attendance_weekly"] = _weekly_lists(weekly, current)
    return frame


def _pick_courses(rng: np.random.Generator, courses: pd.DataFrame, programme: np.ndarray) -> np.ndarray:
    """Course index per slot: a home-department course with HOME_COURSE_SHARE, otherwise any course."""
    n_slots, n_courses = len(programme), len(courses)
    course = rng.integers(0, n_courses, n_slots)
    home = rng.random(n_slots) < HOME_COURSE_SHARE
    dept = courses["course_code"].str.slice(0, 3).to_numpy()
    span = {d: np.flatnonzero(dept == d) for d in DEPARTMENTS}  # contiguous: courses are sorted by department
    u = rng.random(n_slots)
    pick = rng.integers(0, 3, n_slots)
    for prog, depts in PROGRAMMES.items():
        for j in range(3):
            d = depts[j % len(depts)]
            if len(span[d]) == 0:
                continue  # small scales may lack a department: keep the uniform pick
            lo, hi = span[d][0], span[d][-1] + 1
            m = home & (programme == prog) & (pick == j)
            course[m] = lo + (u[m] * (hi - lo)).astype("int64")
    return course


def _weekly_lists(weekly: np.ndarray, current: np.ndarray) -> list:
    """Weekly attendance as lists of 14 floats; weeks after CURRENT_WEEK are None in the current term."""
    lists = weekly.tolist()
    pending = [None] * (TERM_WEEKS - CURRENT_WEEK)
    for i in np.flatnonzero(current):
        lists[i][CURRENT_WEEK:] = pending
    return lists
