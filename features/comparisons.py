"""Comparisons: small declarative objects made of levels.

A comparison has a null level (missing is not disagreement) and an ordered list of levels; a
pair gets the first level whose predicate holds, the last level being 'else'. Levels carry a
readable label, an optional term-frequency column, and a flag saying the level means "clearly a
different given name" (the twin guard reads it).

`compare()` evaluates every comparison over candidate pairs: vectorised in polars
(`compare_vectorised`), or for the few pairs of one record matched online in plain Python once
per distinct pair of values (`compare_plain`, made of `reference_gamma()`, the per-pair
reference the tests hold the vectorised path to).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from operator import itemgetter
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import process

from features.predicates import (
    SIMILARITY_SCORERS,
    AgeComparable,
    AgeFitsBirthYear,
    AllNull,
    Always,
    And,
    AnyNull,
    DayMonthSwap,
    Equal,
    GenderVariant,
    IsTrue,
    ListOverlap,
    Not,
    OneSideShort,
    Predicate,
    Prefix,
    Row,
    Similar,
    Subset,
    YearOff,
    both,
    either,
    leaves,
    shared_expr,
    similarity_column,
    similarity_sides,
)

NULL_LEVEL = -1
SMALL_COMPARE_PAIRS = 200
"""Up to this many pairs `compare` runs in plain Python (`compare_plain`): each polars
expression costs tens of microseconds whatever the rows, and the level chains have hundreds
of them, while one record's few hundred candidates share most of their values."""
COMPARE_CHUNK = 250_000
"""Candidate pairs compared at once; bounds the memory of the frames of their values."""


@dataclass(frozen=True)
class Level:
    label: str
    predicate: Predicate
    tf_column: str | None = None
    different_name: bool = False
    """The level says the given names belong to different people (used by the twin guard)."""
    gendered: bool = False
    """Male and female forms of one name: twins only if the sexes differ too."""
    same_name: bool = False
    """The level says the given names are one name (exact, nickname, compound part, swap)."""
    spelling: bool = False
    """The given names differ in spelling only: a typo, a sound-alike or a known form of one
    name. Beside such names a second recorded sex may be a typo too (used by the twin
    guard)."""
    typo: bool = False
    """The given names are one name misspelt (a sound-alike or a near spelling), not another
    form of it: where two groups' strong and flagged pairs tie, such a pair shows the record
    is that child (used by clustering, as the very same names are)."""


@dataclass(frozen=True)
class Comparison:
    name: str
    kind: str
    null: Predicate
    levels: tuple[Level, ...]
    identifier: bool = False
    """Exact agreement identifies one person (a national id): it lifts the twin guard."""
    family_level: bool = False
    """Agreement is shared by siblings (parents, birth place): it cannot tell them apart."""
    extra_columns: tuple[str, ...] = field(default=())
    primary: tuple[str, ...] = field(default=())
    """The prepared columns this comparison is about; a blocking rule on them conditions it."""
    null_label: str | None = None
    """What the null level means when it is more than missing values (shown to reviewers)."""

    @property
    def gamma_column(self) -> str:
        return f"gamma_{self.name}"

    def columns(self) -> set[str]:
        """Prepared columns this comparison reads (used to know what a blocking rule fixes)."""
        cols = set(self.null.columns()) | set(self.extra_columns)
        for level in self.levels:
            cols |= level.predicate.columns()
            if level.tf_column:
                cols.add(level.tf_column)
        return cols

    @cached_property
    def sorted_columns(self) -> tuple[str, ...]:
        """`columns()` in order, computed once (the plain path asks for every record)."""
        return tuple(sorted(self.columns()))

    def similarities(self) -> set[tuple[str, str]]:
        return self.null.similarities().union(
            *(lvl.predicate.similarities() for lvl in self.levels))

    def gamma_expr(self, shared: Mapping[Predicate, str] | None = None) -> pl.Expr:
        """The level of each pair; leaves named in `shared` are read from columns."""
        return self._chain(shared) if shared else self._gamma_expr

    @cached_property
    def _gamma_expr(self) -> pl.Expr:
        """Built once: building the chain costs more than running it on a few pairs."""
        return self._chain({})

    def _chain(self, shared: Mapping[Predicate, str]) -> pl.Expr:
        chain: Any = pl.when(shared_expr(self.null, shared)).then(
            pl.lit(NULL_LEVEL, dtype=pl.Int8))
        for index, level in enumerate(self.levels[:-1]):
            chain = chain.when(shared_expr(level.predicate, shared)).then(
                pl.lit(index, dtype=pl.Int8))
        return chain.otherwise(pl.lit(len(self.levels) - 1, dtype=pl.Int8)).alias(
            self.gamma_column)

    def reference_gamma(self, left: Row, right: Row) -> int:
        """Slow per-pair evaluation (tests only)."""
        if self.null.holds(left, right):
            return NULL_LEVEL
        for index, level in enumerate(self.levels):
            if level.predicate.holds(left, right):
                return index
        return len(self.levels) - 1

    def labels(self) -> list[str]:
        return [level.label for level in self.levels]

    def level_index(self, label: str) -> int:
        """Index of the level with this label (ValueError if there is none)."""
        return self.labels().index(label)


