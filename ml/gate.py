"""The promotion gate: may a candidate replace production, and does a model beat its simple baseline?

Every task stores, in `metrics["detail"]["gate"]` (built with `summary`), its primary metric per group (at_risk:
per checkpoint; enrollment: per stage) for the model and for the best simple baseline, with a bootstrap interval
of their difference where the task computes one. The gate then reads the same shape for every task:

- beats its baseline: in EVERY group, the interval of (model - baseline) lies on the better side of zero (or,
  without an interval, the model is better by more than the margin);
- replaces production: no group is worse than production by more than the margin (non-inferiority, the worst
  case counts) AND it is better on average over the groups, so a tie never promotes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ml.evaluation import paired_bootstrap_difference

GATE_ROUNDING = 4  # figures are compared to this many decimals, so float noise is a tie


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def summary(metric: str, higher_is_better: bool, groups: Mapping[str, Mapping], margin: float) -> dict:
    """The gate's view of one evaluation: `groups` maps a group name to {"model": x, "baseline": y,
    "baseline_name": str, "difference": {"low": a, "high": b} or None}, the interval of model - baseline."""
    plain_groups = {name: dict(figures) for name, figures in groups.items()}
    out = {"metric": metric, "higher_is_better": higher_is_better, "margin": margin, "groups": plain_groups}
    for figures in plain_groups.values():
        figures["beats_baseline"] = _group_beats_baseline(figures, higher_is_better, margin)
    out["beats_baseline"] = bool(plain_groups) and all(g["beats_baseline"] for g in plain_groups.values())
    return out


def paired_group(
    metric: Callable[[np.ndarray, np.ndarray], float | None],
    y: np.ndarray,
    model: np.ndarray,
    baseline: np.ndarray,
    baseline_name: str,
    *,
    samples: int,
    seed: int = 0,
    clusters: np.ndarray | None = None,
) -> dict:
    """One group for `summary`: `metric` of the model and of the baseline on the same rows, and the paired
    bootstrap interval of their difference (resampling whole `clusters` where rows are not independent)."""
    difference = paired_bootstrap_difference(metric, y, model, baseline, samples=samples, seed=seed, clusters=clusters)
    return {
        "model": metric(y, model),
        "baseline": metric(y, baseline),
        "baseline_name": baseline_name,
        "difference": {key: difference[key] for key in ("low", "high", "level")},
        "n": len(y),
    }


def gate_of(metrics: Mapping) -> dict | None:
    return (metrics.get("detail") or {}).get("gate")


def beats_baseline(metrics: Mapping) -> bool:
    gate = gate_of(metrics)
    return bool(gate and gate.get("beats_baseline"))


def decide(candidate: Mapping, production: Mapping | None, *, production_label: str = "production") -> Decision:
    """Whether the candidate's metrics earn promotion over production's (None: there is no production yet)."""
    gate = gate_of(candidate)
    if gate is None:
        return Decision(False, "kept as candidate: its evaluation has no gate figures")
    metric = gate["metric"]
    if production is None:
        if gate["beats_baseline"]:
            return Decision(True, "promoted: first production version; beats the simple baseline")
        return Decision(
            True,
            "promoted as the first production version, but it is NO BETTER than the simple baseline "
            f"({_baseline_shortfall(gate)}); treat its figures with care",
        )
    if not gate["beats_baseline"]:
        return Decision(False, f"kept as candidate: it does not beat the simple baseline ({_baseline_shortfall(gate)})")
    old = gate_of(production)
    if old is None or old.get("metric") != metric:
        return Decision(False, f"kept as candidate: {production_label} has no comparable {metric} figures")
    sign = 1.0 if gate["higher_is_better"] else -1.0
    common = [g for g in gate["groups"] if g in old["groups"]]
    improvements = {}
    for group in common:
        new_value, old_value = gate["groups"][group].get("model"), old["groups"][group].get("model")
        if new_value is None or old_value is None:
            return Decision(False, f"kept as candidate: {metric} at {group} is missing")
        improvements[group] = round(sign * (new_value - old_value), GATE_ROUNDING)
    if not improvements:
        return Decision(False, f"kept as candidate: no group in common with {production_label} to compare")
    margin = float(gate.get("margin", 0.0))
    worst = min(improvements, key=improvements.get)
    mean = round(sum(improvements.values()) / len(improvements), GATE_ROUNDING)
    figures = (
        f"{metric} {mean:+.4f} on average over {len(improvements)} group(s) vs {production_label}, "
        f"worst {worst} {improvements[worst]:+.4f} (margin {margin:g})"
    )
    if improvements[worst] < -margin:
        return Decision(False, f"kept as candidate: worse than {production_label} at {worst}; {figures}")
    if mean <= 0:
        return Decision(
            False, f"kept as candidate: not better than {production_label} (a tie keeps production); {figures}"
        )
    return Decision(True, f"promoted: {figures}")


def _group_beats_baseline(figures: Mapping, higher_is_better: bool, margin: float) -> bool:
    model, baseline = figures.get("model"), figures.get("baseline")
    if model is None:
        return False
    if baseline is None:
        return True  # no baseline is defined for this group (e.g. one class only)
    difference = figures.get("difference") or {}
    low, high = difference.get("low"), difference.get("high")
    if low is not None and high is not None:
        return low > 0 if higher_is_better else high < 0
    improvement = (model - baseline) if higher_is_better else (baseline - model)
    return round(improvement, GATE_ROUNDING) > margin


def _baseline_shortfall(gate: Mapping) -> str:
    failing = [name for name, g in gate["groups"].items() if not g.get("beats_baseline")]
    parts = []
    for name in failing[:3]:
        g = gate["groups"][name]
        model, baseline = g.get("model"), g.get("baseline")
        shown = f"{model:.3f}" if model is not None else "n/a"
        versus = f"{baseline:.3f}" if baseline is not None else "n/a"
        parts.append(f"{name}: {gate['metric']} {shown} vs {g.get('baseline_name', 'baseline')} {versus}")
    more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
    return "; ".join(parts) + more
