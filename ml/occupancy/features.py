"""What is known about a class session before it meets: the features both facilities models read.

A row to forecast is a class session in a week of term, seen from a cutoff week (`as_of`): everything measured
up to and including the cutoff may be used, nothing after it. For the coming week the cutoff is the last
observed week; training rows get a cutoff 1 to `MAX_HORIZON` weeks before their own week (half of them the
week just before), so one model forecasts the coming week and the rest of the term, and says how far ahead it
looks (`weeks_ahead`).

Attendance as campuses measure it (`measured_attendance`), in order of trust: a head count (card swipes or a
manual count); else a survey of the share of the room seen full (0/25/50/75/100 % of its capacity); else Wi-Fi
devices, turned into people by the devices-per-person ratio learnt where a count and Wi-Fi overlap. CO2 is used
only as a signal of past weeks (rooms ventilate too differently to count people by it). Cancelled sessions are
not attendance to forecast and are left out.

Features: the session (registered, level), its room (capacity, safe capacity, type), when it meets (weekday,
slot, week of term, holiday / midterm / exam week of the `Calendar`), and history up to the cutoff: the
section's show-up rate so far and in its last observed week, this meeting's last show-up, the course's rate over
every earlier week and term, the campus-wide rate in the last observed week, and the section's Wi-Fi and CO2 of
its last observed week when the campus has those sensors. History is missing (NaN) where nothing was measured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sklearn.impute import SimpleImputer

from ml.data.campus import EXAM_WEEKS, HOLIDAY_WEEK, MIDTERM_WEEK, SLOT_STARTS, TERM_WEEKS, VENUE_TYPES, WEEKDAYS

MAX_HORIZON = 8  # weeks ahead a training row looks from its cutoff
NEXT_WEEK_SHARE = 0.5  # training rows seen from the week just before them
OUTDOOR_CO2_PPM = 420.0
TARGET_SOURCES = ("head count", "survey", "Wi-Fi")
MIN_WIFI_PAIRS = 20  # sessions with both a count and Wi-Fi needed to learn devices per person
RECENT_WEEKS = 3  # the section's recent show-up: its last RECENT_WEEKS measured weeks

SESSION_FEATURES = (
    "registered",
    "log_registered",
    "level",
    "capacity",
    "safe_capacity",
    "registered_per_seat",
    "registered_per_safe_seat",
    *(f"venue_{kind}" for kind in VENUE_TYPES),
    *(f"weekday_{day}" for day in WEEKDAYS),
    *(f"slot_{start.replace(':', '')}" for start in SLOT_STARTS),
    "week",
    "weeks_ahead",
    "first_week",
    "holiday_week",
    "midterm_week",
    "exam_week",
)
HISTORY_FEATURES = (
    "section_rate",
    "section_recent",
    "section_shrunk",
    "section_last",
    "section_weeks",
    "session_last",
    "course_rate",
    "campus_last",
)
SENSOR_FEATURES = ("wifi_last", "co2_last")
FEATURE_LABELS = {
    "registered": "registered students",
    "level": "course level",
    "capacity": "room capacity",
    "safe_capacity": "safe capacity",
    "week": "week of term",
    "weeks_ahead": "weeks ahead",
    "section_rate": "section's show-up so far",
    "section_recent": "section's show-up in its last 3 weeks",
    "section_shrunk": "section's show-up so far, drawn towards its course's",
    "section_last": "section's show-up last week",
    "session_last": "this meeting's show-up last week",
    "course_rate": "course's show-up in earlier weeks and terms",
    "campus_last": "campus-wide show-up last week",
    "wifi_last": "Wi-Fi devices per registered student last week",
    "co2_last": "CO2 rise per seat last week",
}
# Columns a row to forecast must carry (the observation and timetable frames of ml.data.campus have them).
ROW_COLUMNS = (
    "session_id",
    "term_code",
    "term_index",
    "section_code",
    "course_code",
    "level",
    "registered",
    "venue_type",
    "capacity",
    "safe_capacity",
    "weekday",
    "slot",
    "week",
    "as_of",
)


@dataclass(frozen=True)
class Calendar:
    """Weeks of term with a known effect on attendance (the institution's calendar; the generator's by default)."""

    holiday_weeks: tuple[int, ...] = (HOLIDAY_WEEK,)
    midterm_weeks: tuple[int, ...] = (MIDTERM_WEEK,)
    exam_weeks: tuple[int, ...] = EXAM_WEEKS
    term_weeks: int = TERM_WEEKS

    def as_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def measured_attendance(observations: pd.DataFrame, wifi_per_person: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Attendance of each observation as measured (NaN: not measured, or cancelled) and the index of its source
    in `TARGET_SOURCES` (-1: none)."""
    n = len(observations)
    head = _column(observations, "head_count")
    survey = _column(observations, "survey_pct") / 100.0 * _column(observations, "capacity")
    wifi = _column(observations, "wifi_avg") * (wifi_per_person if wifi_per_person else np.nan)
    value, source = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    for index, measured in enumerate((head, survey, wifi)):
        take = np.isnan(value) & np.isfinite(measured)
        value[take], source[take] = measured[take], index
    cancelled = observations["cancelled"].fillna(False).to_numpy(dtype=bool) if "cancelled" in observations else False
    value[cancelled], source[cancelled] = np.nan, -1
    return value, source


