"""The store commands through the `studentlink` CLI (real matching core, both engines)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from benchmarks.synthetic import generate
from matcher.cli import app
from matcher.settings import builtin_preset_path, load_preset
from matcher.store import IdentityStore

runner = CliRunner()


@pytest.fixture(scope="module")
def records_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records, _ = generate(400, seed=5)
    path = tmp_path_factory.mktemp("cli") / "records.csv"
    records.write_csv(path)
    return path


def _json(stdout: str) -> dict[str, int]:
    return json.loads(stdout)


def test_load_counts_events_and_admin(records_csv: Path, store_url: str) -> None:
    first = runner.invoke(app, ["load", str(records_csv), "--store", store_url,
                                "--batch-size", "150"])
    assert first.exit_code == 0, first.output
    summary = _json(first.stdout)
    assert summary["new"] + summary["rejected_rows"] == 400 and summary["new"] > 350

    again = runner.invoke(app, ["load", str(records_csv), "--store", store_url])
    assert again.exit_code == 0, again.output
    assert _json(again.stdout)["unchanged"] == summary["new"]

    counts = runner.invoke(app, ["counts", "--period", "2023-24", "--store", store_url, "--json"])
    assert counts.exit_code == 0, counts.output
    with IdentityStore.open(store_url) as store:
        assert store.has_backend  # the model trained on the first load was saved
        expected = store.counts("2023-24").as_dict()
        assignments = store.identities.assignments()
    assert json.loads(counts.stdout) == expected

    events = runner.invoke(app, ["events", "--store", store_url, "--limit", "3"])
    lines = [json.loads(x) for x in events.stdout.splitlines()]
    assert [e["seq"] for e in lines[:-1]] == [1, 2, 3] and lines[-1] == {"cursor": 3}

    a, b = assignments["identity_id"].unique(maintain_order=True).to_list()[:2]
    merge = runner.invoke(app, ["admin", "merge", a, b, "--store", store_url,
                                "--actor", "admin1"])
    assert merge.exit_code == 0, merge.output
    change = json.loads(merge.stdout)["id"]
    same = runner.invoke(app, ["admin", "validate", str(change), "--store", store_url,
                               "--actor", "admin1"])
    assert same.exit_code == 1 and "two-person rule" in same.output
    pending = runner.invoke(app, ["admin", "pending", "--store", store_url])
    assert [c["id"] for c in json.loads(pending.stdout)] == [change]
    done = runner.invoke(app, ["admin", "validate", str(change), "--store", store_url,
                               "--actor", "admin2"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "approved"


def test_counts_rejects_a_bad_period(tmp_path: Path) -> None:
    result = runner.invoke(app, ["counts", "--period", "2023", "--store",
                                 str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "'period' must look like 2023-24" in result.output


def test_a_store_that_cannot_be_opened_is_one_clear_message(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'store.db'}"
    done = runner.invoke(app, ["counts", "--period", "2023-24", "--store", url])
    assert done.exit_code == 1
    assert "'store' must be a database that can be opened" in done.output
    assert "Traceback" not in done.output


def test_load_reports_the_rows_the_store_cannot_keep(tmp_path: Path, store_url: str) -> None:
    """A preset that does not require a state lets rows without one through the input
    checks; the store needs it: those rows are counted and written to --errors."""
    preset = load_preset("msix").model_dump() | {
        "name": "no_state", "required": ["record_id", "first_name", "last_name_1"]}
    preset_path = tmp_path / "no_state.json"
    preset_path.write_text(json.dumps(preset), encoding="utf-8")
    records, _ = generate(60, seed=7)
    stateless = records["record_id"].head(5).to_list()
    records = records.with_columns(
        pl.when(pl.col("record_id").is_in(stateless)).then(None).otherwise(pl.col("state"))
        .alias("state"))
    path = tmp_path / "records.csv"
    records.write_csv(path)
    errors = tmp_path / "errors.csv"
    result = runner.invoke(app, ["load", str(path), "--store", store_url, "--preset",
                                 str(preset_path), "--errors", str(errors)])
    assert result.exit_code == 0, result.output
    summary = _json(result.stdout)
    assert summary["new"] + summary["rejected_rows"] == records.height
    written = pl.read_csv(errors, infer_schema_length=0)
    store_refused = written.filter(pl.col("field") == "state")
    assert sorted(store_refused["record_id"].to_list()) == sorted(stateless)
    assert summary["rejected_rows"] == written["record_id"].n_unique()


def test_load_refuses_a_bad_preset_before_reading_its_inputs(tmp_path: Path,
                                                            store_url: str) -> None:
    preset = json.loads(builtin_preset_path("msix").read_text(encoding="utf-8"))
    preset["blocking_rules"].append({"name": "typo", "keys": ["fn_cannon"]})
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(preset), encoding="utf-8")
    result = runner.invoke(app, ["load", str(tmp_path / "not-there.csv"), "--store", store_url,
                                 "--preset", str(path)])
    assert result.exit_code == 2
    assert "blocking rule 'typo': key 'fn_cannon' is neither" in " ".join(result.output.split())
