"""Validity checks for the reference data files in features/data/."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

DATA = Path(__file__).resolve().parent.parent / "features" / "data"

FILES = {
    "given_names.csv": ["name", "group"],
    "countries.csv": ["spelling", "code"],
    "us_states.csv": ["spelling", "code"],
}

NAME_RE = re.compile(r"^[A-Z]+$")
SPELLING_RE = re.compile(r"^[A-Z0-9]+( [A-Z0-9]+)*$")
ALPHA3_RE = re.compile(r"^[A-Z]{3}$")
USPS_RE = re.compile(r"^[A-Z]{2}$")


def _read(name: str) -> pl.DataFrame:
    return pl.read_csv(DATA / name, infer_schema_length=0)


@pytest.fixture(scope="module")
def given_names() -> pl.DataFrame:
    return _read("given_names.csv")


@pytest.fixture(scope="module")
def name_groups(given_names: pl.DataFrame) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for name, group in given_names.iter_rows():
        groups.setdefault(name, set()).add(group)
    return groups


def _lookup(name: str) -> dict[str, str]:
    df = _read(name)
    return dict(zip(df["spelling"].to_list(), df["code"].to_list(), strict=True))


@pytest.mark.parametrize(("filename", "header"), FILES.items())
def test_parses_with_exact_header_and_no_duplicates(filename: str, header: list[str]) -> None:
    df = _read(filename)
    assert df.columns == header
    assert df.height > 0
    assert df.null_count().sum_horizontal().item() == 0
    assert not df.is_duplicated().any(), df.filter(df.is_duplicated())


@pytest.mark.parametrize("filename", ["countries.csv", "us_states.csv"])
def test_spellings_unique_and_folded(filename: str) -> None:
    df = _read(filename)
    bad = [s for s in df["spelling"] if not SPELLING_RE.match(s)]
    assert not bad, bad[:20]
    # one spelling must resolve to exactly one code
    assert df["spelling"].n_unique() == df.height


def test_given_names_uppercase_ascii(given_names: pl.DataFrame) -> None:
    for col in ("name", "group"):
        bad = [v for v in given_names[col] if not NAME_RE.match(v)]
        assert not bad, (col, bad[:20])


def test_given_names_sorted_by_group_then_name(given_names: pl.DataFrame) -> None:
    rows = given_names.rows()
    assert rows == sorted(rows, key=lambda r: (r[1], r[0]))


def test_every_group_names_itself(given_names: pl.DataFrame) -> None:
    pairs = set(given_names.iter_rows())
    missing = sorted(g for g in set(given_names["group"]) if (g, g) not in pairs)
    assert not missing, missing[:20]


def test_given_names_size(given_names: pl.DataFrame) -> None:
    assert given_names.height >= 600


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("LUPE", "GUADALUPE"),
        ("CHUY", "JESUS"),
        ("PEPE", "JOSE"),
        ("PACO", "FRANCISCO"),
        ("PANCHO", "FRANCISCO"),
        ("MEMO", "GUILLERMO"),
        ("WILLIAM", "GUILLERMO"),
        ("BETO", "ROBERTO"),
        ("BETO", "ALBERTO"),
        ("LALO", "EDUARDO"),
        ("MARY", "MARIA"),
        ("JESSE", "JESUS"),
        ("BILL", "WILLIAM"),
        ("TONO", "ANTONIO"),
        ("JAVIER", "XAVIER"),
    ],
)
def test_known_equivalent_pairs(name_groups: dict[str, set[str]], a: str, b: str) -> None:
    assert name_groups.get(a, set()) & name_groups.get(b, set()), (a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ANGEL", "ANGELA"),
        ("JUAN", "JUANA"),
        ("JESUS", "JESUSA"),
        ("DANIEL", "DANIELA"),
        ("JUAN", "PABLO"),
        ("CARLOS", "PABLO"),
        ("GABRIEL", "GABRIELA"),
        ("ALEJANDRO", "ALEJANDRA"),
        ("FRANCISCO", "FRANCISCA"),
        ("ANTONIO", "ANTONIA"),
        ("ROBERTO", "ALBERTO"),
    ],
)
def test_known_non_pairs(name_groups: dict[str, set[str]], a: str, b: str) -> None:
    assert a in name_groups
    assert b in name_groups
    assert not name_groups[a] & name_groups[b], (a, b, name_groups[a] & name_groups[b])


def test_country_lookups() -> None:
    countries = _lookup("countries.csv")
    assert all(ALPHA3_RE.match(c) for c in countries.values())
    for spelling in ("MEXICO", "MX", "MEX", "MEJICO", "ESTADOS UNIDOS MEXICANOS"):
        assert countries[spelling] == "MEX", spelling
    for spelling in ("UNITED STATES", "USA", "US", "EEUU", "ESTADOS UNIDOS"):
        assert countries[spelling] == "USA", spelling
    assert countries["GUATEMALA"] == countries["GT"] == "GTM"
    assert countries["EL SALVADOR"] == countries["SALVADOR"] == "SLV"
    assert countries["REPUBLICA DOMINICANA"] == "DOM"
    assert countries["VIET NAM"] == countries["VIETNAM"] == "VNM"


def test_state_lookups() -> None:
    states = _lookup("us_states.csv")
    assert all(USPS_RE.match(c) for c in states.values())
    for spelling in ("TEXAS", "TX", "TEJAS", "TEX"):
        assert states[spelling] == "TX", spelling
    assert states["CAROLINA DEL NORTE"] == states["N CAROLINA"] == "NC"
    assert states["NUEVO MEXICO"] == "NM"
    # every USPS code also maps to itself
    assert all(states.get(code) == code for code in set(states.values()))
    # 50 states + DC, besides territories, freely associated states and military codes
    others = {"PR", "GU", "VI", "AS", "MP", "FM", "MH", "PW", "AA", "AE", "AP"}
    assert len(set(states.values()) - others) == 51
