"""How the peers are configured on each data set: declarative, reviewed, fair.

**Splink** follows its own documentation for people data (the FEBRL3/FEBRL4 and 50k-synthetic
DuckDB examples): ``NameComparison`` with term-frequency adjustments for names,
``DateOfBirthComparison`` on an ISO date, exact or Damerau–Levenshtein levels for the other
fields, several blocking rules unioned (including a first/last name swap), the probability two
random records match from deterministic rules, u from random sampling (1e7 pairs, seed 0) and m
by EM over two blocking rules; clustering at match probability 0.95. On FEBRL the model is the
documentation's "detailed model" unchanged.

**recordlinkage** runs twice:

- ``rl_tutorial`` — the documented tutorial: block on the given name, compare (exact given
  name, Jaro–Winkler ≥ 0.85 surname, exact birth date, ...), call a pair a match when more than
  three comparisons agree (the tutorial's ``features.sum(axis=1) > 3``);
- ``rl_ecm`` — good blocking (several blocking and sorted-neighbourhood indexes unioned) and the
  unsupervised ECM classifier on the same binary comparisons plus a few more.

Only the columns named here are used; identifiers that give the truth away (``simulant_id``,
``household_id``, ``child_id``...) are never among them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

BlockingRule = tuple[str, ...] | str
"""Column names / SQL expressions to block on together (``block_on``), or a raw SQL rule."""

_SQL_COLUMN = re.compile(r"\b[lr]\.(\w+)")
_EXPR_COLUMN = re.compile(r"^\w+\(\s*(\w+)")


def rule_columns(rule: BlockingRule) -> list[str]:
    """Input columns a blocking rule reads (``substr(dob, 1, 4)`` reads ``dob``)."""
    if isinstance(rule, str):
        return list(dict.fromkeys(_SQL_COLUMN.findall(rule)))
    cols = []
    for expr in rule:
        match = _EXPR_COLUMN.match(expr)
        cols.append(match.group(1) if match else expr)
    return cols


@dataclass(frozen=True)
class Cmp:
    """One Splink comparison."""

    kind: Literal["name", "dob", "exact", "damerau", "jaro"]
    column: str
    tf: bool = False
    thresholds: tuple[float, ...] = ()


@dataclass(frozen=True)
class RLCompare:
    """One recordlinkage comparison (binary: exact, or string similarity ≥ threshold)."""

    kind: Literal["exact", "string"]
    column: str
    method: str = "jarowinkler"
    threshold: float = 0.85


@dataclass(frozen=True)
class RLIndex:
    """One recordlinkage index: ``block`` on columns, or ``sn`` (sorted neighbourhood)."""

    kind: Literal["block", "sn"]
    columns: tuple[str, ...]
    window: int = 9


@dataclass(frozen=True)
class PeerConfig:
    """Both peers' configuration for one family of data."""

    comparisons: tuple[Cmp, ...]
    blocking: tuple[BlockingRule, ...]
    deterministic: tuple[BlockingRule, ...]
    recall: float
    em_blocking: tuple[BlockingRule, ...]
    rl_tutorial_block: str
    rl_tutorial_compare: tuple[RLCompare, ...]
    rl_ecm_indexes: tuple[RLIndex, ...]
    rl_ecm_compare: tuple[RLCompare, ...]
    u_max_pairs: float = 1e7
    cluster_threshold: float = 0.95
    notes: tuple[str, ...] = field(default=())

    def columns(self) -> list[str]:
        """Every input column the configuration reads."""
        cols: list[str] = []
        for c in self.comparisons:
            cols.append(c.column)
        for rc in (*self.rl_tutorial_compare, *self.rl_ecm_compare):
            cols.append(rc.column)
        for ix in self.rl_ecm_indexes:
            cols.extend(ix.columns)
        cols.append(self.rl_tutorial_block)
        for rule in (*self.blocking, *self.deterministic, *self.em_blocking):
            cols.extend(rule_columns(rule))
        return list(dict.fromkeys(cols))


def _swap(a: str, b: str) -> str:
    return f"l.{a} = r.{b} and l.{b} = r.{a}"