# --- the library -----------------------------------------------------------------------------


def _crosswise(given_side: str, surname: str, known: str) -> tuple[Predicate, Predicate]:
    """The given name on `given_side` against a surname field on the other side: (the same
    word letter for letter, both known given names)."""
    other_side = "r" if given_side == "l" else "l"
    same_word = Equal("fn1", surname) if given_side == "l" else Equal(surname, "fn1")
    return same_word, both(IsTrue("fn1_known", given_side), IsTrue(known, other_side))


def names_swapped() -> Predicate:
    """Each record's first name is among the other's surnames: exactly (first word against
    the first surname, or the whole fields), or by sound against either surname, the given
    names sounding different. The sound covers a rotation through the second surname
    (KAREN SANCHEZ ESPINOZA against ESPINOSA | KAREN: state systems split Hispanic names into
    the wrong fields) as well as a plain swap, with a typo on either side. Two different
    given names we know are never a typo of each other, even when they sound alike: LOPEZ |
    JOSUE against JESUS | LOPEZ, or DANIEL against DANIELA, are two children (twins), not a
    swap."""
    surnames = (("ln1", "ln1_phon", "ln1_known"), ("ln2", "ln2_phon", "ln2_known"))

    def sounds_alike(given_side: str) -> Predicate:
        """The given name on `given_side` sounds like a surname on the other side, and the
        two are not two different known given names."""
        def one(surname: str, phon: str, known: str) -> Predicate:
            same_sound = (Equal("fn_phon", phon) if given_side == "l"
                          else Equal(phon, "fn_phon"))
            same_word, two_names = _crosswise(given_side, surname, known)
            return both(same_sound, either(same_word, Not(two_names)))
        return either(*(one(*columns) for columns in surnames))

    return either(names_swapped_exactly(),
                  both(sounds_alike("l"), sounds_alike("r"), Not(Equal("fn_phon"))))


def names_swapped_exactly() -> Predicate:
    """`names_swapped` without typos: the first word against the first surname, or the
    whole fields, letter for letter both ways."""
    return either(both(Equal("fn1", "ln1"), Equal("ln1", "fn1")),
                  both(Equal("fn", "ln_full"), Equal("ln_full", "fn")))


def names_swapped_with_typos() -> Predicate:
    """Each record's first name is the other's first surname, both ways, one letter off at
    most on each (GUSTAVO | TAPIA against TAPIA | GUSAVO, ALBERTO | PRCHECO against PACHECO |
    ALBERTO), neither crosswise pair two different known given names (LUIS | GARCIA against
    GARCIA | LUISA are twins, not a swap). A name more than one letter off is no typo of it
    (GUTIERREZ | VALEONTINA against VALERIA | GUTIERREZ: the twin VALERIA as likely)."""
    def two_names(given_side: str) -> Predicate:
        same_word, known = _crosswise(given_side, "ln1", "ln1_known")
        return both(known, Not(same_word))
    return both(Similar("fn", "damerau_levenshtein", 1, other="ln1"),
                Similar("ln1", "damerau_levenshtein", 1, other="fn"),
                Not(two_names("l")), Not(two_names("r")))


SOUND_ALIKE_FLOOR = 0.7
"""Given names with one sound key count as alike only if their spellings are this similar
(Jaro-Winkler): a typo or a Spanish spelling (BALERIA/VALERIA 0.90, CINTHIA/SYNTHIA 0.81), not
another name (JOZE/JESUS 0.48)."""


