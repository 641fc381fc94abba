"""What the ministry callbacks read, and the checks that turn an unexpected callback value into a clear 400."""

from __future__ import annotations

from dataclasses import dataclass

from core.models import ModelVersion
from ml.census.columns import STAGE_BY_CODE, STAGES
from ml.census.geography import UF_BY_CODE
from ml.enrollment import store
from webapp.dashboards.components import CallbackInputError, callback_choice, callback_int

TASK = "enrollment"
TOTAL = store.TOTAL
STAGE_CHOICES = (TOTAL, *(stage.code for stage in STAGES))


def production_version() -> ModelVersion | None:
    return ModelVersion.production(TASK)


def stage_label(code: str) -> str:
    return "All stages" if code == TOTAL else STAGE_BY_CODE[code].label


def stage_options() -> list[dict]:
    return [{"label": stage_label(code), "value": code} for code in STAGE_CHOICES]


def stage(value: object) -> str:
    return callback_choice(value, STAGE_CHOICES, "stage")


@dataclass(frozen=True)
class Area:
    """Where the view is: the country, a UF, a municipality, or one school (inside its municipality)."""

    level: str  # country | uf | municipality
    code: int
    co_uf: int | None = None
    co_municipio: int | None = None
    school: int | None = None


def area(version_id: int, uf: object, municipality: object, school: object = None) -> Area:
    """The selection as an Area, each level checked against the one above it (CallbackInputError otherwise)."""
    if uf in (None, ""):
        return Area("country", 0)
    co_uf = callback_int(uf, "UF")
    if co_uf not in UF_BY_CODE:
        raise CallbackInputError(f"unknown UF code {uf!r}")
    if municipality in (None, ""):
        return Area("uf", co_uf, co_uf=co_uf)
    co_municipio = callback_int(municipality, "municipality")
    if co_municipio // 100_000 != co_uf or co_municipio not in dict(store.municipalities(version_id, co_uf)):
        raise CallbackInputError(f"municipality {municipality!r} is not one of {UF_BY_CODE[co_uf].sigla}'s")
    if school in (None, ""):
        return Area("municipality", co_municipio, co_uf=co_uf, co_municipio=co_municipio)
    co_entidade = callback_int(school, "school")
    found = store.school(co_entidade)
    if found is None or found.co_municipio != co_municipio:
        raise CallbackInputError(f"school {school!r} is not in municipality {co_municipio}")
    return Area("municipality", co_municipio, co_uf=co_uf, co_municipio=co_municipio, school=co_entidade)
