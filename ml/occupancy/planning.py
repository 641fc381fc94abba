"""Reassignment of the coming week from the stored forecasts: make a plan, and apply exactly the plan shown.

The plan is `ml.occupancy.reassign.solve_reassignment` on the week's stored forecasts (each session in its room
now), every room, and the walking distances; a session's demand is the upper end of its interval (or the
forecast itself), held to the overcrowding limit: `share` x each room's safe capacity. Applying re-solves
from the stored state and applies only if the result is the plan the person saw (`fingerprint`): a timetable
or forecast changed meanwhile gives the new plan to review instead, and two applies racing each other are
refused by the database (`ml.occupancy.reassign.apply_plan`).
"""

from __future__ import annotations

import hashlib

import numpy as np

from core.models import User
from ml.data.campus_sql import load_venues, load_walking_distances
from ml.occupancy.reassign import PlanConflict, ReassignmentPlan, apply_plan, solve_reassignment
from ml.occupancy.store import Horizon, stored_forecasts


class PlanChanged(PlanConflict):
    """The plan made now differs from the one shown; `plan` is the new one. Nothing was written."""

    def __init__(self, plan: ReassignmentPlan):
        self.plan = plan
        super().__init__(
            "The timetable or the forecasts changed since this plan was made; the plan below is the new one. "
            "Review it and apply again."
        )


def week_plan(
    version_id: int, horizon: Horizon, *, basis: str = "upper", move_others: bool = True, share: float = 1.0
) -> ReassignmentPlan:
    """The optimal plan for the coming week of the horizon."""
    week = horizon.coming
    sessions = stored_forecasts(version_id, horizon.term_code, week)
    venues = load_venues()
    venues["safe_capacity"] = np.floor(share * venues["safe_capacity"].astype(float)).astype("int64")
    return solve_reassignment(
        sessions,
        venues,
        load_walking_distances(),
        basis=basis,
        move_others=move_others,
        term_code=horizon.term_code,
        week=week,
    )


def fingerprint(plan: ReassignmentPlan) -> str:
    """What identifies a plan: its moves (session, from, to), its basis and week."""
    moves = plan.moves[["session_id", "from_venue", "to_venue"]].astype(str).sort_values("session_id")
    text = f"{plan.term_code}|{plan.week}|{plan.basis}|" + ";".join(",".join(row) for row in moves.to_numpy())
    return hashlib.sha256(text.encode()).hexdigest()


def apply_shown_plan(
    shown: str,
    version_id: int,
    horizon: Horizon,
    user: User | None,
    *,
    basis: str = "upper",
    move_others: bool = True,
    share: float = 1.0,
) -> tuple[ReassignmentPlan, int]:
    """Apply the plan whose fingerprint is `shown`: (plan, moves made). Raises PlanChanged or PlanConflict."""
    plan = week_plan(version_id, horizon, basis=basis, move_others=move_others, share=share)
    if fingerprint(plan) != shown:
        raise PlanChanged(plan)
    return plan, apply_plan(plan, user)
