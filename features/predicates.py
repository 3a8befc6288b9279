"""Pair predicates: the building blocks of comparison levels.

Every predicate has two implementations that must agree: `expr()` evaluates it vectorised over a
pair frame (columns `<col>_l`, `<col>_r` and precomputed similarity columns), `holds(l, r)`
evaluates one pair of plain dicts and exists only as the reference the tests check against.
A predicate on a missing value is false: missing is never agreement.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import polars as pl
from rapidfuzz.distance import DamerauLevenshtein, Hamming, JaroWinkler

Row = Mapping[str, Any]

SIMILARITY_SCORERS: dict[str, Any] = {
    "jaro_winkler": JaroWinkler.normalized_similarity,
    "damerau_levenshtein": DamerauLevenshtein.distance,
    "hamming": Hamming.distance,
}
"""Metric name -> rapidfuzz scorer (similarities are higher-is-closer, distances lower)."""


def similarity_column(column: str, metric: str) -> str:
    return f"sim__{metric}__{column}"


def scalar_score(metric: str, left: str, right: str) -> float:
    """The scalar form of a metric, rounded as `process.cpdist` returns it (float32)."""
    return float(np.float32(SIMILARITY_SCORERS[metric](left, right)))


def _missing(value: Any) -> bool:
    """None, or an empty list (lists may come as tuples: `compare_plain` hashes them)."""
    return value is None or (isinstance(value, list | tuple) and len(value) == 0)


class Predicate(Protocol):
    def expr(self) -> pl.Expr: ...
    def holds(self, left: Row, right: Row) -> bool: ...
    def similarities(self) -> set[tuple[str, str]]: ...
    def columns(self) -> set[str]: ...


@dataclass(frozen=True)
class Always:
    """The 'else' level."""

    def expr(self) -> pl.Expr:
        return pl.lit(True)

    def holds(self, left: Row, right: Row) -> bool:
        return True

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class AnyNull:
    """Any of the columns is missing on either side (the null level)."""

    cols: tuple[str, ...]

    def expr(self) -> pl.Expr:
        parts = [pl.col(f"{c}_{s}").is_null() for c in self.cols for s in "lr"]
        return pl.any_horizontal(parts)

    def holds(self, left: Row, right: Row) -> bool:
        return any(left[c] is None or right[c] is None for c in self.cols)

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return set(self.cols)


@dataclass(frozen=True)
class AllNull:
    """Every one of the columns is missing on one side or the other."""

    cols: tuple[str, ...]

    def expr(self) -> pl.Expr:
        return (pl.all_horizontal([pl.col(f"{c}_l").is_null() for c in self.cols])
                | pl.all_horizontal([pl.col(f"{c}_r").is_null() for c in self.cols]))

    def holds(self, left: Row, right: Row) -> bool:
        return (all(left[c] is None for c in self.cols)
                or all(right[c] is None for c in self.cols))

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return set(self.cols)


@dataclass(frozen=True)
class Equal:
    """left[col] == right[other or col], both present. With `other`, a crossed comparison."""

    col: str
    other: str | None = None

    def expr(self) -> pl.Expr:
        return (pl.col(f"{self.col}_l") == pl.col(f"{self.other or self.col}_r")).fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        a, b = left[self.col], right[self.other or self.col]
        return a is not None and b is not None and a == b

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {self.col, self.other or self.col}


@dataclass(frozen=True)
class Similar:
    """rapidfuzz similarity >= threshold (or distance <= threshold for distance metrics) of
    left[col] and right[other or col]. With `other`, a crossed comparison."""

    col: str
    metric: str
    threshold: float
    other: str | None = None

    @property
    def is_distance(self) -> bool:
        return self.metric in ("damerau_levenshtein", "hamming")

    @property
    def pair(self) -> str:
        """The similarity's column key: `col`, or `col>other` when crossed."""
        return self.col if self.other is None else f"{self.col}>{self.other}"

    def expr(self) -> pl.Expr:
        sim = pl.col(similarity_column(self.pair, self.metric))
        threshold = pl.lit(self.threshold, dtype=pl.Float32)
        test = sim <= threshold if self.is_distance else sim >= threshold
        return test.fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        a, b = left[self.col], right[self.other or self.col]
        if a is None or b is None:
            return False
        score = scalar_score(self.metric, a, b)
        threshold = self._threshold32
        return score <= threshold if self.is_distance else score >= threshold

    @cached_property
    def _threshold32(self) -> float:
        """The threshold as the vectorised path compares it (in float32)."""
        return float(np.float32(self.threshold))

    def similarities(self) -> set[tuple[str, str]]:
        return {(self.pair, self.metric)}

    def columns(self) -> set[str]:
        return {self.col, self.other or self.col}


