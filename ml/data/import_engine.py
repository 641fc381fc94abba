"""The import engine: an uploaded table onto a `FieldSchema`'s fields, with a report of every bad cell.

One engine serves every importer (academic records, campus venues, timetables and observations, ...). A schema
declares its fields -- kind, unit, range, scale, synonyms, the week from which each is known -- and options (e.g.
a default term); the engine does the rest the same way for all:

1. ``suggest_mapping(schema, columns)``: a first guess of source column -> field from the column names;
2. the person confirms or edits it as a ``ColumnMapping`` (saved with ``to_dict()``, reused with ``from_dict``);
3. ``apply_mapping(schema, frame, mapping)``: the valid rows as a frame of typed fields, and every problem in the
   invalid ones as ``RowError(row, column, problem)`` against the file's own row numbers and column names.

Scales are per field: a scalable field (``Field.scale``) stores values on 0..scale, and the mapping may declare
the source's own maximum for it alone (grades out of 20 rescale grades, not attendance).
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

MAX_ERRORS = 1_000
MAPPING_VERSION = 2
KINDS = ("id", "text", "number", "category", "boolean", "choice", "date")
# A scalable field whose values all stay at or below one of these, under a declared maximum at least
# SCALE_HINT_FACTOR times larger, probably uses that smaller scale: the import warns before storing.
SMALLER_SCALES = (1.0, 4.0, 5.0, 10.0, 20.0)
SCALE_HINT_FACTOR = 4.0
SCALE_HINT_MIN_VALUES = 5


class MappingError(ValueError):
    """The column mapping cannot be applied; ``problems`` lists every reason, one sentence each."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


@dataclass(frozen=True)
class Field:
    """One field a schema imports.

    - ``kind``: "id" (text key), "text", "number", "category" (text normalised through ``codes``), "boolean"
      (``true_values`` / ``false_values``), "choice" (one of the codes of ``choices``, each with its spellings),
      "date". The mapping may add spellings to a boolean or choice field (``ColumnMapping.values``).
    - numbers: ``minimum``/``maximum`` bound the stored value; a scalable field (``scale`` set) stores 0..scale
      and accepts source values 0..declared maximum (``default_max``, else ``scale``, unless the mapping
      declares another), rescaled onto 0..scale.
    - ``known_at_week``: the week of the term from which the value is known (0 = before the term; None = not a
      time-dependent signal).
    - ``default_option``: the name of a schema option whose value fills the field when no column is mapped to
      it, or when a cell is blank.
    """

    name: str
    kind: str = "number"
    label: str = ""
    unit: str = ""
    minimum: float = -math.inf
    maximum: float = math.inf
    scale: float | None = None
    default_max: float | None = None
    synonyms: tuple[str, ...] = ()
    known_at_week: int | None = None
    required: bool = False
    default_option: str | None = None
    codes: Mapping[str, str] = field(default_factory=dict)
    true_values: frozenset[str] = frozenset()
    false_values: frozenset[str] = frozenset()
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)
    maximum_hint: str = ""  # how to say the maximum in a message, e.g. "168 hours (a whole week)"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"field {self.name}: kind must be one of {KINDS}")

    @property
    def scalable(self) -> bool:
        return self.scale is not None

    @property
    def vocabulary(self) -> dict[str, frozenset[str]]:
        """Code -> spellings of a boolean ("true"/"false") or choice field."""
        if self.kind == "boolean":
            return {"true": self.true_values, "false": self.false_values}
        return dict(self.choices)

    def declared_max(self, mapping: ColumnMapping) -> float | None:
        if not self.scalable:
            return None
        return mapping.scales.get(self.name, self.default_max or self.scale)


@dataclass(frozen=True)
class Option:
    """A setting of the whole upload (e.g. a default term, a pass mark), saved with the mapping."""

    name: str
    kind: str  # "text" | "number"
    default: object = None
    minimum: float = -math.inf
    maximum: float = math.inf
    label: str = ""


