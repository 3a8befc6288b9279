"""Benchmark data sets: FEBRL truth, pseudopeople rebuild, synthetic truth, peer preparation."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from benchmarks import metrics as m
from benchmarks.datasets import (
    DATASETS,
    HELD_OUT_SEEDS,
    PSEUDOPEOPLE_TASKS,
    Dataset,
    DatasetError,
    febrl_dir,
    febrl_entity,
    febrl_truth,
    prepare,
    read_febrl,
    synthetic_truth,
    write_truth,
)
from benchmarks.tools.peer_configs import PEER_CONFIGS
from benchmarks.tools.prep import clean_text, parse_dob, prepare_frame
from benchmarks.tools.splink_tool import usable_config


@pytest.mark.parametrize(
    ("rec_id", "entity"),
    [
        ("rec-1070-org", "1070"),
        ("rec-552-dup-3", "552"),
        ("rec-0-dup-0", "0"),
        (" rec-4405-org", "4405"),
    ],
)
def test_febrl_entity(rec_id: str, entity: str) -> None:
    assert febrl_entity(rec_id) == entity


@pytest.mark.parametrize("rec_id", ["rec-12", "rec-x-org", "rec-1-dup", "1070", ""])
def test_febrl_entity_rejects_other_ids(rec_id: str) -> None:
    with pytest.raises(DatasetError, match="rec_id"):
        febrl_entity(rec_id)


def test_read_febrl_strips_padding() -> None:
    frame = read_febrl(febrl_dir() / "dataset4a.csv")
    assert frame.columns[:3] == ["rec_id", "given_name", "surname"]
    assert frame["rec_id"][0] == "rec-1070-org"
    assert frame["given_name"][0] == "michaela"


def test_febrl4_truth() -> None:
    truth = febrl_truth([febrl_dir() / "dataset4a.csv", febrl_dir() / "dataset4b.csv"])
    assert truth.height == 10_000
    assert truth["entity_id"].n_unique() == 5_000
    assert truth.group_by("source").len().sort("source")["len"].to_list() == [5_000, 5_000]
    assert m.true_pair_count(truth, link_only=True) == 5_000


def test_febrl3_truth() -> None:
    truth = febrl_truth([febrl_dir() / "dataset3.csv"])
    assert truth.height == 5_000
    assert truth["entity_id"].n_unique() == 2_000


def test_prepare_caches(tmp_path: Path) -> None:
    first = prepare("febrl4", tmp_path)
    assert first.link_only and first.preset == "febrl" and first.n_records == 10_000
    assert Dataset.load(tmp_path / "febrl4" / "dataset.json") == first
    stamp = first.truth.stat().st_mtime_ns
    second = prepare("febrl4", tmp_path)
    assert second == first and second.truth.stat().st_mtime_ns == stamp
    entities = pl.read_csv(first.truth_entities, infer_schema=False)
    assert entities.columns == ["record_id", "entity_id"]


def test_prepare_rebuilds_a_cached_manifest_whose_inputs_are_gone(tmp_path: Path) -> None:
    first = prepare("febrl4", tmp_path)
    manifest = tmp_path / "febrl4" / "dataset.json"
    moved = tmp_path / "old-venv" / "dataset4a.csv"
    stale = Dataset.from_json({**first.to_json(), "inputs": [str(moved), str(first.inputs[1])]})
    stale.save(manifest.parent)
    again = prepare("febrl4", tmp_path)
    assert again.inputs == first.inputs and all(p.exists() for p in again.inputs)
    assert Dataset.load(manifest) == first


def test_prepare_rejects_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="dataset"):
        prepare("no_such_set", tmp_path)


def test_write_truth_rejects_duplicate_ids(tmp_path: Path) -> None:
    truth = pl.DataFrame({"record_id": ["a", "a"], "entity_id": ["1", "2"], "source": [0, 1]})
    with pytest.raises(DatasetError, match="unique"):
        write_truth(tmp_path, truth)


def test_synthetic_truth_uses_child_and_state() -> None:
    records = pl.DataFrame({"record_id": ["r1", "r2", "r3"], "state": ["TX", "MI", "TX"]})
    generated = pl.DataFrame(
        {
            "record_id": ["r1", "r2", "r3"],
            "child_id": ["C1", "C1", "C2"],
            "family_id": ["F1", "F1", "F1"],
            "birth_group_id": ["B1", "B1", None],
        }
    )
    truth = synthetic_truth(records, generated)
    assert truth.select("record_id", "entity_id", "state", "birth_group_id").rows() == [
        ("r1", "C1", "TX", "B1"),
        ("r2", "C1", "MI", "B1"),
        ("r3", "C2", "TX", None),
    ]
    assert truth["source"].to_list() == [0, 0, 0]


def test_registry_names_match() -> None:
    assert all(name == spec.name for name, spec in DATASETS.items())
    assert {"febrl3", "febrl4", "pp_census_wic", "pp_census_ssa", "pp_census_all"} <= set(DATASETS)
    assert {"synthetic_10k", "synthetic_300k", "synthetic_1m"} <= set(DATASETS)


def test_held_out_seeds_mirror_the_public_tasks() -> None:
    for seed in HELD_OUT_SEEDS:
        for task in PSEUDOPEOPLE_TASKS:
            held_out, public = DATASETS[f"{task}_seed{seed}"], DATASETS[task]
            assert f"held-out seed {seed}" in held_out.description
            assert held_out.approx_records == public.approx_records
        assert f"held-out seed {seed}" in DATASETS[f"synthetic_10k_seed{seed}"].description


def test_held_out_synthetic_set_draws_other_children(tmp_path: Path) -> None:
    from benchmarks.datasets import _synthetic_spec

    registry = {"s0": _synthetic_spec("s0", 400), "s1": _synthetic_spec("s1", 400, seed=1)}
    first, second = prepare("s0", tmp_path, registry), prepare("s1", tmp_path, registry)
    assert second.peer_config == first.peer_config == "synthetic"
    names = [set(pl.read_parquet(d.inputs[0])["first_name"].drop_nulls()) for d in (first, second)]
    assert names[0] != names[1]
    assert "seed 1" in second.description and "seed 0" in first.description


def test_sparse_synthetic_set_keeps_only_names_sex_and_birth_date(tmp_path: Path) -> None:
    from benchmarks.datasets import SPARSE_COLUMNS, _synthetic_spec

    registry = {"full": _synthetic_spec("full", 400, seed=1),
                "sparse": _synthetic_spec("sparse", 400, seed=1, keep_columns=SPARSE_COLUMNS)}
    full, sparse = prepare("full", tmp_path, registry), prepare("sparse", tmp_path, registry)
    records = [pl.read_parquet(d.inputs[0]) for d in (full, sparse)]
    assert records[1].columns == list(SPARSE_COLUMNS)
    assert records[1].equals(records[0].select(SPARSE_COLUMNS))  # the same children
    assert pl.read_parquet(sparse.truth).equals(pl.read_parquet(full.truth))


def test_held_out_suite_holds_febrl1_febrl2_and_the_sparse_set() -> None:
    from benchmarks.suites import get_suite

    held_out = set(get_suite("heldout").datasets())
    assert {"febrl1", "febrl2", "synthetic_10k_sparse"} <= held_out
    assert not {"febrl3", "febrl4", "synthetic_10k"} & held_out  # what settings were chosen on
    assert DATASETS["febrl2"].approx_records == 5_000
    # other layouts of pseudopeople's sample data (surveys, tax forms), seed 0
    assert {"pp_census_acs", "pp_census_cps", "pp_census_w2", "pp_census_1040"} <= held_out
    assert {"pp_census_wic", "pp_census_ssa", "pp_census_all"}.isdisjoint(held_out)


@pytest.mark.slow
def test_pseudopeople_held_out_seed_builds_without_the_hash_check(tmp_path: Path) -> None:
    pytest.importorskip("pseudopeople")
    from benchmarks.datasets import PSEUDOPEOPLE_HASHES, build_pseudopeople_public

    hashes = build_pseudopeople_public(tmp_path, seed=1)  # no hash to check: other noise
    assert set(hashes) == set(PSEUDOPEOPLE_HASHES)
    assert all(hashes[name][0] != PSEUDOPEOPLE_HASHES[name][1] for name in hashes)


@pytest.mark.slow
def test_pseudopeople_public_tasks_match_the_shared_hashes(tmp_path: Path) -> None:
    pytest.importorskip("pseudopeople")
    from benchmarks.datasets import PSEUDOPEOPLE_HASHES, build_pseudopeople_public

    hashes = build_pseudopeople_public(tmp_path)  # raises if any hash differs
    assert set(hashes) == set(PSEUDOPEOPLE_HASHES)
    ssa = pl.read_parquet(tmp_path / "ssa_2020.parquet")
    assert "ssn" not in ssa.columns and ssa["record_id"][0] == "ssa_000000"


@pytest.mark.slow
def test_pseudopeople_held_out_layouts_drop_every_ssn_column(tmp_path: Path) -> None:
    pytest.importorskip("pseudopeople")
    from benchmarks.datasets import HELD_OUT_PSEUDOPEOPLE_FILES, build_pseudopeople_public

    hashes = build_pseudopeople_public(tmp_path, files=HELD_OUT_PSEUDOPEOPLE_FILES)
    assert set(hashes) == set(HELD_OUT_PSEUDOPEOPLE_FILES)
    tax = pl.read_parquet(tmp_path / "tax_1040_2020.parquet")
    assert tax["record_id"][0] == "tax_000000"
    assert not [c for c in tax.columns if "ssn" in c or c in ("simulant_id", "household_id")]
    assert "spouse_first_name" in tax.columns  # the rest of the form is kept
    truth = pl.read_parquet(tmp_path / "truth" / "tax_1040_2020.parquet")
    assert truth["record_id"].to_list() == tax["record_id"].to_list()


# ----------------------------------------------------------------------------- peer preparation


@pytest.mark.parametrize(
    ("raw", "formats", "iso"),
    [
        ("20020309", ("%Y%m%d",), "2002-03-09"),
        ("03/11/2014", ("%m/%d/%Y", "%m%d%Y", "%Y%m%d"), "2014-03-11"),
        ("06142037", ("%m/%d/%Y", "%m%d%Y", "%Y%m%d"), "2037-06-14"),
        ("20020309", ("%m/%d/%Y", "%m%d%Y", "%Y%m%d"), "2002-03-09"),
        ("00000000", ("%Y%m%d",), None),
        ("19610231", ("%Y%m%d",), None),
        (None, ("%Y%m%d",), None),
    ],
)
def test_parse_dob(raw: str | None, formats: tuple[str, ...], iso: str | None) -> None:
    frame = pl.DataFrame({"d": [raw]}, schema={"d": pl.String})
    assert frame.select(parse_dob("d", formats))["dob"][0] == iso


def test_clean_text() -> None:
    frame = pl.DataFrame({"n": [" José ", "NUÑEZ", "", None]})
    assert frame.select(clean_text("n"))["n"].to_list() == ["jose", "nunez", None, None]


def test_prepare_frame_adds_dob_address_and_initial() -> None:
    dataset = Dataset(
        name="t", family="pseudopeople", link_only=True, inputs=(), truth=Path("x"),
        truth_entities=Path("y"), n_records=1,
    )
    frame = pl.DataFrame(
        {
            "record_id": ["s1"],
            "date_of_birth": ["20020309"],
            "middle_name": ["Maddi"],
            "street_number": ["12"],
            "street_name": ["Main St"],
            "unit_number": [None],
        },
        schema_overrides={"unit_number": pl.String},
    )
    out = prepare_frame(dataset, frame).row(0, named=True)
    assert (out["dob"], out["middle_initial"], out["address"]) == ("2002-03-09", "m", "12 main st")


def test_prepare_frame_reads_a_tax_forms_mailing_address() -> None:
    dataset = Dataset(
        name="t", family="pseudopeople", link_only=True, inputs=(), truth=Path("x"),
        truth_entities=Path("y"), n_records=1,
    )
    frame = pl.DataFrame({
        "record_id": ["w1"], "employer_street_name": ["Elm St"],
        "mailing_address_street_number": ["12"], "mailing_address_street_name": ["Main St"],
        "mailing_address_zipcode": ["98001"],
    })
    out = prepare_frame(dataset, frame).row(0, named=True)
    assert (out["address"], out["zipcode"], out["dob"]) == ("12 main st", "98001", None)


def test_peer_configs_use_existing_febrl_columns() -> None:
    columns = set(read_febrl(febrl_dir() / "dataset3.csv").columns) | {"dob"}
    _, notes = usable_config(PEER_CONFIGS["febrl"], columns)
    assert notes == []
    assert set(PEER_CONFIGS["febrl"].columns()) <= columns


def test_usable_config_drops_rules_over_missing_columns() -> None:
    config, notes = usable_config(PEER_CONFIGS["pp_census_ssa"], {"first_name", "last_name"})
    assert [c.column for c in config.comparisons] == ["first_name", "last_name"]
    assert ("first_name", "last_name") in config.blocking
    assert ("dob",) not in config.blocking
    assert any("dob" in n for n in notes)
