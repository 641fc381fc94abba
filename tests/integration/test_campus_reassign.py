"""Applying a reassignment plan: one transaction with an audit entry, refused cleanly when the timetable changed,
and two conflicting plans applied at the same moment cannot both commit (the database's unique constraint)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError

from core import db
from core.models import AuditLog, ClassSession, User, Venue
from ml.data import campus_sql
from ml.data.campus import generate_scale
from ml.occupancy.reassign import PlanConflict, apply_plan, solve_reassignment
from tests.conftest import PASSWORD

TERM = "2025-2"
WAIT = 20  # seconds a thread may take; far more than any of them needs


@pytest.fixture
def campus_db(migrated):
    db.bind(migrated)
    yield
    db.session.remove()


@pytest.fixture
def user(campus_db):
    created = User.create("facilities@test.example", "facilities", PASSWORD)
    db.session.commit()
    return created


@pytest.fixture
def rooms(campus_db):
    """Lecture halls in one building, and Monday/Tuesday 08:00 sessions in the small one (A-1) and A-5."""
    venues = pd.DataFrame(
        {
            "venue_code": ["A-1", "A-2", "A-3", "A-4", "A-5"],
            "building_code": "A",
            "venue_type": "lecture_hall",
            "capacity": [50, 200, 120, 150, 30],
        }
    )
    sessions = pd.DataFrame(
        [("BIG-01", 0, "A-1"), ("SMALL-01", 0, "A-2"), ("LATE-01", 0, "A-5"), ("TUE-01", 1, "A-1")],
        columns=["section_code", "weekday", "venue_code"],
    ).assign(term_code=TERM, slot=0, course_code=lambda f: f["section_code"].str[:-3], registered=150)
    sessions["needs_type"] = "lecture_hall"
    with db.transaction():
        campus_sql.save_buildings(pd.DataFrame({"building_code": ["A"], "latitude": [0.0], "longitude": [0.0]}))
        campus_sql.save_venues(venues)
        campus_sql.save_timetable(sessions)
    return sessions


def plan_for(**forecast: float):
    """The optimal plan for the stored week, given forecasts by course (default 20: fits anywhere)."""
    timetable = campus_sql.load_timetable(TERM)
    timetable["forecast"] = timetable["course_code"].map(forecast).fillna(20.0)
    return solve_reassignment(
        timetable,
        campus_sql.load_venues(),
        campus_sql.load_walking_distances(),
        move_others=False,
        term_code=TERM,
        week=10,
    )


def rooms_now() -> dict[str, str]:
    stored = campus_sql.load_timetable(TERM)
    return dict(zip(stored["section_code"], stored["venue_code"], strict=True))


def test_apply_plan_moves_the_sessions_and_records_who_did_it(rooms, user):
    plan = plan_for(BIG=100)
    assert plan.moves[["section_code", "to_venue"]].values.tolist() == [["BIG-01", "A-3"]]
    assert apply_plan(plan, user) == 1
    assert rooms_now() == {"BIG-01": "A-3", "SMALL-01": "A-2", "LATE-01": "A-5", "TUE-01": "A-1"}
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "campus.reassign")).one()
    assert entry.user_id == user.id and entry.target == "term 2025-2 week 10"
    assert entry.detail["moves"] == [
        {"session_id": int(plan.moves["session_id"][0]), "section": "BIG-01", "from": "A-1", "to": "A-3"}
    ]


def test_an_empty_plan_changes_nothing(rooms, user):
    assert apply_plan(plan_for(), user) == 0
    assert db.session.scalars(select(AuditLog)).all() == []


def test_applying_a_plan_again_is_refused_and_changes_nothing(rooms, user):
    plan = plan_for(BIG=100, LATE=100)
    apply_plan(plan, user)
    before = rooms_now()
    with pytest.raises(PlanConflict, match="no longer in A-1 on Mon 08:00"):
        apply_plan(plan, user)
    assert rooms_now() == before
    assert len(db.session.scalars(select(AuditLog)).all()) == 1


def test_a_plan_that_swaps_two_sessions_applies(rooms, user):
    timetable = campus_sql.load_timetable(TERM)
    timetable["forecast"] = timetable["course_code"].map({"BIG": 150.0}).fillna(20.0)
    venues = campus_sql.load_venues()
    venues = venues[venues["venue_code"].isin(["A-1", "A-2", "A-5"])]  # no free hall is big enough
    plan = solve_reassignment(timetable, venues, campus_sql.load_walking_distances())
    assert sorted(plan.moves["section_code"]) == ["BIG-01", "SMALL-01"]
    apply_plan(plan, user)
    assert rooms_now()["BIG-01"] == "A-2" and rooms_now()["SMALL-01"] == "A-1"


def test_observations_keep_the_room_a_session_met_in(rooms, user):
    big = campus_sql.load_timetable(TERM).set_index("section_code").loc["BIG-01", "session_id"]
    with db.transaction():
        campus_sql.save_observations(pd.DataFrame({"session_id": [big], "week": [9], "head_count": [70]}))
    apply_plan(plan_for(BIG=100), user)
    assert campus_sql.load_observations()["venue_code"].tolist() == ["A-1"]


# --- two people applying at the same moment


def apply_holding_commit(plan, user_id, started: threading.Event, release: threading.Event, outcome: dict, key):
    """In a thread of its own: apply `plan`, but wait before committing until `release` is set."""

    def hold(_session):
        started.set()
        release.wait(WAIT)

    try:
        event.listen(db.session(), "before_commit", hold)
        outcome[key] = apply_plan(plan, db.session.get(User, user_id))
    except PlanConflict as error:
        outcome[key] = error
    finally:
        started.set()
        db.session.remove()


def apply_at_once(first_plan, second_plan, user) -> dict:
    """Apply `first_plan` up to its commit, then start `second_plan`, then let the first commit."""
    outcome, started, release = {}, threading.Event(), threading.Event()
    first = threading.Thread(
        target=apply_holding_commit, args=(first_plan, user.id, started, release, outcome, "first")
    )
    first.start()
    assert started.wait(WAIT)

    def second_apply():
        try:
            outcome["second"] = apply_plan(second_plan, None)
        except PlanConflict as error:
            outcome["second"] = error
        finally:
            db.session.remove()

    second = threading.Thread(target=second_apply)
    second.start()
    second.join(0.5)
    outcome["second_waited"] = second.is_alive()  # blocked on the first transaction's rows or lock
    release.set()
    first.join(WAIT)
    second.join(WAIT)
    return outcome


def test_two_plans_moving_one_session_at_once_cannot_both_commit(rooms, user):
    to_a3, to_a4 = plan_for(BIG=100), plan_for(BIG=140)
    assert to_a3.moves["to_venue"].tolist() == ["A-3"] and to_a4.moves["to_venue"].tolist() == ["A-4"]
    outcome = apply_at_once(to_a3, to_a4, user)
    assert outcome["second_waited"]
    assert outcome["first"] == 1
    assert isinstance(outcome["second"], PlanConflict)
    assert "BIG-01 is no longer in A-1" in str(outcome["second"])
    assert rooms_now()["BIG-01"] == "A-3"
    assert len(db.session.scalars(select(AuditLog)).all()) == 1


def test_two_plans_filling_one_room_at_once_cannot_both_commit(rooms, user):
    big_to_a3, late_to_a3 = plan_for(BIG=100), plan_for(LATE=100)
    assert big_to_a3.moves["to_venue"].tolist() == late_to_a3.moves["to_venue"].tolist() == ["A-3"]
    outcome = apply_at_once(big_to_a3, late_to_a3, user)
    assert outcome["second_waited"]
    assert outcome["first"] == 1
    assert isinstance(outcome["second"], PlanConflict)
    assert "A-3 on Mon 08:00 was taken" in str(outcome["second"])
    assert rooms_now() == {"BIG-01": "A-3", "SMALL-01": "A-2", "LATE-01": "A-5", "TUE-01": "A-1"}


def test_two_plans_that_do_not_conflict_both_commit_at_once(rooms, user):
    monday, tuesday = plan_for(BIG=100), plan_for(TUE=100)
    outcome = apply_at_once(monday, tuesday, user)
    assert outcome["first"] == 1 and outcome["second"] == 1
    assert rooms_now()["BIG-01"] == "A-3" and rooms_now()["TUE-01"] == "A-3"


def test_the_database_refuses_the_second_of_two_concurrent_bookings_of_one_room(rooms):
    ids = campus_sql.load_timetable(TERM).set_index("section_code")["session_id"]
    a3 = db.session.scalar(select(Venue.id).where(Venue.code == "A-3"))
    db.session.remove()
    sessions = ClassSession.__table__
    first = db.engine().connect()
    first_transaction = first.begin()
    first.execute(update(sessions).where(sessions.c.id == int(ids["BIG-01"])).values(venue_id=a3))
    outcome = {}

    def second():
        with db.engine().connect() as conn:
            try:
                with conn.begin():
                    conn.execute(update(sessions).where(sessions.c.id == int(ids["LATE-01"])).values(venue_id=a3))
                outcome["second"] = "committed"
            except IntegrityError:
                outcome["second"] = "refused"

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # waiting for the first transaction
    first_transaction.commit()
    first.close()
    thread.join(WAIT)
    assert outcome == {"second": "refused"}
    assert rooms_now()["BIG-01"] == "A-3" and rooms_now()["LATE-01"] == "A-5"


# --- the demo campus end to end


def test_a_demo_week_plan_applies_and_leaves_no_double_booking(campus_db, user):
    data = generate_scale("demo", seed=0)
    campus_sql.save_campus(data)
    term, week = campus_sql.coming_week()
    timetable = campus_sql.load_timetable(term)
    observed = campus_sql.load_observations([term])
    observed = observed[~observed["cancelled"] & observed["head_count"].notna()]
    rate = (observed["head_count"] / observed["registered"]).groupby(observed["section_code"]).mean()
    timetable["forecast"] = timetable["registered"] * timetable["section_code"].map(rate).fillna(0.8)
    timetable["upper"] = timetable["forecast"] * 1.15
    plan = solve_reassignment(
        timetable, campus_sql.load_venues(), campus_sql.load_walking_distances(), term_code=term, week=week
    )
    assert plan.n_at_risk > 10 and len(plan.moves) >= plan.n_at_risk - len(plan.unsolved)
    assert apply_plan(plan, user) == len(plan.moves)
    after = campus_sql.load_timetable(term)
    assert not after.duplicated(["venue_code", "weekday", "slot"]).any()
    moved = after.set_index("session_id").loc[plan.moves["session_id"], "venue_code"]
    assert np.array_equal(moved.to_numpy(), plan.moves["to_venue"].to_numpy())
