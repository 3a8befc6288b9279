"""Turn canonical records into the normalised feature frame that blocking and comparisons read.

`prepare` is the one place where normalisation happens; comparisons only read its columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import polars as pl

from features.codes import normalise_country, normalise_flag, normalise_sex, normalise_us_state
from features.dates import (
    DEFAULT_DATE_FORMATS,
    date_day,
    date_digits,
    date_digits_plain,
    date_month,
    date_year,
    is_placeholder_date,
    month_day_key,
    repair_ocr_digits,
)
from features.names import (
    curated_vocabulary,
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
    fold_code_ascii,
    fold_text,
    fold_words,
    null_if_blank,
)
from features.value_memo import (
    SMALL_FRAME_ROWS,
    Columns,
    ValueGroup,
    ValueMemo,
    by_values,
    columns_frame,
    value_groups,
)

SECOND_TYPO_MIN_LENGTH = 4
"""A second given name this long or longer, unknown to us, may be a typo of the other."""

SECOND_BIRTH_DATE = "birth_date_2"
"""A field a preset may map beside the birth date: a second record of it, with its own errors
(an SSA record's creation date). Prepared as the date `dob2`; the birth date comparison also
takes it against the other record's birth date."""

CORE_FIELDS = ("first_name", "middle_name", "last_name_1", "last_name_2", "sex", "birth_date",
               "multiple_birth_flag", "birth_city", "birth_state", "birth_country",
               "parent1_first_name", "parent1_last_name", "parent2_first_name",
               "parent2_last_name", "state", "local_student_id", "enrollment_date")


def _given_name_text(raw: pl.Expr) -> pl.Expr:
    return expand_abbreviations(drop_placeholder_names(fold_text(raw)))


def _name_text(raw: pl.Expr, given: bool = True) -> pl.Expr:
    return drop_placeholder_names(fold_text(raw), given)


def _fused_split_table(words: pl.Series) -> dict[str, str]:
    """Split fused compounds ('JUANCARLOS') using the given-name vocabulary."""
    distinct = words.str.split(" ").explode().drop_nulls().unique().to_list()
    return fused_name_splits(distinct)


def _tokens_without_initials(text: pl.Expr) -> pl.Expr:
    return text.str.split(" ").list.eval(pl.element().filter(pl.element().str.len_chars() > 1))


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
    final = final_keys_plain(columns)
    if final is None:
        computed = columns_frame(columns, {c: schema[c] for c in _final_inputs()}).select(
            _final_exprs())
        final = {c: computed[c].to_list() for c in computed.columns}
    columns.update(final)
    schema.update(_final_schema())
    kept = {c: dtype for c, dtype in schema.items() if c not in _DROPPED}
    return columns_frame(columns, kept)


def _strings(frame: pl.DataFrame, column: str) -> list[Any]:
    series = frame.get_column(column)
    return (series if series.dtype == pl.String else series.cast(pl.String)).to_list()


def split_fused_names(texts: list[str | None]) -> list[str | None]:
    """The plain-Python form of the fused-compound step for a few rows (the same splits,
    word by word, as the `str.split`/`replace`/`list.join` query of the batch path)."""
    words = {word for text in texts if text is not None for word in text.split(" ")}
    splits = fused_name_splits(words)
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
        null_if_blank(pl.concat_str([pl.col("fn"), compact(pl.col("mn"))], ignore_nulls=True))
        .alias("given_full"),
        null_if_blank(pl.col("state") + ":" + pl.col("lsid_raw")).alias("lsid"),
        _parents_key_expr(),
        _pair_key_expr(),
    ]


@cache
def _final_inputs() -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for e in _final_exprs() for c in e.meta.root_names()))


@cache
def _final_schema() -> dict[str, pl.DataType]:
    return {e.meta.output_name(): pl.String() for e in _final_exprs()}


