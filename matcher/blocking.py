"""Blocking: named rules, unioned, each candidate pair produced once.

A rule is a list of prepared key columns; records agreeing on all of them (none missing) are
paired. A key may also be a group of columns whose values are pooled ("any of"): the rule is
then multi-valued, a record has one key per distinct value of the group, and two records are
paired when they share any of them, whichever column each value came from (the sound of a
first name against the sound of a surname: names rotated across fields). Blocks larger than
`max_block_size` are skipped for that rule and reported: the other, more specific rules still
see those records, and memory stays bounded by the cap.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import product

import numpy as np
import polars as pl

KEY_SOURCES: dict[str, tuple[str, ...]] = {
    "fn_phon": ("fn",), "fn_canon": ("fn",), "fn1": ("fn",), "fn": ("fn",),
    "ln1": ("ln1",), "ln1_phon": ("ln1",), "ln2": ("ln2",), "ln2_phon": ("ln2",),
    "name_pair": ("fn", "ln1"), "dob": ("dob",), "dob_y": ("dob",), "dob_md": ("dob",),
    "dob_m": ("dob",), "dob_d": ("dob",),
    "lsid": ("lsid",), "mn_initial": ("mn",),
}
"""Which comparison subjects a key column is derived from (what a rule conditions on)."""

Key = str | tuple[str, ...]
"""A key column, or a group of columns whose values are pooled (any of them)."""
RowKeys = str | list[str] | None
"""One row's key for a rule: a string (or None) for a plain rule, a list for a multi-valued
one (empty when the row has none)."""


@dataclass(frozen=True)
class BlockingRule:
    name: str
    keys: tuple[Key, ...]
    max_block_size: int | None = None

    @property
    def multi_valued(self) -> bool:
        """Some key is a group: a row has a list of keys (see the module docstring)."""
        return any(isinstance(k, tuple) for k in self.keys)

    def columns(self) -> list[str]:
        """Every prepared column the rule reads, in order."""
        return [c for k in self.keys for c in ((k,) if isinstance(k, str) else k)]

    def renamed(self, rename: Callable[[str], str]) -> BlockingRule:
        """The rule with every column name passed through `rename`."""
        keys = tuple(rename(k) if isinstance(k, str) else tuple(map(rename, k))
                     for k in self.keys)
        return BlockingRule(self.name, keys, self.max_block_size)

    def combinations(self) -> list[tuple[str, ...]]:
        """One column per key, for every choice within the groups."""
        return list(product(*((k,) if isinstance(k, str) else k for k in self.keys)))

    def joined_exprs(self) -> list[pl.Expr]:
        """One key per choice within the groups: its columns joined by '|' (null if any is
        missing); a plain rule has one."""
        return [pl.concat_str([pl.col(c).cast(pl.String) for c in combination], separator="|")
                .alias(f"key{i}") for i, combination in enumerate(self.combinations())]

    def key_expr(self) -> pl.Expr:
        """The rule's key per row (`joined_exprs`); for a multi-valued rule the list of the
        distinct keys."""
        joined = self.joined_exprs()
        if not self.multi_valued:
            return joined[0].alias("key")
        # in the order of the group's columns (sorting lists of strings is slow in polars)
        return pl.concat_list(joined).list.drop_nulls().list.unique(maintain_order=True).alias(
            "key")

    def conditions_on(self) -> set[str]:
        """Comparison subjects fixed by this rule (EM must not learn their m from its pairs).

        A group counts whole: its pairs share some name, not a given one, but a block of
        children who all share a name is no sample of how non-matches' names compare."""
        return {source for key in self.columns() for source in KEY_SOURCES.get(key, (key,))}