def similarity_sides(pair: str) -> tuple[str, str]:
    """The left and right columns of a `Similar.pair` key."""
    left, _, right = pair.partition(">")
    return left, right or left


@dataclass(frozen=True)
class ListOverlap:
    """left[col] and right[other or col] (list columns) share at least one element."""

    col: str
    other: str | None = None

    def expr(self) -> pl.Expr:
        right = pl.col(f"{self.other or self.col}_r")
        shared = pl.col(f"{self.col}_l").list.set_intersection(right)
        return (shared.list.len() > 0).fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        a, b = left[self.col], right[self.other or self.col]
        return not _missing(a) and not _missing(b) and bool(set(a) & set(b))

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {self.col, self.other or self.col}


@dataclass(frozen=True)
class Subset:
    """One side's list is contained in the other's (a compound name's part: MARIA within
    MARIA GUADALUPE)."""

    col: str

    def expr(self) -> pl.Expr:
        left, right = pl.col(f"{self.col}_l"), pl.col(f"{self.col}_r")
        both = (left.list.len() > 0) & (right.list.len() > 0)
        inside = ((left.list.set_difference(right).list.len() == 0)
                  | (right.list.set_difference(left).list.len() == 0))
        return (both & inside).fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        a, b = left[self.col], right[self.col]
        if _missing(a) or _missing(b):
            return False
        return set(a) <= set(b) or set(b) <= set(a)

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {self.col}


@dataclass(frozen=True)
class GenderVariant:
    """Names equal but for a final A/O/E (ANGEL/ANGELA, DANIEL/DANIELA, JUAN/JUANA): two
    people, unless the recorded sexes agree (then a typo)."""

    col: str

    @staticmethod
    def _stem(value: str) -> str:
        return value[:-1] if value and value[-1] in "AOE" else value

    def expr(self) -> pl.Expr:
        left, right = pl.col(f"{self.col}_l"), pl.col(f"{self.col}_r")
        stem_l, stem_r = left.str.replace(r"[AOE]$", ""), right.str.replace(r"[AOE]$", "")
        return ((left != right) & (stem_l == stem_r)).fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        a, b = left[self.col], right[self.col]
        return a is not None and b is not None and a != b and self._stem(a) == self._stem(b)

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {self.col}


@dataclass(frozen=True)
class BothAtLeast:
    """A numeric column is at least `value` on both sides."""

    col: str
    value: int

    def expr(self) -> pl.Expr:
        return ((pl.col(f"{self.col}_l") >= self.value)
                & (pl.col(f"{self.col}_r") >= self.value)).fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        a, b = left[self.col], right[self.col]
        return a is not None and b is not None and a >= self.value and b >= self.value

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {self.col}


@dataclass(frozen=True)
class OneSideShort:
    """At least one side's string is at most `length` characters (a bare initial)."""

    col: str
    length: int = 1

    def expr(self) -> pl.Expr:
        return ((pl.col(f"{self.col}_l").str.len_chars() <= self.length)
                | (pl.col(f"{self.col}_r").str.len_chars() <= self.length)).fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        a, b = left[self.col], right[self.col]
        return (a is not None and len(a) <= self.length) or (
            b is not None and len(b) <= self.length)

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {self.col}


