"""Students at risk of failing a course, early: train, evaluate, predict and explain.

One model per checkpoint (week 4, week 8, after the midterm), each a sklearn `Pipeline` of the checkpoint's
preprocessing and a calibrated classifier. Training splits by term: the latest past term is held out for
evaluation, the earlier past terms train; the chosen candidate is then refitted on every past term for the
saved model. The positive class everywhere is FAIL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ml import gate
from ml.at_risk.baselines import BASELINE_LABELS, GATE_MARGIN, age_band, baselines, gate_group, gate_summary
from ml.at_risk.candidates import CANDIDATE_LABELS, CANDIDATES, candidate_params, make_candidate
from ml.at_risk.features import RecordFeatures, checkpoint_names, signals_known_by
from ml.at_risk.labels import label_and_unit
from ml.at_risk.reasons import MIN_COURSE_ROWS, describe, feature_sources, join_texts, top_reasons
from ml.at_risk.recommend import default_rules, recommend_many, validate_rules
from ml.at_risk.segments import Segmenter, segment_axes
from ml.at_risk.withdrawals import active_at
from ml.data.academic_fields import DEFAULT_CHECKPOINT_WEEKS, KEY_FIELDS, SIGNALS_BY_NAME
from ml.evaluation import (
    CLASSIFICATION_HEADLINE,
    classification_figures,
    curves,
    group_figures,
    plain,
    threshold_for_recall,
)
from ml.task import TrainResult

MIN_PAST_TERMS = 2
MIN_TRAIN_ROWS = 50
MIN_CLASS_ROWS = 10
# "medium" risk: at least this share of the alert threshold.
MEDIUM_SHARE = 0.5
REASONS = 3  # reasons per student in `predict`
PREDICTION_COLUMNS = ("checkpoint", "probability", "at_risk", "risk_band", "segment", "recommendation", "reasons")

Progress = Callable[[int, str], None]


class InsufficientDataError(ValueError):
    """The records cannot train (or evaluate) an at-risk model; the message says what is missing."""


@dataclass
class TermSplit:
    """Past rows with known outcomes, split by term: `train` terms before the `evaluation` term."""

    past: pd.DataFrame
    train: pd.DataFrame
    evaluation: pd.DataFrame
    train_terms: list[str]
    evaluation_term: str


@dataclass
class CheckpointModel:
    """The fitted pipeline of one checkpoint, its alert threshold and what it needs to explain itself."""

    name: str
    week: int
    candidate: str
    pipeline: Pipeline
    threshold: float
    # Course -> feature -> median in the training terms (courses with MIN_COURSE_ROWS rows or more): the
    # reference of a reason when one record is scored alone (a batch uses its own course medians).
    course_medians: dict[str, dict[str, float]] = field(default_factory=dict)
    input_names: list[str] = field(init=False)
    sources: list[str] = field(init=False)

    def __post_init__(self) -> None:
        encoder = self.pipeline.named_steps["encode"]
        self.input_names = [str(n) for n in encoder.get_feature_names_out()]
        numeric = encoder.output_indices_["numeric"]
        self.sources = feature_sources(
            self.input_names, numeric.stop - numeric.start, self.features_step.categorical_fields_
        )

    @property
    def features_step(self) -> RecordFeatures:
        return self.pipeline.named_steps["features"]

    @property
    def training_medians(self) -> dict[str, float]:
        return self.pipeline.named_steps["impute"].medians_

    def fields(self) -> list[str]:
        """Record columns this checkpoint reads."""
        step = self.features_step
        return [*step.signals_, *step.numeric_fields_, *step.categorical_fields_]

    def stages(self, records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
        """Capped features (for reasons), imputed features (for segments) and the model's input matrix."""
        # The pipeline's own steps, run one by one to keep the intermediate frames.
        names = [name for name, _ in self.pipeline.steps]
        features = self.features_step.transform(records)
        imputed = self.pipeline[names.index("clip") : names.index("encode")].transform(features)
        matrix = self.pipeline[names.index("encode") : -1].transform(imputed)
        return features, imputed, np.asarray(matrix, dtype=np.float64)

    def probability(self, matrix: np.ndarray) -> np.ndarray:
        return self.pipeline[-1].predict_proba(matrix)[:, 1]

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        return self.pipeline[-1].contributions(matrix)


