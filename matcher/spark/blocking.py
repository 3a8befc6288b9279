"""Blocking as Spark self-joins: the rules of `matcher.blocking`, each pair once.

For every rule the records are joined on the rule's key (`bk<i>`, computed by
`BlockingRule.key_expr` on the workers). As in the default engine:
- a block larger than the rule's `max_block_size` (else the settings') is skipped for that
  rule and reported;
- a pair is tagged with the first rule that finds it: rule i drops the pairs that an earlier
  rule j already found, i.e. pairs agreeing on rule j's key in a block that was not capped
  (no growing "seen" set is needed, so the rules run independently);
- with `link_only` only pairs across inputs are kept.

Skew: a block of common names (GARCIA born on a popular date) is joined by one task. Blocks
larger than `skew_chunk` are salted: the left side gets salt `idx % k`, the right side is
replicated k times, so the block's pairs are spread over k tasks and each pair still appears
exactly once.

A multi-valued rule (a key group, see `matcher.blocking`) has an array of keys per record: its
blocks are counted per key value, capped values are dropped from the arrays, and the records
are exploded to one row per key for the join; a pair sharing several keys is kept at the
smallest of them only. Such a pair would count once per shared key in the blocks' sizes, so
the rule's candidates and completeness are counted from its pairs instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from matcher.blocking import BlockingReport, BlockingRule, RuleReport
from matcher.spark.frames import collect
from matcher.spark.work import IDX, RULE, key_column

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

ENTITY = "entity"
TRUE_PAIR = "true_pair"


def effective_key(index: int) -> str:
    """Rule `index`'s key where its block is not capped, else null."""
    return f"ek{index}"


def block_size(index: int) -> str:
    """Size of the record's block for rule `index`, where the block is bigger than the
    skew chunk (null for ordinary blocks)."""
    return f"bn{index}"


@dataclass
class SparkBlocking:
    """Candidate pairs (`idx_l`, `idx_r`, `rule`) and the report (candidates per rule are
    filled in once the pairs are counted, with `count_new`)."""

    pairs: DataFrame
    report: BlockingReport
    keyed: DataFrame
    """The records with their effective keys (cached while the pairs are in use)."""


def _pairs_in_blocks(n: Column, squares: Column, link_only: bool) -> Column:
    """Pairs a block of n records forms (across inputs only when link_only)."""

    if link_only:
        return ((n * n - squares) / 2).cast("long")
    return (n * (n - 1) / 2).cast("long")


def _block_stats(keys: DataFrame, rules: list[BlockingRule]) -> DataFrame:
    """Per rule and block: its size `n` and the sum of squared per-input sizes `sq` (one
    pass over the records for all rules)."""
    from pyspark.sql import functions as F

    def entries_of(index: int, rule: BlockingRule) -> Column:
        def entry(key: Column) -> Column:
            return F.struct(F.lit(index).alias(RULE), key.cast("string").alias("key"))
        key = F.col(key_column(index))
        return F.transform(key, entry) if rule.multi_valued else F.array(entry(key))

    entries = F.explode(F.concat(*[entries_of(i, rule) for i, rule in enumerate(rules)])
                        ).alias("entry")
    long = keys.select("source", entries).select("source", "entry.*").where(
        F.col("key").isNotNull())
    per_source = long.groupBy(RULE, "key", "source").count()
    return per_source.groupBy(RULE, "key").agg(
        F.sum("count").alias("n"), F.sum(F.col("count") * F.col("count")).alias("sq"))


def _per_rule(values: list[int]) -> Column:
    """A column holding values[rule] for each row's rule."""
    from pyspark.sql import functions as F

    out = F.lit(values[-1])
    for index, value in enumerate(values[:-1]):
        out = F.when(F.col(RULE) == index, value).otherwise(out)
    return out


