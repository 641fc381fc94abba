"""The lifecycle's gate step: production re-scored on the candidate's data, its own held-out figures when it saw
that data, and never a promotion when re-scoring production fails."""

from __future__ import annotations

from dataclasses import dataclass

from ml import lifecycle, registry
from tests.unit.ml.test_gate import metrics

JOBLIB = registry.JoblibFormat()


@dataclass
class GateSpec:
    """A task whose production model scores `production_score` when re-evaluated on new data."""

    production_score: float
    saw: bool
    fails: bool = False
    name: str = "gate_task"
    artifact_format = JOBLIB

    def evaluate(self, model, data) -> dict:
        if self.fails:
            raise ValueError("the production model needs a column the new data lacks")
        return metrics({"week_4": self.production_score})

    def saw_evaluation_data(self, production, candidate) -> bool:
        return self.saw


def versions(production_value: float, candidate_value: float):
    production = registry.register(
        "gate_task",
        {"v": 1},
        artifact_format=JOBLIB,
        metrics=metrics({"week_4": production_value}),
        params={},
        data_summary={},
        created_by="t",
    )
    registry.promote(production)
    candidate = registry.register(
        "gate_task",
        {"v": 2},
        artifact_format=JOBLIB,
        metrics=metrics({"week_4": candidate_value}),
        params={},
        data_summary={},
        created_by="t",
    )
    return production, candidate


def test_candidate_is_compared_with_production_rescored_on_unseen_data(app):
    _, candidate = versions(production_value=0.90, candidate_value=0.80)
    decision = lifecycle._gate(GateSpec(production_score=0.75, saw=False), candidate, data=None)
    assert decision.promote and "production v1 on the same data" in decision.reason


def test_worse_candidate_stays_a_candidate(app):
    _, candidate = versions(production_value=0.70, candidate_value=0.80)
    decision = lifecycle._gate(GateSpec(production_score=0.85, saw=False), candidate, data=None)
    assert not decision.promote and decision.reason.startswith("kept as candidate")


def test_production_that_saw_the_evaluation_data_is_judged_by_its_held_out_figures(app):
    _, candidate = versions(production_value=0.80, candidate_value=0.85)
    # Re-scored in-sample, production would look better (0.95) than it is.
    decision = lifecycle._gate(GateSpec(production_score=0.95, saw=True), candidate, data=None)
    assert decision.promote and "its own held-out data" in decision.reason


def test_production_that_cannot_be_evaluated_never_lets_a_candidate_through(app):
    _, candidate = versions(production_value=0.50, candidate_value=0.99)
    decision = lifecycle._gate(GateSpec(production_score=0.0, saw=False, fails=True), candidate, data=None)
    assert not decision.promote
    assert "could not be evaluated" in decision.reason and "needs a column" in decision.reason
