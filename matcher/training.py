"""Training the Fellegi–Sunter model from comparison-vector counts (both engines).

EM only ever looks at distinct comparison vectors and how many pairs share each, so an engine
hands over `patterns`: one row per distinct (gamma_*, tfb_*, holds<i>) combination among the
candidate pairs, with its `count` (`tfb_<comparison>`: the frequency of the shared value, in
one-bit buckets, for pairs on a term-frequency level; see `tf_bucket_exprs`). The default
engine groups its pairs in polars, the Spark engine on the cluster; the model is then fitted
here, the same way for both: u from random pairs, m by EM per blocking rule (identifier rules
first, see `learning_order`; each session learning only what earlier ones could not), the
prior from the candidates, one polishing M-step, u refined, the prior again.

A session with more than `em_max_pairs` pairs is fitted on a seeded uniform sample of that many
(drawn from the counts); below it nothing is sampled.

Only the sessions that learn something read their rule's marks (`learning_rules`; the rest
learn nothing new), so the default engine marks those rules alone: at 1M records that spared
3 s of training and 0.25 GB of peak memory for the very same model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from features.comparisons import Comparison
from models.fellegi_sunter import (
    PROBABILITY_FLOOR,
    TF_BUCKETS_PER_BIT,
    EMSession,
    FellegiSunterModel,
    session_learns,
)

if TYPE_CHECKING:
    from matcher.pipeline import Linker

COUNT = "count"
NO_TF_BUCKET = -1


def tf_bucket_column(comparison: Comparison) -> str:
    return f"tfb_{comparison.name}"


def _with_frequencies(comparisons: list[Comparison]) -> list[Comparison]:
    """The comparisons with a term-frequency level."""
    return [c for c in comparisons if any(level.tf_column for level in c.levels)]


def tf_bucket_columns(comparisons: list[Comparison]) -> list[str]:
    """The `tfb_*` columns `tf_bucket_exprs` makes."""
    return [tf_bucket_column(c) for c in _with_frequencies(comparisons)]


def tf_bucket_exprs(comparisons: list[Comparison]) -> list[pl.Expr]:
    """Per pair, for each comparison with term-frequency levels: round(-log2 frequency) of
    the pair's value when the pair is on such a level, else `NO_TF_BUCKET`. Reads the levels
    (`gamma_<name>`) and the pair's `tf_<column>` frequencies."""
    exprs = []
    for comparison in _with_frequencies(comparisons):
        bucket = pl.lit(NO_TF_BUCKET, dtype=pl.Int8)
        for level, spec in enumerate(comparison.levels):
            if not spec.tf_column:
                continue
            freq = pl.col(f"tf_{spec.tf_column}")
            known = freq.is_not_null() & freq.is_not_nan()
            scaled = (-TF_BUCKETS_PER_BIT * freq.clip(lower_bound=PROBABILITY_FLOOR).log(2)
                      ).round().cast(pl.Int8)
            bucket = pl.when((pl.col(comparison.gamma_column) == level) & known).then(
                scaled).otherwise(bucket)
        exprs.append(bucket.alias(tf_bucket_column(comparison)))
    return exprs


def tf_bucket_matrix(patterns: pl.DataFrame, comparisons: list[Comparison]) -> np.ndarray:
    """`tfb_*` per pattern and comparison (`NO_TF_BUCKET` where a comparison has none)."""
    matrix = np.full((len(patterns), len(comparisons)), NO_TF_BUCKET, dtype=np.int8)
    for index, comparison in enumerate(comparisons):
        if tf_bucket_column(comparison) in patterns.columns:
            matrix[:, index] = patterns[tf_bucket_column(comparison)].to_numpy()
    return matrix


def holds_column(index: int) -> str:
    """Per pair: both records agree on rule `index`'s key (the rule would pair them)."""
    return f"holds{index}"


