"""Name normalisers for Hispanic and English names.

Given names: abbreviations ('Ma.' -> MARIA), fused compounds ('Juancarlos' -> JUAN CARLOS) and
nickname groups (Lupe, Guadalupe -> GUADALUPE). Surnames: particles joined ('de la Cruz' ->
DELACRUZ), two surnames in one field split into paternal and maternal. A Spanish-aware phonetic
key for blocking. All functions take and return `pl.Expr` except the vocabulary helpers, which
work once per distinct name, never per pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import polars as pl

from features.reference_data import (
    curated_name_groups,
    given_name_groups,
    name_abbreviations,
    wide_name_groups,
)
from features.text import compact, null_if_blank

PARTICLE_PHRASES = {"DE LOS ": "DELOS", "DE LAS ": "DELAS", "DE LA ": "DELA", "VAN DER ": "VANDER",
                    "VAN DEN ": "VANDEN"}
PARTICLES = ("DELA", "DELOS", "DELAS", "DEL", "DE", "LA", "LAS", "LOS", "DA", "DOS", "DI", "VAN",
             "VON", "MC", "MAC", "SAN", "SANTA")
"""Surname particles glued to the following word: 'DE LA CRUZ' and 'DELACRUZ' become one form."""

_CORE_PREFIX = r"^(DELOS|DELAS|DELA)([A-Z]{3,})$"


def expand_abbreviations(folded: pl.Expr) -> pl.Expr:
    """Expand abbreviated given-name words ('MA GUADALUPE' -> 'MARIA GUADALUPE')."""
    table = name_abbreviations()
    words = folded.str.split(" ").list.eval(pl.element().replace(table))
    return words.list.join(" ")


def join_particles(folded: pl.Expr) -> pl.Expr:
    """Glue particles to the next word: 'GARCIA DE LA CRUZ' -> 'GARCIA DELACRUZ'; ' Y ' splits."""
    out = (" " + folded + " ").str.replace_all(" Y ", " ")
    out = out.str.replace_many([" " + k for k in PARTICLE_PHRASES],
                               [" " + v for v in PARTICLE_PHRASES.values()])
    pattern = r" (" + "|".join(PARTICLES) + r") (?P<next>[A-Z])"
    out = out.str.replace_all(pattern, r" ${1}${next}")
    return null_if_blank(out)


def surname_core(joined: pl.Expr) -> pl.Expr:
    """The surname without a leading DE LA / DE LOS particle ('DELACRUZ' -> 'CRUZ')."""
    return joined.str.replace(_CORE_PREFIX, "${2}")


def split_surnames(last_1: pl.Expr, last_2: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Paternal and maternal surname from two fields.

    When the maternal field is empty and the paternal holds two words ('GARCIA LOPEZ',
    'GARCIA-LOPEZ'), the second word moves to the maternal surname. When the paternal field
    holds both and the maternal repeats its last word ('GARCIA LOPEZ' and 'LOPEZ': a system
    that keeps the full surname in the first field), the repeat is dropped from the paternal.
    Both results are compacted.
    """
    words = last_1.str.split(" ")
    first_word = words.list.first()
    rest = words.list.slice(1).list.join("")
    two_in_one = last_2.is_null() & last_1.str.contains(" ")
    repeated = (words.list.len() > 1) & (words.list.last() == compact(last_2))
    paternal = (pl.when(two_in_one).then(first_word)
                .when(repeated.fill_null(False))
                .then(words.list.slice(0, words.list.len() - 1).list.join(""))
                .otherwise(compact(last_1)))
    maternal = pl.when(two_in_one).then(null_if_blank(rest)).otherwise(compact(last_2))
    return paternal, maternal


