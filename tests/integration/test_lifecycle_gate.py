"""The promotion gate: a candidate replaces production only if it is not worse, compared fairly."""

from __future__ import annotations

from dataclasses import dataclass

from ml import lifecycle, registry


@dataclass
class GateSpec:
    """A task whose production model scores `production_score` when re-evaluated on new data."""

    production_score: float
    saw: bool
    name: str = "gate_task"
    primary_metric: str = "pr_auc"
    higher_is_better: bool = True

    def evaluate(self, model, data) -> dict:
        return {"pr_auc": self.production_score}

    def saw_evaluation_data(self, production, candidate) -> bool:
        return self.saw


def versions(production_pr_auc: float, candidate_pr_auc: float):
    production = registry.register(
        "gate_task", {"v": 1}, metrics={"pr_auc": production_pr_auc}, params={}, data_summary={}, created_by="t"
    )
    registry.promote(production)
    candidate = registry.register(
        "gate_task", {"v": 2}, metrics={"pr_auc": candidate_pr_auc}, params={}, data_summary={}, created_by="t"
    )
    return production, candidate


def test_candidate_is_compared_with_production_rescored_on_unseen_data(app):
    _, candidate = versions(production_pr_auc=0.90, candidate_pr_auc=0.80)
    promote, reason = lifecycle._gate(GateSpec(production_score=0.75, saw=False), candidate, data=None)
    assert promote and "0.8000 vs production v1 0.7500, on the same evaluation data" in reason


def test_worse_candidate_stays_a_candidate(app):
    _, candidate = versions(production_pr_auc=0.70, candidate_pr_auc=0.80)
    promote, reason = lifecycle._gate(GateSpec(production_score=0.85, saw=False), candidate, data=None)
    assert not promote and reason.startswith("kept as candidate")


def test_production_that_saw_the_evaluation_data_is_judged_by_its_held_out_figures(app):
    _, candidate = versions(production_pr_auc=0.80, candidate_pr_auc=0.80)
    # Re-scored in-sample, production would look better (0.95) than it is.
    promote, reason = lifecycle._gate(GateSpec(production_score=0.95, saw=True), candidate, data=None)
    assert promote and "held-out" in reason
