"""The fast path scores a few records exactly as the fitted pipelines score a term."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.at_risk.fast import FastScorer
from ml.at_risk.model import train

NOT_INPUTS = ("term_index", "is_current", "passed", "final_grade", "withdrawn", "withdrawal_week")


def as_records(frame: pd.DataFrame) -> list[dict]:
    rows = frame.drop(columns=[c for c in NOT_INPUTS if c in frame]).to_dict("records")
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()} for row in rows]


@pytest.fixture(scope="module", params=["logistic_regression", "lightgbm"])
def model(request, small_records):
    records = small_records.assign(x_campus=np.where(small_records.index % 3 == 0, "North", "South"))
    return train(records, known_weeks={"x_campus": 0}, candidates=(request.param,)).model


def test_fast_scores_equal_the_pipelines_at_every_checkpoint(model, small_records):
    current = small_records[small_records["is_current"]].head(150).copy()
    current["x_campus"] = np.where(current.index % 5 == 0, "Mars", "North")  # an unknown level on purpose
    current.loc[current.index[:20], "attendance_w8"] = np.nan  # missing values take the training medians
    scorer = FastScorer(model, model.rules)
    for checkpoint in model.checkpoints:
        expected = model.predict(current, checkpoint)
        scored = scorer.score(as_records(current), checkpoint)
        np.testing.assert_allclose([s.probability for s in scored], expected["probability"], atol=1e-9)
        assert [s.risk_band for s in scored] == expected["risk_band"].tolist()
        assert [s.segment for s in scored] == expected["segment"].tolist()
        assert [s.recommendation for s in scored] == expected["recommendation"].tolist()
        assert all(1 <= len(s.reasons) <= 3 or s.risk_band == "low" for s in scored)
