"""Student segments: KMeans on (performance, engagement, attendance), named from the centroids.

Cluster ids from KMeans are arbitrary; names come from matching each centroid to the nearest prototype
in z-space (one name per cluster, `linear_sum_assignment`), so reordering the clusters never renames them.
The prototypes speak of all three axes; an institution that records fewer gets segments named only from the
axes it has ("Weak results, often absent"), never "Disengaged" from grades alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

AXES = ("performance", "engagement", "attendance")
# Prototype centroids in z-space, one coordinate per axis in AXES order.
PROTOTYPES: dict[str, tuple[float, float, float]] = {
    "High performer": (1.0, 1.0, 1.0),
    "Struggling but engaged": (-1.0, 1.0, 1.0),
    "Disengaged": (0.5, -1.0, -1.0),
    "At risk": (-1.0, -1.0, -1.0),
}
UNKNOWN_SEGMENT = "Unknown"
# How a centroid's z-score on an axis reads, low / typical / high, when not every axis is recorded.
AXIS_WORDS = {
    "performance": ("weak results", "average results", "strong results"),
    "engagement": ("disengaged", "moderately engaged", "engaged"),
    "attendance": ("often absent", "attends most classes", "attends well"),
}
TYPICAL_Z = 0.35


# Axis -> the features that measure it, best first.
AXIS_SOURCES = {
    "performance": ("quiz_mean", "latest_grade"),
    "engagement": ("engagement_index",),
    "attendance": ("attendance_w8", "attendance_w4"),
}


def segment_axes(frame: pd.DataFrame) -> pd.DataFrame:
    """The segment axes from a checkpoint's imputed feature frame, using what is known at that point.

    performance: average quiz score so far (else the latest grade); engagement: the engagement index;
    attendance: the latest attendance window. Axes the frame cannot provide are left out.
    """
    return pd.DataFrame(axis_values(frame), index=frame.index)


def axis_values(features: pd.DataFrame | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`segment_axes` as a dict of arrays (the one-record path builds no frame)."""
    axes = {}
    for axis, candidates in AXIS_SOURCES.items():
        source = next((c for c in candidates if c in features), None)
        if source is not None:
            axes[axis] = np.asarray(features[source], dtype=np.float64)
    return axes


def name_clusters(centroids: np.ndarray, axes: list[str] | tuple[str, ...] = AXES) -> list[str]:
    """Name each centroid (rows, in z-space over `axes`): after its assigned prototype when every axis is
    recorded, else from its level on each recorded axis."""
    centroids = np.asarray(centroids, dtype=np.float64)
    if set(axes) != set(AXES):
        return _described(centroids, list(axes))
    names = list(PROTOTYPES)
    columns = [AXES.index(a) for a in axes]
    prototypes = np.array([PROTOTYPES[n] for n in names])[:, columns]
    cost = ((centroids[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    assigned = [UNKNOWN_SEGMENT] * len(centroids)
    for r, c in zip(rows, cols, strict=True):
        assigned[r] = names[c]
    return assigned


def _described(centroids: np.ndarray, axes: list[str]) -> list[str]:
    names = []
    for centroid in centroids:
        words = [
            AXIS_WORDS[axis][0 if z < -TYPICAL_Z else 2 if z > TYPICAL_Z else 1]
            for axis, z in zip(axes, centroid, strict=True)
        ]
        name = ", ".join(words)
        name = name[0].upper() + name[1:]
        names.append(name if name not in names else f"{name} ({len(names) + 1})")
    return names


class Segmenter:
    """KMeans segments fitted on standardized axes of the training rows at the final checkpoint."""

    def __init__(self, n_clusters: int = 4, n_init: int = 4, max_rows: int = 20_000, seed: int = 0):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_rows = max_rows  # centroids of 3 axes are stable from a sample; KMeans on 600k rows is not cheap
        self.seed = seed

    def fit(self, axes: pd.DataFrame) -> Segmenter:
        usable = [a for a in AXES if a in axes.columns and axes[a].notna().any() and axes[a].std() > 0]
        self.axes_ = usable
        if not usable:
            self.names_ = []
            return self
        values = axes[usable].to_numpy(dtype=np.float64)
        self.mean_ = np.nanmean(values, axis=0)
        self.std_ = np.nanstd(values, axis=0)
        z = np.nan_to_num((values - self.mean_) / self.std_)
        if len(z) > self.max_rows:
            z = z[np.random.default_rng(self.seed).choice(len(z), self.max_rows, replace=False)]
        wanted = self.n_clusters if len(usable) > 1 else min(self.n_clusters, 3)  # one axis: low / typical / high
        k = min(wanted, len(np.unique(z, axis=0)))
        self.kmeans_ = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.seed).fit(z)
        self.names_ = name_clusters(self.kmeans_.cluster_centers_, usable)
        return self

    def assign(self, axes: pd.DataFrame | Mapping[str, np.ndarray], n: int | None = None) -> np.ndarray:
        """Segment name per row (`axes` a frame, or `n` rows of arrays); an axis unknown there counts as typical."""
        n = len(axes) if n is None else n
        if not self.axes_:
            return np.full(n, UNKNOWN_SEGMENT, dtype=object)
        z = np.zeros((n, len(self.axes_)))
        for j, axis in enumerate(self.axes_):
            if axis in axes:
                z[:, j] = (np.asarray(axes[axis], dtype=np.float64) - self.mean_[j]) / self.std_[j]
        # Nearest centroid, as KMeans.predict, without its OpenMP thread pool: on 2 cores that pool's spin-wait
        # stalls the next LightGBM call of the same process by milliseconds (one-record scoring).
        centres = self.kmeans_.cluster_centers_
        labels = ((np.nan_to_num(z)[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        return np.asarray(self.names_, dtype=object)[labels]

    def summary(self) -> dict:
        """Centroids (z-space) and names, JSON-ready."""
        if not self.axes_:
            return {"axes": [], "segments": []}
        return {
            "axes": list(self.axes_),
            "segments": [
                {"name": name, "centroid_z": [round(float(v), 3) for v in centroid]}
                for name, centroid in zip(self.names_, self.kmeans_.cluster_centers_, strict=True)
            ],
        }
