"""How the registry stores an enrollment model: each booster in its library's own file format, the rest in joblib.

Native files rather than one pickle: LightGBM's text model and XGBoost's JSON model load in later versions of
those libraries (a pickled XGBoost booster is only promised to load in the version that wrote it), they can be
read and checked by hand, and a booster is never unpickled. `model.joblib` holds what is left once the boosters
are taken out: features, anchors, interval calibrators, the years trained on, global importance.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ml.enrollment.model import EnrollmentModel

SHELL = "model.joblib"


@dataclasses.dataclass(frozen=True)
class EnsembleFormat:
    name: str = "enrollment-ensemble"

    def dump(self, model: EnrollmentModel, folder: Path) -> None:
        import joblib

        shells = {}
        for stage, fitted in model.stages.items():
            fitted.lgb.save_model(str(folder / f"{stage}.lightgbm.txt"))
            fitted.xgb.save_model(str(folder / f"{stage}.xgboost.json"))
            shells[stage] = dataclasses.replace(fitted, lgb=None, xgb=None)
        joblib.dump(dataclasses.replace(model, stages=shells), folder / SHELL, compress=3)

    def load(self, folder: Path) -> EnrollmentModel:
        import joblib
        import lightgbm
        import xgboost

        model = joblib.load(folder / SHELL)
        for stage, shell in model.stages.items():
            booster = xgboost.Booster()
            booster.load_model(str(folder / f"{stage}.xgboost.json"))
            booster.set_param({"nthread": 1})
            shell.lgb = lightgbm.Booster(model_file=str(folder / f"{stage}.lightgbm.txt"))
            shell.xgb = booster
        return model
