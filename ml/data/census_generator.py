"""Synthetic School Census years, written in exactly the format INEP publishes them.

The generative story. Brazil's 27 UFs get schools in proportion to their real sizes, spread over municipalities
(a capital and a long tail). Each school has a dependency (federal, state, municipal, private), a location
(urban, rural), a type that decides which stages it offers (a municipal creche, a state secondary school, a
federal institute...) and a size. Year by year schools open, pause, resume and close (small rural schools most
often); stages are added and dropped; in every grade, this year's students are last year's previous grade
promoted plus this grade's repeaters (dropout takes the rest), scaled by the school's migration drift; entry
grades and the un-graded stages follow their own demographic and policy trends (fewer births, creche
expansion, the 2020-2021 pandemic, EJA's decline). Teachers and classes follow enrollments; Poisson noise on
every count.

The files. `write_census_zips` writes one zip per year, like `microdados_censo_escolar_2023.zip`: a root folder
whose name varies by year, `dados/microdados_ed_basica_YYYY.csv` (`.CSV` in 2020) with that year's full header
(`ml.census.columns.header`), `;`-separated, Latin-1, CRLF, empty fields for NULL (every count of a paused or
closed school), dates like `07FEB23:00:00:00`, plus INEP's md5 file, the technical courses supplement and the
`Anexos`; member names CP850-encoded without the UTF-8 flag. From 2025 a year is written in the multi-table
layout (escola, matricula, turma, docente, gestor, curso tecnico; those tables' columns are stand-ins).

Only one year is ever in memory, rendered and written in blocks of rows; everything is drawn from generators
seeded by `seed`, so a seed reproduces the files byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from ml.census.columns import FIRST_MULTI_TABLE_YEAR, header_2023, year_columns
from ml.census.geography import REGIONS, UFS

SCALES: dict[str, dict] = {
    "demo": dict(n_schools=2_000, years=tuple(range(2015, 2024))),
    "full": dict(n_schools=180_000, years=tuple(range(2011, 2024))),
}
BLOCK_ROWS = 32_768  # rows rendered at a time; part of what a seed reproduces
FILE_ENCODING = "latin-1"

# Stage offerings, in this order throughout.
OFFERS = ("INF_CRE", "INF_PRE", "FUND_AI", "FUND_AF", "MED", "PROF_TEC", "EJA_FUND", "EJA_MED", "ESP_CE")
CRE, PRE, AI, AF, MED, PROF, EJA_F, EJA_M, ESP = range(9)
# Graded stages: 12 grades, AI 1st-5th, AF 6th-9th, MED 1st-3rd.
SEGMENT_GRADES = {AI: range(0, 5), AF: range(5, 9), MED: range(9, 12)}
# Un-graded stages kept as one level each: CRE, PRE, PROF_TEC, EJA_FUND, EJA_MED, ESP_CE.
LEVEL_OF = {CRE: 0, PRE: 1, PROF: 2, EJA_F: 3, EJA_M: 4, ESP: 5}

FEDERAL, STATE, MUNICIPAL, PRIVATE = 1, 2, 3, 4
URBAN, RURAL = 1, 2
ACTIVE, PAUSED, CLOSED_THIS_YEAR, CLOSED_BEFORE = 1, 2, 3, 4


@dataclass(frozen=True)
class SchoolType:
    dependency: int
    weight: float
    offers: tuple[int, ...]  # always offered
    optional: dict[int, float]  # stage -> probability
    grade_size: float  # mean students per grade (per level for un-graded stages)
    prefixes: tuple[str, ...]
    rural_share: float = 0.0


SCHOOL_TYPES: tuple[SchoolType, ...] = (
    SchoolType(
        MUNICIPAL,
        0.12,
        (CRE,),
        {PRE: 0.4},
        22,
        ("CRECHE MUNICIPAL", "CMEI", "CENTRO MUNICIPAL DE EDUCAÇÃO INFANTIL"),
        0.05,
    ),
    SchoolType(
        MUNICIPAL,
        0.16,
        (PRE,),
        {CRE: 0.4},
        30,
        ("EMEI", "ESCOLA MUNICIPAL DE EDUCAÇÃO INFANTIL", "PRÉ-ESCOLA MUNICIPAL"),
        0.25,
    ),
    SchoolType(
        MUNICIPAL,
        0.42,
        (AI,),
        {PRE: 0.6, EJA_F: 0.2, CRE: 0.15},
        26,
        ("ESCOLA MUNICIPAL", "EMEF", "E M", "ESCOLA MUNICIPAL RURAL"),
        0.75,
    ),
    SchoolType(
        MUNICIPAL,
        0.25,
        (AI, AF),
        {PRE: 0.3, EJA_F: 0.3},
        44,
        ("EMEF", "ESCOLA MUNICIPAL DE ENSINO FUNDAMENTAL", "E M E F"),
        0.45,
    ),
    SchoolType(MUNICIPAL, 0.05, (AF,), {EJA_F: 0.2}, 45, ("ESCOLA MUNICIPAL", "EMEF"), 0.2),
    SchoolType(STATE, 0.20, (AI, AF), {EJA_F: 0.15}, 45, ("EE", "ESCOLA ESTADUAL", "EEEF"), 0.15),
    SchoolType(
        STATE,
        0.35,
        (AF, MED),
        {EJA_F: 0.2, EJA_M: 0.3, PROF: 0.05},
        65,
        ("EE", "ESCOLA ESTADUAL", "COLÉGIO ESTADUAL", "EEEFM"),
        0.1,
    ),
    SchoolType(
        STATE,
        0.30,
        (MED,),
        {EJA_M: 0.35, PROF: 0.12},
        120,
        ("EE", "COLÉGIO ESTADUAL", "CENTRO DE ENSINO MÉDIO", "EEEM"),
        0.05,
    ),
    SchoolType(STATE, 0.10, (AI,), {}, 35, ("EE", "ESCOLA ESTADUAL"), 0.3),
    SchoolType(STATE, 0.05, (EJA_F, EJA_M), {}, 80, ("CEEJA", "CENTRO ESTADUAL DE EDUCAÇÃO DE JOVENS E ADULTOS")),
    SchoolType(FEDERAL, 0.80, (MED, PROF), {EJA_M: 0.1}, 110, ("INSTITUTO FEDERAL",), 0.15),
    SchoolType(FEDERAL, 0.20, (AI, AF, MED), {}, 60, ("COLÉGIO MILITAR", "COLÉGIO DE APLICAÇÃO", "COLÉGIO PEDRO II")),
    SchoolType(PRIVATE, 0.35, (CRE, PRE), {}, 14, ("ESCOLA INFANTIL", "BERÇÁRIO", "CRECHE", "ESCOLINHA")),
    SchoolType(PRIVATE, 0.30, (PRE, AI, AF, MED), {CRE: 0.3}, 28, ("COLÉGIO", "INSTITUTO", "CENTRO EDUCACIONAL")),
    SchoolType(PRIVATE, 0.20, (PRE, AI, AF), {CRE: 0.3}, 20, ("ESCOLA", "CENTRO EDUCACIONAL", "COLÉGIO")),
    SchoolType(PRIVATE, 0.05, (PROF,), {EJA_M: 0.1}, 60, ("ESCOLA TÉCNICA", "CENTRO DE EDUCAÇÃO PROFISSIONAL")),
    SchoolType(
        PRIVATE, 0.05, (ESP,), {EJA_F: 0.3}, 25, ("ESCOLA DE EDUCAÇÃO ESPECIAL APAE", "APAE", "ESCOLA ESPECIAL")
    ),
    SchoolType(PRIVATE, 0.05, (MED,), {PROF: 0.2}, 40, ("COLÉGIO", "CURSO E COLÉGIO")),
)
DEPENDENCY_SHARES = {MUNICIPAL: 0.60, STATE: 0.16, PRIVATE: 0.236, FEDERAL: 0.004}
# Relative size of each un-graded stage against the school's grade size.
LEVEL_SCALE = {CRE: 2.6, PRE: 1.9, PROF: 4.5, EJA_F: 2.2, EJA_M: 2.2, ESP: 2.0}

PATRONS = (
    "JOSÉ DE ALENCAR",
    "MONTEIRO LOBATO",
    "CECÍLIA MEIRELES",
    "TIRADENTES",
    "SÃO FRANCISCO DE ASSIS",
    "RUI BARBOSA",
    "PROFESSORA MARIA JOSÉ",
    "DOM PEDRO II",
    "PAULO FREIRE",
    "ANÍSIO TEIXEIRA",
    "CASTRO ALVES",
    "MACHADO DE ASSIS",
    "SANTA TEREZINHA",
    "NOSSA SENHORA APARECIDA",
    "JOÃO XXIII",
    "DUQUE DE CAXIAS",
    "GONÇALVES DIAS",
    "OLAVO BILAC",
    "CORA CORALINA",
    "PROFESSOR JOÃO BATISTA",
    "SANTO ANTÔNIO",
    "SÃO JOSÉ",
    "PADRE ANCHIETA",
    "VINÍCIUS DE MORAES",
    "CARLOS DRUMMOND DE ANDRADE",
    "CHICO MENDES",
    "ZUMBI DOS PALMARES",
    "PRINCESA ISABEL",
    "MARECHAL RONDON",
    "PROFESSORA ANA NERI",
    "DARCY RIBEIRO",
    "JOAQUIM NABUCO",
    "BARÃO DO RIO BRANCO",
    "SANTOS DUMONT",
    "IRMÃ DULCE",
    "FREI CANECA",
    "CLARICE LISPECTOR",
    "GRACILIANO RAMOS",
    "JORGE AMADO",
    "ÉRICO VERÍSSIMO",
    "RACHEL DE QUEIROZ",
    "PROFESSOR LUÍS GONZAGA",
    "MARIA DE LOURDES",
    "JOÃO PESSOA",
    "GETÚLIO VARGAS",
    "JUSCELINO KUBITSCHEK",
    "PEQUENO PRÍNCIPE",
    "CRIANÇA FELIZ",
    "MUNDO ENCANTADO",
    "ALEGRIA DO SABER",
    "SÃO JUDAS TADEU",
    "SÃO CRISTÓVÃO",
    "VILA NOVA",
    "BOA ESPERANÇA",
    "SÍTIO DO PICAPAU AMARELO",
    "CÂNDIDO PORTINARI",
    "ADOLFO LUTZ",
    "OSWALDO CRUZ",
    "HELENA ANTIPOFF",
    "DORINA NOWILL",
    "PROFESSORA CONCEIÇÃO",
    "PROFESSOR AUGUSTO CÉSAR",
    "DONA BENTA",
    "TOM JOBIM",
)
_MUNICIPALITY_PARTS = (
    ("São", "Santa", "Santo", "Nova", "Bom", "Porto", "Campo", "Rio", "Serra", "Vila", "Lagoa", "Água", "Barra"),
    (
        "José",
        "Luzia",
        "Antônio",
        "Esperança",
        "Jardim",
        "Alegre",
        "Verde",
        "Grande",
        "Conceição",
        "Paraíso",
        "Cruz",
        "Tomé",
        "Inácio",
        "Açu",
        "Itaúna",
        "Jequié",
        "Guaíra",
        "Ibirá",
        "Brasília",
        "Fé",
        "União",
        "Aurora",
        "Olinda",
        "Jesus",
        "Amparo",
        "Glória",
        "Ipê",
        "Goiás",
        "Araçá",
        "Pirajá",
    ),
    (
        "",
        " do Sul",
        " do Norte",
        " da Serra",
        " dos Campos",
        " do Oeste",
        " de Minas",
        " Paulista",
        " do Piauí",
        " d'Oeste",
    ),
)
STREETS = ("RUA", "AVENIDA", "TRAVESSA", "RODOVIA", "ESTRADA", "PRAÇA", "SÍTIO", "FAZENDA")
URBAN_BAIRROS = (
    "CENTRO",
    "JARDIM AMÉRICA",
    "VILA NOVA",
    "SÃO JOSÉ",
    "BOA VISTA",
    "CONJUNTO HABITACIONAL",
    "SANTA CRUZ",
    "NOVO HORIZONTE",
    "JARDIM ESPERANÇA",
    "PARQUE SÃO JORGE",
)
RURAL_BAIRROS = ("ZONA RURAL", "POVOADO SANTA RITA", "ASSENTAMENTO BOA ESPERANÇA", "SÍTIO NOVO", "DISTRITO DE SÃO JOÃO")
COMPLEMENTS = ("PRÓXIMO À IGREJA", "QUADRA 12", "KM 5", "FUNDOS", "ANEXO", "LOTE 3")
COURSES = (
    (1, "Técnico em Informática", "Informação e Comunicação"),
    (2, "Técnico em Enfermagem", "Ambiente e Saúde"),
    (3, "Técnico em Administração", "Gestão e Negócios"),
    (4, "Técnico em Agropecuária", "Recursos Naturais"),
    (5, "Técnico em Eletrotécnica", "Controle e Processos Industriais"),
    (6, "Técnico em Edificações", "Infraestrutura"),
)
# Race shares (not declared, white, black, brown, yellow, indigenous) by region, for QT_MAT_BAS_<race>.
RACE_SHARES = {
    1: (0.25, 0.12, 0.05, 0.545, 0.005, 0.03),
    2: (0.25, 0.16, 0.08, 0.50, 0.005, 0.005),
    3: (0.25, 0.38, 0.07, 0.295, 0.004, 0.001),
    4: (0.25, 0.55, 0.04, 0.155, 0.003, 0.002),
    5: (0.25, 0.25, 0.06, 0.43, 0.005, 0.005),
}
# Yearly growth of entry grades (births) by region; and of the un-graded stages, with the pandemic years.
ENTRY_TREND = {1: -0.008, 2: -0.02, 3: -0.012, 4: -0.009, 5: -0.004}
LEVEL_TRENDS: dict[int, tuple[float, dict[int, float]]] = {
    CRE: (0.04, {2020: -0.03, 2021: -0.09, 2022: 0.13}),
    PRE: (0.01, {2021: -0.06, 2022: 0.05}),
    PROF: (0.03, {2021: -0.02}),
    EJA_F: (-0.06, {2021: -0.10}),
    EJA_M: (-0.03, {2021: -0.08}),
    ESP: (-0.04, {}),
}
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
TEACHER_RATIO = {CRE: 7, PRE: 14, AI: 17, AF: 9, MED: 10, PROF: 8, EJA_F: 14, EJA_M: 12, ESP: 4}
CLASS_SIZE = {CRE: 14, PRE: 20, AI: 24, AF: 29, MED: 33, PROF: 28, EJA_F: 24, EJA_M: 24, ESP: 8}


@dataclass(frozen=True)
class GeneratedYear:
    year: int
    path: Path
    rows: int
    active_schools: int
    csv_bytes: int
    csv_md5: str
    seconds: float

    @property
    def mb_per_s(self) -> float:
        return self.csv_bytes / 1e6 / self.seconds if self.seconds else 0.0


def write_census_zips(
    out_dir: Path,
    years: Iterable[int],
    n_schools: int,
    *,
    seed: int = 0,
    compresslevel: int = 1,
    progress: Callable[[GeneratedYear], None] | None = None,
) -> list[GeneratedYear]:
    """Write `microdados_censo_escolar_YYYY.zip` for each year into `out_dir`; `n_schools` are active the first year.

    The simulation starts at the first year asked for and steps through the years in between, so the same
    seed and first year give the same files whichever later years are written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    years = sorted(set(years))
    for snapshot in CensusSimulation(n_schools, years[0], seed=seed).run(years):
        result = write_year_zip(snapshot, out_dir, seed=seed, compresslevel=compresslevel)
        written.append(result)
        if progress is not None:
            progress(result)
    return written


