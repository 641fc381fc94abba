"""The reassignment solver: optimal (checked against exhaustive search), never double-books, respects every
need, moves nothing that need not move, and says why."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from ml.data.campus import FITTING_VENUE_TYPES, VENUE_TYPES
from ml.occupancy.reassign import Objective, solve_reassignment

# --- small hand-made campus: building A (halls, seminar rooms), building B 400 m away


def venues_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["venue_code", "building_code", "venue_type", "safe_capacity", "accessible"])


def sessions_frame(rows: list[tuple]) -> pd.DataFrame:
    columns = ["session_id", "section_code", "weekday", "slot", "venue_code", "forecast", "upper", "needs_type"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["needs_accessible"] = False
    return frame


DISTANCES = pd.DataFrame([[0, 400], [400, 0]], index=["A", "B"], columns=["A", "B"])
VENUES = venues_frame(
    [
        ("A-101", "A", "lecture_hall", 120, True),
        ("A-102", "A", "lecture_hall", 60, True),
        ("A-201", "A", "lecture_hall", 180, True),
        ("A-202", "A", "lecture_hall", 400, True),
        ("B-101", "B", "lecture_hall", 170, True),
        ("A-301", "A", "seminar_room", 30, False),
        ("B-201", "B", "lab", 40, True),
    ]
)


def test_reason_names_the_forecast_the_limit_and_the_new_room():
    sessions = sessions_frame([(1, "MAT101-01", 0, 1, "A-101", 142, 160, "lecture_hall")])
    plan = solve_reassignment(sessions, VENUES, DISTANCES)
    assert plan.moves["reason"].tolist() == [
        "forecast 142 (up to 160) > safe capacity 120 → A-201 (safe 180), same building"
    ]
    assert plan.unsolved.empty
    assert plan.objective == Objective(unsolved=0, moves=1, walking_m=0, spare_seats=20)


def test_walking_counts_before_spare_seats():
    sessions = sessions_frame(
        [(1, "MAT101-01", 0, 1, "A-101", 142, 160, "lecture_hall"), (2, "X-01", 0, 1, "A-201", 10, 12, "lecture_hall")]
    )
    plan = solve_reassignment(sessions, VENUES, DISTANCES)
    # A-201 is taken and only B-101 (other building) or A-202 (same building, far bigger) fit: walking counts first.
    assert plan.moves[["session_id", "to_venue"]].values.tolist() == [[1, "A-202"]]


def test_walks_to_another_building_only_when_its_own_has_no_room():
    sessions = sessions_frame(
        [
            (1, "MAT101-01", 0, 1, "A-101", 142, 160, "lecture_hall"),
            (2, "X-01", 0, 1, "A-201", 150, 170, "lecture_hall"),
            (3, "Y-01", 0, 1, "A-202", 300, 350, "lecture_hall"),
        ]
    )
    plan = solve_reassignment(sessions, VENUES, DISTANCES)
    move = plan.moves.iloc[0]
    assert (move["session_id"], move["to_venue"], move["walking_m"]) == (1, "B-101", 400)
    assert move["reason"].endswith("→ B-101 (safe 170) in building B, 400 m (5 min walk)")


def test_nothing_moves_when_everything_fits():
    sessions = sessions_frame(
        [
            (1, "MAT101-01", 0, 1, "A-101", 80, 100, "lecture_hall"),
            (2, "X-01", 0, 1, "A-102", 10, 12, "lecture_hall"),  # would fit a smaller room: still stays
            (3, "Y-01", 1, 1, "A-202", 300, 350, "lecture_hall"),
        ]
    )
    plan = solve_reassignment(sessions, VENUES, DISTANCES)
    assert plan.moves.empty and plan.unsolved.empty
    assert plan.n_at_risk == 0 and plan.objective == Objective(0, 0, 0, 0)


def test_basis_forecast_moves_only_when_the_forecast_itself_overflows():
    sessions = sessions_frame([(1, "MAT101-01", 0, 1, "A-101", 110, 130, "lecture_hall")])
    assert len(solve_reassignment(sessions, VENUES, DISTANCES, basis="upper").moves) == 1
    assert solve_reassignment(sessions, VENUES, DISTANCES, basis="forecast").moves.empty
    reason = solve_reassignment(sessions, VENUES, DISTANCES).moves["reason"].iloc[0]
    assert reason.startswith("forecast 110, up to 130 > safe capacity 120 →")


def test_a_session_without_an_upper_bound_is_judged_on_its_forecast():
    sessions = sessions_frame([(1, "MAT101-01", 0, 1, "A-101", 125, np.nan, "lecture_hall")])
    plan = solve_reassignment(sessions, VENUES, DISTANCES)
    assert plan.moves["reason"].iloc[0].startswith("forecast 125 > safe capacity 120 →")


def test_moves_a_session_that_fits_only_to_free_a_room_for_one_at_risk():
    venues = venues_frame([("A-1", "A", "lecture_hall", 50, True), ("A-2", "A", "lecture_hall", 200, True)])
    sessions = sessions_frame(
        [(1, "BIG-01", 0, 0, "A-1", 150, 170, "lecture_hall"), (2, "SMALL-01", 0, 0, "A-2", 20, 25, "lecture_hall")]
    )
    plan = solve_reassignment(sessions, venues, DISTANCES)
    assert plan.moves[["session_id", "to_venue", "at_risk"]].values.tolist() == [[1, "A-2", True], [2, "A-1", False]]
    assert (
        plan.moves["reason"].iloc[1] == "frees A-2 for BIG-01: forecast 20, up to 25 fits A-1 (safe 50), same building"
    )

    kept = solve_reassignment(sessions, venues, DISTANCES, move_others=False)
    assert kept.moves.empty
    assert kept.unsolved["reason"].iloc[0] == (
        "forecast 150 (up to 170) > safe capacity 50; the one room that fits (A-2) is in use on Mon 08:00;"
        " moving other sessions was not allowed"
    )


def test_unsolved_says_when_no_room_on_campus_is_big_enough():
    sessions = sessions_frame([(1, "HUGE-01", 2, 3, "A-202", 450, 500, "lecture_hall")])
    plan = solve_reassignment(sessions, VENUES, DISTANCES)
    assert plan.moves.empty
    assert plan.unsolved["reason"].tolist() == [
        "forecast 450 (up to 500) > safe capacity 400; no room on campus fits:"
        " no lecture hall holds 500 safely (largest: A-202, safe 400)"
    ]


def test_respects_type_and_accessibility():
    sessions = sessions_frame(
        [
            (1, "LAB-01", 0, 0, "B-201", 45, 50, "lab"),  # the only lab is too small: a hall is no lab
            (2, "SEM-01", 0, 0, "A-301", 35, 40, "seminar_room"),  # a seminar may use a hall
        ]
    )
    sessions.loc[1, "needs_accessible"] = True  # and A-301 is not accessible anyway
    plan = solve_reassignment(sessions, VENUES, DISTANCES)
    assert plan.unsolved["section_code"].tolist() == ["LAB-01"]
    assert "there is no" not in plan.unsolved["reason"].iloc[0]
    assert "no lab holds 50 safely" in plan.unsolved["reason"].iloc[0]
    move = plan.moves.set_index("section_code").loc["SEM-01"]
    assert move["to_venue"] == "A-102"  # the tightest accessible hall in its building
    assert "needs an accessible room, A-301 is not" in move["reason"]


def test_sessions_without_a_forecast_hold_their_room():
    venues = venues_frame([("A-1", "A", "lecture_hall", 50, True), ("A-2", "A", "lecture_hall", 200, True)])
    sessions = sessions_frame(
        [(1, "BIG-01", 0, 0, "A-1", 150, 170, "lecture_hall"), (2, "NEW-01", 0, 0, "A-2", np.nan, np.nan, "lab")]
    )
    plan = solve_reassignment(sessions, venues, DISTANCES)
    assert plan.moves.empty and plan.unsolved["session_id"].tolist() == [1]


def test_refuses_a_timetable_that_is_already_double_booked():
    sessions = sessions_frame(
        [(1, "A-01", 0, 0, "A-101", 10, 12, "lecture_hall"), (2, "B-01", 0, 0, "A-101", 10, 12, "lecture_hall")]
    )
    with pytest.raises(ValueError, match="share a venue"):
        solve_reassignment(sessions, VENUES, DISTANCES)


def test_refuses_unknown_venues_and_bases():
    sessions = sessions_frame([(1, "A-01", 0, 0, "Z-999", 10, 12, "lecture_hall")])
    with pytest.raises(ValueError, match="Z-999"):
        solve_reassignment(sessions, VENUES, DISTANCES)
    with pytest.raises(ValueError, match="basis"):
        solve_reassignment(sessions, VENUES, DISTANCES, basis="median")


def test_summary_counts_what_the_plan_does():
    venues = venues_frame([("A-1", "A", "lecture_hall", 50, True), ("A-2", "A", "lecture_hall", 200, True)])
    sessions = sessions_frame(
        [(1, "BIG-01", 0, 0, "A-1", 150, 170, "lecture_hall"), (2, "SMALL-01", 0, 0, "A-2", 20, 25, "lecture_hall")]
    )
    plan = solve_reassignment(sessions, venues, DISTANCES)
    assert plan.summary() == "1 session at risk: 1 moved, 0 left where they are; 1 other session moved to make room."


# --- optimality against exhaustive search on random small weeks


def random_week(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Up to three cells, two to six rooms in up to three buildings; forecasts the size of any of the rooms."""
    rng = np.random.default_rng(seed)
    buildings = ["A", "B", "C"][: rng.integers(1, 4)]
    xy = rng.uniform(0, 500, (len(buildings), 2))
    metres = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(int)
    distances = pd.DataFrame(metres, index=buildings, columns=buildings)
    n_venues = int(rng.integers(2, 7))
    venues = venues_frame(
        [
            (
                f"V{i}",
                buildings[rng.integers(len(buildings))],
                VENUE_TYPES[rng.choice(3, p=[0.6, 0.3, 0.1])],
                int(rng.integers(10, 80)),
                bool(rng.random() < 0.8),
            )
            for i in range(n_venues)
        ]
    )
    rows, sid = [], 0
    for weekday, slot in [(0, 0), (0, 1), (3, 2)][: rng.integers(1, 4)]:
        held = rng.choice(n_venues, size=int(rng.integers(1, min(n_venues, 4) + 1)), replace=False)
        for v in held:
            forecast = float(venues["safe_capacity"].iloc[rng.integers(n_venues)] * rng.uniform(0.4, 1.1))
            upper = np.nan if rng.random() < 0.2 else forecast * rng.uniform(1.0, 1.3)
            if rng.random() < 0.1:
                forecast, upper = np.nan, np.nan  # no forecast: holds its room
            need = venues.loc[v, "venue_type"] if rng.random() < 0.8 else VENUE_TYPES[rng.integers(3)]
            rows.append((sid, f"S{sid}", weekday, slot, f"V{v}", forecast, upper, need))
            sid += 1
    sessions = sessions_frame(rows)
    sessions["needs_accessible"] = rng.random(len(sessions)) < 0.15
    return sessions, venues, distances


