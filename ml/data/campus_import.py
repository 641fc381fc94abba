"""Campus files (CSV / Excel) onto Aula's fields: venues, the timetable and attendance observations.

Three schemas of the import engine (`VENUES`, `TIMETABLE`, `OBSERVATIONS`) and one service, `import_campus`,
that the web view, the CLI (`flask --app wsgi campus import FILE --kind ...`) and any API share:

1. read the upload (`read_table`), suggest a mapping (`suggest_mapping`), let the person confirm it;
2. `import_campus(kind, frame, mapping, ...)`: every bad row is reported with its row, column and reason --
   the engine's own checks (numbers, ranges, choices, duplicates), then the ones that need the stored campus:
   rooms and class sessions that do not exist, safe capacity above capacity, survey shares off the bins, and
   double bookings (`ml.data.campus_sql.booking_conflicts`: a room held by two sections at one time); the good
   rows are stored in one transaction with an `ImportBatch` of that kind (`dry_run`: checked, nothing written).

Observations are whatever a campus measures: head counts (card swipes or manual counts), the share of the room
seen full in a survey (bins of 0, 25, 50, 75, 100 %; declare 1 as the maximum for 0-1 fractions), Wi-Fi devices
(average and maximum) and CO2 -- any of them, alone or together; each row names its session by term, section,
weekday and start time, and its week of term (or a date, with the term's start date stored).

Weekdays are names or abbreviations in English or Portuguese ("Mon", "segunda"); slots are start times of
`ml.data.campus.SLOT_STARTS` ("08:00", "8h", "8:00-10:00"). Numbered weekdays differ between countries ("2" is
Monday in Brazil), so they are not guessed: list them in the mapping's values, e.g. {"weekday": {"Mon": ["2"]}}.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.db import session, transaction
from core.models import ImportBatch, Term
from ml.data import import_engine
from ml.data.campus import SLOT_STARTS, SURVEY_BINS, VENUE_TYPES
from ml.data.campus_sql import (
    UnknownReference,
    booking_conflicts,
    load_timetable,
    load_venues,
    save_buildings,
    save_observations,
    save_timetable,
    save_venues,
    session_ids,
)
from ml.data.import_engine import MAX_ERRORS, ColumnMapping, Field, FieldSchema, MappingError, Option, RowError
from ml.data.table_files import ImportFormatError, read_table

__all__ = [
    "KINDS",
    "OBSERVATIONS",
    "SCHEMAS",
    "TIMETABLE",
    "VENUES",
    "CampusImport",
    "CampusImportConflict",
    "ColumnMapping",
    "ImportFormatError",
    "MappingError",
    "RowError",
    "campus_mapping",
    "import_campus",
    "import_file",
    "read_table",
    "suggest_mapping",
]

KINDS = ("venues", "timetable", "observations")
MAX_CAPACITY = 5000
MAX_WEEK = 53
CO2_RANGE = (250.0, 10_000.0)
FULL_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _spellings(text: str) -> frozenset[str]:
    return frozenset(s.strip() for s in text.split(",") if s.strip())


def _synonyms(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


ROOM_TYPES = {
    "lecture_hall": _spellings(
        "lecture hall, lecture_hall, lecture theatre, lecture theater, lecture, auditorium, hall, theatre, "
        "anfiteatro, auditorio, auditório"
    ),
    "seminar_room": _spellings(
        "seminar room, seminar_room, seminar, classroom, class room, tutorial room, sala de aula, sala, "
        "sala de seminario, sala de seminário"
    ),
    "lab": _spellings("lab, laboratory, computer lab, laboratorio, laboratório, lab room"),
}
_DAY_SPELLINGS = {
    "Mon": "mon, monday, mo, segunda, segunda-feira, segunda feira, seg",
    "Tue": "tue, tues, tuesday, tu, terca, terça, terca-feira, terça-feira, ter",
    "Wed": "wed, wednesday, we, quarta, quarta-feira, qua",
    "Thu": "thu, thur, thurs, thursday, th, quinta, quinta-feira, qui",
    "Fri": "fri, friday, fr, sexta, sexta-feira, sex",
    "Sat": "sat, saturday, sa, sabado, sábado, sab",
    "Sun": "sun, sunday, su, domingo, dom",
}
WEEKDAY_CHOICES = {day: _spellings(text) for day, text in _DAY_SPELLINGS.items()}


def _slot_spellings(start: str) -> frozenset[str]:
    hour = int(start[:2])
    end = f"{hour + 2:02d}:00"
    forms = {start, f"{hour}:00", f"{hour:02d}00", f"{hour}h", f"{hour:02d}h", f"{hour}h00", f"{hour:02d}h00"}
    forms |= {f"{start}-{end}", f"{hour}:00-{hour + 2}:00", f"{start} - {end}", f"{hour}-{hour + 2}"}
    forms.add(f"{hour % 12 or 12}{'am' if hour < 12 else 'pm'}")
    return frozenset(forms)


SLOT_CHOICES = {start: _slot_spellings(start) for start in SLOT_STARTS}
_TRUE = _spellings("true, yes, y, 1, sim, s, t, x, verdadeiro")
_FALSE = _spellings("false, no, n, 0, nao, não, f, falso")
COUNT_METHODS = {
    "card": _spellings("card, card swipe, swipe, badge, card reader, cartao, cartão, catraca, turnstile"),
    "manual": _spellings("manual, manual count, hand count, headcount, head count, contagem, contagem manual"),
}

_TERM = Field(
    "term_code",
    "id",
    label="term",
    required=True,
    default_option="default_term",
    synonyms=_synonyms("term, term code, semester, period, semestre, periodo letivo, ano semestre"),
)
_SECTION = Field(
    "section_code",
    "id",
    label="section",
    required=True,
    synonyms=_synonyms("section, section code, class, class code, group, turma, codigo da turma"),
)
_WEEKDAY = Field(
    "weekday",
    "choice",
    label="weekday",
    required=True,
    choices=WEEKDAY_CHOICES,
    synonyms=_synonyms("weekday, day, day of week, dia, dia da semana"),
)
_SLOT = Field(
    "slot",
    "choice",
    label="start time",
    required=True,
    choices=SLOT_CHOICES,
    synonyms=_synonyms("slot, start, start time, time, time slot, horario, horário, hora, hora inicio"),
)
_DEFAULT_TERM = Option("default_term", "text", label="term (for a file without a term column)")

VENUES = FieldSchema(
    kind="venues",
    fields=(
        Field("venue_code", "id", label="room", required=True,
              synonyms=_synonyms("room, room code, room id, venue, venue code, space, sala, codigo da sala, espaco")),
        Field("building_code", "id", label="building", required=True,
              synonyms=_synonyms("building, building code, block, bloco, predio, prédio, edificio, edifício")),
        Field("venue_type", "choice", label="room type", required=True, choices=ROOM_TYPES,
              synonyms=_synonyms("type, room type, venue type, kind, tipo, tipo de sala")),
        Field("capacity", label="capacity", unit="seats", minimum=1, maximum=MAX_CAPACITY, required=True,
              synonyms=_synonyms("capacity, seats, places, capacidade, lugares, assentos")),
        Field("safe_capacity", label="safe capacity", unit="people", minimum=1, maximum=MAX_CAPACITY,
              synonyms=_synonyms("safe capacity, fire capacity, max occupancy, maximum occupancy, fire limit, "
                                 "capacidade maxima, lotacao, lotação, lotacao maxima")),
        Field("accessible", "boolean", label="accessible", true_values=_TRUE, false_values=_FALSE,
              synonyms=_synonyms("accessible, wheelchair, wheelchair accessible, step free, acessivel, acessível")),
        Field("name", "text", label="room name", synonyms=_synonyms("room name, venue name, nome, nome da sala")),
        Field("building_name", "text", label="building name",
              synonyms=_synonyms("building name, nome do predio, nome do prédio")),
        Field("latitude", label="building latitude", minimum=-90, maximum=90, synonyms=("lat",)),
        Field("longitude", label="building longitude", minimum=-180, maximum=180, synonyms=("lon", "lng", "long")),
    ),
    unique_keys=("venue_code",),
    unique_label="same room",
)  # fmt: skip

TIMETABLE = FieldSchema(
    kind="timetable",
    fields=(
        _TERM,
        _SECTION,
        Field("course_code", "id", label="course", required=True,
              synonyms=_synonyms("course, course code, module, module code, subject, disciplina, "
                                 "codigo da disciplina")),
        Field("level", label="course level", minimum=0, maximum=9,
              synonyms=_synonyms("level, course level, year of study, study year, nivel, nível")),
        Field("registered", label="registered students", unit="students", minimum=0, maximum=MAX_CAPACITY,
              required=True,
              synonyms=_synonyms("registered, enrolled, enrolment, enrollment, students, number of students, "
                                 "headcount registered, matriculados, inscritos, alunos, vagas ocupadas")),
        Field("needs_type", "choice", label="room type needed", choices=ROOM_TYPES,
              synonyms=_synonyms("needs, needs type, room type needed, required room type, tipo necessario")),
        Field("needs_accessible", "boolean", label="needs an accessible room", true_values=_TRUE,
              false_values=_FALSE, synonyms=_synonyms("needs accessible, accessibility needed, precisa acessivel")),
        Field("venue_code", "id", label="room",
              synonyms=_synonyms("room, room code, venue, venue code, sala, codigo da sala, local")),
        _WEEKDAY,
        _SLOT,
    ),
    options=(_DEFAULT_TERM,),
    unique_keys=("term_code", "section_code", "weekday", "slot"),
    unique_label="same section, weekday and start time",
)  # fmt: skip


def _observation_check(mapping: ColumnMapping) -> list[str]:
    mapped = set(mapping.fields.values())
    problems = []
    if not mapped & {"head_count", "survey_pct", "wifi_avg", "wifi_max", "co2_ppm", "cancelled"}:
        problems.append(
            "Map at least one measurement: a head count, a survey share, Wi-Fi devices or CO2 (or whether the "
            "session was cancelled)."
        )
    if not mapped & {"week", "date"}:
        problems.append("Map the week of term, or the date (the week is then counted from the term's start).")
    return problems


OBSERVATIONS = FieldSchema(
    kind="observations",
    fields=(
        _TERM,
        _SECTION,
        _WEEKDAY,
        _SLOT,
        Field("week", label="week of term", minimum=1, maximum=MAX_WEEK,
              synonyms=_synonyms("week, week of term, teaching week, semana, semana letiva")),
        Field("date", "date", label="date", synonyms=_synonyms("date, session date, data")),
        Field("venue_code", "id", label="room it met in",
              synonyms=_synonyms("room, room code, venue, venue code, sala, local")),
        Field("cancelled", "boolean", label="cancelled", true_values=_TRUE, false_values=_FALSE,
              synonyms=_synonyms("cancelled, canceled, did not run, cancelada, cancelado")),
        Field("head_count", label="head count", unit="people", minimum=0, maximum=MAX_CAPACITY,
              synonyms=_synonyms("head count, headcount, count, attendance, attendees, present, swipes, "
                                 "card swipes, presentes, contagem, frequencia")),
        Field("count_method", "choice", label="how it was counted", choices=COUNT_METHODS,
              synonyms=_synonyms("count method, counted by, method, source, metodo")),
        Field("survey_pct", label="survey: share of the room full", unit="%", scale=100.0,
              synonyms=_synonyms("survey, survey pct, survey percent, occupancy survey, utilisation survey, "
                                 "utilization survey, percent full, ocupacao, ocupação")),
        Field("wifi_avg", label="Wi-Fi devices (average)", unit="devices", minimum=0,
              synonyms=_synonyms("wifi, wifi avg, wifi average, wi-fi devices, devices, dispositivos")),
        Field("wifi_max", label="Wi-Fi devices (maximum)", unit="devices", minimum=0,
              synonyms=_synonyms("wifi max, wifi maximum, wifi peak, max devices")),
        Field("co2_ppm", label="CO2 (peak ppm)", unit="ppm", minimum=CO2_RANGE[0], maximum=CO2_RANGE[1],
              synonyms=_synonyms("co2, co2 ppm, carbon dioxide, co2 peak")),
    ),
    options=(_DEFAULT_TERM,),
    unique_keys=("term_code", "section_code", "weekday", "slot", "week"),
    unique_label="same session and week",
    check=_observation_check,
)  # fmt: skip

SCHEMAS: dict[str, FieldSchema] = {s.kind: s for s in (VENUES, TIMETABLE, OBSERVATIONS)}
MEASUREMENTS = ("head_count", "survey_pct", "wifi_avg", "wifi_max", "co2_ppm")


class CampusImportConflict(Exception):
    """Another change to the campus landed between the checks and the save; nothing was stored."""


@dataclass
class CampusImport:
    """What an import did (or, in a dry run, would do): rows stored, every problem, the batch."""

    kind: str
    filename: str
    mapping: ColumnMapping
    n_rows: int
    n_valid: int
    errors: list[RowError]
    n_errors: int
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    batch_id: int | None = None
    terms: list[str] = field(default_factory=list)  # terms the stored rows belong to

    @property
    def n_invalid(self) -> int:
        return self.n_rows - self.n_valid

    @property
    def stored(self) -> bool:
        return self.batch_id is not None

    @property
    def errors_truncated(self) -> bool:
        return self.n_errors > len(self.errors)

    def summary(self) -> str:
        """One sentence for a person or a terminal."""
        verb = "would import" if self.dry_run else "imported"
        if not self.n_valid:
            verb = "nothing imported:"
            return f"{self.kind}: {verb} none of the {self.n_rows:,} rows is valid ({self.n_errors:,} problems)."
        text = f"{self.kind}: {verb} {self.n_valid:,} of {self.n_rows:,} rows"
        if self.batch_id is not None:
            text += f" (batch {self.batch_id})"
        if self.n_invalid:
            text += f"; {self.n_invalid:,} rows left out ({self.n_errors:,} problems)"
        return text + "."


def suggest_mapping(kind: str, columns: Iterable[str]) -> dict[str, str]:
    return import_engine.suggest_mapping(schema(kind), columns)


def campus_mapping(
    kind: str,
    fields: dict[str, str],
    *,
    default_term: str | None = None,
    values: dict[str, dict[str, list[str]]] | None = None,
    scales: dict[str, float] | None = None,
) -> ColumnMapping:
    """A mapping of one campus kind: source column -> field, and the kind's options."""
    options = {"default_term": default_term} if default_term and kind != "venues" else {}
    return ColumnMapping(kind, dict(fields), [], dict(scales or {}), dict(values or {}), options)


