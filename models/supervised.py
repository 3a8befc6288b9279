"""A supervised match model: scikit-learn logistic regression on one-hot comparison levels.

Once reviewers have judged enough near matches, their labels can train this model; it plugs in
through the same interface as the Fellegi–Sunter model and saves as JSON (never pickle). Its
coefficients are log-odds, so per-comparison contributions stay readable in bits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from features.comparisons import Comparison
from matcher.errors import ModelError
from models.base import LOG2, gamma_matrix, scores_frame


class SupervisedModel:
    """Logistic regression over one-hot levels (a missing value is the all-zero encoding)."""

    def __init__(self, comparisons: Sequence[Comparison] | Sequence[tuple[str, int]], *,
                 C: float = 1.0) -> None:
        self.layout = [(c.name, len(c.levels)) if isinstance(c, Comparison) else (c[0], c[1])
                       for c in comparisons]
        self.comparison_names = [name for name, _ in self.layout]
        self.level_labels: list[tuple[str, ...] | int] = [levels for _, levels in self.layout]
        self.C = C
        self.coef_: list[np.ndarray] | None = None
        self.intercept_: float | None = None

    def _encode(self, matrix: np.ndarray) -> np.ndarray:
        blocks = []
        for index, (_, levels) in enumerate(self.layout):
            column = matrix[:, index]
            block = np.zeros((len(matrix), levels))
            seen = column >= 0
            block[np.flatnonzero(seen), column[seen]] = 1.0
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(matrix), 0))

    def fit(self, gammas: pl.DataFrame, labels: Sequence[bool] | np.ndarray) -> SupervisedModel:
        """Train from labelled pairs (True = same child)."""
        y = np.asarray(labels, dtype=bool)
        if len(np.unique(y)) < 2:
            raise ModelError("'labels' must contain both matches and non-matches; got one class")
        features = self._encode(gamma_matrix(gammas, self.comparison_names))
        estimator = LogisticRegression(C=self.C, max_iter=1000).fit(features, y)
        coef = estimator.coef_[0] / LOG2  # natural log-odds -> bits
        self.coef_, start = [], 0
        for _, levels in self.layout:
            self.coef_.append(coef[start:start + levels])
            start += levels
        self.intercept_ = float(estimator.intercept_[0] / LOG2)
        return self

    def predict(self, gammas: pl.DataFrame, tf: pl.DataFrame | None = None) -> pl.DataFrame:
        if self.coef_ is None or self.intercept_ is None:
            raise ModelError("the supervised model is not fitted; call fit first")
        matrix = gamma_matrix(gammas, self.comparison_names)
        contributions = np.zeros(matrix.shape)
        for index, coef in enumerate(self.coef_):
            column = matrix[:, index]
            contributions[:, index] = np.where(column >= 0, coef[np.maximum(column, 0)], 0.0)
        return scores_frame(contributions, self.comparison_names, self.intercept_)

    def to_json(self) -> str:
        if self.coef_ is None:
            raise ModelError("the supervised model is not fitted; nothing to save")
        return json.dumps({"type": "supervised_logistic", "intercept": self.intercept_,
                           "comparisons": [{"name": n, "levels": k, "coef": c.tolist()}
                                           for (n, k), c in zip(self.layout, self.coef_,
                                                                strict=True)]}, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> SupervisedModel:
        try:
            entries = data["comparisons"]
            assert isinstance(entries, list)
            model = cls([(e["name"], int(e["levels"])) for e in entries])
            model.coef_ = [np.asarray(e["coef"], dtype=float) for e in entries]
            intercept = data["intercept"]
            assert isinstance(intercept, int | float)
            model.intercept_ = float(intercept)
        except (KeyError, TypeError, AssertionError) as exc:
            raise ModelError(f"not a supervised model file: {exc}") from None
        return model