def spark_candidate_pairs(features: DataFrame, rules: list[BlockingRule], *, link_only: bool,
                          max_block_size: int, skew_chunk: int, total_pairs: int,
                          true_pairs: int | None = None) -> SparkBlocking:
    """Candidate pairs of `features` (columns idx, source, bk<i>, and `entity` when
    `true_pairs` is given, for pair completeness)."""
    from pyspark.sql import functions as F

    spark = features.sparkSession
    with_entity = true_pairs is not None
    keys = features.select(IDX, "source", *[key_column(i) for i in range(len(rules))],
                           *([ENTITY] if with_entity else []))
    report = BlockingReport(total_pairs=total_pairs)
    caps = [rule.max_block_size or max_block_size for rule in rules]
    stats = _block_stats(keys, rules).persist()
    capped = F.col("n") > _per_rule(caps)
    summary = collect(stats.groupBy(RULE).agg(
        F.sum(F.when(capped, 1).otherwise(0)).alias("blocks"),
        F.sum(F.when(capped, F.col("n")).otherwise(0)).alias("records"),
        F.sum(F.when(~capped, _pairs_in_blocks(F.col("n"), F.col("sq"), link_only))
              .otherwise(0)).alias("pairs")))
    # capped blocks and blocks worth salting are few: their sizes go out by broadcast
    big = collect(stats.where(F.col("n") > _per_rule([min(skew_chunk, c) for c in caps]))
                  .select(RULE, "key", "n"))
    stats.unpersist()
    by_rule = {int(row[RULE]): row for row in summary.iter_rows(named=True)}
    for index, rule in enumerate(rules):
        row = by_rule.get(index, {})
        report.rules.append(RuleReport(rule.name, int(row.get("pairs") or 0), 0,
                                       int(row.get("blocks") or 0),
                                       int(row.get("records") or 0)))
    keyed = _with_effective_keys(keys, rules, caps, big).persist()
    if with_entity and true_pairs:
        for index, rule_report in enumerate(report.rules):
            if not rules[index].multi_valued:
                rule_report.pair_completeness = _true_pairs_in_blocks(
                    keyed, index, link_only) / true_pairs
    multi = [rule.multi_valued for rule in rules]
    parts = []
    for index, rule_report in enumerate(report.rules):
        sizes = big.filter(pl.col(RULE) == index).select("key", "n")
        own = (_multi_rule_pairs(keyed, index, link_only, skew_chunk, with_entity, sizes)
               if multi[index] else _rule_pairs(keyed, index, link_only, skew_chunk, with_entity))
        if multi[index]:
            _count_own(own, rule_report, with_entity, true_pairs)
        parts.append(own.where(_not_found_earlier(index, multi)).drop(*_earlier_columns(index)))
    if not parts:
        schema = "idx_l long, idx_r long, rule int" + (", true_pair boolean" if with_entity
                                                         else "")
        return SparkBlocking(spark.createDataFrame([], schema), report, keyed)
    pairs = parts[0]
    for part in parts[1:]:
        pairs = pairs.unionByName(part)
    return SparkBlocking(pairs, report, keyed)


def _with_effective_keys(keys: DataFrame, rules: list[BlockingRule], caps: list[int],
                         big: pl.DataFrame) -> DataFrame:
    """`keys` with each rule's effective key (`ek<i>`: null, or for a multi-valued rule
    left out of the array, where its block is capped) and, for a plain rule, the size of the
    record's block where it is big (`bn<i>`); `big` holds (rule, key, n) of the big blocks."""
    from pyspark.sql import functions as F

    keyed = keys
    for index, rule in enumerate(rules):
        key = key_column(index)
        sizes = big.filter(pl.col(RULE) == index).select(
            pl.col("key").alias(f"{key}_big"), pl.col("n").alias(block_size(index)))
        if rule.multi_valued:
            keyed = keyed.withColumn(effective_key(index), _uncapped(
                key, sizes.filter(pl.col(block_size(index)) > caps[index])[f"{key}_big"]))
            continue
        if len(sizes):
            table = keys.sparkSession.createDataFrame(
                sizes.rows(), f"{key}_big string, {block_size(index)} long")
            keyed = keyed.join(F.broadcast(table), keyed[key] == table[f"{key}_big"], "left"
                               ).drop(f"{key}_big")
        else:
            keyed = keyed.withColumn(block_size(index), F.lit(None).cast("long"))
        keyed = keyed.withColumn(effective_key(index), F.when(
            F.col(block_size(index)).isNull() | (F.col(block_size(index)) <= caps[index]),
            F.col(key)))
    return keyed


def _true_pairs_in_blocks(keyed: DataFrame, index: int, link_only: bool) -> int:
    """True pairs among a rule's pairs (uncapped blocks, same non-null entity)."""
    from pyspark.sql import functions as F

    key = effective_key(index)
    rows = keyed.where(F.col(key).isNotNull() & F.col(ENTITY).isNotNull())
    per = rows.groupBy(key, ENTITY, "source").count().groupBy(key, ENTITY).agg(
        F.sum("count").alias("n"), F.sum(F.col("count") * F.col("count")).alias("sq"))
    total = per.agg(F.sum(_pairs_in_blocks(F.col("n"), F.col("sq"), link_only))).collect()[0][0]
    return int(total or 0)


def _uncapped(key: str, capped: pl.Series) -> Column:
    """A multi-valued rule's keys without those of capped blocks."""
    from pyspark.sql import functions as F

    if not len(capped):
        return F.col(key)
    return F.filter(F.col(key), lambda k: ~k.isin(capped.to_list()))


def _earlier_columns(index: int) -> list[str]:
    return [f"{effective_key(j)}_{side}" for j in range(index) for side in "lr"]


def _not_found_earlier(index: int, multi: list[bool]) -> Column:
    """No earlier rule pairs the two records (their effective keys share nothing)."""
    from pyspark.sql import functions as F

    keep = F.lit(True)
    for j in range(index):
        left, right = F.col(f"{effective_key(j)}_l"), F.col(f"{effective_key(j)}_r")
        agree = F.arrays_overlap(left, right) if multi[j] else left == right
        keep = keep & ~F.coalesce(agree, F.lit(False))
    return keep


