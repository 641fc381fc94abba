"""The at-risk task as the lifecycle sees it: data from SQL, train/evaluate, publish stored predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert

from core.db import session
from core.models import ModelVersion, RiskPrediction
from ml.data.academic_sql import load_records

BATCH = 5000


class AtRiskTask:
    name = "at_risk"
    primary_metric = "pr_auc"
    higher_is_better = True

    def load_training_data(self) -> pd.DataFrame:
        return load_records()

    def train(self, data: pd.DataFrame, progress) -> Any:
        from ml.at_risk.model import train

        return train(data.drop(columns="enrollment_id"), progress=progress)

    def evaluate(self, model: Any, data: pd.DataFrame) -> dict:
        from ml.at_risk.model import evaluate

        return evaluate(model, data.drop(columns="enrollment_id"))

    def publish(self, version: ModelVersion, model: Any) -> None:
        """Score the current term at every checkpoint with `version` and store the results."""
        current = load_records()
        current = current[current["is_current"] & current["passed"].isna()]
        session.execute(delete(RiskPrediction).where(RiskPrediction.model_version_id == version.id))
        for checkpoint in model.checkpoints:
            if current.empty:
                break
            scored = model.predict(current.drop(columns="enrollment_id"), checkpoint)
            rows = pd.DataFrame(
                {
                    "enrollment_id": current["enrollment_id"].to_numpy(),
                    "model_version_id": version.id,
                    "checkpoint": checkpoint,
                    "probability": scored["probability"].to_numpy(dtype=float).round(4),
                    "at_risk": scored["at_risk"].to_numpy(dtype=bool),
                    "risk_band": scored["risk_band"].to_numpy(),
                    "segment": scored["segment"].to_numpy(),
                    "recommendation": scored["recommendation"].to_numpy(),
                    "reasons": scored["reasons"].to_numpy(),
                }
            ).to_dict("records")
            for row in rows:
                row["enrollment_id"] = int(row["enrollment_id"])
                row["at_risk"] = bool(row["at_risk"])
                row["probability"] = float(np.float64(row["probability"]))
            for start in range(0, len(rows), BATCH):
                session.execute(insert(RiskPrediction), rows[start : start + BATCH])
        session.commit()


TASK = AtRiskTask()
