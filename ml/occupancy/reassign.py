"""Optimal room reassignment for one week: move sessions forecast to overcrowd into free rooms that fit them.

Sessions keep their weekday and slot, so each (weekday, slot) cell of the week is an independent assignment
problem: rows are the sessions that may move, columns the rooms not held by a session that may not, and
`scipy.optimize.linear_sum_assignment` finds an assignment of least total cost exactly. The cost ranks plans
lexicographically (`Objective`):

1. fewest sessions left in a room that does not fit them;
2. then fewest moves, so a session that fits stays where it is;
3. then least walking from each moved session's building to its new one;
4. then fewest spare seats in the rooms moved into (a seminar does not take the big hall next door).

A room fits a session when its type serves the session's need (`ml.data.campus.FITTING_VENUE_TYPES`), it is
accessible if the session needs that, and the session's demand (the upper end of its forecast interval, or the
forecast itself with `basis="forecast"`) is within the room's safe capacity. With `move_others`, a session that
fits where it is may move too, which the costs allow only when it lets an at-risk session in.

`apply_plan` writes a plan to the stored timetable in one transaction, with an audit entry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.db import session, transaction
from core.models import AuditLog, ClassSession, User, Venue
from ml.data.campus import FITTING_VENUE_TYPES, SLOT_STARTS, VENUE_TYPE_LABELS, WEEKDAYS, walking_minutes

BASES = ("upper", "forecast")
SESSION_COLUMNS = ("session_id", "weekday", "slot", "venue_code", "forecast", "needs_type", "needs_accessible")
VENUE_COLUMNS = ("venue_code", "building_code", "venue_type", "safe_capacity", "accessible")
MOVE_COLUMNS = (
    "session_id",
    "section_code",
    "weekday",
    "slot",
    "from_venue",
    "to_venue",
    "at_risk",
    "demand",
    "to_safe_capacity",
    "walking_m",
    "walking_min",
    "reason",
)
UNSOLVED_COLUMNS = ("session_id", "section_code", "weekday", "slot", "venue_code", "demand", "safe_capacity", "reason")
_EXACT = 2.0**52  # integers below this add up exactly in float64


class Objective(NamedTuple):
    """A plan's cost, compared as a tuple: unsolved first, then moves, walking metres, spare seats."""

    unsolved: int
    moves: int
    walking_m: int
    spare_seats: int


@dataclass
class ReassignmentPlan:
    """Moves for one week's timetable and the at-risk sessions no room could take, each with its reason."""

    moves: pd.DataFrame  # MOVE_COLUMNS; at_risk False: moved to make room for one that is
    unsolved: pd.DataFrame  # UNSOLVED_COLUMNS
    objective: Objective
    n_sessions: int  # with a venue
    n_at_risk: int
    n_venues: int
    n_cells: int  # (weekday, slot) cells with a session
    basis: str
    seconds: float
    term_code: str | None = None
    week: int | None = None

    def apply_to(self, timetable: pd.DataFrame) -> pd.DataFrame:
        """`timetable` (with session_id and venue_code) as it is after the plan's moves."""
        moved = self.moves.set_index("session_id")["to_venue"]
        out = timetable.copy()
        hit = out["session_id"].isin(moved.index)
        out.loc[hit, "venue_code"] = out.loc[hit, "session_id"].map(moved)
        return out

    def summary(self) -> str:
        """One sentence for a person: what the plan does."""
        solved = int(self.moves["at_risk"].sum())
        others = len(self.moves) - solved
        text = f"{_sessions(self.n_at_risk)} at risk: {solved} moved, {len(self.unsolved)} left where they are"
        if others:
            text += f"; {_sessions(others, 'other ')} moved to make room"
        if self.objective.walking_m:
            text += f"; {self.objective.walking_m / 1000:.1f} km further to walk in all"
        return text + "."


class PlanConflict(Exception):
    """The stored timetable changed since the plan was made (someone applied another first); nothing was written."""