def learn_wifi_per_person(observations: pd.DataFrame) -> float | None:
    """People per Wi-Fi device where sessions have both a head count and Wi-Fi (None when too few overlap)."""
    head, wifi = _column(observations, "head_count"), _column(observations, "wifi_avg")
    both = np.isfinite(head) & np.isfinite(wifi) & (wifi > 0)
    if "cancelled" in observations:
        both &= ~observations["cancelled"].fillna(False).to_numpy(dtype=bool)
    if both.sum() < MIN_WIFI_PAIRS:
        return None
    return float(head[both].sum() / wifi[both].sum())


@dataclass
class FeatureBuilder:
    """Turns rows to forecast, with their history as of a cutoff, into the model's input matrix.

    `fit` decides from the training observations which sensor features exist and how many people a Wi-Fi
    device stands for; both are saved with the model, so scoring builds exactly the training columns.
    """

    calendar: Calendar = field(default_factory=Calendar)
    wifi_per_person: float | None = None
    sensors: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()

    def fit(self, observations: pd.DataFrame) -> FeatureBuilder:
        self.wifi_per_person = learn_wifi_per_person(observations)
        self.sensors = tuple(
            name
            for name, signal in (("wifi_last", "wifi_avg"), ("co2_last", "co2_ppm"))
            if signal in observations and observations[signal].notna().any()
        )
        self.columns = (*SESSION_FEATURES, *HISTORY_FEATURES, *self.sensors)
        return self

    def history(self, observations: pd.DataFrame) -> History:
        """The measured history of these observations, to look rows up in."""
        return History(observations, self.wifi_per_person)

    def frame(self, rows: pd.DataFrame, history: History) -> pd.DataFrame:
        """The features of `rows` (`ROW_COLUMNS`) as a frame in `columns` order, aligned to `rows.index`."""
        looked_up = history.lookup(rows)
        out = session_features(rows, self.calendar)
        for name in (*HISTORY_FEATURES, *self.sensors):
            out[name] = looked_up[name].to_numpy(dtype=np.float64)
        return out[list(self.columns)].set_axis(rows.index)

    def matrix(self, rows: pd.DataFrame, history: History) -> np.ndarray:
        return self.frame(rows, history).to_numpy(dtype=np.float64)

    def vector(self, values: dict[str, float]) -> np.ndarray:
        """One row's input (1 x columns) from named session and history values, missing names as NaN: the live
        form's path, without pandas."""
        session = session_values(
            registered=values["registered"],
            level=values.get("level", np.nan),
            capacity=values["capacity"],
            safe_capacity=values["safe_capacity"],
            venue_type=values["venue_type"],
            weekday=int(values["weekday"]),
            slot=int(values["slot"]),
            week=int(values["week"]),
            as_of=int(values["as_of"]),
            calendar=self.calendar,
        )
        return np.array([[session.get(name, values.get(name, np.nan)) for name in self.columns]], dtype=np.float64)

    def labels(self) -> list[str]:
        """The columns in words, for the model-quality page."""
        return [FEATURE_LABELS.get(name, name.replace("_", " ")) for name in self.columns]

    def params(self) -> dict:
        """What the builder learnt and reads, as a model version's params record it (the model-quality page)."""
        return {
            "features": list(self.columns),
            "feature_labels": self.labels(),
            "sensors": list(self.sensors),
            "wifi_per_person": self.wifi_per_person,
            "calendar": self.calendar.as_dict(),
        }


