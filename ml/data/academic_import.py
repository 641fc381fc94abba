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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.data import import_engine
from ml.data.academic_fields import (
    BEFORE_TERM,
    COURSE_FIELDS,
    DEFAULT_PASS_MARK,
    END_OF_TERM,
    KEY_FIELDS,
    OUTCOME_FIELDS,
    SIGNALS,
    SIGNALS_BY_NAME,
    STUDENT_FIELDS,
    TERM_FIELDS,
    WITHDRAWAL_FIELDS,
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
    "RecordsImport",
    "RowError",
    "academic_mapping",
    "apply_mapping",
    "check_mapping",
    "default_mapping",
    "describe_table",
    "import_records",
    "read_table",
    "suggest_mapping",
]

KIND = "academic"
CANONICAL_FIELDS: tuple[str, ...] = (
    KEY_FIELDS
    + tuple(s.name for s in SIGNALS)
    + STUDENT_FIELDS
    + OUTCOME_FIELDS
    + WITHDRAWAL_FIELDS
    + TERM_FIELDS
    + COURSE_FIELDS
)
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
    # Only a column named for its window: a plain "absences" is usually counted over the whole term or year.
    "absences": "absences w8, absences week 8, absences weeks 1-8, faltas ate a semana 8, faltas semana 8",
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
    # Not "studytime": in many school files that is an ordinal code (1-4), not hours.
    "study_time_hours": "study hours, study time hours, weekly study hours, horas de estudo, horas de estudo semanais",
    "prior_failures": (
        "failures, prior failures, past failures, previous failures, number of failures, reprovacoes, "
        "reprovacoes anteriores, numero de reprovacoes"
    ),
    "withdrawn": "withdrawn, has withdrawn, trancou, desistiu",
    "withdrawal_week": (
        "withdrawal week, week withdrawn, week of withdrawal, semana do trancamento, semana da desistencia"
    ),
    "term_start": "term start, start date, semester start, inicio do semestre, data de inicio, inicio",
    "term_end": "term end, end date, semester end, fim do semestre, data de termino, termino",
    "term_weeks": "term weeks, term length, weeks in term, semanas do semestre",
    "pass_mark": (
        "pass mark, passing grade, pass grade, minimum grade, minimum pass grade, nota minima, media minima, "
        "media para aprovacao"
    ),
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
_PASS |= {"1", "1.0", "true", "t", "verdadeiro", "distinction", "merit", "credit"}
_FAIL = frozenset({"fail", "failed", "reprovado", "reprovada", "not approved", "no", "n", "nao", "0", "0.0"})
_FAIL |= {"false", "f", "falso"}
_WITHDRAWN = frozenset({"withdrawn", "withdrew", "withdrawal", "w", "trancado", "trancada", "trancamento"})
_WITHDRAWN |= {"desistente", "desistiu", "evadido", "evadida", "abandono", "cancelado", "cancelada"}
OUTCOMES = {"pass": _PASS, "fail": _FAIL, "withdrawn": _WITHDRAWN}
_YES = frozenset({"yes", "y", "sim", "s", "1", "1.0", "true", "t", "verdadeiro", "x"})
_NO = frozenset({"no", "n", "nao", "0", "0.0", "false", "f", "falso"})
_SEX_CODES = {s: "F" for s in ("f", "female", "feminino", "fem", "woman", "mulher")} | {
    s: "M" for s in ("m", "male", "masculino", "masc", "man", "homem")
}
MAX_TERM_WEEKS = 60

