"""Import an institution's own academic records (CSV / Excel) onto the canonical fields.

The web edge calls, in order:

1. ``read_table(data, filename)``: the upload as a frame of text (see ``ml.data.table_files``);
2. ``suggest_mapping(frame.columns)``: a first guess of source column -> canonical field;
3. the person confirms or edits it as a ``ColumnMapping`` (saved with ``to_dict()`` for next time);
4. ``apply_mapping(frame, mapping)``: the valid rows as a records frame, and every problem in the
   invalid ones as ``RowError(row, column, problem)`` against the file's own row numbers and
   column names.

Scales and ranges:

- "%" signals (attendance) and "score" signals and ``final_grade`` are stored on 0-100. A declared
  ``score_max`` (20 for Portuguese 0-20 grades, 10 for 0-10, 1 for attendance as 0-1 fractions)
  rescales them; a value below 0 or above the declared maximum is an error.
- ``prior_gpa`` is stored on a 0-4 scale. Its declared maximum defaults to 4; declare 10 for a
  0-10 "coeficiente de rendimento" and it is rescaled to 0-4.
- counts and minutes must be >= 0; weekly study hours 0-168; age 10-100.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ml.data.academic_fields import (
    DEFAULT_PASS_MARK,
    KEY_FIELDS,
    OUTCOME_FIELDS,
    SIGNALS,
    SIGNALS_BY_NAME,
    STUDENT_FIELDS,
)
from ml.data.table_files import DEFAULT_MAX_ROWS, ImportFormatError, read_table

__all__ = [
    "CANONICAL_FIELDS",
    "DEFAULT_MAX_ROWS",
    "MAX_ERRORS",
    "SCALABLE_FIELDS",
    "ColumnMapping",
    "ImportFormatError",
    "ImportResult",
    "MappingError",
    "RowError",
    "apply_mapping",
    "check_mapping",
    "read_table",
    "suggest_mapping",
]

CANONICAL_FIELDS: tuple[str, ...] = KEY_FIELDS + tuple(s.name for s in SIGNALS) + STUDENT_FIELDS + OUTCOME_FIELDS
MAX_ERRORS = 1_000

AGE_RANGE = (10.0, 100.0)
PRIOR_GPA_SCALE = 4.0
MAX_WEEKLY_HOURS = 168.0
# Fields whose scale the person may declare with ColumnMapping.score_max.
SCALABLE_FIELDS: tuple[str, ...] = (
    *(s.name for s in SIGNALS if s.unit in ("%", "score")),
    "final_grade",
    "prior_gpa",
)

_KEY_LABELS = {"student_id": "student ID", "course_code": "course code", "term_code": "term"}
_MAPPING_VERSION = 1


class MappingError(ValueError):
    """The column mapping cannot be applied; ``problems`` lists every reason, one sentence each."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


@dataclass(frozen=True)
class RowError:
    """One problem in one cell: ``row`` is the file's row number (header = 1), ``column`` its own name."""

    row: int
    column: str
    problem: str


@dataclass
class ImportResult:
    """Valid rows as a records frame, and the problems that kept the other rows out.

    ``errors`` is capped (the first ``max_errors`` in file order); ``n_errors`` and
    ``n_invalid_rows`` count them all.
    """

    records: pd.DataFrame
    errors: list[RowError]
    n_rows: int
    n_invalid_rows: int
    n_errors: int

    @property
    def n_valid_rows(self) -> int:
        return len(self.records)

    @property
    def errors_truncated(self) -> bool:
        return self.n_errors > len(self.errors)