@dataclass(frozen=True)
class FieldSchema:
    """What one kind of import brings in: its fields, options, the keys that make a row unique, and the
    checks and derived fields particular to it."""

    kind: str
    fields: tuple[Field, ...]
    options: tuple[Option, ...] = ()
    unique_keys: tuple[str, ...] = ()
    unique_label: str = ""  # "same student, course and term"
    check: Callable[[ColumnMapping], list[str]] | None = None
    derive: Callable[[dict[str, object], ColumnMapping, int], None] | None = None
    warn: Callable[[dict[str, object], ColumnMapping], list[str]] | None = None

    def __post_init__(self) -> None:
        _check_spellings(self)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        return self._by_name()[name]

    def option(self, name: str, mapping: ColumnMapping) -> object:
        declared = {o.name: o for o in self.options}[name]
        return mapping.options.get(name, declared.default)

    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}


@dataclass(frozen=True)
class RowError:
    """One problem in one cell: ``row`` is the file's row number (header = 1), ``column`` its own name."""

    row: int
    column: str
    problem: str


@dataclass
class ImportResult:
    """Valid rows as a frame of fields, and the problems that kept the other rows out.

    ``errors`` is capped (the first ``max_errors`` in file order); ``n_errors`` and ``n_invalid_rows`` count
    them all.
    """

    records: pd.DataFrame
    errors: list[RowError]
    n_rows: int
    n_invalid_rows: int
    n_errors: int
    warnings: list[str] = field(default_factory=list)

    @property
    def n_valid_rows(self) -> int:
        return len(self.records)

    @property
    def errors_truncated(self) -> bool:
        return self.n_errors > len(self.errors)


