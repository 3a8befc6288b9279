"""Text normalisers: each takes a `pl.Expr` of raw strings and returns a `pl.Expr`.

The canonical folded form is uppercase ASCII letters and single spaces, missing stays missing
(an empty result becomes null, never "" — two blanks must not look like agreement).
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

_ACCENTED = "áéíóúñüÁÉÍÓÚÑÜàèìòùÀÈÌÒÙçÇâêîôûÂÊÎÔÛäëïöÄËÏÖ"


def _mojibake_table() -> dict[str, str]:
    """UTF-8 bytes read as Latin-1 or Windows-1252 ("JosÃ©") mapped back to the letter."""
    table: dict[str, str] = {}
    for ch in _ACCENTED:
        raw = ch.encode("utf-8")
        for codec in ("latin-1", "cp1252"):
            try:
                table[raw.decode(codec)] = ch
            except UnicodeDecodeError:
                continue
    return table


MOJIBAKE = _mojibake_table()


def fix_mojibake(expr: pl.Expr) -> pl.Expr:
    """Repair the common double-encoded accents: 'JosÃ©' -> 'José', 'PeÃ±a' -> 'Peña'."""
    return expr.str.replace_many(list(MOJIBAKE), list(MOJIBAKE.values()))


def fold_accents(expr: pl.Expr) -> pl.Expr:
    """Strip diacritics: 'José Peña' -> 'Jose Pena'."""
    return expr.str.normalize("NFKD").str.replace_all(r"\p{Mn}", "")


def null_if_blank(expr: pl.Expr) -> pl.Expr:
    """Empty or whitespace-only strings become null."""
    stripped = expr.str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped).otherwise(None)


def fold_text(expr: pl.Expr) -> pl.Expr:
    """Full folding: mojibake, accents, case, punctuation and whitespace.

    '  josÃ© luis  ' -> 'JOSE LUIS'; "O'Brien-Smith" -> 'O BRIEN SMITH' is avoided for
    apostrophes, which are dropped ('OBRIEN SMITH').
    """
    folded = fold_accents(fix_mojibake(expr)).str.to_uppercase()
    folded = folded.str.replace_all(r"['’`]", "")
    folded = folded.str.replace_all(r"[^A-Z]+", " ")
    return null_if_blank(folded)


def fold_code(expr: pl.Expr) -> pl.Expr:
    """Folding for codes and identifiers: uppercase letters and digits only
    ('TX-12 34' -> 'TX1234')."""
    folded = fold_accents(fix_mojibake(expr)).str.to_uppercase()
    return null_if_blank(folded.str.replace_all(r"[^A-Z0-9]+", ""))


def fold_words(expr: pl.Expr) -> pl.Expr:
    """Like fold_text but keeps digits (addresses: '12 Main St.' -> '12 MAIN ST')."""
    folded = fold_accents(fix_mojibake(expr)).str.to_uppercase()
    folded = folded.str.replace_all(r"['’`]", "").str.replace_all(r"[^A-Z0-9]+", " ")
    return null_if_blank(folded)


def compact(expr: pl.Expr) -> pl.Expr:
    """Remove spaces from folded text ('JUAN CARLOS' -> 'JUANCARLOS')."""
    return null_if_blank(expr.str.replace_all(" ", ""))


def tokens(expr: pl.Expr) -> pl.Expr:
    """Split folded text into a list of words (null stays null)."""
    return expr.str.split(" ")


def drop_placeholder_names(folded: pl.Expr, given: bool = True) -> pl.Expr:
    """Placeholder names systems write when the real one is unknown ('BABY GIRL', 'UNKNOWN',
    'NFN', 'SENORA', 'HIJO') are missing values, not names. Surnames (`given=False`) lose
    only the missing-value markers."""
    from features.reference_data import placeholder_name_pattern

    pattern = placeholder_name_pattern(given)
    return pl.when(folded.str.contains(pattern)).then(None).otherwise(folded)


_NOT_CODE = re.compile("[^A-Z0-9]+")


def fold_code_ascii(value: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """`fold_code` of one plain-ASCII value, in Python (None for other values): mojibake and
    accents cannot occur in ASCII, so only case and the non-alphanumerics remain.
    Identifiers are new in nearly every record, so a memo cannot spare their query."""
    text = value[0]
    if text is None:
        return (None,)
    if not text.isascii():
        return None
    return (_NOT_CODE.sub("", text.upper()) or None,)
