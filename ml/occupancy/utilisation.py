"""How the rooms are used: measured fill per session, the week's heatmap, the term's trend, half-empty bookings.

Fill is measured attendance over the room's capacity (seats), for each session that met; a cell of the week
with no session is free. Measured attendance is the models' (`ml.occupancy.features.measured_attendance`):
head counts, else surveys, else Wi-Fi devices turned into people. The frames are read once per process and
data version (`ml.occupancy.store.data_version`), so a click on a filter never rereads the observations.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from ml.data.campus import SLOT_STARTS, TERM_WEEKS, WEEKDAYS
from ml.data.campus_sql import load_observations
from ml.occupancy.features import TARGET_SOURCES, learn_wifi_per_person, measured_attendance
from ml.occupancy.store import data_version

UNDER_USED_FILL = 0.35  # a booking whose sessions fill less than this share of the seats, on average, wastes the room
MIN_WEEKS = 2  # weeks a booking must have been measured in to be judged
CELLS_PER_WEEK = len(WEEKDAYS) * len(SLOT_STARTS)
SESSION_COLUMNS = (
    "session_id",
    "section_code",
    "venue_code",
    "building_code",
    "venue_type",
    "capacity",
    "safe_capacity",
    "weekday",
    "slot",
    "week",
    "registered",
    "attendance",
    "fill",
    "source",
)

_cache: dict[tuple, pd.DataFrame] = {}
_lock = threading.Lock()


def measured_sessions(term_code: str) -> pd.DataFrame:
    """Every held session of the term with measured attendance and its fill (`SESSION_COLUMNS`)."""
    key = (term_code, *data_version())
    with _lock:
        if key not in _cache:
            if len(_cache) > 8:
                _cache.clear()
            _cache[key] = _measured(term_code)
        return _cache[key]


def heatmap(sessions: pd.DataFrame, *, week: int | None = None, building: str | None = None) -> pd.DataFrame:
    """Mean fill per room (rows) and weekday x slot (columns "Mon 08:00", ...); NaN where no session met."""
    chosen = sessions
    if week is not None:
        chosen = chosen[chosen["week"] == week]
    if building:
        chosen = chosen[chosen["building_code"] == building]
    cells = [f"{day} {start}" for day in WEEKDAYS for start in SLOT_STARTS]
    if chosen.empty:
        return pd.DataFrame(columns=cells, dtype=float)
    cell = chosen["weekday"].map(dict(enumerate(WEEKDAYS))) + " " + chosen["slot"].map(dict(enumerate(SLOT_STARTS)))
    table = chosen.assign(cell=cell).pivot_table(index="venue_code", columns="cell", values="fill", aggfunc="mean")
    return table.reindex(columns=cells).sort_index()


def trend(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per week (and room type): sessions, fill (attendance over seats) and show-up (over registered)."""
    if sessions.empty:
        return pd.DataFrame(columns=["week", "venue_type", "sessions", "fill", "show_up"])
    totals = {
        "sessions": ("session_id", "size"),
        "attendance": ("attendance", "sum"),
        "capacity": ("capacity", "sum"),
        "registered": ("registered", "sum"),
    }
    grouped = sessions.groupby(["week", "venue_type"], as_index=False).agg(**totals)
    overall = sessions.groupby("week", as_index=False).agg(**totals)
    table = pd.concat([grouped, overall.assign(venue_type="all rooms")], ignore_index=True)
    table["fill"] = table["attendance"] / table["capacity"]
    table["show_up"] = table["attendance"] / table["registered"]
    return table[["week", "venue_type", "sessions", "fill", "show_up"]].sort_values(["venue_type", "week"])


def under_used(sessions: pd.DataFrame, *, threshold: float = UNDER_USED_FILL) -> pd.DataFrame:
    """Bookings (a section in a room) whose sessions fill under `threshold` of the seats on average, emptiest
    first, with the size of room that would do (the 90th percentile of their attendance) and how much of the
    week the room is booked."""
    columns = [
        "venue_code",
        "section_code",
        "building_code",
        "venue_type",
        "capacity",
        "weeks",
        "mean_attendance",
        "p90_attendance",
        "mean_fill",
        "room_booked_share",
    ]
    if sessions.empty:
        return pd.DataFrame(columns=columns)
    keys = ["venue_code", "section_code", "building_code", "venue_type", "capacity"]
    bookings = sessions.groupby(keys, as_index=False).agg(
        weeks=("week", "nunique"),
        mean_attendance=("attendance", "mean"),
        p90_attendance=("attendance", lambda a: float(np.quantile(a, 0.9))),
        mean_fill=("fill", "mean"),
    )
    per_room = sessions.groupby("venue_code").agg(n=("session_id", "size"), weeks=("week", "nunique"))
    booked = per_room["n"] / per_room["weeks"] / CELLS_PER_WEEK
    bookings["room_booked_share"] = bookings["venue_code"].map(booked)
    chosen = bookings[(bookings["weeks"] >= MIN_WEEKS) & (bookings["mean_fill"] < threshold)]
    return chosen.sort_values(["mean_fill", "venue_code"])[columns].reset_index(drop=True)


def term_weeks(sessions: pd.DataFrame) -> list[int]:
    return sorted(int(w) for w in sessions["week"].unique()) if len(sessions) else []


def _measured(term_code: str) -> pd.DataFrame:
    observations = load_observations([term_code])
    attendance, source = measured_attendance(observations, learn_wifi_per_person(observations))
    keep = np.isfinite(attendance) & observations["venue_code"].notna().to_numpy()
    frame = observations.loc[keep].assign(attendance=attendance[keep], source=np.array(TARGET_SOURCES)[source[keep]])
    frame["fill"] = frame["attendance"] / frame["capacity"].astype(float)
    frame = frame[frame["week"] <= max(TERM_WEEKS, int(frame["week"].max()) if len(frame) else 0)]
    return frame[list(SESSION_COLUMNS)].reset_index(drop=True)
