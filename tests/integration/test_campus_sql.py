"""Campus data in SQL: a generated campus stores in bulk and loads back as generated; saves are idempotent
upserts; the database refuses a double booking."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from core import db
from core.models import AttendanceObservation, ClassSession, Term, Venue
from ml.data import campus_sql
from ml.data.campus import generate_scale


@pytest.fixture
def campus_db(migrated):
    db.bind(migrated)
    yield
    db.session.remove()


@pytest.fixture
def demo(campus_db):
    data = generate_scale("demo", seed=0)
    campus_sql.save_campus(data)
    return data


def stored_ids(data) -> pd.Series:
    """Generated session_id -> stored id, through each session's natural key."""
    return pd.Series(campus_sql.session_ids(data.sessions).to_numpy(), index=data.sessions["session_id"])


def test_a_stored_campus_loads_back_as_generated(demo):
    ids = stored_ids(demo)
    expected = demo.observation_frame().drop(columns="true_attendance")
    expected["session_id"] = expected["session_id"].map(ids).astype("int64")
    expected = expected.sort_values(["term_index", "week", "session_id"], ignore_index=True)
    pdt.assert_frame_equal(campus_sql.load_observations(), expected, check_dtype=False)

    timetable = demo.timetable().assign(session_id=lambda f: f["session_id"].map(ids).astype("int64"))
    loaded = campus_sql.load_timetable()
    pdt.assert_frame_equal(
        loaded.sort_values("session_id", ignore_index=True),
        timetable.sort_values("session_id", ignore_index=True),
        check_dtype=False,
    )
    venues = campus_sql.load_venues().drop(columns="name")
    pdt.assert_frame_equal(venues, demo.venues.sort_values("venue_code", ignore_index=True), check_dtype=False)
    pdt.assert_frame_equal(campus_sql.load_buildings(), demo.buildings, check_dtype=False)


def test_observation_frame_has_model_ready_types(demo):
    frame = campus_sql.load_observations()
    assert frame["date"].dtype.kind == "M"
    assert frame["cancelled"].dtype == bool
    for column in ("head_count", "survey_pct", "wifi_avg", "wifi_max", "co2_ppm"):
        assert frame[column].dtype == float, column
    assert campus_sql.load_observations(terms=["2025-1"])["term_code"].unique().tolist() == ["2025-1"]


def test_storing_the_same_campus_twice_changes_nothing(demo):
    def counts():
        return [
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Venue, ClassSession, AttendanceObservation, Term)
        ]

    before, ids = counts(), stored_ids(demo)
    campus_sql.save_campus(demo)
    assert counts() == before
    pdt.assert_series_equal(stored_ids(demo), ids)


def test_the_coming_week_follows_the_last_observed_one(campus_db):
    assert campus_sql.coming_week() is None
    campus_sql.save_campus(generate_scale("demo", seed=0))
    assert campus_sql.coming_week() == ("2025-2", 10)


def test_the_seeder_stores_the_demo_campus_once(campus_db):
    assert not campus_sql.SEEDER.has_data()
    message = campus_sql.SEEDER.seed("demo", 0)
    assert message.startswith("3 buildings, 30 venues, 2 terms, 480 weekly sessions")
    assert campus_sql.SEEDER.has_data()


def test_the_database_refuses_a_second_session_in_a_held_room(demo):
    held = db.session.execute(
        select(ClassSession.term_id, ClassSession.venue_id, ClassSession.weekday, ClassSession.slot).limit(1)
    ).one()
    with pytest.raises(IntegrityError, match=r"(?i)unique"):
        db.session.execute(
            insert(ClassSession),
            [
                dict(
                    term_id=held.term_id,
                    venue_id=held.venue_id,
                    weekday=held.weekday,
                    slot=held.slot,
                    section_code="INTRUDER-01",
                    course_code="INTRUDER",
                    registered=10,
                    needs_type="lecture_hall",
                )
            ],
        )
    db.session.rollback()


# --- a hand-made timetable, as an import would bring it


def small_timetable(**moved_to: str) -> pd.DataFrame:
    """Three lab sessions in term 2025-2; `moved_to` puts a course's session elsewhere (MAT101="A-2")."""
    rows = [("MAT101-01", 0, 0, "A-1"), ("PHY101-01", 0, 0, "A-2"), ("CHE101-01", 1, 0, "A-1")]
    frame = pd.DataFrame(rows, columns=["section_code", "weekday", "slot", "venue_code"])
    course = frame["section_code"].str[:6]
    frame["venue_code"] = [moved_to.get(c, v) for c, v in zip(course, frame["venue_code"], strict=True)]
    return frame.assign(term_code="2025-2", course_code=course, registered=30, needs_type="lab")


