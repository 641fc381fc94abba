"""INEP's school-level census file (`microdados_ed_basica_YYYY.csv`) column by column, across years.

Two things live here:

- `header(year)`: the full header a year's file has, for the generator. 2023 is INEP's real header (408 columns,
  `headers/microdados_ed_basica_2023.txt`). Other years are modelled on what is known of the series: ~370
  columns in 2011-2021, 408 in 2023, 426 in 2024, and renames such as `IN_CONVENIADA_PP` becoming
  `IN_PODER_PUBLICO_PARCERIA`; which exact columns came and went, and the names of the 18 columns 2024 adds, are
  stand-ins. The reader never relies on these lists: it resolves what it needs from each file's own header.
- `PANEL_COLUMNS`: the columns Aula reads from every year into its panel, with explicit types, the older names
  each had, and whether a year can load without it. Names are INEP's current spelling; the Parquet panel keeps
  them so a planner can look any of them up in INEP's dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa

HEADERS_DIR = Path(__file__).resolve().parent / "headers"
FIRST_MULTI_TABLE_YEAR = 2025  # INEP splits the census into six tables from this year on

# Current name -> the name it had up to 2021.
RENAMED_IN_2022: dict[str, str] = {
    "IN_PODER_PUBLICO_PARCERIA": "IN_CONVENIADA_PP",
    "TP_PODER_PUBLICO_PARCERIA": "TP_CONVENIO_PODER_PUBLICO",
}
# Columns a 2011-2021 file does not have.
ADDED_IN_2022: tuple[str, ...] = (
    *(
        f"IN_FORMA_CONT_{suffix}"
        for suffix in (
            "TERMO_COLABORA",
            "TERMO_FOMENTO",
            "ACORDO_COOP",
            "PRESTACAO_SERV",
            "COOP_TEC_FIN",
            "CONSORCIO_PUB",
            "MU_TERMO_COLAB",
            "MU_TERMO_FOMENTO",
            "MU_ACORDO_COOP",
            "MU_PREST_SERV",
            "MU_COOP_TEC_FIN",
            "MU_CONSORCIO_PUB",
            "ES_TERMO_COLAB",
            "ES_TERMO_FOMENTO",
            "ES_ACORDO_COOP",
            "ES_PREST_SERV",
            "ES_COOP_TEC_FIN",
            "ES_CONSORCIO_PUB",
        )
    ),
    "IN_VINCULO_SEGURANCA_PUBLICA",
    "IN_VINCULO_SECRETARIA_SAUDE",
    "IN_VINCULO_OUTRO_ORGAO",
    "IN_LOCAL_FUNC_SOCIOEDUCATIVO",
    "IN_LOCAL_FUNC_UNID_PRISIONAL",
    "IN_TRATAMENTO_LIXO_SEPARACAO",
    "IN_TRATAMENTO_LIXO_REUTILIZA",
    "IN_TRATAMENTO_LIXO_RECICLAGEM",
    "IN_TRATAMENTO_LIXO_INEXISTENTE",
    "IN_ACESSIBILIDADE_SINAL_SONORO",
    "IN_ACESSIBILIDADE_SINAL_TATIL",
    "IN_ACESSIBILIDADE_SINAL_VISUAL",
    "IN_ACES_INTERNET_DISP_PESSOAIS",
    "IN_ESPACO_EQUIPAMENTO",
)
# Columns a 2011-2022 file does not have.
ADDED_IN_2023: tuple[str, ...] = (
    "QT_MAT_ZR_URB",
    "QT_MAT_ZR_RUR",
    "QT_MAT_ZR_NA",
    "QT_SALAS_UTILIZA_CLIMATIZADAS",
    "QT_SALAS_UTILIZADAS_ACESSIVEIS",
    "IN_MATERIAL_PED_BIL_SURDOS",
    "IN_PROF_TRAD_LIBRAS",
    "QT_PROF_TRAD_LIBRAS",
)
# Columns only 2011-2021 files have, each placed after the current column named here.
DROPPED_IN_2022: dict[str, str] = {"IN_AGUA_FILTRADA": "IN_AGUA_POTAVEL", "IN_BANHEIRO_DENTRO_PREDIO": "IN_BANHEIRO"}
# The 18 columns 2024 adds (stand-in names), placed after the staff block.
ADDED_IN_2024_AFTER = "QT_PROF_TRAD_LIBRAS"
ADDED_IN_2024: tuple[str, ...] = (
    "IN_PROF_INTERPRETE_LIBRAS",
    "QT_PROF_INTERPRETE_LIBRAS",
    "IN_PROF_AUX_EDUC_ESPECIAL",
    "QT_PROF_AUX_EDUC_ESPECIAL",
    "IN_ENERGIA_SOLAR",
    "IN_AGUA_CAPTACAO_CHUVA",
    "IN_BRINQUEDOTECA",
    "IN_LABORATORIO_ROBOTICA",
    "IN_LABORATORIO_MAKER",
    "IN_INTERNET_VELOCIDADE_ADEQ",
    "QT_COMP_PORTATIL_PROFESSOR",
    "QT_TABLET_PROFESSOR",
    "IN_PROTOCOLO_VIOLENCIA",
    "IN_PLANO_EMERGENCIA",
    "IN_EDUCACAO_AMBIENTAL",
    "IN_GESTAO_DEMOCRATICA",
    "IN_ELEICAO_DIRETOR",
    "TP_ELEICAO_DIRETOR",
)


@cache
def header_2023() -> tuple[str, ...]:
    """INEP's real 2023 header, in file order."""
    return tuple((HEADERS_DIR / "microdados_ed_basica_2023.txt").read_text(encoding="ascii").split())


