""" "Will this class fit?": one hypothetical session scored by the production models, fast enough to type into.

The question names a course level, registered students, a room, a weekday, a slot and a week of the current
term. The answer is the attendance forecast with its interval, the fill rate, the overcrowding probability and
rooms that would fit better (free at that time, of a fitting type, holding the upper end of the interval within
the limit). A hypothetical session has no history of its own; the campus-wide show-up rate of the last observed
week is known, as for every forecast. Features come from `FeatureBuilder.vector` (no pandas per call): the
same model inputs as the batch path, which the tests check.

What the answer reads from the database (rooms, the term's busy cells, the campus's weekly rates) is built once
per data version (`ml.occupancy.store.data_version`, looked up at most every `VERSION_TTL_S` seconds).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ml.data.campus import FITTING_VENUE_TYPES, SLOT_STARTS, WEEKDAYS
from ml.data.campus_sql import load_observations, load_timetable, load_venues, load_walking_distances
from ml.occupancy.features import measured_attendance
from ml.occupancy.store import data_version, forecast_horizon

if TYPE_CHECKING:
    from ml.occupancy.model import OccupancyModel
    from ml.overcrowding.model import OvercrowdingModel

VERSION_TTL_S = 2.0
BETTER_ROOMS = 5
MAX_REGISTERED = 5000
LEVELS = (1, 2, 3, 4, 5, 6)


class InvalidQuestion(ValueError):
    """An input of the form that cannot be answered; `field` names it, the message says what to enter."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(message)


@dataclass(frozen=True)
class FitQuestion:
    level: int
    registered: int
    venue_code: str
    weekday: int
    slot: int
    week: int


@dataclass
class FitAnswer:
    question: FitQuestion
    forecast: float
    lower: float
    upper: float
    capacity: int
    safe_capacity: int
    limit: float  # share x safe capacity
    probability: float | None  # None: no overcrowding model in production
    threshold: float | None
    better_rooms: list[dict] = field(default_factory=list)

    @property
    def fill_rate(self) -> float:
        return self.forecast / self.capacity

    @property
    def verdict(self) -> str:
        """ "fits", "at risk" (the interval reaches over the limit) or "overcrowded" (the forecast is over it)."""
        if self.forecast > self.limit:
            return "overcrowded"
        return "at risk" if self.upper > self.limit else "fits"


@dataclass
class CampusContext:
    """What every answer of one data version reads: the term, its busy cells, the rooms, recent show-up."""

    term_code: str
    as_of: int
    last_week: int
    venues: dict[str, dict]
    busy: set[tuple[str, int, int]]
    campus_rates: dict[int, float]
    distances: dict[tuple[str, str], int]

    def campus_rate_as_of(self, week: int) -> float:
        known = [w for w in self.campus_rates if w <= week]
        return self.campus_rates[max(known)] if known else float("nan")


_context: dict = {"checked": 0.0, "version": None, "value": None}
_lock = threading.Lock()


def campus_context(wifi_per_person: float | None) -> CampusContext | None:
    """The current term's context (None: no timetable), rebuilt when the data version changes."""
    with _lock:
        now = time.monotonic()
        if now - _context["checked"] > VERSION_TTL_S:
            version = (data_version(), wifi_per_person)
            if version != _context["version"]:
                _context["value"], _context["version"] = _build_context(wifi_per_person), version
            _context["checked"] = now
        return _context["value"]


def validate(raw: dict, context: CampusContext) -> FitQuestion:
    """The form's values as a question, or InvalidQuestion naming the first field to fix."""
    level = _whole(raw.get("level"), "level", "course level", LEVELS[0], LEVELS[-1])
    registered = _whole(raw.get("registered"), "registered", "registered students", 1, MAX_REGISTERED)
    venue = raw.get("venue_code")
    if not isinstance(venue, str) or venue not in context.venues:
        raise InvalidQuestion("venue_code", "Choose a room from the list.")
    weekday = _whole(raw.get("weekday"), "weekday", "weekday", 0, len(WEEKDAYS) - 1)
    slot = _whole(raw.get("slot"), "slot", "slot", 0, len(SLOT_STARTS) - 1)
    week = _whole(raw.get("week"), "week", "week of term", 1, context.last_week)
    return FitQuestion(level, registered, venue, weekday, slot, week)


def answer(
    question: FitQuestion, occupancy: OccupancyModel, overcrowding: OvercrowdingModel | None, context: CampusContext
) -> FitAnswer:
    """Forecast, interval, overcrowding probability and better rooms for one question."""
    venue = context.venues[question.venue_code]
    values = _values(question, venue, context)
    X = occupancy.builder.vector(values)
    forecast, lower, upper = (
        float(a[0]) for a in occupancy.forecast_matrix(X, [question.registered], [values["weeks_ahead"]])
    )
    share = overcrowding.share if overcrowding is not None else 1.0
    probability = threshold = None
    if overcrowding is not None:
        probability = float(overcrowding.probability_matrix(overcrowding.builder.vector(values))[0])
        threshold = float(overcrowding.threshold)
    limit = share * venue["safe_capacity"]
    result = FitAnswer(
        question, forecast, lower, upper, venue["capacity"], venue["safe_capacity"], limit, probability, threshold
    )
    if upper > limit or forecast < 0.35 * venue["capacity"]:
        result.better_rooms = better_rooms(question, upper, share, context)
    return result