def schema(kind: str) -> FieldSchema:
    if kind not in SCHEMAS:
        raise ValueError(f"unknown campus import {kind!r}; choose one of {', '.join(KINDS)}")
    return SCHEMAS[kind]


def import_file(
    kind: str,
    data: bytes,
    filename: str,
    mapping: ColumnMapping | None = None,
    *,
    uploaded_by: str,
    dry_run: bool = False,
) -> CampusImport:
    """Read a file and import it (`mapping` None: the suggested one). Raises ImportFormatError / MappingError."""
    frame = read_table(data, filename)
    if mapping is None:
        mapping = campus_mapping(kind, suggest_mapping(kind, frame.columns))
    return import_campus(kind, frame, mapping, filename=filename, uploaded_by=uploaded_by, dry_run=dry_run)


def import_campus(
    kind: str,
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    *,
    filename: str,
    uploaded_by: str,
    dry_run: bool = False,
    max_errors: int = MAX_ERRORS,
) -> CampusImport:
    """Validate the rows of `frame` (as `read_table` returns it) and store the good ones in one transaction.

    Raises MappingError before looking at any row when the mapping cannot apply to the file.
    """
    result = import_engine.apply_mapping(schema(kind), frame, mapping, max_errors=max_errors)
    records = result.records
    checks = {"venues": _check_venues, "timetable": _check_timetable, "observations": _check_observations}
    records, found = checks[kind](records, mapping)
    errors = sorted([*result.errors, *found], key=lambda e: (e.row, _column_position(frame, e.column)))
    report = CampusImport(
        kind=kind,
        filename=filename,
        mapping=mapping,
        n_rows=result.n_rows,
        n_valid=len(records),
        errors=errors[:max_errors],
        n_errors=result.n_errors + len(found),
        warnings=list(result.warnings),
        dry_run=dry_run,
        terms=sorted(records["term_code"].astype(str).unique()) if "term_code" in records and len(records) else [],
    )
    if dry_run or records.empty:
        session.rollback()  # the checks read in a transaction of their own; nothing of this import stays
        return report
    batch = ImportBatch(
        kind=kind,
        filename=filename[:255],
        uploaded_by=uploaded_by,
        rows_total=result.n_rows,
        rows_valid=len(records),
        rows_invalid=result.n_rows - len(records),
        mapping=mapping.to_dict(),
    )
    try:
        with transaction():
            session.add(batch)
            session.flush()
            _save(kind, records, mapping, batch.id)
    except (IntegrityError, UnknownReference) as exc:  # the campus changed between the checks and the save
        raise CampusImportConflict(
            "The stored campus changed while this file was being imported (another import or a reassignment); "
            "nothing was stored. Import the file again."
        ) from exc
    report.batch_id = batch.id
    return report