@cache
def year_columns(year: int) -> tuple[tuple[str, str], ...]:
    """(name in that year's file, current name of what it holds) for every column of `year`'s header.

    For 2025 on this is the header of the single-table file INEP no longer publishes; the generator's
    multi-table layout starts from it.
    """
    current = header_2023()
    if year <= 2021:
        gone = set(ADDED_IN_2022) | set(ADDED_IN_2023)
        after = {anchor: dropped for dropped, anchor in DROPPED_IN_2022.items()}
        out: list[tuple[str, str]] = []
        for name in current:
            if name in gone:
                continue
            out.append((RENAMED_IN_2022.get(name, name), name))
            if name in after:
                out.append((after[name], after[name]))
        return tuple(out)
    if year == 2022:
        return tuple((name, name) for name in current if name not in ADDED_IN_2023)
    if year == 2023:
        return tuple((name, name) for name in current)
    out = []
    for name in current:
        out.append((name, name))
        if name == ADDED_IN_2024_AFTER:
            out.extend((added, added) for added in ADDED_IN_2024)
    return tuple(out)


def header(year: int) -> tuple[str, ...]:
    """The column names of `year`'s file, in order."""
    return tuple(name for name, _ in year_columns(year))


# --- what Aula reads -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelColumn:
    name: str  # INEP's current name, kept in the panel
    type: pa.DataType
    required: bool = False  # a year without it is refused; otherwise it is NULL for that year
    older_names: tuple[str, ...] = ()

    @property
    def is_text(self) -> bool:
        return pa.types.is_string(self.type)


@dataclass(frozen=True)
class Grade:
    code: str  # e.g. FUND_AI_1, MED_2
    columns: tuple[str, ...]  # the QT_MAT_* columns whose sum is the grade's enrollment


@dataclass(frozen=True)
class Stage:
    code: str
    label: str
    enrollment: str  # QT_MAT_*
    teachers: str  # QT_DOC_*
    classes: str  # QT_TUR_*
    flag: str | None  # IN_*: the school offers the stage
    grades: tuple[Grade, ...] = ()


def _grades(stage: str, numbers: range) -> tuple[Grade, ...]:
    return tuple(Grade(f"{stage}_{n}", (f"QT_MAT_{stage}_{n}",)) for n in numbers)


# Secondary school grades are split by track: regular (PROP), integrated technical (CT) and teacher training (NM).
MED_GRADES = tuple(
    Grade(f"MED_{n}", tuple(f"QT_MAT_MED_{track}_{n}" for track in ("PROP", "CT", "NM"))) for n in (1, 2, 3)
)

STAGES: tuple[Stage, ...] = (
    Stage("INF_CRE", "Creche (0-3)", "QT_MAT_INF_CRE", "QT_DOC_INF_CRE", "QT_TUR_INF_CRE", "IN_INF_CRE"),
    Stage("INF_PRE", "Pré-escola (4-5)", "QT_MAT_INF_PRE", "QT_DOC_INF_PRE", "QT_TUR_INF_PRE", "IN_INF_PRE"),
    Stage(
        "FUND_AI",
        "Fundamental, anos iniciais (1st-5th)",
        "QT_MAT_FUND_AI",
        "QT_DOC_FUND_AI",
        "QT_TUR_FUND_AI",
        "IN_FUND_AI",
        _grades("FUND_AI", range(1, 6)),
    ),
    Stage(
        "FUND_AF",
        "Fundamental, anos finais (6th-9th)",
        "QT_MAT_FUND_AF",
        "QT_DOC_FUND_AF",
        "QT_TUR_FUND_AF",
        "IN_FUND_AF",
        _grades("FUND_AF", range(6, 10)),
    ),
    Stage("MED", "Ensino médio", "QT_MAT_MED", "QT_DOC_MED", "QT_TUR_MED", "IN_MED", MED_GRADES),
    Stage(
        "PROF_TEC",
        "Educação profissional técnica",
        "QT_MAT_PROF_TEC",
        "QT_DOC_PROF_TEC",
        "QT_TUR_PROF_TEC",
        "IN_PROF_TEC",
    ),
    Stage("EJA_FUND", "EJA, fundamental", "QT_MAT_EJA_FUND", "QT_DOC_EJA_FUND", "QT_TUR_EJA_FUND", "IN_EJA_FUND"),
    Stage("EJA_MED", "EJA, médio", "QT_MAT_EJA_MED", "QT_DOC_EJA_MED", "QT_TUR_EJA_MED", "IN_EJA_MED"),
    Stage(
        "ESP_CE",
        "Educação especial, classes exclusivas",
        "QT_MAT_ESP_CE",
        "QT_DOC_ESP_CE",
        "QT_TUR_ESP_CE",
        "IN_ESP_CE",
    ),
)
# The whole school, beside the stages in the aggregates.
TOTAL = Stage("BAS", "Educação básica (total)", "QT_MAT_BAS", "QT_DOC_BAS", "QT_TUR_BAS", None)
STAGE_BY_CODE: dict[str, Stage] = {stage.code: stage for stage in (*STAGES, TOTAL)}