SWAPPED_WITH_TYPOS = "first and last name swapped, with typos"
"""The level of `names_swapped_with_typos` in the given-name comparison (the surname comparison
reads a swap as no evidence: one swap is weighed once)."""
SAME_GIVEN_NAMES = "same given names, split differently"
"""The given-name level of the very same names written across the first and middle fields."""
VERY_SAME_NAME = ("exact", SAME_GIVEN_NAMES)
"""The given-name levels of the very same names, letter for letter (what a declared multiple
birth needs to link on its own; the links a rebuilt component takes first)."""


def given_name_comparison(name: str = "first_name", thresholds: Sequence[float] = (0.92, 0.8)
                          ) -> Comparison:
    high, low = thresholds[0], thresholds[-1]
    swapped = names_swapped()
    same_first_part = either(Equal("fn_head"), ListOverlap("fn1_groups"))
    # JESUS | RAMIREZ against JESUS ESTEBAN ROMERO RAMIREZ: a surname in the middle-name
    # field (the second surname moved there) is not a second given name
    second_is_surname = either(Equal("fn_second", "ln1"), Equal("fn_second", "ln2"),
                               Equal("ln1", "fn_second"), Equal("ln2", "fn_second"))
    # JOSE DUIS against JOSE LUIS: one letter apart, not two names, is a typo
    second_typo = both(Similar("fn_second", "damerau_levenshtein", 1),
                       Not(IsTrue("second_firm", "both")))
    second_names_differ = both(Not(AnyNull(("fn_second",))),
                               Not(Similar("fn_second", "jaro_winkler", 0.85)),
                               Not(second_is_surname), Not(second_typo))
    # MARIA | GUADALUPE against MARIA FERNANDA | GUADALUPE: one side's given names all appear
    # on the other (a second name dropped or moved), not two people
    within = Subset("given_all")
    # JUAN J. against JUAN PABLO: an abbreviated second name that disagrees is another child
    initials_differ = both(IsTrue("fn2_short"), Not(AnyNull(("second_initial",))),
                           Not(Equal("second_initial")))
    compound_conflict = both(same_first_part,
                             either(both(second_names_differ, Not(within)), initials_differ))
    return Comparison(name, "given_name", AnyNull(("fn",)), (
        Level("same first name, different second given name", compound_conflict,
              different_name=True),
        Level("exact", Equal("fn"), tf_column="fn", same_name=True),
        # MARIA | FERNANDA against MARIA FERNANDA: the very same given names, one of them
        # written in the middle-name field (what a declared twin's two records may say)
        Level(SAME_GIVEN_NAMES, Equal("given_full"), same_name=True),
        Level("male/female form of one name", GenderVariant("fn1"), different_name=True,
              gendered=True),
        Level("nickname or equivalent form",
              both(ListOverlap("fn1_groups"), Equal("fn_nparts")), same_name=True,
              spelling=True),
        # MANNY against JOSE MANUEL, JESUS against JESSE ANTONIO: one given name, a known form
        # of a part of the other's compound (by group, as the nickname level reads it)
        Level("compound name part",
              either(Subset("fn_parts"),
                     both(AnyNull(("fn_rest",)), Not(Equal("fn_nparts")),
                          ListOverlap("fn_groups_all"))), same_name=True),
        Level("given names within the other's first and middle names", within,
              same_name=True),
        Level("first and last name swapped", names_swapped_exactly(), same_name=True),
        # a declared multiple birth does not take a swap read through typos as one name
        Level("first and last name swapped, by sound", swapped, same_name=True),
        Level(SWAPPED_WITH_TYPOS, names_swapped_with_typos(), same_name=True),
        # where our table knows both names it tells ANGEL from ANGELICA and ANNA from HANNAH
        # (twins' names), which the generic list joins; beside agreeing middle names (RACHEL J
        # against SHELLY JULIE) the list is read there too: twins seldom share both
        Level("nicknames in the English list",
              both(ListOverlap("fn1_wide"), Equal("fn_nparts"),
                   either(Not(IsTrue("fn1_curated", "both")), Equal("mn_initial"))),
              spelling=True),
        Level("two different known names", both(IsTrue("fn1_known", "both"), Not(Equal("fn1"))),
              different_name=True),
        # the Spanish sound key drops vowels: JOZE and JESUS share it, JOSE and JOZE also
        # look alike
        Level("first given names sound alike",
              both(Equal("fn_phon"), Similar("fn", "jaro_winkler", SOUND_ALIKE_FLOOR)),
              spelling=True, typo=True),
        Level("initial agrees", both(OneSideShort("fn"), Equal("fn_initial"))),
        Level("one name begins the other", Prefix("fn", 3)),
        Level(f"jaro-winkler >= {high}", Similar("fn", "jaro_winkler", high), spelling=True,
              typo=True),
        Level(f"jaro-winkler >= {low}", Similar("fn", "jaro_winkler", low), spelling=True,
              typo=True),
        Level("only an initial, another letter", OneSideShort("fn")),
        Level("different", Always(), different_name=True),
    ), primary=("fn",))


