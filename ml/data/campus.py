"""Synthetic campus: buildings, venues, a weekly timetable per term and per-session attendance observations.

The generative story: buildings stand on a campus of about a square kilometre; each holds lecture halls,
seminar rooms and labs of typical sizes, some with a lower safe (fire) limit than their seats, some not
accessible. Each term, sections are placed on free (venue, weekday, slot) cells: most meet twice a week
(Mon/Wed or Tue/Thu at one time in one room), the rest once. Registration follows the room's size, mostly
fitting, some deliberately overbooked or nearly empty. Whether a registered student shows up depends on the
course, the section, its level and size, the time of day and the day of the week, the week of term (a slow
decline, dips in the holiday, midterm and exam weeks) and the day's weather, which every session that day
shares. Some sessions do not go ahead. What a campus records is a noisy view of that attendance: card
swipes or manual head counts, occupancy surveys in bins of a fifth of the room, Wi-Fi devices and CO₂.

Everything is drawn from one seeded generator in a fixed order, so a seed reproduces the data exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.data.academic import DEPARTMENTS, semesters

SCALES: dict[str, dict[str, int]] = {
    "demo": dict(n_buildings=3, n_venues=30, n_sections=150, n_years=1),
    "full": dict(n_buildings=15, n_venues=300, n_sections=2000, n_years=2),
}

VENUE_TYPES: tuple[str, ...] = ("lecture_hall", "seminar_room", "lab")
VENUE_TYPE_LABELS: dict[str, str] = {"lecture_hall": "lecture hall", "seminar_room": "seminar room", "lab": "lab"}
# A session that needs the key's type may meet in a venue of any of these types (a seminar fits a hall).
FITTING_VENUE_TYPES: dict[str, tuple[str, ...]] = {
    "lecture_hall": ("lecture_hall",),
    "seminar_room": ("seminar_room", "lecture_hall"),
    "lab": ("lab",),
}
WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri")
SLOT_STARTS: tuple[str, ...] = ("08:00", "10:00", "12:00", "14:00", "16:00", "18:00")  # two-hour slots
SURVEY_BINS: tuple[int, ...] = (0, 25, 50, 75, 100)  # % of the room's capacity seen full
COUNT_METHODS: tuple[str, ...] = ("card", "manual")

TERM_WEEKS = 16
CURRENT_WEEK = 9  # the last term is observed up to this week; the next one is the week to forecast
HOLIDAY_WEEK = 7  # a public holiday falls on one weekday of this week
MIDTERM_WEEK = 8
EXAM_WEEKS = (15, 16)
SURVEY_WEEKS = (4, 11)  # weeks a utilisation survey walks every room
WALKING_METRES_PER_MINUTE = 80.0
WALKING_DETOUR = 1.3  # paths are longer than the straight line between two entrances

# Columns of the frames shared by the generator and ml.data.campus_sql's loaders.
SECTION_COLUMNS: tuple[str, ...] = (
    "section_code",
    "course_code",
    "level",
    "registered",
    "needs_type",
    "needs_accessible",
)
ROOM_COLUMNS: tuple[str, ...] = ("venue_code", "building_code", "venue_type", "capacity", "safe_capacity", "accessible")
TIMETABLE_COLUMNS: tuple[str, ...] = ("session_id", "term_code", *SECTION_COLUMNS, "weekday", "slot", *ROOM_COLUMNS)
SIGNAL_COLUMNS: tuple[str, ...] = ("head_count", "survey_pct", "wifi_avg", "wifi_max", "co2_ppm")
OBSERVATION_COLUMNS: tuple[str, ...] = (
    "session_id",
    "term_code",
    "term_index",
    "week",
    "date",
    "weekday",
    "slot",
    *SECTION_COLUMNS,
    *ROOM_COLUMNS,
    "cancelled",
    "count_method",
    *SIGNAL_COLUMNS,
)

_CAMPUS_CENTRE = (-22.8175, -47.0690)  # latitude, longitude of a fictional campus
_CAMPUS_SIZE_M = (1000.0, 800.0)
_BUILDING_NAMES = (
    "Main Hall",
    "Science Block",
    "Library",
    "Engineering",
    "Arts Centre",
    "Business School",
    "Health Sciences",
    "Computing",
    "Humanities",
    "Student Union",
    "Chemistry",
    "Physics",
    "Education",
    "Law",
    "Music",
    "Medicine",
    "Mathematics",
    "Biology",
    "Architecture",
    "Languages",
    "Psychology",
    "Geography",
    "Agriculture",
    "Pharmacy",
    "Nursing",
    "Sports Centre",
)
_TYPE_SHARES = (0.35, 0.45, 0.20)  # lecture halls, seminar rooms, labs
_ROOMS_PER_FLOOR = 8
_PAIRED_SHARE = 0.6  # sections meeting twice a week
_PAIR_DAYS = np.array([[0, 2], [1, 3]])  # Mon/Wed, Tue/Thu
_SLOT_POPULARITY = np.array([0.55, 1.0, 0.8, 1.0, 0.85, 0.45])
_DAY_POPULARITY = np.array([1.0, 1.0, 1.0, 1.0, 0.6])
_FILL_KINDS = np.array([[0.55, 1.0], [1.05, 1.5], [0.12, 0.35]])  # fitting, overbooked, under-used: seats filled
_FILL_SHARES = (0.80, 0.12, 0.08)
_ACCESSIBLE_NEED = 0.12  # share of sections in accessible rooms that need one

# Show-up on the logit scale: the effects named in the module docstring.
_BASE_LOGIT = 2.0
_SLOT_EFFECT = np.array([-0.45, 0.0, -0.1, 0.0, -0.1, -0.3])
_DAY_EFFECT = np.array([-0.05, 0.0, 0.0, 0.0, -0.35])
_WEEKLY_DECLINE = 0.065
_WEEK_EFFECT = np.zeros(TERM_WEEKS + 1)
_WEEK_EFFECT[[1, HOLIDAY_WEEK, MIDTERM_WEEK, *EXAM_WEEKS]] = [-0.1, -0.25, -0.3, -0.55, -0.7]
_CANCEL_RATE = 0.015
_CANCELLED_UNRECORDED = 0.4  # share of cancelled sessions that leave no observation at all


@dataclass
class CampusData:
    """Generated campus tables; `timetable()` and `observation_frame()` join them for modelling.

    `sessions.session_id` numbers the generated class sessions; the SQL loaders put the stored ids there.
    `observations.true_attendance` is the generator's ground truth: no campus records it, so it is not stored.
    """

    buildings: pd.DataFrame  # building_code, name, latitude, longitude
    venues: pd.DataFrame  # venue_code, building_code, venue_type, capacity, safe_capacity, accessible
    terms: pd.DataFrame  # term_code, name, start_date, is_current
    # session_id, term_code, section_code, course_code, level, registered, needs_type, needs_accessible,
    # venue_code, weekday, slot
    sessions: pd.DataFrame
    # session_id, week, date, venue_code, cancelled, count_method, SIGNAL_COLUMNS, true_attendance
    observations: pd.DataFrame

    def timetable(self) -> pd.DataFrame:
        """Every class session with its venue: the `TIMETABLE_COLUMNS` frame."""
        venues = self.venues.drop(columns="name", errors="ignore")
        return self.sessions.merge(venues, on="venue_code", how="left")[list(TIMETABLE_COLUMNS)]

    def observation_frame(self) -> pd.DataFrame:
        """Observations joined to their session and venue: `OBSERVATION_COLUMNS` plus `true_attendance`."""
        sessions = self.sessions.drop(columns="venue_code")
        venues = self.venues.drop(columns="name", errors="ignore")
        frame = self.observations.merge(sessions, on="session_id", how="left").merge(
            venues, on="venue_code", how="left"
        )
        positions = {code: i for i, code in enumerate(self.terms["term_code"])}
        frame["term_index"] = frame["term_code"].map(positions).astype("int64")
        return frame[[*OBSERVATION_COLUMNS, "true_attendance"]]


def generate_scale(name: str, seed: int = 0) -> CampusData:
    """Generate one of the named `SCALES` ("demo" or "full")."""
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; choose one of {sorted(SCALES)}")
    return generate_campus(**SCALES[name], seed=seed)


def generate_campus(n_buildings: int, n_venues: int, n_sections: int, n_years: int, seed: int = 0) -> CampusData:
    """Generate a reproducible campus with `2 * n_years` terms, the last one current (observed to CURRENT_WEEK)."""
    if min(n_buildings, n_venues, n_sections, n_years) < 1:
        raise ValueError("n_buildings, n_venues, n_sections and n_years must be positive")
    if n_buildings > len(_BUILDING_NAMES):
        raise ValueError(f"at most {len(_BUILDING_NAMES)} buildings")
    rng = np.random.default_rng(seed)
    buildings, accessible_share = _buildings(rng, n_buildings)
    venues = _venues(rng, buildings, accessible_share, n_venues)
    terms = _terms(2 * n_years)
    courses = _courses(rng, max(n_sections * 2 // 3, 8))
    sessions = pd.concat(
        [_term_timetable(rng, venues, courses, n_sections, code) for code in terms["term_code"]], ignore_index=True
    )
    sessions.insert(0, "session_id", np.arange(len(sessions), dtype="int64"))
    observations = _observations(rng, venues, terms, courses, sessions)
    return CampusData(buildings=buildings, venues=venues, terms=terms, sessions=sessions, observations=observations)


def walking_distances(buildings: pd.DataFrame) -> pd.DataFrame:
    """Walking metres between buildings (square frame indexed by building_code both ways), from coordinates.

    Great-circle distance between the buildings' coordinates times a detour factor; 0 within a building.
    """
    lat = np.radians(buildings["latitude"].to_numpy(dtype=float))
    lon = np.radians(buildings["longitude"].to_numpy(dtype=float))
    dlat, dlon = lat[:, None] - lat[None, :], lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    metres = 2 * 6_371_000 * np.arcsin(np.sqrt(h)) * WALKING_DETOUR
    codes = buildings["building_code"].astype(str).tolist()
    return pd.DataFrame(np.rint(np.nan_to_num(metres)).astype("int64"), index=codes, columns=codes)


def walking_minutes(metres: float) -> int:
    """Whole minutes to walk `metres` (at least 1 between buildings)."""
    return 0 if metres <= 0 else max(1, round(metres / WALKING_METRES_PER_MINUTE))


def _buildings(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    x = rng.uniform(0.0, _CAMPUS_SIZE_M[0], n)
    y = rng.uniform(0.0, _CAMPUS_SIZE_M[1], n)
    lat0, lon0 = _CAMPUS_CENTRE
    latitude = lat0 + (y - _CAMPUS_SIZE_M[1] / 2) / 111_320.0
    longitude = lon0 + (x - _CAMPUS_SIZE_M[0] / 2) / (111_320.0 * np.cos(np.radians(lat0)))
    accessible_share = rng.uniform(0.5, 1.0, n)  # older buildings have fewer step-free rooms
    buildings = pd.DataFrame(
        {
            "building_code": pd.Series([chr(ord("A") + i) for i in range(n)], dtype="str"),
            "name": pd.Series(_BUILDING_NAMES[:n], dtype="str"),
            "latitude": np.round(latitude, 6),
            "longitude": np.round(longitude, 6),
        }
    )
    return buildings, accessible_share


def _venues(rng: np.random.Generator, buildings: pd.DataFrame, accessible_share: np.ndarray, n: int) -> pd.DataFrame:
    weights = rng.uniform(0.6, 1.4, len(buildings))
    building = np.sort(rng.choice(len(buildings), size=n, p=weights / weights.sum()))
    building[: len(buildings)] = np.arange(min(n, len(buildings)))  # every building has at least one room
    building.sort()
    kind = rng.choice(len(VENUE_TYPES), size=n, p=_TYPE_SHARES)
    median, spread, low, high, step = (
        np.array([110.0, 32.0, 28.0])[kind],
        np.array([0.55, 0.35, 0.25])[kind],
        np.array([50, 12, 12])[kind],
        np.array([450, 70, 60])[kind],
        np.array([10, 2, 2])[kind],
    )
    capacity = np.clip(np.exp(rng.normal(np.log(median), spread)), low, high)
    capacity = (np.rint(capacity / step) * step).astype("int64")
    limited = rng.random(n) < 0.6
    safe = np.where(limited, np.floor(capacity * rng.uniform(0.78, 0.98, n)), capacity).astype("int64")
    accessible = rng.random(n) < accessible_share[building]
    rank = np.arange(n) - np.searchsorted(building, building, side="left")  # room number within its building
    codes = buildings["building_code"].to_numpy()[building]
    venue_code = [
        f"{b}-{1 + r // _ROOMS_PER_FLOOR}{1 + r % _ROOMS_PER_FLOOR:02d}" for b, r in zip(codes, rank, strict=True)
    ]
    return pd.DataFrame(
        {
            "venue_code": pd.Series(venue_code, dtype="str"),
            "building_code": pd.Series(codes, dtype="str"),
            "venue_type": pd.Series(np.array(VENUE_TYPES)[kind], dtype="str"),
            "capacity": capacity,
            "safe_capacity": safe,
            "accessible": accessible,
        }
    )


def _terms(n_terms: int) -> pd.DataFrame:
    """The academic generator's terms; each starts on the first Monday of its month."""
    terms = semesters(n_terms)
    first = pd.DatetimeIndex(terms.pop("opens"))
    start = first + pd.to_timedelta((7 - first.day_of_week) % 7, unit="D")
    return terms.assign(start_date=start, is_current=np.arange(n_terms) == n_terms - 1)


