"""Scoring a large load ahead of its batches.

Loading in batches of 1,000 spent most of its time normalising and scoring: each call carries a
fixed cost of about 0.1 s (polars queries per feature and per comparison level) whatever its
size. `Prescored.build` adds a load's new and changed records to the in-memory index and scores
them in chunks of `SCORE_CHUNK` records instead (`RecordIndex.add_and_match`: the pairs among a
chunk's records blocked and compared as the batch path does), before anything is written; each
batch then commits only the pairs whose two records are stored once it commits (a pair belongs
to the later batch of its two records). The partition is the one loading batch by batch gives,
up to term frequencies, which are counted as of the chunk rather than the batch.

Until its batch commits, a prescored record is in the index but not in the store: the store
puts the index back to the stored state of `uncommitted()` records after a failure, or when
another writer stored records in between (their pairs with this load were never scored; the
remaining batches are then scored one by one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from matcher.store.backend import RecordIndex
from matcher.store.recluster import IDENTIFIER_AGREES, PAIR_COLUMNS, SAME_NAME, TWIN_BY_NAMES

SCORE_CHUNK = 500_000
"""Records scored per call. The pairs among one chunk's records are blocked and compared as
in batch `link`; pairs with records indexed before are looked up record by record, which
costs more and finds more pairs (a block capped in the whole data set is not capped while it
is still small): at 300k, chunks of 100,000 took 17.4 s of CPU for 1.88M pairs, one chunk
10.5 s for 1.40M. A chunk's scored pairs (about 5 per record, with each comparison's weight)
bound the memory."""
BATCH = "__batch"


@dataclass
class Prescored:
    """The pairs of a load's new and changed records, by the batch that commits them."""

    pending: dict[int, list[str]] = field(default_factory=dict)
    """Per batch, its records indexed ahead and not committed yet."""
    pairs: dict[int, pl.DataFrame] = field(default_factory=dict)
    empty: pl.DataFrame | None = None

    @classmethod
    def build(cls, index: RecordIndex, work: pl.DataFrame) -> Prescored:
        """Index and score `work` (canonical rows plus their batch number in `__batch`). If
        this fails, some of `work` may be indexed: the caller puts it back."""
        ids = work["record_id"].to_list()
        batches = work[BATCH].to_list()
        prescored = cls()
        for rid, batch in zip(ids, batches, strict=True):
            prescored.pending.setdefault(batch, []).append(rid)
        pieces = []
        for start in range(0, work.height, SCORE_CHUNK):
            chunk = work.slice(start, SCORE_CHUNK).drop(BATCH)
            pairs = pairs_once(index.add_and_match(chunk))
            # a changed record of a later chunk is still indexed with its stored values
            later = pl.Series(ids[start + SCORE_CHUNK:], dtype=pl.String).implode()
            pieces.append(pairs.filter(~pl.col("record_id_l").is_in(later)
                                       & ~pl.col("record_id_r").is_in(later)))
        if not pieces:
            return prescored
        batch_of = work.select("record_id", BATCH)
        pairs = (pl.concat(pieces)
                 .join(batch_of.rename({"record_id": "record_id_l", BATCH: "__l"}),
                       on="record_id_l", how="left")
                 .join(batch_of.rename({"record_id": "record_id_r", BATCH: "__r"}),
                       on="record_id_r", how="left")
                 .with_columns(pl.max_horizontal("__l", "__r").alias(BATCH))
                 .drop("__l", "__r"))
        prescored.empty = pairs.clear().drop(BATCH)
        prescored.pairs = {int(key[0]): part.drop(BATCH) for key, part in
                           pairs.partition_by(BATCH, as_dict=True).items()}
        return prescored

    def pairs_of(self, batch: int) -> pl.DataFrame | None:
        """The pairs batch number `batch` commits; None if it has nothing prescored."""
        if batch not in self.pending:
            return None
        found = self.pairs.pop(batch, None)
        return found if found is not None else self.empty

    def committed(self, batch: int) -> None:
        """Batch number `batch` is in the store now."""
        self.pending.pop(batch, None)
        self.pairs.pop(batch, None)

    def uncommitted(self) -> list[str]:
        """Records indexed ahead whose batch has not committed."""
        return [rid for ids in self.pending.values() for rid in ids]

    def clear(self) -> None:
        """Forget everything (after the index was put back for `uncommitted()`)."""
        self.pending, self.pairs = {}, {}


def pairs_once(raw: pl.DataFrame) -> pl.DataFrame:
    """Scored pairs (`RecordIndex.match`) in (smaller, larger) record_id order, each once with
    its best score: the `links` pair columns and the `mw_*` contributions (same_name,
    identifier_agrees and multiple_birth_by_names null if the index does not give them)."""
    mw = [c for c in raw.columns if c.startswith("mw_")]
    unknown = [pl.lit(None, dtype=pl.Boolean).alias(c)
               for c in (SAME_NAME, IDENTIFIER_AGREES, TWIN_BY_NAMES) if c not in raw.columns]
    return (
        raw.filter(pl.col("record_id_l") != pl.col("record_id_r"))
        .with_columns(unknown)
        .with_columns(
            pl.min_horizontal("record_id_l", "record_id_r").alias("l"),
            pl.max_horizontal("record_id_l", "record_id_r").alias("r"),
        )
        .sort(["l", "r", "match_probability"], descending=[False, False, True])
        .unique(["l", "r"], keep="first", maintain_order=True)
        .drop("record_id_l", "record_id_r")
        .rename({"l": "record_id_l", "r": "record_id_r"})
        .select(*PAIR_COLUMNS, *mw)
    )
