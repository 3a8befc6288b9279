"""Normalisation once per distinct value: for big frames a join of distinct inputs, for a few
rows (one record matched at a time) a memo of the outputs already computed.

Names, dates and places repeat a lot, so evaluating an expression per distinct input and
joining it back is many times cheaper than per row; the result is the same row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from typing import Any

import polars as pl

SMALL_FRAME_ROWS = 64
"""Below this many rows, expressions run directly: the distinct-value join costs more than it
saves, and one query per step keeps single-record matching fast."""


Columns = dict[str, list[Any]]
"""Column name -> values, for frames of a few rows handled in plain Python."""
Row = tuple[Any, ...]


@dataclass(frozen=True, eq=False)
class ValueGroup:
    """Expressions that are a pure function of the `inputs` columns (evaluated once per
    distinct combination of them).

    `plain`, when given, computes the same outputs in plain Python for the inputs it covers
    (None for the others): a memo uses it for unseen values instead of a query, and does not
    remember what it covers."""

    inputs: tuple[str, ...]
    exprs: tuple[pl.Expr, ...]
    plain: Callable[[Row], Row | None] | None = None

    @cached_property
    def outputs(self) -> tuple[str, ...]:
        return tuple(e.meta.output_name() for e in self.exprs)

    @cached_property
    def key(self) -> tuple[str, ...]:
        """The group's name in a memo (computed once: naming expressions is not free)."""
        return (*self.inputs, "->", *self.outputs)


def value_groups(groups: Iterable[tuple[Iterable[str], Iterable[pl.Expr]]]
                 ) -> tuple[ValueGroup, ...]:
    return tuple(ValueGroup(tuple(inputs), tuple(exprs)) for inputs, exprs in groups)


class ValueMemo:
    """Normalised outputs remembered per distinct input value, for one record at a time.

    Normalisation is a pure function of a few input values, and polars spends most of a
    one-row query compiling patterns, so an online matcher keeps what it has computed (the
    indexed records fill it) and runs polars only for values it has never seen. Each group
    of outputs holds at most `max_values` distinct inputs; beyond that, new values are
    computed every time.
    """

    def __init__(self, max_values: int = 200_000) -> None:
        self.max_values = max_values
        self._tables: dict[tuple[str, ...], dict[Row, Row]] = {}
        self._schemas: dict[tuple[str, ...], pl.Schema] = {}
        self.hits = 0
        self.misses = 0

    def remember(self, group: ValueGroup, computed: pl.DataFrame) -> None:
        """Store rows of `computed`: the group's inputs then its outputs, in that order.
        A group with a `plain` function keeps only its schema: its values are cheap to
        compute again."""
        width = len(group.inputs)
        schema = pl.Schema(list(computed.schema.items())[width:])
        if group.plain is not None:
            self._schemas[group.key] = schema
            return
        # whole columns are zipped rather than rows visited one by one
        columns = [computed[c].to_list() for c in computed.columns]
        self._store(group, schema, zip(zip(*columns[:width], strict=True),
                                       zip(*columns[width:], strict=True), strict=True),
                    computed.height)

    def _store(self, group: ValueGroup, schema: pl.Schema, rows: Iterable[tuple[Row, Row]],
               count: int) -> None:
        """Remember (inputs, outputs) rows, as many as there is room for. Outputs are a pure
        function of the inputs, so a value seen again is stored again unchanged."""
        self._schemas[group.key] = schema
        table = self._tables.setdefault(group.key, {})
        room = self.max_values - len(table)
        if room > 0:
            table.update(rows if room >= count else islice(rows, room))

    def evaluate(self, frame: pl.DataFrame, groups: Sequence[ValueGroup]) -> pl.DataFrame:
        """`frame.select(every group's exprs)`, from memory for the input values already seen;
        the unseen ones are computed (in one query) and remembered."""
        inputs = {c: frame[c].to_list() for g in groups for c in g.inputs}
        return columns_frame(*self.outputs(inputs, frame.schema, groups))

    def outputs(self, columns: Columns, schema: Mapping[str, pl.DataType],
                groups: Sequence[ValueGroup]) -> tuple[Columns, dict[str, pl.DataType]]:
        """Every group's outputs over the (few) rows of `columns`, with their schema: the
        remembered values, and one query over all rows for the groups that met an unseen
        input (beyond `max_values` those are used without being remembered)."""
        keys = [list(zip(*(columns[c] for c in g.inputs), strict=True)) for g in groups]
        tables = [self._tables.get(g.key, {}) for g in groups]
        unseen = []
        computed: dict[tuple[str, ...], dict[Row, Row]] = {}
        for group, group_keys, table in zip(groups, keys, tables, strict=True):
            fresh = {k for k in group_keys if k not in table}
            self.misses += len(fresh)
            self.hits += len(group_keys) - len(fresh)
            plain = self._plain(group, fresh) if fresh else None
            if plain is not None:
                computed[group.key] = plain
            elif fresh:
                unseen.append((group, group_keys))
        if unseen:
            computed.update(self._compute(columns, schema, unseen))
        out: Columns = {}
        out_schema: dict[str, pl.DataType] = {}
        for group, group_keys, table in zip(groups, keys, tables, strict=True):
            new = computed.get(group.key, {})
            rows = [new[k] if k in new else table[k] for k in group_keys]
            group_schema = self._schemas[group.key]
            values = zip(*rows, strict=True) if rows else [()] * len(group_schema)
            out.update(zip(group_schema, map(list, values), strict=True))
            out_schema.update(group_schema)
        return out, out_schema

    def _plain(self, group: ValueGroup, keys: set[Row]) -> dict[Row, Row] | None:
        """The group's plain-Python outputs for `keys`, if it covers them all and its schema
        is known."""
        if group.plain is None or group.key not in self._schemas:
            return None
        rows = {}
        for key in keys:
            outputs = group.plain(key)
            if outputs is None:
                return None
            rows[key] = outputs
        return rows

    def _compute(self, columns: Columns, schema: Mapping[str, pl.DataType],
                 groups: list[tuple[ValueGroup, list[Row]]]) -> dict[tuple[str, ...],
                                                                     dict[Row, Row]]:
        """These groups' outputs for every row, in one query, remembered; returns each
        group's rows (inputs -> outputs) as computed."""
        needed = {c: schema[c] for group, _ in groups for c in group.inputs}
        computed = columns_frame(columns, needed).select(
            expr for group, _ in groups for expr in group.exprs)
        fresh = {}
        schema_out = computed.schema
        for group, keys in groups:
            rows = dict(zip(keys, zip(*(computed[c].to_list() for c in group.outputs),
                                      strict=True), strict=True))
            self._store(group, pl.Schema({c: schema_out[c] for c in group.outputs}),
                        rows.items(), len(rows))
            fresh[group.key] = rows
        return fresh