FEBRL = PeerConfig(
    # Splink's febrl4 example, "detailed model", as documented
    comparisons=(
        Cmp("name", "given_name", tf=True),
        Cmp("name", "surname", tf=True),
        Cmp("dob", "dob"),
        Cmp("damerau", "soc_sec_id", thresholds=(1, 2)),
        Cmp("exact", "street_number", tf=True),
        Cmp("damerau", "postcode", tf=True, thresholds=(1, 2)),
    ),
    blocking=(
        ("given_name", "surname"),
        _swap("given_name", "surname"),
        ("date_of_birth",),
        ("soc_sec_id",),
        ("state", "address_1"),
        ("street_number", "address_1"),
        ("postcode",),
    ),
    deterministic=(("soc_sec_id",), ("given_name", "surname", "date_of_birth")),
    recall=0.8,
    em_blocking=(("date_of_birth",), ("postcode",)),
    rl_tutorial_block="given_name",
    rl_tutorial_compare=(
        RLCompare("exact", "given_name"),
        RLCompare("string", "surname", "jarowinkler", 0.85),
        RLCompare("exact", "date_of_birth"),
        RLCompare("exact", "suburb"),
        RLCompare("exact", "state"),
        RLCompare("string", "address_1", "levenshtein", 0.85),
    ),
    rl_ecm_indexes=(
        RLIndex("block", ("given_name",)),
        RLIndex("block", ("surname",)),
        RLIndex("block", ("date_of_birth",)),
        RLIndex("block", ("soc_sec_id",)),
        RLIndex("block", ("postcode",)),
        RLIndex("sn", ("surname",), 9),
        RLIndex("sn", ("given_name",), 9),
    ),
    rl_ecm_compare=(
        RLCompare("string", "given_name", "jarowinkler", 0.85),
        RLCompare("string", "surname", "jarowinkler", 0.85),
        RLCompare("exact", "date_of_birth"),
        RLCompare("exact", "soc_sec_id"),
        RLCompare("exact", "street_number"),
        RLCompare("string", "address_1", "levenshtein", 0.85),
        RLCompare("exact", "suburb"),
        RLCompare("exact", "postcode"),
        RLCompare("exact", "state"),
    ),
)

_PP_ADDRESS = PeerConfig(
    # census-type files: names, birth date, one address column (as Splink's pseudopeople
    # example builds it: number + street + unit), sex
    comparisons=(
        Cmp("name", "first_name", tf=True),
        Cmp("name", "last_name", tf=True),
        Cmp("dob", "dob"),
        Cmp("exact", "middle_initial"),
        Cmp("exact", "sex"),
        Cmp("damerau", "address", tf=True, thresholds=(1, 3)),
    ),
    blocking=(
        ("first_name", "last_name"),
        _swap("first_name", "last_name"),
        ("dob",),
        ("last_name", "address"),
        ("first_name", "address"),
        ("substr(first_name, 1, 2)", "substr(last_name, 1, 2)", "substr(dob, 1, 4)"),
    ),
    deterministic=(("first_name", "last_name", "dob"),),
    recall=0.7,
    em_blocking=(("first_name", "last_name"), ("dob",)),
    rl_tutorial_block="first_name",
    rl_tutorial_compare=(
        RLCompare("exact", "first_name"),
        RLCompare("string", "last_name", "jarowinkler", 0.85),
        RLCompare("exact", "dob"),
        RLCompare("exact", "zipcode"),
        RLCompare("exact", "street_number"),
        RLCompare("string", "street_name", "levenshtein", 0.85),
    ),
    rl_ecm_indexes=(
        RLIndex("block", ("first_name", "last_name")),
        RLIndex("block", ("dob",)),
        RLIndex("block", ("last_name", "zipcode")),
        RLIndex("sn", ("last_name",), 9),
        RLIndex("sn", ("first_name",), 9),
    ),
    rl_ecm_compare=(
        RLCompare("string", "first_name", "jarowinkler", 0.85),
        RLCompare("string", "last_name", "jarowinkler", 0.85),
        RLCompare("exact", "dob"),
        RLCompare("exact", "middle_initial"),
        RLCompare("string", "address", "levenshtein", 0.85),
    ),
)

_PP_SSA = PeerConfig(
    # census ↔ SSA share only names, birth date and sex (ssn is dropped from the public task)
    comparisons=(
        Cmp("name", "first_name", tf=True),
        Cmp("name", "last_name", tf=True),
        Cmp("dob", "dob"),
        Cmp("exact", "middle_initial"),
        Cmp("exact", "sex"),
    ),
    blocking=(
        ("first_name", "last_name"),
        _swap("first_name", "last_name"),
        ("dob",),
        ("last_name", "substr(first_name, 1, 1)"),
    ),
    deterministic=(("first_name", "last_name", "dob"),),
    recall=0.7,
    em_blocking=(("first_name", "last_name"), ("dob",)),
    rl_tutorial_block="first_name",
    rl_tutorial_compare=(
        RLCompare("exact", "first_name"),
        RLCompare("string", "last_name", "jarowinkler", 0.85),
        RLCompare("exact", "dob"),
        RLCompare("exact", "middle_initial"),
        RLCompare("exact", "sex"),
    ),
    rl_ecm_indexes=(
        RLIndex("block", ("first_name", "last_name")),
        RLIndex("block", ("dob",)),
        RLIndex("sn", ("last_name",), 9),
        RLIndex("sn", ("first_name",), 9),
    ),
    rl_ecm_compare=(
        RLCompare("string", "first_name", "jarowinkler", 0.85),
        RLCompare("string", "last_name", "jarowinkler", 0.85),
        RLCompare("exact", "dob"),
        RLCompare("exact", "middle_initial"),
    ),
)