def middle_name_comparison(name: str = "middle_name") -> Comparison:
    one_is_initial = either(Equal("mn", "mn_initial"), Equal("mn_initial", "mn"))
    return Comparison(name, "middle_name", AnyNull(("mn",)), (
        Level("exact", Equal("mn"), tf_column="mn"),
        Level("initial agrees", both(Equal("mn_initial"), one_is_initial)),
        Level("jaro-winkler >= 0.9", Similar("mn", "jaro_winkler", 0.9)),
        Level("different", Always()),
    ), primary=("mn",))


def surname_comparison(name: str = "surname", thresholds: Sequence[float] = (0.92, 0.8)
                       ) -> Comparison:
    high, low = thresholds[0], thresholds[-1]
    second_missing = either(AnyNull(("ln2",)))
    # first and last name swapped: the given-name comparison weighs the swap (the same
    # predicates); weighed here too it would count one event twice
    swapped = both(Not(Equal("ln1")), either(names_swapped(), names_swapped_with_typos()))
    return Comparison(name, "surname", either(AnyNull(("ln1",)), swapped), (
        Level("both surnames exact", both(Equal("ln1"), Equal("ln2")), tf_column="ln1"),
        Level("first surname exact, second missing on one side",
              both(Equal("ln1"), second_missing), tf_column="ln1"),
        Level("surnames swapped", both(Equal("ln1", "ln2"), Equal("ln2", "ln1")),
              tf_column="ln1"),
        # a second surname two edits off is a typo; a clearly different one is another
        # mother's child as often as a data error (namesakes at scale)
        Level("first surname exact, second a typo",
              both(Equal("ln1"), Similar("ln2", "damerau_levenshtein", 2)), tf_column="ln1"),
        Level("first surname exact, second differs", Equal("ln1"), tf_column="ln1"),
        Level("one surname shared", either(Equal("ln1", "ln2"), Equal("ln2", "ln1"),
                                           Equal("ln1_core"))),
        Level(f"jaro-winkler >= {high}", Similar("ln1", "jaro_winkler", high)),
        Level("sounds alike", Equal("ln1_phon")),
        Level(f"jaro-winkler >= {low}", Similar("ln1", "jaro_winkler", low)),
        Level("different", Always()),
    ), primary=("ln1", "ln2"),
        null_label="missing, or first and last name swapped (weighed under the first name)")


SECOND_DATE_AGREES = "agrees with the other's second birth date"


def birth_date_comparison(name: str = "birth_date", second_date: bool = False) -> Comparison:
    """With `second_date`, a record's second record of its birth date (`dob2`, mapped by the
    preset) counts where the birth dates themselves do not agree exactly: the SSA's
    creation date against a census birth date whose copy in the SSA record is garbled."""
    exact = Equal("dob")
    second = ([Level(SECOND_DATE_AGREES, either(Equal("dob", "dob2"), Equal("dob2", "dob"),
                                                Equal("dob2")))]
              if second_date else [])
    return Comparison(name, "birth_date",
                      AllNull(("dob", "dob2")) if second_date else AnyNull(("dob",)), (
        Level("exact", both(exact, Not(IsTrue("dob_weak")))),
        Level("exact placeholder date (01-01)", exact),
        *second,
        Level("day and month swapped", DayMonthSwap()),
        Level("one digit off", Similar("dob", "hamming", 1)),
        Level("year off by one", YearOff(1)),
        Level("two edits off", Similar("dob", "damerau_levenshtein", 2)),
        # a placeholder (01-01, 1900) against a real date says little either way; kept apart
        # from 'different' so that level measures real disagreement
        Level("one side a placeholder date", IsTrue("dob_weak")),
        Level("different", Always()),
    ), extra_columns=("dob_y", "dob_m", "dob_d", "dob_weak", *(["dob2"] if second_date else [])),
        primary=("dob",))


def exact_comparison(name: str, column: str, term_frequency: bool = False,
                     identifier: bool = False) -> Comparison:
    return Comparison(name, "exact", AnyNull((column,)), (
        Level("exact", Equal(column), tf_column=column if term_frequency else None),
        Level("different", Always()),
    ), identifier=identifier, primary=(column,))