def _save(kind: str, records: pd.DataFrame, mapping: ColumnMapping, batch_id: int) -> None:
    records = records.drop(columns="source_row")
    if kind == "venues":
        mapped = set(mapping.fields.values())
        if mapped & {"building_name", "latitude", "longitude"}:
            buildings = records.rename(columns={"name": "room_name", "building_name": "name"})
            save_buildings(buildings.drop_duplicates("building_code", keep="last"))
        save_venues(
            records.drop(columns=["building_name", "latitude", "longitude"], errors="ignore"), import_batch_id=batch_id
        )
    elif kind == "timetable":
        save_timetable(records, import_batch_id=batch_id)
    else:
        save_observations(records, source="import", import_batch_id=batch_id)


# --- checks that need the stored campus, per kind ---------------------------------------------


class _Found:
    """Row problems found after the engine's own checks (named by the file's own columns), and the rows to drop."""

    def __init__(self, records: pd.DataFrame, mapping: ColumnMapping):
        self.records = records
        self.bad = np.zeros(len(records), dtype=bool)
        self.errors: list[RowError] = []
        self._columns = {name: column for column, name in mapping.fields.items()}

    def add(self, mask: np.ndarray, field_name: str, describe) -> None:
        column = self._columns.get(field_name, field_name)
        mask = np.asarray(mask, dtype=bool)
        for i in np.flatnonzero(mask & ~self.bad):
            self.errors.append(RowError(int(self.records["source_row"].iloc[i]), column, describe(i)))
        self.bad |= mask

    def kept(self) -> tuple[pd.DataFrame, list[RowError]]:
        return self.records[~self.bad].reset_index(drop=True), self.errors