def feature_imputer() -> SimpleImputer:
    """Median imputation with missing-value indicators, for the candidates that cannot read NaN."""
    from sklearn.impute import SimpleImputer  # lazily: the web process reads this module at start-up

    # keep_empty_features: a sensor column may be blank in every training week and filled later.
    return SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)


def session_features(rows: pd.DataFrame, calendar: Calendar) -> pd.DataFrame:
    """The session, room and calendar features of `rows` (no history)."""
    registered = rows["registered"].to_numpy(dtype=np.float64)
    capacity = rows["capacity"].to_numpy(dtype=np.float64)
    safe = rows["safe_capacity"].to_numpy(dtype=np.float64)
    week = rows["week"].to_numpy(dtype=np.int64)
    weekday = rows["weekday"].to_numpy(dtype=np.int64)
    slot = rows["slot"].to_numpy(dtype=np.int64)
    venue_type = rows["venue_type"].astype(object).to_numpy()
    out = {
        "registered": registered,
        "log_registered": np.log1p(registered),
        "level": pd.to_numeric(rows["level"], errors="coerce").to_numpy(dtype=np.float64),
        "capacity": capacity,
        "safe_capacity": safe,
        "registered_per_seat": registered / capacity,
        "registered_per_safe_seat": registered / safe,
    }
    for kind in VENUE_TYPES:
        out[f"venue_{kind}"] = (venue_type == kind).astype(np.float64)
    for i, day in enumerate(WEEKDAYS):
        out[f"weekday_{day}"] = (weekday == i).astype(np.float64)
    for i, start in enumerate(SLOT_STARTS):
        out[f"slot_{start.replace(':', '')}"] = (slot == i).astype(np.float64)
    out.update(_calendar_flags(week, calendar))
    out["weeks_ahead"] = (week - rows["as_of"].to_numpy(dtype=np.int64)).astype(np.float64)
    return pd.DataFrame(out, index=rows.index)


def session_values(
    *,
    registered: float,
    level: float,
    capacity: float,
    safe_capacity: float,
    venue_type: str,
    weekday: int,
    slot: int,
    week: int,
    as_of: int,
    calendar: Calendar,
) -> dict[str, float]:
    """`session_features` of one row as a dict (same names, same values)."""
    out = {
        "registered": float(registered),
        "log_registered": float(np.log1p(registered)),
        "level": float(level),
        "capacity": float(capacity),
        "safe_capacity": float(safe_capacity),
        "registered_per_seat": registered / capacity,
        "registered_per_safe_seat": registered / safe_capacity,
        "weeks_ahead": float(week - as_of),
    }
    out.update({f"venue_{kind}": float(venue_type == kind) for kind in VENUE_TYPES})
    out.update({f"weekday_{day}": float(weekday == i) for i, day in enumerate(WEEKDAYS)})
    out.update({f"slot_{start.replace(':', '')}": float(slot == i) for i, start in enumerate(SLOT_STARTS)})
    out.update({name: float(flag[0]) for name, flag in _calendar_flags(np.array([week]), calendar).items()})
    return out


