"""Training reads only the rules whose EM session learns something (`learning_rules`); the
model is the one every rule's marks give, also when a needed session has too few pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest

from benchmarks.synthetic import generate
from matcher.blocking import candidate_pairs, total_pairs
from matcher.ingest import validate
from matcher.pipeline import Linker
from matcher.settings import load_preset
from matcher.training import (
    NeedsEveryRule,
    learning_order,
    learning_rules,
    train_model,
)


def test_the_msix_preset_learns_from_two_of_its_rules() -> None:
    linker = Linker(load_preset("msix"))
    names = [linker.rules[i].name for i in learning_rules(linker)]
    assert names == ["state_local_id", "birth_date+surname_sound"]
    assert set(learning_rules(linker)) <= set(learning_order(linker))


@dataclass(frozen=True)
class Candidates:
    prepared: pl.DataFrame
    pairs: pl.DataFrame
    gammas: pl.DataFrame
    total: int


def _candidates(linker: Linker, records: pl.DataFrame) -> Candidates:
    prepared = linker.prepare(records)
    pairs, _ = candidate_pairs(prepared, linker.rules,
                               max_block_size=linker.settings.max_block_size)
    return Candidates(prepared, pairs, linker.compare(prepared, pairs),
                      total_pairs(prepared["source"], False))


def _inputs(linker: Linker, c: Candidates, rules: list[int]
            ) -> tuple[np.ndarray, pl.DataFrame, int]:
    """`train_model`'s inputs as `Linker.fit` builds them, with the marks of `rules` only."""
    random_matrix, patterns = linker.training_inputs(c.prepared, c.pairs, c.gammas)
    return random_matrix, patterns(rules), c.total


@pytest.fixture(scope="module")
def records() -> pl.DataFrame:
    settings = load_preset("msix")
    raw, _ = generate(2000, seed=5)
    return validate(raw, settings).records


def test_the_learning_rules_alone_give_the_model_every_rule_gives(
        records: pl.DataFrame) -> None:
    linker = Linker(load_preset("msix"))
    found = _candidates(linker, records)
    every = list(range(len(linker.rules)))
    full = train_model(linker, *_inputs(linker, found, every))
    some = train_model(linker, *_inputs(linker, found, learning_rules(linker)))
    assert some.to_json() == full.to_json()


def test_a_learning_rule_with_too_few_pairs_asks_for_every_rule(
        records: pl.DataFrame) -> None:
    """Without student ids the identifier rule finds no pair: the name rules must learn what
    it would have, so the learning rules' marks alone are not enough."""
    linker = Linker(load_preset("msix"))
    no_ids = records.with_columns(pl.lit(None, dtype=pl.String).alias("local_student_id"))
    found = _candidates(linker, no_ids)
    with pytest.raises(NeedsEveryRule):
        train_model(linker, *_inputs(linker, found, learning_rules(linker)))
    every = train_model(linker, *_inputs(linker, found, list(range(len(linker.rules)))))
    assert every.sessions_[0]["rule"] != "state_local_id"
    # `Linker.fit` falls back to every rule's marks by itself
    fitted = linker.fit(found.prepared, found.pairs, found.gammas, found.total)
    assert fitted.to_json() == every.to_json()
