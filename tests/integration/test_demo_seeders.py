"""Demo seeding is a list of seeders, one per domain: each seeds its own data once, whatever the others hold."""

from __future__ import annotations

from sqlalchemy import func, select

from core import db
from core.models import Enrollment
from ml import demo


class CountingSeeder:
    domain = "counting"
    calls = 0

    def has_data(self) -> bool:
        return CountingSeeder.calls > 0

    def seed(self, scale: str, seed: int) -> str:
        CountingSeeder.calls += 1
        return f"seeded at {scale} scale"


SEEDER = CountingSeeder()


def test_each_domain_is_seeded_once_even_when_another_has_data(app, monkeypatch):
    monkeypatch.setitem(demo.SEEDER_MODULES, "counting", __name__)
    lines: list[str] = []
    demo.seed_data("demo", echo=lines.append)
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) > 0
    assert "counting: seeded at demo scale" in lines
    demo.seed_data("demo", echo=lines.append)
    assert CountingSeeder.calls == 1
    assert "academic: data already present, kept as is." in lines
    assert "counting: data already present, kept as is." in lines
