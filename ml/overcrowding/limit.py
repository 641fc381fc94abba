"""The overcrowding limit: the share of a room's safe capacity above which a session counts as overcrowded.

An admin setting (`Setting` "overcrowding_limit_share"), read when the overcrowding model trains: a changed
limit takes effect with the next retraining, and the model in production says which limit it learnt.
"""

from __future__ import annotations

from core.db import session
from core.models import Setting

SETTING_KEY = "overcrowding_limit_share"
DEFAULT_SHARE = 1.0
SHARE_RANGE = (0.5, 1.2)


def current_share() -> float:
    value = Setting.get(SETTING_KEY, DEFAULT_SHARE)
    try:
        return check_share(value)
    except ValueError:
        return DEFAULT_SHARE  # a hand-edited row out of range: the safe default, not a crash in training


def set_share(share: float, updated_by: str) -> float:
    """Store a new limit (ValueError when out of range); commits."""
    share = check_share(share)
    Setting.put(SETTING_KEY, share, updated_by)
    session.commit()
    return share


def check_share(share: float) -> float:
    """The limit share, validated: ValueError with the allowed range otherwise."""
    low, high = SHARE_RANGE
    if not isinstance(share, int | float) or isinstance(share, bool) or not low <= float(share) <= high:
        raise ValueError(f"the overcrowding limit must be a share of safe capacity from {low:g} to {high:g}")
    return float(share)