def demand_of(sessions: pd.DataFrame, basis: str) -> pd.Series:
    value = sessions["upper"].where(sessions["upper"].notna() & (basis == "upper"), sessions["forecast"])
    return np.floor(value + 0.5)


def fits(session, venue, demand) -> bool:
    return (
        venue["venue_type"] in FITTING_VENUE_TYPES[session["needs_type"]]
        and (venue["accessible"] or not session["needs_accessible"])
        and demand <= venue["safe_capacity"]
    )


def exhaustive_best(sessions, venues, distances, basis, move_others) -> Objective:
    """The least Objective over every assignment of the movable sessions to distinct rooms, cell by cell."""
    venue = venues.set_index("venue_code").to_dict("index")
    walk = distances.to_dict("index")
    total = np.zeros(4)
    for _, cell in sessions.assign(demand=demand_of(sessions, basis)).groupby(["weekday", "slot"]):
        rows = cell.to_dict("records")
        for s in rows:
            s["at_risk"] = not np.isnan(s["demand"]) and not fits(s, venue[s["venue_code"]], s["demand"])
        movable = [s for s in rows if not np.isnan(s["demand"]) and (s["at_risk"] or move_others)]
        held = {s["venue_code"] for s in rows if s not in movable}
        free = [code for code in venue if code not in held]
        best = None
        for choice in itertools.permutations(free, len(movable)):
            cost = [0, 0, 0, 0]
            for s, code in zip(movable, choice, strict=True):
                if code == s["venue_code"]:
                    cost[0] += s["at_risk"]
                elif fits(s, venue[code], s["demand"]):
                    cost[1] += 1
                    cost[2] += walk[venue[s["venue_code"]]["building_code"]][venue[code]["building_code"]]
                    cost[3] += venue[code]["safe_capacity"] - s["demand"]
                else:
                    break
            else:
                if best is None or cost < best:
                    best = cost
        total += best
    return Objective(*(int(x) for x in total))


