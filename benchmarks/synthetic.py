"""Deterministic, seeded generator of hard synthetic migrant-student records with ground truth.

The generator simulates Hispanic-heavy migrant families and the records that state systems
submit about their children, then corrupts every record independently the way clerks, systems
and exports do. It keeps its own name lists (`benchmarks.synthetic_names`); it never reads the
matcher's (`features/`), so the benchmark does not grade the matcher against its own knowledge.

Use `generate(n_records, seed)` for (records, truth) frames, `write(out_dir, n_records, seed,
fmt)` for files, or `python -m benchmarks.synthetic --records N --seed S --out DIR
[--format csv|parquet]`. Records have exactly the canonical columns (`COLUMNS`), all strings,
missing as null; truth has record_id, child_id, family_id and birth_group_id (twins and
triplets of one birth share it; null for single births). The same seed gives the same data.

Population (who exists)
-----------------------
| parameter | value | meaning |
|---|---|---|
| `twins` | 0.022 | share of births that are twins |
| `triplets` | 0.003 | share of births that are triplets |
| `twin_confusable_names` | 0.6 | of Hispanic multiple births: names from a confusable set |
| `twins_same_sex` | 0.6 | of other multiple births: a sibling has the first one's sex |
| `paternal_clan` | 0.7 | the father (not the mother) is the clan's son |
| `single_mother` | 0.12 | no father: children carry both of the mother's surnames |
| `named_after_parent` | 0.1 | of eldest sons and daughters: a parent's first name |
| `named_after_grandparent` | 0.08 | of eldest sons and daughters: a grandparent's first name |
| `junior` | 0.35 | of sons named after their father: suffix Jr |
| `present` | 0.9 | a child of age 3-21 is enrolled at a family stop |
| `start_at_home` | 0.75 | the family's first stop is its home state |
| `born_at_family_town` | 0.8 | of US-born children: born in the family's US town |
| `born_at_clan_town` | 0.9 | of families from abroad: from the clan's home town |
| `sibling_same_enrollment_day` | 0.7 | enrolled the day the family arrived (else 1-14 days later) |

* Clans of 1-4 families share grandparents: their two surnames, their first names (children
  are named after them) and a home town; cousins travel the same migrant stream.
* A family has 1-7 births, 1-4 years apart; a birth is twins with probability
  `P_TWINS` and triplets with `P_TRIPLETS`; `P_TWIN_CONFUSABLE_NAMES` of multiple births get
  confusable names (Juan Carlos/Juan Pablo, Ángel/Ángela, María José/María Fernanda, ...).
* Hispanic children carry father's first surname then mother's first surname; with a single
  mother (`P_SINGLE_MOTHER`) both of hers. Names are drawn Zipf-like by rank, so many distinct
  children are "José Luis Hernández" or "María Guadalupe García", born close together.
* Families follow streams from a home state (TX→MI/OH/IN/WI/KS/NE/IA, CA→OR/WA/ID,
  FL→NC/GA/NY/PA, AZ→CA/WA) for 1-4 stops between 2019-08-01 and 2025-06-30; each stop is an
  enrollment in that state, often back home and sometimes twice in one state. A child aged
  3-21 at the stop is enrolled with probability `P_PRESENT`, giving about two records a child.

Per-record errors
-----------------
Every state's record is corrupted independently. Rates are probabilities per record (per
field where stated) and are constants of this module; "of X" means among records where X
applies. A record may carry several errors.

| kind | rate | what happens |
|---|---|---|
| `first_name_typo` | 0.025 | insert, delete, substitute or transpose one letter |
| `middle_name_typo` | 0.02 | the same, in middle_name |
| `last_name_typo` | 0.025 | the same, per surname field |
| `parent_name_typo` | 0.02 | the same, per parent name field |
| `birth_city_typo` | 0.04 | the same, in birth_city |
| `first_name_sound` | 0.025 | Spanish-sound slip: b/v, s/z/c, y/ll, silent h, g/j, x/j, rr/r, i/y |
| `last_name_sound` | 0.025 | the same, per surname |
| `accents_dropped` | 0.8 | of records from systems keeping accents (ASCII ones always drop) |
| `mojibake` | 0.03 | of records with accents left: UTF-8 read as Windows-1252 (JosÃ©) |
| `case_noise` | 0.02 | names all lower or upper case; title case in an upper-case system |
| `punctuation_noise` | 0.02 | hyphen for space or back, apostrophe dropped, doubled space |
| `particle_varied` | 0.5 | of surnames with a particle or hyphen: Delacruz, Cruz, de la Cruz, ... |
| `compound_shortened` | 0.08 | of compound first names: one part only (María, Guadalupe) |
| `compound_abbreviated` | 0.03 | of compound first names: Ma. Guadalupe, J. Luis, José L. |
| `compound_joined` | 0.02 | of compound first names: Joseluis, Juancarlos |
| `compound_split` | 0.05 | of compound first names: second part moved to middle_name |
| `nickname` | 0.04 | of first names with a nickname: Lupe, Chuy, Pepe, Paco, Memo, Beto, ... |
| `anglicised` | 0.03 | of first names with an English form: William, Jesse, Mary, John, ... |
| `first_last_swapped` | 0.015 | first_name and last_name_1 exchanged |
| `middle_name_dropped` | 0.3 | of children with a middle name |
| `last_name_2_dropped` | 0.12 | of records with a second surname |
| `last_name_2_in_middle` | 0.04 | of records with a second surname: moved to middle_name |
| `surnames_in_last_name_1` | 0.04 | with a second surname: "Garcia Lopez" or "Garcia-Lopez" |
| `surname_order_swapped` | 0.02 | of records with a second surname: the two surnames exchanged |
| `suffix_dropped` | 0.4 | of children with a suffix (Jr) |
| `suffix_in_last_name` | 0.1 | of children with a suffix: appended to last_name_1 |
| `birth_date_day_month_swap` | 0.012 | day and month exchanged (where day <= 12) |
| `birth_date_digit_typo` | 0.015 | one digit of year, month or day changed |
| `birth_date_year_off` | 0.008 | year one off |
| `birth_date_missing` | 0.01 | null |
| `birth_date_zeros` | 0.006 | all zeros in the system's format (00000000, 0000-00-00) |
| `birth_date_placeholder` | 0.006 | 1900-01-01, or January 1 of the true year |
| `sex_missing` | 0.03 | null |
| `sex_miscoded` | 0.01 | M for F and F for M |
| `sex_unknown` | 0.01 | U |
| `multiple_birth_flag_blank` | 0.5 | of multiple births' records: flag blank (or N in N systems) |
| `birth_city_missing` | 0.25 | null |
| `birth_state_missing` | 0.3 | null |
| `birth_country_missing` | 0.12 | null; otherwise spelled Mexico/México/MX/MEX/Méx, US/USA, ... |
| `parent1_missing` | 0.1 | null parent 1 |
| `parent2_missing` | 0.12 | null parent 2 |
| `parents_swapped` | 0.08 | parent 1 and parent 2 exchanged |
| `mother_married_name` | 0.1 | of Hispanic mothers: father's surname given as hers |
| `parent_both_surnames` | 0.2 | of Hispanic parents: both surnames in the last name field |
| `parent_first_name_variant` | 0.1 | a parent's first name shortened or replaced by a nickname |
| `local_id_missing` | 0.08 | null local_student_id |
| `local_id_new_on_return` | 0.3 | of re-enrollments in the same state: a new local_student_id |
| `qualifying_arrival_date_missing` | 0.05 | null |
| `grade_missing` | 0.03 | null |
| `chaotic_record` | 0.008 | almost every field wrong at once (the genuinely hopeless records) |

Systems differ as well (`SYSTEMS`): NGS and COEstar write upper case without accents, the
others keep what the clerk typed; COEstar writes birth dates as YYYYMMDD, MIS2000 as MM/DD/YYYY,
the rest as ISO. Over true pairs, an exact match on raw (first_name, last_name_1, birth_date)
finds about 37% of them; about 1% of true pairs are hopeless (almost every field differs).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from benchmarks import synthetic_names as nm

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]

COLUMNS: Final[tuple[str, ...]] = (
    "record_id", "state", "source_system", "local_student_id", "first_name", "middle_name",
    "last_name_1", "last_name_2", "suffix", "sex", "birth_date", "multiple_birth_flag",
    "birth_city", "birth_state", "birth_country", "parent1_first_name", "parent1_last_name",
    "parent2_first_name", "parent2_last_name", "enrollment_date", "qualifying_arrival_date",
    "grade",
)
"""The canonical record columns (DESIGN §2), in order."""

TRUTH_COLUMNS: Final[tuple[str, ...]] = ("record_id", "child_id", "family_id", "birth_group_id")

# --- Population parameters ---------------------------------------------------------------------

HOME_STATES: Final[tuple[str, ...]] = ("TX", "CA", "FL", "AZ")
HOME_STATE_P: Final[tuple[float, ...]] = (0.40, 0.30, 0.18, 0.12)
STREAMS: Final[dict[str, tuple[str, ...]]] = {
    "TX": ("MI", "OH", "IN", "WI", "KS", "NE", "IA"),
    "CA": ("OR", "WA", "ID"),
    "FL": ("NC", "GA", "NY", "PA"),
    "AZ": ("CA", "WA"),
}
"""Home state → receiving states, the commonest first."""

STATE_SYSTEM: Final[dict[str, str]] = {
    "TX": "NGS", "KS": "NGS", "NE": "NGS", "WI": "NGS",
    "MI": "COEstar", "OH": "COEstar", "IN": "COEstar", "IA": "COEstar",
    "FL": "MIS2000", "NC": "MIS2000", "GA": "MIS2000", "PA": "MIS2000",
    "CA": "MSIS", "AZ": "MSIS", "WA": "MSIS", "ID": "MSIS", "NY": "MSIS",
    "OR": "OMSIS",
}


_DATE_FORMATS: Final = ("iso", "compact", "us")


@dataclass(frozen=True)
class SystemStyle:
    """How one state system writes its records."""

    date_format: str
    """`iso` (YYYY-MM-DD), `compact` (YYYYMMDD) or `us` (MM/DD/YYYY)."""
    upper: bool
    """Writes names in upper case."""
    keeps_accents: bool
    """Keeps the accents the clerk typed (otherwise folds to ASCII)."""
    writes_n: bool
    """Writes N in multiple_birth_flag for single births (otherwise blank)."""


SYSTEMS: Final[dict[str, SystemStyle]] = {
    "NGS": SystemStyle("iso", upper=True, keeps_accents=False, writes_n=False),
    "COEstar": SystemStyle("compact", upper=True, keeps_accents=False, writes_n=True),
    "MIS2000": SystemStyle("us", upper=False, keeps_accents=True, writes_n=True),
    "MSIS": SystemStyle("iso", upper=False, keeps_accents=True, writes_n=False),
    "OMSIS": SystemStyle("iso", upper=False, keeps_accents=True, writes_n=True),
}

GROUPS: Final[tuple[str, ...]] = ("MX", "GT", "EN", "HT", "VN")
"""Family origins: Mexican, Guatemalan (Maya), Anglo, Haitian, Vietnamese."""
GROUP_P_BY_HOME: Final[dict[str, tuple[float, ...]]] = {
    "TX": (0.85, 0.04, 0.08, 0.00, 0.03),
    "CA": (0.80, 0.12, 0.06, 0.00, 0.02),
    "FL": (0.50, 0.20, 0.12, 0.15, 0.03),
    "AZ": (0.88, 0.02, 0.10, 0.00, 0.00),
}
P_MIDDLE_NAME: Final[tuple[float, ...]] = (0.15, 0.15, 0.85, 0.2, 0.4)
"""Share of children with a middle name, by group."""

CLAN_SIZE_P: Final[tuple[float, ...]] = (0.55, 0.25, 0.13, 0.07)
BIRTHS_PER_FAMILY_P: Final[tuple[float, ...]] = (0.25, 0.28, 0.22, 0.13, 0.07, 0.03, 0.02)
STOPS_PER_FAMILY_P: Final[tuple[float, ...]] = (0.30, 0.36, 0.22, 0.12)
P_PATERNAL_CLAN: Final = 0.7
P_SINGLE_MOTHER: Final = 0.12
P_TWINS: Final = 0.022
P_TRIPLETS: Final = 0.003
P_TWIN_CONFUSABLE_NAMES: Final = 0.6
P_TWINS_SAME_SEX: Final = 0.6
P_NAMED_AFTER_PARENT: Final = 0.10
P_NAMED_AFTER_GRANDPARENT: Final = 0.08
P_JUNIOR: Final = 0.35
P_PRESENT: Final = 0.9
P_START_AT_HOME: Final = 0.75
P_BORN_AT_FAMILY_TOWN: Final = 0.8
P_BORN_AT_CLAN_TOWN: Final = 0.9
P_SIBLING_SAME_ENROLLMENT_DAY: Final = 0.7

POPULATION_RATES: Final[dict[str, float]] = {
    "twins": P_TWINS,
    "triplets": P_TRIPLETS,
    "twin_confusable_names": P_TWIN_CONFUSABLE_NAMES,
    "twins_same_sex": P_TWINS_SAME_SEX,
    "paternal_clan": P_PATERNAL_CLAN,
    "single_mother": P_SINGLE_MOTHER,
    "named_after_parent": P_NAMED_AFTER_PARENT,
    "named_after_grandparent": P_NAMED_AFTER_GRANDPARENT,
    "junior": P_JUNIOR,
    "present": P_PRESENT,
    "start_at_home": P_START_AT_HOME,
    "born_at_family_town": P_BORN_AT_FAMILY_TOWN,
    "born_at_clan_town": P_BORN_AT_CLAN_TOWN,
    "sibling_same_enrollment_day": P_SIBLING_SAME_ENROLLMENT_DAY,
}
"""Every population probability; the module docstring documents each one."""

PERIOD_START: Final = np.datetime64("2019-08-01", "D")
PERIOD_END: Final = np.datetime64("2025-06-30", "D")
MIN_AGE: Final = 3
MAX_AGE: Final = 21

# --- Error rates (see the table in the module docstring) ---------------------------------------

P_FIRST_NAME_TYPO: Final = 0.025
P_MIDDLE_NAME_TYPO: Final = 0.02
P_LAST_NAME_TYPO: Final = 0.025
P_PARENT_NAME_TYPO: Final = 0.02
P_BIRTH_CITY_TYPO: Final = 0.04
P_FIRST_NAME_SOUND: Final = 0.025
P_LAST_NAME_SOUND: Final = 0.025
P_ACCENTS_DROPPED: Final = 0.8
P_MOJIBAKE: Final = 0.03
P_CASE_NOISE: Final = 0.02
P_PUNCTUATION_NOISE: Final = 0.02
P_PARTICLE_VARIED: Final = 0.5
P_COMPOUND_SHORTENED: Final = 0.08
P_COMPOUND_ABBREVIATED: Final = 0.03
P_COMPOUND_JOINED: Final = 0.02
P_COMPOUND_SPLIT: Final = 0.05
P_NICKNAME: Final = 0.04
P_ANGLICISED: Final = 0.03
P_FIRST_LAST_SWAPPED: Final = 0.015
P_MIDDLE_NAME_DROPPED: Final = 0.3
P_LAST_NAME_2_DROPPED: Final = 0.12
P_LAST_NAME_2_IN_MIDDLE: Final = 0.04
P_SURNAMES_IN_LAST_NAME_1: Final = 0.04
P_SURNAME_ORDER_SWAPPED: Final = 0.02
P_SUFFIX_DROPPED: Final = 0.4
P_SUFFIX_IN_LAST_NAME: Final = 0.1
P_BIRTH_DATE_DAY_MONTH_SWAP: Final = 0.012
P_BIRTH_DATE_DIGIT_TYPO: Final = 0.015
P_BIRTH_DATE_YEAR_OFF: Final = 0.008
P_BIRTH_DATE_MISSING: Final = 0.01
P_BIRTH_DATE_ZEROS: Final = 0.006
P_BIRTH_DATE_PLACEHOLDER: Final = 0.006
P_SEX_MISSING: Final = 0.03
P_SEX_MISCODED: Final = 0.01
P_SEX_UNKNOWN: Final = 0.01
P_MULTIPLE_BIRTH_FLAG_BLANK: Final = 0.5
P_BIRTH_CITY_MISSING: Final = 0.25
P_BIRTH_STATE_MISSING: Final = 0.3
P_BIRTH_COUNTRY_MISSING: Final = 0.12
P_PARENT1_MISSING: Final = 0.1
P_PARENT2_MISSING: Final = 0.12
P_PARENTS_SWAPPED: Final = 0.08
P_MOTHER_MARRIED_NAME: Final = 0.1
P_PARENT_BOTH_SURNAMES: Final = 0.2
P_PARENT_FIRST_NAME_VARIANT: Final = 0.1
P_LOCAL_ID_MISSING: Final = 0.08
P_LOCAL_ID_NEW_ON_RETURN: Final = 0.3
P_QUALIFYING_ARRIVAL_DATE_MISSING: Final = 0.05
P_GRADE_MISSING: Final = 0.03
P_CHAOTIC_RECORD: Final = 0.008

ERROR_RATES: Final[dict[str, float]] = {
    "first_name_typo": P_FIRST_NAME_TYPO,
    "middle_name_typo": P_MIDDLE_NAME_TYPO,
    "last_name_typo": P_LAST_NAME_TYPO,
    "parent_name_typo": P_PARENT_NAME_TYPO,
    "birth_city_typo": P_BIRTH_CITY_TYPO,
    "first_name_sound": P_FIRST_NAME_SOUND,
    "last_name_sound": P_LAST_NAME_SOUND,
    "accents_dropped": P_ACCENTS_DROPPED,
    "mojibake": P_MOJIBAKE,
    "case_noise": P_CASE_NOISE,
    "punctuation_noise": P_PUNCTUATION_NOISE,
    "particle_varied": P_PARTICLE_VARIED,
    "compound_shortened": P_COMPOUND_SHORTENED,
    "compound_abbreviated": P_COMPOUND_ABBREVIATED,
    "compound_joined": P_COMPOUND_JOINED,
    "compound_split": P_COMPOUND_SPLIT,
    "nickname": P_NICKNAME,
    "anglicised": P_ANGLICISED,
    "first_last_swapped": P_FIRST_LAST_SWAPPED,
    "middle_name_dropped": P_MIDDLE_NAME_DROPPED,
    "last_name_2_dropped": P_LAST_NAME_2_DROPPED,
    "last_name_2_in_middle": P_LAST_NAME_2_IN_MIDDLE,
    "surnames_in_last_name_1": P_SURNAMES_IN_LAST_NAME_1,
    "surname_order_swapped": P_SURNAME_ORDER_SWAPPED,
    "suffix_dropped": P_SUFFIX_DROPPED,
    "suffix_in_last_name": P_SUFFIX_IN_LAST_NAME,
    "birth_date_day_month_swap": P_BIRTH_DATE_DAY_MONTH_SWAP,
    "birth_date_digit_typo": P_BIRTH_DATE_DIGIT_TYPO,
    "birth_date_year_off": P_BIRTH_DATE_YEAR_OFF,
    "birth_date_missing": P_BIRTH_DATE_MISSING,
    "birth_date_zeros": P_BIRTH_DATE_ZEROS,
    "birth_date_placeholder": P_BIRTH_DATE_PLACEHOLDER,
    "sex_missing": P_SEX_MISSING,
    "sex_miscoded": P_SEX_MISCODED,
    "sex_unknown": P_SEX_UNKNOWN,
    "multiple_birth_flag_blank": P_MULTIPLE_BIRTH_FLAG_BLANK,
    "birth_city_missing": P_BIRTH_CITY_MISSING,
    "birth_state_missing": P_BIRTH_STATE_MISSING,
    "birth_country_missing": P_BIRTH_COUNTRY_MISSING,
    "parent1_missing": P_PARENT1_MISSING,
    "parent2_missing": P_PARENT2_MISSING,
    "parents_swapped": P_PARENTS_SWAPPED,
    "mother_married_name": P_MOTHER_MARRIED_NAME,
    "parent_both_surnames": P_PARENT_BOTH_SURNAMES,
    "parent_first_name_variant": P_PARENT_FIRST_NAME_VARIANT,
    "local_id_missing": P_LOCAL_ID_MISSING,
    "local_id_new_on_return": P_LOCAL_ID_NEW_ON_RETURN,
    "qualifying_arrival_date_missing": P_QUALIFYING_ARRIVAL_DATE_MISSING,
    "grade_missing": P_GRADE_MISSING,
    "chaotic_record": P_CHAOTIC_RECORD,
}
"""Every error kind and its rate; the module docstring documents each one."""

_TYPO_LETTERS: Final = np.array(list("eaosrnidlctumpbgvyqhfzjxk"))
_TYPO_LETTER_WEIGHTS: Final = np.array(
    [13.7, 12.5, 8.7, 8.0, 6.9, 6.7, 6.3, 5.9, 5.0, 4.7, 4.6, 3.9, 3.2, 2.5, 1.4, 1.0, 0.9,
     0.9, 0.9, 0.7, 0.7, 0.5, 0.4, 0.2, 0.1]
)
_TYPO_LETTER_P: Final = _TYPO_LETTER_WEIGHTS / _TYPO_LETTER_WEIGHTS.sum()
"""Letters a slip types, by their frequency in Spanish."""
_PARTICLES: Final = frozenset({"de", "del", "la", "las", "los", "y"})
_DAYS_PER_YEAR: Final = 365.25
_CHUNK: Final = 200_000
"""Records rendered at a time (bounds the memory of the string work)."""

# --- Vocabularies and variant tables -----------------------------------------------------------


class _Vocab:
    """Strings by integer id; adding a known string returns its id."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int:
        """Id of `text`, added if new."""
        found = self.index.get(text)
        if found is not None:
            return found
        self.index[text] = len(self.strings)
        self.strings.append(text)
        return len(self.strings) - 1

    def ids(self, texts: Sequence[str]) -> IntArray:
        """Ids of `texts`, each added if new."""
        return np.array([self.add(t) for t in texts], dtype=np.int64)

    def series(self) -> pl.Series:
        """All strings, indexable by id."""
        return pl.Series(self.strings, dtype=pl.String)


