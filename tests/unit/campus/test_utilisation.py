"""How rooms are used: the heatmap's cells, the term's trend and the bookings that leave a room half empty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.data.campus import SLOT_STARTS, WEEKDAYS
from ml.occupancy import utilisation
from ml.occupancy.features import TARGET_SOURCES, learn_wifi_per_person, measured_attendance


@pytest.fixture(scope="module")
def sessions(demo_campus) -> pd.DataFrame:
    """The current term's measured sessions, as `utilisation.measured_sessions` reads them from SQL."""
    frame = demo_campus.observation_frame()
    frame = frame[frame["term_code"] == "2025-2"]
    attendance, source = measured_attendance(frame, learn_wifi_per_person(frame))
    keep = np.isfinite(attendance)
    frame = frame[keep].assign(attendance=attendance[keep], source=np.array(TARGET_SOURCES)[source[keep]])
    return frame.assign(fill=frame["attendance"] / frame["capacity"])[list(utilisation.SESSION_COLUMNS)]


def test_heatmap_has_a_cell_per_weekday_and_slot_and_is_free_where_no_session_met(sessions):
    table = utilisation.heatmap(sessions, week=3)
    assert list(table.columns) == [f"{d} {s}" for d in WEEKDAYS for s in SLOT_STARTS]
    one = sessions[(sessions["week"] == 3)].iloc[0]
    cell = f"{WEEKDAYS[one['weekday']]} {SLOT_STARTS[one['slot']]}"
    assert table.loc[one["venue_code"], cell] == pytest.approx(one["fill"])
    booked = sessions[sessions["week"] == 3].groupby("venue_code").size()
    assert (table.notna().sum(axis=1).reindex(booked.index) == booked).all()  # every other cell is free (NaN)
    only_a = utilisation.heatmap(sessions, building="A")
    assert all(code.startswith("A-") for code in only_a.index)


def test_trend_pools_attendance_over_seats_per_week(sessions):
    table = utilisation.trend(sessions)
    week_one = table[(table["venue_type"] == "all rooms") & (table["week"] == 1)].iloc[0]
    chosen = sessions[sessions["week"] == 1]
    assert week_one["fill"] == pytest.approx(chosen["attendance"].sum() / chosen["capacity"].sum())
    assert set(table["venue_type"]) == {"all rooms", "lab", "lecture_hall", "seminar_room"}


def test_under_used_lists_the_bookings_that_leave_their_room_emptiest(sessions):
    found = utilisation.under_used(sessions)
    assert len(found) and (found["mean_fill"] < utilisation.UNDER_USED_FILL).all()
    assert found["mean_fill"].is_monotonic_increasing
    first = found.iloc[0]
    booking = sessions[
        (sessions["venue_code"] == first["venue_code"]) & (sessions["section_code"] == first["section_code"])
    ]
    assert first["mean_attendance"] == pytest.approx(booking["attendance"].mean())
    assert first["p90_attendance"] < first["capacity"]