def objective_of(plan, sessions, venues, distances, basis) -> Objective:
    """The plan's Objective recomputed from its moves and the resulting timetable, not taken from the solver."""
    venue = venues.set_index("venue_code").to_dict("index")
    after = plan.apply_to(sessions).assign(demand=demand_of(sessions, basis)).to_dict("records")
    unsolved = sum(not np.isnan(s["demand"]) and not fits(s, venue[s["venue_code"]], s["demand"]) for s in after)
    walking = sum(
        distances.loc[venue[m.from_venue]["building_code"], venue[m.to_venue]["building_code"]]
        for m in plan.moves.itertuples()
    )
    spare = sum(venue[m.to_venue]["safe_capacity"] - m.demand for m in plan.moves.itertuples())
    return Objective(int(unsolved), len(plan.moves), int(walking), int(spare))


@pytest.mark.parametrize("move_others", [True, False])
@pytest.mark.parametrize("basis", ["upper", "forecast"])
def test_optimal_against_exhaustive_search(basis, move_others):
    seen = {"moves": 0, "unsolved": 0, "walks": 0, "others_moved": 0}
    for seed in range(200):
        sessions, venues, distances = random_week(seed)
        plan = solve_reassignment(sessions, venues, distances, basis=basis, move_others=move_others)
        best = exhaustive_best(sessions, venues, distances, basis, move_others)
        assert objective_of(plan, sessions, venues, distances, basis) == best, f"seed {seed}"
        assert plan.objective == best, f"seed {seed}"
        assert len(plan.unsolved) == best.unsolved
        seen["moves"] += best.moves > 0
        seen["unsolved"] += best.unsolved > 0
        seen["walks"] += best.walking_m > 0
        seen["others_moved"] += not plan.moves["at_risk"].all()
    # The instances exercise every part of the objective, including moving a session that fits to make room.
    assert min(seen["moves"], seen["unsolved"], seen["walks"]) >= 20, seen
    if move_others:
        assert seen["others_moved"] >= 5, seen
    else:
        assert seen["others_moved"] == 0, seen