def final_keys_plain(columns: Columns) -> Columns | None:
    """`_final_exprs` in plain Python for a few rows (None, for polars to do it, if a state
    or local id is not the letters and digits `fold_code` leaves)."""
    codes = [v for c in ("state", "lsid_raw") for v in columns[c] if v is not None]
    if not all(v.isascii() and v.isalnum() for v in codes):
        return None
    return {
        "mn_initial": [None if mn is None else mn[:1] for mn in columns["mn"]],
        "fn_second": [rest if rest is not None else mn if mn is not None and len(mn) > 1
                      else None for rest, mn in zip(columns["fn_rest"], columns["mn"],
                                                    strict=True)],
        "given_full": [(fn or "") + (mn or "").replace(" ", "") or None
                       for fn, mn in zip(columns["fn"], columns["mn"], strict=True)],
        "lsid": [None if state is None or code is None else f"{state}:{code}"
                 for state, code in zip(columns["state"], columns["lsid_raw"], strict=True)],
        "parents_key": [None if a is None or b is None else f"{min(a, b)}|{max(a, b)}"
                        for a, b in zip(columns["p1fn"], columns["p2fn"], strict=True)],
        "name_pair": [None if a is None or b is None else f"{a}|{b}" if a <= b else f"{b}|{a}"
                      for a, b in zip(columns["fn_phon"], columns["ln1_phon"], strict=True)],
    }


@cache
def _field_groups(extra_fields: tuple[str, ...], date_formats: tuple[str, ...],
                  ocr_digits: bool) -> tuple[ValueGroup, ...]:
    dates = date_digits_plain(date_formats)
    plain = {"lsid_raw": fold_code_ascii, "dob": dates, "dob2": dates, "enr": dates}
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
    def date(field: str) -> pl.Expr:
        return repair_ocr_digits(pl.col(field)) if ocr_digits else pl.col(field)

    def extra(field: str) -> pl.Expr:
        if field == SECOND_BIRTH_DATE:
            return date_digits(date(field), date_formats).alias("dob2")
        return fold_words(pl.col(field)).alias(f"x_{field}")

    return [
        ("state", fold_code(pl.col("state")).alias("state")),
        ("first_name", _given_name_text(pl.col("first_name")).alias("fn_text")),
        ("middle_name", _name_text(pl.col("middle_name")).alias("mn")),
        ("last_name_1",
         join_particles(_name_text(pl.col("last_name_1"), given=False)).alias("ln1_text")),
        ("last_name_2",
         join_particles(_name_text(pl.col("last_name_2"), given=False)).alias("ln2_text")),
        ("sex", normalise_sex(pl.col("sex")).alias("sex")),
        ("birth_date", date_digits(date("birth_date"), date_formats).alias("dob")),
        ("multiple_birth_flag", normalise_flag(pl.col("multiple_birth_flag")).alias("mbf")),
        ("enrollment_date", date_digits(pl.col("enrollment_date"), date_formats).alias("enr")),
        ("birth_city", fold_text(pl.col("birth_city")).alias("bcity")),
        ("birth_state", normalise_us_state(pl.col("birth_state")).alias("bstate")),
        ("birth_country", normalise_country(pl.col("birth_country")).alias("bcountry")),
        ("parent1_first_name", _parent_first_name(pl.col("parent1_first_name")).alias("p1fn")),
        ("parent2_first_name", _parent_first_name(pl.col("parent2_first_name")).alias("p2fn")),
        ("parent1_first_name", _parent_groups("parent1_first_name").alias("p1fn_groups")),
        ("parent2_first_name", _parent_groups("parent2_first_name").alias("p2fn_groups")),
        ("local_student_id", fold_code(pl.col("local_student_id")).alias("lsid_raw")),
        *[(c, extra(c)) for c in extra_fields],
    ]


def _parent_first_name(raw: pl.Expr) -> pl.Expr:
    return name_representative(_name_text(raw).str.split(" ").list.first())


def _parent_groups(column: str) -> pl.Expr:
    """A parent's given name as its equivalence groups (PEPE and JOSE overlap)."""
    return name_groups(_name_text(pl.col(column)).str.split(" ").list.first())