class AtRiskModel:
    """Per-checkpoint at-risk models with segments and recommendation rules. Picklable with joblib."""

    def __init__(
        self, checkpoint_models: list[CheckpointModel], segmenter: Segmenter, rules: dict[str, dict[str, str]]
    ):
        self.checkpoint_models = {m.name: m for m in checkpoint_models}
        self.segmenter = segmenter
        self.rules = rules

    @property
    def checkpoints(self) -> list[str]:
        """Checkpoint names, earliest first."""
        return list(self.checkpoint_models)

    @property
    def thresholds(self) -> dict[str, float]:
        """Alert threshold on P(fail) per checkpoint."""
        return {name: m.threshold for name, m in self.checkpoint_models.items()}

    def feature_names(self, checkpoint: str) -> list[str]:
        """The model inputs of a checkpoint after preprocessing (one-hot columns, missing indicators...)."""
        return list(self._checkpoint(checkpoint).input_names)

    def fields(self, checkpoint: str) -> list[str]:
        """The record columns a checkpoint reads."""
        return self._checkpoint(checkpoint).fields()

    def latest_checkpoint(self, records: pd.DataFrame | Mapping[str, Sequence]) -> str:
        """The latest checkpoint whose newly known signals are present in `records` (a frame, or columns).

        A checkpoint that adds no signal over the previous one counts as present when that one is.
        When nothing is present (e.g. week 2), the earliest checkpoint scores with typical values.
        """
        chosen, previous_week, previous_present = self.checkpoints[0], -1, True
        for name, m in self.checkpoint_models.items():
            new = [s for s in m.features_step.signals_ if SIGNALS_BY_NAME[s].known_at_week > previous_week]
            present = any(_recorded(records, s) for s in new) if new else previous_present
            if present:
                chosen = name
            previous_week, previous_present = m.week, present
        return chosen

    def predict(
        self,
        records: pd.DataFrame,
        checkpoint: str | None = None,
        *,
        rules: dict[str, dict[str, str]] | None = None,
        with_reasons: bool = True,
    ) -> pd.DataFrame:
        """Score records: checkpoint, probability, at_risk, risk_band, segment, recommendation, reasons.

        `checkpoint=None` picks `latest_checkpoint(records)`; `rules` overrides the stored recommendation
        rules. The result is aligned to `records.index`.
        """
        name = checkpoint or self.latest_checkpoint(records)
        m = self._checkpoint(name)
        if records.empty:
            return _empty_predictions(records.index)
        features, imputed, matrix = m.stages(records)
        probability = m.probability(matrix)
        at_risk = probability >= m.threshold
        band = np.where(at_risk, "high", np.where(probability >= MEDIUM_SHARE * m.threshold, "medium", "low"))
        segment = self.segmenter.assign(segment_axes(imputed))
        rules = validate_rules(rules) if rules is not None else self.rules
        reasons = np.full(len(records), "", dtype=object)
        if with_reasons:
            top = top_reasons(m.contributions(matrix), m.sources, top=REASONS + 1)
            described = describe(top, features, _courses(records), m.training_medians, keep=REASONS)
            reasons = join_texts(described["text"])
        return pd.DataFrame(
            {
                "checkpoint": name,
                "probability": probability,
                "at_risk": at_risk,
                "risk_band": band.astype(object),
                "segment": segment,
                "recommendation": recommend_many(band, segment, rules),
                "reasons": reasons,
            },
            index=records.index,
        )

    def explain(self, records: pd.DataFrame, checkpoint: str | None = None, top: int = 3) -> list[list[dict]]:
        """Per row, the `top` reasons pushing towards FAIL (strongest first) as dicts:
        feature, label, value, reference, contribution (log-odds), text."""
        m = self._checkpoint(checkpoint or self.latest_checkpoint(records))
        features, _, matrix = m.stages(records)
        reasons = top_reasons(m.contributions(matrix), m.sources, top=top + 1)
        described = describe(reasons, features, _courses(records), m.training_medians, keep=top)
        out = []
        for i in range(len(records)):
            row = []
            for k, g in enumerate(described["index"][i]):
                if g < 0:
                    continue
                feature = reasons.fields[g]
                row.append(
                    {
                        "feature": feature,
                        "label": label_and_unit(feature)[0],
                        "value": plain(described["value"][i, k]),
                        "reference": plain(described["reference"][i, k]),
                        "contribution": float(described["contribution"][i, k]),
                        "text": described["text"][i, k],
                    }
                )
            out.append(row)
        return out

    def _checkpoint(self, name: str) -> CheckpointModel:
        if name not in self.checkpoint_models:
            raise KeyError(f"no checkpoint {name!r}; this model has {', '.join(self.checkpoints)}")
        return self.checkpoint_models[name]


