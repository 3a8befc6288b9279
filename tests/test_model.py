"""Match models: EM recovers known m/u, JSON round trips, the supervised model, ModelError."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from benchmarks import synthetic
from benchmarks.datasets import SPARSE_COLUMNS
from features.comparisons import Comparison
from matcher.errors import ModelError
from matcher.ingest import read_inputs
from matcher.pipeline import Linker
from matcher.settings import load_preset
from models import FellegiSunterModel, MatchModel, SupervisedModel, load_model, load_model_json
from models.fellegi_sunter import ComparisonLayout, EMSession, _patterns, tf_frequency

# Four comparisons with independent levels; the last level of each is 'else'.
TRUE_M = [np.array([0.85, 0.10, 0.05]), np.array([0.70, 0.20, 0.10]),
          np.array([0.60, 0.20, 0.10, 0.10]), np.array([0.90, 0.10])]
TRUE_U = [np.array([0.02, 0.08, 0.90]), np.array([0.05, 0.15, 0.80]),
          np.array([0.01, 0.04, 0.15, 0.80]), np.array([0.30, 0.70])]
NAMES = ["first_name", "surname", "birth_date", "sex"]
LAYOUTS = [ComparisonLayout(name, tuple(f"level {k}" for k in range(len(m))),
                            (None,) * len(m)) for name, m in zip(NAMES, TRUE_M, strict=True)]
MISSING_RATE = 0.1


def simulate(n: int, share_matches: float, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """Comparison vectors (int8, -1 = missing at random) and the true match flags."""
    is_match = rng.random(n) < share_matches
    columns = []
    for m, u in zip(TRUE_M, TRUE_U, strict=True):
        from_m = rng.choice(len(m), size=n, p=m)
        from_u = rng.choice(len(u), size=n, p=u)
        column = np.where(is_match, from_m, from_u)
        column[rng.random(n) < MISSING_RATE] = -1
        columns.append(column)
    return np.stack(columns, axis=1).astype(np.int8), is_match


def as_frame(gammas: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({f"gamma_{name}": gammas[:, i] for i, name in enumerate(NAMES)})


@pytest.fixture(scope="module")
def fitted() -> tuple[FellegiSunterModel, np.ndarray]:
    rng = np.random.default_rng(7)
    candidates, _ = simulate(30_000, 0.3, rng)
    non_matches, _ = simulate(60_000, 0.0, rng)
    model = FellegiSunterModel(LAYOUTS, max_iter=500, tol=1e-9)
    model.fit_u(non_matches)
    model.fit_m([EMSession("all pairs", candidates, frozenset())])
    model.fit_prior(candidates, total_pairs=len(candidates))
    return model, candidates


@pytest.mark.parametrize("index", range(len(NAMES)), ids=NAMES)
def test_em_recovers_m(fitted: tuple[FellegiSunterModel, np.ndarray], index: int) -> None:
    model, _ = fitted
    assert model.m_ is not None
    np.testing.assert_allclose(model.m_[index], TRUE_M[index], atol=0.02)


@pytest.mark.parametrize("index", range(len(NAMES)), ids=NAMES)
def test_u_from_non_matches(fitted: tuple[FellegiSunterModel, np.ndarray], index: int) -> None:
    model, _ = fitted
    assert model.u_ is not None
    np.testing.assert_allclose(model.u_[index], TRUE_U[index], atol=0.01)


def test_em_recovers_the_share_of_matches(fitted: tuple[FellegiSunterModel, np.ndarray]) -> None:
    model, _ = fitted
    assert model.sessions_[0]["lambda"] == pytest.approx(0.3, abs=0.02)
    # prior = expected matches among candidates / all pairs (here: the candidates are all pairs)
    assert model.prior_ == pytest.approx(0.3, abs=0.02)


def test_level_weights_are_log2_m_over_u(fitted: tuple[FellegiSunterModel, np.ndarray]) -> None:
    model, _ = fitted
    weights = model.level_weights()
    assert model.m_ is not None and model.u_ is not None
    for w, m, u in zip(weights, model.m_, model.u_, strict=True):
        np.testing.assert_allclose(w, np.log2(m / u))
    assert weights[0][0] > 4 > 0 > weights[0][-1]


def test_predict_sums_contributions(fitted: tuple[FellegiSunterModel, np.ndarray]) -> None:
    model, candidates = fitted
    scores = model.predict(as_frame(candidates[:200]))
    assert scores.columns == ["match_weight", "match_probability",
                              *[f"mw_{n}" for n in NAMES]]
    contributions = scores.select([f"mw_{n}" for n in NAMES]).to_numpy().sum(axis=1)
    assert model.prior_ is not None
    intercept = np.log2(model.prior_ / (1 - model.prior_))
    np.testing.assert_allclose(scores["match_weight"].to_numpy(), intercept + contributions)
    np.testing.assert_allclose(scores["match_probability"].to_numpy(),
                               1 / (1 + 2.0 ** -scores["match_weight"].to_numpy()))


def test_missing_contributes_nothing(fitted: tuple[FellegiSunterModel, np.ndarray]) -> None:
    model, _ = fitted
    gammas = np.array([[-1, 0, 0, 0], [-1, -1, -1, -1]], dtype=np.int8)
    scores = model.predict(as_frame(gammas))
    assert scores["mw_first_name"].to_list() == [0.0, 0.0]
    assert scores["mw_surname"][1] == 0.0


def test_posterior_separates_simulated_matches(fitted: tuple[FellegiSunterModel, np.ndarray]
                                               ) -> None:
    model, _ = fitted
    gammas, is_match = simulate(5_000, 0.3, np.random.default_rng(99))
    probability = model.predict(as_frame(gammas))["match_probability"].to_numpy()
    accuracy = ((probability >= 0.5) == is_match).mean()
    assert accuracy > 0.9


def test_held_out_comparisons_keep_their_prior_guess() -> None:
    rng = np.random.default_rng(3)
    candidates, _ = simulate(5_000, 0.3, rng)
    non_matches, _ = simulate(10_000, 0.0, rng)
    model = FellegiSunterModel(LAYOUTS, max_iter=200).fit_u(non_matches)
    model.fit_m([EMSession("rule on first_name", candidates, frozenset({0}))])
    assert model.sessions_[0]["learned"] == NAMES[1:]
    assert model.m_ is not None
    untouched = FellegiSunterModel(LAYOUTS).fit_u(non_matches).fit_m([])
    assert untouched.m_ is not None
    np.testing.assert_allclose(model.m_[0], untouched.m_[0])
    np.testing.assert_allclose(model.m_[1], TRUE_M[1], atol=0.05)


def test_term_frequency_replaces_u_on_its_level() -> None:
    layouts = [ComparisonLayout("surname", ("exact", "else"), ("ln1", None))]
    model = FellegiSunterModel(layouts)
    model.m_ = [np.array([0.9, 0.1])]
    model.u_ = [np.array([0.01, 0.99])]
    model.prior_ = 0.01
    gammas = pl.DataFrame({"gamma_surname": [0, 0, 0, 1]}, schema={"gamma_surname": pl.Int8})
    tf = pl.DataFrame({"tf_ln1": [0.2, 0.0001, float("nan"), 0.2]})
    mw = model.predict(gammas, tf)["mw_surname"].to_numpy()
    np.testing.assert_allclose(mw, [np.log2(0.9 / 0.2), np.log2(0.9 / 0.0001),
                                    np.log2(0.9 / 0.01), np.log2(0.1 / 0.99)])
    assert mw[0] < mw[2] < mw[1]  # a common surname counts for less than a rare one


def _block_on_a_first_name(n: int, rng: np.random.Generator, *, second_tf: bool = False
                           ) -> tuple[FellegiSunterModel, EMSession]:
    """A session blocked on the first name (held out) that learns one binary surname level.

    Matches share rare first names (frequency 2^-15), non-matches common ones (2^-2); random
    pairs agree on a first name 1 time in 256. The surname alone cannot tell the two classes
    apart (one binary level), the frequency of the shared first name can. With `second_tf`
    the surname is a second held-out comparison with frequencies (a block on both names)."""
    is_match = rng.random(n) < 0.3
    surname = np.where(is_match, rng.random(n) >= 0.9, rng.random(n) >= 0.2).astype(np.int8)
    place = np.where(is_match, rng.random(n) >= 0.5, rng.random(n) >= 0.5).astype(np.int8)
    gammas = np.stack([np.zeros(n, dtype=np.int8), surname, place], axis=1)
    buckets = np.full(gammas.shape, -1, dtype=np.int8)
    buckets[:, 0] = np.where(is_match, 15, 2)  # 2^-15 and 2^-2
    layouts = [ComparisonLayout("first_name", ("exact", "else"), ("fn", None)),
               ComparisonLayout("surname", ("agree", "else"),
                                ("ln1" if second_tf else None, None)),
               ComparisonLayout("birth_place", ("agree", "else"), (None, None))]
    random_pairs = np.ones((25_600, 3), dtype=np.int8)
    random_pairs[:100, 0] = 0  # u(first name exact) = 1/256
    random_pairs[:1_280, 1] = 0  # u(surname agree) = 0.05
    random_pairs[:12_800, 2] = 0
    model = FellegiSunterModel(layouts, max_iter=300, tol=1e-9).fit_u(random_pairs)
    held_out = frozenset({0, 1}) if second_tf else frozenset({0})
    return model, EMSession("first name", gammas, held_out, tf_buckets=buckets)


def test_em_reads_the_frequency_of_the_value_a_block_forced() -> None:
    model, session = _block_on_a_first_name(20_000, np.random.default_rng(5))
    model.fit_m([session])
    assert model.m_ is not None
    assert model.m_[1][0] == pytest.approx(0.9, abs=0.04)
    assert model.sessions_[0]["lambda"] == pytest.approx(0.3, abs=0.03)
    # without the frequencies the surname alone becomes the latent class
    blind, _ = _block_on_a_first_name(20_000, np.random.default_rng(5))
    blind.fit_m([EMSession("first name", session.gammas, session.held_out)])
    assert blind.m_ is not None and blind.m_[1][0] > 0.97


def test_two_forced_frequencies_are_not_multiplied() -> None:
    """Blocked on two names, neither frequency informs EM (see `_forced_frequency`)."""
    model, session = _block_on_a_first_name(20_000, np.random.default_rng(5), second_tf=True)
    assert model._forced_frequency(session) == ()
    single, one = _block_on_a_first_name(20_000, np.random.default_rng(5))
    assert single._forced_frequency(one) == (0,)


def test_patterns_split_by_frequency_bucket() -> None:
    gammas = np.zeros((4, 20), dtype=np.int8)
    buckets = np.full((4, 20), -1, dtype=np.int8)
    buckets[:, 0] = [8, 8, 24, 30]
    patterns, counts, pattern_buckets = _patterns(gammas, np.array([1, 2, 3, 4]), buckets)
    assert pattern_buckets is not None
    assert sorted(zip(pattern_buckets[:, 0].tolist(), counts.tolist(), strict=True)) == [
        (8, 3.0), (24, 3.0), (30, 4.0)]
    assert len(patterns) == 3
    np.testing.assert_allclose(tf_frequency(np.array([8, -1])), [2.0 ** -8, np.nan])


# --- persistence --------------------------------------------------------------------------------


def test_fellegi_sunter_json_round_trip(fitted: tuple[FellegiSunterModel, np.ndarray]
                                        ) -> None:
    model, candidates = fitted
    text = model.to_json()
    restored = load_model_json(text)
    assert isinstance(restored, FellegiSunterModel)
    assert isinstance(restored, MatchModel)
    frame = as_frame(candidates[:500])
    assert_frame_equal(restored.predict(frame), model.predict(frame))
    saved, again = json.loads(text), json.loads(restored.to_json())
    assert saved["comparisons"] == again["comparisons"]
    assert saved["prior"] == again["prior"]
    assert restored.comparison_names == NAMES


def test_load_model_from_file(fitted: tuple[FellegiSunterModel, np.ndarray],
                              tmp_path: Path) -> None:
    model, candidates = fitted
    path = tmp_path / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    frame = as_frame(candidates[:100])
    assert_frame_equal(load_model(path).predict(frame), model.predict(frame))


def _toy_problem(n: int = 400) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(11)
    labels = rng.random(n) < 0.4
    first = np.where(labels, rng.choice([0, 1], size=n), rng.choice([2, 3], size=n))
    surname = rng.choice([-1, 0, 1, 2], size=n)  # noise
    frame = pl.DataFrame({"gamma_first_name": first, "gamma_surname": surname},
                         schema={"gamma_first_name": pl.Int8, "gamma_surname": pl.Int8})
    return frame, labels


def test_supervised_model_learns_a_separable_problem() -> None:
    frame, labels = _toy_problem()
    model = SupervisedModel([("first_name", 4), ("surname", 3)]).fit(frame, labels)
    scores = model.predict(frame)
    predicted = scores["match_probability"].to_numpy() >= 0.5
    assert (predicted == labels).all()
    assert scores.columns == ["match_weight", "match_probability", "mw_first_name",
                              "mw_surname"]
    mw = scores["mw_first_name"].to_numpy()
    assert mw[labels].min() > mw[~labels].max()
    assert scores.filter(pl.Series(frame["gamma_surname"] == -1))["mw_surname"].abs().max() == 0


def test_supervised_json_round_trip() -> None:
    frame, labels = _toy_problem()
    model = SupervisedModel([("first_name", 4), ("surname", 3)]).fit(frame, labels)
    restored = load_model_json(model.to_json())
    assert isinstance(restored, SupervisedModel)
    assert_frame_equal(restored.predict(frame), model.predict(frame))


# --- errors -------------------------------------------------------------------------------------


def test_unfitted_fellegi_sunter_raises_model_error() -> None:
    model = FellegiSunterModel(LAYOUTS)
    gammas = as_frame(np.zeros((1, 4), dtype=np.int8))
    with pytest.raises(ModelError, match="not fitted"):
        model.predict(gammas)
    with pytest.raises(ModelError):
        model.to_json()
    with pytest.raises(ModelError):
        model.level_weights()
    with pytest.raises(ModelError, match="fit_u"):
        model.fit_m([])
    with pytest.raises(ModelError):
        model.fit_prior(np.zeros((1, 4), dtype=np.int8), 10)


def test_fellegi_sunter_without_prior_raises_model_error() -> None:
    model = FellegiSunterModel(LAYOUTS)
    non_matches, _ = simulate(1_000, 0.0, np.random.default_rng(1))
    model.fit_u(non_matches).fit_m([])
    with pytest.raises(ModelError, match="prior"):
        model.predict(as_frame(non_matches[:3]))


def test_unfitted_supervised_raises_model_error() -> None:
    model = SupervisedModel([("first_name", 4)])
    frame = pl.DataFrame({"gamma_first_name": [0]}, schema={"gamma_first_name": pl.Int8})
    with pytest.raises(ModelError, match="not fitted"):
        model.predict(frame)
    with pytest.raises(ModelError):
        model.to_json()
    with pytest.raises(ModelError, match="both"):
        model.fit(frame, [True])


@pytest.mark.parametrize("text", [
    "not json",
    "[]",
    '{"type": "random_forest"}',
    '{"type": "fellegi_sunter"}',
    '{"type": "fellegi_sunter", "prior": 0.1, "comparisons": [{"name": "x"}]}',
    '{"type": "supervised_logistic", "comparisons": []}',
])
def test_bad_model_json_raises_model_error(text: str) -> None:
    with pytest.raises(ModelError):
        load_model_json(text)


def test_missing_model_file_raises_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "nope.json")


def test_tf_buckets_only_for_pairs_on_a_frequency_level() -> None:
    from matcher.pipeline import Linker
    from matcher.settings import load_preset
    from matcher.training import tf_bucket_columns, tf_bucket_exprs

    comparisons = Linker(load_preset("msix")).comparisons
    first = next(c for c in comparisons if c.name == "first_name")
    exact, different = first.level_index("exact"), len(first.levels) - 1
    frame = pl.DataFrame({
        **{c.gamma_column: [different] * 4 for c in comparisons},
        first.gamma_column: [exact, exact, different, exact],
        **{f"tf_{column}": [0.5] * 4 for column in ("fn", "ln1", "mn", "parents_key")},
    }).with_columns(pl.Series("tf_fn", [0.125, 1e-9, 0.125, float("nan")]))
    buckets = frame.select(tf_bucket_exprs(comparisons))
    assert buckets.columns == tf_bucket_columns(comparisons)
    assert "tfb_first_name" in buckets.columns and "tfb_birth_date" not in buckets.columns
    # 2^-3 is bucket 3; below the probability floor (1e-6) the bucket stops at 20
    assert buckets["tfb_first_name"].to_list() == [3, 20, -1, -1]


@pytest.mark.parametrize(("preset", "first"), [("msix", "state_local_id"), ("febrl", "ssn"),
                                               ("pseudopeople", "birth_date+surname_sound")])
def test_em_learns_from_identifier_rules_first(preset: str, first: str) -> None:
    from matcher.pipeline import Linker
    from matcher.settings import load_preset
    from matcher.training import learning_order

    linker = Linker(load_preset(preset))
    order = learning_order(linker)
    assert sorted(order) == list(range(len(linker.rules)))
    assert linker.rules[order[0]].name == first
    rest = [i for i in order if linker.rules[i].name != first]
    assert rest == sorted(rest)  # the others keep the preset's order


def test_a_model_of_other_comparison_levels_is_refused_clearly() -> None:
    """A model saved before a comparison gained a level would put its weights on the wrong
    levels: the Linker refuses it and says which levels differ."""
    settings = load_preset("msix")
    comparisons = Linker(settings).comparisons
    Linker(settings, FellegiSunterModel(comparisons))  # the same levels: accepted
    given = comparisons[0]
    older = Comparison(given.name, given.kind, given.null, given.levels[:-2] + given.levels[-1:],
                       primary=given.primary)
    with pytest.raises(ModelError, match=r"first_name.*not any more: \[\].*--save-model"):
        Linker(settings, FellegiSunterModel([older, *comparisons[1:]]))
    with pytest.raises(ModelError, match="the settings define"):
        Linker(settings, FellegiSunterModel(comparisons[1:]))



def test_without_an_identifier_a_different_birth_date_stays_strong_evidence(
        tmp_path: Path) -> None:
    """A sparse export (names, sex, birth date: no student id to teach EM what one child looks
    like) still learns that two records with different birth dates are rarely one child.
    The name rule that teaches the birth date must be the narrowest: exact-name blocks are
    crowded with namesakes, which EM otherwise takes for one child with a wrong date (m of
    "different" was 0.14, weight -2.8, on this set with exact names first)."""
    path = tmp_path / "sparse.parquet"
    synthetic.generate(2_000, seed=3)[0].select(SPARSE_COLUMNS).write_parquet(path)
    settings = load_preset("msix")
    linker = Linker(settings)
    linker.link(read_inputs([path], settings).records)
    assert isinstance(linker.model, FellegiSunterModel)
    described = linker.model.describe()
    different = described.filter((pl.col("comparison") == "birth_date")
                                 & (pl.col("label") == "different"))
    assert different["weight"][0] < -3.0, different