@cache
def _given_name_exprs() -> list[pl.Expr]:
    """Everything derived from the folded given name (evaluated per distinct name)."""
    fn1 = pl.col("fn_text").str.split(" ").list.first()
    groups = name_groups(fn1)
    words = _tokens_without_initials(pl.col("fn_text"))
    parts = words.list.eval(pl.element().replace(representative_table()))
    # every equivalence group of every part: a name in several groups (MANNY: EMMANUEL and
    # MANUEL) has one canonical form, which need not be the one the other record's part takes
    all_groups = words.list.eval(
        name_groups(pl.element()).list.explode(keep_nulls=False, empty_as_null=False)
    ).list.unique().list.sort()
    return [
        compact(pl.col("fn_text")).alias("fn"),
        fn1.alias("fn1"),
        groups.alias("fn1_groups"),
        name_groups(fn1, wide=True).alias("fn1_wide"),
        fn1.is_in(list(curated_vocabulary())).alias("fn1_curated"),
        either_sex(groups).alias("fn1_unisex"),
        _known_given_name(fn1).alias("fn1_known"),
        name_representative(fn1).alias("fn_canon"),
        spanish_phonetic(fn1).alias("fn_phon"),
        parts.alias("fn_parts"),
        parts.list.first().alias("fn_head"),
        parts.list.len().cast(pl.Int32).alias("fn_nparts"),
        all_groups.alias("fn_groups_all"),
        null_if_blank(parts.list.slice(1).list.join(" ")).alias("fn_rest"),
        pl.col("fn_text").str.slice(0, 1).alias("fn_initial"),
        (pl.col("fn_text").str.split(" ").list.get(1, null_on_oob=True).str.len_chars() == 1)
        .fill_null(False).alias("fn2_short"),
    ]


def either_sex(groups: pl.Expr) -> pl.Expr:
    """The name may be a boy's or a girl's: its equivalence groups hold a name ending in A
    and one that does not (ALEX: ALEJANDRO and ALEJANDRA; CHRIS: CHRISTOPHER and CHRISTINA).
    A rough rule (GUADALUPE and ISABEL end otherwise) used only to doubt a nickname."""
    return groups.list.eval(pl.element().str.ends_with("A")).list.n_unique() > 1


def _known_given_name(word: pl.Expr) -> pl.Expr:
    """The word is a given name or nickname we know (a surname field holds one after a swap)."""
    return word.is_in(list(given_name_vocabulary()))


@cache
def _surname_exprs() -> list[pl.Expr]:
    ln1, ln2 = split_surnames(pl.col("ln1_text"), pl.col("ln2_text"))
    return [ln1.alias("ln1"), ln2.alias("ln2"), compact(pl.col("ln1_text")).alias("ln_full")]


@cache
def _derived_groups() -> list[tuple[list[str], list[pl.Expr]]]:
    """Surname keys and date parts, from the columns of the second step."""
    return [
        (["ln1"], [surname_core(pl.col("ln1")).alias("ln1_core"),
                   spanish_phonetic(pl.col("ln1")).alias("ln1_phon"),
                   _known_given_name(pl.col("ln1")).alias("ln1_known")]),
        (["ln2"], [spanish_phonetic(pl.col("ln2")).alias("ln2_phon"),
                   _known_given_name(pl.col("ln2")).alias("ln2_known")]),
        (["dob"], _date_exprs()),
        (["fn_text", "mn"], [_given_names_expr().alias("given_all"),
                             _second_initial_expr().alias("second_initial"),
                             _second_firm_expr().alias("second_firm")]),
    ]


def _second_firm_expr() -> pl.Expr:
    """The second given name (of the first name, else the middle name's first word) reads as
    a name, not as a typo: a name we know, or short (ANA/AVA, LEE/LEV: a letter changed in
    a short name makes another name). An unknown longer one (DUIS against LUIS) may be a
    typo."""
    second = pl.coalesce(
        _tokens_without_initials(pl.col("fn_text")).list.get(1, null_on_oob=True),
        pl.when(pl.col("mn").str.len_chars() > 1).then(pl.col("mn").str.split(" ").list.first()))
    return (_known_given_name(second) | (second.str.len_chars() < SECOND_TYPO_MIN_LENGTH)
            ).fill_null(False)


def _second_initial_expr() -> pl.Expr:
    """Initial of the second given name, abbreviated or not (JUAN J. -> J), else of the
    middle name."""
    second = pl.col("fn_text").str.split(" ").list.get(1, null_on_oob=True)
    return null_if_blank(pl.coalesce(second, pl.col("mn")).str.slice(0, 1))


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