# --- the simulation --------------------------------------------------------------------------------------------


@dataclass
class _Municipalities:
    code: np.ndarray
    uf: np.ndarray  # index into UFS
    name: np.ndarray  # object array of str
    weight: np.ndarray
    urbanity: np.ndarray  # 0 (smallest of its UF) .. 1 (the capital)
    groups: dict[str, tuple[np.ndarray, np.ndarray]]  # level -> (code, name) per municipality


@dataclass
class _Schools:
    """Every school ever created, one entry per array position; grown when schools open."""

    code: np.ndarray  # CO_ENTIDADE
    municipality: np.ndarray
    dependency: np.ndarray
    location: np.ndarray
    type: np.ndarray  # index into SCHOOL_TYPES
    name: np.ndarray  # object array of str
    size: np.ndarray  # grade size
    drift: np.ndarray  # persistent migration drift (log scale per year)
    ct_share: np.ndarray  # share of secondary students on integrated technical courses
    nm_share: np.ndarray  # share on teacher training (normal/magisterio)
    full_time: np.ndarray  # share of students full time (tempo integral)
    night: np.ndarray  # share of secondary students at night
    status: np.ndarray  # 0: not in the file (not opened yet, or dropped from INEP's register)
    offers: np.ndarray  # (n, 9) bool
    base: np.ndarray  # (n, 3) float: entry students per year into AI, AF, MED
    grades: np.ndarray  # (n, 12) int32
    levels: np.ndarray  # (n, 6) int32

    def append(self, other: _Schools) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))

    def __len__(self) -> int:
        return len(self.code)


