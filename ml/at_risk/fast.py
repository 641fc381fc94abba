"""Scoring a few records at once (the JSON API, the what-if form) in a millisecond or two.

`AtRiskModel.predict` runs each checkpoint's sklearn `Pipeline` on a DataFrame: right for a term of 100,000
enrollments, but for one record its per-call overhead (column-wise pandas, the ColumnTransformer, the sklearn
wrappers' checks) is ~100 ms. `FastScorer` runs the same fitted steps on plain arrays: the features step's own
code, then the clipper's bounds, the imputer's medians and indicators, the encoder's columns, the scaler and the
classifier (LightGBM's booster or the logistic coefficients) with the same calibration. Tests compare it with
the pipeline on many records; its answer is the batch path's up to float rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ml.at_risk.features import MISSING_SUFFIX
from ml.at_risk.reasons import describe, join_texts, past_course_references, top_reasons
from ml.at_risk.recommend import recommend_many
from ml.at_risk.segments import axis_values


@dataclass
class Scored:
    """One record's score, as the API answers it."""

    checkpoint: str
    probability: float
    at_risk: bool
    risk_band: str
    segment: str
    recommendation: str
    reasons: list[str]

    def as_dict(self) -> dict:
        return {
            "checkpoint": self.checkpoint,
            "probability": round(self.probability, 4),
            "at_risk": self.at_risk,
            "risk_band": self.risk_band,
            "segment": self.segment,
            "recommendation": self.recommendation,
            "reasons": self.reasons,
        }


class FastScorer:
    """An `AtRiskModel`'s checkpoints compiled for small inputs, with the recommendation rules in force."""

    def __init__(self, model, rules: dict[str, dict[str, str]]):
        from threadpoolctl import threadpool_limits

        from ml.at_risk.model import MEDIUM_SHARE, REASONS

        # One OpenMP thread for this process: on 2 cores, a second runtime's spin-waiting pool (scikit-learn's
        # and LightGBM's each bring one) otherwise stalls every LightGBM call by milliseconds. Only processes
        # that score a few records at a time (the web) build a FastScorer; training workers are not affected.
        threadpool_limits(1, user_api="openmp")
        self.model = model
        self.rules = rules
        self.medium_share = MEDIUM_SHARE
        self.reasons = REASONS
        self.checkpoints = {name: _CompiledCheckpoint(m) for name, m in model.checkpoint_models.items()}

    def score(self, records: Sequence[Mapping], checkpoint: str | None = None) -> list[Scored]:
        """Score validated records (field -> value on Aula's scales); `checkpoint=None` picks the latest one
        whose signals the records carry, as `AtRiskModel.predict` does."""
        if not records:
            return []
        n = len(records)
        columns = _columns(records)
        name = checkpoint or self.model.latest_checkpoint(columns)
        if name not in self.checkpoints:
            raise KeyError(f"no checkpoint {name!r}; this model has {', '.join(self.checkpoints)}")
        compiled = self.checkpoints[name]
        features, imputed, matrix = compiled.stages(columns, n)
        probability = compiled.probability(matrix)
        at_risk = probability >= compiled.threshold
        band = np.where(
            at_risk, "high", np.where(probability >= self.medium_share * compiled.threshold, "medium", "low")
        )
        segment = self._segments(imputed, n)
        recommendation = recommend_many(band, segment, self.rules)
        reasons = self._reasons(compiled, features, matrix, columns.get("course_code") or [None] * n)
        return [
            Scored(name, float(probability[i]), bool(at_risk[i]), str(band[i]), str(segment[i]),
                   str(recommendation[i]), [r for r in reasons[i].split("; ") if r])
            for i in range(n)
        ]  # fmt: skip

    def _segments(self, imputed: dict[str, np.ndarray], n: int) -> np.ndarray:
        return self.model.segmenter.assign(axis_values(imputed), n)

    def _reasons(self, compiled: _CompiledCheckpoint, features: dict, matrix: np.ndarray, courses: list) -> list:
        top = top_reasons(compiled.contributions(matrix), compiled.sources, top=self.reasons + 1)
        used = sorted({top.fields[g] for g in np.unique(top.index[top.index >= 0])})
        references = past_course_references(used, list(courses), compiled.course_medians, compiled.training_medians)
        described = describe(top, features, None, compiled.training_medians, keep=self.reasons, references=references)
        return list(join_texts(described["text"]))