_INT8, _INT16, _INT32 = pa.int8(), pa.int16(), pa.int32()

IDENTITY = (
    PanelColumn("NU_ANO_CENSO", _INT16, required=True),
    PanelColumn("CO_ENTIDADE", _INT32, required=True),
    PanelColumn("NO_ENTIDADE", pa.string()),
    PanelColumn("CO_REGIAO", _INT8),
    PanelColumn("CO_UF", _INT8, required=True),
    PanelColumn("SG_UF", pa.string()),
    PanelColumn("CO_MUNICIPIO", _INT32, required=True),
    PanelColumn("NO_MUNICIPIO", pa.string()),
    PanelColumn("TP_DEPENDENCIA", _INT8, required=True),
    PanelColumn("TP_CATEGORIA_ESCOLA_PRIVADA", _INT8),
    PanelColumn("TP_LOCALIZACAO", _INT8, required=True),
    PanelColumn("TP_LOCALIZACAO_DIFERENCIADA", _INT8),
    PanelColumn("TP_SITUACAO_FUNCIONAMENTO", _INT8, required=True),
    PanelColumn("IN_PODER_PUBLICO_PARCERIA", _INT8, older_names=("IN_CONVENIADA_PP",)),
    PanelColumn("QT_SALAS_UTILIZADAS", _INT32),
)
STAGE_FLAGS = tuple(
    PanelColumn(name, _INT8)
    for name in (
        "IN_INF",
        "IN_INF_CRE",
        "IN_INF_PRE",
        "IN_FUND",
        "IN_FUND_AI",
        "IN_FUND_AF",
        "IN_MED",
        "IN_PROF",
        "IN_PROF_TEC",
        "IN_EJA",
        "IN_EJA_FUND",
        "IN_EJA_MED",
        "IN_ESP",
        "IN_ESP_CC",
        "IN_ESP_CE",
    )
)
_STAGE_TOTALS = {stage.enrollment for stage in STAGES} | {TOTAL.enrollment}
ENROLLMENTS = tuple(
    PanelColumn(name, _INT32, required=name in _STAGE_TOTALS)
    for name in (
        "QT_MAT_BAS",
        "QT_MAT_INF",
        "QT_MAT_INF_CRE",
        "QT_MAT_INF_PRE",
        "QT_MAT_FUND",
        "QT_MAT_FUND_AI",
        *(f"QT_MAT_FUND_AI_{n}" for n in range(1, 6)),
        "QT_MAT_FUND_AF",
        *(f"QT_MAT_FUND_AF_{n}" for n in range(6, 10)),
        "QT_MAT_MED",
        "QT_MAT_MED_PROP",
        *(f"QT_MAT_MED_PROP_{n}" for n in ("1", "2", "3", "4", "NS")),
        "QT_MAT_MED_CT",
        *(f"QT_MAT_MED_CT_{n}" for n in ("1", "2", "3", "4", "NS")),
        "QT_MAT_MED_NM",
        *(f"QT_MAT_MED_NM_{n}" for n in ("1", "2", "3", "4")),
        "QT_MAT_PROF",
        "QT_MAT_PROF_TEC",
        "QT_MAT_EJA",
        "QT_MAT_EJA_FUND",
        "QT_MAT_EJA_MED",
        "QT_MAT_ESP",
        "QT_MAT_ESP_CC",
        "QT_MAT_ESP_CE",
    )
)
_STAFF_STAGES = ("BAS", "INF", "INF_CRE", "INF_PRE", "FUND", "FUND_AI", "FUND_AF", "MED", "PROF", "PROF_TEC")
_STAFF_STAGES += ("EJA", "EJA_FUND", "EJA_MED", "ESP", "ESP_CC", "ESP_CE")
TEACHERS = tuple(PanelColumn(f"QT_DOC_{stage}", _INT32) for stage in _STAFF_STAGES)
CLASSES = tuple(PanelColumn(f"QT_TUR_{stage}", _INT32) for stage in _STAFF_STAGES)

PANEL_COLUMNS: tuple[PanelColumn, ...] = (*IDENTITY, *STAGE_FLAGS, *ENROLLMENTS, *TEACHERS, *CLASSES)
PANEL_SCHEMA = pa.schema([pa.field(column.name, column.type) for column in PANEL_COLUMNS])
COLUMN_BY_NAME: dict[str, PanelColumn] = {column.name: column for column in PANEL_COLUMNS}
