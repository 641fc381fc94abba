"""The promotion gate of both facilities models, room type by room type, and what it found in words.

Per room type: the model's figure beside its baseline's and the paired bootstrap interval of their difference,
resampling sections (the rows of one section are not independent). `ml.gate.summary` turns the groups into the
gate; the worst room type counts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml import gate
from ml.occupancy.dataset import Examples

BOOTSTRAP_SAMPLES = 300


def room_type_groups(
    metric: Callable[[np.ndarray, np.ndarray], float | None],
    found: Examples,
    y: np.ndarray,
    model: np.ndarray,
    baseline: np.ndarray,
    baseline_name: str,
    *,
    seed: int = 0,
    min_positives: int | None = None,
) -> dict[str, dict]:
    """`metric` of the model and of the baseline per room type of `found`, with the interval of their difference.

    `y`, `model` and `baseline` are aligned to `found`'s rows. With `min_positives` (classifiers), a room type
    with fewer positive rows is left out, too few to judge it on, and each group counts its positives.
    """
    venue_type = found.rows["venue_type"].astype(str).to_numpy()
    clusters = found.clusters
    groups = {}
    for kind in sorted(set(venue_type)):
        mask = venue_type == kind
        if min_positives is not None and y[mask].sum() < min_positives:
            continue
        groups[kind] = gate.paired_group(
            metric,
            y[mask],
            model[mask],
            baseline[mask],
            baseline_name,
            samples=BOOTSTRAP_SAMPLES,
            seed=seed,
            clusters=clusters[mask],
        )
        if min_positives is not None:
            groups[kind]["n_positive"] = int(y[mask].sum())
    return groups


def room_type_sentence(gate: dict, rule: str, metric: str) -> str:
    """The gate's finding as the end of a verdict: beats `rule` everywhere, nowhere, or not for these room types."""
    groups = gate["groups"]
    failing = [name for name, g in groups.items() if not g["beats_baseline"]]
    if not failing:
        return f" The model beats {rule} in every room type (95 % bootstrap intervals of the {metric} difference)."
    if len(failing) == len(groups):
        return f" The model is NO BETTER than {rule} on this evidence: rely on the rule."
    return f" It is NO BETTER than the rule for {', '.join(f.replace('_', ' ') + 's' for f in failing)}."