@dataclass
class YearSnapshot:
    """One census year: the schools in the file, in file order, with what the renderer needs."""

    year: int
    schools: _Schools
    municipalities: _Municipalities
    extra: dict = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.schools)


class CensusSimulation:
    """Brazil's schools year by year from one seeded generator."""

    def __init__(self, n_schools: int, first_year: int, *, seed: int = 0) -> None:
        self.rng = np.random.default_rng([seed, 7919])
        self.year = first_year
        self.next_code = np.zeros(len(UFS), dtype=np.int64)
        self.municipalities = _municipalities(self.rng, n_schools)
        active = _new_schools(self, n_schools, first_year)
        _steady_state(self.rng, active)
        # The register also lists paused schools and schools closed before the first year.
        inactive = _new_schools(self, int(n_schools * 0.2), first_year)
        inactive.status[:] = self.rng.choice(
            [PAUSED, CLOSED_THIS_YEAR, CLOSED_BEFORE], len(inactive), p=[0.12, 0.08, 0.8]
        )
        self.schools = active
        self.schools.append(inactive)

    def run(self, years: Iterable[int]) -> Iterator[YearSnapshot]:
        for year in sorted(set(years)):
            if year < self.year:
                raise ValueError(f"the simulation is at {self.year}; it cannot go back to {year}")
            while self.year < year:
                self._advance()
            yield self.snapshot()

    def snapshot(self) -> YearSnapshot:
        s = self.schools
        present = np.flatnonzero(s.status > 0)
        uf_code = np.array([uf.code for uf in UFS])[self.municipalities.uf[s.municipality[present]]]
        order = present[np.lexsort((s.code[present], self.municipalities.code[s.municipality[present]], uf_code))]
        rows = _Schools(**{name: getattr(s, name)[order] for name in s.__dataclass_fields__})
        return YearSnapshot(self.year, rows, self.municipalities)

    def _advance(self) -> None:
        rng, s = self.rng, self.schools
        year = self.year + 1
        status = s.status.copy()
        active = status == ACTIVE
        small_rural = (s.location == RURAL) & (s.grades.sum(1) + s.levels.sum(1) < 40)
        p_close = 0.012 + 0.035 * small_rural + 0.008 * (s.dependency == PRIVATE)
        u = rng.random(len(s))
        closing = active & (u < p_close)
        pausing = active & ~closing & (u < p_close + 0.004)
        resuming = (status == PAUSED) & (u < 0.35)
        closing |= (status == PAUSED) & (u >= 0.35) & (u < 0.5)
        status[(s.status == CLOSED_THIS_YEAR)] = CLOSED_BEFORE
        status[(s.status == CLOSED_BEFORE) & (u < 0.08)] = 0  # dropped from INEP's register
        status[closing] = CLOSED_THIS_YEAR
        status[pausing] = PAUSED
        status[resuming] = ACTIVE
        continuing = active & (status == ACTIVE)
        _progress_cohorts(rng, s, continuing, year, self.municipalities)
        _change_offers(rng, s, continuing)
        _steady_state(rng, s, rows=np.flatnonzero(resuming), scale=0.7)
        gone = status != ACTIVE
        s.grades[gone], s.levels[gone] = 0, 0
        s.status = status
        self.year = year
        opening = rng.poisson(0.011 * continuing.sum())
        if opening:
            new = _new_schools(self, opening, year, founding=True)
            _steady_state(rng, new, scale=0.5)
            s.append(new)


def _municipalities(rng: np.random.Generator, n_schools: int) -> _Municipalities:
    total_schools = sum(uf.schools for uf in UFS)
    codes, ufs, names, weights, urbanity = [], [], [], [], []
    combos = [
        f"{a} {b}{c}" for a in _MUNICIPALITY_PARTS[0] for b in _MUNICIPALITY_PARTS[1] for c in _MUNICIPALITY_PARTS[2]
    ]
    for index, uf in enumerate(UFS):
        expected = n_schools * uf.schools / total_schools
        n = int(max(1, min(uf.municipalities, round(expected / 6))))
        picked = rng.choice(len(combos), n - 1, replace=False) if n > 1 else np.array([], dtype=int)
        names += [uf.capital, *(combos[i] for i in picked)]
        seq = np.sort(rng.choice(np.arange(1, 9999), n - 1, replace=False)) if n > 1 else np.array([], dtype=int)
        numbers = np.concatenate([[0], seq])
        codes += list(uf.code * 100_000 + numbers * 10 + (numbers * 7 + uf.code) % 10)
        w = rng.lognormal(0.0, 1.1, n)
        w[0] = 0.0
        w = w / w.sum() * 0.85 if n > 1 else np.ones(1)
        w[0] = 0.15 if n > 1 else 1.0
        weights += list(w * uf.schools / total_schools)
        ranks = np.argsort(np.argsort(w))
        urbanity += list(ranks / max(n - 1, 1))
        ufs += [index] * n
    code, uf_index = np.array(codes, dtype=np.int32), np.array(ufs, dtype=np.int16)
    name, weight = np.array(names, dtype=object), np.array(weights)
    groups = {}
    for level, per_group, digits in (
        ("interm", 40, 100),
        ("imed", 10, 10_000),
        ("meso", 50, 100),
        ("micro", 12, 1_000),
    ):
        group_code = np.zeros(len(code), dtype=np.int32)
        group_name = np.empty(len(code), dtype=object)
        for index, uf in enumerate(UFS):
            rows = np.flatnonzero(uf_index == index)
            k = np.arange(len(rows)) // per_group
            group_code[rows] = uf.code * digits + k + 1
            for g in np.unique(k):
                members = rows[k == g]
                group_name[members] = name[members[np.argmax(weight[members])]]
        groups[level] = (group_code, group_name)
    return _Municipalities(code, uf_index, name, weight, np.array(urbanity), groups)


def _new_schools(sim: CensusSimulation, n: int, year: int, *, founding: bool = False) -> _Schools:
    rng, towns = sim.rng, sim.municipalities
    municipality = rng.choice(len(towns.code), n, p=towns.weight / towns.weight.sum())
    uf = towns.uf[municipality]
    is_df = np.array([u.sigla == "DF" for u in UFS])[uf]
    shares = dict(DEPENDENCY_SHARES)
    if founding:  # new schools are mostly private and municipal creches
        shares = {MUNICIPAL: 0.48, PRIVATE: 0.45, STATE: 0.06, FEDERAL: 0.01}
    deps = np.array(list(shares))
    dependency = rng.choice(deps, n, p=np.array(list(shares.values())) / sum(shares.values()))
    dependency[is_df & (dependency == MUNICIPAL)] = STATE  # the Federal District has no municipal network
    kind = np.zeros(n, dtype=np.int16)
    for dep in deps:
        rows = np.flatnonzero(dependency == dep)
        types = [i for i, t in enumerate(SCHOOL_TYPES) if t.dependency == dep]
        w = np.array(
            [SCHOOL_TYPES[i].weight * (3 if founding and SCHOOL_TYPES[i].offers[0] == CRE else 1) for i in types]
        )
        kind[rows] = rng.choice(types, len(rows), p=w / w.sum())
    rural_share = np.array([t.rural_share for t in SCHOOL_TYPES])[kind] * (1.6 - towns.urbanity[municipality])
    location = np.where(rng.random(n) < rural_share, RURAL, URBAN).astype(np.int8)
    size = np.array([t.grade_size for t in SCHOOL_TYPES])[kind] * rng.lognormal(0.0, 0.55, n)
    size *= np.where(location == RURAL, 0.3, 1.0) * (0.7 + 0.6 * towns.urbanity[municipality])
    offers = np.zeros((n, len(OFFERS)), dtype=bool)
    for i, t in enumerate(SCHOOL_TYPES):
        rows = np.flatnonzero(kind == i)
        offers[np.ix_(rows, t.offers)] = True
        for stage, p in t.optional.items():
            offers[rows, stage] |= rng.random(len(rows)) < p
    code = np.zeros(n, dtype=np.int32)
    for index, u in enumerate(UFS):
        rows = np.flatnonzero(uf == index)
        code[rows] = (
            u.code * 1_000_000 + 10 + sim.next_code[index] + np.arange(len(rows)) * 3 + rng.integers(0, 3, len(rows))
        )
        sim.next_code[index] += 3 * len(rows) + 3
    federal_institute = np.array([t.prefixes == ("INSTITUTO FEDERAL",) for t in SCHOOL_TYPES])[kind]
    ct_share = np.where(
        federal_institute, rng.uniform(0.8, 1.0, n), np.where(dependency == STATE, rng.beta(0.3, 4, n), 0.0)
    )
    nm_share = np.where((dependency == STATE) & (rng.random(n) < 0.03), rng.uniform(0.2, 0.6, n), 0.0)
    return _Schools(
        code=code,
        municipality=municipality.astype(np.int32),
        dependency=dependency.astype(np.int8),
        location=location,
        type=kind,
        name=_school_names(rng, kind, towns.name[municipality]),
        size=size,
        drift=rng.normal(0.0, 0.025, n) - 0.01 * (location == RURAL),
        ct_share=ct_share,
        nm_share=nm_share,
        full_time=np.clip(rng.beta(0.4, 3.0, n), 0, 1),
        night=np.where(rng.random(n) < 0.4, rng.uniform(0.05, 0.4, n), 0.0),
        status=np.full(n, ACTIVE, dtype=np.int8),
        offers=offers,
        base=np.zeros((n, 3)),
        grades=np.zeros((n, 12), dtype=np.int32),
        levels=np.zeros((n, 6), dtype=np.int32),
    )


