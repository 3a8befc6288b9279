"""Turn canonical records into the normalised feature frame that blocking and comparisons read.

`prepare` is the one place where normalisation happens; comparisons only read its columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import islice
from typing import Any

import polars as pl

from features.codes import normalise_country, normalise_flag, normalise_sex, normalise_us_state
from features.dates import (
    DATE_PATTERNS,
    DEFAULT_DATE_FORMATS,
    date_day,
    date_digits,
    date_month,
    date_year,
    is_placeholder_date,
    month_day_key,
    repair_ocr_digits,
)
from features.names import (
    expand_abbreviations,
    fused_name_splits,
    given_name_vocabulary,
    join_particles,
    name_groups,
    name_representative,
    representative_table,
    spanish_phonetic,
    split_surnames,
    surname_core,
)
from features.text import (
    compact,
    drop_placeholder_names,
    fold_code,
    fold_text,
    fold_words,
    null_if_blank,
)

CORE_FIELDS = ("first_name", "middle_name", "last_name_1", "last_name_2", "sex", "birth_date",
               "multiple_birth_flag", "birth_city", "birth_state", "birth_country",
               "parent1_first_name", "parent1_last_name", "parent2_first_name",
               "parent2_last_name", "state", "local_student_id")


def _given_name_text(raw: pl.Expr) -> pl.Expr:
    return expand_abbreviations(drop_placeholder_names(fold_text(raw)))


def _name_text(raw: pl.Expr, given: bool = True) -> pl.Expr:
    return drop_placeholder_names(fold_text(raw), given)


def _fused_split_table(words: pl.Series) -> dict[str, str]:
    """Split fused compounds ('JUANCARLOS') using the given-name vocabulary."""
    distinct = words.str.split(" ").explode().drop_nulls().unique().to_list()
    return fused_name_splits(distinct, given_name_vocabulary())


def _tokens_without_initials(text: pl.Expr) -> pl.Expr:
    return text.str.split(" ").list.eval(pl.element().filter(pl.element().str.len_chars() > 1))


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


_NOT_CODE = re.compile("[^A-Z0-9]+")
_DATE_CHARS = re.compile(r"[0-9/\-]*")
_ZERO_DATE = re.compile(r"[0/\-]+")


def fold_code_ascii(value: Row) -> Row | None:
    """`fold_code` of one plain-ASCII value, in Python (None for other values): mojibake and
    accents cannot occur in ASCII, so only case and the non-alphanumerics remain.
    Identifiers are new in nearly every record, so a memo cannot spare their query."""
    text = value[0]
    if text is None:
        return (None,)
    if not text.isascii():
        return None
    return (_NOT_CODE.sub("", text.upper()) or None,)


def date_digits_plain(formats: tuple[str, ...]) -> Callable[[Row], Row | None]:
    """`date_digits` (after the OCR repair, which changes no digit) of one value made of
    ASCII digits, '/' and '-' only, in Python (None for other values, and for values that
    more than one format reads, where which reading is a real day decides)."""
    patterns: list[tuple[re.Pattern[str], int, int, int]] = [
        (re.compile(pattern), int(y), int(m), int(d))
        for pattern, y, m, d in (DATE_PATTERNS[f] for f in formats)]

    def digits(value: Row) -> Row | None:
        text = value[0]
        if text is None or text == "":
            return (None,)
        if not _DATE_CHARS.fullmatch(text):
            return None
        if _ZERO_DATE.fullmatch(text):
            return (None,)
        readings = [m[y] + m[mo].zfill(2) + m[d].zfill(2)
                    for pattern, y, mo, d in patterns if (m := pattern.match(text))]
        return None if len(readings) > 1 else (readings[0] if readings else None,)

    return digits


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


def by_value(frame: pl.DataFrame, inputs: list[str], exprs: list[pl.Expr],
             memo: ValueMemo | None = None) -> pl.DataFrame:
    """Evaluate expressions once per distinct combination of `inputs` and join them back.

    Names, dates and places repeat a lot, so normalising distinct values is many times cheaper
    than normalising every row; the result is the same row for row.
    """
    return by_values(frame, value_groups([(inputs, exprs)]), memo)


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
    """`by_value` for several groups of inputs side by side; a small frame runs them all in
    one query (or from the memo)."""
    if frame.height <= SMALL_FRAME_ROWS:
        return (memo.evaluate(frame, groups) if memo is not None
                else frame.select(expr for group in groups for expr in group.exprs))
    return pl.concat([_by_group(frame, group, memo) for group in groups], how="horizontal")


def prepare(records: pl.DataFrame, extra_fields: list[str] | None = None,
            date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS,
            ocr_digits: bool = False, memo: ValueMemo | None = None) -> pl.DataFrame:
    """Normalised features for every record, one row per input row, in the same order.

    `records` holds canonical string columns (missing ones are treated as null) and optionally
    `source` (input file index). `extra_fields` are preset evidence fields (addresses,
    postcodes, identifiers) folded as words. A `memo` remembers normalised values between
    calls (for matching one record at a time).
    """
    extra = tuple(extra_fields or ())
    fields = _field_groups(extra, tuple(date_formats), ocr_digits)
    if memo is not None and records.height <= SMALL_FRAME_ROWS:
        return _prepare_small(records, extra, fields, memo)
    present = set(records.columns)
    base = records.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in (*CORE_FIELDS, *extra)
        if c not in present)
    if "source" not in present:
        base = base.with_columns(pl.lit(0, dtype=pl.Int32).alias("source"))
    base = base.with_columns(pl.col(c).cast(pl.String) for c in (*CORE_FIELDS, *extra))
    step1 = pl.concat([
        base.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("idx"),
                    pl.col("record_id").cast(pl.String), pl.col("source").cast(pl.Int32)),
        by_values(base, fields, memo),
    ], how="horizontal")
    splits = _fused_split_table(step1["fn_text"])
    if splits:
        step1 = step1.with_columns(pl.col("fn_text").str.split(" ").list.eval(
            pl.element().replace(splits)).list.join(" "))
    step2 = pl.concat([step1, by_values(step1, _name_groups(), memo)], how="horizontal")
    derived = by_values(step2, _derived_value_groups(), memo)
    return _finish(pl.concat([step2, derived], how="horizontal"))


def _prepare_small(records: pl.DataFrame, extra: tuple[str, ...],
                   fields: Sequence[ValueGroup], memo: ValueMemo) -> pl.DataFrame:
    """`prepare` for a few rows, in plain Python over the memo's remembered values: the same
    groups and outputs, with at most one query per step (for unseen values) and one for the
    final keys, instead of several queries per step."""
    n = records.height
    present = set(records.columns)
    raw: Columns = {c: _strings(records, c) if c in present else [None] * n
                    for c in (*CORE_FIELDS, *extra)}
    columns: Columns = {
        "idx": list(range(n)), "record_id": _strings(records, "record_id"),
        "source": (records["source"].cast(pl.Int32).to_list() if "source" in present
                   else [0] * n)}
    schema: dict[str, pl.DataType] = {"idx": pl.UInt32(), "record_id": pl.String(),
                                      "source": pl.Int32()}
    values, dtypes = memo.outputs(raw, dict.fromkeys(raw, pl.String()), fields)
    values["fn_text"] = split_fused_names(values["fn_text"])
    columns.update(values)
    schema.update(dtypes)
    for groups in (_name_groups(), _derived_value_groups()):
        values, dtypes = memo.outputs(columns, schema, groups)
        columns.update(values)
        schema.update(dtypes)
    final = columns_frame(columns, {c: schema[c] for c in _final_inputs()}).select(
        _final_exprs())
    kept = {c: dtype for c, dtype in schema.items() if c not in _DROPPED}
    return columns_frame(columns, kept).hstack(final.get_columns())


def _strings(frame: pl.DataFrame, column: str) -> list[Any]:
    series = frame.get_column(column)
    return (series if series.dtype == pl.String else series.cast(pl.String)).to_list()


def split_fused_names(texts: list[str | None]) -> list[str | None]:
    """The plain-Python form of the fused-compound step for a few rows (the same splits,
    word by word, as the `str.split`/`replace`/`list.join` query of the batch path)."""
    words = {word for text in texts if text is not None for word in text.split(" ")}
    splits = fused_name_splits(words, given_name_vocabulary())
    if not splits:
        return texts
    return [None if text is None else " ".join(splits.get(w, w) for w in text.split(" "))
            for text in texts]


_DROPPED = ("ln1_text", "ln2_text", "lsid_raw", "fn_text")
"""Intermediate columns that are not features."""


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the keys that combine columns of the earlier steps; drop the intermediates."""
    return frame.with_columns(_final_exprs()).drop(_DROPPED)


