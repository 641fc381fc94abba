"""The promotion gate: per group, worst case counts, a non-inferiority margin, ties keep production, and a model
that does not beat its simple baseline is not promoted automatically."""

from __future__ import annotations

from ml import gate

MARGIN = 0.01


def metrics(groups: dict[str, float], baseline: float = 0.5, beats: bool = True) -> dict:
    """Gate figures with the model's `groups` values; the interval vs the baseline clears zero when `beats`."""
    low, high = (0.01, 0.2) if beats else (-0.05, 0.1)
    return {
        "detail": {
            "gate": gate.summary(
                "pr_auc",
                True,
                {
                    name: {
                        "model": value,
                        "baseline": baseline,
                        "baseline_name": "majority",
                        "difference": {"low": low, "high": high},
                    }
                    for name, value in groups.items()
                },
                MARGIN,
            )
        }
    }


def test_a_tie_does_not_promote():
    decision = gate.decide(metrics({"week_4": 0.7, "week_8": 0.8}), metrics({"week_4": 0.7, "week_8": 0.8}))
    assert not decision.promote and "a tie keeps production" in decision.reason


def test_float_noise_is_a_tie():
    decision = gate.decide(metrics({"week_4": 0.70000001}), metrics({"week_4": 0.7}))
    assert not decision.promote


def test_better_on_average_and_nowhere_worse_than_the_margin_promotes():
    decision = gate.decide(metrics({"week_4": 0.695, "week_8": 0.85}), metrics({"week_4": 0.7, "week_8": 0.8}))
    assert decision.promote and "worst week_4 -0.0050" in decision.reason


def test_the_worst_group_counts_even_when_the_average_improves():
    decision = gate.decide(metrics({"week_4": 0.6, "week_8": 0.95}), metrics({"week_4": 0.7, "week_8": 0.8}))
    assert not decision.promote and "worse than production at week_4" in decision.reason


def test_lower_is_better_metrics_compare_the_other_way():
    def wape(value: float) -> dict:
        groups = {"MED": {"model": value, "baseline": 0.3, "baseline_name": "last_year", "difference": None}}
        return {"detail": {"gate": gate.summary("wape", False, groups, MARGIN)}}

    assert gate.decide(wape(0.10), wape(0.12)).promote
    assert not gate.decide(wape(0.12), wape(0.10)).promote


def test_a_candidate_that_does_not_beat_its_baseline_is_not_promoted_automatically():
    decision = gate.decide(metrics({"week_4": 0.9}, beats=False), metrics({"week_4": 0.7}))
    assert not decision.promote and "does not beat the simple baseline" in decision.reason


def test_a_first_version_that_does_not_beat_its_baseline_is_promoted_but_says_so():
    candidate = metrics({"week_4": 0.55}, beats=False)
    decision = gate.decide(candidate, None)
    assert decision.promote and "NO BETTER than the simple baseline" in decision.reason
    assert not gate.beats_baseline(candidate)


def test_beating_the_baseline_needs_the_whole_interval_above_zero_in_every_group():
    groups = {
        "week_4": {"model": 0.8, "baseline": 0.5, "difference": {"low": 0.1, "high": 0.4}},
        "week_8": {"model": 0.8, "baseline": 0.7, "difference": {"low": -0.01, "high": 0.2}},
    }
    summary = gate.summary("pr_auc", True, groups, MARGIN)
    assert summary["groups"]["week_4"]["beats_baseline"] and not summary["groups"]["week_8"]["beats_baseline"]
    assert not summary["beats_baseline"]


def test_figures_without_gate_figures_never_promote():
    assert not gate.decide({"pr_auc": 0.9}, None).promote
    assert not gate.decide(metrics({"week_4": 0.9}), {"pr_auc": 0.5}).promote
