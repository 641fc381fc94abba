"""Demo data, one seeder per domain, and a first production model for every task without one.

A domain plugs in a seeder by defining `SEEDER` (an object with `domain`, `has_data()` and `seed(scale, seed)`)
in its data module and adding one line to `SEEDER_MODULES`; each seeds its own data once, whatever the others
hold, so a later capability seeds its demo on an existing installation too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol

from core.models import ModelVersion
from ml import lifecycle

Echo = Callable[[str], None]

# Domain -> module that defines `SEEDER`, in seeding order.
SEEDER_MODULES = {
    "academic": "ml.data.academic_sql",
    "campus": "ml.data.campus_sql",
    "census": "ml.census.demo",
}


class Seeder(Protocol):
    domain: str

    def has_data(self) -> bool: ...

    def seed(self, scale: str, seed: int) -> str:
        """Generate and store the domain's demo data; returns one line saying what was stored."""


def seeders() -> list[Seeder]:
    return [importlib.import_module(module).SEEDER for module in SEEDER_MODULES.values()]


def seed_data(scale: str = "demo", *, seed: int = 0, echo: Echo = print) -> None:
    """Generate and store each domain's demo data unless that domain already has data."""
    for seeder in seeders():
        if seeder.has_data():
            echo(f"{seeder.domain}: data already present, kept as is.")
            continue
        echo(f"{seeder.domain}: {seeder.seed(scale, seed)}")


def train_missing_models(*, echo: Echo = print) -> None:
    """Train in-process (no worker needed) each task that has no production version yet."""
    for task in lifecycle.available_tasks():
        if ModelVersion.production(task) is not None:
            echo(f"{task}: production model present.")
            continue
        echo(f"{task}: training the first model...")
        outcome = lifecycle.retrain(task, requested_by="demo seed")
        echo(f"{task}: v{outcome.version.version} {outcome.reason}.")