@dataclass(frozen=True)
class _Variants:
    """A CSR table: id → alternative ids (possibly none)."""

    offsets: IntArray
    targets: IntArray

    @staticmethod
    def build(size: int, variants: dict[int, list[int]]) -> _Variants:
        """Table of `size` ids from a sparse mapping."""
        counts = np.zeros(size, dtype=np.int64)
        for key, values in variants.items():
            counts[key] = len(values)
        offsets = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        targets = np.zeros(int(offsets[-1]), dtype=np.int64)
        for key, values in variants.items():
            targets[offsets[key]:offsets[key] + len(values)] = values
        return _Variants(offsets, targets)

    def has(self, ids: IntArray) -> BoolArray:
        """Which ids (>= 0) have at least one variant."""
        safe = np.maximum(ids, 0)
        return (ids >= 0) & (self.offsets[safe + 1] > self.offsets[safe])

    def pick(self, ids: IntArray, rng: np.random.Generator) -> IntArray:
        """One random variant of each id (ids must have one)."""
        lo = self.offsets[ids]
        width = self.offsets[ids + 1] - lo
        return self.targets[lo + (rng.random(len(ids)) * width).astype(np.int64)]


def _sound_variants(name: str) -> list[str]:
    """Every single-rule Spanish-sound confusion of `name`, keeping its capitalisation."""
    out: list[str] = []
    for pattern, repl in nm.SOUND_RULES:

        def keep_case(match: re.Match[str], repl: str = repl) -> str:
            return repl[:1].upper() + repl[1:] if match.group(0)[:1].isupper() else repl

        variant = re.sub(pattern, keep_case, name, count=1, flags=re.IGNORECASE)
        if variant and name[:1].isupper():
            variant = variant[:1].upper() + variant[1:]
        if variant != name and variant not in out:
            out.append(variant)
    return out


