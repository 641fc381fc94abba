"""Shared fixtures for the campus unit tests: the demo campus and a bigger one for statistics."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.data.campus import CampusData, generate_campus, generate_scale

MEDIUM = dict(n_buildings=6, n_venues=120, n_sections=800, n_years=2)


@pytest.fixture(scope="session")
def demo_campus() -> CampusData:
    return generate_scale("demo", seed=0)


@pytest.fixture(scope="session")
def observations(demo_campus: CampusData) -> pd.DataFrame:
    """The demo campus's observations as measured (without the generator's true attendance)."""
    return demo_campus.observation_frame().drop(columns="true_attendance")


@pytest.fixture(scope="session")
def medium_campus() -> CampusData:
    return generate_campus(**MEDIUM, seed=0)


@pytest.fixture(scope="session")
def held(medium_campus: CampusData) -> pd.DataFrame:
    """Medium-campus sessions that went ahead, with the true show-up rate."""
    frame = medium_campus.observation_frame()
    frame = frame[~frame["cancelled"]].copy()
    frame["show_up"] = frame["true_attendance"] / frame["registered"]
    return frame