@dataclass
class ColumnMapping:
    """How one institution's columns become a schema's fields; saved as JSON and reused.

    - ``kind``: the schema it is for (a saved academic mapping is not offered for a venues file).
    - ``fields``: source column -> field name.
    - ``extra``: source columns kept as ``x_<slug>`` fields (numbers when every value is one).
    - ``scales``: the source's maximum per scalable field (default: the field's own).
    - ``values``: extra spellings per boolean or choice field, {"passed": {"pass": ["Distinction"], ...}};
      compared without case or accents.
    - ``options``: the schema's options (e.g. default_term, pass_mark).
    - ``weeks``: the week of the term from which a mapped field (by field name) or an extra column (by its
      source name) is known, where it differs from the field's own ``known_at_week``; None = not known when.
    """

    kind: str
    fields: dict[str, str]
    extra: list[str] = field(default_factory=list)
    scales: dict[str, float] = field(default_factory=dict)
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    options: dict[str, object] = field(default_factory=dict)
    weeks: dict[str, int | None] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict; ``from_dict`` reads it back."""
        return {
            "version": MAPPING_VERSION,
            "kind": self.kind,
            "fields": dict(self.fields),
            "extra": list(self.extra),
            "scales": {name: float(value) for name, value in self.scales.items()},
            "values": {name: {k: list(v) for k, v in vocab.items()} for name, vocab in self.values.items()},
            "options": dict(self.options),
            "weeks": dict(self.weeks),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> ColumnMapping:
        """Rebuild a mapping saved with ``to_dict``; raises MappingError when it is malformed."""
        if not isinstance(data, Mapping):
            raise MappingError(["A saved mapping must be a JSON object."])
        known = {"version", "kind", "fields", "extra", "scales", "values", "options", "weeks"}
        problems = [f"Unknown key '{key}' in the saved mapping." for key in data if key not in known]
        if data.get("version", MAPPING_VERSION) != MAPPING_VERSION:
            problems.append(f"Saved mapping version {data['version']!r} is not supported.")
        if not isinstance(data.get("kind"), str):
            problems.append("'kind' must name what the mapping imports (e.g. \"academic\").")
        if not _is_str_dict(data.get("fields", {})):
            problems.append("'fields' must map column names to field names.")
        extra = data.get("extra", [])
        if not (isinstance(extra, list) and all(isinstance(item, str) for item in extra)):
            problems.append("'extra' must be a list of texts.")
        scales = data.get("scales", {})
        if not (isinstance(scales, Mapping) and all(_is_number(v) for v in scales.values())):
            problems.append("'scales' must map field names to numbers.")
        values = data.get("values", {})
        if not (isinstance(values, Mapping) and all(_is_vocabulary(v) for v in values.values())):
            problems.append('\'values\' must map field names to {"true": [...], "false": [...]}.')
        if not isinstance(data.get("options", {}), Mapping):
            problems.append("'options' must be an object.")
        weeks = data.get("weeks", {})
        if not (isinstance(weeks, Mapping) and all(w is None or _is_week(w) for w in weeks.values())):
            problems.append("'weeks' must map fields or columns to a week number (0 = before the term) or null.")
        if problems:
            raise MappingError(problems)
        return cls(
            kind=data["kind"],
            fields=dict(data.get("fields", {})),
            extra=list(extra),
            scales={name: float(value) for name, value in scales.items()},
            values={name: {k: list(v) for k, v in vocab.items()} for name, vocab in values.items()},
            options=dict(data.get("options", {})),
            weeks={name: (None if w is None else int(w)) for name, w in weeks.items()},
        )


# --- suggestions ----------------------------------------------------------------------------


def suggest_mapping(schema: FieldSchema, columns: Iterable[str]) -> dict[str, str]:
    """Guess source column -> field from the column names; unrecognised ones are left out.

    Spellings are compared after ``compact`` (case, accents, spaces and punctuation ignored), so "Nota 1",
    "nota_1" and "NOTA1" are one. When several columns could be the same field, the best-ranked spelling wins
    (the field's own name, then its label, then the order of its synonyms, then the leftmost column).
    """
    spellings = _spellings(schema)
    columns = list(columns)
    candidates = []
    for position, column in enumerate(columns):
        match = spellings.get(compact(str(column)))
        if match is not None:
            name, rank = match
            candidates.append((rank, position, column, name))
    taken: dict[str, str] = {}
    for _, _, column, name in sorted(candidates):
        if name not in taken.values():
            taken[column] = name
    return {column: taken[column] for column in columns if column in taken}


def compact(name: str) -> str:
    """Lower case, no accents, letters and digits only: "Nota Final (%)" -> "notafinal"."""
    return re.sub(r"[^a-z0-9]", "", plain_text(name))


def plain_text(text: str) -> str:
    """Lower case without accents or surrounding spaces: " Aprovado " -> "aprovado"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _spellings(schema: FieldSchema) -> dict[str, tuple[str, int]]:
    spellings: dict[str, tuple[str, int]] = {}
    for f in schema.fields:
        for rank, spelling in [(-2, f.name), (-1, f.label), *enumerate(f.synonyms)]:
            key = compact(spelling)
            if key and (key not in spellings or rank < spellings[key][1]):
                spellings[key] = (f.name, rank)
    return spellings


def _check_spellings(schema: FieldSchema) -> None:
    """A spelling that names two fields would make suggestions depend on order: refuse such a schema."""
    owner: dict[str, str] = {}
    for f in schema.fields:
        for spelling in (f.name, f.label, *f.synonyms):
            key = compact(spelling)
            if key and owner.setdefault(key, f.name) != f.name:
                raise ValueError(f"{schema.kind}: '{spelling}' is a spelling of both {owner[key]} and {f.name}")


# --- the mapping's own checks ---------------------------------------------------------------


def check_mapping(schema: FieldSchema, mapping: ColumnMapping, columns: Iterable[str]) -> None:
    """Raise MappingError listing every reason ``mapping`` cannot be applied to these columns."""
    columns = set(columns)
    problems = []
    if mapping.kind != schema.kind:
        problems.append(f"This mapping is for {mapping.kind} files, not {schema.kind} files.")
    for column, name in mapping.fields.items():
        if column not in columns:
            problems.append(f"Column '{column}' is mapped to {name} but is not in the file.")
        if name not in schema.names:
            problems.append(
                f"'{name}' (for column '{column}') is not a known field; choose one of: {', '.join(schema.names)}."
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
    problems += _option_problems(schema, mapping)
    mapped = set(mapping.fields.values())
    for f in schema.fields:
        if f.required and f.name not in mapped and not (f.default_option and _option_set(schema, mapping, f)):
            label = f" ({f.label})" if f.label else ""
            if f.default_option:
                option = {o.name: o for o in schema.options}[f.default_option]
                problems.append(f"Map a column to {f.name}{label}, or set a {option.label} for the whole file.")
            else:
                problems.append(f"Map a column to {f.name}{label}; every row needs one.")
    problems += _scale_problems(schema, mapping)
    problems += _vocabulary_problems(schema, mapping)
    problems += [
        f"A week is declared for '{name}', which is neither a mapped field nor an extra column."
        for name in mapping.weeks
        if name not in mapped and name not in mapping.extra
    ]
    if schema.check is not None:
        problems += schema.check(mapping)
    if problems:
        raise MappingError(problems)


def _option_problems(schema: FieldSchema, mapping: ColumnMapping) -> list[str]:
    declared = {o.name: o for o in schema.options}
    problems = [f"Unknown option '{name}' for {schema.kind} files." for name in mapping.options if name not in declared]
    for name, value in mapping.options.items():
        option = declared.get(name)
        if option is None or value is None:
            continue
        if option.kind == "text" and not (isinstance(value, str) and value.strip()):
            problems.append(f"The {option.label or name} must be a non-empty text.")
        if option.kind == "number" and not (_is_number(value) and option.minimum <= value <= option.maximum):
            problems.append(
                f"The {option.label or name} must be a number from {option.minimum:g} to {option.maximum:g}, "
                f"not {value!r}."
            )
    return problems


def _option_set(schema: FieldSchema, mapping: ColumnMapping, f: Field) -> bool:
    value = schema.option(f.default_option, mapping)
    return isinstance(value, str) and bool(value.strip())


def _scale_problems(schema: FieldSchema, mapping: ColumnMapping) -> list[str]:
    scalable = [f.name for f in schema.fields if f.scalable]
    problems = []
    for name, maximum in mapping.scales.items():
        if name not in scalable:
            problems.append(f"A maximum can only be declared for {', '.join(scalable)}, not for '{name}'.")
        elif not (_is_number(maximum) and math.isfinite(maximum) and maximum > 0):
            problems.append(f"The declared maximum for {name} must be a number above 0, not {maximum!r}.")
    return problems


def _vocabulary_problems(schema: FieldSchema, mapping: ColumnMapping) -> list[str]:
    problems = []
    for name, vocabulary in mapping.values.items():
        if name not in schema.names or schema.field(name).kind not in ("boolean", "choice"):
            problems.append(f"Values can only be listed for yes/no or choice fields, not for '{name}'.")
            continue
        codes = schema.field(name).vocabulary
        problems += [
            f"'{code}' is not a value of {name}; use {', '.join(codes)}." for code in vocabulary if code not in codes
        ]
        owner: dict[str, str] = {}
        for code, spellings in vocabulary.items():
            for spelling in spellings:
                first = owner.setdefault(plain_text(spelling), code)
                if first != code:
                    problems.append(f"'{spelling}' is listed both as {first} and as {code} for {name}.")
    return problems


# --- applying a mapping ---------------------------------------------------------------------


def apply_mapping(
    schema: FieldSchema, frame: pd.DataFrame, mapping: ColumnMapping, *, max_errors: int = MAX_ERRORS
) -> ImportResult:
    """Validate and convert the rows of ``frame`` onto the schema's fields.

    A row with any problem is left out of ``records`` and each of its problems is reported; every other row is
    kept. Row numbers come from a ``source_row`` index (as ``read_table`` sets it), else the first row is taken
    to be the file's row 2. ``records`` holds the fields that apply, in schema order (numbers as floats on the
    stored scale, ids and text as text, booleans as nullable booleans, dates as datetime64), then the ``x_*``
    extras, then ``source_row``.

    Raises MappingError, before looking at any row, when the mapping cannot apply to ``frame``.
    """
    check_mapping(schema, mapping, frame.columns)
    n_rows = len(frame)
    source_rows = _source_rows(frame)
    problems = Problems(list(frame.columns))
    source_of = {name: column for column, name in mapping.fields.items()}
    values: dict[str, object] = {}
    for f in schema.fields:
        column = source_of.get(f.name)
        default = schema.option(f.default_option, mapping) if f.default_option else None
        if column is None:
            if isinstance(default, str) and default.strip():
                values[f.name] = pd.Series([default.strip()] * n_rows, dtype="str")
            elif _is_number(default):
                values[f.name] = np.full(n_rows, float(default))
            continue
        values[f.name] = _parse(f, frame[column], column, mapping, problems, default)
        if f.kind == "number" and _is_number(default):  # a blank cell takes the default (on the stored scale)
            values[f.name] = np.where(np.isnan(values[f.name]), float(default), values[f.name])
    if schema.unique_keys and all(k in values for k in schema.unique_keys):
        key_column = source_of.get(schema.unique_keys[0], schema.unique_keys[0])
        problems.add_duplicates(values, schema.unique_keys, key_column, source_rows, schema.unique_label)
    if schema.derive is not None:
        schema.derive(values, mapping, n_rows)
    for name, column in zip(extra_names(mapping.extra), mapping.extra, strict=True):
        values[name] = _extra_values(frame[column])
    warnings = _scale_warnings(schema, values, mapping, source_of)
    if schema.warn is not None:
        warnings += schema.warn(values, mapping)

    order = [name for name in schema.names if name in values] + [n for n in values if n.startswith("x_")]
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
        warnings=warnings,
    )


def _scale_warnings(
    schema: FieldSchema, values: dict[str, object], mapping: ColumnMapping, source_of: dict[str, str]
) -> list[str]:
    """A scalable field whose values all fit a much smaller scale than the declared one ("every grade <= 20
    under out of 100") is probably on that scale: say so before anything is stored."""
    warnings = []
    for f in schema.fields:
        if not f.scalable or f.name not in source_of or f.name not in values:
            continue
        declared = f.declared_max(mapping)
        stored = np.asarray(values[f.name], dtype=np.float64)
        raw = stored[~np.isnan(stored)] * declared / f.scale
        if len(raw) < SCALE_HINT_MIN_VALUES or raw.max() <= 0:
            continue
        smaller = next((s for s in SMALLER_SCALES if raw.max() <= s and declared >= SCALE_HINT_FACTOR * s), None)
        if smaller is not None:
            warnings.append(
                f"Every value of '{source_of[f.name]}' ({f.label or f.name}) is at most {smaller:g}, but the "
                f"column is declared out of {declared:g}: if it is out of {smaller:g}, declare that maximum, "
                "or the values will be read as very low."
            )
    return warnings


def known_weeks(schema: FieldSchema, mapping: ColumnMapping) -> dict[str, int | None]:
    """The week from which each imported field is known: the mapping's declaration, else the field's own;
    extra columns under their ``x_*`` names (None until the mapping declares a week)."""
    weeks = {
        name: mapping.weeks.get(name, schema.field(name).known_at_week)
        for name in mapping.fields.values()
        if name in schema.names
    }
    for name, column in zip(extra_names(mapping.extra), mapping.extra, strict=True):
        weeks[name] = mapping.weeks.get(column)
    return weeks


def _parse(
    f: Field, cells: pd.Series, column: str, mapping: ColumnMapping, problems: Problems, default: object
) -> object:
    text = cells_as_text(cells)
    if isinstance(default, str) and default.strip():
        text = text.fillna(default.strip())
    if f.required:
        missing = text.isna().to_numpy()
        hint = " (fill it in, or set a default for the upload)" if f.default_option else ""
        message = f"{f.label or f.name} is missing{hint}"
        problems.add(missing, column, lambda i: message)
    if f.kind in ("id", "text"):
        return text
    if f.kind == "number":
        return _numbers(f, text, column, mapping, problems)
    if f.kind == "category":
        return _categories(f, text)
    if f.kind in ("boolean", "choice"):
        codes = _choices(f, text, column, mapping, problems)
        if f.kind == "choice":
            return codes
        return pd.array(codes.map({"true": True, "false": False}).to_numpy(dtype=object), dtype="boolean")
    return _dates(text, column, problems)


@dataclass
class _Problem:
    rows: np.ndarray  # positions (0-based) of the rows with this problem
    column: str
    describe: Callable[[int], str]  # message for one row position; only called for reported rows


class Problems:
    """Problems found column by column with masks; messages are built only for those reported."""

    def __init__(self, columns: list[str]):
        self._position = {column: i for i, column in enumerate(columns)}
        self._found: list[_Problem] = []

    def add(self, mask: np.ndarray, column: str, describe: Callable[[int], str]) -> None:
        rows = np.flatnonzero(mask)
        if rows.size:
            self._found.append(_Problem(rows, column, describe))

    def add_duplicates(
        self, values: dict[str, object], keys: Sequence[str], column: str, source_rows: np.ndarray, label: str
    ) -> None:
        """Later rows with the same keys as an earlier one (the first one is kept)."""
        frame = pd.DataFrame({name: _as_series(values[name]) for name in keys})
        complete = frame.notna().all(axis=1).to_numpy()
        group = np.full(len(frame), -1)
        group[complete] = frame[complete].groupby(list(keys), sort=False).ngroup().to_numpy()
        _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
        first_row = first[inverse]  # position of the first row with the same keys
        duplicate = complete & (np.arange(len(frame)) != first_row)
        same = label or "same " + ", ".join(keys)
        self.add(duplicate, column, lambda i: f"duplicate of row {source_rows[first_row[i]]} ({same})")

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
            RowError(int(source_rows[rows[i]]), self._found[which[i]].column, self._found[which[i]].describe(rows[i]))
            for i in order
        ]


