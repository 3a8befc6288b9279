"""Online matching: an in-memory blocking index over stored records, for one record at a time.

The index keeps the stored records' prepared features and, per blocking rule, a hash map from
key to row positions. Matching a new record normalises it, looks its keys up, and scores the
candidates with the same comparison and model code as the batch path. Term frequencies come
from the indexed records, kept current on every add and remove.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence, Set
from typing import Final

import numpy as np
import polars as pl

from features.value_memo import SMALL_FRAME_ROWS, ValueMemo
from matcher.blocking import (
    RowKeys,
    candidate_pairs,
    plain_keys,
    row_entries,
    sorted_unique,
)
from matcher.clustering import IDENTIFIER_AGREES, SAME_NAME, TWIN_BY_NAMES
from matcher.pipeline import TWIN_FLAG, Linker, gather_columns, identifier_agreement
from matcher.settings import Settings
from models.base import MatchModel

SCORE_COLUMNS = ["record_id_l", "record_id_r", "match_weight", "match_probability"]
TF_MIN_RECORDS = 1000
"""Indexed records needed before term frequencies from the index are trusted. Counted in
records, not in a column's values: batch `link` takes the frequencies of a sparse column
(middle names, parents) from the values there are, and so does the index once it is this
large."""
TAIL_SHARE = 0.05
"""Recently added rows are kept apart from the merged base until they reach this share of it
(or `TAIL_MIN_ROWS`): merging copies the whole base, and gathering rows from a frame of many
chunks costs time in proportion to its rows (list columns), so both are kept rare."""
TAIL_MIN_ROWS = 10_000
SMALL_BLOCK = 16
"""Blocks of up to this many rows are kept packed (see `Blocks`)."""
_ROW: Final = "I"
"""Row positions packed as unsigned 32-bit integers."""


class Blocks:
    """One blocking rule's key -> rows of the index.

    A key with one row maps to that int, one with a few rows to the rows packed in bytes; only
    the few large blocks are lists. Ints and bytes hold no references, so Python's garbage
    collector never walks the map of small blocks, which holds nearly every key (with a list
    per key, each full collection walked every block: ~0.3 s at 300k records, dozens of times
    over a load)."""

    __slots__ = ("large", "small")

    def __init__(self) -> None:
        self.small: dict[str, int | bytes] = {}
        self.large: dict[str, list[int]] = {}

    def get(self, key: str) -> Sequence[int]:
        """The rows of `key` (empty if none)."""
        found = self.small.get(key)
        if found is None:
            return self.large.get(key, ())
        return (found,) if isinstance(found, int) else memoryview(found).cast(_ROW)

    def add(self, key: str, row: int) -> None:
        large = self.large.get(key)
        if large is not None:
            large.append(row)
            return
        found = self.small.get(key)
        if found is None:
            self.small[key] = row
            return
        rows = [*self.get(key), row]
        if len(rows) <= SMALL_BLOCK:
            self.small[key] = array(_ROW, rows).tobytes()
        else:
            del self.small[key]
            self.large[key] = rows

    def extend(self, keys: pl.Series, start: int) -> None:
        """`add` the rows `start`, `start + 1`, ... under `keys` (null: no key; a list: each
        of its keys, for a multi-valued rule). Keys new to the map are stored at once, from
        flat arrays, instead of one call per row."""
        frame = pl.DataFrame({"key": keys, "row": pl.int_range(
            start, start + len(keys), dtype=pl.UInt32, eager=True)})
        if isinstance(keys.dtype, pl.List):
            frame = frame.explode("key")
        frame = (frame.with_columns(pl.col("key").cast(pl.String)).drop_nulls("key")
                 .with_columns(pl.len().over("key").alias("n")))
        single = frame.filter(pl.col("n") == 1)
        multi = frame.filter(pl.col("n") > 1).sort("key", "row")
        names, rows = single["key"].to_list(), single["row"].to_list()
        group_names = multi["key"].unique(maintain_order=True).to_list()
        known = {k for k in (*names, *group_names) if k in self.small or k in self.large}
        self.small.update((k, r) for k, r in zip(names, rows, strict=True) if k not in known)
        for key, row in zip(names, rows, strict=True) if known else ():
            if key in known:
                self.add(key, row)
        flat = multi["row"].to_numpy()
        sizes = multi.group_by("key", maintain_order=True).len()["len"].to_numpy()
        ends = np.cumsum(sizes)
        for key, end, size in zip(group_names, ends.tolist(), sizes.tolist(), strict=True):
            block = flat[end - size:end]
            if key in known:
                for row in block.tolist():
                    self.add(key, row)
            elif size > SMALL_BLOCK:
                self.large[key] = block.tolist()
            else:
                self.small[key] = block.tobytes()

    def remove(self, key: str, row: int) -> None:
        rows = self.get(key)
        if row not in rows:
            return
        if isinstance(rows, list):
            rows.remove(row)
            return
        kept = [r for r in rows if r != row]
        if not kept:
            del self.small[key]
        else:
            self.small[key] = kept[0] if len(kept) == 1 else array(_ROW, kept).tobytes()

    def memory_bytes(self) -> int:
        """Approximate memory of the map."""
        return (sum(64 + 8 * len(rows) for rows in self.large.values())
                + sum(64 + (0 if isinstance(rows, int) else len(rows))
                      for rows in self.small.values()))


class OnlineMatcher:
    def __init__(self, settings: Settings, model: MatchModel) -> None:
        self.linker = Linker(settings, model)
        self.settings = settings
        self._base: pl.DataFrame | None = None
        self._tail: pl.DataFrame | None = None
        self._live: list[bool] = []
        self._row_of: dict[str, int] = {}
        self._blocks: list[Blocks] = [Blocks() for _ in self.linker.rules]
        self._tf_counts: dict[str, Counter[str]] = {c: Counter() for c in self.linker.tf_columns()}
        self._tf_totals: dict[str, int] = dict.fromkeys(self._tf_counts, 0)
        self.memo = ValueMemo()
        self._last_added: tuple[pl.DataFrame, pl.DataFrame] | None = None

    def __len__(self) -> int:
        return len(self._row_of)

    # --- maintenance -----------------------------------------------------------------------

    def _prepare(self, records: pl.DataFrame) -> pl.DataFrame:
        """Features plus term frequencies as the index sees them now."""
        features = self._features(records)
        return features.hstack(self._index_tf(features))

    def _features(self, records: pl.DataFrame) -> pl.DataFrame:
        """Normalised features. The frame just added is not normalised again when it is
        matched next (the store adds, then matches)."""
        if self._last_added is not None and self._last_added[0] is records:
            return self._last_added[1]
        self._last_added = None
        return self.linker.prepare(records, self.memo, term_frequencies=False)

    def _index_tf(self, prepared: pl.DataFrame) -> list[pl.Series]:
        """Term frequencies as seen by the index, each record counted once: a record not
        indexed yet (a probe, or one about to be added) as if it were, an indexed one (the
        store adds, then matches) as it is. Counted twice, a value seen on 2 records of 1,200
        weighed as one seen on 3, 0.6 bits less than batch `link` gives it.

        Below `TF_MIN_RECORDS` records the counts say nothing yet (in an empty store every
        name would look universal), so the frequency is left unknown and scoring falls back
        to the level's average u."""
        extra = [0 if rid in self._row_of else 1 for rid in prepared["record_id"].to_list()]
        out = []
        for column, counts in self._tf_counts.items():
            values = prepared[column].to_list()
            if len(self._row_of) + 1 < TF_MIN_RECORDS:
                freq = [float("nan")] * len(values)
            else:
                total = self._tf_totals[column]
                freq = [float("nan") if v is None else (counts.get(v, 0) + e) / (total + e)
                        for v, e in zip(values, extra, strict=True)]
            out.append(pl.Series(f"tf_{column}", freq, dtype=pl.Float64))
        return out

    def add(self, records: pl.DataFrame) -> None:
        """Index canonical records; a record_id already indexed is replaced (an update)."""
        if not len(records):
            return
        self.remove(records["record_id"].cast(pl.String).to_list())
        features = self._features(records)
        prepared = features.hstack(self._index_tf(features))
        self._last_added = (records, features)
        start = len(self._live)
        self._append(prepared.with_columns((pl.col("idx") + start).cast(pl.UInt32).alias("idx")))
        self._live.extend([True] * len(prepared))
        rows = range(start, start + len(prepared))
        self._row_of.update(zip(prepared["record_id"].to_list(), rows, strict=True))
        if prepared.height <= SMALL_FRAME_ROWS:
            for keys, blocks in zip(self._keys(prepared), self._blocks, strict=True):
                for row, key in row_entries(rows, keys):
                    blocks.add(key, row)
        else:
            for key_column, blocks in zip(self._key_frame(prepared), self._blocks,
                                          strict=True):
                blocks.extend(key_column, start)
        for column, counts in self._tf_counts.items():
            present = [v for v in prepared[column].to_list() if v is not None]
            counts.update(present)
            self._tf_totals[column] += len(present)

    def remove(self, record_ids: Iterable[str]) -> None:
        """Drop records from the index (their rows stay as tombstones)."""
        rows = [self._row_of.pop(r) for r in record_ids if r in self._row_of]
        if not rows:
            return
        for row in rows:
            self._live[row] = False
        gone = self.rows(np.asarray(rows))
        for keys, blocks in zip(self._keys(gone), self._blocks, strict=True):
            for row, key in row_entries(rows, keys):
                blocks.remove(key, row)
        for column, counts in self._tf_counts.items():
            for value in gone[column].to_list():
                if value is not None:
                    counts[value] -= 1
                    self._tf_totals[column] -= 1

    def _keys(self, prepared: pl.DataFrame) -> list[list[RowKeys]]:
        """Each blocking rule's key (a list of them for a multi-valued rule) for every row,
        in one query (for a few rows of string and integer keys, in plain Python: the query
        costs more than a millisecond)."""
        if prepared.height <= SMALL_FRAME_ROWS:
            keys = plain_keys(prepared, self.linker.rules)
            if keys is not None:
                return keys
        return [column.to_list() for column in self._key_frame(prepared)]

    def _key_frame(self, prepared: pl.DataFrame) -> pl.DataFrame:
        """Each blocking rule's key for every row, a column per rule (of lists, for a
        multi-valued rule)."""
        return prepared.select(rule.key_expr().alias(str(i))
                               for i, rule in enumerate(self.linker.rules))

    def _append(self, prepared: pl.DataFrame) -> None:
        tail = prepared if self._tail is None else pl.concat(
            [self._tail, prepared], how="vertical_relaxed").rechunk()
        base_rows = len(self._base) if self._base is not None else 0
        if len(tail) >= max(TAIL_MIN_ROWS, TAIL_SHARE * base_rows):
            self._base = (tail if self._base is None else pl.concat(
                [self._base, tail], how="vertical_relaxed")).rechunk()
            self._tail = None
        else:
            self._tail = tail

    def rows(self, idx: np.ndarray, columns: list[str] | None = None) -> pl.DataFrame:
        """Indexed feature rows at positions `idx`, in that order (only `columns`, if given:
        gathering costs time per column)."""
        idx = np.asarray(idx, dtype=np.int64)
        base, tail = (None if f is None else f if columns is None
                      else pl.DataFrame([f.get_column(c) for c in columns])
                      for f in (self._base, self._tail))
        base_rows = len(base) if base is not None else 0
        in_base = idx < base_rows
        if tail is None or (base is not None and in_base.all()):
            assert base is not None, "rows of an empty index"
            return base[idx]
        if base is None or not in_base.any():
            return tail[idx - base_rows]
        gathered = pl.concat([base[idx[in_base]], tail[idx[~in_base] - base_rows]],
                             how="vertical_relaxed")
        if (idx[1:] >= idx[:-1]).all():
            return gathered  # ascending positions: the base's rows already come first
        order = np.concatenate([np.flatnonzero(in_base), np.flatnonzero(~in_base)])
        return gathered[np.argsort(order, kind="stable")]

    def memory_bytes(self) -> int:
        """Approximate memory of the index: features plus block maps."""
        features = sum(int(f.estimated_size()) for f in (self._base, self._tail)
                       if f is not None)
        blocks = sum(b.memory_bytes() for b in self._blocks)
        return features + blocks + 100 * len(self._row_of)

    # --- matching --------------------------------------------------------------------------

    def candidates(self, prepared: pl.DataFrame) -> pl.DataFrame:
        """(idx_l into `prepared`, idx_r into the index) for every rule, each pair once."""
        owners: list[int] = []
        sizes: list[int] = []
        right = array("q")
        own = [self._row_of.get(r, -1) for r in prepared["record_id"].to_list()]
        for keys, blocks, rule in zip(self._keys(prepared), self._blocks, self.linker.rules,
                                      strict=True):
            # the rule's own cap, as in the batch path (blocks of common names are left to
            # the rules that also hold the birth date)
            cap = rule.max_block_size or self.settings.max_block_size
            for i, key in row_entries(range(len(keys)), keys):
                rows = blocks.get(key)
                if not rows or len(rows) > cap:
                    continue
                owners.append(i)
                sizes.append(len(rows))
                right.extend(rows)
        if not owners:
            return _no_pairs()
        # each pair once, sorted by (left, right): one int64 key per pair
        width = len(self._live) + 1
        codes = sorted_unique(np.repeat(np.asarray(owners, dtype=np.int64), sizes) * width
                              + np.frombuffer(right, dtype=np.int64))
        lefts, rights = np.divmod(codes, width)
        keep = rights != np.asarray(own)[lefts]
        return pl.DataFrame({"idx_l": lefts[keep].astype(np.uint32),
                             "idx_r": rights[keep].astype(np.uint32)})

    def match(self, records: pl.DataFrame, among: Set[str] | None = None) -> pl.DataFrame:
        """Score canonical records against everything indexed (never against themselves);
        with `among`, only against these indexed records (blocked pairs inside a component,
        scored again: the other candidates are never compared).

        Columns: record_id_l (the given record), record_id_r (indexed), match_weight,
        match_probability, `mw_<comparison>`, possible_multiple_birth, same_name (the given
        names agree exactly), identifier_agrees (an identifier comparison agrees) and
        multiple_birth_by_names (a typo can explain the twin flag): the evidence
        batch `link` clusters with.
        """
        prepared = self._prepare(records)
        pairs = self.candidates(prepared) if len(self) else _no_pairs()
        if among is not None:
            rows = [row for r in among if (row := self._row_of.get(r)) is not None]
            pairs = pairs.filter(pl.col("idx_r").is_in(pl.Series(rows, dtype=pl.UInt32)
                                                        .implode()))
        return self._score_with_index(prepared, pairs)

    def add_and_match(self, records: pl.DataFrame) -> pl.DataFrame:
        """Index records, then score each pair among them and with the records indexed
        before, once (columns as `match`; which side is `_l` is not fixed).

        For a large frame this costs what the batch path does: it is normalised once, and
        the pairs among its records are blocked by joins instead of one lookup per record
        and rule."""
        earlier = len(self._live)
        self.add(records)
        prepared = self._prepare(records)
        pairs = self.candidates(prepared) if earlier else _no_pairs()
        with_stored = self._score_with_index(
            prepared, pairs.filter(pl.col("idx_r") < earlier))
        among, _ = candidate_pairs(prepared, self.linker.rules,
                                   max_block_size=self.settings.max_block_size)
        return pl.concat([with_stored, self._score_pairs(prepared, among.drop("rule"),
                                                         prepared)])

    def score_pairs(self, left: Sequence[str], right: Sequence[str]) -> pl.DataFrame:
        """Score given pairs of indexed records, blocked or not (columns as `match`): the
        pairs inside a linked component that no lookup proposed. The left records' term
        frequencies are the index's now, as for a record scored again with `match`."""
        if not len(left):
            return self._score_pairs(pl.DataFrame(), _no_pairs(), pl.DataFrame())
        rows_l, pos_l = np.unique([self._row_of[r] for r in left], return_inverse=True)
        features = self.rows(rows_l).drop(f"tf_{c}" for c in self._tf_counts)
        rows_r = [self._row_of[r] for r in right]
        return self._score_with_index(
            features.hstack(self._index_tf(features)),
            pl.DataFrame({"idx_l": pos_l, "idx_r": rows_r}, schema=_no_pairs().schema))

    def _score_with_index(self, prepared: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
        """`match`'s output for (idx_l into `prepared`, idx_r into the index) pairs."""
        # gather each stored candidate once, from the index's few large chunks
        stored, position = np.unique(pairs["idx_r"].to_numpy(), return_inverse=True)
        present = set(prepared.columns)
        right = self.rows(stored, ["record_id", *(c for c in self.linker.pair_columns
                                                 if c in present)])
        return self._score_pairs(
            prepared, pl.DataFrame([pairs["idx_l"],
                                    pl.Series("idx_r", position, dtype=pl.UInt32)]), right)

    def _score_pairs(self, left: pl.DataFrame, pairs: pl.DataFrame, right: pl.DataFrame
                     ) -> pl.DataFrame:
        contribution_columns = [f"mw_{c.name}" for c in self.linker.comparisons]
        if not len(pairs):
            return pl.DataFrame(schema={
                **{c: pl.String for c in SCORE_COLUMNS[:2]},
                **{c: pl.Float64 for c in SCORE_COLUMNS[2:] + contribution_columns},
                TWIN_FLAG: pl.Boolean, SAME_NAME: pl.Boolean, IDENTIFIER_AGREES: pl.Boolean,
                TWIN_BY_NAMES: pl.Boolean})
        gammas = self.linker.compare(left, pairs, right=right)
        scores = self.linker.score(gammas)
        ids = [*gather_columns(left, pairs["idx_l"], {"record_id": "record_id"}, "_l"),
               *gather_columns(right, pairs["idx_r"], {"record_id": "record_id"}, "_r")]
        return pl.DataFrame([*ids, *(scores.get_column(c) for c in SCORE_COLUMNS[2:]),
                             *(scores.get_column(c) for c in contribution_columns),
                             gammas.get_column(TWIN_FLAG), *self._evidence(gammas),
                             gammas.get_column(TWIN_BY_NAMES)])

    def _evidence(self, gammas: pl.DataFrame) -> list[pl.Series]:
        """Per pair, what batch `link` clusters with besides the scores: the given names are
        the same (`Linker.same_name`) and an identifier agrees (`identifier_agreement`)."""
        same_name = self.linker.same_name(gammas)
        agrees = gammas.select(identifier_agreement(self.linker.comparisons)).to_series()
        return [pl.Series(SAME_NAME, [False] * len(gammas) if same_name is None else same_name,
                          dtype=pl.Boolean),
                agrees.alias(IDENTIFIER_AGREES).cast(pl.Boolean)]


def _no_pairs() -> pl.DataFrame:
    return pl.DataFrame(schema={"idx_l": pl.UInt32, "idx_r": pl.UInt32})