def _school_names(rng: np.random.Generator, kind: np.ndarray, towns: np.ndarray) -> np.ndarray:
    names = np.empty(len(kind), dtype=object)
    patrons = np.array(PATRONS, dtype=object)[rng.integers(0, len(PATRONS), len(kind))]
    for i, t in enumerate(SCHOOL_TYPES):
        rows = np.flatnonzero(kind == i)
        prefixes = np.array(t.prefixes, dtype=object)[rng.integers(0, len(t.prefixes), len(rows))]
        if t.prefixes == ("INSTITUTO FEDERAL",):
            names[rows] = [f"{p} - CAMPUS {town.upper()}" for p, town in zip(prefixes, towns[rows], strict=True)]
        else:
            names[rows] = prefixes + " " + patrons[rows]
    return names


def _steady_state(rng: np.random.Generator, s: _Schools, rows: np.ndarray | None = None, scale: float = 1.0) -> None:
    """Fill the grades and levels of `rows` (all when None) as a school of their size would have them."""
    rows = np.arange(len(s)) if rows is None else rows
    if len(rows) == 0:
        return
    size = s.size[rows] * scale
    s.base[rows] = size[:, None] * np.array([1.0, 0.8, 1.0])
    survival = {AI: 0.985, AF: 0.96, MED: 0.88}
    for segment, grades in SEGMENT_GRADES.items():
        for k, grade in enumerate(grades):
            expected = s.base[rows, list(SEGMENT_GRADES).index(segment)] * survival[segment] ** k * 1.05
            s.grades[rows, grade] = rng.poisson(expected) * s.offers[rows, segment]
    for stage, level in LEVEL_OF.items():
        s.levels[rows, level] = rng.poisson(size * LEVEL_SCALE[stage]) * s.offers[rows, stage]


def _rates(year: int) -> tuple[np.ndarray, np.ndarray]:
    """Repetition and dropout per segment (AI, AF, MED) for students moving into `year`."""
    t = min(max(year - 2011, 0), 12)
    repetition = np.array([0.08, 0.13, 0.12]) - np.array([0.003, 0.004, 0.003]) * t
    dropout = np.array([0.012, 0.03, 0.075]) - np.array([0.0005, 0.001, 0.002]) * t
    if year in (2020, 2021):  # promoted by default during the pandemic; dropout rose in 2021
        repetition = repetition * (0.15 if year == 2020 else 0.4)
        dropout = dropout * (0.8 if year == 2020 else 1.4)
    return repetition, dropout


def _progress_cohorts(
    rng: np.random.Generator, s: _Schools, rows: np.ndarray, year: int, towns: _Municipalities
) -> None:
    """Move every continuing school's students up a grade: promoted, repeating or gone."""
    rows = np.flatnonzero(rows)
    if len(rows) == 0:
        return
    region = np.array([uf.region for uf in UFS])[towns.uf[s.municipality[rows]]]
    repetition, dropout = _rates(year)
    harder = np.where(region <= 2, 1.3, 1.0) * np.where(s.dependency[rows] == PRIVATE, 0.35, 1.0)
    rep = np.clip(repetition[None, :] * harder[:, None], 0, 0.4)  # (n, 3) by segment
    drop = np.clip(dropout[None, :] * harder[:, None], 0, 0.3)
    migration = np.exp(s.drift[rows] + rng.normal(0, 0.04, len(rows)))
    entry_trend = np.array([ENTRY_TREND[r] for r in region])
    s.base[rows] *= np.exp(entry_trend + rng.normal(0, 0.03, len(rows)))[:, None]
    old = s.grades[rows].astype(float)
    new = np.zeros_like(old)
    for seg_index, (segment, grades) in enumerate(SEGMENT_GRADES.items()):
        r, d = rep[:, seg_index], drop[:, seg_index]
        first = grades[0]
        entrants = s.base[rows, seg_index]
        if segment != AI:  # last year's final grade of the previous segment, when taught here, feeds this one
            feeder_segment = AI if segment == AF else AF
            taught = s.offers[rows, feeder_segment]
            pr, pd = rep[:, seg_index - 1], drop[:, seg_index - 1]
            stay = 0.8 if segment == AF else 0.65
            fed = (1 - pr - pd) * old[:, first - 1] * stay + 0.3 * entrants
            entrants = np.where(taught, fed, entrants)
        new[:, first] = entrants + r * old[:, first]
        for grade in grades[1:]:
            new[:, grade] = (1 - r - d) * old[:, grade - 1] + r * old[:, grade]
    segment_of_grade = np.repeat([AI, AF, MED], [5, 4, 3])
    new *= migration[:, None] * s.offers[rows][:, segment_of_grade]
    s.grades[rows] = rng.poisson(new)
    for stage, level in LEVEL_OF.items():
        trend, shocks = LEVEL_TRENDS[stage]
        growth = np.exp(trend + shocks.get(year, 0.0) + rng.normal(0, 0.05, len(rows))) * migration
        expected = np.maximum(s.levels[rows, level], 1) * growth * s.offers[rows, stage]
        s.levels[rows, level] = rng.poisson(expected)


def _change_offers(rng: np.random.Generator, s: _Schools, continuing: np.ndarray) -> None:
    """Some schools drop a stage (state primary schools handed to municipalities most often), some add one."""
    rows = np.flatnonzero(continuing)
    offers = s.offers[rows]
    p_drop = np.full(offers.shape, 0.01)
    p_drop[:, AI] += 0.04 * (s.dependency[rows] == STATE)
    p_drop[:, [EJA_F, EJA_M]] += 0.05
    dropping = offers & (rng.random(offers.shape) < p_drop) & (offers.sum(1, keepdims=True) > 1)
    plausible = {
        MUNICIPAL: (CRE, PRE, EJA_F, AF),
        STATE: (MED, PROF, EJA_M, AF),
        PRIVATE: (CRE, PRE, AI, AF, MED),
        FEDERAL: (PROF, EJA_M),
    }
    adding = np.zeros_like(offers)
    for dep, stages in plausible.items():
        mine = s.dependency[rows] == dep
        for stage in stages:
            p = 0.012 if stage == CRE else 0.005
            adding[:, stage] |= mine & ~offers[:, stage] & (rng.random(len(rows)) < p)
    s.offers[rows] = (offers & ~dropping) | adding
    for stage in range(len(OFFERS)):
        started = rows[adding[:, stage]]
        if len(started) == 0:
            continue
        if stage in LEVEL_OF:
            s.levels[started, LEVEL_OF[stage]] = rng.poisson(s.size[started] * LEVEL_SCALE[stage] * 0.6)
        else:
            segment = list(SEGMENT_GRADES).index(stage)
            s.base[started, segment] = np.maximum(s.base[started, segment], s.size[started] * 0.8)
            for grade in SEGMENT_GRADES[stage]:
                s.grades[started, grade] = rng.poisson(s.base[started, segment] * 0.6)
    for stage in range(len(OFFERS)):
        stopped = rows[dropping[:, stage]]
        if stage in LEVEL_OF:
            s.levels[stopped, LEVEL_OF[stage]] = 0
        else:
            s.grades[np.ix_(stopped, list(SEGMENT_GRADES[stage]))] = 0


# --- rendering a year as INEP's CSV ----------------------------------------------------------------------------