# --- one record at a time (the JSON API) ------------------------------------------------------


@dataclass(frozen=True)
class RecordError:
    """One problem in one field of one record of a JSON request (`record` counts from 0)."""

    record: int
    field: str
    problem: str


def validate_records(
    schema: FieldSchema, records: Sequence[Mapping], mapping: ColumnMapping | None = None
) -> tuple[list[dict], list[int], list[RecordError]]:
    """The rules of `apply_mapping` for records given as field -> value (JSON), without pandas: a few records
    validate in microseconds. Returns the valid records on the stored scales, their positions, and every
    problem of the others. Extra `x_*` fields pass through as they are; other unknown fields are problems."""
    mapping = mapping or ColumnMapping(schema.kind, {})
    fields = {f.name: f for f in schema.fields}
    valid, positions, errors = [], [], []
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            errors.append(RecordError(index, "", "a record must be an object of field: value"))
            continue
        values, found = {}, []
        for name, raw in record.items():
            if name.startswith("x_"):
                values[name] = raw
            elif name not in fields:
                found.append(RecordError(index, str(name), f"unknown field; known fields: {', '.join(fields)}"))
            else:
                value, problem = _record_value(fields[name], raw, mapping)
                if problem:
                    found.append(RecordError(index, name, problem))
                values[name] = value
        for f in schema.fields:
            default = schema.option(f.default_option, mapping) if f.default_option else None
            if values.get(f.name) is None and default is not None:
                values[f.name] = default.strip() if isinstance(default, str) else float(default)
            if f.required and values.get(f.name) is None:
                found.append(RecordError(index, f.name, f"{f.label or f.name} is missing"))
        if found:
            errors.extend(found)
        else:
            valid.append(values)
            positions.append(index)
    return valid, positions, errors


