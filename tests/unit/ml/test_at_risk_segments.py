"""Student segments are named from their centroids, never from KMeans' arbitrary cluster ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.at_risk.segments import AXES, PROTOTYPES, Segmenter, name_clusters, segment_axes


def test_hand_made_centroids_get_the_expected_names():
    centroids = np.array(
        [
            [-1.2, -0.9, -1.4],  # low quiz, low engagement, low attendance
            [0.9, 1.1, 0.8],  # high everything
            [0.6, -1.0, -0.7],  # decent quiz, low engagement
            [-1.0, 0.8, 1.1],  # low quiz, engaged and present
        ]
    )
    assert name_clusters(centroids) == ["At risk", "High performer", "Disengaged", "Struggling but engaged"]


def test_permuting_cluster_order_does_not_change_names():
    rng = np.random.default_rng(0)
    centroids = np.array(list(PROTOTYPES.values())) + rng.normal(0, 0.2, (4, 3))
    names = name_clusters(centroids)
    for permutation in ([3, 2, 1, 0], [1, 3, 0, 2]):
        assert name_clusters(centroids[permutation]) == [names[i] for i in permutation]


def test_every_cluster_gets_a_distinct_name():
    centroids = np.array([[1.0, 1.0, 1.0], [0.9, 0.9, 0.9], [1.1, 1.0, 0.8], [-1.0, -1.0, -1.0]])
    assert sorted(name_clusters(centroids)) == sorted(PROTOTYPES)


def test_fitted_segments_are_named_after_where_their_students_are():
    rng = np.random.default_rng(1)
    blobs = [np.array(center) + rng.normal(0, 0.25, (300, 3)) for center in PROTOTYPES.values()]
    axes = pd.DataFrame(np.vstack(blobs), columns=list(AXES))
    segmenter = Segmenter(seed=0).fit(axes)
    assigned = segmenter.assign(axes)
    for i, name in enumerate(PROTOTYPES):
        block = assigned[i * 300 : (i + 1) * 300]
        assert (block == name).mean() > 0.9, name


def test_segments_use_only_the_axes_the_data_has():
    frame = pd.DataFrame({"latest_grade": [40.0, 80.0, 55.0, 90.0, 20.0, 60.0], "absences": [1.0] * 6})
    axes = segment_axes(frame)
    assert list(axes.columns) == ["performance"]
    segmenter = Segmenter(n_clusters=2, seed=0).fit(axes)
    names = set(segmenter.assign(axes))
    assert names == {"Weak results", "Strong results"}  # named from grades only, never "Disengaged"


def test_trained_model_segments_current_students(trained, small_records):
    scored = trained.model.predict(small_records[small_records["is_current"]])
    assert set(scored["segment"]) == set(PROTOTYPES)
    by_segment = scored.groupby("segment")["probability"].mean()
    assert by_segment["At risk"] > by_segment["High performer"]