def string_comparison(name: str, column: str, thresholds: Sequence[float] = (0.92, 0.8),
                      term_frequency: bool = False, identifier: bool = False) -> Comparison:
    levels = [Level("exact", Equal(column), tf_column=column if term_frequency else None)]
    levels += [Level(f"jaro-winkler >= {t}", Similar(column, "jaro_winkler", t))
               for t in thresholds]
    levels.append(Level("different", Always()))
    return Comparison(name, "string", AnyNull((column,)), tuple(levels), identifier=identifier,
                      primary=(column,))


def parents_comparison(name: str = "parents") -> Comparison:
    """Parents' given names. Their surnames are left out on purpose: they repeat the child's
    surnames, and counting them again would score a whole family as one child."""
    cols = ("p1fn", "p2fn")
    p1, p2 = "p1fn_groups", "p2fn_groups"
    both_parents = either(both(ListOverlap(p1), ListOverlap(p2)),
                          both(ListOverlap(p1, p2), ListOverlap(p2, p1)))
    one_parent = either(ListOverlap(p1), ListOverlap(p2), ListOverlap(p1, p2),
                        ListOverlap(p2, p1))
    return Comparison(name, "parents", AllNull(cols), (
        Level("both parents' given names agree", both_parents, tf_column="parents_key"),
        Level("one parent's given name agrees", one_parent),
        Level("different", Always()),
    ), primary=cols, family_level=True)


def birth_place_comparison(name: str = "birth_place") -> Comparison:
    cols = ("bcity", "bstate", "bcountry")
    nothing_in_common = And(tuple(AnyNull((c,)) for c in cols))
    return Comparison(name, "birth_place", nothing_in_common, (
        Level("city agrees", Equal("bcity")),
        Level("state or country agrees", either(Equal("bstate"), Equal("bcountry"))),
        Level("different", Always()),
    ), primary=cols, family_level=True)


def local_id_comparison(name: str = "local_id") -> Comparison:
    """(state, local_student_id): evidence within one state only."""
    other_state = Not(Equal("state"))
    return Comparison(name, "local_id", either(AnyNull(("lsid",)), other_state), (
        Level("same state id", Equal("lsid")),
        Level("different id in the same state", Always()),
    ), identifier=True, primary=("lsid",))


def age_comparison(name: str, age: str, year: str) -> Comparison:
    """A recorded age against the other record's birth year, only where the birth years do
    not already agree (the birth date comparison has said that: counting it twice would
    favour namesakes born the same year). `year` holds the year the age was recorded in."""
    fits = AgeFitsBirthYear(age, year)
    return Comparison(name, "age", either(Equal("dob_y"), Not(AgeComparable(fits))), (
        Level("age fits the other's birth year", fits),
        Level("different", Always()),
    ), primary=(age,))


def build_comparison(name: str, kind: str, column: str | None = None,
                     term_frequency: bool = False, thresholds: Sequence[float] = (0.92, 0.8),
                     identifier: bool = False, second_date: bool = False) -> Comparison:
    """A comparison from its declarative spec (the preset's `comparisons` entries);
    `second_date`: the preset maps a second birth date (`birth_date_comparison`)."""
    if kind == "given_name":
        return given_name_comparison(name, thresholds)
    if kind == "middle_name":
        return middle_name_comparison(name)
    if kind == "surname":
        return surname_comparison(name, thresholds)
    if kind == "birth_date":
        return birth_date_comparison(name, second_date)
    if kind == "parents":
        return parents_comparison(name)
    if kind == "birth_place":
        return birth_place_comparison(name)
    if kind == "local_id":
        return local_id_comparison(name)
    if column is None:
        raise ValueError(f"comparison {name!r} of kind {kind!r} needs a column")
    if kind == "age":
        return age_comparison(name, column, f"{column}_year")
    if kind == "exact":
        return exact_comparison(name, column, term_frequency, identifier)
    if kind == "string":
        return string_comparison(name, column, thresholds, term_frequency, identifier)
    raise ValueError(f"unknown comparison kind {kind!r}")


# --- vectorised evaluation -------------------------------------------------------------------