def sample_counts(counts: np.ndarray, limit: int | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, float]:
    """The counts of a uniform sample of `limit` pairs when there are more; and the share
    of the pairs kept."""
    total = int(counts.sum())
    if limit is None or total <= limit:
        return counts, 1.0
    return rng.multivariate_hypergeometric(counts.astype(np.int64), limit), limit / total


def learning_order(linker: Linker) -> list[int]:
    """The blocking rules in the order EM learns from them: rules keyed on identifiers alone
    (the state's student id, a national id) first, then the rest as listed.

    Such a rule's pairs are nearly all one person, so the levels learned there are what true
    matches look like; a rule on names fills, at scale, with namesakes whose parents share a
    common given name, and EM counts them as matches that disagree on the birth date (on 300k
    synthetic records m("birth date different") was 0.019 learned after the name rules, 0.0003
    after the identifier rule, 0.0005 among the true matches). Where no identifier is sent,
    the first name rule in the preset teaches the birth date, so a preset lists its narrowest
    name rule first (the `msix` preset: first name + both surnames before exact names, whose
    blocks hold more namesakes)."""
    identifiers = {column for c in linker.comparisons if c.identifier for column in c.primary}
    first = [i for i, rule in enumerate(linker.rules) if rule.conditions_on() <= identifiers]
    return first + [i for i in range(len(linker.rules)) if i not in first]


def _session_sets(linker: Linker, index: int) -> tuple[frozenset[int], frozenset[int]]:
    """Rule `index`'s session's held-out and not-learned comparisons (`EMSession`); what
    else it may learn is `_learnable`."""
    fixed = linker.rules[index].conditions_on()
    comparisons = linker.comparisons
    held_out = frozenset(i for i, c in enumerate(comparisons) if set(c.primary) & fixed)
    # Without a birth date in the rule, siblings crowd the block: family-level fields
    # would make "same family" the latent class, so they are not learned there.
    not_learned = frozenset(i for i, c in enumerate(comparisons)
                            if c.family_level and "dob" not in fixed)
    return held_out, not_learned


def _learnable(linker: Linker, index: int) -> frozenset[int]:
    """The comparisons rule `index`'s session may learn (before what earlier ones did)."""
    held_out, not_learned = _session_sets(linker, index)
    return frozenset(range(len(linker.comparisons))) - held_out - not_learned


def learning_rules(linker: Linker) -> list[int]:
    """The rules whose EM session learns something when every session before it (in
    `learning_order`) does: the only rules whose pairs training reads, so the only ones
    `fit` marks in the patterns (the `msix` preset: 2 of 14). If one of them turns out to
    have too few pairs to learn from, `train_model` asks for every rule's marks instead."""
    learned: set[int] = set()
    needed = []
    for index in learning_order(linker):
        new = _learnable(linker, index) - learned
        if new:
            needed.append(index)
            learned |= new
    return needed


def train_on_teaching_rules(linker: Linker, random_gammas: np.ndarray,
                            patterns: Callable[[list[int]], pl.DataFrame], total_pairs: int,
                            *, em_max_pairs: int | None = None) -> FellegiSunterModel:
    """`train_model` on the patterns marked by `learning_rules` only, and on every rule's
    marks when those are not enough (`NeedsEveryRule`). `patterns(rules)`: the candidates'
    patterns with the `holds<i>` marks of those rules."""
    try:
        return train_model(linker, random_gammas, patterns(learning_rules(linker)),
                           total_pairs, em_max_pairs=em_max_pairs)
    except NeedsEveryRule:
        return train_model(linker, random_gammas, patterns(list(range(len(linker.rules)))),
                           total_pairs, em_max_pairs=em_max_pairs)


class NeedsEveryRule(Exception):
    """`train_model` was given the marks of `learning_rules` only, and a session among them
    had too few pairs to learn from: a later rule's session must learn in its place."""