def _salted_join(left: DataFrame, right: DataFrame, key: str, link_only: bool,
                 with_entity: bool, index: int) -> tuple[DataFrame, list[Column]]:
    """Pairs of `left` and `right` rows (both salted) agreeing on `key`, idx_l < idx_r; and
    the pair columns to select from them."""
    from pyspark.sql import functions as F

    joined = left.join(right, (F.col(f"{key}_l") == F.col(f"{key}_r"))
                       & (left["salt"] == right["salt"]))
    keep = F.col("idx_l") < F.col("idx_r")
    if link_only:
        keep = keep & (F.col("source_l") != F.col("source_r"))
    out = [F.col("idx_l"), F.col("idx_r"), F.lit(index).cast("int").alias(RULE)]
    if with_entity:
        out.append(F.coalesce(F.col(f"{ENTITY}_l") == F.col(f"{ENTITY}_r"), F.lit(False))
                   .alias(TRUE_PAIR))
    return joined.where(keep), out


def _sides(rows: DataFrame, key: str, carried: list[str], salts: Column
           ) -> tuple[DataFrame, DataFrame]:
    """The join's two sides: the left salted `idx % salts`, the right replicated per salt."""
    from pyspark.sql import functions as F

    left = rows.select(F.col(IDX).alias("idx_l"), F.col("source").alias("source_l"),
                       *[F.col(c).alias(f"{c}_l") for c in carried],
                       (F.col(IDX) % salts).cast("int").alias("salt"))
    right = rows.select(F.col(IDX).alias("idx_r"), F.col("source").alias("source_r"),
                        *[F.col(c).alias(f"{c}_r") for c in carried],
                        F.explode(F.sequence(F.lit(0), salts - 1)).alias("salt"))
    return left, right


def _rule_pairs(keyed: DataFrame, index: int, link_only: bool, skew_chunk: int,
                with_entity: bool) -> DataFrame:
    """Pairs rule `index` finds, salted where blocks are big, with the earlier rules'
    effective keys of both records (`_not_found_earlier` reads them)."""
    from pyspark.sql import functions as F

    key = effective_key(index)
    side = keyed.where(F.col(key).isNotNull())
    salts = F.when(F.col(block_size(index)).isNull(), F.lit(1)).otherwise(
        F.ceil(F.col(block_size(index)) / skew_chunk)).cast("int")
    earlier = [effective_key(j) for j in range(index)]
    left, right = _sides(side, key, [key, *earlier, *([ENTITY] if with_entity else [])], salts)
    joined, out = _salted_join(left, right, key, link_only, with_entity, index)
    return joined.select(*out, *_earlier_columns(index))


def _multi_rule_pairs(keyed: DataFrame, index: int, link_only: bool, skew_chunk: int,
                      with_entity: bool, sizes: pl.DataFrame) -> DataFrame:
    """`_rule_pairs` for a multi-valued rule: one row per record and uncapped key, joined;
    a pair is kept at the smallest key its records share."""
    from pyspark.sql import functions as F

    keys = effective_key(index)
    one = f"{keys}_one"
    rows = keyed.select("*", F.explode(F.col(keys)).alias(one))
    salted = sizes.filter(pl.col("n") > skew_chunk)
    if len(salted):
        table = rows.sparkSession.createDataFrame(salted.rows(), f"{one}_big string, n long")
        rows = rows.join(F.broadcast(table), rows[one] == table[f"{one}_big"], "left")
        salts = F.when(F.col("n").isNull(), F.lit(1)).otherwise(
            F.ceil(F.col("n") / skew_chunk)).cast("int")
    else:
        salts = F.lit(1)
    earlier = [effective_key(j) for j in range(index)]
    carried = [one, keys, *earlier, *([ENTITY] if with_entity else [])]
    left, right = _sides(rows, one, carried, salts)
    joined, out = _salted_join(left, right, one, link_only, with_entity, index)
    smallest = F.array_min(F.array_intersect(F.col(f"{keys}_l"), F.col(f"{keys}_r")))
    return joined.where(F.col(f"{one}_l") == smallest).select(*out, *_earlier_columns(index))


def _count_own(pairs: DataFrame, report: RuleReport, with_entity: bool,
               true_pairs: int | None) -> None:
    """A multi-valued rule's candidates (and completeness) counted from its pairs."""
    from pyspark.sql import functions as F

    counts = [F.count(F.lit(1)).alias("pairs")]
    if with_entity:
        counts.append(F.sum(F.col(TRUE_PAIR).cast("long")).alias("true"))
    row = pairs.agg(*counts).collect()[0]
    report.candidates = int(row["pairs"] or 0)
    if with_entity and true_pairs:
        report.pair_completeness = int(row["true"] or 0) / true_pairs


def count_new(report: BlockingReport, per_rule: pl.DataFrame, found_true: int | None,
              true_pairs: int | None) -> None:
    """Fill the report from the counted pairs: new candidates per rule, total, completeness."""
    counts = dict(zip(per_rule[RULE].to_list(), per_rule["count"].to_list(), strict=True))
    for index, rule_report in enumerate(report.rules):
        rule_report.new_candidates = int(counts.get(index, 0))
    report.candidates = sum(r.new_candidates for r in report.rules)
    if found_true is not None and true_pairs:
        report.pair_completeness = found_true / true_pairs
