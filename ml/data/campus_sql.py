"""Campus data in and out of SQL: the one path for generated and imported buildings, venues, timetables and
observations.

Every save is a bulk upsert on the table's natural key (building and venue code; term, section, weekday and slot;
session and week), written in chunks of executemany, in the caller's transaction: an import lands whole or not
at all, and storing the same data twice changes nothing. `save_campus` stores a generated campus and commits.
The loaders return the frames of `ml.data.campus` (`TIMETABLE_COLUMNS`, `OBSERVATION_COLUMNS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, update

from core.db import analyze, read_frame, session, transaction
from core.models import AttendanceObservation, Building, ClassSession, Term, Venue
from ml.data.academic_sql import save_reference, term_positions
from ml.data.campus import (
    OBSERVATION_COLUMNS,
    ROOM_COLUMNS,
    SECTION_COLUMNS,
    SIGNAL_COLUMNS,
    TIMETABLE_COLUMNS,
    CampusData,
    generate_scale,
    walking_distances,
)

CHUNK = 5000
SESSION_KEY = ("term_code", "section_code", "weekday", "slot")


class UnknownReference(ValueError):
    """Rows name a venue, building or session that is not stored; `codes` lists them."""

    def __init__(self, kind: str, codes: list[str]):
        self.kind, self.codes = kind, codes
        shown = ", ".join(codes[:10]) + (f" and {len(codes) - 10} more" if len(codes) > 10 else "")
        super().__init__(f"unknown {kind}: {shown}")


def save_campus(data: CampusData, *, source: str = "generated") -> dict[str, int]:
    """Store a generated campus in one transaction and commit; returns the rows written per table."""
    with transaction():
        counts = {"buildings": save_buildings(data.buildings), "venues": save_venues(data.venues)}
        save_reference(terms=data.terms)
        stored = save_timetable(data.sessions)
        counts["class_sessions"] = len(stored)
        session_ids = pd.Series(stored, index=data.sessions["session_id"].to_numpy())
        observations = data.observations.assign(session_id=session_ids.loc[data.observations["session_id"]].to_numpy())
        counts["attendance_observations"] = save_observations(observations, source=source)
    analyze(counts)
    return counts


def has_campus() -> bool:
    """Whether any timetable is stored."""
    return session.scalar(select(func.count()).select_from(ClassSession)) > 0


def save_buildings(buildings: pd.DataFrame) -> int:
    """Upsert buildings by `building_code` (optional: name, latitude, longitude). Does not commit."""
    frame = pd.DataFrame({"code": buildings["building_code"].astype(str)})
    for column in ("name", "latitude", "longitude"):
        if column in buildings:
            frame[column] = buildings[column].to_numpy()
    frame = frame.drop_duplicates("code", keep="last")
    _upsert(Building, frame, ["code"])
    return len(frame)


def save_venues(venues: pd.DataFrame, *, import_batch_id: int | None = None) -> int:
    """Upsert venues by `venue_code`: building_code, venue_type, capacity and optionally safe_capacity (else the
    capacity), accessible (else False) and name. Buildings not stored yet are created. Does not commit."""
    codes = venues["building_code"].astype(str)
    _insert_missing_buildings(codes.unique())
    building_ids = dict(session.execute(select(Building.code, Building.id)).all())
    capacity = venues["capacity"].astype("int64")
    frame = pd.DataFrame(
        {
            "code": venues["venue_code"].astype(str),
            "building_id": codes.map(building_ids).astype("int64"),
            "venue_type": venues["venue_type"].astype(str),
            "capacity": capacity,
            "safe_capacity": venues["safe_capacity"].fillna(capacity) if "safe_capacity" in venues else capacity,
            "accessible": venues["accessible"].fillna(False).astype(bool) if "accessible" in venues else False,
            "import_batch_id": import_batch_id,
        }
    )
    if "name" in venues:
        frame["name"] = venues["name"].fillna("").astype(str)
    frame["safe_capacity"] = frame["safe_capacity"].astype("int64")
    frame = frame.drop_duplicates("code", keep="last")
    _upsert(Venue, frame, ["code"])
    return len(frame)


def save_timetable(sessions: pd.DataFrame, *, import_batch_id: int | None = None) -> np.ndarray:
    """Upsert class sessions by (term_code, section_code, weekday, slot); returns their ids in row order.

    Columns: those of `SESSION_KEY`, course_code, registered, needs_type, venue_code (blank: not allocated) and
    optionally level and needs_accessible. Terms not stored yet are created; an unknown venue raises
    `UnknownReference`. A room two rows (or a row and a stored session) both hold raises IntegrityError.
    Does not commit.
    """
    if sessions.empty:
        return np.empty(0, dtype="int64")
    save_reference(terms=pd.DataFrame({"term_code": sessions["term_code"].astype(str).unique()}))
    term_ids = dict(session.execute(select(Term.code, Term.id)).all())
    venue = sessions["venue_code"].astype(object).where(sessions["venue_code"].notna(), None)
    venue_ids = _venue_ids(venue.dropna().astype(str).unique())
    frame = pd.DataFrame(
        {
            "term_id": sessions["term_code"].astype(str).map(term_ids).astype("int64"),
            "section_code": sessions["section_code"].astype(str),
            "course_code": sessions["course_code"].astype(str),
            "level": sessions.get("level"),
            "registered": sessions["registered"].astype("int64"),
            "needs_type": sessions["needs_type"].astype(str),
            "needs_accessible": (
                sessions["needs_accessible"].fillna(False).astype(bool) if "needs_accessible" in sessions else False
            ),
            "venue_id": venue.map(venue_ids).astype("Int64"),
            "weekday": sessions["weekday"].astype("int64"),
            "slot": sessions["slot"].astype("int64"),
            "import_batch_id": import_batch_id,
        }
    )
    key = ["term_id", "section_code", "weekday", "slot"]
    scope = ClassSession.term_id.in_([int(t) for t in frame["term_id"].unique()])
    return _upsert(ClassSession, frame, key, scope=scope, park="venue_id").to_numpy()


def booking_conflicts(sessions: pd.DataFrame) -> pd.Series:
    """For each row of a timetable about to be saved, the section that would share its room at that time, else NA.

    Judged on the timetable as it would be after `save_timetable(sessions)`: the rows themselves plus the stored
    sessions they do not replace. Leave the rows it names out of the save, or it raises IntegrityError.
    """
    upload = _keys(sessions).assign(venue_code=sessions["venue_code"].to_numpy(), row=np.arange(len(sessions)))
    stored = pd.concat([load_timetable(code) for code in upload["term_code"].unique()], ignore_index=True)
    kept = stored[list(SESSION_KEY) + ["venue_code"]].merge(
        upload[list(SESSION_KEY)], on=list(SESSION_KEY), how="left", indicator=True
    )
    after = pd.concat([kept[kept["_merge"] == "left_only"].drop(columns="_merge"), upload], ignore_index=True)
    after = after[after["venue_code"].notna()]
    cell = ["term_code", "venue_code", "weekday", "slot"]
    sections = after.groupby(cell)["section_code"].agg(list).rename("sections")
    clashes = after[after["row"].notna()].join(sections, on=cell)
    other = [
        next((s for s in group if s != own), None)
        for own, group in zip(clashes["section_code"], clashes["sections"], strict=True)
    ]
    found = pd.Series(other, index=clashes["row"].astype(int).to_numpy(), dtype="str")
    return pd.Series(found.reindex(range(len(sessions))).to_numpy(), index=sessions.index, dtype="str")


def session_ids(frame: pd.DataFrame) -> pd.Series:
    """Stored class-session ids of rows keyed by (term_code, section_code, weekday, slot); NA where unknown."""
    stored = pd.read_sql(
        select(Term.code.label("term_code"), ClassSession.section_code, ClassSession.weekday, ClassSession.slot)
        .add_columns(ClassSession.id.label("session_id"))
        .join(Term, Term.id == ClassSession.term_id)
        .where(Term.code.in_([str(t) for t in frame["term_code"].unique()])),
        session.connection(),
    )
    found = _keys(frame).merge(stored, on=list(SESSION_KEY), how="left")["session_id"]
    return pd.Series(found.to_numpy(), index=frame.index, dtype="Int64")


def save_observations(observations: pd.DataFrame, *, source: str = "", import_batch_id: int | None = None) -> int:
    """Upsert attendance observations by (session, week); returns the rows written. Does not commit.

    Sessions are named by `session_id` or by the `SESSION_KEY` columns. Optional: date, venue_code (where it
    met; default the session's venue now), cancelled (default False), count_method and the signals
    head_count, survey_pct, wifi_avg, wifi_max, co2_ppm (blank: not measured).
    """
    if observations.empty:
        return 0
    ids = observations["session_id"] if "session_id" in observations else session_ids(observations)
    if ids.isna().any():
        unknown = observations.loc[ids.isna(), list(SESSION_KEY)].astype(str).agg(" ".join, axis=1)
        raise UnknownReference("class sessions", unknown.unique().tolist())
    ids = ids.astype("int64").to_numpy()
    if "venue_code" in observations:
        venue = observations["venue_code"].astype(object).where(observations["venue_code"].notna(), None)
        venue_id = venue.map(_venue_ids(venue.dropna().astype(str).unique())).astype("Int64")
    else:
        stored = select(ClassSession.id, ClassSession.venue_id).where(
            ClassSession.id.between(int(ids.min()), int(ids.max()))
        )
        current = dict(session.execute(stored).all())
        venue_id = pd.Series(ids).map(current).astype("Int64")
    frame = pd.DataFrame(
        {
            "session_id": ids,
            "week": observations["week"].astype("int64").to_numpy(),
            "venue_id": venue_id.to_numpy(),
            "cancelled": observations["cancelled"].fillna(False).astype(bool).to_numpy()
            if "cancelled" in observations
            else False,
            "source": source,
            "import_batch_id": import_batch_id,
        }
    )
    if "date" in observations:
        frame["date"] = pd.to_datetime(observations["date"]).dt.date.to_numpy()
    if "count_method" in observations:
        frame["count_method"] = observations["count_method"].to_numpy()
    for column in SIGNAL_COLUMNS:
        if column in observations:
            values = pd.to_numeric(observations[column], errors="coerce").to_numpy(dtype=float)
            frame[column] = np.rint(values) if column in ("head_count", "survey_pct", "wifi_max") else values
    frame = frame.drop_duplicates(["session_id", "week"], keep="last")
    scope = AttendanceObservation.session_id.between(int(ids.min()), int(ids.max()))
    _upsert(AttendanceObservation, frame, ["session_id", "week"], scope=scope, return_ids=False)
    return len(frame)


def load_buildings() -> pd.DataFrame:
    """building_code, name, latitude, longitude."""
    query = select(Building.code.label("building_code"), Building.name, Building.latitude, Building.longitude)
    return _read(query.order_by(Building.code))


def load_venues() -> pd.DataFrame:
    """venue_code, name, building_code, venue_type, capacity, safe_capacity, accessible."""
    query = (
        select(
            Venue.code.label("venue_code"),
            Venue.name,
            Building.code.label("building_code"),
            Venue.venue_type,
            Venue.capacity,
            Venue.safe_capacity,
            Venue.accessible,
        )
        .join(Building, Building.id == Venue.building_id)
        .order_by(Venue.code)
    )
    frame = _read(query)
    frame["accessible"] = frame["accessible"].astype(bool)
    return frame


def load_walking_distances() -> pd.DataFrame:
    """Walking metres between the stored buildings (see `ml.data.campus.walking_distances`)."""
    return walking_distances(load_buildings())


def load_timetable(term_code: str | None = None) -> pd.DataFrame:
    """The `TIMETABLE_COLUMNS` frame of one term (default: every term), with each session's venue now."""
    query = (
        select(
            ClassSession.id.label("session_id"),
            Term.code.label("term_code"),
            *section_fields(),
            ClassSession.weekday,
            ClassSession.slot,
            *room_fields(),
        )
        .join(Term, Term.id == ClassSession.term_id)
        .outerjoin(Venue, Venue.id == ClassSession.venue_id)
        .outerjoin(Building, Building.id == Venue.building_id)
        .order_by(ClassSession.id)
    )
    if term_code is not None:
        query = query.where(Term.code == term_code)
    frame = _read(query)
    frame["needs_accessible"] = frame["needs_accessible"].astype(bool)
    frame["accessible"] = frame["accessible"].astype("boolean")  # NA: no venue allocated
    return frame[list(TIMETABLE_COLUMNS)]


def load_observations(terms: list[str] | None = None) -> pd.DataFrame:
    """The `OBSERVATION_COLUMNS` frame: each observation with its session and the venue it met in.

    Signals are floats with NaN where not measured; `date` is a datetime64 column; sorted by term, week, session.
    """
    # Observations are many, sessions and rooms few: each is read once and joined here (the text of a joined
    # session and room read again for each of its observations was three quarters of the load).
    o = AttendanceObservation
    observations = select(
        o.session_id,
        o.venue_id,
        o.week,
        o.date,
        o.cancelled,
        o.count_method,
        *[o.__table__.c[n] for n in SIGNAL_COLUMNS],
    )
    sessions = select(
        ClassSession.id.label("session_id"),
        Term.code.label("term_code"),
        ClassSession.weekday,
        ClassSession.slot,
        *section_fields(),
    ).join(Term, Term.id == ClassSession.term_id)
    if terms:
        observations = observations.join(ClassSession, ClassSession.id == o.session_id).join(
            Term, Term.id == ClassSession.term_id
        )
        observations, sessions = (query.where(Term.code.in_(terms)) for query in (observations, sessions))
    rooms = select(Venue.id.label("venue_id"), *room_fields()).outerjoin(Building, Building.id == Venue.building_id)
    frame = read_frame(observations)
    frame = frame.join(read_frame(sessions).set_index("session_id"), on="session_id", how="inner")
    room_of = read_frame(rooms).set_index("venue_id").reindex(pd.Index(frame["venue_id"]))
    for column in ROOM_COLUMNS:
        frame[column] = room_of[column].to_numpy()
    frame["term_index"] = frame["term_code"].map(term_positions()).astype("int64")
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[s]")  # from text (SQLite) or dates alike
    frame["accessible"] = frame["accessible"].fillna(False)  # no room recorded for that week
    for column in ("needs_accessible", "accessible", "cancelled"):
        frame[column] = frame[column].astype(bool)
    for column in SIGNAL_COLUMNS:
        frame[column] = frame[column].astype(float)
    frame = frame.sort_values(["term_index", "week", "session_id"], kind="stable").reset_index(drop=True)
    return frame[list(OBSERVATION_COLUMNS)]


def section_fields() -> list:
    """The select columns of `SECTION_COLUMNS`, from `ClassSession`."""
    return [getattr(ClassSession, name) for name in SECTION_COLUMNS]


def room_fields() -> list:
    """The select columns of `ROOM_COLUMNS`, from `Venue` and `Building` (join them; NULL where no room is set)."""
    codes = {"venue_code": Venue.code, "building_code": Building.code}
    return [codes[name].label(name) if name in codes else getattr(Venue, name) for name in ROOM_COLUMNS]


def coming_week() -> tuple[str, int] | None:
    """(term_code, week) to forecast: the week after the latest observed one of the latest term with a timetable."""
    positions = term_positions()
    with_sessions = set(session.scalars(select(Term.code).join(ClassSession, ClassSession.term_id == Term.id)))
    if not with_sessions:
        return None
    term_code = max(with_sessions, key=lambda code: positions[code])
    last = session.scalar(
        select(func.max(AttendanceObservation.week))
        .join(ClassSession, ClassSession.id == AttendanceObservation.session_id)
        .join(Term, Term.id == ClassSession.term_id)
        .where(Term.code == term_code)
    )
    return term_code, (last or 0) + 1


def _read(query) -> pd.DataFrame:
    """The query's rows, read in the session's transaction (so a caller sees what it has just saved)."""
    return pd.read_sql(query, session.connection())


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The `SESSION_KEY` columns with the types stored."""
    types = {"term_code": str, "section_code": str, "weekday": "int64", "slot": "int64"}
    return frame[list(SESSION_KEY)].astype(types)


def _insert_missing_buildings(codes) -> None:
    existing = set(session.scalars(select(Building.code)))
    fresh = [{"code": str(code), "name": ""} for code in codes if str(code) not in existing]
    if fresh:
        session.execute(insert(Building.__table__), fresh)


def _venue_ids(codes) -> dict[str, int]:
    stored = dict(session.execute(select(Venue.code, Venue.id).where(Venue.code.in_(list(codes)))).all())
    unknown = sorted(set(codes) - set(stored))
    if unknown:
        raise UnknownReference("venues", unknown)
    return stored


def _upsert(model, frame: pd.DataFrame, key: list[str], *, scope=None, park: str | None = None, return_ids=True):
    """Insert the rows whose `key` is not stored, update the others (within `scope`, a WHERE clause).

    `park` names a uniquely constrained column whose changed values are first set to NULL, so that rows
    trading places (two sessions swapping rooms) never collide halfway. Returns the ids in row order.
    """
    table = model.__table__
    query = select(*[table.c[k] for k in key], table.c.id)
    if scope is not None:
        query = query.where(scope)
    frame = frame.reset_index(drop=True)
    stored = pd.read_sql(query.add_columns(table.c[park].label("stored")) if park else query, session.connection())
    matched = frame[key].merge(stored, on=key, how="left")
    existing = matched["id"].notna().to_numpy()
    rows = _records(frame)
    updates = [{"id": int(i), **row} for i, row, old in zip(matched["id"], rows, existing, strict=True) if old]
    inserts = [row for row, old in zip(rows, existing, strict=True) if not old]
    if park:
        moving = existing & ~_same(frame[park], matched["stored"])
        ids = [int(i) for i in matched.loc[moving, "id"]]
        for start in range(0, len(ids), CHUNK):
            session.execute(update(model).where(model.id.in_(ids[start : start + CHUNK])).values({park: None}))
    for start in range(0, len(updates), CHUNK):
        session.execute(update(model), updates[start : start + CHUNK])
    for start in range(0, len(inserts), CHUNK):
        session.execute(insert(table), inserts[start : start + CHUNK])
    if not return_ids:
        return None
    if inserts:
        stored = pd.read_sql(query, session.connection())
        matched = frame[key].merge(stored, on=key, how="left")
    return matched["id"].astype("int64")


def _same(new: pd.Series, old: pd.Series) -> np.ndarray:
    """Element-wise equality in which two missing values are equal."""
    new, old = new.astype(object).reset_index(drop=True), old.astype(object).reset_index(drop=True)
    both_missing = new.isna() & old.isna()
    return (both_missing | (new.notna() & old.notna() & (new == old).fillna(False))).to_numpy(dtype=bool)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values, None for missing ones."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


class CampusSeeder:
    """Demo buildings, venues, timetables and observations (see `ml.demo`)."""

    domain = "campus"

    def has_data(self) -> bool:
        return has_campus()

    def seed(self, scale: str, seed: int) -> str:
        data = generate_scale(scale, seed=seed)
        counts = save_campus(data)
        return (
            f"{counts['buildings']} buildings, {counts['venues']} venues, {len(data.terms)} terms,"
            f" {counts['class_sessions']} weekly sessions, {counts['attendance_observations']} observations."
        )


SEEDER = CampusSeeder()
