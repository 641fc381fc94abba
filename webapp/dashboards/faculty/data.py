"""What the faculty callbacks read: the production model and its stored predictions (via ml.at_risk.store)."""

from __future__ import annotations

from core.models import ModelVersion, Term
from ml.at_risk import store

TASK = "at_risk"


def production_version() -> ModelVersion | None:
    return ModelVersion.production(TASK)


def current_term() -> Term | None:
    return store.current_term()


def courses(term_code: str) -> list[tuple[str, str]]:
    return store.courses_in_term(term_code)