def train(
    records: pd.DataFrame,
    *,
    known_weeks: dict[str, int | None] | None = None,
    checkpoint_weeks: Sequence[int] = DEFAULT_CHECKPOINT_WEEKS,
    target_recall: float = 0.8,
    seed: int = 0,
    progress: Progress | None = None,
    candidates: Sequence[str] = CANDIDATES,
    rules: dict[str, dict[str, str]] | None = None,
) -> TrainResult:
    """Train the at-risk model on the records frame (rows with a known `passed` outcome train).

    One model per checkpoint week (`checkpoint_weeks`), each using only the fields known by then (`known_weeks`:
    the week each field is known from; Aula's defaults for the signals, before the term for who the student is,
    extra columns only once dated) and only fields the current term has, so what is scored is what was learnt.
    A withdrawn student counts as failing at the checkpoints before their withdrawal week and is left out after.
    Per checkpoint: fit every candidate on the training terms, choose its alert threshold on out-of-fold
    predictions to reach `target_recall` of the fails, evaluate on the latest past term, keep the best by PR-AUC,
    and refit it on all past terms. Raises InsufficientDataError when the records cannot support this (fewer
    than two past terms with outcomes, one class only, ...).
    """
    report = progress or _no_progress
    if not 0.0 < target_recall <= 1.0:
        raise ValueError("target_recall must be in (0, 1]")
    if not candidates or any(c not in CANDIDATES for c in candidates):
        raise ValueError(f"candidates must be a non-empty selection of {CANDIDATES}")
    report(0, "Checking the training data")
    split = split_by_term(records)
    absent = fields_absent_from(_current_rows(records), split.past)
    plan = _plan_checkpoints(split.train, checkpoint_names(tuple(checkpoint_weeks)), known_weeks, absent)
    total_steps = len(plan) * (len(candidates) + 1) + 1
    done = 0
    detail: dict = {
        "evaluation_term": split.evaluation_term,
        "train_terms": split.train_terms,
        "checkpoints": {},
        "left_out": {f: "the current term has no values" for f in absent},
    }
    chosen_models: list[CheckpointModel] = []
    for name, week in plan:
        train_rows, eval_rows, past_rows = (active_at(f, week) for f in (split.train, split.evaluation, split.past))
        y_train, y_eval, y_past = fail_labels(train_rows), fail_labels(eval_rows), fail_labels(past_rows)
        fitted: dict[str, tuple[Pipeline, float, np.ndarray]] = {}
        figures: dict[str, dict] = {}
        for candidate in candidates:
            report(_percent(done, total_steps), f"{name}: fitting {CANDIDATE_LABELS[candidate]}")
            pipe = make_candidate(candidate, week, known_weeks=known_weeks, exclude=absent, seed=seed)
            pipe.fit(train_rows, y_train, classifier__groups=train_rows["term_code"].to_numpy())
            oof = pipe[-1].oof_probability_
            threshold = threshold_for_recall(y_train, oof, target_recall)
            probability = pipe.predict_proba(eval_rows)[:, 1]
            figures[candidate] = classification_figures(y_eval, probability, threshold)
            scored = ~np.isnan(oof)
            figures[candidate]["oof_recall"] = float(((oof >= threshold) & (y_train == 1))[scored].sum()) / max(
                1, int(y_train[scored].sum())
            )
            fitted[candidate] = (pipe, threshold, probability)
            done += 1
        best = max(candidates, key=lambda c: (figures[c]["pr_auc"] or 0.0, -CANDIDATES.index(c)))
        pipe, threshold, probability = fitted[best]
        detail["checkpoints"][name] = _checkpoint_detail(
            name, week, best, figures, pipe, threshold, probability, eval_rows, split.evaluation_term, y_train, y_eval
        )
        detail["checkpoints"][name]["withdrawn_left_out"] = len(split.evaluation) - len(eval_rows)
        report(_percent(done, total_steps), f"{name}: refitting {CANDIDATE_LABELS[best]} on all past terms")
        final = make_candidate(best, week, known_weeks=known_weeks, exclude=absent, seed=seed)
        final.fit(past_rows, y_past, classifier__groups=past_rows["term_code"].to_numpy())
        deployed = threshold_for_recall(y_past, final[-1].oof_probability_, target_recall)
        detail["checkpoints"][name]["deployed_threshold"] = deployed
        medians = course_medians(final.named_steps["features"].transform(past_rows), past_rows["course_code"])
        chosen_models.append(CheckpointModel(name, week, best, final, deployed, medians))
        done += 1

    report(_percent(done, total_steps), "Fitting student segments")
    _, imputed, _ = chosen_models[-1].stages(split.past)
    segmenter = Segmenter(seed=seed).fit(segment_axes(imputed))
    used = {f for m in chosen_models for f in m.fields()}
    rules = validate_rules(rules) if rules is not None else default_rules(used)
    model = AtRiskModel(chosen_models, segmenter, rules)
    detail["segments"] = segmenter.summary()
    detail["gate"] = gate_summary({name: cp["gate"] for name, cp in detail["checkpoints"].items()})

    final_name = chosen_models[-1].name
    final_detail = detail["checkpoints"][final_name]
    chosen = final_detail["candidates"][final_detail["chosen"]]
    baseline_name = final_detail["best_baseline"]
    metrics = {k: chosen[k] for k in CLASSIFICATION_HEADLINE}
    metrics["threshold"] = chosen["threshold"]
    metrics.update({f"baseline_{k}": final_detail["baselines"][baseline_name][k] for k in CLASSIFICATION_HEADLINE})
    metrics["beats_baseline"] = detail["gate"]["beats_baseline"]
    metrics["detail"] = detail
    params = {
        "target_recall": target_recall,
        "seed": seed,
        "candidates": {c: candidate_params()[c] for c in candidates},
        "calibration": "sigmoid on term-grouped out-of-fold scores",
        "checkpoints": {m.name: m.week for m in chosen_models},
        "known_weeks": known_weeks or {},
        "chosen": {m.name: m.candidate for m in chosen_models},
        "thresholds": model.thresholds,
        "medium_band_share": MEDIUM_SHARE,
        "features": {m.name: {"fields": m.fields(), "model_inputs": m.input_names} for m in chosen_models},
        "rules": rules,
    }
    report(100, "Done")
    return TrainResult(model=model, metrics=plain(metrics), params=plain(params), data_summary=data_summary(split))


