"""What the faculty callbacks read: the production model and its stored predictions (via ml.at_risk.store)."""

from __future__ import annotations

from typing import Any

from core.models import ModelVersion, Term
from ml import registry
from ml.at_risk import store

TASK = "at_risk"


def production_version() -> ModelVersion | None:
    return ModelVersion.production(TASK)


def production_model() -> tuple[ModelVersion, Any]:
    """The production model, loaded once per process and reloaded after a promotion."""
    loaded = registry.load_production(TASK)
    if loaded is None:
        raise LookupError("no at-risk model is in production yet")
    return loaded.version, loaded.model


def current_term() -> Term | None:
    return store.current_term()


def courses(term_code: str) -> list[tuple[str, str]]:
    return store.courses_in_term(term_code)
