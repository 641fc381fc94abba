"""How the at-risk fields and engineered features read for people: a label and a unit each.

Free of scikit-learn, so the web process can name fields without importing the model's machinery.
"""

from __future__ import annotations

from ml.data.academic_fields import SIGNALS_BY_NAME

EXTRA_PREFIX = "x_"
# Engineered features: name -> (label for people, unit). Units as in academic_fields.Signal, plus
# "z" (standard deviations, 0 = typical), "points" (percentage points) and "ratio".
ENGINEERED: dict[str, tuple[str, str]] = {
    "quiz_total": ("quiz points so far", "points"),
    "quiz_mean": ("average quiz score so far", "score"),
    "quiz_std": ("spread of quiz scores", "points"),
    "quiz_pct": ("quiz points so far (% of possible)", "%"),
    "engagement_index": ("engagement index (attendance, LMS time, logins)", "z"),
    "effort_to_performance": ("hours of effort per 10 score points", "ratio"),
    "attendance_trend": ("attendance change, weeks 5-8 vs 1-4", "points"),
    "latest_grade": ("latest grade", "score"),
}
OTHER_LABELS: dict[str, tuple[str, str]] = {
    "age": ("age", "years"),
    "prior_gpa": ("prior GPA", "gpa"),
    "prior_failures": ("prior failures", "count"),
    "pass_mark": ("course pass mark", "score"),
    "sex": ("sex", "category"),
    "programme": ("programme", "category"),
}


def label_and_unit(name: str) -> tuple[str, str]:
    """Human label and unit of a record field or engineered feature."""
    if name in SIGNALS_BY_NAME:
        sig = SIGNALS_BY_NAME[name]
        return sig.label, sig.unit
    if name in ENGINEERED:
        return ENGINEERED[name]
    if name in OTHER_LABELS:
        return OTHER_LABELS[name]
    if name.startswith(EXTRA_PREFIX):
        return name[len(EXTRA_PREFIX) :].replace("_", " "), "value"
    return name.replace("_", " "), "value"