def pair_frame(prepared: pl.DataFrame, pairs: pl.DataFrame, columns: set[str],
               right: pl.DataFrame | None = None) -> pl.DataFrame:
    """Gather both sides' columns for each pair (`idx_l`, `idx_r` are row numbers)."""
    right = prepared if right is None else right
    present = set(prepared.columns)  # `DataFrame.columns` builds a new list on every access
    cols = sorted(c for c in columns if c in present)
    left_side = prepared.select(cols)[pairs["idx_l"]]
    right_side = right.select(cols)[pairs["idx_r"]]
    return pl.concat([
        pairs,
        left_side.rename({c: f"{c}_l" for c in cols}),
        right_side.rename({c: f"{c}_r" for c in cols}),
    ], how="horizontal")


@lru_cache(maxsize=32)
def distance_cutoffs(comparisons: tuple[Comparison, ...]) -> dict[tuple[str, str], float]:
    """Per distance similarity, the largest threshold any level tests it at: rapidfuzz stops
    counting there (twice as fast), and every test still reads the same answer. Built once
    per set of comparisons."""
    cutoffs: dict[tuple[str, str], float] = {}
    for comparison in comparisons:
        for predicate in (comparison.null, *(level.predicate for level in comparison.levels)):
            for leaf in leaves(predicate):
                if isinstance(leaf, Similar) and leaf.is_distance:
                    key = (leaf.pair, leaf.metric)
                    cutoffs[key] = max(cutoffs.get(key, 0.0), leaf.threshold)
    return cutoffs


def add_similarities(frame: pl.DataFrame, needed: set[tuple[str, str]],
                     cutoffs: Mapping[tuple[str, str], float] | None = None) -> pl.DataFrame:
    """Similarity columns computed with rapidfuzz `process.cpdist` (nulls stay null), once per
    distinct pair of values (`distinct_value_pairs`); a crossed key (`Similar.pair`) compares
    the left record's column with the right's other. A distance with a cutoff
    (`distance_cutoffs`) reads cutoff + 1 wherever it is larger."""
    if not needed:
        return frame
    by_sides: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for pair, metric in sorted(needed):
        by_sides.setdefault(similarity_sides(pair), []).append((pair, metric))
    workers = -1 if len(frame) > 20_000 else 1
    new_columns = []
    for (left, right), keys in by_sides.items():
        left_values, right_values = frame.get_column(f"{left}_l"), frame.get_column(f"{right}_r")
        missing = (left_values.is_null() | right_values.is_null()).to_numpy()
        rows, first = distinct_value_pairs(left_values, right_values)
        a = left_values.gather(first).fill_null("").to_list()
        b = right_values.gather(first).fill_null("").to_list()
        for pair, metric in keys:
            scores = np.asarray(process.cpdist(
                a, b, scorer=SIMILARITY_SCORERS[metric],
                score_cutoff=(cutoffs or {}).get((pair, metric)), workers=workers),
                dtype=np.float32)[rows]
            scores[missing] = np.nan
            new_columns.append(pl.Series(similarity_column(pair, metric), scores,
                                         nan_to_null=True))
    return frame.hstack(new_columns)


