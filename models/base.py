"""The one small interface every match model follows, and shared scoring helpers."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import polars as pl

LOG2 = np.log(2.0)


@runtime_checkable
class MatchModel(Protocol):
    """Scores comparison vectors. Output columns: match_weight (bits), match_probability and
    one `mw_<comparison>` contribution per comparison (what a reviewer sees)."""

    comparison_names: list[str]
    level_labels: list[tuple[str, ...] | int]
    """Per comparison, the level labels the model was trained with (or only their number)."""

    def predict(self, gammas: pl.DataFrame, tf: pl.DataFrame | None = None) -> pl.DataFrame: ...

    def to_json(self) -> str: ...


def probability_from_weight(weight: np.ndarray) -> np.ndarray:
    """Match weight in bits (log2 odds) -> probability, without overflow."""
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))


def gamma_matrix(gammas: pl.DataFrame, names: list[str]) -> np.ndarray:
    """The `gamma_<name>` columns as an (n_pairs, n_comparisons) int8 matrix."""
    if not len(gammas):
        return np.zeros((0, len(names)), dtype=np.int8)
    return gammas.select([f"gamma_{n}" for n in names]).to_numpy().astype(np.int8)


def scores_frame(contributions: np.ndarray, names: list[str], intercept: float) -> pl.DataFrame:
    """match_weight = intercept + Σ contributions; contributions become `mw_<name>` columns."""
    weight = intercept + contributions.sum(axis=1)
    columns: dict[str, np.ndarray] = {
        "match_weight": weight, "match_probability": probability_from_weight(weight)}
    for index, name in enumerate(names):
        columns[f"mw_{name}"] = contributions[:, index]
    return pl.DataFrame(columns)