def _core_parts(name: str) -> list[str]:
    """The words of a given name that are not particles (María del Carmen → María, Carmen)."""
    return [w for w in name.split(" ") if w.lower() not in _PARTICLES]


@dataclass(frozen=True)
class _GivenNames:
    """Given-name vocabulary with sampling pools and variant tables."""

    vocab: _Vocab
    pools: dict[tuple[int, int], tuple[IntArray, FloatArray]]
    """(group, sex) → (ids, probabilities) for children's first names."""
    parent_pools: dict[tuple[int, int], tuple[IntArray, FloatArray]]
    """(group, sex) → (ids, probabilities) for parents' and grandparents' first names."""
    middle_pools: dict[tuple[int, int], tuple[IntArray, FloatArray]]
    shortened: _Variants
    abbreviated: _Variants
    joined: _Variants
    nickname: _Variants
    anglicised: _Variants
    sound: _Variants
    split_head: IntArray
    """Compound name id → id of its first part (−1 for single names)."""
    split_rest: IntArray
    """Compound name id → id of the rest (−1 for single names)."""
    twin_sets: dict[int, tuple[IntArray, IntArray]]
    """Set size → (name ids [sets, size], sexes [sets, size])."""


@dataclass(frozen=True)
class _Surnames:
    """Surname vocabulary with sampling pools and variant tables."""

    vocab: _Vocab
    pools: dict[int, tuple[IntArray, FloatArray]]
    particle: _Variants
    sound: _Variants


def _zipf(n: int, offset: float, exponent: float = 1.0) -> FloatArray:
    """Zipf-like probabilities by rank."""
    weights = 1.0 / (np.arange(n, dtype=np.float64) + 1.0 + offset) ** exponent
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _pool(vocab: _Vocab, *lists: tuple[Sequence[str], float, float]) -> tuple[IntArray, FloatArray]:
    """A sampling pool mixing ranked lists (names, share, Zipf offset)."""
    mass: dict[int, float] = {}
    for names, share, offset in lists:
        for i, p in zip(vocab.ids(names).tolist(), _zipf(len(names), offset), strict=True):
            mass[i] = mass.get(i, 0.0) + share * float(p)
    ids = np.array(list(mass), dtype=np.int64)
    probs = np.array(list(mass.values()), dtype=np.float64)
    return ids, probs / probs.sum()


def _single_words(names: Sequence[str]) -> list[str]:
    """Names of one word only."""
    return [n for n in names if " " not in n]


@lru_cache(maxsize=1)
def _given_names() -> _GivenNames:
    """Build the given-name vocabulary, pools and variant tables (once)."""
    vocab = _Vocab()
    male = {0: nm.MX_MALE, 1: nm.GT_MALE, 2: nm.EN_MALE, 3: nm.HT_MALE, 4: nm.VN_MALE}
    female = {0: nm.MX_FEMALE, 1: nm.GT_FEMALE, 2: nm.EN_FEMALE, 3: nm.HT_FEMALE,
              4: nm.VN_FEMALE}
    pools: dict[tuple[int, int], tuple[IntArray, FloatArray]] = {}
    middle: dict[tuple[int, int], tuple[IntArray, FloatArray]] = {}
    for sex, lists in ((0, male), (1, female)):
        mx = lists[0]
        pools[(0, sex)] = _pool(vocab, (mx, 1.0, 2.0))
        pools[(1, sex)] = _pool(vocab, (lists[1], 0.5, 2.0), (mx, 0.5, 2.0))
        for group in (2, 3, 4):
            pools[(group, sex)] = _pool(vocab, (lists[group], 1.0, 4.0))
        middle[(0, sex)] = _pool(vocab, (_single_words(mx), 1.0, 4.0))
        middle[(1, sex)] = _pool(vocab, (_single_words(mx), 1.0, 4.0))
        middle[(3, sex)] = _pool(vocab, (_single_words(lists[3]), 1.0, 4.0))
    middle[(2, 0)] = _pool(vocab, (nm.EN_MIDDLE_MALE, 1.0, 2.0))
    middle[(2, 1)] = _pool(vocab, (nm.EN_MIDDLE_FEMALE, 1.0, 2.0))
    middle[(4, 0)] = _pool(vocab, (nm.VN_MIDDLE_MALE, 1.0, 2.0))
    middle[(4, 1)] = _pool(vocab, (nm.VN_MIDDLE_FEMALE, 1.0, 2.0))

    modern = vocab.ids(sorted(nm.MODERN_GIVEN_NAMES))
    parent_pools: dict[tuple[int, int], tuple[IntArray, FloatArray]] = {}
    for key, (ids, probs) in pools.items():
        older = ~np.isin(ids, modern)
        parent_pools[key] = (ids[older], probs[older] / probs[older].sum())

    twin_sets: dict[int, tuple[IntArray, IntArray]] = {}
    for size in (2, 3):
        sets = [s for s in nm.TWIN_NAME_SETS if len(s) == size]
        twin_sets[size] = (
            np.array([[vocab.add(n) for n, _ in s] for s in sets], dtype=np.int64),
            np.array([[0 if x == "M" else 1 for _, x in s] for s in sets], dtype=np.int64),
        )

    base = list(vocab.strings)
    shortened: dict[int, list[int]] = {}
    abbreviated: dict[int, list[int]] = {}
    joined: dict[int, list[int]] = {}
    nickname: dict[int, list[int]] = {}
    anglicised: dict[int, list[int]] = {}
    split: dict[int, tuple[int, int]] = {}
    for i, name in enumerate(base):
        words = name.split(" ")
        core = _core_parts(name)
        for part in core:
            nickname.setdefault(i, []).extend(vocab.ids(nm.NICKNAMES.get(part, ())))
        if len(words) == 1:
            anglicised_forms = nm.ANGLICISED.get(name, ())
            if anglicised_forms:
                anglicised[i] = list(vocab.ids(anglicised_forms))
            continue
        head, rest = words[0], " ".join(words[1:])
        shortened[i] = list(dict.fromkeys(vocab.ids([head, core[-1]]).tolist()))
        abbreviated[i] = list(
            vocab.ids([f"{a} {rest}" for a in nm.ABBREVIATIONS.get(head, ())]
                      + [f"{head} {core[-1][0]}."])
        )
        joined[i] = [vocab.add(head + rest.replace(" ", "").lower())]
        split[i] = (vocab.add(head), vocab.add(rest))
        for english in nm.ANGLICISED.get(head, ()):
            anglicised.setdefault(i, []).append(vocab.add(f"{english} {rest}"))
    nickname = {k: v for k, v in nickname.items() if v}
    semantic = list(vocab.strings)
    sound = {i: list(vocab.ids(_sound_variants(n))) for i, n in enumerate(semantic)}
    size = len(vocab.strings)
    split_head = np.full(size, -1, dtype=np.int64)
    split_rest = np.full(size, -1, dtype=np.int64)
    for i, (h, r) in split.items():
        split_head[i], split_rest[i] = h, r
    return _GivenNames(
        vocab=vocab, pools=pools, parent_pools=parent_pools, middle_pools=middle,
        shortened=_Variants.build(size, shortened),
        abbreviated=_Variants.build(size, abbreviated),
        joined=_Variants.build(size, joined),
        nickname=_Variants.build(size, nickname),
        anglicised=_Variants.build(size, anglicised),
        sound=_Variants.build(size, {k: v for k, v in sound.items() if v}),
        split_head=split_head, split_rest=split_rest, twin_sets=twin_sets,
    )


def _particle_variants(name: str) -> list[str]:
    """Spellings of a surname with a particle, hyphen or apostrophe."""
    out: list[str] = []
    words = name.split(" ")
    if len(words) > 1 and words[0].lower() in _PARTICLES:
        out += [
            words[0] + "".join(w.lower() for w in words[1:]),
            "".join(words),
            words[-1],
            " ".join(w.lower() for w in words[:-1]) + " " + words[-1],
            " ".join([words[0], *(w.lower() for w in words[1:-1]), words[-1]]),
        ]
    elif "-" in name:
        left, right = name.split("-", 1)
        out += [f"{left} {right}", right, left + right.lower()]
        if left == "Saint":
            out += [f"St. {right}", f"St {right}", f"St-{right}"]
    elif "'" in name:
        out += [name.replace("'", ""), name.replace("'", " "),
                name.replace("'", "")[0] + name.replace("'", "")[1:].lower()]
    elif name.startswith("Mc"):
        out += [name[:2] + name[2:].lower(), f"Mc {name[2:]}"]
    return [v for v in dict.fromkeys(out) if v and v != name]


