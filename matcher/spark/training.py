"""Training the Fellegi–Sunter model from pairs compared on Spark, on the driver.

The model is `FellegiSunterModel` as it is: u from the comparison vectors of the same seeded
random pairs the default engine draws (`sample_random_pairs`), compared on the workers; m by
EM per blocking rule and the prior from the candidates' comparison vectors. EM only ever
looks at distinct comparison vectors and their counts, so Spark sends exactly that: a
group-by over (levels, which rules hold) of a few thousand rows, however many pairs there
are. A session with more than `em_max_pairs` pairs is a seeded random sample of that many
(drawn from the counts, i.e. uniformly over the session's pairs); below that the model is
bit-for-bit the default engine's.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from matcher.pipeline import Linker
from models.fellegi_sunter import EMSession, FellegiSunterModel

COUNT = "count"


def expand_patterns(patterns: np.ndarray, counts: np.ndarray, limit: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Rows of comparison vectors with these counts (a uniform sample of `limit` pairs when
    there are more); and the share of the pairs kept."""
    total = int(counts.sum())
    if total <= limit:
        return np.repeat(patterns, counts.astype(np.int64), axis=0), 1.0
    sample = rng.multivariate_hypergeometric(counts.astype(np.int64), limit)
    return np.repeat(patterns, sample, axis=0), limit / total


def train_model(linker: Linker, random_gammas: np.ndarray, patterns: pl.DataFrame,
                total_pairs: int, *, em_max_pairs: int) -> FellegiSunterModel:
    """`Linker.fit` on pattern counts: `patterns` has one row per distinct (gamma_*,
    holds<i>) combination among the candidates with its `count`.

    Mirrors `Linker.fit` step by step (which comparisons each rule holds out or must not
    learn); see the report in docs/spark.md for the small refactor that would let both
    engines call one function.
    """
    settings = linker.settings
    comparisons = linker.comparisons
    model = FellegiSunterModel(comparisons, max_iter=settings.em_iterations)
    model.fit_u(random_gammas)
    gamma_cols = [c.gamma_column for c in comparisons]
    matrix = (patterns.select(gamma_cols).to_numpy().astype(np.int8) if len(patterns)
              else np.zeros((0, len(comparisons)), dtype=np.int8))
    counts = patterns[COUNT].to_numpy() if len(patterns) else np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(settings.seed)
    sessions = []
    for index, rule in enumerate(linker.rules):
        fixed = rule.conditions_on()
        held_out = frozenset(i for i, c in enumerate(comparisons) if set(c.primary) & fixed)
        not_learned = frozenset(i for i, c in enumerate(comparisons)
                                if c.family_level and "dob" not in fixed)
        inside = (patterns[f"holds{index}"].to_numpy() if len(patterns)
                  else np.zeros(0, dtype=bool))
        rows, _ = expand_patterns(matrix[inside], counts[inside], em_max_pairs, rng)
        sessions.append(EMSession(rule.name, rows, held_out, not_learned))
    model.fit_m(sessions)
    # fit_prior needs every candidate; over a sample, the pair total scaled alike gives the
    # same expected-matches ratio
    rows, share = expand_patterns(matrix, counts, em_max_pairs, rng)
    scaled_total = total_pairs if share == 1.0 else round(total_pairs * share)
    model.fit_prior(rows, scaled_total)
    model.polish_m(rows)
    model.fit_prior(rows, scaled_total)
    model.refine_u(random_gammas)
    model.fit_prior(rows, scaled_total)
    return model
