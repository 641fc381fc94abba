"""Engagement scoring at the web edge: the production model, what it learned from in plain words, and the API answer.

The model is the registry's production version, loaded once per process with ONNX Runtime and reloaded after a
promotion (`registry.load_production`); TensorFlow never loads in the web process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

from core.models import ModelVersion
from ml import registry

if TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

TASK = "engagement"
GENERATED = "generated faces"  # the training source name of `ml.engagement.datasets`
REFUSAL_STATUS = {"too_large": 413, "too_many_pixels": 413, "not_image": 415}


class NoModelError(LookupError):
    """No engagement model is in production (or its files cannot be read)."""


def production_model() -> registry.Loaded:
    """The production scorer and its version (NoModelError with a message a person can act on)."""
    try:
        loaded = registry.load_production(TASK)
    except registry.ArtifactIntegrityError as exc:
        current_app.logger.error("engagement model unusable: %s", exc)
        raise NoModelError(f"the engagement model's files failed their check ({exc}); ask an administrator") from exc
    if loaded is None:
        raise NoModelError("no engagement model is in production yet; an administrator can train one (admin > Jobs)")
    return loaded


def model_statement(version: ModelVersion | None) -> dict:
    """What the model learned from and how good it is, in plain words: {"lines": [...], "caution": bool}."""
    if version is None:
        return {"lines": ["No engagement model is in production yet, so images cannot be scored."], "caution": True}
    sources = dict(version.data_summary.get("sources") or {GENERATED: version.data_summary.get("rows", 0)})
    generated = sources.pop(GENERATED, 0)
    real = sum(sources.values())
    lines = []
    if not real:
        lines.append(
            f"Engagement model v{version.version} learned from {generated:,} generated faces: drawings made by a "
            "program with engagement cues (eyes closed, gaze away, yawning, head on hand), not photographs of "
            "students. It has not been checked on real classrooms; treat its readings as a demonstration until "
            "an administrator trains it on labelled images of real people."
        )
    else:
        names = ", ".join(sources)
        also = f" and {generated:,} generated faces" if generated else ""
        lines.append(
            f"Engagement model v{version.version} learned from {real:,} labelled faces imported by an "
            f"administrator ({names}){also}."
        )
    metrics = version.metrics
    if metrics.get("accuracy") is not None:
        lines.append(
            f"On people it never trained on it named the right state for {metrics['accuracy']:.0%} of the faces, "
            f"and engaged vs not engaged right for {metrics.get('engaged_accuracy') or 0:.0%} "
            f"(macro F1 {metrics.get('f1') or 0:.2f}; always answering the most common class scores "
            f"{metrics.get('baseline_f1') or 0:.2f})."
        )
    caution = not metrics.get("beats_baseline")
    if caution:
        lines.append(
            "It is NO BETTER than that simple baseline (always the most common class) on held-out faces: "
            "do not rely on its readings."
        )
    return {"lines": lines, "caution": caution or not real}


def api_answer(file: FileStorage | None) -> tuple[dict, int]:
    """The JSON body and status of `POST /api/v1/engagement/score` for the multipart `file` (nothing is kept)."""
    from ml.data.images import ImageRejectedError

    if file is None:
        return {"error": "send the image as the multipart field `file`"}, 400
    try:
        loaded = production_model()
    except NoModelError as exc:
        return {"error": str(exc)}, 503
    try:
        scored = loaded.model.score_upload(file.read())
    except ImageRejectedError as exc:
        return {"error": str(exc), "reason": exc.reason}, REFUSAL_STATUS.get(exc.reason, 400)
    return {
        "model_version": loaded.version.version,
        **scored.as_dict(),
        "beats_baseline": bool(loaded.version.metrics.get("beats_baseline")),
        "trained_on": loaded.version.data_summary.get("sources", {}),
    }, 200
