"""The census domain's demo seeder: generated INEP-format zips loaded through the real refresh path."""

from __future__ import annotations

import tempfile
from pathlib import Path

from core.models import CensusYear
from core.settings import Settings
from ml.data.census_generator import SCALES, write_census_zips


class CensusSeeder:
    """Writes the scale's census years as INEP zips in a temporary folder and runs `jobs.census.refresh` on
    them (a local source pattern), as an admin's refresh would (see `ml.demo`)."""

    domain = "census"

    def has_data(self) -> bool:
        return bool(CensusYear.loaded())

    def seed(self, scale: str, seed: int) -> str:
        from jobs import census

        years, n_schools = SCALES[scale]["years"], SCALES[scale]["n_schools"]
        with tempfile.TemporaryDirectory(prefix="aula-census-demo-") as folder:
            write_census_zips(Path(folder), years, n_schools, seed=seed)
            pattern = str(Path(folder) / "microdados_censo_escolar_{year}.zip")
            result = census.refresh(years, pattern, data_dir=Settings.from_env().data_dir, requested_by="demo seed")
        schools = sum(load.active_schools for load in result.loaded) // max(len(result.loaded), 1)
        return f"{len(result.loaded)} census years ({years[0]}-{years[-1]}), about {schools:,} active schools a year."


SEEDER = CensusSeeder()