@lru_cache(maxsize=1)
def _surnames() -> _Surnames:
    """Build the surname vocabulary, pools and variant tables (once)."""
    vocab = _Vocab()
    pools = {
        0: _pool(vocab, (nm.MX_SURNAMES, 1.0, 5.0)),
        1: _pool(vocab, (nm.GT_SURNAMES, 1.0, 3.0)),
        2: _pool(vocab, (nm.EN_SURNAMES, 1.0, 3.0)),
        3: _pool(vocab, (nm.HT_SURNAMES, 1.0, 3.0)),
        4: _pool(vocab, (nm.VN_SURNAMES, 1.0, 1.0)),
    }
    base = list(vocab.strings)
    particle = {i: list(vocab.ids(_particle_variants(n))) for i, n in enumerate(base)}
    semantic = list(vocab.strings)
    sound = {i: list(vocab.ids(_sound_variants(n))) for i, n in enumerate(semantic)}
    size = len(vocab.strings)
    return _Surnames(
        vocab=vocab, pools=pools,
        particle=_Variants.build(size, {k: v for k, v in particle.items() if v}),
        sound=_Variants.build(size, {k: v for k, v in sound.items() if v}),
    )


@dataclass(frozen=True)
class _Places:
    """Birth places: a vocabulary and per-country origin pools."""

    vocab: _Vocab
    origins: dict[int, tuple[IntArray, IntArray, FloatArray]]
    """Group → (city ids, state ids, probabilities) of home towns abroad."""
    us_cities: dict[int, IntArray]
    """Home-state index → city ids."""
    us_state: IntArray
    """Home-state index → id of the state's USPS code."""
    state_spellings: dict[int, tuple[IntArray, FloatArray]]
    """Birth-state id → (spelling ids, probabilities)."""
    country_spellings: dict[int, tuple[IntArray, FloatArray]]
    """Country code index (see `_COUNTRIES`) → (spelling ids, probabilities)."""


_COUNTRIES: Final[tuple[str, ...]] = ("US", "MX", "GT", "HT")


@lru_cache(maxsize=1)
def _places() -> _Places:
    """Build the place vocabulary and pools (once)."""
    vocab = _Vocab()
    origins: dict[int, tuple[IntArray, IntArray, FloatArray]] = {}
    for group, table in ((0, nm.MX_PLACES), (1, nm.GT_PLACES), (3, nm.HT_PLACES)):
        cities: list[int] = []
        states: list[int] = []
        probs: list[float] = []
        state_p = _zipf(len(table), 2.0)
        for (state, towns), p in zip(table.items(), state_p, strict=True):
            for town in towns:
                cities.append(vocab.add(town))
                states.append(vocab.add(state))
                probs.append(float(p) / len(towns))
        origins[group] = (np.array(cities), np.array(states),
                          np.array(probs) / np.sum(probs))
    us_cities = {h: vocab.ids(nm.US_CITIES[code]) for h, code in enumerate(HOME_STATES)}
    us_state = vocab.ids(HOME_STATES)
    state_spellings: dict[int, tuple[IntArray, FloatArray]] = {}
    for state, abbreviations in nm.MX_STATE_ABBREVIATIONS.items():
        ids = vocab.ids([state, *abbreviations])
        state_spellings[vocab.add(state)] = (ids, np.array([0.6, 0.2, 0.2]))
    for code in HOME_STATES:
        ids = vocab.ids([code, nm.STATE_NAMES[code]])
        state_spellings[vocab.add(code)] = (ids, np.array([0.6, 0.4]))
    country_spellings: dict[int, tuple[IntArray, FloatArray]] = {}
    for c, code in enumerate(_COUNTRIES):
        spellings = nm.COUNTRY_SPELLINGS[code]
        p = np.array([w for _, w in spellings])
        country_spellings[c] = (vocab.ids([s for s, _ in spellings]), p / p.sum())
    return _Places(vocab, origins, us_cities, us_state, state_spellings, country_spellings)


# --- Population ----------------------------------------------------------------------------------

_ALL_STATES: Final[tuple[str, ...]] = tuple(STATE_SYSTEM)


@dataclass(frozen=True)
class _Streams:
    """Migrant streams as state indices into `_ALL_STATES`."""

    home_state: IntArray
    """Home index (into `HOME_STATES`) → state index."""
    receivers: IntArray
    """[home index, k] → state index of the k-th receiving state."""
    n_receivers: IntArray

    @staticmethod
    def build() -> _Streams:
        """From `HOME_STATES` and `STREAMS`."""
        index = {s: i for i, s in enumerate(_ALL_STATES)}
        receivers = np.zeros((len(HOME_STATES), max(map(len, STREAMS.values()))), dtype=np.int64)
        n_receivers = np.zeros(len(HOME_STATES), dtype=np.int64)
        for h, code in enumerate(HOME_STATES):
            receivers[h, : len(STREAMS[code])] = [index[s] for s in STREAMS[code]]
            n_receivers[h] = len(STREAMS[code])
        home_state = np.array([index[h] for h in HOME_STATES], dtype=np.int64)
        return _Streams(home_state, receivers, n_receivers)

    def receiver(self, home: IntArray, u: FloatArray) -> IntArray:
        """The receiving state at quantile `u` of each home's stream (low u: commoner)."""
        return self.receivers[home, (u * self.n_receivers[home]).astype(np.int64)]


@dataclass(frozen=True)
class _Families:
    """Per family: origin, home, parents, grandparents, preferred stream and towns."""

    group: IntArray
    home: IntArray
    has_father: BoolArray
    father_first: IntArray
    father_ln1: IntArray
    father_ln2: IntArray
    mother_first: IntArray
    mother_ln1: IntArray
    mother_ln2: IntArray
    grandfather: IntArray
    grandmother: IntArray
    preferred: IntArray
    """State index of the receiving state the family goes to most."""
    us_town: IntArray
    """Place id of the family's town in its home state."""
    town: IntArray
    """Index into the group's origin pool of the family's home town abroad (−1: none)."""


@dataclass(frozen=True)
class _Itineraries:
    """Per family: up to four stops (state, arrival day, qualifying arrival day)."""

    n_stops: IntArray
    state: IntArray
    day: IntArray
    qad: IntArray


@dataclass(frozen=True)
class _Children:
    """Per child: identity as the truth knows it."""

    fam: IntArray
    sex: IntArray
    first: IntArray
    middle: IntArray
    ln1: IntArray
    ln2: IntArray
    junior: BoolArray
    birth: IntArray
    birth_group: IntArray
    multiple: BoolArray
    country: IntArray
    city: IntArray
    birth_state: IntArray


@dataclass
class _World:
    """Families, children and their enrollments (records) as parallel integer arrays."""

    fam: _Families
    ch: _Children
    rec_child: IntArray
    rec_state: IntArray
    rec_enroll: IntArray
    rec_qad: IntArray


def _choice(rng: np.random.Generator, probs: Sequence[float], size: int) -> IntArray:
    """Indices drawn with `probs` (normalised)."""
    p = np.asarray(probs, dtype=np.float64)
    return np.asarray(rng.choice(len(p), size=size, p=p / p.sum()), dtype=np.int64)


def _draw(rng: np.random.Generator, pool: tuple[IntArray, FloatArray], size: int) -> IntArray:
    """Ids drawn from a sampling pool."""
    ids, probs = pool
    return ids[rng.choice(len(ids), size=size, p=probs)]


def _group_starts(group: IntArray) -> IntArray:
    """For sorted group labels, the index where each element's group starts."""
    n = len(group)
    first = np.ones(n, dtype=bool)
    first[1:] = group[1:] != group[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0))


def _families(n: int, streams: _Streams, rng: np.random.Generator) -> _Families:
    """Clans (shared grandparents, surnames, home state and town) and their families."""
    given, surnames, places = _given_names(), _surnames(), _places()
    sizes = _choice(rng, CLAN_SIZE_P, n) + 1
    n_clans = int(np.searchsorted(np.cumsum(sizes), n) + 1)
    clan = np.repeat(np.arange(n_clans), sizes[:n_clans])[:n]
    clan_home = _choice(rng, HOME_STATE_P, n_clans)
    clan_group = np.zeros(n_clans, dtype=np.int64)
    for h, code in enumerate(HOME_STATES):
        sel = np.flatnonzero(clan_home == h)
        clan_group[sel] = _choice(rng, GROUP_P_BY_HOME[code], len(sel))
    clan_a, clan_b, clan_gf, clan_gm = np.zeros((4, n_clans), dtype=np.int64)
    clan_town = np.full(n_clans, -1, dtype=np.int64)
    for g in range(len(GROUPS)):
        sel = np.flatnonzero(clan_group == g)
        clan_a[sel] = _draw(rng, surnames.pools[g], len(sel))
        clan_b[sel] = _draw(rng, surnames.pools[g], len(sel))
        clan_gf[sel] = _draw(rng, given.parent_pools[(g, 0)], len(sel))
        clan_gm[sel] = _draw(rng, given.parent_pools[(g, 1)], len(sel))
        if g in places.origins:
            clan_town[sel] = rng.choice(len(places.origins[g][0]), size=len(sel),
                                        p=places.origins[g][2])
    clan_pref = streams.receiver(clan_home, rng.random(n_clans) ** 1.6)

    group, home = clan_group[clan], clan_home[clan]
    paternal = rng.random(n) < P_PATERNAL_CLAN
    has_father = rng.random(n) >= P_SINGLE_MOTHER
    hispanic = group <= 1
    father_first, mother_first = np.zeros((2, n), dtype=np.int64)
    other = np.zeros((4, n), dtype=np.int64)
    for g in range(len(GROUPS)):
        sel = np.flatnonzero(group == g)
        father_first[sel] = _draw(rng, given.parent_pools[(g, 0)], len(sel))
        mother_first[sel] = _draw(rng, given.parent_pools[(g, 1)], len(sel))
        for r in range(4):
            other[r, sel] = _draw(rng, surnames.pools[g], len(sel))
    a, b = clan_a[clan], clan_b[clan]
    keeps_clan_stream = rng.random(n) < 0.7
    preferred = np.where(keeps_clan_stream, clan_pref[clan],
                         streams.receiver(home, rng.random(n)))
    us_town = np.zeros(n, dtype=np.int64)
    for h in range(len(HOME_STATES)):
        sel = np.flatnonzero(home == h)
        us_town[sel] = rng.choice(places.us_cities[h], size=len(sel))
    town = np.where(rng.random(n) < P_BORN_AT_CLAN_TOWN, clan_town[clan], -1)
    for g, (cities, _, probs) in places.origins.items():
        sel = np.flatnonzero((group == g) & (town < 0))
        town[sel] = rng.choice(len(cities), size=len(sel), p=probs)
    return _Families(
        group=group, home=home, has_father=has_father,
        father_first=father_first, father_ln1=np.where(paternal, a, other[0]),
        father_ln2=np.where(hispanic, np.where(paternal, b, other[1]), -1),
        mother_first=mother_first, mother_ln1=np.where(paternal, other[2], a),
        mother_ln2=np.where(hispanic, np.where(paternal, other[3], b), -1),
        grandfather=clan_gf[clan], grandmother=clan_gm[clan], preferred=preferred,
        us_town=us_town, town=town,
    )