def _calendar_flags(week: np.ndarray, calendar: Calendar) -> dict[str, np.ndarray]:
    return {
        "week": week.astype(np.float64),
        "first_week": (week == 1).astype(np.float64),
        "holiday_week": np.isin(week, calendar.holiday_weeks).astype(np.float64),
        "midterm_week": np.isin(week, calendar.midterm_weeks).astype(np.float64),
        "exam_week": np.isin(week, calendar.exam_weeks).astype(np.float64),
    }


class History:
    """Measured attendance by section, meeting, course and campus, week by week, looked up as of a cutoff.

    Rates are attendance over registered students, pooled over the section's meetings in a week. Course history
    runs across terms in term order (`term_index`); the other histories stay within the term.
    """

    def __init__(self, observations: pd.DataFrame, wifi_per_person: float | None):
        attendance, source = measured_attendance(observations, wifi_per_person)
        keep = np.isfinite(attendance) & (observations["registered"].to_numpy(dtype=np.float64) > 0)
        measured = observations.loc[keep, ["session_id", "term_code", "term_index", "section_code", "course_code"]]
        measured = measured.assign(
            week=observations.loc[keep, "week"].to_numpy(dtype=np.int64),
            attendance=attendance[keep],
            registered=observations.loc[keep, "registered"].to_numpy(dtype=np.float64),
        )
        self.n_measured = len(measured)
        self.sources = {TARGET_SOURCES[i]: int((source == i).sum()) for i in range(len(TARGET_SOURCES))}
        self._section = _cumulative(measured, ["term_code", "section_code"], "week")
        self._session = _weekly(measured, ["session_id"], "week")
        measured["t"] = measured["term_index"].to_numpy(dtype=np.int64) * 100 + measured["week"]
        self._course = _cumulative(measured, ["course_code"], "t")
        self._campus = _weekly(measured, ["term_code"], "week")
        self._sensors = _sensor_weeks(observations, keep_rows=~observations["cancelled"].fillna(False).to_numpy(bool))

    def lookup(self, rows: pd.DataFrame) -> pd.DataFrame:
        """`HISTORY_FEATURES` and `SENSOR_FEATURES` of each row as of its `as_of` week (NaN: nothing measured)."""
        left = pd.DataFrame(
            {
                "row": np.arange(len(rows)),
                "session_id": rows["session_id"].to_numpy(),
                "term_code": rows["term_code"].astype(str).to_numpy(),
                "section_code": rows["section_code"].astype(str).to_numpy(),
                "course_code": rows["course_code"].astype(str).to_numpy(),
                "as_of": rows["as_of"].to_numpy(dtype=np.int64),
            }
        )
        left["t"] = rows["term_index"].to_numpy(dtype=np.int64) * 100 + left["as_of"]
        out = pd.DataFrame(index=np.arange(len(rows)))
        section = _as_of(left, self._section, ["term_code", "section_code"], "as_of", "week")
        out["section_rate"] = section["cum_attendance"] / section["cum_registered"]
        out["section_last"] = section["attendance"] / section["registered"]
        out["section_recent"] = section["recent_attendance"] / section["recent_registered"]
        out["section_weeks"] = section["weeks"].fillna(0.0)
        session = _as_of(left, self._session, ["session_id"], "as_of", "week")
        out["session_last"] = session["attendance"] / session["registered"]
        course = _as_of(left, self._course, ["course_code"], "t", "t")
        out["course_rate"] = course["cum_attendance"] / course["cum_registered"]
        campus = _as_of(left, self._campus, ["term_code"], "as_of", "week")
        out["campus_last"] = campus["attendance"] / campus["registered"]
        # A week of the course's rate (else the campus's) as a prior: a section seen for a week or two is noisy.
        prior = out["course_rate"].fillna(out["campus_last"])
        per_week = section["cum_registered"] / section["weeks"]
        shrunk = (section["cum_attendance"] + per_week * prior) / (section["cum_registered"] + per_week)
        out["section_shrunk"] = shrunk.fillna(out["section_rate"])
        sensors = _as_of(left, self._sensors, ["term_code", "section_code"], "as_of", "week")
        out["wifi_last"] = sensors["wifi"]
        out["co2_last"] = sensors["co2"]
        return out.astype(np.float64)

    def campus_rates(self, term_code: str) -> pd.Series:
        """The campus-wide show-up rate of each measured week of a term."""
        weeks = self._campus[self._campus["term_code"] == term_code]
        return pd.Series((weeks["attendance"] / weeks["registered"]).to_numpy(), index=weeks["week"].to_numpy())


