"""Shared fixtures for the ML unit tests: one small generated institution and one model trained on it."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.data.academic import AcademicData, generate_academic

SMALL = dict(n_students=600, n_courses=20, n_terms=4)


@pytest.fixture(scope="session")
def small_scale() -> dict[str, int]:
    return dict(SMALL)


@pytest.fixture(scope="session")
def small_academic() -> AcademicData:
    return generate_academic(**SMALL, seed=0)


@pytest.fixture(scope="session")
def small_records(small_academic: AcademicData) -> pd.DataFrame:
    return small_academic.records()


@pytest.fixture(scope="session")
def trained(small_records: pd.DataFrame):
    """A TrainResult on the small records (both candidates, all checkpoints)."""
    from ml.at_risk.model import train

    return train(small_records, seed=0)


@pytest.fixture()
def records(small_records: pd.DataFrame) -> pd.DataFrame:
    """A copy a test may change freely."""
    return small_records.copy()