def solve_reassignment(
    sessions: pd.DataFrame,
    venues: pd.DataFrame,
    distances: pd.DataFrame,
    *,
    basis: str = "upper",
    move_others: bool = True,
    term_code: str | None = None,
    week: int | None = None,
) -> ReassignmentPlan:
    """The optimal plan (see the module docstring) for one week's sessions.

    - `sessions`: one row per class session that week: `SESSION_COLUMNS`, optionally `upper` (the forecast
      interval's upper bound) and `section_code` (named in reasons). A session without a forecast never moves;
      one without a venue is left out.
    - `venues`: every room that may be used: `VENUE_COLUMNS`; a room is free in a cell no session holds.
    - `distances`: walking metres between buildings, a square frame indexed by building_code both ways
      (`ml.data.campus.walking_distances`).
    """
    started = time.perf_counter()
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")
    problem = _Problem(sessions, venues, distances, basis)
    moves, unsolved, totals = [], [], np.zeros(4, dtype="int64")
    for rows in problem.cells():
        cell_moves, cell_unsolved, cell_totals = problem.solve_cell(rows, move_others)
        moves.extend(cell_moves)
        unsolved.extend(cell_unsolved)
        totals += cell_totals
    moves_frame = pd.DataFrame(moves, columns=list(MOVE_COLUMNS))
    unsolved_frame = pd.DataFrame(unsolved, columns=list(UNSOLVED_COLUMNS))
    return ReassignmentPlan(
        moves=moves_frame.sort_values(["weekday", "slot", "session_id"], ignore_index=True),
        unsolved=unsolved_frame.sort_values(["weekday", "slot", "session_id"], ignore_index=True),
        objective=Objective(*(int(t) for t in totals)),
        n_sessions=problem.n_sessions,
        n_at_risk=int(problem.at_risk.sum()),
        n_venues=len(problem.venue_code),
        n_cells=problem.n_cells,
        basis=basis,
        seconds=time.perf_counter() - started,
        term_code=term_code,
        week=week,
    )


def apply_plan(plan: ReassignmentPlan, user: User | None = None) -> int:
    """Make the plan's moves in the stored timetable, in one transaction with an audit entry; returns the moves made.

    Raises `PlanConflict`, having changed nothing, when a session is no longer in the room the plan moves it
    from, or a room it moves one into has been taken since. The database's unique (term, venue, weekday, slot)
    constraint refuses the double booking even when two conflicting plans are applied at the same moment.
    Commits; call it with no other changes pending in the session.
    """
    moves = plan.moves
    if moves.empty:
        return 0
    codes = sorted(set(moves["from_venue"]) | set(moves["to_venue"]))
    venue_ids = dict(session.execute(select(Venue.code, Venue.id).where(Venue.code.in_(codes))).all())
    gone = [code for code in codes if code not in venue_ids]
    if gone:
        raise PlanConflict(f"venue {', '.join(gone)} no longer exists; make a new plan")
    current = None  # the move being written, to name the room in a refusal
    try:
        with transaction():
            # Every moved session leaves its room first: a room-less session holds no cell, so swaps and chains
            # of moves apply in any order. The WHERE on the old room is the check that nobody moved it meanwhile.
            for move in moves.itertuples():
                left = session.execute(
                    update(ClassSession)
                    .where(ClassSession.id == int(move.session_id), ClassSession.venue_id == venue_ids[move.from_venue])
                    .values(venue_id=None)
                )
                if left.rowcount != 1:
                    raise PlanConflict(
                        f"{move.section_code} is no longer in {move.from_venue} on {_when(move.weekday, move.slot)}:"
                        " the timetable changed since this plan was made; make a new plan"
                    )
            for move in moves.itertuples():
                current = move
                session.execute(
                    update(ClassSession)
                    .where(ClassSession.id == int(move.session_id))
                    .values(venue_id=venue_ids[move.to_venue])
                )
            current = None
            AuditLog.record(
                user.id if user is not None else None,
                "campus.reassign",
                target=f"term {plan.term_code} week {plan.week}" if plan.term_code else "timetable",
                moves=[
                    {"session_id": int(m.session_id), "section": m.section_code, "from": m.from_venue, "to": m.to_venue}
                    for m in moves.itertuples()
                ],
                unsolved=len(plan.unsolved),
            )
    except IntegrityError as error:
        room = f"{current.to_venue} on {_when(current.weekday, current.slot)}" if current else "a room in this plan"
        raise PlanConflict(f"{room} was taken by a change applied meanwhile; make a new plan") from error
    return len(moves)


def _sessions(n: int, qualifier: str = "") -> str:
    return f"{n} {qualifier}session{'' if n == 1 else 's'}"