def _courses(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """A catalogue of distinct course codes (department, level 1-4, number 01-99), sorted by level."""
    prefixes = np.array(list(DEPARTMENTS))
    per_department = 4 * 99
    pick = rng.choice(len(prefixes) * per_department, size=min(n, len(prefixes) * per_department), replace=False)
    dept, rest = np.divmod(pick, per_department)
    level, number = rest // 99 + 1, rest % 99 + 1
    order = np.lexsort((pick, level))
    code = np.char.add(np.char.add(prefixes[dept], level.astype(str)), np.char.zfill(number.astype(str), 2))
    return pd.DataFrame(
        {
            "course_code": pd.Series(code[order], dtype="str"),
            "level": level[order].astype("int64"),
            "show_up": rng.normal(0.0, 0.35, len(pick)),  # latent: some courses are simply better attended
            "decline": np.exp(rng.normal(0.0, 0.3, len(pick))),  # latent: how fast attendance falls away
        }
    )


def _term_timetable(
    rng: np.random.Generator, venues: pd.DataFrame, courses: pd.DataFrame, n_sections: int, term_code: str
) -> pd.DataFrame:
    """One term's timetable: each section on free cells only, so no venue ever holds two sessions at once."""
    n_venues, n_days, n_slots = len(venues), len(WEEKDAYS), len(SLOT_STARTS)
    n_paired = round(_PAIRED_SHARE * n_sections)
    n_single = n_sections - n_paired

    # Paired sections take a (venue, slot, Mon/Wed | Tue/Thu) unit; units never overlap.
    unit_weight = np.broadcast_to(_SLOT_POPULARITY[None, :, None], (n_venues, n_slots, 2)).ravel()
    if n_paired > unit_weight.size:
        raise ValueError(f"{n_sections} sections do not fit in {n_venues} venues")
    units = rng.choice(unit_weight.size, size=n_paired, replace=False, p=unit_weight / unit_weight.sum())
    p_venue, p_slot, p_pattern = np.unravel_index(units, (n_venues, n_slots, 2))
    busy = np.zeros((n_venues, n_days, n_slots), dtype=bool)
    busy[p_venue[:, None], _PAIR_DAYS[p_pattern], p_slot[:, None]] = True

    # Single-meeting sections take any cell still free.
    free = np.flatnonzero(~busy.ravel())
    if n_single > free.size:
        raise ValueError(f"{n_sections} sections do not fit in {n_venues} venues")
    cell_weight = np.broadcast_to(_DAY_POPULARITY[:, None] * _SLOT_POPULARITY[None, :], busy.shape).ravel()[free]
    cells = free[rng.choice(free.size, size=n_single, replace=False, p=cell_weight / cell_weight.sum())]
    s_venue, s_day, s_slot = np.unravel_index(cells, busy.shape)

    # Sections: registration follows the room (mostly fitting, some overbooked or nearly empty).
    venue = np.concatenate([p_venue, s_venue])
    slot = np.concatenate([p_slot, s_slot])
    capacity = venues["capacity"].to_numpy()[venue]
    fill_kind = rng.choice(len(_FILL_SHARES), size=n_sections, p=_FILL_SHARES)
    fill = rng.uniform(_FILL_KINDS[fill_kind, 0], _FILL_KINDS[fill_kind, 1])
    registered = np.maximum(5, np.rint(capacity * fill)).astype("int64")
    venue_type = venues["venue_type"].to_numpy()[venue]
    needs_type = venue_type.copy()
    small_seminar = (venue_type == "lecture_hall") & (fill_kind == 2) & (rng.random(n_sections) < 0.5)
    needs_type[small_seminar] = "seminar_room"  # a seminar left in a hall: fits, but wastes it
    needs_accessible = venues["accessible"].to_numpy()[venue] & (rng.random(n_sections) < _ACCESSIBLE_NEED)

    # Big sections are mostly first-year courses, small ones later years.
    score = -np.log(registered) + rng.normal(0.0, 0.7, n_sections)
    level = 1 + (4 * np.argsort(np.argsort(score))) // n_sections
    levels = courses["level"].to_numpy()
    lo, hi = np.searchsorted(levels, level, side="left"), np.searchsorted(levels, level, side="right")
    empty = hi == lo  # a tiny catalogue may lack a level: any course then
    lo, hi = np.where(empty, 0, lo), np.where(empty, len(courses), hi)
    course = lo + (rng.random(n_sections) * (hi - lo)).astype("int64")
    course_code = courses["course_code"].to_numpy()[course]
    number = pd.Series(course_code).groupby(course_code).cumcount().to_numpy() + 1
    section_code = np.char.add(np.char.add(course_code.astype(str), "-"), np.char.zfill(number.astype(str), 2))

    # Meetings: paired sections twice (same room and slot), the others once.
    section = np.concatenate([np.repeat(np.arange(n_paired), 2), np.arange(n_paired, n_sections)])
    weekday = np.concatenate([_PAIR_DAYS[p_pattern].ravel(), s_day])
    return pd.DataFrame(
        {
            "term_code": pd.Series([term_code] * len(section), dtype="str"),
            "section_code": pd.Series(section_code[section], dtype="str"),
            "course_code": pd.Series(course_code[section], dtype="str"),
            "level": courses["level"].to_numpy()[course][section],
            "registered": registered[section],
            "needs_type": pd.Series(needs_type[section], dtype="str"),
            "needs_accessible": needs_accessible[section],
            "venue_code": pd.Series(venues["venue_code"].to_numpy()[venue][section], dtype="str"),
            "weekday": weekday.astype("int64"),
            "slot": slot[section].astype("int64"),
        }
    )


def _observations(
    rng: np.random.Generator,
    venues: pd.DataFrame,
    terms: pd.DataFrame,
    courses: pd.DataFrame,
    sessions: pd.DataFrame,
) -> pd.DataFrame:
    """One row per session and week that left any trace: attendance drawn, then what the campus measured."""
    term_of = sessions["term_code"].map({code: i for i, code in enumerate(terms["term_code"])}).to_numpy()
    n_weeks = np.where(terms["is_current"].to_numpy(), CURRENT_WEEK, TERM_WEEKS)[term_of]
    s = np.repeat(np.arange(len(sessions)), n_weeks)
    week = np.arange(len(s)) - np.repeat(np.cumsum(n_weeks) - n_weeks, n_weeks) + 1
    n = len(s)
    weekday = sessions["weekday"].to_numpy()[s]
    slot = sessions["slot"].to_numpy()[s]
    start = terms["start_date"].to_numpy().astype("datetime64[D]")[term_of[s]]
    date = start + (7 * (week - 1) + weekday).astype("timedelta64[D]")

    course_index = pd.Series(np.arange(len(courses)), index=courses["course_code"])
    c = course_index.loc[sessions["course_code"]].to_numpy()[s]
    section, sections = pd.factorize(sessions["term_code"] + "/" + sessions["section_code"])
    section_effect = rng.normal(0.0, 0.25, len(sections))[section[s]]
    days, day_of = np.unique(date, return_inverse=True)
    weather = rng.normal(0.0, 0.15, len(days)) - 0.25 * (rng.random(len(days)) < 0.12)  # rain keeps people home
    registered = sessions["registered"].to_numpy()[s]
    level = sessions["level"].to_numpy()[s]
    logit = (
        _BASE_LOGIT
        + courses["show_up"].to_numpy()[c]
        + section_effect
        + 0.12 * (level - 1)
        - 0.25 * np.log(registered / 40.0)
        + _SLOT_EFFECT[slot]
        + _DAY_EFFECT[weekday]
        - _WEEKLY_DECLINE * courses["decline"].to_numpy()[c] * (week - 1)
        + _WEEK_EFFECT[week]
        + weather[day_of]
        + rng.normal(0.0, 0.15, n)
    )
    attendance = rng.binomial(registered, 1.0 / (1.0 + np.exp(-logit)))

    holiday = rng.integers(0, len(WEEKDAYS), len(terms))[term_of[s]]
    cancelled = ((week == HOLIDAY_WEEK) & (weekday == holiday)) | (rng.random(n) < _CANCEL_RATE)
    attendance = np.where(cancelled, 0, attendance)

    # What each venue can measure: card readers, Wi-Fi access points, CO2 sensors.
    venue_index = pd.Series(np.arange(len(venues)), index=venues["venue_code"])
    v = venue_index.loc[sessions["venue_code"]].to_numpy()[s]
    n_venues = len(venues)
    has_card, has_wifi, has_co2 = (rng.random((3, n_venues)) < np.array([[0.55], [0.5], [0.35]]))[:, v]
    ventilation = rng.uniform(0.7, 1.3, n_venues)[v]
    capacity = venues["capacity"].to_numpy()[v]

    manual = ~has_card & (rng.random(n) < 0.35)
    card_count = rng.binomial(attendance, 0.94)  # some students do not tap in
    manual_count = np.maximum(0, attendance + np.rint(rng.normal(0.0, 1.0 + 0.03 * attendance)))
    head_count = np.where(has_card, card_count, np.where(manual & ~cancelled, manual_count, np.nan))
    count_method = np.where(has_card, "card", np.where(manual & ~cancelled, "manual", None))

    surveyed = (np.isin(week, SURVEY_WEEKS) | (rng.random(n) < 0.03)) & ~cancelled
    survey = 25.0 * np.rint(4 * np.minimum(attendance / capacity, 1.0))
    survey_pct = np.where(surveyed, survey, np.nan)

    devices = attendance * rng.normal(1.15, 0.1, n)  # phones and laptops per person
    wifi_avg = np.round(0.85 * devices + rng.poisson(1.5, n), 1)
    wifi_max = np.maximum(np.rint(1.3 * devices + rng.poisson(3.0, n)), np.ceil(wifi_avg))
    co2 = 420.0 + 1400.0 * (attendance / capacity) * ventilation * rng.normal(1.0, 0.07, n)
    dropout = rng.random((2, n)) < 0.03  # sensors offline
    wifi_ok, co2_ok = has_wifi & ~dropout[0], has_co2 & ~dropout[1]

    keep = np.isfinite(head_count) | surveyed | wifi_ok | co2_ok | cancelled
    keep &= ~(cancelled & (rng.random(n) < _CANCELLED_UNRECORDED))
    frame = pd.DataFrame(
        {
            "session_id": sessions["session_id"].to_numpy()[s],
            "week": week.astype("int64"),
            "date": pd.to_datetime(date),
            "venue_code": pd.Series(venues["venue_code"].to_numpy()[v], dtype="str"),
            "cancelled": cancelled,
            "count_method": pd.Series(count_method, dtype="str"),
            "head_count": head_count,
            "survey_pct": survey_pct,
            "wifi_avg": np.where(wifi_ok, wifi_avg, np.nan),
            "wifi_max": np.where(wifi_ok, wifi_max, np.nan),
            "co2_ppm": np.where(co2_ok, np.round(co2), np.nan),  # the session's peak reading
            "true_attendance": attendance.astype("int64"),
        }
    )
    return frame[keep].reset_index(drop=True)