def columns_frame(columns: Columns, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Columns of plain values as a frame (in `schema`'s order). Built from row dicts: for a
    few rows that is several times faster than from a dict of lists."""
    names = list(schema)
    rows = [dict(zip(names, row, strict=True))
            for row in zip(*(columns[c] for c in names), strict=True)]
    return pl.from_dicts(rows, schema=dict(schema)) if rows else pl.DataFrame(schema=schema)


def _key_columns(inputs: Sequence[str]) -> list[pl.Expr]:
    """The inputs renamed, so that an output may carry an input's name."""
    return [pl.col(c).alias(f"_key{i}") for i, c in enumerate(inputs)]


def _by_group(frame: pl.DataFrame, group: ValueGroup, memo: ValueMemo | None) -> pl.DataFrame:
    renamed = _key_columns(group.inputs)
    keys = [e.meta.output_name() for e in renamed]
    computed = frame.select(group.inputs).unique().select(*renamed, *group.exprs)
    if memo is not None:
        memo.remember(group, computed)
    return (frame.select(renamed)
            .join(computed, on=keys, how="left", nulls_equal=True, maintain_order="left")
            .drop(keys))


def by_values(frame: pl.DataFrame, groups: Sequence[ValueGroup],
              memo: ValueMemo | None = None) -> pl.DataFrame:
    """Every group's expressions, each evaluated once per distinct combination of its inputs
    and joined back row for row; a small frame runs them all in one query (or from the
    memo)."""
    if frame.height <= SMALL_FRAME_ROWS:
        return (memo.evaluate(frame, groups) if memo is not None
                else frame.select(expr for group in groups for expr in group.exprs))
    return pl.concat([_by_group(frame, group, memo) for group in groups], how="horizontal")