def evaluate(model: AtRiskModel, records: pd.DataFrame) -> dict:
    """Flat metrics of an existing model on the evaluation term `train` would hold out for these records.

    Same keys as `TrainResult.metrics` (final checkpoint, model thresholds, `baseline_*`, `detail`), so a
    production model and a new candidate compare on the same rows.
    """
    split = split_by_term(records)
    detail: dict = {"evaluation_term": split.evaluation_term, "checkpoints": {}}
    for name, m in model.checkpoint_models.items():
        train_rows, eval_rows = active_at(split.train, m.week), active_at(split.evaluation, m.week)
        y_train, y_eval = fail_labels(train_rows), fail_labels(eval_rows)
        features, _, matrix = m.stages(eval_rows)
        probability = m.probability(matrix)
        found = baselines(y_eval, float(y_train.mean()), _latest_grade(features), eval_rows["pass_mark"].to_numpy())
        detail["checkpoints"][name] = {
            "model": classification_figures(y_eval, probability, m.threshold),
            "baselines": found.figures,
            "best_baseline": found.best,
            "gate": gate_group(y_eval, probability, found),
        }
    detail["gate"] = gate_summary({name: cp["gate"] for name, cp in detail["checkpoints"].items()})
    final = detail["checkpoints"][model.checkpoints[-1]]
    metrics = {k: final["model"][k] for k in CLASSIFICATION_HEADLINE}
    metrics["threshold"] = final["model"]["threshold"]
    metrics.update({f"baseline_{k}": final["baselines"][final["best_baseline"]][k] for k in CLASSIFICATION_HEADLINE})
    metrics["beats_baseline"] = detail["gate"]["beats_baseline"]
    metrics["detail"] = detail
    return plain(metrics)