def _itineraries(fam: _Families, streams: _Streams, rng: np.random.Generator) -> _Itineraries:
    """Up to four stops along each family's stream inside the reporting window."""
    n = len(fam.group)
    n_stops = _choice(rng, STOPS_PER_FAMILY_P, n) + 1
    max_stops = len(STOPS_PER_FAMILY_P)
    home = streams.home_state[fam.home]
    state = np.zeros((n, max_stops), dtype=np.int64)
    state[:, 0] = np.where(rng.random(n) < P_START_AT_HOME, home, fam.preferred)
    for j in range(1, max_stops):
        prev = state[:, j - 1]
        other = streams.receiver(fam.home, rng.random(n))
        u = rng.random(n)
        from_home = np.select([u < 0.65, u < 0.85], [fam.preferred, other], home)
        from_away = np.select([u < 0.55, u < 0.75, u < 0.85], [home, other, prev], fam.preferred)
        state[:, j] = np.where(prev == home, from_home, from_away)
    gaps = rng.integers(45, 300, size=(n, max_stops))
    gaps[:, 0] = 0
    gaps[np.arange(max_stops)[None, :] >= n_stops[:, None]] = 0
    offsets = np.cumsum(gaps, axis=1)
    start, end = int(PERIOD_START.astype(np.int64)), int(PERIOD_END.astype(np.int64))
    room = np.maximum(end - start - offsets[:, -1], 0)
    first_day = start + (rng.random(n) * (room + 1)).astype(np.int64)
    day = first_day[:, None] + offsets
    qad = day - rng.integers(0, 120, size=(n, max_stops))
    return _Itineraries(n_stops, state, day, qad)


def _births(
    fam: _Families, first_day: IntArray, rng: np.random.Generator,
) -> tuple[IntArray, IntArray, IntArray]:
    """Births oldest first, one to four years apart: (family, day, multiplicity) per birth."""
    n = len(fam.group)
    n_births = _choice(rng, BIRTHS_PER_FAMILY_P, n) + 1
    birth_fam = np.repeat(np.arange(n), n_births)
    n_b = len(birth_fam)
    gap_years = rng.uniform(1.0, 4.0, n_b)
    start = _group_starts(birth_fam)
    gap_years[start == np.arange(n_b)] = 0.0
    cum = np.cumsum(gap_years)
    within = cum - cum[start]
    total = np.zeros(n)
    np.maximum.at(total, birth_fam, within)
    youngest_age = rng.uniform(0.5, 15.0, n)
    age_at_first_stop = youngest_age[birth_fam] + total[birth_fam] - within
    day = first_day[birth_fam] - np.round(age_at_first_stop * _DAYS_PER_YEAR).astype(np.int64)
    u = rng.random(n_b)
    multiplicity = np.where(u < P_TRIPLETS, 3, np.where(u < P_TRIPLETS + P_TWINS, 2, 1))
    return birth_fam, day, multiplicity


def _redraw(
    rng: np.random.Generator, pools: dict[tuple[int, int], tuple[IntArray, FloatArray]],
    ids: IntArray, rows: BoolArray, group: IntArray, sex: IntArray,
) -> None:
    """Draw new ids in the chosen rows from each row's (group, sex) pool, in place."""
    for g in range(len(GROUPS)):
        for s in (0, 1):
            sel = np.flatnonzero(rows & (group == g) & (sex == s))
            ids[sel] = _draw(rng, pools[(g, s)], len(sel))


def _given(
    fam: _Families, ch_fam: IntArray, birth: IntArray, birth_fam: IntArray,
    multiplicity: IntArray, rng: np.random.Generator,
) -> tuple[IntArray, IntArray, IntArray, BoolArray]:
    """Sex, first name, middle name and Jr flag of each child (`birth`: child → birth)."""
    given = _given_names()
    n = len(ch_fam)
    group = fam.group[ch_fam]
    first_of_birth = _group_starts(birth)
    pos_in_birth = np.arange(n) - first_of_birth
    sex = (rng.random(n) < 0.5).astype(np.int64)
    same_sex = (pos_in_birth > 0) & (rng.random(n) < P_TWINS_SAME_SEX)
    sex = np.where(same_sex, sex[first_of_birth], sex)
    first = np.zeros(n, dtype=np.int64)
    _redraw(rng, given.pools, first, np.ones(n, dtype=bool), group, sex)
    locked = np.zeros(n, dtype=bool)

    # Confusable names for multiple births in Hispanic families.
    uses_set = (rng.random(len(multiplicity)) < P_TWIN_CONFUSABLE_NAMES) & (
        fam.group[birth_fam] <= 1)
    for size, (set_names, set_sexes) in given.twin_sets.items():
        births = np.flatnonzero(uses_set & (multiplicity == size))
        chosen = rng.integers(0, len(set_names), size=len(births))
        flip = rng.random(len(births)) < 0.5
        for k in range(size):
            column = np.where(flip, size - 1 - k, k)
            kids = np.flatnonzero(np.isin(birth, births) & (pos_in_birth == k))
            which = np.searchsorted(births, birth[kids])
            first[kids] = set_names[chosen[which], column[which]]
            sex[kids] = set_sexes[chosen[which], column[which]]
            locked[kids] = True

    # Namesakes: the eldest son or daughter named after a parent or grandparent.
    key = ch_fam * 2 + sex
    order = np.argsort(key, kind="stable")
    leads = np.ones(n, dtype=bool)
    leads[1:] = key[order][1:] != key[order][:-1]
    eldest = np.zeros(n, dtype=bool)
    eldest[order[leads]] = True
    eldest &= ~locked
    u = rng.random(n)
    after_parent = eldest & (u < P_NAMED_AFTER_PARENT) & ((sex == 1) | fam.has_father[ch_fam])
    after_grand = eldest & ~after_parent & (u < P_NAMED_AFTER_PARENT + P_NAMED_AFTER_GRANDPARENT)
    parent = np.where(sex == 0, fam.father_first[ch_fam], fam.mother_first[ch_fam])
    grand = np.where(sex == 0, fam.grandfather[ch_fam], fam.grandmother[ch_fam])
    first = np.where(after_parent, parent, np.where(after_grand, grand, first))
    locked |= after_parent | after_grand
    junior = after_parent & (sex == 0) & (rng.random(n) < P_JUNIOR)

    # Siblings do not share a first name (the names of a confusable set differ already).
    for _ in range(8):
        key = ch_fam * len(given.vocab.strings) + first
        order = np.lexsort((~locked, key))
        dup = np.zeros(n, dtype=bool)
        dup[order[1:][key[order][1:] == key[order][:-1]]] = True
        dup &= ~locked
        if not dup.any():
            break
        _redraw(rng, given.pools, first, dup, group, sex)

    middle = np.full(n, -1, dtype=np.int64)
    has_middle = rng.random(n) < np.asarray(P_MIDDLE_NAME)[group]
    for (g, s), pool in given.middle_pools.items():
        sel = np.flatnonzero(has_middle & (group == g) & (sex == s))
        middle[sel] = _draw(rng, pool, len(sel))
    middle[middle == first] = -1
    return sex, first, middle, junior


def _birth_places(
    fam: _Families, ch_fam: IntArray, birth_day: IntArray, first_day: IntArray,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray, IntArray]:
    """(country index, city id, state id): abroad before the family arrived, US after."""
    places = _places()
    n = len(ch_fam)
    group = fam.group[ch_fam]
    years_in_us = rng.uniform(0.0, 16.0, len(fam.group))
    arrival = first_day - np.round(years_in_us * _DAYS_PER_YEAR).astype(np.int64)
    abroad = (birth_day < arrival[ch_fam]) & np.isin(group, list(places.origins))
    country, city, state = np.zeros((3, n), dtype=np.int64)
    for g, (cities, states, _) in places.origins.items():
        sel = np.flatnonzero(abroad & (group == g))
        town = fam.town[ch_fam[sel]]
        city[sel], state[sel] = cities[town], states[town]
        country[sel] = _COUNTRIES.index(GROUPS[g])
    us = np.flatnonzero(~abroad)
    city[us] = fam.us_town[ch_fam[us]]
    state[us] = places.us_state[fam.home[ch_fam[us]]]
    elsewhere = us[rng.random(len(us)) >= P_BORN_AT_FAMILY_TOWN]
    for h in range(len(HOME_STATES)):
        sel = elsewhere[fam.home[ch_fam[elsewhere]] == h]
        city[sel] = rng.choice(places.us_cities[h], size=len(sel))
    return country, city, state


def _make_world(n_families: int, rng: np.random.Generator) -> _World:
    """Simulate clans, families, children and their enrollments."""
    streams = _Streams.build()
    fam = _families(n_families, streams, rng)
    trips = _itineraries(fam, streams, rng)
    first_day = trips.day[:, 0]
    birth_fam, birth_day, multiplicity = _births(fam, first_day, rng)
    birth = np.repeat(np.arange(len(birth_fam)), multiplicity)
    ch_fam = birth_fam[birth]
    ch_birth = birth_day[birth]
    sex, first, middle, junior = _given(fam, ch_fam, birth, birth_fam, multiplicity, rng)
    country, city, state = _birth_places(fam, ch_fam, ch_birth, first_day, rng)
    fh = fam.has_father[ch_fam]
    hispanic = fam.group[ch_fam] <= 1
    ch = _Children(
        fam=ch_fam, sex=sex, first=first, middle=middle,
        ln1=np.where(fh, fam.father_ln1[ch_fam], fam.mother_ln1[ch_fam]),
        ln2=np.where(hispanic, np.where(fh, fam.mother_ln1[ch_fam], fam.mother_ln2[ch_fam]), -1),
        junior=junior, birth=ch_birth, birth_group=birth, multiple=multiplicity[birth] > 1,
        country=country, city=city, birth_state=state,
    )

    # Enrollments: a child aged 3-21 at a stop is enrolled with probability P_PRESENT.
    end = int(PERIOD_END.astype(np.int64))
    kept: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
    for j in range(trips.state.shape[1]):
        kids = np.flatnonzero(j < trips.n_stops[ch_fam])
        f = ch_fam[kids]
        same_day = rng.random(len(kids)) < P_SIBLING_SAME_ENROLLMENT_DAY
        late = np.where(same_day, 0, rng.integers(1, 15, size=len(kids)))
        enroll = np.minimum(trips.day[f, j] + late, end)
        age = (enroll - ch_birth[kids]) / _DAYS_PER_YEAR
        ok = (rng.random(len(kids)) < P_PRESENT) & (age >= MIN_AGE) & (age < MAX_AGE + 1)
        kept.append((kids[ok], trips.state[f[ok], j], enroll[ok], trips.qad[f[ok], j]))
    rec_child, rec_state, rec_enroll, rec_qad = (np.concatenate(x) for x in zip(*kept, strict=True))
    order = np.argsort(rec_child, kind="stable")
    return _World(fam, ch, rec_child[order], rec_state[order], rec_enroll[order], rec_qad[order])


# --- Rendering and corruption ------------------------------------------------------------------