def better_rooms(question: FitQuestion, demand: float, share: float, context: CampusContext) -> list[dict]:
    """Free rooms of a fitting type at that time whose limit holds `demand`, snuggest first, nearest on ties."""
    own = context.venues[question.venue_code]
    fitting = FITTING_VENUE_TYPES.get(own["venue_type"], (own["venue_type"],))
    rooms = []
    for code, venue in context.venues.items():
        if code == question.venue_code or venue["venue_type"] not in fitting:
            continue
        if (code, question.weekday, question.slot) in context.busy or share * venue["safe_capacity"] < demand:
            continue
        metres = context.distances.get((own["building_code"], venue["building_code"]), 0)
        rooms.append({**venue, "venue_code": code, "spare": share * venue["safe_capacity"] - demand, "metres": metres})
    rooms.sort(key=lambda r: (r["spare"], r["metres"], r["venue_code"]))
    return rooms[:BETTER_ROOMS]


def question_row(question: FitQuestion, context: CampusContext) -> dict:
    """The question as a row to forecast (`ml.occupancy.features.ROW_COLUMNS`) for the batch path."""
    venue = context.venues[question.venue_code]
    as_of = min(context.as_of, question.week - 1)
    return {
        "session_id": -1,
        "term_code": context.term_code,
        "term_index": -1,
        "section_code": "(new)",
        "course_code": "(new)",
        "level": question.level,
        "registered": question.registered,
        "venue_type": venue["venue_type"],
        "capacity": venue["capacity"],
        "safe_capacity": venue["safe_capacity"],
        "weekday": question.weekday,
        "slot": question.slot,
        "week": question.week,
        "as_of": as_of,
    }


def _values(question: FitQuestion, venue: dict, context: CampusContext) -> dict:
    as_of = min(context.as_of, question.week - 1)
    return {
        "registered": question.registered,
        "level": question.level,
        "capacity": venue["capacity"],
        "safe_capacity": venue["safe_capacity"],
        "venue_type": venue["venue_type"],
        "weekday": question.weekday,
        "slot": question.slot,
        "week": question.week,
        "as_of": as_of,
        "weeks_ahead": question.week - as_of,
        "section_weeks": 0.0,
        "campus_last": context.campus_rate_as_of(as_of),
    }


def _whole(value, field_name: str, label: str, low: int, high: int) -> int:
    if value is None or value == "":
        raise InvalidQuestion(field_name, f"Enter the {label}.")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidQuestion(field_name, f"The {label} must be a whole number.")
    try:
        number = float(value)
    except ValueError:
        raise InvalidQuestion(field_name, f"The {label} must be a whole number, not {value!r}.") from None
    if not np.isfinite(number) or number != round(number):
        raise InvalidQuestion(field_name, f"The {label} must be a whole number, not {value!r}.")
    if not low <= number <= high:
        raise InvalidQuestion(field_name, f"The {label} must be from {low} to {high}.")
    return int(number)


def _build_context(wifi_per_person: float | None) -> CampusContext | None:
    horizon = forecast_horizon()
    if horizon is None:
        return None
    venues = load_venues()
    timetable = load_timetable(horizon.term_code)
    timetable = timetable[timetable["venue_code"].notna()]
    observations = load_observations([horizon.term_code])
    attendance, _ = measured_attendance(observations, wifi_per_person)
    keep = np.isfinite(attendance) & (observations["registered"].to_numpy(dtype=float) > 0)
    weekly = (
        observations.loc[keep, ["week", "registered"]]
        .assign(attendance=attendance[keep])
        .groupby("week")[["attendance", "registered"]]
        .sum()
    )
    distances = load_walking_distances()
    return CampusContext(
        term_code=horizon.term_code,
        as_of=horizon.as_of,
        last_week=max(horizon.weeks) if horizon.weeks else horizon.as_of,
        venues={
            row.venue_code: {
                "building_code": row.building_code,
                "venue_type": row.venue_type,
                "capacity": int(row.capacity),
                "safe_capacity": int(row.safe_capacity),
                "accessible": bool(row.accessible),
            }
            for row in venues.itertuples()
        },
        busy={(v, int(d), int(s)) for v, d, s in timetable[["venue_code", "weekday", "slot"]].itertuples(index=False)},
        campus_rates={int(w): float(r.attendance / r.registered) for w, r in weekly.iterrows() if r.registered > 0},
        distances={(a, b): int(distances.at[a, b]) for a in distances.index for b in distances.columns},
    )