@dataclass(frozen=True)
class Prefix:
    """The shorter value (at least `min_length` long) begins the longer one (JENN, JENNIFER)."""

    col: str
    min_length: int = 3

    def expr(self) -> pl.Expr:
        left, right = pl.col(f"{self.col}_l"), pl.col(f"{self.col}_r")
        left_in = (left.str.len_chars() >= self.min_length) & right.str.starts_with(left)
        right_in = (right.str.len_chars() >= self.min_length) & left.str.starts_with(right)
        return (left_in | right_in).fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        a, b = left[self.col], right[self.col]
        if a is None or b is None:
            return False
        return ((len(a) >= self.min_length and b.startswith(a))
                or (len(b) >= self.min_length and a.startswith(b)))

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {self.col}


@dataclass(frozen=True)
class DayMonthSwap:
    """Same year, day and month exchanged (and not the same number)."""

    def expr(self) -> pl.Expr:
        c = pl.col
        return ((c("dob_y_l") == c("dob_y_r")) & (c("dob_m_l") == c("dob_d_r"))
                & (c("dob_d_l") == c("dob_m_r")) & (c("dob_m_l") != c("dob_d_l"))).fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        keys = ("dob_y", "dob_m", "dob_d")
        if any(left[k] is None or right[k] is None for k in keys):
            return False
        return bool(left["dob_y"] == right["dob_y"] and left["dob_m"] == right["dob_d"]
                    and left["dob_d"] == right["dob_m"] and left["dob_m"] != left["dob_d"])

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {"dob_y", "dob_m", "dob_d"}


@dataclass(frozen=True)
class YearOff:
    """Same month and day, year within `years`."""

    years: int = 1

    def expr(self) -> pl.Expr:
        c = pl.col
        return ((c("dob_m_l") == c("dob_m_r")) & (c("dob_d_l") == c("dob_d_r"))
                & ((c("dob_y_l") - c("dob_y_r")).abs() <= self.years)).fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        keys = ("dob_y", "dob_m", "dob_d")
        if any(left[k] is None or right[k] is None for k in keys):
            return False
        return bool(left["dob_m"] == right["dob_m"] and left["dob_d"] == right["dob_d"]
                    and abs(left["dob_y"] - right["dob_y"]) <= self.years)

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {"dob_y", "dob_m", "dob_d"}


@dataclass(frozen=True)
class AgeFitsBirthYear:
    """A recorded age fits the other record's birth year: the year of the record minus the
    age (`age`, `year`: prepared text columns) is within `years` of the other's birth year or
    of the other's own age-derived year. Censuses carry an age beside a birth date that is
    often wrong; the age says the birth year again."""

    age: str
    year: str
    years: int = 1

    def _born(self, side: str) -> pl.Expr:
        return (pl.col(f"{self.year}_{side}").cast(pl.Int32, strict=False)
                - pl.col(f"{self.age}_{side}").cast(pl.Int32, strict=False))

    def _pairs(self) -> list[tuple[pl.Expr, pl.Expr]]:
        born_l, born_r = self._born("l"), self._born("r")
        return [(born_l, pl.col("dob_y_r")), (pl.col("dob_y_l"), born_r), (born_l, born_r)]

    def expr(self) -> pl.Expr:
        return pl.any_horizontal(
            ((a - b).abs() <= self.years).fill_null(False) for a, b in self._pairs())

    def comparable(self) -> pl.Expr:
        """Some age-derived year and some year on the other side to hold it against."""
        return pl.any_horizontal(
            (a.is_not_null() & b.is_not_null()) for a, b in self._pairs())

    def _plain_pairs(self, left: Row, right: Row) -> list[tuple[int | None, int | None]]:
        def born(row: Row) -> int | None:
            age, year = _plain_int(row[self.age]), _plain_int(row[self.year])
            return None if age is None or year is None else year - age
        return [(born(left), right["dob_y"]), (left["dob_y"], born(right)),
                (born(left), born(right))]

    def holds(self, left: Row, right: Row) -> bool:
        return any(a is not None and b is not None and abs(a - b) <= self.years
                   for a, b in self._plain_pairs(left, right))

    def holds_comparable(self, left: Row, right: Row) -> bool:
        return any(a is not None and b is not None for a, b in self._plain_pairs(left, right))

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {self.age, self.year, "dob_y"}