def test_never_double_books_and_every_move_fits():
    for seed in range(200):
        sessions, venues, distances = random_week(seed)
        plan = solve_reassignment(sessions, venues, distances)
        after = plan.apply_to(sessions)
        assert not after.duplicated(["venue_code", "weekday", "slot"]).any(), f"seed {seed}"
        venue = venues.set_index("venue_code").to_dict("index")
        needs = sessions.assign(demand=demand_of(sessions, "upper")).set_index("session_id")
        for move in plan.moves.itertuples():
            session = needs.loc[move.session_id]
            assert fits(session, venue[move.to_venue], session["demand"]), f"seed {seed}"
            assert session["venue_code"] == move.from_venue
        assert set(plan.moves["session_id"]).isdisjoint(plan.unsolved["session_id"])
        assert not needs.loc[plan.moves["session_id"], "forecast"].isna().any()


def test_a_cell_too_big_to_weigh_spare_seats_exactly_still_gets_a_valid_plan():
    rng = np.random.default_rng(0)
    n = 320
    venues = venues_frame([(f"V{i}", "AB"[i % 2], "lecture_hall", int(rng.integers(20, 400)), True) for i in range(n)])
    distances = pd.DataFrame([[0, 1900], [1900, 0]], index=["A", "B"], columns=["A", "B"])
    held = rng.permutation(n)[:300]
    forecast = venues["safe_capacity"].to_numpy()[held] * rng.uniform(0.5, 1.3, len(held))
    sessions = sessions_frame(
        [
            (i, f"S{i}", 0, 0, f"V{v}", f, f * 1.1, "lecture_hall")
            for i, (v, f) in enumerate(zip(held, forecast, strict=True))
        ]
    )
    plan = solve_reassignment(sessions, venues, distances)
    assert plan.n_at_risk > 100 and len(plan.moves) > 0
    after = plan.apply_to(sessions)
    assert not after.duplicated(["venue_code", "weekday", "slot"]).any()
    safe = venues.set_index("venue_code")["safe_capacity"]
    moved = plan.moves
    assert (moved["demand"] <= moved["to_venue"].map(safe)).all()
    assert objective_of(plan, sessions, venues, distances, "upper") == plan.objective
