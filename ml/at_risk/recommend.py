"""What faculty should do about a student: a table of risk band x segment -> action.

Rules are a plain nested dict (JSON-ready) so the web app can let faculty edit them; "*" is the action for
any segment a band does not name.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

RISK_BANDS = ("high", "medium", "low")
ANY_SEGMENT = "*"

ATTENDANCE_FIELDS = frozenset({"attendance_w4", "attendance_w8", "absences"})
LMS_FIELDS = frozenset({"lms_minutes_w4", "lms_minutes_w8", "lms_logins_w4", "lms_logins_w8"})


def default_rules(fields: Iterable[str]) -> dict[str, dict[str, str]]:
    """The starting recommendation table for a model reading `fields`: advice about attendance or LMS activity
    only where the institution records them, never about what the data does not contain."""
    fields = set(fields)
    topics = [
        name for name, group in (("attendance", ATTENDANCE_FIELDS), ("LMS activity", LMS_FIELDS)) if fields & group
    ]
    engagement = " and ".join(topics) or "how the course is going"
    reminder = f"Send a reminder about {'attendance and ' if 'attendance' in topics else ''}the next deadlines."
    return {
        "high": {
            "At risk": "Meet in person this week; refer to tutoring and student support.",
            "Disengaged": f"Contact this week about {engagement}; agree on a catch-up plan.",
            "Struggling but engaged": "Refer to tutoring or a study group; go over the latest assessment together.",
            "High performer": "Check in personally: a sudden drop often has a cause outside the course.",
            ANY_SEGMENT: "Meet in person this week.",
        },
        "medium": {
            "At risk": "Send a personal message offering office hours; review again in two weeks.",
            "Disengaged": reminder,
            "Struggling but engaged": "Point to tutoring and practice material before the next assessment.",
            "High performer": "Keep an eye on the next assessment.",
            ANY_SEGMENT: "Send a personal message; review again in two weeks.",
        },
        "low": {ANY_SEGMENT: "No action needed; keep monitoring."},
    }


DEFAULT_RULES: dict[str, dict[str, str]] = default_rules(ATTENDANCE_FIELDS | LMS_FIELDS)


def recommend(risk_band: str, segment: str, rules: dict[str, dict[str, str]] = DEFAULT_RULES) -> str:
    """The action for one student: the band's rule for the segment, else the band's "*" rule, else ""."""
    band_rules = rules.get(risk_band, {})
    return band_rules.get(segment, band_rules.get(ANY_SEGMENT, ""))


def recommend_many(
    risk_bands: np.ndarray, segments: np.ndarray, rules: dict[str, dict[str, str]] = DEFAULT_RULES
) -> np.ndarray:
    """`recommend` for arrays of bands and segments, looking each distinct pair up once."""
    bands = np.asarray(risk_bands, dtype=object)
    segs = np.asarray(segments, dtype=object)
    out = np.empty(len(bands), dtype=object)
    pairs = {}
    for i, pair in enumerate(zip(bands, segs, strict=True)):
        pairs.setdefault(pair, []).append(i)
    for (band, segment), idx in pairs.items():
        out[idx] = recommend(band, segment, rules)
    return out


def validate_rules(rules: dict) -> dict[str, dict[str, str]]:
    """Check edited rules: known bands, text actions. Returns them; raises ValueError with what is wrong."""
    if not isinstance(rules, dict):
        raise ValueError("rules must be a mapping of risk band -> {segment: action}")
    for band, band_rules in rules.items():
        if band not in RISK_BANDS:
            raise ValueError(f"unknown risk band {band!r}; use one of {', '.join(RISK_BANDS)}")
        if not isinstance(band_rules, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in band_rules.items()
        ):
            raise ValueError(f"rules for {band!r} must map segment names to action text")
    return rules
