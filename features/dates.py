"""Birth-date normalisers: ISO `YYYY-MM-DD`, `YYYYMMDD`, `MM/DD/YYYY` (and `MMDDYYYY` by preset).

The normalised form is an 8-character `YYYYMMDD` string so that digit-level comparisons (one
digit off, day/month swap) work even on dates that are not valid calendar dates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import polars as pl

from features.text import null_if_blank

DATE_PATTERNS: dict[str, tuple[str, str, str, str]] = {
    # name: (regex, year group, month group, day group)
    "iso": (r"^(\d{4})-(\d{1,2})-(\d{1,2})$", "1", "2", "3"),
    "yyyymmdd": (r"^(\d{4})(\d{2})(\d{2})$", "1", "2", "3"),
    "mm/dd/yyyy": (r"^(\d{1,2})/(\d{1,2})/(\d{4})$", "3", "1", "2"),
    "mmddyyyy": (r"^(\d{2})(\d{2})(\d{4})$", "3", "1", "2"),
    "yyyy/mm/dd": (r"^(\d{4})/(\d{1,2})/(\d{1,2})$", "1", "2", "3"),
}
DEFAULT_DATE_FORMATS = ("iso", "yyyymmdd", "mm/dd/yyyy")


def _pad(expr: pl.Expr, width: int) -> pl.Expr:
    return expr.str.zfill(width)


OCR_DIGITS = {"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1",
              "Z": "2", "z": "2", "E": "3", "A": "4", "S": "5", "s": "5", "G": "6", "b": "6",
              "T": "7", "B": "8", "g": "9", "q": "9"}
"""Letters a scanner reads in place of digits."""


def repair_ocr_digits(raw: pl.Expr) -> pl.Expr:
    """'2005O9O7' -> '20050907': letters that OCR confuses with digits, in digit fields."""
    return raw.str.replace_many(list(OCR_DIGITS), list(OCR_DIGITS.values()))


def date_digits(raw: pl.Expr, formats: tuple[str, ...] = DEFAULT_DATE_FORMATS) -> pl.Expr:
    """'2014-03-11', '20140311' or '03/11/2014' -> '20140311'; other shapes -> null.

    Formats are tried in order; the first reading that is a real calendar day wins, else the
    first reading whose shape matched (so '19560431' keeps its digits for fuzzy comparison).
    All-zero dates ('0000-00-00', '00000000') are unknown and come out null.
    """
    text = null_if_blank(raw)
    text = pl.when(is_all_zero(text)).then(None).otherwise(text)
    readings = []
    for name in formats:
        pattern, y, m, d = DATE_PATTERNS[name]
        groups = text.str.extract_groups(pattern).struct  # one regex pass per format
        readings.append(_pad(groups.field(y), 4) + _pad(groups.field(m), 2)
                        + _pad(groups.field(d), 2))
    # each reading appears twice, not six times: the tree stays small for one-row queries
    first_real_day = pl.coalesce(*(r.str.to_date("%Y%m%d", strict=False) for r in readings))
    return pl.coalesce(first_real_day.dt.strftime("%Y%m%d"), *readings)


def is_all_zero(raw: pl.Expr) -> pl.Expr:
    """The date field holds only zeros and separators (the 'unknown' convention)."""
    return null_if_blank(raw).str.contains(r"^[0/\-]+$").fill_null(False)


def is_calendar_date(digits: pl.Expr) -> pl.Expr:
    """The YYYYMMDD digits name a real day."""
    return digits.str.to_date("%Y%m%d", strict=False).is_not_null()


def date_year(digits: pl.Expr) -> pl.Expr:
    return digits.str.slice(0, 4).cast(pl.Int32, strict=False)


def date_month(digits: pl.Expr) -> pl.Expr:
    return digits.str.slice(4, 2).cast(pl.Int32, strict=False)


def date_day(digits: pl.Expr) -> pl.Expr:
    return digits.str.slice(6, 2).cast(pl.Int32, strict=False)


def is_placeholder_date(digits: pl.Expr) -> pl.Expr:
    """January 1st or 1900-01-01: dates systems fill in when the real one is unknown.

    Agreement on such a date is weak evidence.
    """
    return (digits.str.slice(4, 4) == "0101") | (date_year(digits) <= 1900)


def is_absurd_birth_date(digits: pl.Expr, today: dt.date | None = None) -> pl.Expr:
    """Born before 1900 or in the future."""
    today = today or dt.date.today()
    as_date = digits.str.to_date("%Y%m%d", strict=False)
    return (date_year(digits) < 1900) | (as_date > pl.lit(today))


def month_day_key(digits: pl.Expr) -> pl.Expr:
    """Month and day in sorted order, so a day/month swap gives the same key ('0311' ~ '1103')."""
    m, d = digits.str.slice(4, 2), digits.str.slice(6, 2)
    return pl.when(m <= d).then(m + d).otherwise(d + m)


_DATE_CHARS = re.compile(r"[0-9/\-]*")
_ZERO_DATE = re.compile(r"[0/\-]+")


def date_digits_plain(formats: tuple[str, ...]
                      ) -> Callable[[tuple[Any, ...]], tuple[Any, ...] | None]:
    """`date_digits` (after the OCR repair, which changes no digit) of one value made of
    ASCII digits, '/' and '-' only, in Python (None for other values, and for values that
    more than one format reads, where which reading is a real day decides)."""
    patterns: list[tuple[re.Pattern[str], int, int, int]] = [
        (re.compile(pattern), int(y), int(m), int(d))
        for pattern, y, m, d in (DATE_PATTERNS[f] for f in formats)]

    def digits(value: tuple[Any, ...]) -> tuple[Any, ...] | None:
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