@cache
def _final_exprs() -> list[pl.Expr]:
    """Keys over columns of several groups."""
    return [
        pl.col("mn").str.slice(0, 1).alias("mn_initial"),
        pl.coalesce("fn_rest", pl.when(pl.col("mn").str.len_chars() > 1).then(pl.col("mn")))
        .alias("fn_second"),
        null_if_blank(pl.col("state") + ":" + pl.col("lsid_raw")).alias("lsid"),
        _parents_key_expr(),
        _pair_key_expr(),
    ]


@cache
def _final_inputs() -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for e in _final_exprs() for c in e.meta.root_names()))


@cache
def _field_groups(extra_fields: tuple[str, ...], date_formats: tuple[str, ...],
                  ocr_digits: bool) -> tuple[ValueGroup, ...]:
    plain = {"lsid_raw": fold_code_ascii, "dob": date_digits_plain(date_formats)}
    return tuple(ValueGroup((column,), (expr,), plain.get(expr.meta.output_name()))
                 for column, expr in _field_exprs(extra_fields, date_formats, ocr_digits))


@cache
def _name_groups() -> tuple[ValueGroup, ...]:
    """Given-name and surname outputs, from the folded names of the first step."""
    return value_groups([(["fn_text"], _given_name_exprs()),
                         (["ln1_text", "ln2_text"], _surname_exprs())])