def _check_venues(records: pd.DataFrame, mapping: ColumnMapping) -> tuple[pd.DataFrame, list[RowError]]:
    found = _Found(records, mapping)
    if records.empty:
        return found.kept()
    capacity = records["capacity"].to_numpy(dtype=float)
    found.add(_not_whole(capacity), "capacity", lambda i: f"capacity {capacity[i]:g} is not a whole number of seats")
    if "safe_capacity" in records:
        safe = records["safe_capacity"].to_numpy(dtype=float)
        found.add(_not_whole(safe), "safe_capacity", lambda i: f"safe capacity {safe[i]:g} is not a whole number")
        above = np.nan_to_num(safe, nan=0.0) > capacity
        found.add(above, "safe_capacity", lambda i: f"safe capacity {safe[i]:g} is above the capacity {capacity[i]:g}")
    kept, errors = found.kept()
    kept["capacity"] = kept["capacity"].round().astype("int64")
    if "safe_capacity" in kept:
        kept["safe_capacity"] = kept["safe_capacity"].round().astype("Int64")
    if "accessible" in kept:
        kept["accessible"] = kept["accessible"].fillna(False).astype(bool)
    return kept, errors


def _check_timetable(records: pd.DataFrame, mapping: ColumnMapping) -> tuple[pd.DataFrame, list[RowError]]:
    found = _Found(records, mapping)
    if records.empty:
        return found.kept()
    _number_weekday_and_slot(records)
    registered = records["registered"].to_numpy(dtype=float)
    found.add(
        _not_whole(registered), "registered", lambda i: f"{registered[i]:g} registered students is not a whole number"
    )
    level = records["level"].to_numpy(dtype=float) if "level" in records else None
    if level is not None:
        found.add(_not_whole(level), "level", lambda i: f"course level {level[i]:g} is not a whole number")
    venue = records["venue_code"] if "venue_code" in records else pd.Series([None] * len(records), dtype=object)
    venues = load_venues().set_index("venue_code")
    unknown = venue.notna().to_numpy() & ~venue.isin(venues.index).to_numpy()
    shown = venue.to_numpy(dtype=object)
    found.add(unknown, "venue_code", lambda i: f"room {shown[i]} is not stored; import it with the venues first")
    records["venue_code"] = venue.where(~unknown, None)
    needs = records["needs_type"] if "needs_type" in records else pd.Series([None] * len(records), dtype=object)
    room_type = venue.map(venues["venue_type"]) if len(venues) else pd.Series([None] * len(records))
    records["needs_type"] = needs.fillna(room_type.reset_index(drop=True)).fillna(VENUE_TYPES[1]).astype(str)
    records["registered"] = records["registered"].round().astype("int64")
    # A row left out does not replace its stored session, which keeps its room: check again until none clash.
    while True:
        good = np.flatnonzero(~found.bad)
        if not len(good):
            return found.kept()
        conflicts = booking_conflicts(records.iloc[good])
        other = np.full(len(records), None, dtype=object)
        other[good] = conflicts.to_numpy(dtype=object)
        clash = pd.notna(other)
        if not clash.any():
            return found.kept()
        found.add(
            clash,
            "venue_code",
            lambda i, other=other: f"double booking: {shown[i]} on {_when(records, i)} is also booked for {other[i]}",
        )