def _record_value(f: Field, raw: object, mapping: ColumnMapping) -> tuple[object, str | None]:
    """One value onto the field's stored form: (value, None), or (None, the problem)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if f.kind in ("id", "text"):
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            return None, f"'{raw}' is not a text"
        return str(raw).strip(), None
    if f.kind == "number":
        return _record_number(f, raw, mapping)
    text = str(raw).strip()
    if f.kind == "category":
        lookup = {plain_text(spelling): code for spelling, code in f.codes.items()}
        return lookup.get(plain_text(text), text), None
    if f.kind in ("boolean", "choice"):
        if isinstance(raw, bool) and f.kind == "boolean":
            return raw, None
        spelled = {code: set(spellings) for code, spellings in f.vocabulary.items()}
        for code, spellings in mapping.values.get(f.name, {}).items():
            spelled.setdefault(code, set()).update(spellings)
        code = _spelling_of(plain_text(text), {plain_text(s): c for c, ss in spelled.items() for s in ss})
        if code is None:
            return None, f"'{text}' is not a recognised {f.label or f.name}"
        return ({"true": True, "false": False}[code] if f.kind == "boolean" else code), None
    parsed = _dates(pd.Series([text]), f.name, Problems([f.name]))
    if pd.isna(parsed.iloc[0]):
        return None, f"'{text}' is not a date (write it as 2024-03-01 or 01/03/2024)"
    return parsed.iloc[0], None


def _record_number(f: Field, raw: object, mapping: ColumnMapping) -> tuple[float | None, str | None]:
    if isinstance(raw, bool):
        return None, f"'{raw}' is not a number"
    if isinstance(raw, int | float):
        number, text = float(raw), f"{raw:g}" if isinstance(raw, float) else str(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            number = float(text.replace(" ", "").removesuffix("%").replace(",", "."))
        except ValueError:
            return None, f"'{text}' is not a number"
    else:
        return None, f"'{raw}' is not a number"
    if not math.isfinite(number):
        return None, f"'{text}' is not a number"
    low, high, factor, low_text, high_text = _range_rule(f, mapping)
    if number < low:
        return None, f"{f.name} {text} is {low_text}"
    if number > high:
        return None, f"{f.name} {text} is above {high_text}"
    return number * factor, None


def cells_as_text(column: pd.Series) -> pd.Series:
    """Cells as stripped text with blanks missing, whatever dtype the frame came in with."""
    text = column.astype("str").str.strip()
    return text.where(text != "").reset_index(drop=True)


def _source_rows(frame: pd.DataFrame) -> np.ndarray:
    if frame.index.name == "source_row":
        return frame.index.to_numpy(dtype=np.int64)
    return np.arange(len(frame), dtype=np.int64) + 2  # row 1 is the header


def _numbers(f: Field, text: pd.Series, column: str, mapping: ColumnMapping, problems: Problems) -> np.ndarray:
    numbers, not_number = parse_numbers(text)
    raw = text.to_numpy(dtype=object)
    problems.add(not_number, column, lambda i: f"'{raw[i]}' is not a number")
    low, high, factor, low_text, high_text = _range_rule(f, mapping)
    with np.errstate(invalid="ignore"):
        too_low, too_high = numbers < low, numbers > high
    problems.add(too_low, column, lambda i: f"{column} {raw[i]} is {low_text}")
    problems.add(too_high, column, lambda i: f"{column} {raw[i]} is above {high_text}")
    return numbers * factor


def _range_rule(f: Field, mapping: ColumnMapping) -> tuple[float, float, float, str, str]:
    """(lowest and highest source value, factor onto the stored scale, how to say the lowest and the highest)."""
    declared = f.declared_max(mapping)
    if declared is not None:
        low, high, factor = 0.0, declared, f.scale / declared
        declared_here = f.name in mapping.scales or (f.default_max not in (None, f.scale))
        high_text = f"the declared maximum of {declared:g}" if declared_here else _default_maximum(f)
    else:
        low, high, factor = f.minimum, f.maximum, 1.0
        high_text = f.maximum_hint or f"{f.maximum:g}"
    return low, high, factor, "negative" if low == 0 else f"below {low:g}", high_text


def _default_maximum(f: Field) -> str:
    hint = "if this column uses another scale (e.g. 0-10 or 0-20), declare its maximum"
    if f.unit == "%":
        return f"{f.scale:g} %"
    return f"the maximum of {f.scale:g}; {hint}"


def parse_numbers(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats from text cells ("7,5", "85 %", "1e3"), and a mask of cells that are not numbers.

    A decimal comma is read as a point; thousands separators are not accepted ("1.234,5" and "1,234.5" are
    reported) because "1,234" alone could be either.
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


def _categories(f: Field, text: pd.Series) -> pd.Series:
    """Known spellings become the field's code ("feminino" -> "F"); any other answer is kept as written."""
    lookup = {plain_text(spelling): code for spelling, code in f.codes.items()}
    codes, uniques = pd.factorize(text)
    normalised = [lookup.get(plain_text(u), u) for u in uniques]
    return _take(normalised, codes, dtype="str")


