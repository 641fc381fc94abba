"""Academic records (CSV / Excel) onto the canonical fields: the academic instance of the import engine.

The web edge calls, in order: ``read_table(data, filename)`` (the upload as a frame of text, see
``ml.data.table_files``); ``suggest_mapping(frame.columns)``; the person confirms or edits the mapping
(``academic_mapping(...)`` builds one); ``apply_mapping(frame, mapping)``: the valid rows as a records frame and
every problem as ``RowError(row, column, problem)``.

Scales and ranges (see ``ml.data.import_engine`` for declared scales, which are per field):

- "%" signals (attendance) are stored on 0-100; declare 1 for attendance given as 0-1 fractions.
- "score" signals and ``final_grade`` are stored on 0-100; declare 20 for Portuguese 0-20 grades, 10 for 0-10.
- ``prior_gpa`` is stored on 0-4; declare 10 for a 0-10 "coeficiente de rendimento".
- counts and minutes must be >= 0; weekly study hours 0-168; age 10-100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ml.data import import_engine
from ml.data.academic_fields import (
    DEFAULT_PASS_MARK,
    KEY_FIELDS,
    OUTCOME_FIELDS,
    SIGNALS,
    SIGNALS_BY_NAME,
    STUDENT_FIELDS,
)
from ml.data.import_engine import (
    MAX_ERRORS,
    ColumnMapping,
    Field,
    FieldSchema,
    ImportResult,
    MappingError,
    Option,
    RowError,
)
from ml.data.table_files import DEFAULT_MAX_ROWS, ImportFormatError, read_table

__all__ = [
    "ACADEMIC",
    "CANONICAL_FIELDS",
    "DEFAULT_MAX_ROWS",
    "MAX_ERRORS",
    "SCALABLE_FIELDS",
    "ColumnMapping",
    "ImportFormatError",
    "ImportResult",
    "MappingError",
    "RowError",
    "academic_mapping",
    "apply_mapping",
    "check_mapping",
    "read_table",
    "suggest_mapping",
]

KIND = "academic"
CANONICAL_FIELDS: tuple[str, ...] = KEY_FIELDS + tuple(s.name for s in SIGNALS) + STUDENT_FIELDS + OUTCOME_FIELDS
AGE_RANGE = (10.0, 100.0)
PRIOR_GPA_SCALE = 4.0
MAX_WEEKLY_HOURS = 168.0

# Spellings per field, comma-separated, best first (compared without case, accents, spaces and punctuation).
_SYNONYMS: dict[str, str] = {
    "student_id": (
        "student id, student number, student no, student code, learner id, pupil id, matricula, "
        "numero de matricula, numero matricula, id aluno, aluno id, codigo do aluno, codigo aluno, "
        "cod aluno, ra, registro academico"
    ),
    "course_code": (
        "course code, course id, course, module code, module, subject code, subject, class code, "
        "disciplina, codigo da disciplina, codigo disciplina, cod disciplina, materia, "
        "unidade curricular, course name, nome da disciplina"
    ),
    "term_code": (
        "term, term code, semester, period, semestre, periodo, periodo letivo, ano semestre, session, "
        "academic term, academic period, academic year, ano letivo"
    ),
    "absences": "absences, absence, absence count, days absent, faltas, numero de faltas",
    "attendance_w8": (
        "attendance, attendance rate, attendance pct, attendance percentage, frequencia, presenca, "
        "percentual de presenca"
    ),
    "attendance_w4": "attendance w4, attendance week 4, frequencia w4",
    "grade_p1": ("g1, grade 1, period 1 grade, first period grade, 1st period grade, nota 1, n1, av1, p1, prova 1"),
    "grade_p2": ("g2, grade 2, period 2 grade, second period grade, 2nd period grade, nota 2, n2, av2, p2, prova 2"),
    "final_grade": ("final grade, g3, final mark, final score, nota final, media final, final, grade, media, nf"),
    "passed": (
        "passed, result, outcome, pass, pass fail, final result, final outcome, aprovado, approved, "
        "situacao, situacao final, resultado, resultado final"
    ),
    "sex": "sex, gender, sexo, genero",
    "age": "age, idade, student age",
    "study_time_hours": ("studytime, study time, study hours, study time hours, horas de estudo, tempo de estudo"),
    "programme": "programme, program, degree, degree programme, degree program, major, curso",
    "prior_gpa": (
        "prior gpa, gpa, previous gpa, cumulative gpa, cgpa, high school gpa, entry gpa, cr, "
        "coeficiente de rendimento, coeficiente, ira"
    ),
    "quiz_1": "quiz 1, quizz 1, questionario 1",
    "quiz_2": "quiz 2, quizz 2, questionario 2",
    "quiz_3": "quiz 3, quizz 3, questionario 3",
    "assignment_1": "assignment 1, hw1, homework 1, trabalho 1, tarefa 1",
    "assignment_2": "assignment 2, hw2, homework 2, trabalho 2, tarefa 2",
    "midterm": ("midterm, midterm exam, midterm grade, midterm score, mid semester, midsem, prova intermediaria"),
    "lms_minutes_w8": "lms minutes, lms time, time spent, minutes online",
    "lms_logins_w8": "lms logins, logins, number of logins, acessos",
}


def _synonyms(name: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in _SYNONYMS.get(name, "").split(",") if s.strip())


def _signal_field(name: str, label: str, unit: str, week: int) -> Field:
    common = {"label": label, "unit": unit, "synonyms": _synonyms(name), "known_at_week": week}
    if unit in ("%", "score"):
        return Field(name, scale=100.0, **common)
    if unit == "hours":
        return Field(name, minimum=0.0, maximum=MAX_WEEKLY_HOURS, maximum_hint="168 hours (a whole week)", **common)
    return Field(name, minimum=0.0, **common)  # counts and minutes


_PASS = frozenset({"pass", "passed", "p", "aprovado", "aprovada", "approved", "apto", "yes", "y", "sim", "s"})
_PASS |= {"1", "1.0", "true", "t", "verdadeiro"}
_FAIL = frozenset({"fail", "failed", "reprovado", "reprovada", "not approved", "no", "n", "nao", "0", "0.0"})
_FAIL |= {"false", "f", "falso"}
_SEX_CODES = {s: "F" for s in ("f", "female", "feminino", "fem", "woman", "mulher")} | {
    s: "M" for s in ("m", "male", "masculino", "masc", "man", "homem")
}

FIELDS: tuple[Field, ...] = (
    Field("student_id", "id", label="student ID", required=True, synonyms=_synonyms("student_id")),
    Field("course_code", "id", label="course code", required=True, synonyms=_synonyms("course_code")),
    Field(
        "term_code", "id", label="term", required=True, default_option="default_term", synonyms=_synonyms("term_code")
    ),
    *(_signal_field(s.name, s.label, s.unit, s.known_at_week) for s in SIGNALS),
    Field("age", label="age", unit="years", minimum=AGE_RANGE[0], maximum=AGE_RANGE[1], known_at_week=0,
          synonyms=_synonyms("age")),
    Field("sex", "category", label="sex", codes=_SEX_CODES, known_at_week=0, synonyms=_synonyms("sex")),
    Field("programme", "text", label="programme", known_at_week=0, synonyms=_synonyms("programme")),
    Field("prior_gpa", label="prior GPA", unit="gpa", scale=PRIOR_GPA_SCALE, known_at_week=0,
          synonyms=_synonyms("prior_gpa")),
    Field("final_grade", label="final grade", unit="score", scale=100.0, synonyms=_synonyms("final_grade")),
    Field("passed", "boolean", label="outcome", true_values=_PASS, false_values=_FAIL, synonyms=_synonyms("passed")),
)  # fmt: skip
SCALABLE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.scalable)


def _check(mapping: ColumnMapping) -> list[str]:
    if set(mapping.fields.values()) & set(SIGNALS_BY_NAME):
        return []
    return [
        "Map at least one signal recorded during the term (attendance, absences, a quiz, an assignment, the "
        "midterm, the G1/G2 grades, LMS activity or study time); the final grade alone is the outcome, not a signal."
    ]


def _derive(values: dict[str, object], mapping: ColumnMapping, n_rows: int) -> None:
    """Without an outcome column, `passed` is the final grade against the pass mark."""
    if "passed" in values or "final_grade" not in values:
        return
    grade = values["final_grade"]
    pass_mark = ACADEMIC.option("pass_mark", mapping)
    values["passed"] = pd.array(np.where(np.isnan(grade), None, grade >= pass_mark), dtype="boolean")


ACADEMIC = FieldSchema(
    kind=KIND,
    fields=FIELDS,
    options=(
        Option("default_term", "text", label="default term"),
        Option("pass_mark", "number", default=DEFAULT_PASS_MARK, minimum=0.0, maximum=100.0, label="pass mark"),
    ),
    unique_keys=KEY_FIELDS,
    unique_label="same student, course and term",
    check=_check,
    derive=_derive,
)


def academic_mapping(
    fields: dict[str, str],
    *,
    extra: Sequence[str] = (),
    scales: dict[str, float] | None = None,
    pass_values: Sequence[str] = (),
    fail_values: Sequence[str] = (),
    default_term: str | None = None,
    pass_mark: float = DEFAULT_PASS_MARK,
) -> ColumnMapping:
    """A mapping of academic records: source column -> field, and the academic options."""
    values = {"passed": {"true": list(pass_values), "false": list(fail_values)}} if pass_values or fail_values else {}
    options: dict[str, object] = {"pass_mark": float(pass_mark)}
    if default_term is not None:
        options["default_term"] = default_term
    return ColumnMapping(KIND, dict(fields), list(extra), dict(scales or {}), values, options)


def suggest_mapping(columns: Iterable[str]) -> dict[str, str]:
    return import_engine.suggest_mapping(ACADEMIC, columns)


def check_mapping(mapping: ColumnMapping, columns: Iterable[str]) -> None:
    import_engine.check_mapping(ACADEMIC, mapping, columns)


def apply_mapping(frame: pd.DataFrame, mapping: ColumnMapping, *, max_errors: int = MAX_ERRORS) -> ImportResult:
    """Validate and convert academic rows: the records frame of ``ml.data.academic_fields`` (keys as text, scores
    and % on 0-100, prior_gpa on 0-4, sex "F"/"M" or as written, passed as nullable boolean, ``x_*`` extras)."""
    return import_engine.apply_mapping(ACADEMIC, frame, mapping, max_errors=max_errors)