def _check_observations(records: pd.DataFrame, mapping: ColumnMapping) -> tuple[pd.DataFrame, list[RowError]]:
    found = _Found(records, mapping)
    if records.empty:
        return found.kept()
    _number_weekday_and_slot(records)
    _fill_weeks(records, found)
    ids = session_ids(records.assign(term_code=records["term_code"].astype(str)))
    missing = ids.isna().to_numpy()
    found.add(
        missing,
        "section_code",
        lambda i: (
            f"no class session {records['section_code'].iloc[i]} on {_when(records, i)} in term "
            f"{records['term_code'].iloc[i]}; import the timetable first"
        ),
    )
    records["session_id"] = ids.to_numpy()
    measured = np.zeros(len(records), dtype=bool)
    for name in MEASUREMENTS:
        if name in records:
            measured |= np.isfinite(records[name].to_numpy(dtype=float))
    cancelled = np.zeros(len(records), dtype=bool)
    if "cancelled" in records:
        cancelled = records["cancelled"].fillna(False).to_numpy(dtype=bool)
    found.add(
        ~measured & ~cancelled,
        "head_count" if "head_count" in records else "section_code",
        lambda i: "no measurement in this row: give a head count, a survey share, Wi-Fi devices or CO2",
    )
    if "head_count" in records:
        head = records["head_count"].to_numpy(dtype=float)
        found.add(_not_whole(head), "head_count", lambda i: f"head count {head[i]:g} is not a whole number")
    if "survey_pct" in records:
        survey = records["survey_pct"].to_numpy(dtype=float)
        off_bin = np.isfinite(survey) & ~np.isin(np.round(survey, 6), SURVEY_BINS)
        bins = ", ".join(f"{b} %" for b in SURVEY_BINS)
        found.add(off_bin, "survey_pct", lambda i: f"survey share {survey[i]:g} % is not one of the bins {bins}")
    if "wifi_avg" in records and "wifi_max" in records:
        low, high = records["wifi_avg"].to_numpy(dtype=float), records["wifi_max"].to_numpy(dtype=float)
        found.add(high < low, "wifi_max", lambda i: f"Wi-Fi maximum {high[i]:g} is below the average {low[i]:g}")
    if "venue_code" in records:
        _check_observed_rooms(records, found)
    kept, errors = found.kept()
    kept["session_id"] = kept["session_id"].astype("int64")
    return kept, errors