def _weekly(measured: pd.DataFrame, by: list[str], on: str) -> pd.DataFrame:
    return measured.groupby([*by, on], as_index=False, sort=False)[["attendance", "registered"]].sum()


def _cumulative(measured: pd.DataFrame, by: list[str], on: str) -> pd.DataFrame:
    """Per group and `on` step: that step's totals and the running totals up to it."""
    weekly = _weekly(measured, by, on).sort_values([*by, on], kind="stable")
    grouped = weekly.groupby(by, sort=False)
    weekly["cum_attendance"] = grouped["attendance"].cumsum()
    weekly["cum_registered"] = grouped["registered"].cumsum()
    weekly["weeks"] = grouped.cumcount().astype(np.float64) + 1.0
    for total in ("attendance", "registered"):
        before = weekly.groupby(by, sort=False)[f"cum_{total}"].shift(RECENT_WEEKS).fillna(0.0)
        weekly[f"recent_{total}"] = weekly[f"cum_{total}"] - before
    return weekly.reset_index(drop=True)


def _sensor_weeks(observations: pd.DataFrame, keep_rows: np.ndarray) -> pd.DataFrame:
    """Per section and week: Wi-Fi devices per registered student and CO2 rise per seat (NaN: not measured)."""
    registered = observations["registered"].to_numpy(dtype=np.float64)
    capacity = _column(observations, "capacity")
    frame = pd.DataFrame(
        {
            "term_code": observations["term_code"].astype(str).to_numpy(),
            "section_code": observations["section_code"].astype(str).to_numpy(),
            "week": observations["week"].to_numpy(dtype=np.int64),
            "wifi": np.where(registered > 0, _column(observations, "wifi_avg") / np.maximum(registered, 1), np.nan),
            "co2": (_column(observations, "co2_ppm") - OUTDOOR_CO2_PPM) / capacity,
        }
    )[keep_rows]
    frame = frame[frame[["wifi", "co2"]].notna().any(axis=1)]
    return frame.groupby(["term_code", "section_code", "week"], as_index=False, sort=False)[["wifi", "co2"]].mean()


def _as_of(left: pd.DataFrame, right: pd.DataFrame, by: list[str], left_on: str, right_on: str) -> pd.DataFrame:
    """For each left row, the latest right row of its group at or before its cutoff (NaN when none)."""
    values = [c for c in right.columns if c not in (*by, right_on)]
    if right.empty:
        return pd.DataFrame({c: np.full(len(left), np.nan) for c in values})
    keyed = right.rename(columns={right_on: "_at"})
    keyed["_at"] = keyed["_at"].astype(np.int64)
    ordered = left[["row", *by, left_on]].rename(columns={left_on: "_at"})
    for column in by:  # merge_asof wants equal dtypes on the grouping keys
        keyed[column] = keyed[column].astype(ordered[column].dtype)
    merged = pd.merge_asof(
        ordered.sort_values("_at", kind="stable"),
        keyed.sort_values("_at", kind="stable"),
        on="_at",
        by=by,
        direction="backward",
    )
    return merged.set_index("row").reindex(np.arange(len(left)))[values].astype(np.float64).reset_index(drop=True)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