class _Log:
    """Counts of records each error kind actually changed."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(ERROR_RATES, 0)

    def add(self, kind: str, n: int | np.integer) -> None:
        """Record `n` more occurrences of `kind`."""
        self.counts[kind] += int(n)


def _strings(vocab: pl.Series, ids: IntArray) -> pl.Series:
    """Strings for ids, null where the id is negative."""
    out = vocab.gather(np.maximum(ids, 0))
    missing = np.flatnonzero(ids < 0)
    if len(missing):
        out.scatter(missing, None)
    return out


def _apply_variants(
    ids: IntArray, rate: float, table: _Variants, rng: np.random.Generator,
    force: BoolArray | None = None,
) -> tuple[IntArray, int]:
    """Replace ids by a random variant at `rate` (or where forced); return ids and changes."""
    hit = rng.random(len(ids)) < rate
    if force is not None:
        hit |= force
    sel = np.flatnonzero(hit & table.has(ids))
    out = ids.copy()
    out[sel] = table.pick(ids[sel], rng)
    return out, int(np.count_nonzero(out[sel] != ids[sel]))


def _typo(s: pl.Series, rows: BoolArray, rng: np.random.Generator) -> tuple[pl.Series, int]:
    """One keyboard slip (insert, delete, substitute, transpose) in the chosen rows."""
    idx = np.flatnonzero(rows & s.is_not_null().to_numpy() & (s.str.len_chars() >= 2)
                         .fill_null(False).to_numpy())
    if len(idx) == 0:
        return s, 0
    sub = s.gather(idx)
    frame = pl.DataFrame({
        "s": sub,
        "k": rng.integers(0, 4, len(idx)),
        "u": rng.random(len(idx)),
        "c": rng.choice(_TYPO_LETTERS, size=len(idx), p=_TYPO_LETTER_P),
    })
    s_, length = pl.col("s"), pl.col("s").str.len_chars().cast(pl.Int64)
    p = (1 + (pl.col("u") * (length - 1)).floor().cast(pl.Int64)).clip(1, length - 1)
    pt = pl.min_horizontal(p, length - 2)
    new = frame.select(
        pl.when(pl.col("k") == 0).then(s_.str.slice(0, p) + pl.col("c") + s_.str.slice(p))
        .when(pl.col("k") == 1).then(s_.str.slice(0, p) + s_.str.slice(p + 1))
        .when(pl.col("k") == 2).then(s_.str.slice(0, p) + pl.col("c") + s_.str.slice(p + 1))
        .otherwise(s_.str.slice(0, pt) + s_.str.slice(pt + 1, 1) + s_.str.slice(pt, 1)
                   + s_.str.slice(pt + 2))
    ).to_series()
    out = s.clone()
    out.scatter(idx, new)
    return out, int((new != sub).sum())


def _swap(a: pl.Series, b: pl.Series, rows: BoolArray) -> tuple[pl.Series, pl.Series]:
    """Exchange the values of two columns in the chosen rows."""
    idx = np.flatnonzero(rows)
    a2, b2 = a.clone(), b.clone()
    a2.scatter(idx, b.gather(idx))
    b2.scatter(idx, a.gather(idx))
    return a2, b2


def _where(rows: BoolArray, then: pl.Series, otherwise: pl.Series) -> pl.Series:
    """`then` in the chosen rows, `otherwise` elsewhere."""
    idx = np.flatnonzero(rows)
    out = otherwise.clone()
    out.scatter(idx, then.gather(idx))
    return out


def _set_null(s: pl.Series, rows: BoolArray) -> pl.Series:
    """Null in the chosen rows."""
    out = s.clone()
    idx = np.flatnonzero(rows)
    if len(idx):
        out.scatter(idx, None)
    return out


@lru_cache(maxsize=1)
def _char_maps() -> tuple[list[str], list[str], list[str]]:
    """Non-ASCII characters of all vocabularies, their ASCII folds and their mojibake."""
    chars: set[str] = set()
    for vocab in (_given_names().vocab, _surnames().vocab, _places().vocab):
        for text in vocab.strings:
            chars.update(c for c in text if ord(c) > 127)
    chars |= {c.upper() for c in chars} | {c.lower() for c in chars}
    accented = sorted(c for c in chars if ord(c) > 127)
    folded = [
        unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode() or c
        for c in accented
    ]

    def garble(c: str) -> str:
        out = []
        for byte in c.encode("utf-8"):
            try:
                out.append(bytes([byte]).decode("cp1252"))
            except UnicodeDecodeError:
                out.append(bytes([byte]).decode("latin-1"))
        return "".join(out)

    return accented, folded, [garble(c) for c in accented]


_NAME_COLUMNS: Final = ("first_name", "middle_name", "last_name_1", "last_name_2",
                        "parent1_first_name", "parent1_last_name", "parent2_first_name",
                        "parent2_last_name")
_TEXT_COLUMNS: Final = (*_NAME_COLUMNS, "suffix", "birth_city", "birth_state", "birth_country")


def _date_parts(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month, day of day numbers since 1970-01-01."""
    dt = days.astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dt - months).astype(np.int64) + 1
    return year, month, day


def _days_in_month(year: IntArray, month: IntArray) -> IntArray:
    """Length of each month."""
    first = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    return ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(np.int64)


def _iso(days: IntArray) -> pl.Series:
    """ISO date strings."""
    return pl.Series(days.astype("datetime64[D]")).cast(pl.String)


