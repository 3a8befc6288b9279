"""Tests of the synthetic migrant-student generator (benchmarks.synthetic)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from benchmarks import synthetic
from benchmarks import synthetic_names as names
from benchmarks.synthetic import COLUMNS, ERROR_RATES, generate, generate_detailed, write

N = 5_000


@pytest.fixture(scope="module")
def small() -> synthetic.Synthetic:
    """5,000 records, seed 11."""
    return generate_detailed(N, seed=11)


@pytest.fixture(scope="module")
def medium() -> synthetic.Synthetic:
    """20,000 records, seed 5: enough for the rare error kinds and stable rates."""
    return generate_detailed(20_000, seed=5)


def _joined(data: synthetic.Synthetic) -> pl.DataFrame:
    return data.records.join(data.truth, on="record_id", how="inner")


def _true_pairs(data: synthetic.Synthetic) -> pl.DataFrame:
    """Every pair of records of one child, once, with _l/_r suffixes."""
    both = _joined(data)
    left = both.select(pl.all().name.suffix("_l"))
    right = both.select(pl.all().name.suffix("_r"))
    return left.join(right, left_on="child_id_l", right_on="child_id_r").filter(
        pl.col("record_id_l") < pl.col("record_id_r")
    )


def _fold(column: str) -> pl.Expr:
    """Upper-case ASCII letters only (for checks that should ignore accents and case)."""
    return (
        pl.col(column).str.normalize("NFKD").str.to_uppercase().str.replace_all(r"[^A-Z]", "")
    )


def _iso_birth(column: str) -> pl.Expr:
    """A raw birth date in any of the three formats as YYYYMMDD."""
    x = pl.col(column)
    return (
        pl.when(x.str.contains("/", literal=True))
        .then(x.str.slice(6, 4) + x.str.slice(0, 2) + x.str.slice(3, 2))
        .otherwise(x.str.replace_all("-", "", literal=True))
    )


# --- Determinism and schema --------------------------------------------------------------------


def test_same_seed_gives_identical_frames() -> None:
    a_records, a_truth = generate(2_000, seed=3)
    b_records, b_truth = generate(2_000, seed=3)
    assert a_records.equals(b_records)
    assert a_truth.equals(b_truth)


def test_different_seeds_give_different_frames() -> None:
    a_records, _ = generate(2_000, seed=3)
    b_records, _ = generate(2_000, seed=4)
    assert not a_records.equals(b_records)


def test_exact_record_count() -> None:
    for n in (1, 17, 999):
        records, truth = generate(n, seed=1)
        assert records.height == truth.height == n


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="'n_records' must be a positive integer; got 0"):
        generate(0)
    with pytest.raises(ValueError, match="'seed' must be a non-negative integer; got -1"):
        generate(10, seed=-1)


def test_columns_are_the_canonical_record(small: synthetic.Synthetic) -> None:
    assert tuple(small.records.columns) == COLUMNS
    schema = pytest.importorskip("matcher.schema")
    assert tuple(schema.CANONICAL_COLUMNS) == COLUMNS
    assert all(dtype == pl.String for dtype in small.records.dtypes)
    assert small.truth.columns == ["record_id", "child_id", "family_id", "birth_group_id"]
    assert all(dtype == pl.String for dtype in small.truth.dtypes)


def test_missing_is_null_never_empty(small: synthetic.Synthetic) -> None:
    for frame in (small.records, small.truth):
        empties = frame.select(
            (pl.col(c).str.strip_chars() == "").sum().alias(c) for c in frame.columns
        ).row(0, named=True)
        assert all(v == 0 for v in empties.values()), empties


def test_required_fields_and_ids(small: synthetic.Synthetic) -> None:
    records = small.records
    assert records["record_id"].n_unique() == records.height
    for column in ("record_id", "state", "source_system", "first_name", "last_name_1",
                   "enrollment_date"):
        assert records[column].null_count() == 0, column
    assert records.select(
        pl.col("record_id").str.starts_with(pl.col("state") + "-").all()
    ).item()
    assert set(records["state"]) <= set(synthetic.STATE_SYSTEM)
    pairs = records.select("state", "source_system").unique().rows()
    assert all(synthetic.STATE_SYSTEM[state] == system for state, system in pairs)
    assert set(records["sex"].drop_nulls()) == {"M", "F", "U"}
    assert set(records["multiple_birth_flag"].drop_nulls()) == {"Y", "N"}
    assert records["local_student_id"].drop_nulls().str.len_chars().max() <= 15  # type: ignore[operator]
    assert records["grade"].drop_nulls().str.len_chars().max() <= 4  # type: ignore[operator]


def test_dates(small: synthetic.Synthetic) -> None:
    records = small.records
    enroll = records["enrollment_date"]
    assert enroll.str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert enroll.min() >= "2019-08-01"  # type: ignore[operator]
    assert enroll.max() <= "2025-06-30"  # type: ignore[operator]
    birth = records["birth_date"].drop_nulls()
    iso = birth.str.contains(r"^\d{4}-\d{2}-\d{2}$")
    compact = birth.str.contains(r"^\d{8}$")
    us = birth.str.contains(r"^\d{2}/\d{2}/\d{4}$")
    assert (iso | compact | us).all()
    assert iso.mean() > 0.5  # type: ignore[operator]
    assert compact.any() and us.any()
    formats = records.group_by("source_system").agg(
        pl.col("birth_date").drop_nulls().str.len_chars().n_unique().alias("lengths")
    )
    assert formats["lengths"].max() == 1  # one format per system


def test_truth_covers_every_record(small: synthetic.Synthetic) -> None:
    truth = small.truth
    assert truth["record_id"].n_unique() == truth.height
    assert set(truth["record_id"]) == set(small.records["record_id"])
    assert truth["child_id"].null_count() == 0
    assert truth["family_id"].null_count() == 0
    # A child belongs to one family and one birth.
    per_child = truth.group_by("child_id").agg(
        pl.col("family_id").n_unique(), pl.col("birth_group_id").n_unique()
    )
    assert per_child["family_id"].max() == 1
    assert per_child["birth_group_id"].max() == 1


# --- Population ---------------------------------------------------------------------------------


def test_records_per_child(medium: synthetic.Synthetic) -> None:
    per_child = medium.truth.group_by("child_id").len()["len"]
    assert per_child.min() == 1
    assert per_child.max() == 4
    assert 1.7 < per_child.mean() < 2.3  # type: ignore[operator]


def test_multiple_births(medium: synthetic.Synthetic) -> None:
    both = _joined(medium).filter(pl.col("birth_group_id").is_not_null())
    children = both.select("birth_group_id", "child_id", "family_id").unique()
    groups = children.group_by("birth_group_id").agg(
        pl.col("child_id").n_unique().alias("children"), pl.col("family_id").n_unique()
    )
    multi = groups.filter(pl.col("children") >= 2)
    assert multi.height >= 50
    assert multi["family_id"].max() == 1
    # Different children of one birth: same birth date, different first names.
    left = both.select(pl.all().name.suffix("_l"))
    right = both.select(pl.all().name.suffix("_r"))
    twins = left.join(right, left_on="birth_group_id_l", right_on="birth_group_id_r").filter(
        pl.col("child_id_l") < pl.col("child_id_r")
    )
    same_birth = (_iso_birth("birth_date_l") == _iso_birth("birth_date_r")).fill_null(False)
    other_name = (_fold("first_name_l") != _fold("first_name_r")).fill_null(False)
    assert twins.select(same_birth.mean()).item() > 0.8
    assert twins.select(other_name.mean()).item() > 0.8
    # Confusable sets are used, and the flag is Y on some of their records only.
    firsts = set(both.select(_fold("first_name"))["first_name"])
    assert {"JUANCARLOS", "JUANPABLO"} <= firsts or {"ANGEL", "ANGELA"} <= firsts
    flag = both["multiple_birth_flag"]
    assert 0.2 < (flag == "Y").mean() < 0.8  # type: ignore[operator]
    share = medium.truth["birth_group_id"].is_not_null().mean()
    assert 0.02 < share < 0.10  # type: ignore[operator]


def test_moves_between_states(medium: synthetic.Synthetic) -> None:
    both = _joined(medium)
    per_child = both.group_by("child_id").agg(
        pl.col("state").n_unique().alias("states"), pl.len().alias("records"),
        pl.col("state").unique().alias("set"),
    )
    assert (per_child["states"] > 1).sum() > 1_000
    sets = [set(s) for s in per_child.filter(pl.col("states") > 1)["set"].to_list()]
    streams = synthetic.STREAMS
    for home, receivers in streams.items():
        assert any(home in s and s & set(receivers) for s in sets), home
    # Twice in one state: new record ids, and sometimes a new local id.
    again = both.group_by("child_id", "state").agg(
        pl.len().alias("n"), pl.col("local_student_id").drop_nulls().n_unique().alias("ids")
    ).filter(pl.col("n") >= 2)
    assert again.height > 100
    assert (again["ids"] == 1).sum() > (again["ids"] > 1).sum() > 0
    # Across states a child's local ids differ.
    across = both.drop_nulls("local_student_id").group_by("child_id").agg(
        pl.col("state").n_unique().alias("states"),
        pl.col("local_student_id").n_unique().alias("ids"),
    )
    assert (across["ids"] >= across["states"]).all()


def test_common_names_are_shared_by_many_children(medium: synthetic.Synthetic) -> None:
    both = _joined(medium).with_columns(_fold("first_name"), _fold("last_name_1"))
    per_name = both.group_by("first_name", "last_name_1").agg(pl.col("child_id").n_unique())
    assert per_name["child_id"].max() >= 15  # type: ignore[operator]
    top_surnames = both.group_by("last_name_1").len().sort("len", descending=True).head(5)
    assert "HERNANDEZ" in set(top_surnames["last_name_1"])


# --- Difficulty ---------------------------------------------------------------------------------


def test_exact_key_recall_is_under_half(medium: synthetic.Synthetic) -> None:
    pairs = _true_pairs(medium)
    assert pairs.height > 10_000
    key = ("first_name", "last_name_1", "birth_date")
    exact = pairs.select(
        pl.all_horizontal((pl.col(f"{k}_l") == pl.col(f"{k}_r")).fill_null(False) for k in key)
        .mean()
    ).item()
    assert 0.30 < exact < 0.50


def test_true_pairs_still_share_most_evidence(medium: synthetic.Synthetic) -> None:
    pairs = _true_pairs(medium)
    folded = ("first_name", "last_name_1", "last_name_2", "parent1_first_name",
              "parent2_first_name", "birth_city")
    agree = pl.sum_horizontal(
        *[(_fold(f"{f}_l") == _fold(f"{f}_r")).fill_null(False).cast(pl.Int32) for f in folded],
        (_iso_birth("birth_date_l") == _iso_birth("birth_date_r")).fill_null(False)
        .cast(pl.Int32),
        (pl.col("sex_l") == pl.col("sex_r")).fill_null(False).cast(pl.Int32),
    )
    core = pl.sum_horizontal(
        (_fold("first_name_l") == _fold("first_name_r")).fill_null(False).cast(pl.Int32),
        (_fold("last_name_1_l") == _fold("last_name_1_r")).fill_null(False).cast(pl.Int32),
        (_iso_birth("birth_date_l") == _iso_birth("birth_date_r")).fill_null(False)
        .cast(pl.Int32),
    )
    scored = pairs.select(agree.alias("agree"), core.alias("core"))
    assert scored["agree"].median() >= 5  # type: ignore[operator]
    assert (scored["core"] == 3).mean() > 0.5  # type: ignore[operator]
    hopeless = ((scored["core"] == 0) & (scored["agree"] <= 2)).mean()
    assert 0.003 < hopeless < 0.03  # type: ignore[operator]


# --- Error kinds ---------------------------------------------------------------------------------


def test_every_rate_is_documented() -> None:
    doc = synthetic.__doc__ or ""
    rates = {**ERROR_RATES, **synthetic.POPULATION_RATES}
    for kind, rate in rates.items():
        assert re.search(rf"^\| `{kind}` \| {rate:g} \|", doc, flags=re.M), kind
        assert 0.0 < rate < 1.0
        assert getattr(synthetic, f"P_{kind.upper()}") == rate
    rows = re.findall(r"^\| `(\w+)` \|", doc, flags=re.M)
    assert sorted(rows) == sorted(rates)
    constants = {k for k in vars(synthetic) if k.startswith("P_") and k != "P_MIDDLE_NAME"}
    assert constants == {f"P_{k.upper()}" for k in rates}


def test_every_error_kind_occurs(medium: synthetic.Synthetic) -> None:
    assert set(medium.error_counts) == set(ERROR_RATES)
    never = [k for k, n in medium.error_counts.items() if n == 0]
    assert never == []


def test_error_rates_are_near_their_constants(medium: synthetic.Synthetic) -> None:
    n = medium.records.height
    counts = medium.error_counts
    for kind in ("first_last_swapped", "birth_date_missing", "sex_missing", "parent1_missing",
                 "birth_city_missing", "local_id_missing", "chaotic_record"):
        assert 0.5 * ERROR_RATES[kind] < counts[kind] / n < 2.0 * ERROR_RATES[kind], kind


def test_errors_are_visible_in_the_data(small: synthetic.Synthetic) -> None:
    r = small.records
    text = pl.concat_str(
        [pl.col(c).fill_null("") for c in ("first_name", "middle_name", "last_name_1",
                                           "last_name_2")],
        separator="|",
    )
    names_ = r.select(text.alias("t"))["t"]

    def seen(pattern: str) -> bool:
        return bool(names_.str.contains(pattern).any())

    assert seen("Ã")  # mojibake
    assert seen("[áéíóúñ]|[ÁÉÍÓÚÑ]") and seen("(?i)jose\\b")  # accents kept and dropped
    assert seen(r"(?i)\b(lupe|chuy|pepe|paco|pancho|memo|beto|lalo|nacho|kike|chayo)\b")
    assert seen(r"(?i)\bma\.? ") or seen(r"(?i)\bj\. ")  # abbreviated compounds
    assert seen(r"\b[A-Z][a-z]+-[A-Z][a-z]+\b") or seen(r"\b[A-Z]+-[A-Z]+\b")  # hyphenated
    assert seen(r"(?i)\bdel?(a|os)?(cruz|santos|le[oó]n|r[ií]o|jes[uú]s|[aá]ngel)\b")  # particles
    assert seen(r"^[a-z]")  # lower-case noise
    birth = r["birth_date"].drop_nulls()
    assert birth.is_in(["00000000", "0000-00-00", "00/00/0000"]).any()
    assert birth.is_in(["1900-01-01", "19000101", "01/01/1900"]).any()
    countries = set(r["birth_country"].drop_nulls().str.to_uppercase())
    assert {"MEXICO", "MX", "MEX"} <= countries
    assert countries & {"MÉXICO", "MÉX", "MÉX."}
    assert r["sex"].null_count() > 0
    assert r["parent1_first_name"].null_count() > 0
    assert r["local_student_id"].null_count() > 0


# --- Names data --------------------------------------------------------------------------------


def test_name_lists_are_consistent() -> None:
    children = set(names.MX_MALE) | set(names.MX_FEMALE)
    assert {n for group in names.TWIN_NAME_SETS for n, _ in group} <= children
    lists = (names.GT_MALE, names.GT_FEMALE, names.EN_MALE, names.EN_FEMALE, names.HT_MALE,
             names.HT_FEMALE, names.VN_MALE, names.VN_FEMALE)
    every = children.union(*lists)
    assert names.MODERN_GIVEN_NAMES.issubset(every)
    for spellings in names.COUNTRY_SPELLINGS.values():
        assert abs(sum(p for _, p in spellings) - 1.0) < 1e-9
    assert len(names.MX_SURNAMES) >= 200


# --- Output --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_round_trips(tmp_path: Path, fmt: str) -> None:
    paths = write(tmp_path, 300, seed=2, fmt=fmt)
    assert set(paths) == {"records", "truth"}
    assert paths["records"].name == f"records.{fmt}"
    assert paths["truth"].name == "truth.csv"
    expected_records, expected_truth = generate(300, seed=2)
    if fmt == "csv":
        records = pl.read_csv(paths["records"], infer_schema=False)
    else:
        records = pl.read_parquet(paths["records"])
    truth = pl.read_csv(paths["truth"], infer_schema=False)
    assert records.equals(expected_records)
    assert truth.equals(expected_truth)


def test_write_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'fmt' must be 'csv' or 'parquet'; got 'json'"):
        write(tmp_path, 10, fmt="json")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = synthetic.main(["--records", "200", "--seed", "9", "--out", str(tmp_path),
                           "--format", "parquet"])
    assert code == 0
    assert (tmp_path / "records.parquet").exists()
    assert (tmp_path / "truth.csv").exists()
    assert "records.parquet" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        synthetic.main(["--records", "0", "--out", str(tmp_path)])
    assert "must be an integer >= 1; got '0'" in capsys.readouterr().err