def split_by_term(records: pd.DataFrame) -> TermSplit:
    """Past rows with known outcomes; the latest such term evaluates, the earlier ones train."""
    missing = [c for c in (*KEY_FIELDS, "term_index", "pass_mark", "passed") if c not in records.columns]
    if missing:
        raise InsufficientDataError(f"The records lack the column(s) {', '.join(missing)}; map them at import.")
    passed = _passed(records)
    current = records["is_current"].fillna(False).astype(bool) if "is_current" in records.columns else False
    past = records.loc[passed.notna().to_numpy() & ~np.asarray(current, dtype=bool)]
    terms = past.groupby("term_code", sort=False)["term_index"].min().sort_values()
    if len(terms) < MIN_PAST_TERMS:
        found = f" (only {', '.join(terms.index)})" if len(terms) else ""
        raise InsufficientDataError(
            f"Training needs final outcomes (passed) from at least {MIN_PAST_TERMS} past terms; found "
            f"{len(terms)}{found}. Import the outcomes of an earlier term, or wait until the current term closes."
        )
    evaluation_term = str(terms.index[-1])
    train_terms = [str(t) for t in terms.index[:-1]]
    is_eval = (past["term_code"] == evaluation_term).to_numpy()
    train, evaluation = past.loc[~is_eval], past.loc[is_eval]
    y_train, y_eval = fail_labels(train), fail_labels(evaluation)
    if len(train) < MIN_TRAIN_ROWS:
        raise InsufficientDataError(
            f"Only {len(train)} enrollments with outcomes in the training terms ({', '.join(train_terms)}); "
            f"at least {MIN_TRAIN_ROWS} are needed."
        )
    for label in (1, 0):
        if (y_train == label).sum() < MIN_CLASS_ROWS:
            kind = "failed" if label == 1 else "passed"
            raise InsufficientDataError(
                f"Only {(y_train == label).sum()} enrollments {kind} in the training terms "
                f"({', '.join(train_terms)}); at least {MIN_CLASS_ROWS} of each outcome are needed to learn who "
                "fails. Check that `passed` is imported correctly or add more past terms."
            )
    if len(np.unique(y_eval)) < 2:
        raise InsufficientDataError(
            f"Every enrollment in the evaluation term {evaluation_term} has the same outcome, so the model cannot "
            "be evaluated; check that `passed` is imported correctly."
        )
    return TermSplit(past, train, evaluation, train_terms, evaluation_term)