def plain_keys(prepared: pl.DataFrame, rules: Sequence[BlockingRule]
               ) -> list[list[RowKeys]] | None:
    """`BlockingRule.key_expr` per rule and row in plain Python, for string and integer key
    columns (None otherwise): the keys joined by '|', missing if any key is missing (for a
    multi-valued rule, the distinct keys in order). For a few rows (one record matched) a
    query costs more than a millisecond."""
    needed = {c for rule in rules for c in rule.columns()}
    schema = prepared.schema  # built anew on every access
    if not all(schema[k] == pl.String or schema[k].is_integer() for k in needed):
        return None
    values = {k: prepared[k].to_list() for k in needed}
    out: list[list[RowKeys]] = []
    for rule in rules:
        joined = [[None if any(v is None for v in row) else "|".join(map(str, row))
                   for row in zip(*(values[c] for c in combination), strict=True)]
                  for combination in rule.combinations()]
        if rule.multi_valued:
            out.append([list(dict.fromkeys(k for k in row if k is not None))
                        for row in zip(*joined, strict=True)])
        else:
            out.append(list(joined[0]))
    return out


def row_entries(rows: Sequence[int] | range, keys: Sequence[RowKeys]
                ) -> Iterator[tuple[int, str]]:
    """(row, key) for every key of every row (a multi-valued rule's rows have several)."""
    for row, key in zip(rows, keys, strict=True):
        if isinstance(key, str):
            yield row, key
        elif key:
            for one in key:
                yield row, one


def rule_holds(prepared: pl.DataFrame, pairs: pl.DataFrame, rule: BlockingRule) -> pl.Series:
    """Per pair: both records share a key of the rule (the rule would pair them). A
    multi-valued rule's keys are compared one choice against another, as plain columns
    (list intersections cost ten times more)."""
    keys = prepared.select(rule.joined_exprs()).get_columns()
    left = [key.gather(pairs["idx_l"]) for key in keys]
    right = [key.gather(pairs["idx_r"]) for key in keys]
    return reduce(operator.or_, [(a == b).fill_null(False) for a in left for b in right])


@dataclass
class RuleReport:
    name: str
    candidates: int = 0
    new_candidates: int = 0
    capped_blocks: int = 0
    capped_records: int = 0
    pair_completeness: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class BlockingReport:
    rules: list[RuleReport] = field(default_factory=list)
    candidates: int = 0
    total_pairs: int = 0
    pair_completeness: float | None = None

    @property
    def reduction_ratio(self) -> float:
        return 1.0 - self.candidates / self.total_pairs if self.total_pairs else 0.0

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "candidates": self.candidates, "total_pairs": self.total_pairs,
            "reduction_ratio": self.reduction_ratio,
            "rules": [r.as_dict() for r in self.rules]}
        if self.pair_completeness is not None:
            out["pair_completeness"] = self.pair_completeness
        return out


def total_pairs(sources: pl.Series, link_only: bool) -> int:
    """All pairs a full comparison would score (cross-input pairs only when link_only)."""
    n = len(sources)
    if not link_only:
        return n * (n - 1) // 2
    sizes = sources.value_counts()["count"].to_list()
    return (sum(sizes) ** 2 - sum(s * s for s in sizes)) // 2


def rule_pairs(prepared: pl.DataFrame, rule: BlockingRule, link_only: bool,
               max_block_size: int) -> tuple[pl.DataFrame, int, int]:
    """(idx_l, idx_r) pairs for one rule, idx_l < idx_r; plus capped block and record counts.

    A multi-valued rule has a row per record and key, and a pair sharing several keys is
    kept once, in the order of the other rules' pairs (right row, then left row)."""
    keyed = _keyed_rows(prepared, rule)
    sizes = keyed.group_by("key").len()
    big = sizes.filter(pl.col("len") > max_block_size)
    if len(big):
        keyed = keyed.join(big.select("key"), on="key", how="anti")
    pairs = keyed.join(keyed, on="key", suffix="_r").filter(pl.col("idx") < pl.col("idx_r"))
    if link_only:
        pairs = pairs.filter(pl.col("source") != pl.col("source_r"))
    pairs = pairs.select(pl.col("idx").alias("idx_l"), pl.col("idx_r"))
    if rule.multi_valued:
        pairs = _each_once(pairs)
    return pairs, len(big), int(big["len"].sum()) if len(big) else 0


