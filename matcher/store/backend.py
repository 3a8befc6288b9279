"""What the store needs from the matching core, as small Protocols.

The default backend wires `matcher.online.OnlineMatcher` (normalise, block, score against an
in-memory index) and `matcher.clustering.cluster` (link, guards, judgements). Tests may pass a
small deterministic backend of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl


class ThresholdsLike(Protocol):
    """Match-probability thresholds: link at or above `upper`, review between the two."""

    @property
    def upper(self) -> float: ...

    @property
    def lower(self) -> float: ...


class RecordIndex(Protocol):
    """An in-memory blocking index that scores given rows against everything indexed."""

    def add(self, records: pl.DataFrame) -> None: ...

    def remove(self, record_ids: list[str]) -> None: ...

    def match(self, records: pl.DataFrame, among: Set[str] | None = None) -> pl.DataFrame:
        """Score records against the indexed ones their blocking keys find; with `among`,
        only against those of these records (the pairs inside a component, scored again)."""
        ...

    def add_and_match(self, records: pl.DataFrame) -> pl.DataFrame:
        """`add`, then each pair among `records` and with the records indexed before, once
        (a large load's scoring in one call)."""
        ...

    def score_pairs(self, left: Sequence[str], right: Sequence[str]) -> pl.DataFrame:
        """Score given pairs of indexed records (left[i], right[i]), blocked or not; columns
        as `match`."""
        ...

    def __len__(self) -> int: ...

    def memory_bytes(self) -> int: ...


class ClusterOutput(Protocol):
    """What `cluster()` returns: `assignments` (record_id, cluster_id) and `near_matches`."""

    @property
    def assignments(self) -> pl.DataFrame: ...

    @property
    def near_matches(self) -> pl.DataFrame: ...


class ClusterFunction(Protocol):
    """`matcher.clustering.cluster`'s signature."""

    def __call__(
        self,
        record_ids: pl.Series,
        pairs: pl.DataFrame,
        thresholds: Any,
        must_link: pl.DataFrame | None = None,
        cannot_link: pl.DataFrame | None = None,
    ) -> ClusterOutput: ...


@dataclass(frozen=True)
class MatchingBackend:
    """The matching core as the store uses it: an index factory, `cluster` and thresholds."""

    make_index: Callable[[], RecordIndex]
    cluster: ClusterFunction
    thresholds: ThresholdsLike
    extra_fields: tuple[str, ...] = ()
    """The fields beyond the canonical ones that matching reads (`Settings.extra_fields`):
    the store keeps them with each record and hands them to the index."""

    @classmethod
    def from_model(cls, settings: Any, model: Any) -> MatchingBackend:
        """The production backend: `OnlineMatcher(settings, model)` and `clustering.cluster`."""
        from matcher.clustering import cluster
        from matcher.online import OnlineMatcher

        def make_index() -> RecordIndex:
            index: RecordIndex = OnlineMatcher(settings, model)
            return index

        return cls(make_index=make_index, cluster=cluster, thresholds=settings.thresholds,
                   extra_fields=settings.extra_fields)