@dataclass(frozen=True)
class AgeComparable:
    """`AgeFitsBirthYear.comparable` as a predicate (the age comparison's null level uses it)."""

    fits: AgeFitsBirthYear

    def expr(self) -> pl.Expr:
        return self.fits.comparable().fill_null(False)

    def holds(self, left: Row, right: Row) -> bool:
        return self.fits.holds_comparable(left, right)

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return self.fits.columns()


def _plain_int(value: Any) -> int | None:
    """`cast(pl.Int32, strict=False)` of one text value in plain Python."""
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class IsTrue:
    """A boolean column is true on `side` ('l', 'r', 'both' or 'either')."""

    col: str
    side: str = "either"

    def expr(self) -> pl.Expr:
        left = pl.col(f"{self.col}_l").fill_null(False)
        right = pl.col(f"{self.col}_r").fill_null(False)
        return {"l": left, "r": right, "both": left & right}.get(self.side, left | right)

    def holds(self, left: Row, right: Row) -> bool:
        values = {"l": [left[self.col]], "r": [right[self.col]]}.get(
            self.side, [left[self.col], right[self.col]])
        if self.side == "both":
            return all(v is True for v in values)
        return any(v is True for v in values)

    def similarities(self) -> set[tuple[str, str]]:
        return set()

    def columns(self) -> set[str]:
        return {self.col}


@dataclass(frozen=True)
class And:
    parts: tuple[Predicate, ...]

    def expr(self) -> pl.Expr:
        return pl.all_horizontal([p.expr() for p in self.parts])

    def holds(self, left: Row, right: Row) -> bool:
        return all(p.holds(left, right) for p in self.parts)

    def similarities(self) -> set[tuple[str, str]]:
        return set().union(*(p.similarities() for p in self.parts))

    def columns(self) -> set[str]:
        return set().union(*(p.columns() for p in self.parts))


@dataclass(frozen=True)
class Or:
    parts: tuple[Predicate, ...]

    def expr(self) -> pl.Expr:
        return pl.any_horizontal([p.expr() for p in self.parts])

    def holds(self, left: Row, right: Row) -> bool:
        return any(p.holds(left, right) for p in self.parts)

    def similarities(self) -> set[tuple[str, str]]:
        return set().union(*(p.similarities() for p in self.parts))

    def columns(self) -> set[str]:
        return set().union(*(p.columns() for p in self.parts))


@dataclass(frozen=True)
class Not:
    part: Predicate

    def expr(self) -> pl.Expr:
        return ~self.part.expr()

    def holds(self, left: Row, right: Row) -> bool:
        return not self.part.holds(left, right)

    def similarities(self) -> set[tuple[str, str]]:
        return self.part.similarities()

    def columns(self) -> set[str]:
        return self.part.columns()


def leaves(predicate: Predicate) -> Iterator[Predicate]:
    """The predicates an And/Or/Not tree is made of."""
    if isinstance(predicate, And | Or):
        for part in predicate.parts:
            yield from leaves(part)
    elif isinstance(predicate, Not):
        yield from leaves(predicate.part)
    else:
        yield predicate


def shared_expr(predicate: Predicate, shared: Mapping[Predicate, str]) -> pl.Expr:
    """`predicate.expr()`, reading the leaves named in `shared` from columns computed once.

    Polars does not find common subexpressions inside when/then chains, so a costly leaf
    used by two levels (a list overlap) would otherwise be evaluated twice."""
    if predicate in shared:
        return pl.col(shared[predicate])
    if isinstance(predicate, And):
        return pl.all_horizontal([shared_expr(p, shared) for p in predicate.parts])
    if isinstance(predicate, Or):
        return pl.any_horizontal([shared_expr(p, shared) for p in predicate.parts])
    if isinstance(predicate, Not):
        return ~shared_expr(predicate.part, shared)
    return predicate.expr()


def both(*parts: Predicate) -> And:
    return And(tuple(parts))


def either(*parts: Predicate) -> Or:
    return Or(tuple(parts))