def distinct_value_pairs(left: pl.Series, right: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the number of its distinct (left, right) value pair; and per distinct pair,
    a row holding it. Names and dates repeat: of 8.7M candidate pairs at 1M records, 1–13%
    of the value pairs are distinct, so a similarity costs a third."""
    return distinct_pairs(value_codes(left.to_frame()), value_codes(right.to_frame()))


def value_codes(frame: pl.DataFrame) -> np.ndarray:
    """Per row, a code the rows holding the very same values share (the first such row's
    number): grouping compares the values themselves, lists and nulls included."""
    if frame.is_empty():
        return np.zeros(0, dtype=np.int64)
    return (frame.with_row_index("__row").select(pl.col("__row").min().over(frame.columns))
            .to_series().to_numpy().astype(np.int64))


def distinct_pairs(left_codes: np.ndarray, right_codes: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per pair of codes (`value_codes` of each side), the number of its distinct pair; and
    per distinct pair, the first pair holding it."""
    if len(left_codes) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    key = left_codes * (int(right_codes.max()) + 1) + right_codes
    held_by = value_codes(pl.Series("key", key).to_frame())
    first = np.flatnonzero(held_by == np.arange(len(held_by)))
    number = np.empty(len(held_by), dtype=np.int64)
    number[first] = np.arange(len(first))
    return number[held_by], first


def compare(prepared: pl.DataFrame, pairs: pl.DataFrame, comparisons: Sequence[Comparison],
            right: pl.DataFrame | None = None) -> pl.DataFrame:
    """`gamma_<name>` level columns (Int8, -1 = null) for every pair, after `idx_l`, `idx_r`.

    `idx_l` indexes `prepared`, `idx_r` indexes `right` (`prepared` when None)."""
    if len(pairs) <= SMALL_COMPARE_PAIRS:
        return compare_plain(prepared, pairs, comparisons, right)
    return compare_vectorised(prepared, pairs, comparisons, right)


def compare_vectorised(prepared: pl.DataFrame, pairs: pl.DataFrame,
                       comparisons: Sequence[Comparison], right: pl.DataFrame | None = None
                       ) -> pl.DataFrame:
    """`compare` in polars: each group of comparisons (`_leaf_groups`) evaluated once per
    distinct pair of the values it reads (`_distinct_levels`), `COMPARE_CHUNK` pairs at a
    time. The rows' value codes are found once for all the chunks."""
    right = prepared if right is None else right
    cutoffs = distance_cutoffs(tuple(comparisons))
    present = set(prepared.columns)  # `DataFrame.columns` builds a new list on every access
    idx_l, idx_r = pairs["idx_l"].to_numpy(), pairs["idx_r"].to_numpy()
    levels: dict[str, pl.Series] = {}
    for group in _leaf_groups(tuple(comparisons)):
        columns = sorted({col for c in group for col in c.sorted_columns if col in present})
        codes_l, codes_r = _side_codes(prepared, right, columns, idx_l, idx_r)
        chunks = [_distinct_levels(group, columns, pairs.slice(start, COMPARE_CHUNK),
                                   codes_l, codes_r, prepared, right, cutoffs)
                  for start in range(0, max(len(pairs), 1), COMPARE_CHUNK)]
        levels.update((c.gamma_column, pl.concat([chunk[c.gamma_column] for chunk in chunks]))
                      for c in group)
    return pairs.select("idx_l", "idx_r").hstack([levels[c.gamma_column] for c in comparisons])


def _side_codes(prepared: pl.DataFrame, right: pl.DataFrame, columns: list[str],
                idx_l: np.ndarray, idx_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `value_codes` of `columns` on either side (one array when both sides are
    one frame)."""
    if right is prepared:
        codes = _row_codes(prepared, columns, np.concatenate([idx_l, idx_r]))
        return codes, codes
    return _row_codes(prepared, columns, idx_l), _row_codes(right, columns, idx_r)


def _row_codes(frame: pl.DataFrame, columns: list[str], idx: np.ndarray) -> np.ndarray:
    """`value_codes` of `frame`'s `columns`; of just the rows `idx` points at when they are
    fewer than the frame's (a few pairs within a large frame: the other rows, never read,
    keep 0)."""
    if len(idx) >= frame.height:
        return value_codes(frame.select(columns))
    rows = np.unique(idx)
    codes = np.zeros(frame.height, dtype=np.int64)
    codes[rows] = value_codes(frame.select(columns)[rows])
    return codes


def _distinct_levels(comparisons: tuple[Comparison, ...], columns: list[str],
                     pairs: pl.DataFrame, codes_l: np.ndarray, codes_r: np.ndarray,
                     prepared: pl.DataFrame, right: pl.DataFrame,
                     cutoffs: Mapping[tuple[str, str], float]) -> dict[str, pl.Series]:
    """The comparisons' levels of `pairs`, their level chains evaluated once per distinct
    pair of the values of `columns` and scattered back to the pairs. Names and dates repeat:
    a birth date or sex comparison meets a few thousand distinct pairs among hundreds of
    thousands."""
    rows, first = distinct_pairs(codes_l[pairs["idx_l"].to_numpy()],
                                 codes_r[pairs["idx_r"].to_numpy()])
    frame = pair_frame(prepared, pairs.select("idx_l", "idx_r")[first], set(columns), right)
    frame = add_similarities(frame, set().union(*(c.similarities() for c in comparisons)),
                             cutoffs)
    shared_columns, gamma_exprs = _gamma_plan(comparisons)
    if shared_columns:
        frame = frame.with_columns(shared_columns)
    return {series.name: series.gather(rows) for series in frame.select(gamma_exprs)}


@lru_cache(maxsize=32)
def _leaf_groups(comparisons: tuple[Comparison, ...]) -> tuple[tuple[Comparison, ...], ...]:
    """The comparisons in groups that share no leaf with one another (the given-name and the
    surname comparisons both test a swap of the names): a group evaluates a leaf it shares
    once (`_gamma_plan`). Built once per set of comparisons."""
    groups: list[tuple[set[Predicate], tuple[Comparison, ...]]] = []
    for comparison in comparisons:
        own = set(_leaves_of(comparison))
        joined = [group for group in groups if group[0] & own]
        groups = [group for group in groups if not group[0] & own]
        groups.append((own.union(*(group[0] for group in joined)),
                       (*(c for group in joined for c in group[1]), comparison)))
    return tuple(members for _, members in groups)


def compare_plain(prepared: pl.DataFrame, pairs: pl.DataFrame,
                  comparisons: Sequence[Comparison], right: pl.DataFrame | None = None
                  ) -> pl.DataFrame:
    """`compare` in plain Python: each comparison's `reference_gamma` once per distinct pair
    of the values it reads (for a few pairs only: a loop per pair)."""
    columns = sorted(set().union(*(c.sorted_columns for c in comparisons)))
    left, idx_l = _referenced(prepared, pairs["idx_l"], columns)
    right_rows, idx_r = _referenced(prepared if right is None else right, pairs["idx_r"],
                                    columns)
    return pl.DataFrame([
        pairs["idx_l"], pairs["idx_r"],
        *(pl.Series(c.gamma_column, _plain_levels(c, left, right_rows, idx_l, idx_r),
                    dtype=pl.Int8) for c in comparisons)])


def _referenced(frame: pl.DataFrame, idx: pl.Series, columns: list[str]
                ) -> tuple[ValueRows, list[int]]:
    """The rows of `frame` that `idx` points at, and `idx` renumbered into them: a frame
    larger than the pairs (the last few pairs of a batch) is not read whole."""
    if frame.height <= len(idx):
        return ValueRows(frame, columns), idx.to_list()
    rows, position = np.unique(idx.to_numpy(), return_inverse=True)
    return ValueRows(frame.select(columns)[rows], columns), position.tolist()


class ValueRows:
    """A frame's columns as rows of hashable values (lists become tuples), and as the
    mappings `reference_gamma` reads, built on demand."""

    def __init__(self, frame: pl.DataFrame, columns: list[str]) -> None:
        self.columns = columns
        self.position = {c: i for i, c in enumerate(columns)}
        values = [_hashable(frame.get_column(c)) for c in columns]
        self.rows: list[tuple[Any, ...]] = list(zip(*values, strict=True))
        self._mappings: dict[int, dict[str, Any]] = {}

    def mapping(self, row: int) -> dict[str, Any]:
        found = self._mappings.get(row)
        if found is None:
            found = self._mappings[row] = dict(zip(self.columns, self.rows[row], strict=True))
        return found

    def key(self, columns: Sequence[str]) -> itemgetter[Any]:
        """A function from a row to its values of `columns` (a memo key)."""
        return itemgetter(*(self.position[c] for c in columns))


def _hashable(series: pl.Series) -> list[Any]:
    values = series.to_list()
    if isinstance(series.dtype, pl.List):
        return [None if v is None else tuple(v) for v in values]
    return values


def _plain_levels(comparison: Comparison, left: ValueRows, right: ValueRows,
                  idx_l: list[int], idx_r: list[int]) -> list[int]:
    wanted = comparison.sorted_columns
    left_key, right_key = left.key(wanted), right.key(wanted)
    known: dict[tuple[Any, Any], int] = {}
    levels = []
    for i, j in zip(idx_l, idx_r, strict=True):
        key = (left_key(left.rows[i]), right_key(right.rows[j]))
        level = known.get(key)
        if level is None:
            level = known[key] = comparison.reference_gamma(left.mapping(i), right.mapping(j))
        levels.append(level)
    return levels


@lru_cache(maxsize=32)
def _gamma_plan(comparisons: tuple[Comparison, ...]
                ) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Leaves used more than once across the comparisons (computed once, as columns) and the
    gamma expressions that read them; built once per set of comparisons."""
    counts = Counter(leaf for c in comparisons for leaf in _leaves_of(c))
    shared = {leaf: f"__shared{i}" for i, (leaf, n) in enumerate(counts.items()) if n > 1}
    return ([p.expr().alias(name) for p, name in shared.items()],
            [c.gamma_expr(shared) for c in comparisons])


def _leaves_of(comparison: Comparison) -> Iterator[Predicate]:
    """The leaves of a comparison's null and level predicates, but 'else'."""
    for predicate in (comparison.null, *(level.predicate for level in comparison.levels)):
        yield from (leaf for leaf in leaves(predicate) if not isinstance(leaf, Always))