def course_medians(features: pd.DataFrame, courses: pd.Series) -> dict[str, dict[str, float]]:
    """Median of each numeric feature per course, for courses with at least MIN_COURSE_ROWS rows."""
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    grouped = features[numeric].groupby(courses.to_numpy(), sort=False)
    counts = grouped.size()
    medians = grouped.median()
    kept = medians.loc[counts.index[counts >= MIN_COURSE_ROWS]]
    return {
        str(course): {k: float(v) for k, v in row.items() if pd.notna(v)}
        for course, row in kept.to_dict("index").items()
    }


def fail_labels(frame: pd.DataFrame) -> np.ndarray:
    """1 for FAIL (a withdrawal is not a pass), 0 for pass (rows must have a known outcome)."""
    return (~_passed(frame).astype(bool)).to_numpy(dtype=np.int64)


def fields_absent_from(current: pd.DataFrame, past: pd.DataFrame) -> tuple[str, ...]:
    """Fields the past terms have but the current term has no value of: a model using them would score every
    current student with a guess, so they are left out (none when there is no current term)."""
    if current.empty:
        return ()
    return tuple(
        c
        for c in current.columns
        if c not in _NOT_FEATURES and c in past.columns and past[c].notna().any() and current[c].isna().all()
    )


_NOT_FEATURES = frozenset({*KEY_FIELDS, "term_index", "is_current", "passed", "final_grade", "withdrawn",
                           "withdrawal_week", "enrollment_id", "source_row"})  # fmt: skip


def data_summary(split: TermSplit) -> dict:
    """Rows, terms, fail rate and a sha256 of the training rows (stable for equal data in any row order)."""
    past = split.past
    columns = sorted(past.columns)
    ordered = past[columns].sort_values(list(KEY_FIELDS), kind="stable").reset_index(drop=True)
    row_hashes = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    digest = hashlib.sha256("|".join(columns).encode() + row_hashes.tobytes()).hexdigest()
    terms = [*split.train_terms, split.evaluation_term]
    return plain(
        {
            "rows": len(past),
            "n_terms": len(terms),
            "first_term": terms[0],
            "last_term": terms[-1],
            "train_terms": split.train_terms,
            "evaluation_term": split.evaluation_term,
            "n_students": past["student_id"].nunique(),
            "n_courses": past["course_code"].nunique(),
            "fail_rate": float(fail_labels(past).mean()),
            "data_hash": digest,
        }
    )


# -- helpers


def _recorded(records: pd.DataFrame | Mapping[str, Sequence], name: str) -> bool:
    if isinstance(records, pd.DataFrame):
        return name in records.columns and bool(records[name].notna().any())
    return any(v is not None and v == v for v in records.get(name) or [])  # v == v: not NaN


def _no_progress(percent: int, message: str) -> None:
    """Default progress callback: ignore."""


def _percent(done: int, total: int) -> int:
    return round(95 * done / max(1, total))


def _passed(frame: pd.DataFrame) -> pd.Series:
    """`passed` as nullable boolean; text such as "true"/"0" from a CSV is understood."""
    col = frame["passed"]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return col.astype("boolean")
    text = col.astype("object").map(lambda v: str(v).strip().lower() if pd.notna(v) else None)
    mapping = {"true": True, "1": True, "1.0": True, "yes": True, "false": False, "0": False, "0.0": False, "no": False}
    return text.map(mapping).astype("boolean")


def _empty_predictions(index: pd.Index) -> pd.DataFrame:
    dtypes = {"probability": "float64", "at_risk": "bool"}
    return pd.DataFrame({c: pd.Series(index=index, dtype=dtypes.get(c, "object")) for c in PREDICTION_COLUMNS})


def _courses(records: pd.DataFrame) -> pd.Series | None:
    return records["course_code"] if "course_code" in records.columns else None


def _latest_grade(features: pd.DataFrame) -> np.ndarray | None:
    return features["latest_grade"].to_numpy(dtype=np.float64) if "latest_grade" in features.columns else None