def _fill_weeks(records: pd.DataFrame, found: _Found) -> None:
    """Weeks from dates where no week is given, counted from the term's start (week 1 starts on it)."""
    week = records["week"].to_numpy(dtype=float) if "week" in records else np.full(len(records), np.nan)
    found.add(_not_whole(week), "week", lambda i: f"week {week[i]:g} is not a whole number")
    if "date" in records:
        starts = dict(session.execute(select(Term.code, Term.start_date)).all())
        start = pd.to_datetime(records["term_code"].astype(str).map(starts))
        derived = ((records["date"] - start).dt.days // 7 + 1).to_numpy(dtype=float)
        week = np.where(np.isnan(week), derived, week)
        before = np.isfinite(derived) & (derived < 1)
        found.add(before, "date", lambda i: f"{records['date'].iloc[i]:%Y-%m-%d} is before the term's first week")
    no_week = np.isnan(week)
    found.add(
        no_week,
        "week" if "week" in records else "date",
        lambda i: "no week of term: give the week, or a date of a term whose start date is stored",
    )
    records["week"] = np.nan_to_num(week, nan=0.0).round().astype("int64")


def _check_observed_rooms(records: pd.DataFrame, found: _Found) -> None:
    stored = set(load_venues()["venue_code"])
    venue = records["venue_code"]
    unknown = venue.notna().to_numpy() & ~venue.isin(stored).to_numpy()
    shown = venue.to_numpy(dtype=object)
    found.add(unknown, "venue_code", lambda i: f"room {shown[i]} is not stored; import it with the venues first")
    terms = records["term_code"].astype(str).unique()
    timetable = pd.concat([load_timetable(t) for t in terms], ignore_index=True)
    now = records["session_id"].map(timetable.set_index("session_id")["venue_code"])
    records["venue_code"] = venue.where(venue.notna() & ~unknown, now)


def _not_whole(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.isfinite(values) & (np.abs(values - np.round(values)) > 1e-9)


def _number_weekday_and_slot(records: pd.DataFrame) -> None:
    """Weekday and slot names (already checked) as the stored numbers, in place."""
    records["weekday"] = records["weekday"].map(FULL_WEEKDAYS.index).astype("int64")
    records["slot"] = records["slot"].map(SLOT_STARTS.index).astype("int64")


def _when(records: pd.DataFrame, i: int) -> str:
    return f"{FULL_WEEKDAYS[records['weekday'].iloc[i]]} {SLOT_STARTS[records['slot'].iloc[i]]}"


def _column_position(frame: pd.DataFrame, column: str) -> int:
    columns = list(frame.columns)
    return columns.index(column) if column in columns else len(columns)