FIELDS: tuple[Field, ...] = (
    Field("student_id", "id", label="student ID", required=True, synonyms=_synonyms("student_id")),
    Field("course_code", "id", label="course code", required=True, synonyms=_synonyms("course_code")),
    Field(
        "term_code", "id", label="term", required=True, default_option="default_term", synonyms=_synonyms("term_code")
    ),
    *(_signal_field(s.name, s.label, s.unit, s.known_at_week) for s in SIGNALS),
    Field("age", label="age", unit="years", minimum=AGE_RANGE[0], maximum=AGE_RANGE[1], known_at_week=BEFORE_TERM,
          synonyms=_synonyms("age")),
    Field("sex", "category", label="sex", codes=_SEX_CODES, known_at_week=BEFORE_TERM, synonyms=_synonyms("sex")),
    Field("programme", "text", label="programme", known_at_week=BEFORE_TERM, synonyms=_synonyms("programme")),
    Field("prior_gpa", label="prior GPA", unit="gpa", scale=PRIOR_GPA_SCALE, known_at_week=BEFORE_TERM,
          synonyms=_synonyms("prior_gpa")),
    Field("prior_failures", label="prior failures", unit="count", minimum=0.0, maximum=50.0,
          known_at_week=BEFORE_TERM, synonyms=_synonyms("prior_failures")),
    Field("final_grade", label="final grade", unit="score", scale=100.0, known_at_week=END_OF_TERM,
          synonyms=_synonyms("final_grade")),
    Field("passed", "choice", label="outcome", choices=OUTCOMES, known_at_week=END_OF_TERM,
          synonyms=_synonyms("passed")),
    Field("withdrawn", "boolean", label="withdrawn", true_values=_YES | _WITHDRAWN, false_values=_NO,
          known_at_week=END_OF_TERM, synonyms=_synonyms("withdrawn")),
    Field("withdrawal_week", label="withdrawal week", unit="week", minimum=0.0, maximum=MAX_TERM_WEEKS,
          known_at_week=END_OF_TERM, synonyms=_synonyms("withdrawal_week")),
    Field("term_start", "date", label="term start", synonyms=_synonyms("term_start")),
    Field("term_end", "date", label="term end", synonyms=_synonyms("term_end")),
    Field("term_weeks", label="weeks in the term", unit="week", minimum=1.0, maximum=MAX_TERM_WEEKS,
          synonyms=_synonyms("term_weeks")),
    Field("pass_mark", label="course pass mark", unit="score", scale=100.0, default_option="pass_mark",
          synonyms=_synonyms("pass_mark")),
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
    """`passed` and `withdrawn` from the outcome codes (a withdrawal is not a pass); without an outcome column,
    `passed` is the final grade against the course's pass mark."""
    if "passed" in values:
        codes = pd.Series(values["passed"], dtype=object)
        withdrew = (codes == "withdrawn").to_numpy(dtype=bool)
        values["passed"] = pd.array(codes.map({"pass": True, "fail": False, "withdrawn": False}), dtype="boolean")
        if "withdrawn" in values:
            withdrew |= pd.array(values["withdrawn"], dtype="boolean").fillna(False).to_numpy(dtype=bool)
        values["withdrawn"] = withdrew
    elif "final_grade" in values:
        grade = values["final_grade"]
        values["passed"] = pd.array(np.where(np.isnan(grade), None, grade >= values["pass_mark"]), dtype="boolean")
    if "withdrawal_week" in values:
        known_week = ~np.isnan(np.asarray(values["withdrawal_week"], dtype=np.float64))
        withdrawn = values.get("withdrawn")
        values["withdrawn"] = known_week if withdrawn is None else np.asarray(withdrawn, dtype=bool) | known_week


def _warn(values: dict[str, object], mapping: ColumnMapping) -> list[str]:
    """What looks like a mistake in the mapping, said before anything is stored."""
    warnings = []
    hours = values.get("study_time_hours")
    if hours is not None:
        present = np.asarray(hours, dtype=np.float64)
        present = present[~np.isnan(present)]
        if len(present) >= 5 and set(np.unique(present)) <= {1.0, 2.0, 3.0, 4.0}:
            warnings.append(
                "Every weekly study time is a whole number from 1 to 4: that looks like an ordinal code (e.g. "
                "1 = under 2 hours ... 4 = over 10 hours), not hours. Keep that column as an extra field instead."
            )
    return warnings


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
    warn=_warn,
)


def academic_mapping(
    fields: dict[str, str],
    *,
    extra: Sequence[str] = (),
    scales: dict[str, float] | None = None,
    pass_values: Sequence[str] = (),
    fail_values: Sequence[str] = (),
    withdrawn_values: Sequence[str] = (),
    default_term: str | None = None,
    pass_mark: float = DEFAULT_PASS_MARK,
    weeks: dict[str, int | None] | None = None,
) -> ColumnMapping:
    """A mapping of academic records: source column -> field, the outcome values, the academic options and the
    weeks from which fields (or extra columns) are known where they differ from the defaults."""
    spelled = {"pass": list(pass_values), "fail": list(fail_values), "withdrawn": list(withdrawn_values)}
    values = {"passed": {code: v for code, v in spelled.items() if v}} if any(spelled.values()) else {}
    options: dict[str, object] = {"pass_mark": float(pass_mark)}
    if default_term is not None:
        options["default_term"] = default_term
    return ColumnMapping(KIND, dict(fields), list(extra), dict(scales or {}), values, options, dict(weeks or {}))


def suggest_mapping(columns: Iterable[str]) -> dict[str, str]:
    """Column -> field from the names. A plain "absences" column is usually a total over the term or year, and a
    plain "attendance" column of a file that also has final results a whole-term figure: neither is the week-8
    signal, so both are left for the person to map and date."""
    suggested = import_engine.suggest_mapping(ACADEMIC, columns)
    has_outcomes = bool({"final_grade", "passed"} & set(suggested.values()))

    def plain_total(column: str, name: str) -> bool:
        spelled = import_engine.compact(column)
        return (name == "absences" and spelled in _PLAIN_COUNT_NAMES) or (
            has_outcomes and name in WINDOWED and spelled in _PLAIN_WINDOW_NAMES
        )

    return {column: name for column, name in suggested.items() if not plain_total(column, name)}


