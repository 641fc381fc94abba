"""Withdrawn students: at risk at the checkpoints before their withdrawal week, left out of those after it.

Kept apart from the model (and free of scikit-learn) because the web's stored-list reads use it too.
"""

from __future__ import annotations

import pandas as pd


def active_at(frame: pd.DataFrame, week: int) -> pd.DataFrame:
    """The rows a checkpoint at `week` is about: without those who had already withdrawn by then (a withdrawal
    of unknown week counts as after every checkpoint: the student was at risk while enrolled)."""
    if "withdrawn" not in frame.columns or "withdrawal_week" not in frame.columns:
        return frame
    left = frame["withdrawn"].fillna(False).astype(bool) & (frame["withdrawal_week"].astype(float) <= week)
    return frame.loc[~left.to_numpy()]