def write_year_zip(snapshot: YearSnapshot, out_dir: Path, *, seed: int = 0, compresslevel: int = 1) -> GeneratedYear:
    """Write one year's zip as INEP lays it out; the file appears under its final name only when complete."""
    start = time.perf_counter()
    year = snapshot.year
    root = root_folder(year)
    path = Path(out_dir) / f"microdados_censo_escolar_{year}.zip"
    partial = path.with_name(path.name + ".part")
    digests: dict[str, str] = {}
    with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
        if year >= FIRST_MULTI_TABLE_YEAR:
            csv_bytes, active = _write_tables(archive, snapshot, root, seed, compresslevel, digests)
        else:
            csv_name = f"microdados_ed_basica_{year}.{'CSV' if year == 2020 else 'csv'}"
            columns = year_columns(year)
            chunks = _csv_chunks(snapshot, columns, seed)
            csv_bytes, digests[csv_name] = _write_member(archive, f"{root}/dados/{csv_name}", chunks, compresslevel)
            active = int((snapshot.schools.status == ACTIVE).sum())
            supplement = f"suplemento_cursos_tecnicos_{year}.csv"
            _, digests[supplement] = _write_member(
                archive, f"{root}/dados/{supplement}", [_supplement_csv(snapshot, seed)], compresslevel
            )
        listing = "".join(f"{digest} *{name}\r\n" for name, digest in digests.items()).encode("ascii")
        _write_member(archive, f"{root}/dados/md5_microdados_ed_basica_{year}.txt", [listing], compresslevel)
        for name, content in _annexes(year).items():
            _write_member(archive, f"{root}/{name}", [content], compresslevel)
    os.replace(partial, path)
    seconds = time.perf_counter() - start
    first_digest = next(iter(digests.values()))
    return GeneratedYear(year, path, snapshot.rows, active, csv_bytes, first_digest, seconds)


def root_folder(year: int) -> str:
    """INEP's root folder changes name from one release to the next."""
    if year == 2020:
        return "microdados_educacao_basica_2020"
    names = (
        "microdados_censo_escolar_{y}",
        "Microdados do Censo Escolar da Educação Básica {y}",
        "MICRODADOS_CENSO_ESCOLAR_{y}",
        "microdados_ed_basica_{y}",
    )
    return names[year % len(names)].format(y=year)


class _Cp850Info(zipfile.ZipInfo):
    """A member written as INEP's tools write them: the name in CP850 and no UTF-8 flag."""

    __slots__ = ()

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp850"), self.flag_bits & ~0x800