def _keyed_rows(prepared: pl.DataFrame, rule: BlockingRule) -> pl.DataFrame:
    """(idx, source, key): one row per record and key (a multi-valued rule's keys stacked
    choice by choice, each once per record: building and exploding the list costs 5x)."""
    if not rule.multi_valued:
        return prepared.select("idx", "source", rule.key_expr()).drop_nulls("key")
    return pl.concat([prepared.select("idx", "source", key.alias("key"))
                      for key in rule.joined_exprs()]).drop_nulls("key").unique(["idx", "key"])


def sorted_unique(codes: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: sorted, then kept where each differs from the one before
    (np.unique hashes first: ten times slower on pair codes)."""
    codes = np.sort(codes)
    return codes[np.concatenate(([True], codes[1:] != codes[:-1]))] if len(codes) else codes


def _each_once(pairs: pl.DataFrame) -> pl.DataFrame:
    """Pairs found through several keys kept once, sorted by (idx_r, idx_l) (one integer per
    pair)."""
    codes = sorted_unique(
        (pairs["idx_r"].cast(pl.UInt64) * (1 << 32) + pairs["idx_l"]).to_numpy())
    return pl.DataFrame({"idx_l": (codes & 0xFFFFFFFF).astype(np.uint32),
                         "idx_r": (codes >> 32).astype(np.uint32)})


def candidate_pairs(prepared: pl.DataFrame, rules: Sequence[BlockingRule], *,
                    link_only: bool = False, max_block_size: int = 1000,
                    entity: pl.Series | None = None) -> tuple[pl.DataFrame, BlockingReport]:
    """Union of all rules' pairs, each once, tagged with the first rule that found it.

    With `entity` (the true entity of each prepared row) the report gives pair completeness
    overall and per rule.
    """
    report = BlockingReport(total_pairs=total_pairs(prepared["source"], link_only))
    true_pairs = _true_pair_count(prepared, entity, link_only) if entity is not None else 0
    if entity is not None:
        # the entities as integers: gathered for every rule's pairs, strings cost seconds
        entity = entity.rank("dense")
    seen: pl.DataFrame | None = None
    parts = []
    for index, rule in enumerate(rules):
        pairs, capped_blocks, capped_records = rule_pairs(
            prepared, rule, link_only, rule.max_block_size or max_block_size)
        keyed = pairs.with_columns(
            (pl.col("idx_l").cast(pl.UInt64) * (1 << 32) + pl.col("idx_r")).alias("pair"))
        new = keyed if seen is None else keyed.join(seen, on="pair", how="anti")
        rule_report = RuleReport(rule.name, len(pairs), len(new), capped_blocks, capped_records)
        if entity is not None and true_pairs:
            rule_report.pair_completeness = _found_true_pairs(pairs, entity) / true_pairs
        report.rules.append(rule_report)
        parts.append(new.with_columns(pl.lit(index, dtype=pl.UInt8).alias("rule")))
        seen = pl.concat([seen, new.select("pair")]) if seen is not None else new.select("pair")
    all_pairs = (pl.concat(parts).drop("pair") if parts else
                 pl.DataFrame(schema={"idx_l": pl.UInt32, "idx_r": pl.UInt32, "rule": pl.UInt8}))
    report.candidates = len(all_pairs)
    if entity is not None and true_pairs:
        report.pair_completeness = _found_true_pairs(all_pairs, entity) / true_pairs
    return all_pairs, report


def _true_pair_count(prepared: pl.DataFrame, entity: pl.Series, link_only: bool) -> int:
    frame = pl.DataFrame({"entity": entity, "source": prepared["source"]}).drop_nulls("entity")
    if not link_only:
        sizes = frame.group_by("entity").len()["len"]
        return int((sizes * (sizes - 1) // 2).sum())
    per_source = frame.group_by("entity", "source").len()
    totals = per_source.group_by("entity").agg(
        (pl.col("len").sum() ** 2 - (pl.col("len") ** 2).sum()).alias("cross"))
    return int((totals["cross"] // 2).sum())


def _found_true_pairs(pairs: pl.DataFrame, entity: pl.Series) -> int:
    left = entity.gather(pairs["idx_l"])
    right = entity.gather(pairs["idx_r"])
    return int(((left == right) & left.is_not_null()).sum())