@pytest.fixture
def small(campus_db):
    venues = pd.DataFrame(
        {
            "venue_code": ["A-1", "A-2", "A-3"],
            "building_code": "A",
            "venue_type": "lab",
            "capacity": [40, 40, 40],
        }
    )
    with db.transaction():
        campus_sql.save_venues(venues)
        ids = campus_sql.save_timetable(small_timetable())
    return ids


def venue_of(session_ids) -> list[str]:
    stored = campus_sql.load_timetable().set_index("session_id")["venue_code"]
    return stored.loc[list(session_ids)].tolist()


def test_venues_without_a_safe_capacity_are_safe_to_their_seats(small):
    venues = campus_sql.load_venues()
    assert venues["safe_capacity"].tolist() == venues["capacity"].tolist() == [40, 40, 40]
    assert not venues["accessible"].any()


def test_a_timetable_upload_may_swap_two_rooms(small):
    with db.transaction():
        ids = campus_sql.save_timetable(small_timetable(MAT101="A-2", PHY101="A-1"))
    assert ids.tolist() == small.tolist()  # the same sessions, updated in place
    assert venue_of(ids) == ["A-2", "A-1", "A-1"]


def test_a_timetable_that_books_one_room_twice_is_refused_whole(small):
    with pytest.raises(IntegrityError), db.transaction():
        campus_sql.save_timetable(small_timetable(MAT101="A-3", PHY101="A-3"))
    assert venue_of(small) == ["A-1", "A-2", "A-1"]


def test_unknown_venues_are_named(small):
    with pytest.raises(campus_sql.UnknownReference, match="unknown venues: Z-9") as error, db.transaction():
        campus_sql.save_timetable(small_timetable(MAT101="Z-9"))
    assert error.value.codes == ["Z-9"]


def test_a_session_may_have_no_room_yet(small):
    with db.transaction():
        frame = small_timetable()
        frame.loc[0, "venue_code"] = None
        campus_sql.save_timetable(frame)
    assert pd.isna(venue_of(small)[0])


def test_observations_can_name_their_session_by_section_and_time(small):
    observations = pd.DataFrame(
        {
            "term_code": ["2025-2", "2025-2"],
            "section_code": ["MAT101-01", "PHY101-01"],
            "weekday": [0, 0],
            "slot": [0, 0],
            "week": [3, 3],
            "survey_pct": [50, 75],
            "head_count": [None, 31],
        }
    )
    with db.transaction():
        assert campus_sql.save_observations(observations, source="survey") == 2
        campus_sql.save_observations(observations.assign(head_count=[18, 30]), source="survey")  # a correction
    frame = campus_sql.load_observations()
    assert frame["head_count"].tolist() == [18.0, 30.0]
    assert frame["venue_code"].tolist() == ["A-1", "A-2"]  # where each session met, from the timetable
    assert frame["cancelled"].tolist() == [False, False]

    with pytest.raises(campus_sql.UnknownReference, match="BIO101-01"), db.transaction():
        campus_sql.save_observations(observations.assign(section_code="BIO101-01"))


def test_session_ids_are_missing_for_unknown_sessions(small):
    keys = small_timetable().iloc[:2].assign(section_code=["MAT101-01", "NOPE-01"])
    ids = campus_sql.session_ids(keys)
    assert ids.iloc[0] == small[0] and pd.isna(ids.iloc[1])


def test_booking_conflicts_name_the_section_a_row_would_share_its_room_with(small):
    upload = small_timetable(CHE101="A-2").iloc[[2]]  # Tuesday: A-2 is free then
    assert campus_sql.booking_conflicts(upload).isna().all()

    clash = pd.concat([small_timetable(PHY101="A-3").iloc[[1]], small_timetable(CHE101="A-2").iloc[[2]]])
    clash = pd.concat([clash, clash.iloc[[1]].assign(section_code="BIO101-01", course_code="BIO101")])
    assert campus_sql.booking_conflicts(clash).fillna("").tolist() == ["", "BIO101-01", "CHE101-01"]

    into_held = small_timetable(PHY101="A-1").iloc[[1]]  # MAT101 keeps A-1 on Monday
    assert campus_sql.booking_conflicts(into_held).tolist() == ["MAT101-01"]
    swap = small_timetable(MAT101="A-2", PHY101="A-1")
    assert campus_sql.booking_conflicts(swap).isna().all()