_PLAIN_COUNT_NAMES = frozenset(
    import_engine.compact(name) for name in ("absences", "absence", "absence count", "days absent", "faltas")
)
# Signals whose canonical field is one window of the term, and the plain names that do not say which window.
WINDOWED = ("attendance_w8", "attendance_w4", "lms_minutes_w8", "lms_logins_w8")
_PLAIN_WINDOW_NAMES = frozenset(
    import_engine.compact(name)
    for name in ("attendance", "attendance rate", "attendance pct", "attendance percentage", "frequencia",
                 "presenca", "percentual de presenca", "lms minutes", "lms time", "time spent", "minutes online",
                 "lms logins", "logins", "number of logins", "acessos")
)  # fmt: skip


def check_mapping(mapping: ColumnMapping, columns: Iterable[str]) -> None:
    import_engine.check_mapping(ACADEMIC, mapping, columns)


def apply_mapping(frame: pd.DataFrame, mapping: ColumnMapping, *, max_errors: int = MAX_ERRORS) -> ImportResult:
    """Validate and convert academic rows: the records frame of ``ml.data.academic_fields`` (keys as text, scores
    and % on 0-100, prior_gpa on 0-4, sex "F"/"M" or as written, passed as nullable boolean, ``x_*`` extras)."""
    return import_engine.apply_mapping(ACADEMIC, frame, mapping, max_errors=max_errors)


@dataclass
class RecordsImport:
    """What an import of academic records did (or, in a dry run, would do): the UI, the CLI and the API all
    answer with this."""

    result: ImportResult
    mapping: ColumnMapping
    batch_id: int | None
    dry_run: bool
    source_format: dict

    @property
    def current_rows(self) -> int:
        """Valid rows without a known outcome: current-term records, which the stored list must score."""
        records = self.result.records
        if "passed" not in records:
            return len(records)
        return int(records["passed"].isna().sum())

    def report(self) -> dict:
        result = self.result
        return {
            "dry_run": self.dry_run,
            "batch": self.batch_id,
            "rows_in_file": result.n_rows,
            "rows_valid": result.n_valid_rows,
            "rows_invalid": result.n_invalid_rows,
            "rows_current": self.current_rows,
            "problems": result.n_errors,
            "errors": [{"row": e.row, "column": e.column, "problem": e.problem} for e in result.errors],
            "errors_truncated": result.errors_truncated,
            "warnings": list(result.warnings),
            "mapping": self.mapping.to_dict(),
            "source_format": self.source_format,
        }


def default_mapping(columns: Iterable[str], default_term: str | None = None) -> ColumnMapping:
    """The mapping an import without one uses: the suggested fields; other columns kept as (undated) extras."""
    fields = suggest_mapping(columns)
    return academic_mapping(fields, extra=[c for c in columns if c not in fields], default_term=default_term)


def import_records(
    data: bytes,
    filename: str,
    mapping: ColumnMapping | None = None,
    *,
    uploaded_by: str,
    dry_run: bool = False,
    default_term: str | None = None,
) -> RecordsImport:
    """Read, map, validate and (unless `dry_run`) store an export of academic records in one transaction, with
    the weeks from which its fields are known. Raises ImportFormatError or MappingError before storing anything
    when the file or the mapping cannot be used; bad rows are reported, good rows kept."""
    from ml.data.academic_sql import store_import

    frame = read_table(data, filename)
    mapping = mapping or default_mapping(list(frame.columns), default_term)
    result = apply_mapping(frame, mapping)
    batch_id = None
    if not dry_run and result.n_valid_rows:
        batch = store_import(
            result.records,
            filename=filename,
            mapping=mapping.to_dict(),
            uploaded_by=uploaded_by,
            n_rows=result.n_rows,
            known_weeks=import_engine.known_weeks(ACADEMIC, mapping),
        )
        batch_id = batch.id
    return RecordsImport(result, mapping, batch_id, dry_run, frame.attrs.get("source_format", {}))


MAX_DISTINCT_VALUES = 30


def describe_table(frame: pd.DataFrame) -> dict:
    """What a mapping form needs of a read file: its columns, row count, and the values of low-variety columns
    (to ask what each outcome value means)."""
    distinct = {}
    for column in frame.columns:
        values = import_engine.distinct_values(frame, column, MAX_DISTINCT_VALUES + 1)
        if len(values) <= MAX_DISTINCT_VALUES:
            distinct[column] = values
    return {"columns": list(frame.columns), "rows": len(frame), "distinct": distinct}
