"""The thin facade that strings the stages together: prepare, block, compare, score, cluster.

The CLI, the store, the API and the benchmarks all go through `Linker`; the work itself is in
the stage functions, which the tests call directly.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import polars as pl

from features.comparisons import (
    COMPARE_CHUNK,
    NULL_LEVEL,
    SMALL_COMPARE_PAIRS,
    VERY_SAME_NAME,
    Comparison,
    build_comparison,
    compare,
)
from features.prepare import SECOND_BIRTH_DATE, prepare
from features.value_memo import ValueMemo
from matcher.blocking import BlockingReport, BlockingRule, candidate_pairs, rule_holds
from matcher.clustering import (
    TWIN_BY_NAMES,
    IndexedPairs,
    cluster_indexed,
    evidence_within_sources,
    near_match_mask,
    near_match_reasons,
    pairs_to_complete,
)
from matcher.errors import ModelError, SettingsError
from matcher.schema import CANONICAL_COLUMNS
from matcher.settings import Settings
from matcher.training import (
    COUNT,
    holds_column,
    tf_bucket_exprs,
    train_on_teaching_rules,
)
from models.base import MatchModel
from models.fellegi_sunter import FellegiSunterModel

Progress = Callable[[str], None]

SCORE_CHUNK = 1_000_000
"""Pairs scored at once when only the scores are kept."""
TWIN_FLAG = "possible_multiple_birth"
"""Per pair: same birth date and family, given names of two people (`TwinGuard`)."""
GUARD_SIDES = {"mbf": "__mbf", "enr": "__enr", "fn1_unisex": "__uni", "state": "__st",
               "given_full": "__gf"}
"""Prepared columns the twin guard reads from both records (gathered as `<name>_l`, `_r`)."""
CONCURRENT_ENROLLMENT_DAYS = 30
"""Two enrollments in one state at most this many days apart, unless under one student id,
are two children enrolled at once (a family's children are enrolled together), not one child
enrolled twice; a child's own re-enrollment in a state follows a move, weeks later. A missing
id does not make them one child, except that the very same given names (first and middle, as
written) without an id may be one record sent twice."""


@dataclass
class LinkResult:
    identities: pl.DataFrame
    """record_id, identity_id."""
    near_matches: pl.DataFrame
    pairs: pl.DataFrame
    """Every scored candidate pair: record ids, probability, weight, levels, flags, rule.
    Empty (with these columns) when `link(keep_pairs=False)`; the count is then
    `blocking.candidates`."""
    blocking: BlockingReport
    seconds: dict[str, float] = field(default_factory=dict)
    cluster_stats: dict[str, int] = field(default_factory=dict)


RETRAIN = ("it was trained for other settings or by another version of studentlink; train "
           "one for these (studentlink link INPUT... --save-model FILE), or give a store a "
           "new one (studentlink rebuild --store URL)")


def check_model_fits(model: MatchModel, comparisons: Sequence[Comparison]) -> None:
    """A saved model scores the comparisons it was trained with, level by level: with other
    comparisons or levels (another preset, an older version) its weights would land on the
    wrong levels."""
    names = [c.name for c in comparisons]
    if list(model.comparison_names) != names:
        raise ModelError(f"the model scores the comparisons {list(model.comparison_names)}, "
                         f"the settings define {names}: {RETRAIN}")
    for comparison, trained in zip(comparisons, model.level_labels, strict=True):
        now: tuple[str, ...] | int = (tuple(comparison.labels()) if isinstance(trained, tuple)
                                      else len(comparison.levels))
        if trained != now:
            raise ModelError(f"the model's comparison {comparison.name!r} has other levels "
                             f"than these settings' ({_level_difference(trained, now)}): "
                             f"{RETRAIN}")


def _level_difference(trained: tuple[str, ...] | int, now: tuple[str, ...] | int) -> str:
    if isinstance(trained, int) or isinstance(now, int):
        return f"{trained} levels, the settings {now}"
    new, gone = [x for x in now if x not in trained], [x for x in trained if x not in now]
    return (f"new: {new}; not any more: {gone}" if new or gone
            else "the same levels in another order")


@lru_cache(maxsize=16)
def prepared_columns(extra_fields: tuple[str, ...]) -> frozenset[str]:
    """The columns `prepare` gives records with these extra evidence fields."""
    empty = pl.DataFrame({c: pl.Series([], dtype=pl.String)
                          for c in (*CANONICAL_COLUMNS, *extra_fields)})
    return frozenset(prepare(empty.with_columns(source=pl.lit(0, dtype=pl.Int32)),
                             list(extra_fields)).columns)


def check_columns_exist(settings: Settings, comparisons: Sequence[Comparison],
                        rules: Sequence[BlockingRule], extra_fields: list[str]) -> None:
    """Every comparison column and blocking key names a prepared column or an extra field of
    the preset, and no extra field takes a prepared column's name: a misspelt or shadowing
    name is a settings error up front, not a failure (or a silent change) mid-run."""
    known = prepared_columns(tuple(extra_fields))
    unknown = ("is neither a prepared column nor an extra field of the preset (a canonical "
               "field is compared through its prepared columns)")
    problems = [f"extra field {f!r} has the name of a prepared column; name it otherwise"
                for f in extra_fields if f in prepared_columns(())]
    problems += [f"comparison {spec.name!r}: column {missing.removeprefix('x_')!r} {unknown}"
                 for spec, comparison in zip(settings.comparisons, comparisons, strict=True)
                 if spec.column for missing in sorted(comparison.columns() - known)]
    problems += [f"blocking rule {rule.name!r}: key {key!r} {unknown}"
                 for spec, rule in zip(settings.blocking_rules, rules, strict=True)
                 for key, column in zip(BlockingRule(spec.name, spec.keys).columns(),
                                        rule.columns(), strict=True)
                 if column not in known]
    if problems:
        raise SettingsError(f"invalid preset {settings.name!r}:\n"
                            + "\n".join(f"  {p}" for p in problems)
                            + "\n  (prepared columns are listed in docs/presets.md)")


def resolve_column(column: str, extra_fields: list[str]) -> str:
    """A preset names a field; extra evidence fields live in prepared columns `x_<field>`."""
    return f"x_{column}" if column in extra_fields else column


class Linker:
    def __init__(self, settings: Settings, model: MatchModel | None = None) -> None:
        self.settings = settings
        self.extra_fields = list(settings.extra_fields)
        self.comparisons: list[Comparison] = [
            build_comparison(spec.name, spec.kind,
                             resolve_column(spec.column, self.extra_fields) if spec.column
                             else None, spec.term_frequency, spec.thresholds, spec.identifier,
                             SECOND_BIRTH_DATE in self.extra_fields)
            for spec in settings.comparisons]
        self.rules = [BlockingRule(r.name, r.keys, r.max_block_size).renamed(
                          lambda c: resolve_column(c, self.extra_fields))
                      for r in settings.blocking_rules]
        check_columns_exist(settings, self.comparisons, self.rules, self.extra_fields)
        if model is not None:
            check_model_fits(model, self.comparisons)
        self.model = model
        self.seconds: dict[str, float] = {}

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    # --- stages -----------------------------------------------------------------------------

    def tf_columns(self) -> list[str]:
        return sorted({lvl.tf_column for c in self.comparisons for lvl in c.levels
                       if lvl.tf_column})

    @cached_property
    def pair_columns(self) -> list[str]:
        """The prepared columns `compare` may read (those the prepared frame has)."""
        return sorted(set().union(*(c.columns() for c in self.comparisons))
                      | set(GUARD_SIDES) | {f"tf_{c}" for c in self.tf_columns()})

    def prepare(self, records: pl.DataFrame, memo: ValueMemo | None = None, *,
                term_frequencies: bool = True) -> pl.DataFrame:
        """Normalised features plus (`term_frequencies`) each record's term frequencies
        within `records` (`tf_<column>`)."""
        prepared = prepare(records, self.extra_fields, self.settings.date_formats,
                           self.settings.ocr_digits, memo)
        return add_term_frequencies(prepared, self.tf_columns()) if term_frequencies else prepared

    def compare(self, left: pl.DataFrame, pairs: pl.DataFrame,
                right: pl.DataFrame | None = None, *, term_frequencies: bool = True
                ) -> pl.DataFrame:
        """Comparison levels, the twin flag and (`term_frequencies`) the pair's term
        frequencies (`pair_term_frequencies`) for each pair.

        `compare` takes the pairs in chunks itself; the flags and frequencies are added a chunk
        at a time too, so that memory stays bounded by the chunk, not by the number of
        candidate pairs (only the small level columns are kept)."""
        right = left if right is None else right
        gammas = compare(left, pairs, self.comparisons, right)
        tf = self.tf_columns() if term_frequencies else []
        if len(pairs) <= SMALL_COMPARE_PAIRS:
            return gammas.hstack(self._pair_flags_plain(left, pairs, right, gammas, tf))
        return pl.concat([self._pair_flags(left, gammas.slice(start, COMPARE_CHUNK), right, tf)
                          for start in range(0, len(pairs), COMPARE_CHUNK)])

    def _pair_flags(self, left: pl.DataFrame, gammas: pl.DataFrame, right: pl.DataFrame,
                    tf: list[str]) -> pl.DataFrame:
        """`gammas` with the twin flag and the pair's frequencies, in one query over the
        levels and both sides' values."""
        sides = {**GUARD_SIDES, **{f"tf_{c}": f"__tf_{c}" for c in tf}}
        return gammas.hstack([*gather_columns(left, gammas["idx_l"], sides, "_l"),
                              *gather_columns(right, gammas["idx_r"], sides, "_r")]).select(
            *gammas.columns, *self._twin_exprs,
            *(pl.max_horizontal(f"__tf_{c}_l", f"__tf_{c}_r").alias(f"tf_{c}") for c in tf))

    def _pair_flags_plain(self, left: pl.DataFrame, pairs: pl.DataFrame, right: pl.DataFrame,
                          gammas: pl.DataFrame, tf: list[str]) -> list[pl.Series]:
        """The twin flag and the pair's frequencies of `compare`, in plain Python (for a few
        pairs: the query over them costs more than its rows)."""
        def sides(column: str) -> tuple[list[Any], list[Any]]:
            # gathered first: `left` may be a whole batch's records
            return (left.get_column(column)[pairs["idx_l"]].to_list(),
                    right.get_column(column)[pairs["idx_r"]].to_list())

        guard = self._twin_guard
        flags, by_names = (([False] * len(pairs),) * 2 if guard is None else guard.flags(
            {c: gammas[c].to_list() for c in guard.columns},
            {column: sides(column) for column in GUARD_SIDES}))
        return [pl.Series(TWIN_FLAG, flags, dtype=pl.Boolean),
                pl.Series(TWIN_BY_NAMES, by_names, dtype=pl.Boolean),
                *(pl.Series(f"tf_{c}", list(map(max_present, *sides(f"tf_{c}"))),
                            dtype=pl.Float64) for c in tf)]

    @cached_property
    def _twin_guard(self) -> TwinGuard | None:
        """The twin guard, or None when the settings turn it off."""
        return (twin_guard(tuple(self.comparisons)) if self.settings.multiple_birth_guard
                else None)

    @cached_property
    def _twin_exprs(self) -> list[pl.Expr]:
        """`TwinGuard.exprs`, or False for every pair without a guard."""
        guard = self._twin_guard
        return ([pl.repeat(False, pl.len()).alias(c) for c in (TWIN_FLAG, TWIN_BY_NAMES)]
                if guard is None else guard.exprs())

    def pair_term_frequencies(self, left: pl.DataFrame, pairs: pl.DataFrame,
                              right: pl.DataFrame | None = None) -> pl.DataFrame:
        """`tf_<column>` per pair: the larger of the two records' frequencies (a batch run
        computes these per scoring chunk instead of keeping them for every pair)."""
        right = left if right is None else right
        return pl.DataFrame([
            left[f"tf_{c}"].gather(pairs["idx_l"]).alias(f"tf_{c}") for c in self.tf_columns()
        ]).with_columns(
            pl.max_horizontal(pl.col(f"tf_{c}"), right[f"tf_{c}"].gather(pairs["idx_r"]))
            .alias(f"tf_{c}") for c in self.tf_columns())

    def fit(self, prepared: pl.DataFrame, pairs: pl.DataFrame, gammas: pl.DataFrame,
            total_pairs: int, link_only: bool = False) -> FellegiSunterModel:
        """Train the unsupervised model (`matcher.training`): u from random pairs, m by EM
        per blocking rule, on the candidates' comparison-vector counts."""
        random_matrix, patterns = self.training_inputs(prepared, pairs, gammas, link_only)
        return train_on_teaching_rules(self, random_matrix, patterns, total_pairs)

    def training_inputs(self, prepared: pl.DataFrame, pairs: pl.DataFrame,
                        gammas: pl.DataFrame, link_only: bool = False
                        ) -> tuple[np.ndarray, Callable[[list[int]], pl.DataFrame]]:
        """`train_model`'s inputs: the random pairs' comparison vectors, and the candidates'
        patterns with the `holds<i>` marks of the rules asked for."""
        random_pairs = sample_random_pairs(prepared["source"], self.settings.u_sample_pairs,
                                           link_only, self.settings.seed)
        random_matrix = gamma_array(compare(prepared, random_pairs, self.comparisons),
                                    self.comparisons)
        gamma_cols = [c.gamma_column for c in self.comparisons]
        vectors = gammas.select(gamma_cols).hstack(self._tf_buckets(prepared, pairs, gammas))

        def patterns(rules: list[int]) -> pl.DataFrame:
            holds = [rule_holds(prepared, pairs, self.rules[i]).alias(holds_column(i))
                     for i in rules]
            return (vectors.with_columns(holds)
                    .group_by([*vectors.columns, *(h.name for h in holds)]).len(COUNT))

        return random_matrix, patterns

    def _tf_buckets(self, prepared: pl.DataFrame, pairs: pl.DataFrame, gammas: pl.DataFrame
                    ) -> pl.DataFrame:
        """`tf_bucket_exprs` per pair, a scoring chunk at a time (the pairs' frequencies are
        not kept)."""
        gamma_cols = [c.gamma_column for c in self.comparisons]
        exprs = tf_bucket_exprs(self.comparisons)
        return pl.concat([
            gammas.slice(start, SCORE_CHUNK).select(gamma_cols)
            .hstack(self.pair_term_frequencies(prepared, pairs.slice(start, SCORE_CHUNK)))
            .select(exprs)
            for start in range(0, max(len(gammas), 1), SCORE_CHUNK)])

    def same_name(self, gammas: pl.DataFrame) -> np.ndarray | None:
        """Per pair: the given names are the very same, or the same misspelt (a clustering
        priority, and what breaks a tie between strong and flagged pairs: CAROLYN against
        CARLLYN, beside a CARRIE flagged against CARLLYN, is one woman). Not another form of
        the name: JUANITO fits JUAN CARLOS and his brother JUAN JOSE alike."""
        if self._same_name_levels is None:
            return None
        column, levels = self._same_name_levels
        return gammas[column].is_in(levels).to_numpy()

    @cached_property
    def _same_name_levels(self) -> tuple[str, list[int]] | None:
        """The given-name gamma column and its levels `same_name` reads (None without a
        given-name comparison)."""
        given = next((c for c in self.comparisons if c.kind == "given_name"), None)
        if given is None:
            return None
        return given.gamma_column, [
            *(given.level_index(label) for label in VERY_SAME_NAME),
            *(i for i, level in enumerate(given.levels) if level.typo)]

    def score(self, gammas: pl.DataFrame, contributions: bool = True,
              tf: pl.DataFrame | None = None) -> pl.DataFrame:
        """match_weight and match_probability per pair, and with `contributions` each
        comparison's `mw_<name>`. Term frequencies come from `tf` when given, else from the
        gammas' own `tf_<column>` columns."""
        if self.model is None:
            raise ModelError("no model: pass one to Linker or let link() train it")
        if tf is None:
            tf = pl.DataFrame([gammas.get_column(f"tf_{c}") for c in self.tf_columns()])
        scores = self.model.predict(gammas, tf)
        return scores if contributions else scores.select("match_weight", "match_probability")

    # --- the whole batch job ----------------------------------------------------------------

    def link(self, records: pl.DataFrame, *, link_only: bool = False,
             entity: pl.Series | None = None, progress: Progress | None = None,
             keep_pairs: bool = True) -> LinkResult:
        """Link canonical records (with `source` = input index) into identities.

        Without `keep_pairs`, `LinkResult.pairs` is left empty: record ids for every
        candidate pair are a large share of a big run's peak memory."""
        say = progress or (lambda _stage: None)
        say("normalising")
        with self._timed("normalise"):
            prepared = self.prepare(records)
        say("blocking")
        with self._timed("block"):
            pairs, report = candidate_pairs(
                prepared, self.rules, link_only=link_only,
                max_block_size=self.settings.max_block_size, entity=entity)
        say(f"comparing {len(pairs):,} candidate pairs")
        with self._timed("compare"):
            # term frequencies are gathered again per scoring chunk: kept for every pair
            # they would be a quarter of the pair data
            gammas = self.compare(prepared, pairs, term_frequencies=False).drop(
                "idx_l", "idx_r")
        if self.model is None:
            say("training the model (u from random pairs, m by EM)")
            with self._timed("train"):
                self.model = self.fit(prepared, pairs, gammas, report.total_pairs, link_only)
        say("scoring")
        with self._timed("score"):
            # a chunk at a time, keeping only the two scores (a batch holds millions of pairs)
            scores = pl.concat([
                self.score(gammas.slice(start, SCORE_CHUNK), contributions=False,
                           tf=self.pair_term_frequencies(prepared,
                                                         pairs.slice(start, SCORE_CHUNK)))
                for start in range(0, max(len(gammas), 1), SCORE_CHUNK)])
        say("checking linked components")
        with self._timed("complete"):
            candidates = len(pairs)
            pairs, gammas, scores = self.complete_components(prepared, pairs, gammas, scores,
                                                             link_only)
        say("clustering")
        with self._timed("cluster"):
            indexed = self.indexed_pairs(pairs["idx_l"].to_numpy(), pairs["idx_r"].to_numpy(),
                                         scores, gammas)
            ids = prepared["record_id"]
            outcome = cluster_indexed(len(prepared), indexed, self.settings.thresholds,
                                      record_ids=ids)
            keep = near_match_mask(indexed, outcome, outcome.labels, self.settings.thresholds,
                                   ids)
            near = self._near_matches(prepared, pairs.filter(keep), scores.filter(keep),
                                      gammas.filter(keep),
                                      near_match_reasons(indexed, outcome,
                                                         self.settings.thresholds, keep))
            rows = len(pairs) if keep_pairs else 0
            scored = self._scored(prepared, pairs.head(rows), scores.head(rows),
                                  gammas.head(rows))
            identities = identity_table(prepared["record_id"], outcome.labels)
        stats = {**outcome.stats, "component_pairs": len(pairs) - candidates}
        return LinkResult(identities, near, scored, report, dict(self.seconds), stats)

    def indexed_pairs(self, left: np.ndarray, right: np.ndarray, scores: pl.DataFrame,
                      gammas: pl.DataFrame) -> IndexedPairs:
        """Scored pairs as `cluster_indexed` takes them: the scores, the twin flag, and the
        evidence a rebuild weighs (exact given names, an agreeing identifier, a flag a typo
        can explain)."""
        return IndexedPairs(left, right, scores["match_probability"].to_numpy(),
                            gammas[TWIN_FLAG].to_numpy(), scores["match_weight"].to_numpy(),
                            self.same_name(gammas),
                            gammas.select(identifier_agreement(self.comparisons))
                            .to_series().to_numpy(),
                            gammas[TWIN_BY_NAMES].to_numpy())

    def complete_components(self, prepared: pl.DataFrame, pairs: pl.DataFrame,
                            gammas: pl.DataFrame, scores: pl.DataFrame, link_only: bool
                            ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Score the pairs inside small linked components that blocking did not propose
        (`clustering.pairs_to_complete`), appended after the candidates with the rule number
        one past the blocking rules."""
        probability = scores["match_probability"].to_numpy()
        link = (probability >= self.settings.thresholds.upper) & ~gammas[TWIN_FLAG].to_numpy()
        left, right = pairs["idx_l"].to_numpy(), pairs["idx_r"].to_numpy()
        lo, hi = pairs_to_complete(len(prepared), left[link], right[link], left, right)
        if not len(lo):
            return pairs, gammas, scores
        extra = pl.DataFrame({"idx_l": lo, "idx_r": hi}).select(
            pl.col("idx_l", "idx_r").cast(pairs.schema["idx_l"]),
            pl.lit(len(self.rules), dtype=pairs.schema["rule"]).alias("rule"))
        extra_gammas = self.compare(prepared, extra, term_frequencies=False).select(
            gammas.columns)
        within = np.zeros(len(lo), dtype=bool)
        if link_only:
            sources = prepared["source"].to_numpy()
            within = sources[lo] == sources[hi]
        if within.any():
            extra_gammas = extra_gammas.with_columns(
                pl.when(pl.Series(within)).then(pl.lit(NULL_LEVEL, dtype=pl.Int8))
                .otherwise(pl.col(column)).alias(column)
                for column in self.unshared_comparisons(gammas))
        extra_scores = self.score(extra_gammas, contributions=False,
                                  tf=self.pair_term_frequencies(prepared, extra))
        if link_only:
            keep = pl.Series(evidence_within_sources(
                within, extra_scores["match_probability"].to_numpy(),
                self.settings.thresholds.lower))
            extra, extra_gammas, extra_scores = (
                extra.filter(keep), extra_gammas.filter(keep), extra_scores.filter(keep))
        return (pl.concat([pairs, extra]), pl.concat([gammas, extra_gammas]),
                pl.concat([scores, extra_scores.select(scores.columns)]))

    def unshared_comparisons(self, gammas: pl.DataFrame) -> list[str]:
        """The gamma columns of the comparisons no candidate pair could make (null on every
        one: linking across inputs, a field one input lacks). The model learned nothing of
        them, so they say nothing of a pair within one input either (`complete_components`
        reads them as missing there: uniform m and u, but a term frequency would weigh an
        agreeing address as rare evidence)."""
        return [c.gamma_column for c in self.comparisons
                if not (gammas[c.gamma_column] != NULL_LEVEL).any()]

    @staticmethod
    def _scored(prepared: pl.DataFrame, pairs: pl.DataFrame, scores: pl.DataFrame,
                gammas: pl.DataFrame) -> pl.DataFrame:
        """Record ids, scores, levels, twin flag and blocking rule per pair."""
        ids = prepared["record_id"]
        return pl.concat([
            pl.DataFrame({"record_id_l": ids.gather(pairs["idx_l"]),
                          "record_id_r": ids.gather(pairs["idx_r"])}),
            scores, gammas.select(pl.col("^gamma_.*$"), TWIN_FLAG),
            pairs.select(pl.col("rule"))], how="horizontal")

    def _near_matches(self, prepared: pl.DataFrame, pairs: pl.DataFrame, scores: pl.DataFrame,
                      gammas: pl.DataFrame, reasons: np.ndarray) -> pl.DataFrame:
        """The pairs kept for review, with each comparison's contribution to the weight."""
        contributions = self.score(
            gammas, tf=self.pair_term_frequencies(prepared, pairs)).select(pl.col("^mw_.*$"))
        return (pl.concat([self._scored(prepared, pairs, scores, gammas), contributions],
                          how="horizontal")
                .with_columns(pl.Series("reason", reasons))
                .sort("match_probability", descending=True))


# --- helpers shared with the online matcher ---------------------------------------------------


def add_term_frequencies(prepared: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """`tf_<col>`: the share of records (with a value) that carry this record's value."""
    return prepared.with_columns(
        (pl.len().over(c) / pl.col(c).count()).cast(pl.Float64)
        .fill_null(float("nan")).alias(f"tf_{c}")
        for c in columns)


def gamma_array(gammas: pl.DataFrame, comparisons: list[Comparison]) -> np.ndarray:
    if not len(gammas):
        return np.zeros((0, len(comparisons)), dtype=np.int8)
    return gammas.select([c.gamma_column for c in comparisons]).to_numpy().astype(np.int8)


def sample_random_pairs(sources: pl.Series, count: int, link_only: bool, seed: int
                        ) -> pl.DataFrame:
    """Uniform random record pairs (cross-input pairs when link_only) for estimating u."""
    rng = np.random.default_rng(seed)
    n = len(sources)
    source = sources.to_numpy()
    left_parts, right_parts, have, tries = [], [], 0, 0
    while have < count and tries < 20 and n > 1:
        tries += 1
        left = rng.integers(0, n, size=count)
        right = rng.integers(0, n, size=count)
        ok = left != right
        if link_only:
            ok &= source[left] != source[right]
        left_parts.append(left[ok])
        right_parts.append(right[ok])
        have += int(ok.sum())
    left = np.concatenate(left_parts)[:count] if left_parts else np.zeros(0, np.int64)
    right = np.concatenate(right_parts)[:count] if right_parts else np.zeros(0, np.int64)
    return pl.DataFrame({"idx_l": left.astype(np.uint32), "idx_r": right.astype(np.uint32)})


def identifier_agreement(comparisons: list[Comparison]) -> pl.Expr:
    """An identifier comparison (a national id, the state's student id) agrees, exactly or on
    a fuzzy level: evidence about the person, not the family."""
    return _identifier_expr(_identifier_levels(comparisons))


def _identifier_levels(comparisons: Sequence[Comparison]) -> tuple[tuple[str, int], ...]:
    """(gamma column, last level that is not 'different') of the identifier comparisons."""
    return tuple((c.gamma_column, len(c.levels) - 2) for c in comparisons if c.identifier)


def gather_columns(frame: pl.DataFrame, rows: pl.Series, names: dict[str, str], suffix: str
              ) -> list[pl.Series]:
    """Columns of `frame` at `rows`, renamed to `names[column] + suffix`."""
    # `Series[rows]` gathers without the frame's indexing machinery (a few µs per column)
    return [frame.get_column(c)[rows].alias(name + suffix) for c, name in names.items()]


@dataclass(frozen=True)
class TwinGuard:
    """One family, two children: possibly twins (one birth date) or siblings (dates apart).

    The birth date and the surnames agree on any level but 'different' (or are missing).
    Then either the given names are clearly different, or the records say two children:
    - male and female forms of one name (ANGEL/ANGELA) count as different only when the sexes
      do not agree: with the same recorded sex the difference is a typo;
    - different recorded sexes and given names that are not the same name (a nickname of the
      name, DAN/DANIEL, says the sex is the error);
    - a declared multiple birth on either side and given names that are not the very same;
    - enrollments in one state at most `CONCURRENT_ENROLLMENT_DAYS` apart, the student ids
      different, or missing and the given names not the very same (two children enrolled
      together).
    The last two, what the records say, also hold where the surnames differ but the parents'
    given names agree (one family, its name misplaced: DUSTIN | ROBERTS against ROBERTS ALLEN |
    MICHAEL, twins enrolled together; WISLON | BAPTISTE against JEAN-ROBERT | JEAN-BAPTISET,
    both declared twins); the name rules do not (there a true pair's names are often just
    badly garbled).
    The guard also flags possible siblings: where the layout has the parents' given names, a
    pair whose surnames and parents' names agree (on any level but 'different') and whose
    birth dates are clearly apart (the 'different' level: no typo, swap or placeholder
    explains them) is as likely two children of one family as one child with a garbled date
    (JOSE MARTINEZ CRUZ born 2006 and JOSE MARTINEZ CRUZ born 2013, parents JUAN and
    GUADALUPE, the second given names dropped): the family's names, counted as independent
    evidence, outweigh the dates.
    Agreement on an identifier comparison (a national id, the state's student id), exact or on
    a fuzzy level, lifts the flag: that is evidence about the person, not the family.
    A flag a typo can explain is marked as such (`TWIN_BY_NAMES`), so clustering lets more
    strong unflagged pairs between two groups outvote it: one the given names alone raise,
    two recorded sexes or a declared multiple birth beside given names that differ in
    spelling only (a `spelling` level: ALFONSO (F) against ALFENSO (M), YARITZI against
    YARETZI), or birth dates apart (a garbled date is a typo too: the child's other records
    outvote it). Enrollments together stay firm, and so do two sexes or a declared multiple
    birth beside two different known names (declared twins are named alike: JOSE and JOSUE),
    one name inside the other or clearly different names.
    Read over the gamma columns and the two sides' multiple-birth flags and enrollment dates
    (`GUARD_SIDES`): as expressions (`exprs`) or, for a few pairs, in plain Python (`flags`).
    """

    given: str
    birth: str
    surname: str
    sex: str | None
    birth_else: int
    surname_else: int
    sex_else: int
    different: tuple[int, ...]
    not_same_name: tuple[int, ...]
    """A declared multiple birth needs the very same given names to link on its own (exact,
    or the same names split differently between the first and middle fields)."""
    nickname: int
    """The nickname level: with different recorded sexes it says the sex is the error
    (DAN/DANIEL), unless a name may be either sex's (ALEX: ALEJANDRO or ALEJANDRA)."""
    gendered: tuple[int, ...]
    swapped: tuple[int, ...]
    spelling: tuple[int, ...]
    """Levels of names that differ in spelling only: a second recorded sex beside them
    raises a flag that clustering may outvote (`TWIN_BY_NAMES`)."""
    identifiers: tuple[tuple[str, int], ...]
    """(gamma column, last level that is not 'different') of the identifier comparisons."""
    local_id: str | None = None
    """Gamma column of the states' student ids (a `local_id` comparison): enrollments in one
    state are read only where the layout has them."""
    parents: str | None = None
    """Gamma column of the parents' given names (a `parents` comparison), if any."""
    parents_else: int = 0

    @classmethod
    def of(cls, comparisons: tuple[Comparison, ...]) -> TwinGuard | None:
        """The guard for these comparisons (None without the comparisons it needs)."""
        by_kind = {c.kind: c for c in comparisons}
        if not all(k in by_kind for k in ("given_name", "birth_date", "surname")):
            return None
        given, dob, surname = by_kind["given_name"], by_kind["birth_date"], by_kind["surname"]
        sex = next((c for c in comparisons if c.primary == ("sex",)), None)
        levels = range(len(given.levels))
        return cls(
            given.gamma_column, dob.gamma_column, surname.gamma_column,
            None if sex is None else sex.gamma_column,
            len(dob.levels) - 1, len(surname.levels) - 1,
            -2 if sex is None else len(sex.levels) - 1,
            tuple(i for i in levels if given.levels[i].different_name),
            tuple(i for i in levels
                  if i not in [given.level_index(label) for label in VERY_SAME_NAME]),
            given.level_index("nickname or equivalent form"),
            tuple(i for i in levels if given.levels[i].gendered),
            (given.level_index("first and last name swapped"),),
            tuple(i for i in levels if given.levels[i].spelling),
            _identifier_levels(comparisons),
            by_kind["local_id"].gamma_column if "local_id" in by_kind else None,
            by_kind["parents"].gamma_column if "parents" in by_kind else None,
            len(by_kind["parents"].levels) - 1 if "parents" in by_kind else 0)

    def exprs(self) -> list[pl.Expr]:
        """The flag (`TWIN_FLAG`) and whether a typo can explain it (`TWIN_BY_NAMES`)."""
        given = pl.col(self.given)
        # any birth-date level but 'different' (a typo or a missing date does not tell twins
        # apart)
        same_birth = pl.col(self.birth) < self.birth_else
        same_family = pl.col(self.surname) < self.surname_else
        same_parents = (pl.col(self.parents).is_between(0, self.parents_else - 1)
                        if self.parents is not None else pl.lit(False))
        flagged_birth = (pl.col("__mbf_l").eq("Y") | pl.col("__mbf_r").eq("Y")).fill_null(False)
        identifier_agrees = _identifier_expr(self.identifiers)
        sex = None if self.sex is None else pl.col(self.sex)
        same_sex_variant = (given.is_in(self.gendered) & (sex == 0) if sex is not None
                            else pl.lit(False))
        # a boy and a girl born the same day to one family, names alike (ALEJANDRO/ALEJAANDRA)
        sexes_differ = sex == self.sex_else if sex is not None else pl.lit(False)
        said_by_names = given.is_in(self.different) & ~same_sex_variant
        spelling = given.is_in(self.spelling)
        sexes_and_names_differ = (sexes_differ & given.is_in(self.not_same_name)
                                  & ~self._one_name_by_nickname())
        declared = (flagged_birth & given.is_in(self.not_same_name)
                    & ~given.is_in(self.swapped))
        together = self._enrolled_together()
        maybe_twins = same_birth & ~identifier_agrees
        one_family = same_family | same_parents
        said_by_family = one_family & (declared | together)
        said_by_sexes = same_family & sexes_and_names_differ
        # a second recorded sex beside names that differ in spelling only (ALFONSO (F)
        # against ALFENSO (M)) is as likely one child with two typos as two children
        # so is a declared multiple birth beside names that differ in spelling only (YARITZI
        # against YARETZI): the child's other records, under the very same name, outvote it
        firm = (maybe_twins & (((said_by_sexes | one_family & declared) & ~spelling)
                               | one_family & together)).fill_null(False)
        siblings = ((pl.col(self.birth) == self.birth_else) & same_family & same_parents
                    & ~identifier_agrees)
        flag = ((maybe_twins & (said_by_family | said_by_sexes | (same_family & said_by_names)))
                | siblings).fill_null(False)
        return [flag.alias(TWIN_FLAG), (flag & ~firm).alias(TWIN_BY_NAMES)]

    def _one_name_by_nickname(self) -> pl.Expr:
        """A nickname of the name, neither name either sex's (`GUARD_SIDES`)."""
        return ((pl.col(self.given) == self.nickname)
                & ~pl.col("__uni_l").fill_null(False) & ~pl.col("__uni_r").fill_null(False)
                ).fill_null(False)

    def _enrolled_together(self) -> pl.Expr:
        """One state, enrollments close together (`GUARD_SIDES`), the student ids different,
        or missing while the given names differ, the middle name included (with the very same
        names and no id, one record sent twice is as likely; ANA | KAREN against ANA, sent
        the same day, is a twin ANA MARIA as likely); agreeing ids lift the flag as any
        identifier does."""
        if self.local_id is None:
            return pl.lit(False)
        days = (pl.col("__enr_l").str.to_date("%Y%m%d", strict=False)
                - pl.col("__enr_r").str.to_date("%Y%m%d", strict=False)).dt.total_days()
        id_missing = pl.col(self.local_id) == NULL_LEVEL
        return ((pl.col("__st_l") == pl.col("__st_r"))
                & (days.abs() <= CONCURRENT_ENROLLMENT_DAYS)
                & (~id_missing | pl.col(self.given).is_in(self.not_same_name)
                   | (pl.col("__gf_l") != pl.col("__gf_r")).fill_null(False))).fill_null(False)

    @property
    def columns(self) -> list[str]:
        """The gamma columns `flags` reads."""
        return [self.given, self.birth, self.surname, *([self.sex] if self.sex else []),
                *(column for column, _ in self.identifiers),
                *([self.local_id] if self.local_id else []),
                *([self.parents] if self.parents else [])]

    def flags(self, gammas: Mapping[str, Sequence[int]],
              sides: Mapping[str, tuple[Sequence[Any], Sequence[Any]]]
              ) -> tuple[list[bool], list[bool]]:
        """`exprs` per pair in plain Python (for a few pairs): the flags and whether a typo can
        explain them; `sides`: each `GUARD_SIDES` column of the left and the right
        records."""
        n = len(gammas[self.given])
        agree = _identifier_plain(self.identifiers, gammas, n)
        sexes = gammas[self.sex] if self.sex is not None else [None] * n
        together = self._enrolled_together_plain(gammas, sides, n)
        (mbf_l, mbf_r), (uni_l, uni_r) = sides["mbf"], sides["fn1_unisex"]
        parents = gammas[self.parents] if self.parents is not None else [NULL_LEVEL] * n
        verdicts = [self._verdict(*row) for row in zip(
            gammas[self.given], gammas[self.birth], gammas[self.surname], sexes, agree,
            mbf_l, mbf_r, together, uni_l, uni_r, parents, strict=True)]
        return [flag for flag, _ in verdicts], [flag and not firm for flag, firm in verdicts]

    def _enrolled_together_plain(
            self, gammas: Mapping[str, Sequence[int]],
            sides: Mapping[str, tuple[Sequence[Any], Sequence[Any]]], n: int) -> list[bool]:
        if self.local_id is None:
            return [False] * n
        (enr_l, enr_r), (state_l, state_r) = sides["enr"], sides["state"]
        full_l, full_r = sides["given_full"]
        return [s is not None and s == t and (days := days_apart(a, b)) is not None
                and days <= CONCURRENT_ENROLLMENT_DAYS
                and (lid != NULL_LEVEL or given in self.not_same_name
                     or (f is not None and g is not None and f != g))
                for a, b, s, t, lid, given, f, g in zip(
                    enr_l, enr_r, state_l, state_r, gammas[self.local_id], gammas[self.given],
                    full_l, full_r, strict=True)]

    def _verdict(self, given: int, birth: int, surname: int, sex: int | None,
                 identified: bool, mbf_l: str | None, mbf_r: str | None, together: bool,
                 unisex_l: bool | None, unisex_r: bool | None, parents: int
                 ) -> tuple[bool, bool]:
        """(flagged, firmly: no typo explains the flag)."""
        same_family = surname < self.surname_else
        same_parents = 0 <= parents < self.parents_else
        if birth == self.birth_else and same_family and same_parents and not identified:
            return True, False
        if birth >= self.birth_else or identified:
            return False, False
        if not same_family and not same_parents:
            return False, False
        if together:
            return True, True
        if given not in self.not_same_name:
            return False, False
        declared = (mbf_l == "Y" or mbf_r == "Y") and given not in self.swapped
        spelling = given in self.spelling
        if not same_family:
            return declared, declared and not spelling
        sexes_and_names_differ = sex == self.sex_else and not (
            given == self.nickname and not unisex_l and not unisex_r)
        by_names = given in self.different and not (given in self.gendered and sex == 0)
        return (declared or sexes_and_names_differ or by_names,
                (declared or sexes_and_names_differ) and not spelling)


def days_apart(left: str | None, right: str | None) -> int | None:
    """Days between two YYYYMMDD dates (None when either is missing or not a real day)."""
    try:
        a = dt.date(int(left[:4]), int(left[4:6]), int(left[6:8])) if left else None
        b = dt.date(int(right[:4]), int(right[4:6]), int(right[6:8])) if right else None
    except ValueError:
        return None
    return None if a is None or b is None else abs((a - b).days)


def max_present(left: float | None, right: float | None) -> float | None:
    """`pl.max_horizontal` of two floats: nulls and NaN left out (NaN when nothing else)."""
    if left is None or math.isnan(left):
        return left if right is None else right
    if right is None or math.isnan(right):
        return left
    return max(left, right)


def _identifier_expr(identifiers: tuple[tuple[str, int], ...]) -> pl.Expr:
    agree = [pl.col(column).is_between(0, top) for column, top in identifiers]
    # without identifiers: False for every pair (a bare literal would select one row)
    return pl.any_horizontal(agree) if agree else pl.repeat(False, pl.len())


def _identifier_plain(identifiers: tuple[tuple[str, int], ...],
                      gammas: Mapping[str, Sequence[int]], pairs: int) -> list[bool]:
    columns = [gammas[column] for column, _ in identifiers]
    tops = [top for _, top in identifiers]
    if not columns:
        return [False] * pairs
    return [any(0 <= g <= top for g, top in zip(row, tops, strict=True))
            for row in zip(*columns, strict=True)]


@lru_cache(maxsize=32)
def twin_guard(comparisons: tuple[Comparison, ...]) -> TwinGuard | None:
    """`TwinGuard.of`, built once per set of comparisons."""
    return TwinGuard.of(comparisons)


def identity_table(record_ids: pl.Series, labels: np.ndarray) -> pl.DataFrame:
    """record_id -> 12-digit identity id, numbered in order of each cluster's first record."""
    frame = pl.DataFrame({"record_id": record_ids, "cluster": labels})
    first_seen = frame.with_row_index("row").group_by("cluster").agg(pl.col("row").min())
    numbering = first_seen.sort("row").with_row_index("n").select(
        "cluster", (pl.col("n") + 100_000_000_001).cast(pl.String).alias("identity_id"))
    return frame.join(numbering, on="cluster", how="left", maintain_order="left").select(
        "record_id", "identity_id")