@cache
def _derived_value_groups() -> tuple[ValueGroup, ...]:
    return value_groups(_derived_groups())


@cache
def _field_exprs(extra_fields: tuple[str, ...], date_formats: tuple[str, ...],
                 ocr_digits: bool) -> list[tuple[str, pl.Expr]]:
    """Per-field normalisation as (input column, expression); built once, since the lookup
    tables make these costly to build."""
    date = (repair_ocr_digits(pl.col("birth_date")) if ocr_digits else pl.col("birth_date"))
    return [
        ("state", fold_code(pl.col("state")).alias("state")),
        ("first_name", _given_name_text(pl.col("first_name")).alias("fn_text")),
        ("middle_name", _name_text(pl.col("middle_name")).alias("mn")),
        ("last_name_1",
         join_particles(_name_text(pl.col("last_name_1"), given=False)).alias("ln1_text")),
        ("last_name_2",
         join_particles(_name_text(pl.col("last_name_2"), given=False)).alias("ln2_text")),
        ("sex", normalise_sex(pl.col("sex")).alias("sex")),
        ("birth_date", date_digits(date, date_formats).alias("dob")),
        ("multiple_birth_flag", normalise_flag(pl.col("multiple_birth_flag")).alias("mbf")),
        ("birth_city", fold_text(pl.col("birth_city")).alias("bcity")),
        ("birth_state", normalise_us_state(pl.col("birth_state")).alias("bstate")),
        ("birth_country", normalise_country(pl.col("birth_country")).alias("bcountry")),
        ("parent1_first_name", _parent_first_name(pl.col("parent1_first_name")).alias("p1fn")),
        ("parent1_last_name", _parent_last_name(pl.col("parent1_last_name")).alias("p1ln")),
        ("parent2_first_name", _parent_first_name(pl.col("parent2_first_name")).alias("p2fn")),
        ("parent2_last_name", _parent_last_name(pl.col("parent2_last_name")).alias("p2ln")),
        ("parent1_first_name", _parent_groups("parent1_first_name").alias("p1fn_groups")),
        ("parent2_first_name", _parent_groups("parent2_first_name").alias("p2fn_groups")),
        ("local_student_id", fold_code(pl.col("local_student_id")).alias("lsid_raw")),
        *[(c, fold_words(pl.col(c)).alias(f"x_{c}")) for c in extra_fields],
    ]


