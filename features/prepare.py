"""Turn canonical records into the normalised feature frame that blocking and comparisons read.

`prepare` is the one place where normalisation happens; comparisons only read its columns.
"""

from __future__ import annotations

from functools import cache
from itertools import islice
from typing import Any

import polars as pl

from features.codes import normalise_country, normalise_flag, normalise_sex, normalise_us_state
from features.dates import (
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
        self._tables: dict[tuple[str, ...], dict[tuple[Any, ...], tuple[Any, ...]]] = {}
        self._schemas: dict[tuple[str, ...], pl.Schema] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _group(inputs: list[str], exprs: list[pl.Expr]) -> tuple[str, ...]:
        return (*inputs, "->", *(e.meta.output_name() for e in exprs))

    def remember(self, inputs: list[str], exprs: list[pl.Expr], computed: pl.DataFrame) -> None:
        """Store rows of `computed`: the input columns then the outputs, in that order."""
        group = self._group(inputs, exprs)
        self._schemas[group] = computed.drop(computed.columns[:len(inputs)]).schema
        table = self._tables.setdefault(group, {})
        room = self.max_values - len(table)
        if room <= 0:
            return
        # outputs are a pure function of the inputs, so a value seen again is stored again
        # unchanged; whole columns are zipped rather than rows visited one by one
        columns = [computed[c].to_list() for c in computed.columns]
        width = len(inputs)
        rows = zip(zip(*columns[:width], strict=True), zip(*columns[width:], strict=True),
                   strict=True)
        table.update(rows if room >= computed.height else islice(rows, room))

    def evaluate(self, frame: pl.DataFrame, groups: list[tuple[list[str], list[pl.Expr]]]
                 ) -> pl.DataFrame:
        """`frame.select(every group's exprs)`, from memory for the input values already seen;
        the unseen ones are computed (one query per group) and remembered. Built as one frame:
        for a record or two, constructing frames costs more than the lookups."""
        columns: dict[str, list[Any]] = {}
        schema: dict[str, pl.DataType] = {}
        for inputs, exprs in groups:
            rows = self._rows(frame, inputs, exprs)
            if rows is None:  # no room to remember them: compute this group directly
                computed = frame.select(exprs)
                columns.update((c, computed[c].to_list()) for c in computed.columns)
                schema.update(computed.schema)
                continue
            group_schema = self._schemas[self._group(inputs, exprs)]
            for name, values in zip(group_schema, zip(*rows, strict=True) if rows else
                                    [()] * len(group_schema), strict=True):
                columns[name] = list(values)
            schema.update(group_schema)
        return pl.DataFrame(columns, schema=schema)

    def _rows(self, frame: pl.DataFrame, inputs: list[str], exprs: list[pl.Expr]
              ) -> list[tuple[Any, ...]] | None:
        """Each row's remembered outputs for one group (None when they cannot be kept)."""
        group = self._group(inputs, exprs)
        table = self._tables.get(group, {})
        keys = list(zip(*(frame[c].to_list() for c in inputs), strict=True))
        unseen = [k for k in dict.fromkeys(keys) if k not in table]
        self.misses += len(unseen)
        self.hits += len(keys) - len(unseen)
        if unseen and len(table) + len(unseen) > self.max_values:
            return None
        if unseen:
            fresh = pl.DataFrame(unseen, schema={c: frame.schema[c] for c in inputs},
                                 orient="row")
            self.remember(inputs, exprs, fresh.select(*_key_columns(inputs), *exprs))
            table = self._tables[group]
        return [table[k] for k in keys]


def _key_columns(inputs: list[str]) -> list[pl.Expr]:
    """The inputs renamed, so that an output may carry an input's name."""
    return [pl.col(c).alias(f"_key{i}") for i, c in enumerate(inputs)]


def by_value(frame: pl.DataFrame, inputs: list[str], exprs: list[pl.Expr],
             memo: ValueMemo | None = None) -> pl.DataFrame:
    """Evaluate expressions once per distinct combination of `inputs` and join them back.

    Names, dates and places repeat a lot, so normalising distinct values is many times cheaper
    than normalising every row; the result is the same row for row.
    """
    if frame.height <= SMALL_FRAME_ROWS:
        return memo.evaluate(frame, [(inputs, exprs)]) if memo else frame.select(exprs)
    renamed = _key_columns(inputs)
    keys = [e.meta.output_name() for e in renamed]
    computed = frame.select(inputs).unique().select(*renamed, *exprs)
    if memo is not None:
        memo.remember(inputs, exprs, computed)
    return (frame.select(renamed)
            .join(computed, on=keys, how="left", nulls_equal=True, maintain_order="left")
            .drop(keys))


def by_values(frame: pl.DataFrame, groups: list[tuple[list[str], list[pl.Expr]]],
              memo: ValueMemo | None = None) -> pl.DataFrame:
    """`by_value` for several groups of inputs side by side; without a memo a small frame runs
    them all in one query."""
    if frame.height <= SMALL_FRAME_ROWS:
        return (memo.evaluate(frame, groups) if memo is not None
                else frame.select(expr for _, exprs in groups for expr in exprs))
    return pl.concat([by_value(frame, inputs, exprs, memo) for inputs, exprs in groups],
                     how="horizontal")


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
    present = set(records.columns)
    base = records.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in (*CORE_FIELDS, *extra)
        if c not in present)
    if "source" not in present:
        base = base.with_columns(pl.lit(0, dtype=pl.Int32).alias("source"))
    base = base.with_columns(pl.col(c).cast(pl.String) for c in (*CORE_FIELDS, *extra))
    fields = _field_exprs(extra, tuple(date_formats), ocr_digits)
    step1 = pl.concat([
        base.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("idx"),
                    pl.col("record_id").cast(pl.String), pl.col("source").cast(pl.Int32)),
        by_values(base, [([column], [expr]) for column, expr in fields], memo),
    ], how="horizontal")
    splits = _fused_split_table(step1["fn_text"])
    if splits:
        step1 = step1.with_columns(pl.col("fn_text").str.split(" ").list.eval(
            pl.element().replace(splits)).list.join(" "))
    step2 = pl.concat([step1, by_values(step1, [(["fn_text"], _given_name_exprs()),
                                                (["ln1_text", "ln2_text"], _surname_exprs())],
                                         memo)],
                      how="horizontal")
    derived = by_values(step2, _derived_groups(), memo)
    out = pl.concat([step2, derived], how="horizontal").with_columns(
        pl.col("mn").str.slice(0, 1).alias("mn_initial"),
        pl.coalesce("fn_rest", pl.when(pl.col("mn").str.len_chars() > 1).then(pl.col("mn")))
        .alias("fn_second"),
        null_if_blank(pl.col("state") + ":" + pl.col("lsid_raw")).alias("lsid"),
        _parents_key_expr(),
    ).with_columns(_pair_key_expr())
    return out.drop("ln1_text", "ln2_text", "lsid_raw", "fn_text")


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