def train_model(linker: Linker, random_gammas: np.ndarray, patterns: pl.DataFrame,
                total_pairs: int, *, em_max_pairs: int | None = None) -> FellegiSunterModel:
    """Fit the model on `patterns` (see the module docstring); `random_gammas` are the
    comparison vectors of `sample_random_pairs`, `total_pairs` every possible pair.

    `patterns` holds the `holds<i>` marks of every rule, or of `learning_rules` only (the
    others' sessions learn nothing and are never read); `NeedsEveryRule` when those were
    not enough."""
    settings = linker.settings
    comparisons = linker.comparisons
    model = FellegiSunterModel(comparisons, max_iter=settings.em_iterations)
    model.fit_u(random_gammas)
    matrix, counts, buckets = _arrays(patterns, comparisons)
    rng = np.random.default_rng(settings.seed)
    sessions: dict[int, EMSession] = {}
    for index, rule in enumerate(linker.rules):
        if holds_column(index) not in patterns.columns:
            continue
        held_out, not_learned = _session_sets(linker, index)
        inside = (patterns[holds_column(index)].to_numpy() if len(patterns)
                  else np.zeros(0, dtype=bool))
        kept, _ = sample_counts(counts[inside], em_max_pairs, rng)
        sessions[index] = EMSession(rule.name, matrix[inside], held_out, not_learned,
                                    counts=kept, tf_buckets=buckets[inside])
    ordered = _sessions_in_order(linker, sessions)
    model.fit_m(ordered)
    # fit_prior needs every candidate; over a sample, the pair total scaled alike gives the
    # same expected-matches ratio
    kept, share = sample_counts(counts, em_max_pairs, rng)
    scaled_total = total_pairs if share == 1.0 else round(total_pairs * share)
    # the candidates without the rules' holds<i> columns, grouped once for the four passes
    if len(patterns):
        matrix, kept, buckets = _arrays(
            _without_holds(patterns.with_columns(pl.Series(COUNT, kept)), comparisons),
            comparisons)
    model.fit_prior(matrix, scaled_total, counts=kept, tf_buckets=buckets)
    model.polish_m(matrix, counts=kept, tf_buckets=buckets)
    model.fit_prior(matrix, scaled_total, counts=kept, tf_buckets=buckets)
    model.refine_u(random_gammas)
    model.fit_prior(matrix, scaled_total, counts=kept, tf_buckets=buckets)
    return model


def _sessions_in_order(linker: Linker, sessions: dict[int, EMSession]) -> list[EMSession]:
    """The sessions in `learning_order`; `NeedsEveryRule` if a rule without marks would
    learn something (`fit_m` reads its pairs)."""
    learned: set[int] = set()
    ordered = []
    for index in learning_order(linker):
        session = sessions.get(index)
        if session is None:
            if _learnable(linker, index) - learned:
                raise NeedsEveryRule(linker.rules[index].name)
            continue
        learned.update(session_learns(session, learned, len(linker.comparisons)))
        ordered.append(session)
    return ordered


def _arrays(patterns: pl.DataFrame, comparisons: list[Comparison]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Comparison vectors, counts and frequency buckets of `patterns` as arrays."""
    if not len(patterns):
        return (np.zeros((0, len(comparisons)), dtype=np.int8), np.zeros(0, dtype=np.int64),
                np.full((0, len(comparisons)), NO_TF_BUCKET, dtype=np.int8))
    return (patterns.select(c.gamma_column for c in comparisons).to_numpy().astype(np.int8),
            patterns[COUNT].to_numpy().astype(np.int64), tf_bucket_matrix(patterns, comparisons))


def _without_holds(patterns: pl.DataFrame, comparisons: list[Comparison]) -> pl.DataFrame:
    """`patterns` summed over the rules' holds<i> columns: one row per distinct comparison
    vector and frequency buckets."""
    columns = [*(c.gamma_column for c in comparisons), *tf_bucket_columns(comparisons)]
    present = [c for c in columns if c in patterns.columns]
    return patterns.group_by(present).agg(pl.col(COUNT).sum())