@dataclass
class ColumnMapping:
    """How one institution's columns become canonical fields; saved as JSON and reused.

    - ``fields``: source column -> canonical field (see CANONICAL_FIELDS).
    - ``extra``: source columns kept as ``x_<slug>`` fields (numbers when every value is one).
    - ``score_max``: declared maximum per scalable field (default 100; prior_gpa 4), see module doc.
    - ``pass_values`` / ``fail_values``: outcome texts added to the built-in ones (pass/passed/
      aprovado/yes/1/true..., fail/failed/reprovado/no/0/false...); compared without case or accents.
    - ``default_term``: the term of every row when no column is mapped to term_code (also fills
      blank term cells when one is).
    - ``pass_mark``: final grade (0-100) from which ``passed`` is derived when no outcome column
      is mapped.
    """

    fields: dict[str, str]
    extra: list[str] = field(default_factory=list)
    score_max: dict[str, float] = field(default_factory=dict)
    pass_values: list[str] = field(default_factory=list)
    fail_values: list[str] = field(default_factory=list)
    default_term: str | None = None
    pass_mark: float = DEFAULT_PASS_MARK

    def to_dict(self) -> dict:
        """Plain JSON-ready dict; ``from_dict`` reads it back."""
        return {
            "version": _MAPPING_VERSION,
            "fields": dict(self.fields),
            "extra": list(self.extra),
            "score_max": {name: float(value) for name, value in self.score_max.items()},
            "pass_values": list(self.pass_values),
            "fail_values": list(self.fail_values),
            "default_term": self.default_term,
            "pass_mark": float(self.pass_mark),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> ColumnMapping:
        """Rebuild a mapping saved with ``to_dict``; raises MappingError when it is malformed."""
        if not isinstance(data, Mapping):
            raise MappingError(["A saved mapping must be a JSON object."])
        known = {"version", "fields", "extra", "score_max", "pass_values", "fail_values"}
        known |= {"default_term", "pass_mark"}
        problems = [f"Unknown key '{key}' in the saved mapping." for key in data if key not in known]
        if data.get("version", _MAPPING_VERSION) != _MAPPING_VERSION:
            problems.append(f"Saved mapping version {data['version']!r} is not supported.")
        fields = data.get("fields", {})
        if not _is_str_dict(fields):
            problems.append("'fields' must map column names to field names.")
        lists = {name: data.get(name, []) for name in ("extra", "pass_values", "fail_values")}
        for name, value in lists.items():
            if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
                problems.append(f"'{name}' must be a list of texts.")
        score_max = data.get("score_max", {})
        if not (isinstance(score_max, Mapping) and all(_is_number(v) for v in score_max.values())):
            problems.append("'score_max' must map field names to numbers.")
        default_term = data.get("default_term")
        if default_term is not None and not isinstance(default_term, str):
            problems.append("'default_term' must be a text or null.")
        pass_mark = data.get("pass_mark", DEFAULT_PASS_MARK)
        if not _is_number(pass_mark):
            problems.append("'pass_mark' must be a number.")
        if problems:
            raise MappingError(problems)
        return cls(
            fields=dict(fields),
            extra=list(lists["extra"]),
            score_max={name: float(value) for name, value in score_max.items()},
            pass_values=list(lists["pass_values"]),
            fail_values=list(lists["fail_values"]),
            default_term=default_term,
            pass_mark=float(pass_mark),
        )


# --- suggestions ----------------------------------------------------------------------------

# Spellings per field, comma-separated, best first. They are compared after _compact() (case,
# accents, spaces and punctuation ignored), so "Nota 1", "nota_1" and "NOTA1" are one entry. Each
# canonical name and each signal's label are accepted as well.
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


def suggest_mapping(columns: Iterable[str]) -> dict[str, str]:
    """Guess source column -> canonical field from the column names; unrecognised ones are left out.

    When several columns could be the same field, the best-ranked spelling wins (the canonical
    name itself, then the order in the synonym table, then the leftmost column).
    """
    columns = list(columns)
    candidates = []
    for position, column in enumerate(columns):
        match = _SPELLINGS.get(_compact(str(column)))
        if match is not None:
            name, rank = match
            candidates.append((rank, position, column, name))
    taken: dict[str, str] = {}
    for _, _, column, name in sorted(candidates):
        if name not in taken.values():
            taken[column] = name
    return {column: taken[column] for column in columns if column in taken}


def _compact(name: str) -> str:
    """Lower case, no accents, letters and digits only: "Nota Final (%)" -> "notafinal"."""
    return re.sub(r"[^a-z0-9]", "", _plain(name))


def _plain(text: str) -> str:
    """Lower case without accents or surrounding spaces: " Aprovado " -> "aprovado"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _build_spellings() -> dict[str, tuple[str, int]]:
    spellings: dict[str, tuple[str, int]] = {}

    def add(spelling: str, name: str, rank: int) -> None:
        key = _compact(spelling)
        current = spellings.get(key)
        if current is not None and current[0] != name:
            raise AssertionError(f"'{spelling}' is a synonym of both {current[0]} and {name}")
        if current is None or rank < current[1]:
            spellings[key] = (name, rank)

    for name in CANONICAL_FIELDS:
        add(name, name, -1)
    for signal in SIGNALS:
        add(signal.label, signal.name, 0)
    for name, synonyms in _SYNONYMS.items():
        for rank, spelling in enumerate(synonyms.split(",")):
            add(spelling, name, rank)
    return spellings


_SPELLINGS = _build_spellings()


# --- the mapping's own checks ---------------------------------------------------------------


def check_mapping(mapping: ColumnMapping, columns: Iterable[str]) -> None:
    """Raise MappingError listing every reason ``mapping`` cannot be applied to these columns."""
    columns = set(columns)
    problems = []
    for column, name in mapping.fields.items():
        if column not in columns:
            problems.append(f"Column '{column}' is mapped to {name} but is not in the file.")
        if name not in CANONICAL_FIELDS:
            problems.append(
                f"'{name}' (for column '{column}') is not a known field; choose one of: {', '.join(CANONICAL_FIELDS)}."
            )
    by_field: dict[str, list[str]] = {}
    for column, name in mapping.fields.items():
        by_field.setdefault(name, []).append(column)
    for name, sources in by_field.items():
        if len(sources) > 1:
            listed = ", ".join(f"'{c}'" for c in sources)
            problems.append(f"{name} is mapped from more than one column ({listed}); keep only one.")
    for column in mapping.extra:
        if column not in columns:
            problems.append(f"Column '{column}' is kept as an extra field but is not in the file.")
        elif column in mapping.fields:
            problems.append(f"Column '{column}' is both mapped to {mapping.fields[column]} and kept as an extra field.")
    if len(set(mapping.extra)) < len(mapping.extra):
        problems.append("A column is listed more than once as an extra field.")

    mapped = set(mapping.fields.values())
    for name in ("student_id", "course_code"):
        if name not in mapped:
            problems.append(f"Map a column to {name} ({_KEY_LABELS[name]}); every row needs one.")
    default_term = mapping.default_term
    if default_term is not None and (not isinstance(default_term, str) or not default_term.strip()):
        problems.append("The default term must be a non-empty text.")
    elif "term_code" not in mapped and default_term is None:
        problems.append("Map a column to term_code, or set a default term for the whole file.")
    if not mapped & set(SIGNALS_BY_NAME):
        problems.append(
            "Map at least one signal recorded during the term (attendance, absences, a quiz, an "
            "assignment, the midterm, the G1/G2 grades, LMS activity or study time); the final "
            "grade alone is the outcome, not a signal."
        )

    for name, maximum in mapping.score_max.items():
        if name not in SCALABLE_FIELDS:
            problems.append(f"A maximum can only be declared for {', '.join(SCALABLE_FIELDS)}, not for '{name}'.")
        elif not (_is_number(maximum) and math.isfinite(maximum) and maximum > 0):
            problems.append(f"The declared maximum for {name} must be a number above 0, not {maximum!r}.")
    if not (_is_number(mapping.pass_mark) and 0 <= mapping.pass_mark <= 100):
        problems.append(f"The pass mark must be a number from 0 to 100, not {mapping.pass_mark!r}.")
    both = {_plain(v) for v in mapping.pass_values} & {_plain(v) for v in mapping.fail_values}
    for value in sorted(both):
        problems.append(f"'{value}' is listed both as a pass value and as a fail value.")
    if problems:
        raise MappingError(problems)


# --- applying a mapping ---------------------------------------------------------------------


def apply_mapping(frame: pd.DataFrame, mapping: ColumnMapping, *, max_errors: int = MAX_ERRORS) -> ImportResult:
    """Validate and convert the rows of ``frame`` onto the canonical fields.

    A row with any problem is left out of ``records`` and each of its problems is reported; every
    other row is kept. Row numbers come from a ``source_row`` index (as ``read_table`` sets it),
    else the first row is taken to be the file's row 2.

    ``records`` columns, those that apply in this order: student_id, course_code, term_code (text);
    the mapped signals (float, 0-100 for scores and %); age (float), sex ("F", "M" or the text as
    given), programme (text), prior_gpa (float, 0-4); final_grade (float, 0-100); passed (nullable
    boolean, from the outcome column, else final_grade >= pass_mark); ``x_*`` extras; source_row.

    Raises MappingError, before looking at any row, when the mapping cannot apply to ``frame``.
    """
    check_mapping(mapping, frame.columns)
    n_rows = len(frame)
    source_rows = _source_rows(frame)
    problems = _Problems(list(frame.columns))
    source_of = {name: column for column, name in mapping.fields.items()}
    values: dict[str, object] = {}

    for name in KEY_FIELDS:
        values[name] = _key_values(frame, name, source_of.get(name), mapping.default_term, problems)
    problems.add_duplicates(values, source_of["student_id"], source_rows)

    for name in CANONICAL_FIELDS:
        column = source_of.get(name)
        if column is None or name in KEY_FIELDS or name in ("sex", "programme", "passed"):
            continue
        values[name] = _numeric_values(frame[column], column, name, mapping, problems)
    if "sex" in source_of:
        values["sex"] = _sex_values(_text(frame[source_of["sex"]]))
    if "programme" in source_of:
        values["programme"] = _text(frame[source_of["programme"]])
    if "passed" in source_of:
        values["passed"] = _outcome_values(frame[source_of["passed"]], source_of["passed"], mapping, problems)
    elif "final_grade" in values:
        grade = values["final_grade"]
        values["passed"] = pd.array(np.where(np.isnan(grade), None, grade >= mapping.pass_mark), dtype="boolean")
    for name, column in zip(_extra_names(mapping.extra), mapping.extra, strict=True):
        values[name] = _extra_values(frame[column])

    order = [name for name in CANONICAL_FIELDS if name in values] + [n for n in values if n.startswith("x_")]
    records = pd.DataFrame({name: _as_series(values[name]) for name in order})
    records["source_row"] = source_rows
    invalid = problems.invalid(n_rows)
    records = records[~invalid].reset_index(drop=True)
    return ImportResult(
        records=records,
        errors=problems.first_errors(source_rows, max_errors),
        n_rows=n_rows,
        n_invalid_rows=int(invalid.sum()),
        n_errors=problems.count(),
    )


@dataclass
class _Problem:
    rows: np.ndarray  # positions (0-based) of the rows with this problem
    column: str
    describe: Callable[[int], str]  # message for one row position; only called for reported rows


class _Problems:
    """Problems found column by column with masks; messages are built only for those reported."""

    def __init__(self, columns: list[str]):
        self._position = {column: i for i, column in enumerate(columns)}
        self._found: list[_Problem] = []

    def add(self, mask: np.ndarray, column: str, describe: Callable[[int], str]) -> None:
        rows = np.flatnonzero(mask)
        if rows.size:
            self._found.append(_Problem(rows, column, describe))

    def add_duplicates(self, keys: dict[str, pd.Series], column: str, source_rows: np.ndarray) -> None:
        """Later rows with the same student, course and term as an earlier one (first one kept)."""
        frame = pd.DataFrame({name: keys[name] for name in KEY_FIELDS})
        complete = frame.notna().all(axis=1).to_numpy()
        group = np.full(len(frame), -1)
        group[complete] = frame[complete].groupby(list(KEY_FIELDS), sort=False).ngroup().to_numpy()
        _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
        first_row = first[inverse]  # position of the first row with the same keys
        duplicate = complete & (np.arange(len(frame)) != first_row)

        def describe(i: int) -> str:
            return f"duplicate of row {source_rows[first_row[i]]} (same student, course and term)"

        self.add(duplicate, column, describe)

    def invalid(self, n_rows: int) -> np.ndarray:
        mask = np.zeros(n_rows, dtype=bool)
        for problem in self._found:
            mask[problem.rows] = True
        return mask

    def count(self) -> int:
        return sum(problem.rows.size for problem in self._found)

    def first_errors(self, source_rows: np.ndarray, limit: int) -> list[RowError]:
        """The first ``limit`` problems in file order: by row, then by the column's place in the file."""
        if not self._found:
            return []
        rows = np.concatenate([p.rows for p in self._found])
        which = np.concatenate([np.full(p.rows.size, k) for k, p in enumerate(self._found)])
        places = np.array([self._position.get(p.column, -1) for p in self._found])[which]
        order = np.lexsort((which, places, rows))[: max(limit, 0)]
        return [
            RowError(
                int(source_rows[rows[i]]),
                self._found[which[i]].column,
                self._found[which[i]].describe(rows[i]),
            )
            for i in order
        ]


def _source_rows(frame: pd.DataFrame) -> np.ndarray:
    if frame.index.name == "source_row":
        return frame.index.to_numpy(dtype=np.int64)
    return np.arange(len(frame), dtype=np.int64) + 2  # row 1 is the header


def _text(column: pd.Series) -> pd.Series:
    """Cells as stripped text with blanks missing, whatever dtype the frame came in with."""
    text = column.astype("str").str.strip()
    return text.where(text != "").reset_index(drop=True)


def _key_values(
    frame: pd.DataFrame, name: str, column: str | None, default_term: str | None, problems: _Problems
) -> pd.Series:
    if column is None:  # only term_code, with a default term (check_mapping made sure)
        return pd.Series([default_term.strip()] * len(frame), dtype="str")
    values = _text(frame[column])
    if name == "term_code" and default_term is not None:
        values = values.fillna(default_term.strip())
    missing = values.isna().to_numpy()
    hint = " (fill it in, or set a default term for the upload)" if name == "term_code" else ""
    message = f"{_KEY_LABELS[name]} is missing{hint}"
    problems.add(missing, column, lambda i: message)
    return values


def _numeric_values(
    column_values: pd.Series, column: str, name: str, mapping: ColumnMapping, problems: _Problems
) -> np.ndarray:
    text = _text(column_values)
    numbers, not_number = _parse_numbers(text)
    raw = text.to_numpy(dtype=object)
    problems.add(not_number, column, lambda i: f"'{raw[i]}' is not a number")

    low, high, scale, high_text = _range_rule(name, mapping.score_max.get(name))
    with np.errstate(invalid="ignore"):
        too_low = numbers < low
        too_high = numbers > high
    low_text = "negative" if low == 0 else f"below {low:g}"
    problems.add(too_low, column, lambda i: f"{column} {raw[i]} is {low_text}")
    problems.add(too_high, column, lambda i: f"{column} {raw[i]} is above {high_text}")
    return numbers * scale


def _range_rule(name: str, declared_max: float | None) -> tuple[float, float, float, str]:
    """(lowest, highest raw value, factor onto the stored scale, how to say the highest)."""
    if name == "age":
        return AGE_RANGE[0], AGE_RANGE[1], 1.0, f"{AGE_RANGE[1]:g}"
    if name == "prior_gpa":
        if declared_max is None:
            return 0.0, PRIOR_GPA_SCALE, 1.0, f"the maximum of 4; {_DECLARE_SCALE}"
        return 0.0, declared_max, PRIOR_GPA_SCALE / declared_max, f"the declared maximum of {declared_max:g}"
    unit = SIGNALS_BY_NAME[name].unit if name in SIGNALS_BY_NAME else "score"  # final_grade: score
    if unit in ("%", "score"):
        if declared_max is not None:
            return 0.0, declared_max, 100.0 / declared_max, f"the declared maximum of {declared_max:g}"
        if unit == "%":
            return 0.0, 100.0, 1.0, "100 %"
        return 0.0, 100.0, 1.0, f"the maximum of 100; {_DECLARE_SCALE}"
    if unit == "hours":
        return 0.0, MAX_WEEKLY_HOURS, 1.0, f"{MAX_WEEKLY_HOURS:g} hours (a whole week)"
    return 0.0, math.inf, 1.0, ""  # counts and minutes


_DECLARE_SCALE = "if this column uses another scale (e.g. 0-10 or 0-20), declare its maximum"


def _parse_numbers(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats from text cells ("7,5", "85 %", "1e3"), and a mask of cells that are not numbers.

    A decimal comma is read as a point; thousands separators are not accepted ("1.234,5" and
    "1,234.5" are reported) because "1,234" alone could be either.
    """
    cleaned = text.str.replace(" ", "", regex=False).str.removesuffix("%").str.replace(",", ".", regex=False)
    numbers = _to_floats(cleaned)
    not_number = text.notna().to_numpy() & ~np.isfinite(numbers)
    numbers[not_number] = np.nan
    return numbers, not_number


def _to_floats(cleaned: pd.Series) -> np.ndarray:
    """Writable float array, NaN where a cell is missing or not a number."""
    try:  # Arrow's cast is ~10x faster than to_numeric, but all-or-nothing: most columns are clean
        floats = pc.cast(pa.array(cleaned), pa.float64())
        return np.array(floats.to_numpy(zero_copy_only=False), dtype=float)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)


_FEMALE = {"f", "female", "feminino", "fem", "woman", "mulher"}
_MALE = {"m", "male", "masculino", "masc", "man", "homem"}


def _sex_values(text: pd.Series) -> pd.Series:
    """Usual spellings of female and male become "F" and "M"; any other answer is kept as written."""
    codes, uniques = pd.factorize(text)
    normalised = ["F" if _plain(u) in _FEMALE else "M" if _plain(u) in _MALE else u for u in uniques]
    return _take(normalised, codes, dtype="str")


_PASS = {"pass", "passed", "p", "aprovado", "aprovada", "approved", "apto", "yes", "y", "sim", "s"}
_PASS |= {"1", "1.0", "true", "t", "verdadeiro"}
_FAIL = {"fail", "failed", "reprovado", "reprovada", "not approved", "no", "n", "nao", "0", "0.0"}
_FAIL |= {"false", "f", "falso"}


def _outcome_values(
    column_values: pd.Series, column: str, mapping: ColumnMapping, problems: _Problems
) -> pd.arrays.BooleanArray:
    """True / False / NA (outcome not known yet) from the outcome text."""
    text = _text(column_values)
    verdicts = dict.fromkeys(_PASS, True) | dict.fromkeys(_FAIL, False)
    verdicts |= {_plain(v): True for v in mapping.pass_values}
    verdicts |= {_plain(v): False for v in mapping.fail_values}
    codes, uniques = pd.factorize(text)
    parsed = [_verdict(_plain(u), verdicts) for u in uniques]
    unknown = np.array([p is None for p in parsed] + [False])[codes]  # code -1 (missing) is not unknown
    raw = text.to_numpy(dtype=object)
    problems.add(
        unknown,
        column,
        lambda i: (
            f"'{raw[i]}' is not a recognised outcome; use pass/fail, yes/no, 1/0 or "
            "aprovado/reprovado, or add it to the mapping's pass or fail values"
        ),
    )
    return pd.array(_take(parsed, codes, dtype=object).to_numpy(), dtype="boolean")


def _verdict(value: str, verdicts: dict[str, bool]) -> bool | None:
    """The value's verdict, or its first word's: "Reprovado por falta" is a fail."""
    if value in verdicts:
        return verdicts[value]
    first_word = value.split(maxsplit=1)[0] if value else value
    return verdicts.get(first_word)


def _extra_values(column_values: pd.Series) -> pd.Series | np.ndarray:
    """Numbers when every non-blank cell is one, else the text."""
    text = _text(column_values)
    numbers, not_number = _parse_numbers(text)
    if text.notna().any() and not not_number.any():
        return numbers
    return text


def _extra_names(columns: Sequence[str]) -> list[str]:
    """x_<slug> per extra column, made unique ("Tutor" and "tutor" -> x_tutor, x_tutor_2)."""
    names: list[str] = []
    for position, column in enumerate(columns, start=1):
        slug = re.sub(r"[^a-z0-9]+", "_", _plain(str(column))).strip("_") or f"column_{position}"
        name, n = f"x_{slug}", 1
        while name in names:
            n += 1
            name = f"x_{slug}_{n}"
        names.append(name)
    return names


def _take(values: list, codes: np.ndarray, dtype: str | type) -> pd.Series:
    """values[code] per row, missing where the code is -1 (pd.factorize's missing)."""
    lookup = np.array([*values, None], dtype=object)
    return pd.Series(lookup[codes], dtype=dtype)


def _as_series(values: object) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return pd.Series(values)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_str_dict(value: object) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
