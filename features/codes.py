"""Normalisers for coded fields: sex, yes/no flags, countries and US states."""

from __future__ import annotations

import polars as pl

from features.reference_data import country_codes, us_state_codes
from features.text import fold_text

SEX_CODES = {
    "M": "M", "MALE": "M", "MASCULINO": "M", "MASC": "M", "H": "M", "HOMBRE": "M", "BOY": "M",
    "1": "M", "F": "F", "FEMALE": "F", "FEMENINO": "F", "FEM": "F", "MUJER": "F", "GIRL": "F",
    "2": "F", "X": "X", "NONBINARY": "X", "NON BINARY": "X", "NB": "X",
}
YES_NO = {"Y": "Y", "YES": "Y", "SI": "Y", "S": "Y", "1": "Y", "TRUE": "Y", "T": "Y",
          "TWIN": "Y", "TRIPLET": "Y", "N": "N", "NO": "N", "0": "N", "FALSE": "N", "F": "N"}


def _coded(raw: pl.Expr, table: dict[str, str]) -> pl.Expr:
    folded = raw.str.strip_chars().str.to_uppercase()
    folded = pl.when(folded.str.contains(r"^\d$")).then(folded).otherwise(fold_text(raw))
    return folded.replace_strict(table, default=None, return_dtype=pl.String)


def normalise_sex(raw: pl.Expr) -> pl.Expr:
    """'Male', 'm', 'Masculino', 'H' -> 'M'; unknown spellings and 'U' -> null."""
    return _coded(raw, SEX_CODES)


def normalise_flag(raw: pl.Expr) -> pl.Expr:
    """Yes/no spellings -> 'Y' / 'N'; anything else -> null."""
    return _coded(raw, YES_NO)


def normalise_country(raw: pl.Expr) -> pl.Expr:
    """'Mexico', 'MX', 'MEX', 'México' -> 'MEX'; an unknown spelling stays as folded text."""
    folded = fold_text(raw)
    return folded.replace_strict(country_codes(), default=folded, return_dtype=pl.String)


def normalise_us_state(raw: pl.Expr) -> pl.Expr:
    """'Texas', 'TX', 'Tejas' -> 'TX'; an unknown spelling stays as folded text."""
    folded = fold_text(raw)
    return folded.replace_strict(us_state_codes(), default=folded, return_dtype=pl.String)