class _CompiledCheckpoint:
    """One checkpoint's fitted pipeline as arrays and lookups."""

    def __init__(self, m):
        steps = m.pipeline.named_steps
        self.features_step = steps["features"]
        self.feature_names = [str(n) for n in self.features_step.feature_names_out_]
        self.categorical = list(self.features_step.categorical_fields_)
        self.bounds = dict(steps["clip"].bounds_)
        self.training_medians = dict(steps["impute"].medians_)
        self.indicators = list(steps["impute"].indicators_)
        encoder = steps["encode"]
        self.numeric_columns = next(cols for name, _, cols in encoder.transformers_ if name == "numeric")
        one_hot = encoder.named_transformers_["categorical"] if self.categorical else None
        first = len(self.numeric_columns)
        self.one_hot = _one_hot_lookups(one_hot, self.categorical, first) if one_hot is not None else []
        self.width = len(m.input_names)
        scaler = steps.get("scale")
        self.scale = (scaler.mean_, scaler.scale_) if scaler is not None else None
        classifier = steps["classifier"]
        self.calibration = classifier.calibration_
        estimator = classifier.estimator_
        self.booster = getattr(estimator, "booster_", None)
        if self.booster is None:
            self.coef, self.intercept = estimator.coef_[0], float(estimator.intercept_[0])
            self.feature_means = classifier.feature_means_
        self.sources = m.sources
        self.threshold = m.threshold
        self.course_medians = getattr(m, "course_medians", {})

    def stages(self, columns: Mapping[str, Sequence], n: int) -> tuple[dict, dict, np.ndarray]:
        """Capped features (for reasons), imputed features (for segments) and the model's input matrix."""
        features = self.features_step.transform_columns(columns, n)
        imputed: dict[str, np.ndarray] = {}
        for name in self.feature_names:
            values = features[name]
            if name in self.categorical:
                imputed[name] = values
                continue
            if name in self.bounds:
                values = np.clip(values, *self.bounds[name])
            imputed[name] = values
        for name in self.indicators:
            imputed[f"{name}{MISSING_SUFFIX}"] = np.isnan(imputed[name]).astype(np.float64)
        for name, median in self.training_medians.items():
            if name in imputed and name not in self.categorical:
                imputed[name] = np.where(np.isnan(imputed[name]), median, imputed[name])
        matrix = np.zeros((n, self.width))
        for j, name in enumerate(self.numeric_columns):
            matrix[:, j] = imputed[name]
        for name, lookup, fallback in self.one_hot:
            for i, value in enumerate(imputed[name]):
                column = lookup.get(value, fallback)
                if column is not None:
                    matrix[i, column] = 1.0
        if self.scale is not None:
            matrix = (matrix - self.scale[0]) / self.scale[1]
        return features, imputed, matrix

    def probability(self, matrix: np.ndarray) -> np.ndarray:
        a, b = self.calibration
        return 1.0 / (1.0 + np.exp(-(a * self._raw(matrix) + b)))

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        if self.booster is not None:
            return np.asarray(self.booster.predict(matrix, pred_contrib=True))[:, :-1]
        return (matrix - self.feature_means) * self.coef

    def _raw(self, matrix: np.ndarray) -> np.ndarray:
        if self.booster is not None:
            return np.asarray(self.booster.predict(matrix, raw_score=True), dtype=np.float64)
        return matrix @ self.coef + self.intercept


def _one_hot_lookups(one_hot, fields: list[str], first_column: int) -> list[tuple[str, dict, int | None]]:
    """Per categorical field: level -> matrix column, and the column of infrequent/unknown levels (if any).

    The one-hot columns follow the numeric ones (from `first_column`), in the encoder's own order: each field's
    frequent levels, then `<field>_infrequent_sklearn` when the encoder grouped rare levels (unknown ones go there
    too; without such a column an unknown level is all zeros, as `handle_unknown` does).
    """
    names = [str(n) for n in one_hot.get_feature_names_out()]
    infrequent_by_field = getattr(one_hot, "infrequent_categories_", None) or [None] * len(fields)
    out, offset = [], 0
    for i, field in enumerate(fields):
        infrequent = {str(c) for c in infrequent_by_field[i]} if infrequent_by_field[i] is not None else set()
        frequent = [str(c) for c in one_hot.categories_[i] if str(c) not in infrequent]
        width = len(frequent) + (1 if infrequent else 0)
        block = names[offset : offset + width]
        lookup = {level: first_column + offset + block.index(f"{field}_{level}") for level in frequent}
        fallback = first_column + offset + width - 1 if infrequent else None
        out.append((field, lookup, fallback))
        offset += width
    return out


def _columns(records: Sequence[Mapping]) -> dict[str, list]:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    return {name: [record.get(name) for record in records] for name in names}