def spanish_phonetic(folded: pl.Expr) -> pl.Expr:
    """A phonetic key that treats Spanish spellings alike.

    b/v, s/z/c(e,i), y/ll, silent h, g(e,i)/j, initial x/j, qu/k, doubled letters; vowels after
    the first letter are dropped. 'HERNANDEZ' and 'HERNANDES' -> 'ERNDS'; 'VAZQUEZ' and
    'BASQUES' -> 'BSKS'; 'YESENIA' and 'LLESENIA' -> 'YSN'.
    """
    s = compact(folded)
    rules = [
        ("PH", "F"), ("CH", "1"), ("LL", "Y"), ("QU", "K"), ("GUE", "2E"), ("GUI", "2I"),
        ("CE", "SE"), ("CI", "SI"), ("GE", "JE"), ("GI", "JI"), ("2", "G"), ("C", "K"),
        ("Z", "S"), ("V", "B"), ("W", "U"), ("H", ""),
    ]
    for old, new in rules:
        s = s.str.replace_all(old, new, literal=True)
    s = s.str.replace(r"^X", "J").str.replace_all("X", "KS", literal=True)
    s = s.str.replace_all(r"Y([^AEIOU]|$)", "I${1}")
    doubles = [c * 2 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    s = s.str.replace_many(doubles, [d[0] for d in doubles])
    s = s.str.slice(0, 1) + s.str.slice(1).str.replace_all(r"[AEIOUY]", "")
    s = s.str.replace_many(doubles, [d[0] for d in doubles]).str.replace_all("1", "C", literal=True)
    return null_if_blank(s)


@cache
def curated_vocabulary() -> frozenset[str]:
    """Every name our own table (`given_names.csv`) knows."""
    groups = curated_name_groups()
    return frozenset(groups["name"].to_list()) | frozenset(groups["group"].to_list())


@cache
def given_name_vocabulary() -> frozenset[str]:
    """Every known given name and nickname (the equivalence data file)."""
    groups = given_name_groups()
    return frozenset(groups["name"].to_list()) | frozenset(groups["group"].to_list())


@cache
def formal_given_names() -> frozenset[str]:
    """The formal names of the equivalence groups (JUAN, CARLOS, FERNANDA; not the nicknames
    JENN or FER): what a fused compound is made of."""
    return frozenset(given_name_groups()["group"].to_list())


def fused_name_splits(words: Iterable[str]) -> dict[str, str]:
    """Split fused compounds that are two formal names ('JUANCARLOS' -> 'JUAN CARLOS').

    Runs once per distinct word; a word that is itself a known name is never split, and
    nicknames are not parts: JENNFER is a typo of JENNIFER, not JENN + FER.
    """
    known, formal = given_name_vocabulary(), formal_given_names()
    splits: dict[str, str] = {}
    for word in words:
        if word in known or len(word) < 6:
            continue
        for cut in range(3, len(word) - 2):
            head, tail = word[:cut], word[cut:]
            if head in formal and tail in formal:
                splits[word] = f"{head} {tail}"
                break
    return splits


@cache
def nickname_group_table(wide: bool = False) -> dict[str, str]:
    """name -> '|'-joined sorted groups, for a vectorised lookup (`wide`: `wide_name_groups`)."""
    groups = wide_name_groups() if wide else given_name_groups()
    grouped = groups.group_by("name").agg(pl.col("group").sort().str.join("|").alias("groups"))
    return dict(zip(grouped["name"], grouped["groups"], strict=True))


def name_groups(word: pl.Expr, *, wide: bool = False) -> pl.Expr:
    """List of equivalence groups of one given-name word; an unknown name is its own group."""
    table = nickname_group_table(wide)
    return word.replace_strict(table, default=word, return_dtype=pl.String).str.split("|")


@cache
def representative_table() -> dict[str, str]:
    """name -> one canonical form for blocking keys (PACO -> FRANCISCO).

    Our curated table decides first: a name that is one of its groups stands for itself, any
    other name it lists takes its first group there; names only the generic English list knows
    stand for themselves when formal, else take their first group. Equivalence is not
    transitive (BETO belongs to ALBERTO and ROBERTO; MARY and MARIA are both formal), so no
    single form serves every pair: comparisons use group overlap, and other blocking rules
    cover what this key misses."""
    curated = curated_name_groups()
    curated_formal = set(curated["group"].to_list())
    curated_first = dict(curated.group_by("name").agg(pl.col("group").min()).iter_rows())
    formal = set(given_name_groups()["group"].to_list())
    table = {}
    for name, joined in nickname_group_table().items():
        if name in curated_formal:
            table[name] = name
        elif name in curated_first:
            table[name] = curated_first[name]
        else:
            table[name] = name if name in formal else joined.split("|")[0]
    return table


def name_representative(word: pl.Expr) -> pl.Expr:
    """One canonical form per word, for blocking keys and compound-name parts."""
    return word.replace_strict(representative_table(), default=word, return_dtype=pl.String)
