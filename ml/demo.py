"""Demo data for every domain that exists, and a first production model for every task without one."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from core.db import session
from core.models import Enrollment, ModelVersion
from ml import lifecycle

Echo = Callable[[str], None]


def seed_data(scale: str = "demo", *, seed: int = 0, echo: Echo = print) -> None:
    """Generate and store each domain's demo data unless that domain already has data."""
    if session.scalar(select(func.count()).select_from(Enrollment)):
        echo("Academic data already present: kept as is.")
        return
    from ml.data.academic import generate_scale
    from ml.data.academic_sql import save_generated

    data = generate_scale(scale, seed=seed)
    rows = save_generated(data)
    echo(
        f"Academic data: {len(data.terms)} terms, {len(data.courses)} courses, "
        f"{len(data.students)} students, {rows} enrollments."
    )


def train_missing_models(*, echo: Echo = print) -> None:
    """Train in-process (no worker needed) each task that has no production version yet."""
    for task in lifecycle.available_tasks():
        if ModelVersion.production(task) is not None:
            echo(f"{task}: production model present.")
            continue
        echo(f"{task}: training the first model...")
        outcome = lifecycle.retrain(task, requested_by="demo seed")
        echo(f"{task}: v{outcome.version.version} {outcome.reason}.")