def _write_member(archive: zipfile.ZipFile, name: str, chunks: Iterable[bytes], compresslevel: int) -> tuple[int, str]:
    info = _Cp850Info(name, date_time=(2024, 2, 15, 10, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = compresslevel  # ZipFile.open(info, "w") takes the level from the info
    info.create_system, info.external_attr = 0, 0x20  # made on Windows: MS-DOS attributes, "archive" bit
    digest, size = hashlib.md5(usedforsecurity=False), 0
    with archive.open(info, "w") as out:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _csv_chunks(snapshot: YearSnapshot, columns: tuple[tuple[str, str], ...], seed: int) -> Iterator[bytes]:
    """The year's CSV in blocks, in order. pyarrow formats a block in a worker thread (it releases the GIL)
    while the next block is rendered and the previous one compressed."""
    n = snapshot.rows
    pending: deque[Future[bytes]] = deque()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for lo in range(0, max(n, 1), BLOCK_ROWS):
            hi = min(lo + BLOCK_ROWS, n)
            block = _Block(snapshot, lo, hi, np.random.default_rng([seed, snapshot.year, lo]), seed)
            table = pa.table({file_name: block.column(current) for file_name, current in columns})
            pending.append(pool.submit(_to_csv, table, include_header=lo == 0))
            if len(pending) > 2:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _to_csv(table: pa.Table, *, include_header: bool) -> bytes:
    buffer = io.BytesIO()
    options = pcsv.WriteOptions(
        include_header=include_header, delimiter=";", eol="\r\n", quoting_style="none", quoting_header="none"
    )
    pcsv.write_csv(table, buffer, options)
    # pyarrow writes UTF-8; INEP's files are Latin-1 (every generated name is Latin-1 encodable).
    return buffer.getvalue().decode("utf-8").encode(FILE_ENCODING)


def _hash_uniform(keys: np.ndarray, salts: np.ndarray) -> np.ndarray:
    """A uniform draw in [0, 1) per (school, column) that stays the same every year: infrastructure is stable."""
    x = keys.astype(np.uint32)[:, None] * np.uint32(0x9E3779B1) ^ salts.astype(np.uint32)[None, :]
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x85EBCA6B)
    x ^= x >> np.uint32(13)
    x *= np.uint32(0xC2B2AE35)
    x ^= x >> np.uint32(16)
    return x.astype(np.float32) * np.float32(1 / 2**32)


def _salt(name: str, seed: int) -> int:
    return int.from_bytes(hashlib.blake2s(f"{seed}:{name}".encode(), digest_size=4).digest(), "little")


class _Block:
    """Rows lo..hi of one year, column by column, keyed by the current (2023) INEP name."""

    def __init__(self, snapshot: YearSnapshot, lo: int, hi: int, rng: np.random.Generator, seed: int) -> None:
        s = snapshot.schools
        self.year, self.seed, self.rng = snapshot.year, seed, rng
        self.n = hi - lo
        sl = slice(lo, hi)
        self.code, self.status = s.code[sl], s.status[sl]
        self.dependency, self.location = s.dependency[sl], s.location[sl]
        self.inactive = self.status != ACTIVE
        # One validity bitmap (NULL for schools not in activity) shared by every count column of the block.
        self.validity = pa.py_buffer(np.packbits(~self.inactive, bitorder="little")) if self.inactive.any() else None
        towns = snapshot.municipalities
        self.municipality = s.municipality[sl]
        self.uf = towns.uf[self.municipality]
        self.towns = towns
        self.school = {name: getattr(s, name)[sl] for name in ("name", "full_time", "night", "ct_share", "nm_share")}
        self.columns: dict[str, pa.Array] = {}
        self._counts(s.grades[sl], s.levels[sl])
        self._cadastre()

    # Every column of the header goes through here.
    def column(self, name: str) -> pa.Array:
        if name not in self.columns:
            self.columns[name] = self._generic(name)
        return self.columns[name]

    def _put(
        self, name: str, values: np.ndarray, type_: pa.DataType = pa.int32(), *, mask: np.ndarray | None = None
    ) -> None:
        if mask is None and pa.types.is_integer(type_):
            data = np.ascontiguousarray(values, dtype=type_.to_pandas_dtype())
            nulls = int(self.inactive.sum())
            self.columns[name] = pa.Array.from_buffers(type_, self.n, [self.validity, pa.py_buffer(data)], nulls)
            return
        mask = self.inactive if mask is None else mask
        self.columns[name] = pa.array(np.asarray(values), type=type_, mask=mask if mask.any() else None)

    def _flag(self, name: str, values: np.ndarray) -> None:
        self._put(name, values.astype(np.int8), pa.int8())

    def _counts(self, grades: np.ndarray, levels: np.ndarray) -> None:
        """Enrollments, teachers and classes: every identity of INEP's file holds on every row."""
        rng, n = self.rng, self.n
        binom = rng.binomial
        ai, af, med = grades[:, 0:5], grades[:, 5:9], grades[:, 9:12]
        ct = binom(med, self.school["ct_share"][:, None])
        nm = binom(med - ct, self.school["nm_share"][:, None])
        prop = med - ct - nm
        prop_ns = np.where((med.sum(1) > 0) & (rng.random(n) < 0.01), rng.poisson(3, n), 0)
        cre, pre, prof_tec, eja_fund, eja_med, esp_ce = levels.T
        zero = np.zeros(n, dtype=np.int64)
        put = self._put
        for k in range(5):
            put(f"QT_MAT_FUND_AI_{k + 1}", ai[:, k])
        for k in range(4):
            put(f"QT_MAT_FUND_AF_{k + 6}", af[:, k])
        for track, values in (("PROP", prop), ("CT", ct), ("NM", nm)):
            for k in range(3):
                put(f"QT_MAT_MED_{track}_{k + 1}", values[:, k])
            put(f"QT_MAT_MED_{track}_4", zero)
        put("QT_MAT_MED_PROP_NS", prop_ns)
        put("QT_MAT_MED_CT_NS", zero)
        mat = {
            "INF_CRE": cre,
            "INF_PRE": pre,
            "FUND_AI": ai.sum(1),
            "FUND_AF": af.sum(1),
            "MED_PROP": prop.sum(1) + prop_ns,
            "MED_CT": ct.sum(1),
            "MED_NM": nm.sum(1),
        }
        mat["INF"] = cre + pre
        mat["FUND"] = mat["FUND_AI"] + mat["FUND_AF"]
        mat["MED"] = mat["MED_PROP"] + mat["MED_CT"] + mat["MED_NM"]
        conc = binom(prof_tec, 0.35)
        fic = np.where((prof_tec > 0) & (rng.random(n) < 0.1), rng.poisson(6, n), 0)
        mat.update(PROF_TEC=prof_tec, PROF_TEC_CONC=conc, PROF_TEC_SUBS=prof_tec - conc, PROF_FIC_CONC=fic)
        mat["PROF"] = prof_tec + fic
        eja_fund_ai = binom(eja_fund, 0.3)
        eja_med_tec = binom(eja_med, 0.04)
        mat.update(EJA_FUND=eja_fund, EJA_FUND_AI=eja_fund_ai, EJA_FUND_AF=eja_fund - eja_fund_ai, EJA_FUND_FIC=zero)
        mat.update(EJA_MED=eja_med, EJA_MED_NPROF=eja_med - eja_med_tec, EJA_MED_FIC=zero, EJA_MED_TEC=eja_med_tec)
        mat["EJA"] = eja_fund + eja_med
        regular = mat["INF"] + mat["FUND"] + mat["MED"]
        esp_cc = binom(regular, 0.025)
        mat.update(ESP_CC=esp_cc, ESP_CE=esp_ce, ESP=esp_cc + esp_ce)
        bas = mat["INF"] + mat["FUND"] + mat["MED"] + mat["PROF"] + mat["EJA"] + esp_ce
        mat["BAS"] = bas
        self._splits(mat, bas)
        for key, values in mat.items():
            put(f"QT_MAT_{key}", values)
        self._staff(mat, ai, af, med, esp_cc)
        flags = {
            "INF": mat["INF"], "INF_CRE": cre, "INF_PRE": pre, "FUND": mat["FUND"], "FUND_AI": mat["FUND_AI"],
            "FUND_AF": mat["FUND_AF"], "MED": mat["MED"], "PROF": mat["PROF"], "PROF_TEC": prof_tec,
            "EJA": mat["EJA"], "EJA_FUND": eja_fund, "EJA_MED": eja_med, "ESP": mat["ESP"], "ESP_CC": esp_cc,
            "ESP_CE": esp_ce,
        }  # fmt: skip
        for key, values in flags.items():
            self._flag(f"IN_{key}", values > 0)
        self._flag("IN_REGULAR", (regular + mat["PROF"]) > 0)
        self._flag("IN_ESCOLARIZACAO", bas > 0)
        self._flag("IN_MEDIACAO_PRESENCIAL", np.ones(n, dtype=bool))
        self._flag("IN_MEDIACAO_SEMIPRESENCIAL", np.zeros(n, dtype=bool))
        self._flag("IN_MEDIACAO_EAD", np.zeros(n, dtype=bool))
        self._flag("IN_EAD", np.zeros(n, dtype=bool))
        self.prof_tec, self.med_ct = prof_tec, mat["MED_CT"]

    def _splits(self, mat: dict[str, np.ndarray], bas: np.ndarray) -> None:
        rng, n, binom = self.rng, self.n, self.rng.binomial
        fem = binom(bas, 0.49)
        mat.update(BAS_FEM=fem, BAS_MASC=bas - fem)
        race = np.zeros((n, 6), dtype=np.int64)
        region = np.array([uf.region for uf in UFS])[self.uf]
        for r, shares in RACE_SHARES.items():
            rows = np.flatnonzero(region == r)
            if len(rows):
                race[rows] = rng.multinomial(bas[rows], np.array(shares) / sum(shares))
        for k, key in enumerate(("ND", "BRANCA", "PRETA", "PARDA", "AMARELA", "INDIGENA")):
            mat[f"BAS_{key}"] = race[:, k]
        older = binom(mat["FUND_AF"], 0.1)
        adults = binom(mat["MED"] + mat["PROF"], 0.15)
        mat.update(
            BAS_0_3=mat["INF_CRE"],
            BAS_4_5=mat["INF_PRE"],
            BAS_6_10=mat["FUND_AI"],
            BAS_11_14=mat["FUND_AF"] - older,
            BAS_15_17=mat["MED"] + mat["PROF"] + older - adults,
            BAS_18_MAIS=mat["EJA"] + mat["ESP_CE"] + adults,
        )
        night = mat["EJA"] + binom(mat["MED"], self.school["night"]) + binom(mat["PROF"], 0.5)
        mat.update(BAS_D=bas - night, BAS_N=night, BAS_EAD=np.zeros(n, dtype=np.int64))
        self._flag("IN_DIURNO", (bas - night) > 0)
        self._flag("IN_NOTURNO", night > 0)
        full = self.school["full_time"]
        cre_int, pre_int = binom(mat["INF_CRE"], np.clip(0.4 + full, 0, 1)), binom(mat["INF_PRE"], full)
        ai_int, af_int = binom(mat["FUND_AI"], full), binom(mat["FUND_AF"], full)
        mat.update(INF_INT=cre_int + pre_int, INF_CRE_INT=cre_int, INF_PRE_INT=pre_int)
        mat.update(FUND_INT=ai_int + af_int, FUND_AI_INT=ai_int, FUND_AF_INT=af_int)
        mat["MED_INT"] = binom(mat["MED"], np.clip(full * 1.2, 0, 1))
        urban_home = binom(bas, np.where(self.location == URBAN, 0.93, 0.3))
        mat.update(ZR_URB=urban_home, ZR_RUR=bas - urban_home, ZR_NA=np.zeros(n, dtype=np.int64))
        self.transport = binom(bas, np.where(self.location == RURAL, 0.55, 0.05))
        by_state = binom(self.transport, np.where(self.dependency == STATE, 0.7, 0.1))
        self._put("QT_TRANSP_PUBLICO", self.transport)
        self._put("QT_TRANSP_RESP_EST", by_state)
        self._put("QT_TRANSP_RESP_MUN", self.transport - by_state)
        self.bas, self.night_students = bas, night

    def _staff(self, mat: dict, ai: np.ndarray, af: np.ndarray, med: np.ndarray, esp_cc: np.ndarray) -> None:
        rng = self.rng
        enrolled = {
            "INF_CRE": (mat["INF_CRE"], CRE, 1), "INF_PRE": (mat["INF_PRE"], PRE, 1),
            "FUND_AI": (mat["FUND_AI"], AI, (ai > 0).sum(1)), "FUND_AF": (mat["FUND_AF"], AF, (af > 0).sum(1)),
            "MED": (mat["MED"], MED, (med > 0).sum(1)), "PROF_TEC": (mat["PROF_TEC"], PROF, 1),
            "EJA_FUND": (mat["EJA_FUND"], EJA_F, 1), "EJA_MED": (mat["EJA_MED"], EJA_M, 1),
            "ESP_CE": (mat["ESP_CE"], ESP, 1),
        }  # fmt: skip
        doc, tur = {}, {}
        rural = self.location == RURAL
        for key, (students, stage, grades_taught) in enrolled.items():
            noise = rng.lognormal(0, 0.15, self.n)
            doc[key] = np.where(students > 0, np.ceil(students / (TEACHER_RATIO[stage] * noise)), 0).astype(np.int64)
            minimum = np.where(rural, 1, grades_taught)  # small rural schools teach several grades in one class
            classes = np.maximum(np.ceil(students / CLASS_SIZE[stage]), minimum)
            tur[key] = np.where(students > 0, classes, 0).astype(np.int64)
        doc["ESP_CC"] = np.ceil(esp_cc / 6).astype(np.int64)
        tur["PROF"] = tur["PROF_TEC"]
        doc["PROF"] = doc["PROF_TEC"]
        regular_classes = tur["INF_CRE"] + tur["INF_PRE"] + tur["FUND_AI"] + tur["FUND_AF"] + tur["MED"]
        tur["ESP_CC"] = np.minimum(esp_cc, regular_classes)
        for total, parts, overlap in (
            ("INF", ("INF_CRE", "INF_PRE"), 0.6),
            ("FUND", ("FUND_AI", "FUND_AF"), 0.85),
            ("EJA", ("EJA_FUND", "EJA_MED"), 0.5),
            ("ESP", ("ESP_CC", "ESP_CE"), 0.8),
        ):
            doc[total] = _union(doc[parts[0]], doc[parts[1]], overlap)
            tur[total] = tur[parts[0]] + tur[parts[1]]
        top = ("INF", "FUND", "MED", "PROF", "EJA", "ESP")
        stacked = np.stack([doc[k] for k in top])
        doc["BAS"] = stacked.max(0) + np.round(0.7 * (stacked.sum(0) - stacked.max(0))).astype(np.int64)
        tur["BAS"] = tur["INF"] + tur["FUND"] + tur["MED"] + tur["PROF"] + tur["EJA"] + tur["ESP_CE"]
        for key in doc:
            self._put(f"QT_DOC_{key}", doc[key])
            self._put(f"QT_TUR_{key}", tur[key])
        binom = rng.binomial
        night_classes = tur["EJA"] + binom(tur["MED"], self.school["night"])
        self._put("QT_TUR_BAS_N", night_classes)
        self._put("QT_TUR_BAS_D", tur["BAS"] - night_classes)
        self._put("QT_TUR_BAS_EAD", np.zeros(self.n, dtype=np.int64))
        full = self.school["full_time"]
        for key in ("INF_CRE", "INF_PRE", "FUND_AI", "FUND_AF", "MED"):
            tur[f"{key}_INT"] = binom(tur[key], full)
        tur["INF_INT"] = tur["INF_CRE_INT"] + tur["INF_PRE_INT"]
        tur["FUND_INT"] = tur["FUND_AI_INT"] + tur["FUND_AF_INT"]
        for key in ("INF_INT", "INF_CRE_INT", "INF_PRE_INT", "FUND_INT", "FUND_AI_INT", "FUND_AF_INT", "MED_INT"):
            self._put(f"QT_TUR_{key}", tur[key])
        day_classes = tur["BAS"] - night_classes
        rooms = np.maximum(np.ceil(np.maximum(day_classes / 2, night_classes)), 1).astype(np.int64)
        rooms += rng.poisson(0.3, self.n)
        outside = np.where(rng.random(self.n) < 0.05, np.minimum(rooms, 1 + rng.poisson(0.5, self.n)), 0)
        self._put("QT_SALAS_UTILIZADAS", rooms)
        self._put("QT_SALAS_UTILIZADAS_FORA", outside)
        self._put("QT_SALAS_UTILIZADAS_DENTRO", rooms - outside)
        quality = np.where(self.dependency == PRIVATE, 0.6, 0.2) + 0.02 * (self.year - 2011)
        self._put("QT_SALAS_UTILIZA_CLIMATIZADAS", binom(rooms, np.clip(quality, 0, 1)))
        self._put("QT_SALAS_UTILIZADAS_ACESSIVEIS", binom(rooms, 0.4))
        self._put("TP_AEE", np.where(esp_cc > 0, rng.integers(1, 3, self.n), 0), pa.int8())

    def _cadastre(self) -> None:
        """Who and where the school is: present for every row, paused and closed schools too."""
        n, towns, rng = self.n, self.towns, self.rng
        never = np.zeros(n, dtype=bool)
        uf_code = np.array([uf.code for uf in UFS])[self.uf]
        region = np.array([uf.region for uf in UFS])[self.uf]
        text = lambda values: pa.array(values, type=pa.string())  # noqa: E731
        cols = self.columns
        cols["NU_ANO_CENSO"] = pa.array(np.full(n, self.year, dtype=np.int16))
        cols["NO_REGIAO"] = text(np.array(list(REGIONS.values()), dtype=object)[region - 1])
        cols["CO_REGIAO"] = pa.array(region.astype(np.int8))
        cols["NO_UF"] = text(np.array([uf.name for uf in UFS], dtype=object)[self.uf])
        cols["SG_UF"] = text(np.array([uf.sigla for uf in UFS], dtype=object)[self.uf])
        cols["CO_UF"] = pa.array(uf_code.astype(np.int8))
        cols["NO_MUNICIPIO"] = text(towns.name[self.municipality])
        cols["CO_MUNICIPIO"] = pa.array(towns.code[self.municipality])
        for level, code_name, name_name in (
            ("interm", "CO_REGIAO_GEOG_INTERM", "NO_REGIAO_GEOG_INTERM"),
            ("imed", "CO_REGIAO_GEOG_IMED", "NO_REGIAO_GEOG_IMED"),
            ("meso", "CO_MESORREGIAO", "NO_MESORREGIAO"),
            ("micro", "CO_MICRORREGIAO", "NO_MICRORREGIAO"),
        ):
            codes, names = towns.groups[level]
            cols[code_name] = pa.array(codes[self.municipality])
            cols[name_name] = text(names[self.municipality])
        cols["CO_DISTRITO"] = pa.array(towns.code[self.municipality].astype(np.int64) * 100 + 5)
        cols["NO_ENTIDADE"] = text(self.school["name"])
        cols["CO_ENTIDADE"] = pa.array(self.code)
        cols["TP_DEPENDENCIA"] = pa.array(self.dependency)
        cols["TP_LOCALIZACAO"] = pa.array(self.location)
        cols["TP_SITUACAO_FUNCIONAMENTO"] = pa.array(self.status)
        private = self.dependency == PRIVATE
        u = _hash_uniform(
            self.code, np.array([_salt(k, self.seed) for k in ("cat", "cep", "tel", "street", "num", "cnpj", "dif")])
        )
        category = np.searchsorted(np.cumsum([0.78, 0.05, 0.07, 0.10]), u[:, 0] * 0.9999) + 1
        self._put("TP_CATEGORIA_ESCOLA_PRIVADA", category, pa.int8(), mask=~private)
        rural = self.location == RURAL
        difference = np.where(rural & (u[:, 6] < 0.07), np.searchsorted([0.45, 0.75], u[:, 6] / 0.07) + 1, 0)
        self._put("TP_LOCALIZACAO_DIFERENCIADA", difference, pa.int8(), mask=never)
        self.indigenous = difference == 2
        street = np.array(STREETS, dtype=object)[(u[:, 3] * len(STREETS)).astype(int)]
        patron = np.array(PATRONS, dtype=object)[(u[:, 3] * 997 % len(PATRONS)).astype(int)]
        cols["DS_ENDERECO"] = text(street + " " + patron)
        number = (u[:, 4] * 3000).astype(int)
        cols["NU_ENDERECO"] = text(np.where((number % 9 == 0) | rural, "SN", number.astype(str)).astype(object))
        complement = np.array(COMPLEMENTS, dtype=object)[number % len(COMPLEMENTS)]
        cols["DS_COMPLEMENTO"] = pa.array(complement, type=pa.string(), mask=u[:, 4] * 7 % 1 > 0.15)
        bairros = np.where(
            rural,
            np.array(RURAL_BAIRROS, dtype=object)[number % len(RURAL_BAIRROS)],
            np.array(URBAN_BAIRROS, dtype=object)[number % len(URBAN_BAIRROS)],
        )
        cols["NO_BAIRRO"] = text(bairros)
        cep_prefix = np.array([uf.cep_prefix for uf in UFS])[self.uf]
        cols["CO_CEP"] = pa.array(cep_prefix * 1_000_000 + (u[:, 1] * 1_000_000).astype(np.int64))
        cols["NU_DDD"] = pa.array(np.array([uf.ddd for uf in UFS])[self.uf].astype(np.int16), mask=u[:, 2] < 0.15)
        phone = np.where(u[:, 2] > 0.6, 900_000_000, 30_000_000) + (u[:, 2] * 9_999_999).astype(np.int64)
        cols["NU_TELEFONE"] = pa.array(phone, mask=u[:, 2] < 0.15)
        regional = np.char.zfill((self.municipality % 40 + 1).astype(str), 5).astype(object)
        cols["CO_ORGAO_REGIONAL"] = pa.array(regional, type=pa.string(), mask=self.dependency != STATE)
        cnpj = 10_000_000_000_000 + (u[:, 5] * 89_999_999_999_999).astype(np.int64)
        cols["NU_CNPJ_ESCOLA_PRIVADA"] = pa.array(cnpj, mask=~private | (u[:, 5] < 0.2))
        cols["NU_CNPJ_MANTENEDORA"] = pa.array(cnpj + 1_000, mask=~private | (u[:, 5] > 0.7))
        start_day = 1 + (self.code % 7 + self.uf * 3 + self.year) % 14
        end_day = 10 + (self.code % 5 + self.uf * 2 + self.year) % 12
        yy = f"{self.year % 100:02d}"
        days = np.array([f"{d:02d}" for d in range(32)], dtype=object)
        self._put_text("DT_ANO_LETIVO_INICIO", days[start_day] + f"FEB{yy}:00:00:00")
        self._put_text("DT_ANO_LETIVO_TERMINO", days[end_day] + f"DEC{yy}:00:00:00")
        self._put("IN_EDUCACAO_INDIGENA", self.indigenous.astype(np.int8), pa.int8())
        self._put("TP_INDIGENA_LINGUA", rng.integers(1, 4, n), pa.int8(), mask=self.inactive | ~self.indigenous)
        self._put("CO_LINGUA_INDIGENA_1", rng.integers(100, 999, n), mask=self.inactive | ~self.indigenous)
        partnership = (u[:, 0] > 0.88).astype(np.int8)
        self._put("IN_PODER_PUBLICO_PARCERIA", partnership, pa.int8(), mask=self.inactive | ~private)
        kinds = 1 + (u[:, 0] * 1000).astype(int) % 3
        self._put("TP_PODER_PUBLICO_PARCERIA", kinds, pa.int8(), mask=self.inactive | ~private | (partnership == 0))
        self.partnership = private & (partnership == 1)

    def _put_text(self, name: str, values: np.ndarray) -> None:
        self.columns[name] = pa.array(values, type=pa.string(), mask=self.inactive)

    def _generic(self, name: str) -> pa.Array:
        """Columns the story does not model: stable per school, NULL for schools not in activity."""
        u = _hash_uniform(self.code, np.array([_salt(name, self.seed)]))[:, 0]
        prefix = name.split("_", 1)[0]
        mask = self.inactive.copy()
        if name.startswith(("IN_MANT_", "NU_CNPJ")):
            mask |= self.dependency != PRIVATE
        elif name.startswith("IN_FORMA_CONT_"):
            mask |= ~self.partnership
        elif name.startswith("IN_VINCULO_"):
            mask |= self.dependency == PRIVATE
        if prefix == "IN":
            p = 0.1 + 0.8 * (_salt(name, 0) % 1000) / 1000
            better = np.where(self.dependency == PRIVATE, 0.15, 0.0) - np.where(self.location == RURAL, 0.2, 0.0)
            improving = (
                0.015 * (self.year - 2011)
                if any(k in name for k in ("INTERNET", "BANDA", "COMP", "EQUIP", "ACESS"))
                else 0
            )
            if name.endswith(("_INEXISTENTE", "_NENHUM", "_NENHUMA")):
                p, better, improving = 0.05, -better, 0
            return pa.array((u < p + better + improving).astype(np.int8), mask=mask)
        if prefix == "QT":
            companion = "IN_" + name[3:]
            scale = 0.5 + 3.0 * (_salt(name, 1) % 1000) / 1000
            counts = self.rng.poisson(scale * (1 + self.bas / 300.0))
            if companion in header_2023() or companion in self.columns:
                counts = np.asarray(self.column(companion).fill_null(0)) * (1 + counts)
            return pa.array(counts.astype(np.int32), mask=mask)
        if prefix == "TP":
            companion = {
                "TP_OCUPACAO_PREDIO_ESCOLAR": "IN_LOCAL_FUNC_PREDIO_ESCOLAR",
                "TP_OCUPACAO_GALPAO": "IN_LOCAL_FUNC_GALPAO",
            }.get(name)
            if companion:
                mask |= np.asarray(self.column(companion).fill_null(0)) == 0
            return pa.array((u * 3).astype(np.int8) + (0 if name.endswith(("REDE_LOCAL", "AEE")) else 1), mask=mask)
        return pa.nulls(self.n, pa.int32())  # codes of things that rarely exist (CO_IES_OFERTANTE, ...)


def _union(a: np.ndarray, b: np.ndarray, overlap: float) -> np.ndarray:
    """Distinct teachers of two stages: the larger staff plus part of the smaller (some teach both)."""
    return np.maximum(a, b) + np.round((1 - overlap) * np.minimum(a, b)).astype(np.int64)


def _supplement_csv(snapshot: YearSnapshot, seed: int) -> bytes:
    """The technical courses supplement: enrollments per school and course."""
    s = snapshot.schools
    rng = np.random.default_rng([seed, snapshot.year, 99])
    technical = (s.status == ACTIVE) & (
        (s.levels[:, LEVEL_OF[PROF]] > 0) | ((s.ct_share > 0) & (s.grades[:, 9:].sum(1) > 0))
    )
    rows = np.flatnonzero(technical)
    course = rng.integers(0, len(COURSES), len(rows))
    students = s.levels[rows, LEVEL_OF[PROF]] + np.round(s.grades[rows, 9:].sum(1) * s.ct_share[rows]).astype(int)
    table = pa.table(
        {
            "NU_ANO_CENSO": pa.array(np.full(len(rows), snapshot.year, dtype=np.int16)),
            "CO_ENTIDADE": pa.array(s.code[rows]),
            "CO_CURSO_EDUC_PROFISSIONAL": pa.array(np.array([c[0] for c in COURSES])[course] + 10_000),
            "NO_CURSO_EDUC_PROFISSIONAL": pa.array(
                np.array([c[1] for c in COURSES], dtype=object)[course], pa.string()
            ),
            "NO_AREA_CURSO_PROFISSIONAL": pa.array(
                np.array([c[2] for c in COURSES], dtype=object)[course], pa.string()
            ),
            "QT_MAT_CURSO_TEC": pa.array(students.astype(np.int32)),
        }
    )
    return _to_csv(table, include_header=True)


def _write_tables(
    archive: zipfile.ZipFile, snapshot: YearSnapshot, root: str, seed: int, compresslevel: int, digests: dict[str, str]
) -> tuple[int, int]:
    """INEP's layout from 2025: a school table without enrollment counts, and the counts in other tables."""
    year = snapshot.year
    dropped_flags = {"IN_REGULAR", "IN_ESCOLARIZACAO", "IN_ESP_CC", "IN_EJA_FUND", "IN_EJA_MED", "IN_PROF_TEC"}
    school_columns = tuple(
        (name, current)
        for name, current in year_columns(year)
        if not name.startswith(("QT_MAT_", "QT_DOC_", "QT_TUR_")) and name not in dropped_flags
    )
    total = 0
    name = f"Tabela_Escola_{year}.csv"
    size, digests[name] = _write_member(
        archive, f"{root}/dados/{name}", _csv_chunks(snapshot, school_columns, seed), compresslevel
    )
    total += size
    for table, prefix in (("Matricula", "QT_MAT_"), ("Turma", "QT_TUR_"), ("Docente", "QT_DOC_")):
        name = f"Tabela_{table}_{year}.csv"
        chunks = _long_counts(snapshot, prefix, seed)
        size, digests[name] = _write_member(archive, f"{root}/dados/{name}", chunks, compresslevel)
        total += size
    active = snapshot.schools.status == ACTIVE
    gestor = pa.table(
        {
            "NU_ANO_CENSO": pa.array(np.full(active.sum(), year, dtype=np.int16)),
            "CO_ENTIDADE": pa.array(snapshot.schools.code[active]),
        }
    )
    for name, data in (
        (f"Tabela_Gestor_{year}.csv", _to_csv(gestor, include_header=True)),
        (f"Tabela_Curso_Tecnico_{year}.csv", _supplement_csv(snapshot, seed)),
    ):
        size, digests[name] = _write_member(archive, f"{root}/dados/{name}", [data], compresslevel)
        total += size
    return total, int(active.sum())


def _long_counts(snapshot: YearSnapshot, prefix: str, seed: int) -> Iterator[bytes]:
    """One row per school and stage with its count (a stand-in for the 2025 tables' own columns)."""
    n = snapshot.rows
    for lo in range(0, max(n, 1), BLOCK_ROWS):
        hi = min(lo + BLOCK_ROWS, n)
        block = _Block(snapshot, lo, hi, np.random.default_rng([seed, snapshot.year, lo]), seed)
        active = ~block.inactive
        parts = []
        for stage in OFFERS:
            counts = np.asarray(block.column(f"{prefix}{stage}").fill_null(0))
            keep = active & (counts > 0)
            parts.append(pa.table({
                "NU_ANO_CENSO": pa.array(np.full(keep.sum(), snapshot.year, dtype=np.int16)),
                "CO_ENTIDADE": pa.array(block.code[keep]),
                "TP_ETAPA": pa.array(np.full(keep.sum(), stage, dtype=object), pa.string()),
                "QT": pa.array(counts[keep].astype(np.int32)),
            }))  # fmt: skip
        yield _to_csv(pa.concat_tables(parts), include_header=lo == 0)


def _annexes(year: int) -> dict[str, bytes]:
    """The dictionary and questionnaires beside the data (placeholders of the right names and kinds)."""
    empty_xlsx = b"PK\x05\x06" + b"\x00" * 18
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return {
        f"Anexos/ANEXO I - Dicionário de Dados/dicionário_dados_educação_básica_{year}.xlsx": empty_xlsx,
        "Anexos/ANEXO II - Questionários/questionário_escola.pdf": pdf,
        "Anexos/ANEXO III - Tabelas auxiliares/tabela_de_cursos_técnicos.pdf": pdf,
        "leia-me/leia_me.pdf": pdf,
    }