def _choices(f: Field, text: pd.Series, column: str, mapping: ColumnMapping, problems: Problems) -> pd.Series:
    """The code of each cell (e.g. "pass", "fail", "withdrawn"; blank stays missing) from the field's spellings
    and the mapping's own; the value's first word counts too ("Reprovado por falta" is a fail)."""
    spelled = {code: set(spellings) for code, spellings in f.vocabulary.items()}
    for code, spellings in mapping.values.get(f.name, {}).items():
        spelled.setdefault(code, set()).update(spellings)
    lookup = {plain_text(s): code for code, spellings in spelled.items() for s in spellings}
    uniques_codes, uniques = pd.factorize(text)
    parsed = [_spelling_of(plain_text(u), lookup) for u in uniques]
    unknown = np.array([p is None for p in parsed] + [False])[uniques_codes]  # -1 (missing) is not unknown
    raw = text.to_numpy(dtype=object)
    examples = "; ".join(f"{code}: {', '.join(sorted(s)[:3])}" for code, s in f.vocabulary.items())
    problems.add(
        unknown,
        column,
        lambda i: (
            f"'{raw[i]}' is not a recognised {f.label or f.name} ({examples}); say what it means in the "
            f"mapping's values for {f.name}"
        ),
    )
    return _take(parsed, uniques_codes, dtype=object)