def _current_rows(records: pd.DataFrame) -> pd.DataFrame:
    if "is_current" not in records.columns:
        return records.iloc[0:0]
    current = records["is_current"].fillna(False).astype(bool).to_numpy()
    return records.loc[current & _passed(records).isna().to_numpy()]


def _plan_checkpoints(
    train: pd.DataFrame, checkpoints: dict[str, int], known_weeks: dict | None, absent: tuple[str, ...]
) -> list[tuple[str, int]]:
    """Checkpoints that have at least one usable field in the training rows: (name, week)."""
    plan = []
    for name, week in checkpoints.items():
        step = RecordFeatures(week=week, known_weeks=known_weeks, exclude=absent)
        if len(step.fit(active_at(train, week)).feature_names_out_):
            plan.append((name, week))
    if not plan:
        raise InsufficientDataError(
            "The records have no usable fields: provide at least one signal (e.g. absences or a period grade) "
            f"or student field. Known signals: {', '.join(signals_known_by(99))}."
        )
    return plan


def _checkpoint_detail(
    name: str,
    week: int,
    chosen: str,
    figures: dict[str, dict],
    pipe: Pipeline,
    threshold: float,
    probability: np.ndarray,
    evaluation: pd.DataFrame,
    evaluation_term: str,
    y_train: np.ndarray,
    y_eval: np.ndarray,
) -> dict:
    """Evaluation-term figures of a checkpoint: candidates, baselines, curves, groups and a verdict."""
    features = pipe.named_steps["features"].transform(evaluation)
    found = baselines(y_eval, float(y_train.mean()), _latest_grade(features), evaluation["pass_mark"].to_numpy())
    model = figures[chosen]
    versus = gate_group(y_eval, probability, found)
    beats = gate.summary("pr_auc", True, {name: versus}, GATE_MARGIN)["beats_baseline"]
    groups = {}
    if "sex" in evaluation.columns:
        groups["sex"] = evaluation["sex"].astype("object").fillna("unknown").to_numpy()
    if "age" in evaluation.columns:
        groups["age_band"] = age_band(pd.to_numeric(evaluation["age"], errors="coerce").to_numpy(dtype=float))
    return {
        "week": week,
        "chosen": chosen,
        "threshold": threshold,
        "candidates": figures,
        "baselines": found.figures,
        "best_baseline": found.best,
        "beats_baseline": beats,
        "gate": versus,
        "sentence": _verdict(name, week, chosen, model, found, versus, beats, evaluation_term),
        "curves": curves(y_eval, probability),
        "groups": group_figures(y_eval, probability, threshold, groups),
        "features": [str(f) for f in pipe.named_steps["features"].feature_names_out_],
    }


def _verdict(
    name: str, week: int, chosen: str, model: dict, found, versus: dict, beats: bool, evaluation_term: str
) -> str:
    """What the model is worth at a checkpoint, in words; "beats" only when the bootstrap interval says so."""
    best = found.best
    b = found.figures[best]
    low, high = versus["difference"]["low"], versus["difference"]["high"]
    interval = f"95 % interval {low:+.2f} to {high:+.2f}" if low is not None and high is not None else "no interval"
    flags = (
        f"At {name} (week {week}) the {CANDIDATE_LABELS[chosen]} model flags {model['recall']:.0%} of the "
        f"{model['n_positive']:,} students who went on to fail in {evaluation_term} (of {model['n']:,} evaluated), "
        f"with precision {model['precision']:.0%} (F1 {model['f1']:.2f}, PR-AUC {model['pr_auc'] or 0:.2f}). "
        f"The best simple rule, {BASELINE_LABELS[best]}, reaches F1 {b['f1']:.2f} and PR-AUC {b['pr_auc'] or 0:.2f}."
    )
    if (model.get("roc_auc") or 0.5) <= 0.5:
        return flags + " The model ranks students no better than chance here: do not rely on it."
    if beats:
        return flags + f" The model beats that rule (PR-AUC difference {interval})."
    return flags + f" The model is NO BETTER than that rule (PR-AUC difference {interval}): rely on the rule."