def _parent_first_name(raw: pl.Expr) -> pl.Expr:
    return name_representative(_name_text(raw).str.split(" ").list.first())


def _parent_groups(column: str) -> pl.Expr:
    """A parent's given name as its equivalence groups (PEPE and JOSE overlap)."""
    return name_groups(_name_text(pl.col(column)).str.split(" ").list.first())


def _parent_last_name(raw: pl.Expr) -> pl.Expr:
    return compact(join_particles(_name_text(raw, given=False)))


@cache
def _given_name_exprs() -> list[pl.Expr]:
    """Everything derived from the folded given name (evaluated per distinct name)."""
    fn1 = pl.col("fn_text").str.split(" ").list.first()
    parts = _tokens_without_initials(pl.col("fn_text")).list.eval(pl.element().replace(
        representative_table()))
    return [
        compact(pl.col("fn_text")).alias("fn"),
        fn1.alias("fn1"),
        name_groups(fn1).alias("fn1_groups"),
        fn1.is_in(list(given_name_vocabulary())).alias("fn1_known"),
        name_representative(fn1).alias("fn_canon"),
        spanish_phonetic(fn1).alias("fn_phon"),
        parts.alias("fn_parts"),
        parts.list.first().alias("fn_head"),
        parts.list.len().cast(pl.Int32).alias("fn_nparts"),
        null_if_blank(parts.list.slice(1).list.join(" ")).alias("fn_rest"),
        pl.col("fn_text").str.slice(0, 1).alias("fn_initial"),
    ]


@cache
def _surname_exprs() -> list[pl.Expr]:
    ln1, ln2 = split_surnames(pl.col("ln1_text"), pl.col("ln2_text"))
    return [ln1.alias("ln1"), ln2.alias("ln2"), compact(pl.col("ln1_text")).alias("ln_full")]


@cache
def _derived_groups() -> list[tuple[list[str], list[pl.Expr]]]:
    """Surname keys and date parts, from the columns of the second step."""
    return [
        (["ln1"], [surname_core(pl.col("ln1")).alias("ln1_core"),
                   spanish_phonetic(pl.col("ln1")).alias("ln1_phon")]),
        (["ln2"], [spanish_phonetic(pl.col("ln2")).alias("ln2_phon")]),
        (["dob"], _date_exprs()),
        (["fn_text", "mn"], [_given_names_expr().alias("given_all")]),
    ]


def _given_names_expr() -> pl.Expr:
    """Every given name, first and middle together, in their canonical forms, initials left
    out: a second name moves between the two fields from one state's system to the next."""
    text = pl.concat_str(pl.col("fn_text"), pl.col("mn"), separator=" ", ignore_nulls=True)
    return _tokens_without_initials(text).list.eval(
        pl.element().replace(representative_table())).list.unique(maintain_order=True)


@cache
def _date_exprs() -> list[pl.Expr]:
    return [
        date_year(pl.col("dob")).alias("dob_y"),
        date_month(pl.col("dob")).alias("dob_m"),
        date_day(pl.col("dob")).alias("dob_d"),
        is_placeholder_date(pl.col("dob")).alias("dob_weak"),
        month_day_key(pl.col("dob")).alias("dob_md"),
    ]


def _parents_key_expr() -> pl.Expr:
    """Both parents' given names in sorted order (their frequency weighs an agreement)."""
    low = pl.min_horizontal("p1fn", "p2fn")
    high = pl.max_horizontal("p1fn", "p2fn")
    return pl.when(pl.col("p1fn").is_not_null() & pl.col("p2fn").is_not_null()).then(
        low + "|" + high).alias("parents_key")


def _pair_key_expr() -> pl.Expr:
    """Given and paternal surname sounds in sorted order: a first/last swap keeps the key."""
    return (pl.when(pl.col("fn_phon") <= pl.col("ln1_phon"))
            .then(pl.col("fn_phon") + "|" + pl.col("ln1_phon"))
            .otherwise(pl.col("ln1_phon") + "|" + pl.col("fn_phon")).alias("name_pair"))