_PP_TAX = replace(
    # tax forms: names, middle initial and a mailing address (read into the census's address
    # columns by `prep`), no birth date or sex; the recordlinkage setups as the census's (they
    # do not run on these held-out tasks)
    _PP_ADDRESS,
    comparisons=(
        Cmp("name", "first_name", tf=True),
        Cmp("name", "last_name", tf=True),
        Cmp("exact", "middle_initial"),
        Cmp("damerau", "address", tf=True, thresholds=(1, 3)),
        Cmp("exact", "zipcode"),
    ),
    blocking=(
        ("first_name", "last_name"),
        _swap("first_name", "last_name"),
        ("last_name", "address"),
        ("first_name", "address"),
        ("substr(first_name, 1, 2)", "substr(last_name, 1, 2)", "zipcode"),
    ),
    deterministic=(("first_name", "last_name", "address"),),
    em_blocking=(("first_name", "last_name"), ("address",)),
)

SYNTHETIC = PeerConfig(
    # canonical migrant-student records: two surnames, parents, birth place
    comparisons=(
        Cmp("name", "first_name", tf=True),
        Cmp("name", "last_name_1", tf=True),
        Cmp("name", "last_name_2", tf=True),
        Cmp("dob", "dob"),
        Cmp("exact", "sex"),
        Cmp("name", "middle_name", tf=True),
        Cmp("exact", "birth_city", tf=True),
        Cmp("exact", "birth_state", tf=True),
        Cmp("name", "parent1_first_name", tf=True),
        Cmp("name", "parent2_first_name", tf=True),
    ),
    # names are Zipf-like (many "José Luis Hernández"): name rules carry the birth year or a
    # second surname so that blocks stay small (~2M pairs at 300k records, growing linearly)
    blocking=(
        ("first_name", "last_name_1", "substr(dob, 1, 4)"),
        ("first_name", "last_name_1", "last_name_2"),
        ("first_name", "last_name_2", "substr(dob, 1, 4)"),
        ("first_name", "dob"),
        ("last_name_1", "dob"),
        ("last_name_2", "dob"),
        _swap("last_name_1", "last_name_2") + " and substr(l.dob, 1, 4) = substr(r.dob, 1, 4)",
        ("parent1_first_name", "parent2_first_name", "substr(dob, 1, 4)"),
    ),
    deterministic=(("first_name", "last_name_1", "dob"),),
    recall=0.7,
    em_blocking=(("first_name", "last_name_1", "last_name_2"), ("dob", "birth_state")),
    rl_tutorial_block="first_name",
    rl_tutorial_compare=(
        RLCompare("exact", "first_name"),
        RLCompare("string", "last_name_1", "jarowinkler", 0.85),
        RLCompare("exact", "dob"),
        RLCompare("string", "last_name_2", "jarowinkler", 0.85),
        RLCompare("exact", "birth_state"),
        RLCompare("exact", "sex"),
    ),
    # ECM needs many non-matches among the candidates: with tight blocks (a fifth of the
    # candidates matching) its "match" class absorbs siblings; blocking on the birth date alone
    # keeps matches near 1% and ECM near its best
    rl_ecm_indexes=(
        RLIndex("block", ("first_name", "last_name_1")),
        RLIndex("block", ("dob",)),
        RLIndex("block", ("last_name_1", "last_name_2")),
        RLIndex("sn", ("last_name_1",), 9),
    ),
    # the child's own fields only: with the family's (parents, birth town) ECM learns
    # "same family" as its match class and links whole sibling groups
    rl_ecm_compare=(
        RLCompare("string", "first_name", "jarowinkler", 0.85),
        RLCompare("string", "last_name_1", "jarowinkler", 0.85),
        RLCompare("string", "last_name_2", "jarowinkler", 0.85),
        RLCompare("exact", "dob"),
        RLCompare("exact", "sex"),
        RLCompare("exact", "birth_state"),
    ),
)

PEER_CONFIGS: dict[str, PeerConfig] = {
    "febrl": FEBRL,
    "pp_census_wic": _PP_ADDRESS,
    "pp_census_all": _PP_ADDRESS,
    "pp_census_ssa": _PP_SSA,
    "pp_census_acs": _PP_ADDRESS,
    "pp_census_cps": _PP_ADDRESS,
    "pp_census_w2": _PP_TAX,
    "pp_census_1040": _PP_TAX,
    "synthetic": SYNTHETIC,
}
