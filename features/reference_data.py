"""Loaders for the reference data kept as CSV files in `features/data/` (cached, read once)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl


def _read(name: str) -> pl.DataFrame:
    path = resources.files("features") / "data" / name
    with resources.as_file(path) as real:
        return pl.read_csv(real, infer_schema=False)


@cache
def given_name_groups() -> pl.DataFrame:
    """`name, group`: a given name or nickname and an equivalence group it belongs to."""
    return _read("given_names.csv").select("name", "group").unique()


@cache
def name_abbreviations() -> dict[str, str]:
    """Abbreviated given names ('MA' -> 'MARIA', 'FCO' -> 'FRANCISCO')."""
    frame = _read("name_abbreviations.csv")
    return dict(zip(frame["abbreviation"], frame["name"], strict=True))


@cache
def country_codes() -> dict[str, str]:
    """Folded country spelling -> ISO 3166-1 alpha-3."""
    frame = _read("countries.csv")
    return dict(zip(frame["spelling"], frame["code"], strict=True))


@cache
def us_state_codes() -> dict[str, str]:
    """Folded US state spelling -> USPS code."""
    frame = _read("us_states.csv")
    return dict(zip(frame["spelling"], frame["code"], strict=True))
