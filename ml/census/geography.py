"""Brazil's regions and 27 federative units (UFs) as INEP codes them, with the sizes the generator follows."""

from __future__ import annotations

from dataclasses import dataclass

REGIONS: dict[int, str] = {1: "Norte", 2: "Nordeste", 3: "Sudeste", 4: "Sul", 5: "Centro-Oeste"}


@dataclass(frozen=True)
class UF:
    code: int  # CO_UF (IBGE)
    sigla: str  # SG_UF
    name: str  # NO_UF
    region: int  # CO_REGIAO
    capital: str
    municipalities: int  # IBGE count
    schools: int  # active schools in the 2020s, rounded: the generator's relative sizes
    ddd: int  # the capital's telephone area code
    cep_prefix: int  # first two digits of the capital's postal codes


UFS: tuple[UF, ...] = (
    UF(11, "RO", "Rondônia", 1, "Porto Velho", 52, 1_200, 69, 76),
    UF(12, "AC", "Acre", 1, "Rio Branco", 22, 1_400, 68, 69),
    UF(13, "AM", "Amazonas", 1, "Manaus", 62, 5_000, 92, 69),
    UF(14, "RR", "Roraima", 1, "Boa Vista", 15, 800, 95, 69),
    UF(15, "PA", "Pará", 1, "Belém", 144, 10_500, 91, 66),
    UF(16, "AP", "Amapá", 1, "Macapá", 16, 800, 96, 68),
    UF(17, "TO", "Tocantins", 1, "Palmas", 139, 1_500, 63, 77),
    UF(21, "MA", "Maranhão", 2, "São Luís", 217, 11_000, 98, 65),
    UF(22, "PI", "Piauí", 2, "Teresina", 224, 4_500, 86, 64),
    UF(23, "CE", "Ceará", 2, "Fortaleza", 184, 7_500, 85, 60),
    UF(24, "RN", "Rio Grande do Norte", 2, "Natal", 167, 3_000, 84, 59),
    UF(25, "PB", "Paraíba", 2, "João Pessoa", 223, 4_500, 83, 58),
    UF(26, "PE", "Pernambuco", 2, "Recife", 185, 8_500, 81, 50),
    UF(27, "AL", "Alagoas", 2, "Maceió", 102, 2_700, 82, 57),
    UF(28, "SE", "Sergipe", 2, "Aracaju", 75, 1_800, 79, 49),
    UF(29, "BA", "Bahia", 2, "Salvador", 417, 15_000, 71, 40),
    UF(31, "MG", "Minas Gerais", 3, "Belo Horizonte", 853, 16_000, 31, 30),
    UF(32, "ES", "Espírito Santo", 3, "Vitória", 78, 2_900, 27, 29),
    UF(33, "RJ", "Rio de Janeiro", 3, "Rio de Janeiro", 92, 10_500, 21, 20),
    UF(35, "SP", "São Paulo", 3, "São Paulo", 645, 30_000, 11, 1),
    UF(41, "PR", "Paraná", 4, "Curitiba", 399, 9_500, 41, 80),
    UF(42, "SC", "Santa Catarina", 4, "Florianópolis", 295, 6_000, 48, 88),
    UF(43, "RS", "Rio Grande do Sul", 4, "Porto Alegre", 497, 9_500, 51, 90),
    UF(50, "MS", "Mato Grosso do Sul", 5, "Campo Grande", 79, 1_800, 67, 79),
    UF(51, "MT", "Mato Grosso", 5, "Cuiabá", 141, 2_400, 65, 78),
    UF(52, "GO", "Goiás", 5, "Goiânia", 246, 4_500, 62, 74),
    UF(53, "DF", "Distrito Federal", 5, "Brasília", 1, 1_200, 61, 70),
)

UF_BY_CODE: dict[int, UF] = {uf.code: uf for uf in UFS}
UF_BY_SIGLA: dict[str, UF] = {uf.sigla: uf for uf in UFS}
