"""Turn canonical records into the normalised feature frame that blocking and comparisons read.

`prepare` is the one place where normalisation happens; comparisons only read its columns.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from features.codes import normalise_country, normalise_flag, normalise_sex, normalise_us_state
from features.dates import (
    DEFAULT_DATE_FORMATS,
    date_digits,
    repair_ocr_digits,
    date_day,
    date_month,
    date_year,
    is_placeholder_date,
    month_day_key,
)
from features.names import (
    expand_abbreviations,
    fused_name_splits,
    given_name_vocabulary,
    join_particles,
    name_groups,
    name_representative,
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


def _name_text(raw: pl.Expr) -> pl.Expr:
    return drop_placeholder_names(fold_text(raw))


def _split_fused(frame: pl.DataFrame, column: str) -> pl.Expr:
    """Split fused compounds ('JUANCARLOS') using the vocabulary plus the data's own names."""
    words = frame.select(pl.col(column).str.split(" ").explode().drop_nulls().unique())
    vocabulary = given_name_vocabulary()
    table = fused_name_splits(words.to_series().to_list(), vocabulary)
    if not table:
        return pl.col(column)
    return pl.col(column).str.split(" ").list.eval(pl.element().replace(table)).list.join(" ")


def _tokens_without_initials(text: pl.Expr) -> pl.Expr:
    return text.str.split(" ").list.eval(pl.element().filter(pl.element().str.len_chars() > 1))


def prepare(records: pl.DataFrame, extra_fields: list[str] | None = None,
            date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS,
            ocr_digits: bool = False) -> pl.DataFrame:
    """Normalised features for every record, one row per input row, in the same order.

    `records` holds canonical string columns (missing ones are treated as null) and optionally
    `source` (input file index). `extra_fields` are preset evidence fields (addresses,
    postcodes, identifiers) folded as words.
    """
    extra = tuple(extra_fields or ())
    present = set(records.columns)
    base = records.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in (*CORE_FIELDS, *extra)
        if c not in present)
    if "source" not in present:
        base = base.with_columns(pl.lit(0, dtype=pl.Int32).alias("source"))
    step1 = base.select(_field_exprs(extra, tuple(date_formats), ocr_digits))
    step2 = step1.with_columns(_split_fused(step1, "fn_text").alias("fn_text"))
    out = step2.with_columns(_name_exprs()).with_columns(_derived_exprs()).with_columns(
        _pair_key_expr())
    return out.drop("ln1_text", "ln2_text", "lsid_raw", "fn_text")


@cache
def _field_exprs(extra_fields: tuple[str, ...], date_formats: tuple[str, ...],
                 ocr_digits: bool) -> list[pl.Expr]:
    """Per-field normalisation (built once: the lookup tables make these costly to build)."""
    return [
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("idx"),
        pl.col("record_id"),
        pl.col("source").cast(pl.Int32),
        fold_code(pl.col("state")).alias("state"),
        _given_name_text(pl.col("first_name")).alias("fn_text"),
        _name_text(pl.col("middle_name")).alias("mn"),
        join_particles(_name_text(pl.col("last_name_1"))).alias("ln1_text"),
        join_particles(_name_text(pl.col("last_name_2"))).alias("ln2_text"),
        normalise_sex(pl.col("sex")).alias("sex"),
        date_digits(repair_ocr_digits(pl.col("birth_date")) if ocr_digits
                    else pl.col("birth_date"), date_formats).alias("dob"),
        normalise_flag(pl.col("multiple_birth_flag")).alias("mbf"),
        fold_text(pl.col("birth_city")).alias("bcity"),
        normalise_us_state(pl.col("birth_state")).alias("bstate"),
        normalise_country(pl.col("birth_country")).alias("bcountry"),
        name_representative(fold_text(pl.col("parent1_first_name")).str.split(" ").list.first()
                            ).alias("p1fn"),
        compact(join_particles(fold_text(pl.col("parent1_last_name")))).alias("p1ln"),
        name_representative(fold_text(pl.col("parent2_first_name")).str.split(" ").list.first()
                            ).alias("p2fn"),
        compact(join_particles(fold_text(pl.col("parent2_last_name")))).alias("p2ln"),
        fold_code(pl.col("local_student_id")).alias("lsid_raw"),
        *[fold_words(pl.col(c)).alias(f"x_{c}") for c in extra_fields],
    ]


@cache
def _name_exprs() -> list[pl.Expr]:
    ln1, ln2 = split_surnames(pl.col("ln1_text"), pl.col("ln2_text"))
    fn1 = pl.col("fn_text").str.split(" ").list.first()
    return [
        compact(pl.col("fn_text")).alias("fn"),
        fn1.alias("fn1"),
        name_groups(fn1).alias("fn1_groups"),
        name_representative(fn1).alias("fn_canon"),
        spanish_phonetic(fn1).alias("fn_phon"),
        _tokens_without_initials(pl.col("fn_text"))
        .list.eval(pl.element().replace_strict(
            _representatives(), default=pl.element(), return_dtype=pl.String))
        .alias("fn_parts"),
        pl.col("mn").str.slice(0, 1).alias("mn_initial"),
        pl.col("fn_text").str.slice(0, 1).alias("fn_initial"),
        ln1.alias("ln1"),
        ln2.alias("ln2"),
    ]


@cache
def _derived_exprs() -> list[pl.Expr]:
    return [
        surname_core(pl.col("ln1")).alias("ln1_core"),
        pl.col("fn_parts").list.first().alias("fn_head"),
        pl.col("fn_parts").list.len().cast(pl.Int32).alias("fn_nparts"),
        spanish_phonetic(pl.col("ln1")).alias("ln1_phon"),
        spanish_phonetic(pl.col("ln2")).alias("ln2_phon"),
        date_year(pl.col("dob")).alias("dob_y"),
        date_month(pl.col("dob")).alias("dob_m"),
        date_day(pl.col("dob")).alias("dob_d"),
        is_placeholder_date(pl.col("dob")).alias("dob_weak"),
        month_day_key(pl.col("dob")).alias("dob_md"),
        null_if_blank(pl.col("state") + ":" + pl.col("lsid_raw")).alias("lsid"),
    ]


def _pair_key_expr() -> pl.Expr:
    """Given and paternal surname sounds in sorted order: a first/last swap keeps the key."""
    return (pl.when(pl.col("fn_phon") <= pl.col("ln1_phon"))
            .then(pl.col("fn_phon") + "|" + pl.col("ln1_phon"))
            .otherwise(pl.col("ln1_phon") + "|" + pl.col("fn_phon")).alias("name_pair"))


@cache
def _representatives() -> dict[str, str]:
    from features.names import nickname_group_table

    return {name: groups.split("|")[0] for name, groups in nickname_group_table().items()}