def _spelling_of(value: str, lookup: dict[str, str]) -> str | None:
    if value in lookup:
        return lookup[value]
    first_word = value.split(maxsplit=1)[0] if value else value
    return lookup.get(first_word)


def distinct_values(frame: pd.DataFrame, column: str, limit: int = 50) -> list[str]:
    """The distinct non-blank values of a column, most frequent first (for "what does each value mean")."""
    return cells_as_text(frame[column]).value_counts().index[:limit].tolist()


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y", "%Y/%m/%d")


def _dates(text: pd.Series, column: str, problems: Problems) -> pd.Series:
    """Dates written as 2024-03-01, 01/03/2024 (day first), 01.03.2024 or an Excel date-time."""
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in _DATE_FORMATS:
        todo = parsed.isna() & text.notna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    bad = (parsed.isna() & text.notna()).to_numpy()
    raw = text.to_numpy(dtype=object)
    problems.add(bad, column, lambda i: f"'{raw[i]}' is not a date (write it as 2024-03-01 or 01/03/2024)")
    return parsed


def _extra_values(column_values: pd.Series) -> pd.Series | np.ndarray:
    """Numbers when every non-blank cell is one, else the text."""
    text = cells_as_text(column_values)
    numbers, not_number = parse_numbers(text)
    if text.notna().any() and not not_number.any():
        return numbers
    return text


def extra_names(columns: Sequence[str]) -> list[str]:
    """x_<slug> per extra column, made unique ("Tutor" and "tutor" -> x_tutor, x_tutor_2)."""
    names: list[str] = []
    for position, column in enumerate(columns, start=1):
        slug = re.sub(r"[^a-z0-9]+", "_", plain_text(str(column))).strip("_") or f"column_{position}"
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


def _is_week(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 99


def _is_vocabulary(value: object) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(item, str) for item in v)
        for k, v in value.items()
    )