def _corrupt_birth_dates(
    days: IntArray, fmt: IntArray, chaotic: BoolArray, rng: np.random.Generator, log: _Log,
) -> pl.Series:
    """Birth dates with swaps, typos, off years, unknowns, placeholders, in each system format."""
    n = len(days)
    year, month, day = _date_parts(days)
    swap = (rng.random(n) < P_BIRTH_DATE_DAY_MONTH_SWAP) & (day <= 12) & (day != month)
    month, day = np.where(swap, day, month), np.where(swap, month, day)
    log.add("birth_date_day_month_swap", swap.sum())

    typo = (rng.random(n) < P_BIRTH_DATE_DIGIT_TYPO) | chaotic
    which = rng.integers(0, 4, n)
    shift = rng.integers(1, 10, n)
    new_year = np.where(typo & (which == 0), year - year % 10 + (year % 10 + shift) % 10, year)
    other_month = np.where(month < 10, (month - 1 + shift % 8 + 1) % 9 + 1,
                           10 + (month - 10 + 1 + shift % 2) % 3)
    new_month = np.where(typo & (which == 1), other_month, month)
    ones = day - day % 10 + (day % 10 + shift) % 10
    tens = (day % 10) + 10 * ((day // 10 + 1 + shift % 2) % 3)
    new_day = np.where(typo & (which == 2), ones, np.where(typo & (which == 3), tens, day))
    bad = (new_day < 1) | (new_day > _days_in_month(new_year, new_month))
    new_year = np.where(bad, year - year % 10 + (year % 10 + shift) % 10, new_year)
    new_month = np.where(bad, month, new_month)
    new_day = np.where(bad, day, new_day)
    year, month = new_year, new_month
    day = np.minimum(new_day, _days_in_month(year, month))
    log.add("birth_date_digit_typo", typo.sum())

    off = (rng.random(n) < P_BIRTH_DATE_YEAR_OFF) | chaotic
    year = np.where(off, year + np.where(rng.random(n) < 0.5, -1, 1), year)
    day = np.minimum(day, _days_in_month(year, month))
    log.add("birth_date_year_off", off.sum())

    u = rng.random(n)
    placeholder = u < P_BIRTH_DATE_PLACEHOLDER
    year = np.where(placeholder & (u < P_BIRTH_DATE_PLACEHOLDER / 2), 1900, year)
    month = np.where(placeholder, 1, month)
    day = np.where(placeholder, 1, day)
    log.add("birth_date_placeholder", placeholder.sum())
    zeros = (u >= P_BIRTH_DATE_PLACEHOLDER) & (u < P_BIRTH_DATE_PLACEHOLDER + P_BIRTH_DATE_ZEROS)
    missing = rng.random(n) < P_BIRTH_DATE_MISSING
    log.add("birth_date_zeros", zeros.sum())
    log.add("birth_date_missing", missing.sum())

    frame = pl.DataFrame({"y": year, "m": month, "d": day, "f": fmt, "z": zeros, "x": missing})
    y = pl.col("y").cast(pl.String).str.zfill(4)
    m = pl.col("m").cast(pl.String).str.zfill(2)
    d = pl.col("d").cast(pl.String).str.zfill(2)
    f = pl.col("f")
    return frame.select(
        pl.when(pl.col("x")).then(None)
        .when(pl.col("z") & (f == 0)).then(pl.lit("0000-00-00"))
        .when(pl.col("z") & (f == 1)).then(pl.lit("00000000"))
        .when(pl.col("z")).then(pl.lit("00/00/0000"))
        .when(f == 0).then(pl.concat_str([y, m, d], separator="-"))
        .when(f == 1).then(pl.concat_str([y, m, d]))
        .otherwise(pl.concat_str([m, d, y], separator="/"))
        .alias("birth_date")
    ).to_series()


def _spell(
    keys: IntArray, spellings: dict[int, tuple[IntArray, FloatArray]], rng: np.random.Generator,
) -> IntArray:
    """Pick a spelling for each key (keys without spellings stay as they are)."""
    out = keys.copy()
    for key, (ids, probs) in spellings.items():
        sel = np.flatnonzero(keys == key)
        if len(sel):
            out[sel] = ids[rng.choice(len(ids), size=len(sel), p=probs)]
    return out


_GRADES: Final = ("PK", "KG", *(f"{g:02d}" for g in range(1, 13)), "OS", "UG")


def _labels(options: Sequence[str], codes: IntArray) -> pl.Series:
    """`options[code]` for each code, null where the code is negative."""
    return _strings(pl.Series(list(options), dtype=pl.String), codes)


def _grades(enroll: IntArray, birth: IntArray, rng: np.random.Generator) -> pl.Series:
    """Grade from the age on September 1 of the school year (PK, KG, 01-12, OS, UG)."""
    year, month, _ = _date_parts(enroll)
    sy = np.where(month >= 8, year, year - 1)
    sep1 = (np.array([f"{y}-09-01" for y in range(1990, 2040)], dtype="datetime64[D]")
            .astype(np.int64))[sy - 1990]
    age = np.floor((sep1 - birth) / _DAYS_PER_YEAR).astype(np.int64)
    level = np.clip(age - 5 - (rng.random(len(age)) < 0.15), 0, 12)
    code = np.where(age <= 4, 0, level + 1)
    osy = ((age >= 15) & (rng.random(len(age)) < 0.15)) | (age >= 19)
    code = np.where(osy, np.where(rng.random(len(age)) < 0.8, 14, 15), code)
    return _labels(_GRADES, code)


@dataclass(frozen=True)
class _Batch:
    """The records being rendered: who they are about and who submits them."""

    child: IntArray
    fam: IntArray
    state: IntArray
    enroll: IntArray
    qad: IntArray
    system: IntArray
    hispanic: BoolArray
    chaotic: BoolArray
    """Records with almost every field wrong."""
    half_chaos: BoolArray
    """Half of the chaotic records (errors too strong to force on all of them)."""

    @property
    def n(self) -> int:
        """Number of records."""
        return len(self.child)

    def system_flag(self, attribute: str) -> BoolArray:
        """One boolean `SystemStyle` attribute per record."""
        flags = np.array([getattr(style, attribute) for style in SYSTEMS.values()], dtype=bool)
        return flags[self.system]


def _batch(world: _World, rows: slice, rng: np.random.Generator, log: _Log) -> _Batch:
    """The records `rows`, with their systems and which of them are chaotic."""
    child, state = world.rec_child[rows], world.rec_state[rows]
    fam = world.ch.fam[child]
    names = list(SYSTEMS)
    system = np.array([names.index(STATE_SYSTEM[s]) for s in _ALL_STATES])[state]
    chaotic = rng.random(len(child)) < P_CHAOTIC_RECORD
    log.add("chaotic_record", chaotic.sum())
    half_chaos = chaotic & (rng.random(len(child)) < 0.5)
    return _Batch(
        child=child, fam=fam, state=state, enroll=world.rec_enroll[rows],
        qad=world.rec_qad[rows], system=system, hispanic=world.fam.group[fam] <= 1,
        chaotic=chaotic, half_chaos=half_chaos,
    )


def _name_ids(
    world: _World, b: _Batch, rng: np.random.Generator, log: _Log,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """First, middle and surname ids after the vocabulary-level errors."""
    given, surnames = _given_names(), _surnames()
    first = world.ch.first[b.child]
    for kind, rate, table in (
        ("compound_shortened", P_COMPOUND_SHORTENED, given.shortened),
        ("compound_abbreviated", P_COMPOUND_ABBREVIATED, given.abbreviated),
        ("compound_joined", P_COMPOUND_JOINED, given.joined),
        ("nickname", P_NICKNAME, given.nickname),
        ("anglicised", P_ANGLICISED, given.anglicised),
    ):
        force = b.chaotic if kind in ("nickname", "anglicised", "compound_shortened") else None
        first, changed = _apply_variants(first, rate, table, rng, force)
        log.add(kind, changed)
    middle = world.ch.middle[b.child].copy()
    dropped = (middle >= 0) & (rng.random(b.n) < P_MIDDLE_NAME_DROPPED)
    middle[dropped] = -1
    log.add("middle_name_dropped", dropped.sum())
    split = (given.split_head[first] >= 0) & (rng.random(b.n) < P_COMPOUND_SPLIT)
    middle = np.where(split, given.split_rest[first], middle)
    first = np.where(split, given.split_head[first], first)
    log.add("compound_split", split.sum())
    first, changed = _apply_variants(first, P_FIRST_NAME_SOUND, given.sound, rng, b.chaotic)
    log.add("first_name_sound", changed)

    last: list[IntArray] = []
    for ids, force in ((world.ch.ln1[b.child], b.chaotic), (world.ch.ln2[b.child], None)):
        ids, changed = _apply_variants(ids, P_PARTICLE_VARIED, surnames.particle, rng)
        log.add("particle_varied", changed)
        ids, changed = _apply_variants(ids, P_LAST_NAME_SOUND, surnames.sound, rng, force)
        log.add("last_name_sound", changed)
        last.append(ids)
    return first, middle, last[0], last[1]


def _parents(
    world: _World, b: _Batch, rng: np.random.Generator, log: _Log,
) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """Parent 1 and 2 first and last names, with their own errors."""
    given = _given_names()
    gv, sv = given.vocab.series(), _surnames().vocab.series()
    fam, n = world.fam, b.n
    has_father = fam.has_father[b.fam]
    first = [fam.father_first[b.fam], fam.mother_first[b.fam]]
    for k in (0, 1):
        for table in (given.shortened, given.nickname):
            first[k], changed = _apply_variants(
                first[k], P_PARENT_FIRST_NAME_VARIANT / 2, table, rng)
            log.add("parent_first_name_variant", changed)
    last: list[pl.Series] = []
    for ln1, ln2 in ((fam.father_ln1, fam.father_ln2), (fam.mother_ln1, fam.mother_ln2)):
        both = b.hispanic & (rng.random(n) < P_PARENT_BOTH_SURNAMES)
        one = _strings(sv, ln1[b.fam])
        last.append(_where(both, one + " " + _strings(sv, ln2[b.fam]), one))
        log.add("parent_both_surnames", both.sum())
    father_last, mother_last = last
    married = has_father & np.where(b.hispanic, rng.random(n) < P_MOTHER_MARRIED_NAME,
                                    rng.random(n) < 0.8)
    mother_last = _where(married, _strings(sv, fam.father_ln1[b.fam]), mother_last)
    log.add("mother_married_name", (married & b.hispanic).sum())
    father_first, mother_first = _strings(gv, first[0]), _strings(gv, first[1])
    p1f = _where(has_father, father_first, mother_first)
    p1l = _where(has_father, father_last, mother_last)
    p2f = _set_null(mother_first, ~has_father)
    p2l = _set_null(mother_last, ~has_father)
    swap = rng.random(n) < P_PARENTS_SWAPPED
    p1f, p2f = _swap(p1f, p2f, swap)
    p1l, p2l = _swap(p1l, p2l, swap)
    log.add("parents_swapped", swap.sum())
    miss1 = (rng.random(n) < P_PARENT1_MISSING) | b.half_chaos
    miss2 = (rng.random(n) < P_PARENT2_MISSING) | b.half_chaos
    log.add("parent1_missing", miss1.sum())
    log.add("parent2_missing", miss2.sum())
    return _set_null(p1f, miss1), _set_null(p1l, miss1), _set_null(p2f, miss2), _set_null(
        p2l, miss2)


def _child_names(
    world: _World, b: _Batch, ids: tuple[IntArray, IntArray, IntArray, IntArray],
    rng: np.random.Generator, log: _Log,
) -> dict[str, pl.Series]:
    """first_name, middle_name, last_name_1, last_name_2 and suffix with structural errors."""
    first, middle, ln1, ln2 = ids
    gv, sv = _given_names().vocab.series(), _surnames().vocab.series()
    n = b.n
    first_s, middle_s = _strings(gv, first), _strings(gv, middle)
    ln1_s, ln2_s = _strings(sv, ln1), _strings(sv, ln2)
    has2 = ln2 >= 0
    swap = has2 & ((rng.random(n) < P_SURNAME_ORDER_SWAPPED) | b.half_chaos)
    ln1_s, ln2_s = _swap(ln1_s, ln2_s, swap)
    log.add("surname_order_swapped", swap.sum())
    u = rng.random(n)
    to_middle = has2 & (u < P_LAST_NAME_2_IN_MIDDLE)
    middle_s = _where(to_middle, (middle_s.fill_null("") + " " + ln2_s).str.strip_chars(),
                      middle_s)
    stuffed = has2 & ~to_middle & (u < P_LAST_NAME_2_IN_MIDDLE + P_SURNAMES_IN_LAST_NAME_1)
    hyphen = rng.random(n) < 0.3
    ln1_s = _where(stuffed & hyphen, ln1_s + "-" + ln2_s,
                   _where(stuffed, ln1_s + " " + ln2_s, ln1_s))
    keep2 = rng.random(n) < 0.25
    dropped = has2 & ~to_middle & ~stuffed & (
        (rng.random(n) < P_LAST_NAME_2_DROPPED) | (b.chaotic & ~b.half_chaos))
    ln2_s = _set_null(ln2_s, to_middle | (stuffed & ~keep2) | dropped)
    log.add("last_name_2_in_middle", to_middle.sum())
    log.add("surnames_in_last_name_1", stuffed.sum())
    log.add("last_name_2_dropped", dropped.sum())

    junior = world.ch.junior[b.child]
    suffix = _labels(("Jr", "JR", "Jr."), _choice(rng, (0.5, 0.2, 0.3), n))
    in_last = junior & (rng.random(n) < P_SUFFIX_IN_LAST_NAME)
    ln1_s = _where(in_last, ln1_s + " " + suffix, ln1_s)
    suffix_dropped = junior & ~in_last & (rng.random(n) < P_SUFFIX_DROPPED)
    suffix = _set_null(suffix, ~junior | in_last | suffix_dropped)
    log.add("suffix_in_last_name", in_last.sum())
    log.add("suffix_dropped", suffix_dropped.sum())

    swap = (rng.random(n) < P_FIRST_LAST_SWAPPED) | b.half_chaos
    first_s, ln1_s = _swap(first_s, ln1_s, swap)
    log.add("first_last_swapped", swap.sum())
    return {"first_name": first_s, "middle_name": middle_s, "last_name_1": ln1_s,
            "last_name_2": ln2_s, "suffix": suffix}


def _birth_place(
    world: _World, b: _Batch, rng: np.random.Generator, log: _Log,
) -> dict[str, pl.Series]:
    """birth_city, birth_state and birth_country as clerks spell them."""
    places = _places()
    pv = places.vocab.series()

    def missing(column: str, values: pl.Series, rate: float, force: BoolArray) -> pl.Series:
        miss = (rng.random(b.n) < rate) | force
        log.add(f"{column}_missing", miss.sum())
        return _set_null(values, miss)

    city, k = _typo(_strings(pv, world.ch.city[b.child]), rng.random(b.n) < P_BIRTH_CITY_TYPO,
                    rng)
    log.add("birth_city_typo", k)
    city = missing("birth_city", city, P_BIRTH_CITY_MISSING, b.chaotic)
    state = _strings(pv, _spell(world.ch.birth_state[b.child], places.state_spellings, rng))
    state = missing("birth_state", state, P_BIRTH_STATE_MISSING, b.chaotic)
    country = _strings(pv, _spell(world.ch.country[b.child], places.country_spellings, rng))
    country = missing("birth_country", country, P_BIRTH_COUNTRY_MISSING, b.half_chaos)
    return {"birth_city": city, "birth_state": state, "birth_country": country}


def _any_non_ascii(frame: pl.DataFrame) -> BoolArray:
    """Which rows have a non-ASCII character in a name column."""
    return frame.select(
        pl.any_horizontal(pl.col(x).str.contains(r"[^\x00-\x7F]").fill_null(False)
                          for x in _NAME_COLUMNS)
    ).to_series().to_numpy()


def _punctuation(column: str, flag: str) -> pl.Expr:
    """One punctuation slip in `column` where `flag` is set."""
    x = pl.col(column)
    return (
        pl.when(~pl.col(flag)).then(x)
        .when(x.str.contains("-", literal=True)).then(x.str.replace_all("-", " ", literal=True))
        .when(x.str.contains("'", literal=True)).then(x.str.replace_all("'", "", literal=True))
        .when(x.str.contains(" ", literal=True) & pl.col("_dbl"))
        .then(x.str.replace(" ", "  ", literal=True))
        .when(x.str.contains(" ", literal=True)).then(x.str.replace(" ", "-", literal=True))
        .when(pl.col("_dbl")).then(x + " ")
        .otherwise(x + ".")
        .alias(column)
    )


def _text_effects(
    frame: pl.DataFrame, b: _Batch, rng: np.random.Generator, log: _Log,
) -> pl.DataFrame:
    """Whole-record effects on text: accents, case, mojibake, punctuation."""
    accented, folded, garbled = _char_maps()
    n = b.n
    upper, keeps_accents = b.system_flag("upper"), b.system_flag("keeps_accents")
    drop_accents = ~keeps_accents | (rng.random(n) < P_ACCENTS_DROPPED)
    log.add("accents_dropped", (drop_accents & _any_non_ascii(frame) & keeps_accents).sum())
    case_noise = rng.random(n) < P_CASE_NOISE
    log.add("case_noise", case_noise.sum())
    lower = case_noise & ~upper & (rng.random(n) < 0.7)
    frame = frame.with_columns(
        _drop=pl.Series(drop_accents), _up=pl.Series((upper ^ case_noise) & ~lower),
        _low=pl.Series(lower), _title=pl.Series(case_noise & upper),
    ).with_columns(
        pl.when(pl.col("_drop")).then(pl.col(x).str.replace_many(accented, folded))
        .otherwise(pl.col(x)).alias(x)
        for x in _TEXT_COLUMNS
    ).with_columns(
        pl.when(pl.col("_up")).then(pl.col(x).str.to_uppercase())
        .when(pl.col("_low") & pl.lit(x in _NAME_COLUMNS)).then(pl.col(x).str.to_lowercase())
        .when(pl.col("_title") & pl.lit(x in _NAME_COLUMNS)).then(pl.col(x).str.to_titlecase())
        .otherwise(pl.col(x)).alias(x)
        for x in _TEXT_COLUMNS
    )
    moji = _any_non_ascii(frame) & (rng.random(n) < P_MOJIBAKE)
    log.add("mojibake", moji.sum())
    frame = frame.with_columns(_moji=pl.Series(moji)).with_columns(
        pl.when(pl.col("_moji")).then(pl.col(x).str.replace_many(accented, garbled))
        .otherwise(pl.col(x)).alias(x)
        for x in _TEXT_COLUMNS
    )
    punct = rng.random(n) < P_PUNCTUATION_NOISE
    on_first = rng.random(n) < 0.5
    doubled = rng.random(n) < 0.4
    log.add("punctuation_noise", punct.sum())
    return frame.with_columns(
        _pf=pl.Series(punct & on_first), _pl=pl.Series(punct & ~on_first),
        _dbl=pl.Series(doubled),
    ).with_columns(_punctuation("first_name", "_pf"), _punctuation("last_name_1", "_pl"))


def _sex(world: _World, b: _Batch, rng: np.random.Generator, log: _Log) -> pl.Series:
    """M, F or U, miscoded or missing at the documented rates."""
    sex = world.ch.sex[b.child]
    u = rng.random(b.n)
    miscoded = u < P_SEX_MISCODED
    unknown = (u >= P_SEX_MISCODED) & (u < P_SEX_MISCODED + P_SEX_UNKNOWN)
    missing = (rng.random(b.n) < P_SEX_MISSING) | b.half_chaos
    log.add("sex_miscoded", miscoded.sum())
    log.add("sex_unknown", unknown.sum())
    log.add("sex_missing", missing.sum())
    code = np.where(missing, -1, np.where(unknown, 2, np.where(miscoded, 1 - sex, sex)))
    return _labels(("M", "F", "U"), code)


def _render(world: _World, rows: slice, rng: np.random.Generator, log: _Log) -> pl.DataFrame:
    """Records `rows` as their states submitted them, errors included (no ids yet)."""
    b = _batch(world, rows, rng, log)
    ids = _name_ids(world, b, rng, log)
    p1f, p1l, p2f, p2l = _parents(world, b, rng, log)
    names = _child_names(world, b, ids, rng, log)
    parents = {"parent1_first_name": p1f, "parent1_last_name": p1l,
               "parent2_first_name": p2f, "parent2_last_name": p2l}
    no_force = np.zeros(b.n, dtype=bool)
    for column, kind, rate, force in (
        ("first_name", "first_name_typo", P_FIRST_NAME_TYPO, b.chaotic),
        ("middle_name", "middle_name_typo", P_MIDDLE_NAME_TYPO, no_force),
        ("last_name_1", "last_name_typo", P_LAST_NAME_TYPO, b.chaotic),
        ("last_name_2", "last_name_typo", P_LAST_NAME_TYPO, no_force),
    ):
        names[column], k = _typo(names[column], (rng.random(b.n) < rate) | force, rng)
        log.add(kind, k)
    for column, values in parents.items():
        parents[column], k = _typo(values, rng.random(b.n) < P_PARENT_NAME_TYPO, rng)
        log.add("parent_name_typo", k)
    frame = _text_effects(
        pl.DataFrame({**names, **parents, **_birth_place(world, b, rng, log)}), b, rng, log)

    sex = _sex(world, b, rng, log)
    fmt = np.array([_DATE_FORMATS.index(s.date_format) for s in SYSTEMS.values()])[b.system]
    birth = _corrupt_birth_dates(world.ch.birth[b.child], fmt, b.half_chaos, rng, log)
    multiple = world.ch.multiple[b.child]
    blank = multiple & (rng.random(b.n) < P_MULTIPLE_BIRTH_FLAG_BLANK)
    writes_n = b.system_flag("writes_n") & (rng.random(b.n) < 0.9)
    flag = np.where(multiple & ~blank, 0, np.where(writes_n, 1, -1))
    log.add("multiple_birth_flag_blank", blank.sum())
    qad_missing = rng.random(b.n) < P_QUALIFYING_ARRIVAL_DATE_MISSING
    log.add("qualifying_arrival_date_missing", qad_missing.sum())
    grade = _set_null(_grades(b.enroll, world.ch.birth[b.child], rng),
                      rng.random(b.n) < P_GRADE_MISSING)
    log.add("grade_missing", grade.null_count())
    return frame.with_columns(
        _labels(_ALL_STATES, b.state).alias("state"),
        _labels(list(SYSTEMS), b.system).alias("source_system"),
        sex.alias("sex"),
        birth.alias("birth_date"),
        _labels(("Y", "N"), flag).alias("multiple_birth_flag"),
        _iso(b.enroll).alias("enrollment_date"),
        _set_null(_iso(b.qad), qad_missing).alias("qualifying_arrival_date"),
        grade.alias("grade"),
    )


def _local_ids(world: _World, rng: np.random.Generator, log: _Log) -> pl.Series:
    """State student ids: one per child and state, sometimes renewed on return, some missing."""
    n = len(world.rec_child)
    key = world.rec_child * len(_ALL_STATES) + world.rec_state
    order = np.lexsort((world.rec_enroll, key))
    ks = key[order]
    first = np.ones(n, dtype=bool)
    first[1:] = ks[1:] != ks[:-1]
    renew = ~first & (rng.random(n) < P_LOCAL_ID_NEW_ON_RETURN)
    log.add("local_id_new_on_return", renew.sum())
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.cumsum(first | renew)
    width = 9 + world.rec_state % 3
    value = (seq * 2654435761 + 7919 * world.rec_state + 104729) % (10 ** width)
    ids = pl.DataFrame({"v": value, "w": width}).select(
        pl.col("v").cast(pl.String).str.zfill(pl.col("w"))
    ).to_series()
    missing = rng.random(n) < P_LOCAL_ID_MISSING
    log.add("local_id_missing", missing.sum())
    return _set_null(ids, missing).alias("local_student_id")


# --- Public API ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Synthetic:
    """A generated data set: records, their truth, and how often each error kind occurred."""

    records: pl.DataFrame
    truth: pl.DataFrame
    error_counts: dict[str, int]


def _prefixed(prefix: str, values: IntArray, width: int = 7) -> pl.Series:
    """Ids like F-0000123 (null where the value is negative)."""
    digits = _set_null(pl.Series(values).cast(pl.String).str.zfill(width), values < 0)
    return prefix + digits


def _record_ids(rec_state: IntArray) -> pl.Series:
    """Record ids numbered per state in record order, like TX-0000123."""
    order = np.argsort(rec_state, kind="stable")
    number = np.empty(len(rec_state), dtype=np.int64)
    number[order] = np.arange(len(order)) - _group_starts(rec_state[order]) + 1
    return (_labels(_ALL_STATES, rec_state) + _prefixed("-", number)).alias("record_id")


def generate_detailed(n_records: int, seed: int = 0) -> Synthetic:
    """Generate `n_records` records with truth and error counts (deterministic in `seed`)."""
    if n_records < 1:
        raise ValueError(f"'n_records' must be a positive integer; got {n_records!r}")
    if seed < 0:
        raise ValueError(f"'seed' must be a non-negative integer; got {seed!r}")
    n_families = max(8, int(n_records / 4.0) + 20)
    attempt = 0
    while True:
        rng = np.random.default_rng([seed, attempt])
        world = _make_world(n_families, rng)
        if len(world.rec_child) >= n_records:
            break
        n_families = int(n_families * 1.5) + 10
        attempt += 1
    _truncate(world, n_records, rng.permutation(n_records))
    log = _Log()
    extra = pl.DataFrame([_record_ids(world.rec_state), _local_ids(world, rng, log)])
    records = pl.concat(
        [
            _render(world, slice(i, i + _CHUNK), rng, log)
            .hstack(extra.slice(i, _CHUNK))
            .select(COLUMNS)
            for i in range(0, n_records, _CHUNK)
        ],
        rechunk=False,
    )
    c = world.rec_child
    birth_group = np.where(world.ch.multiple[c], world.ch.birth_group[c], -1)
    truth = pl.DataFrame([
        extra.get_column("record_id"),
        _prefixed("C-", c).alias("child_id"),
        _prefixed("F-", world.ch.fam[c]).alias("family_id"),
        _prefixed("B-", birth_group).alias("birth_group_id"),
    ])
    return Synthetic(records, truth, log.counts)


def _truncate(world: _World, n_records: int, order: IntArray) -> None:
    """Keep the first `n_records` enrollments (whole families bar the last), in `order`."""
    world.rec_child = world.rec_child[:n_records][order]
    world.rec_state = world.rec_state[:n_records][order]
    world.rec_enroll = world.rec_enroll[:n_records][order]
    world.rec_qad = world.rec_qad[:n_records][order]


def generate(n_records: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (records, truth): canonical records and each record's child, family and birth."""
    out = generate_detailed(n_records, seed)
    return out.records, out.truth


def write(
    out_dir: str | Path, n_records: int, seed: int = 0, fmt: str = "csv",
) -> dict[str, Path]:
    """Write records.<fmt> and truth.csv (fmt csv or parquet); return paths."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"'fmt' must be 'csv' or 'parquet'; got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records, truth = generate(n_records, seed)
    paths = {"records": out / f"records.{fmt}", "truth": out / "truth.csv"}
    if fmt == "csv":
        records.write_csv(paths["records"])
    else:
        records.write_parquet(paths["records"])
    truth.write_csv(paths["truth"])
    return paths


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}; got {text!r}")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: python -m benchmarks.synthetic --records N --seed S --out DIR."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synthetic",
                                     description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=_count(1), required=True, help="number of records")
    parser.add_argument("--seed", type=_count(0), default=0, help="random seed (default 0)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = write(args.out, args.records, args.seed, args.format)
    elapsed = time.perf_counter() - started
    for name, path in paths.items():
        print(f"{name}: {path}")
    print(f"{args.records} records in {elapsed:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