def _when(weekday: int, slot: int) -> str:
    day = WEEKDAYS[weekday] if 0 <= weekday < len(WEEKDAYS) else f"day {weekday}"
    start = SLOT_STARTS[slot] if 0 <= slot < len(SLOT_STARTS) else f"slot {slot}"
    return f"{day} {start}"


class _Problem:
    """The week's sessions and rooms as arrays, and the assignment problem of each (weekday, slot) cell."""

    def __init__(self, sessions: pd.DataFrame, venues: pd.DataFrame, distances: pd.DataFrame, basis: str):
        _require(sessions, SESSION_COLUMNS, "sessions")
        _require(venues, VENUE_COLUMNS, "venues")
        if venues["venue_code"].duplicated().any():
            raise ValueError("venues: a venue_code appears twice")
        sessions = sessions[sessions["venue_code"].notna()].reset_index(drop=True)
        venue_index = pd.Series(np.arange(len(venues)), index=venues["venue_code"].astype(str))
        unknown = sorted(set(sessions["venue_code"].astype(str)) - set(venue_index.index))
        if unknown:
            raise ValueError(f"sessions meet in venues not listed: {', '.join(unknown[:10])}")
        if sessions.duplicated(["venue_code", "weekday", "slot"]).any():
            raise ValueError("sessions: two sessions already share a venue at one time")
        buildings = venues["building_code"].astype(str)
        missing = sorted(set(buildings) - set(distances.index.astype(str)))
        if missing:
            raise ValueError(f"no walking distances for buildings {', '.join(missing)}")

        self.venue_code = venues["venue_code"].astype(str).to_numpy()
        self.venue_type = venues["venue_type"].astype(str).to_numpy()
        self.safe = venues["safe_capacity"].to_numpy(dtype="int64")
        self.accessible = venues["accessible"].fillna(False).to_numpy(dtype=bool)
        self.building = buildings.to_numpy()
        matrix = distances.loc[self.building, self.building].to_numpy(dtype=float)
        self.metres = np.rint(matrix).astype("int64")  # venue x venue

        self.n_sessions = len(sessions)
        self.session_id = sessions["session_id"].to_numpy()
        self.label = (
            sessions["section_code"].astype(str).to_numpy()
            if "section_code" in sessions
            else sessions["session_id"].astype(str).to_numpy()
        )
        self.weekday = sessions["weekday"].to_numpy(dtype="int64")
        self.slot = sessions["slot"].to_numpy(dtype="int64")
        self.own = venue_index.loc[sessions["venue_code"].astype(str)].to_numpy()
        self.forecast = sessions["forecast"].to_numpy(dtype=float)
        self.upper = sessions["upper"].to_numpy(dtype=float) if "upper" in sessions else np.full(len(sessions), np.nan)
        value = np.where((basis == "upper") & np.isfinite(self.upper), self.upper, self.forecast)
        self.known = np.isfinite(value)
        self.demand = np.where(self.known, np.floor(np.nan_to_num(value) + 0.5), 0).astype("int64")
        self.needs_type = sessions["needs_type"].astype(str).to_numpy()
        self.needs_accessible = sessions["needs_accessible"].fillna(False).to_numpy(dtype=bool)
        self.basis = basis
        self.at_risk = self.known & ~self.fits(np.arange(self.n_sessions), self.own[:, None])[:, 0]
        self.n_cells = len(np.unique(self.weekday * 1000 + self.slot)) if self.n_sessions else 0

    def cells(self):
        """Session row indices per (weekday, slot) cell that has a session at risk."""
        order = np.lexsort((self.slot, self.weekday))
        key = (self.weekday * 1000 + self.slot)[order]
        for rows in np.split(order, np.flatnonzero(np.diff(key)) + 1):
            if len(rows) and self.at_risk[rows].any():
                yield rows

    def fits(self, rows: np.ndarray, venues: np.ndarray) -> np.ndarray:
        """Whether each venue fits each session: `venues` broadcasts against `rows[:, None]`."""
        needs = self.needs_type[rows][:, None]
        vtype = self.venue_type[venues]
        type_ok = np.zeros(np.broadcast_shapes(needs.shape, vtype.shape), dtype=bool)
        for need in np.unique(needs):
            serving = FITTING_VENUE_TYPES.get(need, (need,))
            type_ok |= (needs == need) & np.isin(vtype, serving)
        access_ok = ~self.needs_accessible[rows][:, None] | self.accessible[venues]
        return type_ok & access_ok & (self.demand[rows][:, None] <= self.safe[venues])

    def solve_cell(self, cell: np.ndarray, move_others: bool) -> tuple[list, list, np.ndarray]:
        """The optimal assignment of one cell: its moves, its unsolved sessions and its Objective terms."""
        movable = self.known[cell] & (self.at_risk[cell] | move_others)
        rows, fixed = cell[movable], cell[~movable]
        columns = np.setdiff1d(np.arange(len(self.venue_code)), self.own[fixed])
        fit = self.fits(rows, columns[None, :])
        own = columns[None, :] == self.own[rows][:, None]
        walk = self.metres[self.own[rows][:, None], columns[None, :]]
        spare = self.safe[columns][None, :] - self.demand[rows][:, None]
        from scipy.optimize import linear_sum_assignment

        cost, weights = self._cost(fit, own, walk, spare, self.at_risk[rows])
        assigned_rows, assigned_cols = linear_sum_assignment(cost)
        target = np.empty(len(rows), dtype="int64")
        target[assigned_rows] = columns[assigned_cols]

        moved = target != self.own[rows]
        taker = {int(target[i]): int(rows[i]) for i in range(len(rows))}
        moves, unsolved = [], []
        for i in np.flatnonzero(moved):
            moves.append(self._move(int(rows[i]), int(target[i]), taker.get(int(self.own[rows[i]]))))
        for i in np.flatnonzero(~moved & self.at_risk[rows]):
            unsolved.append(self._unsolved(int(rows[i]), move_others, moved_into=set(target[moved].tolist())))
        n_unsolved = int((~moved & self.at_risk[rows]).sum())
        totals = np.array(
            [
                n_unsolved,
                int(moved.sum()),
                int(walk[np.arange(len(rows)), np.searchsorted(columns, target)][moved].sum()),
                int((self.safe[target] - self.demand[rows])[moved].sum()),
            ]
        )
        expected = weights @ totals
        if cost[assigned_rows, assigned_cols].sum() != expected:  # the arithmetic stayed exact
            raise ArithmeticError("reassignment costs lost precision")
        return moves, unsolved, totals

    @staticmethod
    def _cost(fit, own, walk, spare, at_risk) -> tuple[np.ndarray, np.ndarray]:
        """Integer costs, each tier weighted above the most every lower tier can add up to in this cell.

        The weights grow with the fourth power of the cell's size; past what float64 adds exactly (a cell of
        some 250 movable sessions on a 2 km campus), spare seats stop breaking ties and walking is the last tier.
        """
        n = fit.shape[0]
        max_walk = int(walk[fit].max(initial=0))
        per_seat = 1
        per_unsolved, per_move, per_metre = _tier_weights(n, max_walk, int(spare[fit].max(initial=0)))
        if n * per_unsolved >= _EXACT:
            per_seat = 0
            per_unsolved, per_move, per_metre = _tier_weights(n, max_walk, 0)
        if n * per_unsolved >= _EXACT:
            raise ArithmeticError(f"a cell of {n} movable sessions is too large to weigh exactly")
        cost = np.where(fit & ~own, per_move + per_metre * walk + per_seat * spare, np.inf)
        cost[own] = 0.0
        cost[own & at_risk[:, None]] = per_unsolved
        return cost.astype(float), np.array([per_unsolved, per_move, per_metre, per_seat])

    def _problem_text(self, row: int) -> str:
        """Why the session's room does not fit it, e.g. "forecast 142 (up to 160) > safe capacity 120"."""
        venue = self.own[row]
        problems = []
        if self.demand[row] > self.safe[venue]:
            problems.append(f"{self._demand_text(row, self.safe[venue])} > safe capacity {self.safe[venue]}")
        need = self.needs_type[row]
        if self.venue_type[venue] not in FITTING_VENUE_TYPES.get(need, (need,)):
            kind = VENUE_TYPE_LABELS.get(self.venue_type[venue], self.venue_type[venue])
            problems.append(f"needs a {VENUE_TYPE_LABELS.get(need, need)}, {self.venue_code[venue]} is a {kind}")
        if self.needs_accessible[row] and not self.accessible[venue]:
            problems.append(f"needs an accessible room, {self.venue_code[venue]} is not")
        return "; ".join(problems)

    def _demand_text(self, row: int, safe: int) -> str:
        forecast = round(float(self.forecast[row]))
        if self.basis == "forecast" or not np.isfinite(self.upper[row]):
            return f"forecast {forecast}"
        upper = round(float(self.upper[row]))
        return f"forecast {forecast} (up to {upper})" if forecast > safe else f"forecast {forecast}, up to {upper}"

    def _destination_text(self, row: int, venue: int) -> str:
        where = f"{self.venue_code[venue]} (safe {self.safe[venue]})"
        metres = int(self.metres[self.own[row], venue])
        if self.building[venue] == self.building[self.own[row]]:
            return f"{where}, same building"
        return f"{where} in building {self.building[venue]}, {metres} m ({walking_minutes(metres)} min walk)"

    def _move(self, row: int, venue: int, taker: int | None) -> dict:
        own = self.own[row]
        if self.at_risk[row]:
            reason = f"{self._problem_text(row)} → {self._destination_text(row, venue)}"
        else:
            freed = f"frees {self.venue_code[own]} for {self.label[taker]}" if taker is not None else "makes room"
            fits = f"{self._demand_text(row, self.safe[venue])} fits"
            reason = f"{freed}: {fits} {self._destination_text(row, venue)}"
        metres = int(self.metres[own, venue])
        return {
            "session_id": self.session_id[row],
            "section_code": self.label[row],
            "weekday": int(self.weekday[row]),
            "slot": int(self.slot[row]),
            "from_venue": self.venue_code[own],
            "to_venue": self.venue_code[venue],
            "at_risk": bool(self.at_risk[row]),
            "demand": int(self.demand[row]),
            "to_safe_capacity": int(self.safe[venue]),
            "walking_m": metres,
            "walking_min": walking_minutes(metres),
            "reason": reason,
        }

    def _unsolved(self, row: int, move_others: bool, moved_into: set[int]) -> dict:
        everywhere = np.arange(len(self.venue_code))
        fitting = everywhere[self.fits(np.array([row]), everywhere[None, :])[0]]
        fitting = fitting[fitting != self.own[row]]
        if len(fitting) == 0:
            why = f"no room on campus fits: {self._nothing_fits(row)}"
        else:
            names = ", ".join(self.venue_code[fitting[:3]]) + (", …" if len(fitting) > 3 else "")
            when = _when(self.weekday[row], self.slot[row])
            taken = sum(int(v) in moved_into for v in fitting)
            if len(fitting) == 1:
                why = f"the one room that fits ({names}) is in use on {when}"
                why += ", by a session this plan moves there" if taken else ""
            else:
                why = f"all {len(fitting)} rooms that fit ({names}) are in use on {when}"
                why += f", {taken} of them by sessions this plan moves there" if taken else ""
            if not move_others:
                why += "; moving other sessions was not allowed"
        return {
            "session_id": self.session_id[row],
            "section_code": self.label[row],
            "weekday": int(self.weekday[row]),
            "slot": int(self.slot[row]),
            "venue_code": self.venue_code[self.own[row]],
            "demand": int(self.demand[row]),
            "safe_capacity": int(self.safe[self.own[row]]),
            "reason": f"{self._problem_text(row)}; {why}",
        }

    def _nothing_fits(self, row: int) -> str:
        need = self.needs_type[row]
        kinds = FITTING_VENUE_TYPES.get(need, (need,))
        usable = np.isin(self.venue_type, kinds) & (self.accessible | ~self.needs_accessible[row])
        label = ("accessible " if self.needs_accessible[row] else "") + VENUE_TYPE_LABELS.get(need, need)
        if not usable.any():
            return f"there is no {label}"
        largest = np.flatnonzero(usable)[np.argmax(self.safe[usable])]
        return (
            f"no {label} holds {self.demand[row]} safely"
            f" (largest: {self.venue_code[largest]}, safe {self.safe[largest]})"
        )


def _tier_weights(n: int, max_walk: int, max_spare: int) -> tuple[int, int, int]:
    """Weights of an unsolved session, a move and a metre walked, for `n` rows: each above all below it."""
    per_metre = n * max_spare + 1
    per_move = n * (per_metre * max_walk + max_spare) + 1
    per_unsolved = n * (per_move + per_metre * max_walk + max_spare) + 1
    return per_unsolved, per_move, per_metre


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(f"{name}: missing columns {', '.join(missing)}")
