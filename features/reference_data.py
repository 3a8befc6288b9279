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
    """`name, group`: a given name or nickname and an equivalence group it belongs to.

    Our own Spanish and English table, joined with the public English nickname list of the
    `nicknames` package (each formal name is a group of itself and its nicknames). Where our
    curated table knows a name, it alone says which groups the name belongs to: the generic
    list would otherwise bridge ANGEL to ANGELA and ANGELICA.
    """
    ours = curated_name_groups()
    english = english_nickname_groups().join(ours.select("name").unique(), on="name",
                                              how="anti")
    return pl.concat([ours, english]).unique().sort("group", "name")


@cache
def wide_name_groups() -> pl.DataFrame:
    """`given_name_groups` with every relation of the generic English nickname list, even
    where our table knows the name (KRISTEN/CHRIS, ELEANOR/ELLEN, ANNA/HANNAH): looser
    evidence, kept apart from the curated groups."""
    return pl.concat([curated_name_groups(), english_nickname_groups()]).unique().sort(
        "group", "name")


@cache
def curated_name_groups() -> pl.DataFrame:
    """Our own table (`features/data/given_names.csv`): Spanish and English forms."""
    return _read("given_names.csv").select("name", "group").unique()


@cache
def english_nickname_groups() -> pl.DataFrame:
    """`name, group` rows from the `nicknames` package's `names.csv` (name1 has_nickname name2)."""
    path = resources.files("nicknames") / "names.csv"
    with resources.as_file(path) as real:
        frame = pl.read_csv(real, infer_schema=False)
    pairs = frame.filter(pl.col("relationship") == "has_nickname").select(
        pl.col("name2").str.to_uppercase().alias("name"),
        pl.col("name1").str.to_uppercase().alias("group"))
    selves = pairs.select(pl.col("group").alias("name"), pl.col("group")).unique()
    both = pl.concat([pairs, selves])
    return both.filter(pl.col("name").str.contains(r"^[A-Z]+$")
                       & pl.col("group").str.contains(r"^[A-Z]+$"))


@cache
def placeholder_name_pattern(given: bool = True) -> str:
    """One regex matching folded placeholder names. Given names: 'BABY GIRL', 'UNKNOWN',
    'SENORA', 'HIJO'; surnames only the missing-value markers ('UNKNOWN', 'LNU') and
    phrases no family is called ('OF THE HOUSE'), since words like SON, HOUSE and GOH are
    real surnames."""
    frame = _read("placeholder_names.csv")
    frame = frame.filter(pl.col("applies_to").is_in(["all", "given" if given else "surname"]))
    return "|".join(f"(?:{p})" for p in frame["pattern"].to_list())


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
