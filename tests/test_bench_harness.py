"""The benchmark harness end to end with a fake tool, its measurements, report and targets."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from benchmarks import runner
from benchmarks.__main__ import main as bench_main
from benchmarks.datasets import Dataset, DatasetSpec, write_truth
from benchmarks.measure import run_measured
from benchmarks.report import MET, NOT_MEASURED, NOT_MET, evaluate_targets, render_markdown
from benchmarks.suites import SUITES, RunSpec, Suite
from benchmarks.tools import TOOLS, PeerTool
from benchmarks.tools.base import ToolOutput
from benchmarks.tools.studentlink import (
    check_summary,
    read_studentlink_outputs,
    studentlink_executable,
)

# ----------------------------------------------------------------------------- a tiny data set


def _build_tiny(folder: Path, data_dir: Path) -> Dataset:
    records = pl.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(12)],
            "state": ["TX", "TX", "MI", "MI", "TX", "CA", "CA", "TX", "MI", "CA", "TX", "TX"],
            "first_name": ["Ana", "Ana", "Juan", "Juan", "Luis", "Luis", "Rosa", "Rosa", "Eva",
                           "Eva", "Eva", "Ian"],
            "last_name_1": ["Diaz"] * 12,
            "birth_date": ["2010-01-01"] * 12,
        }
    )
    records.write_csv(folder / "records.csv")
    child = ["A", "A", "J", "J", "L", "L", "R", "R", "E", "E", "F", "I"]
    group = [None, None, "G1", "G1", "G1", "G1", None, None, "G2", "G2", "G2", None]
    truth = records.select("record_id", "state").with_columns(
        pl.Series("child_id", child),
        pl.Series("birth_group_id", group, dtype=pl.String),
        pl.Series("entity_id", child),
        pl.lit(0, dtype=pl.Int32).alias("source"),
    )
    write_truth(folder, truth)
    final = data_dir / "tiny"
    return Dataset(
        name="tiny",
        family="custom",
        link_only=False,
        inputs=(final / "records.csv",),
        truth=final / "truth.parquet",
        truth_entities=final / "truth_entities.csv",
        n_records=12,
        description="twelve literal records",
        extra={"migrant_truth": True},
    )


TINY = {"tiny": DatasetSpec("tiny", "twelve literal records", 12, _build_tiny, lambda: "v1")}


@pytest.fixture
def fake_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register oracle variants: one splitting records (so it errs) and allocating memory."""
    monkeypatch.setitem(
        TOOLS,
        "oracle_split",
        PeerTool(
            "oracle_split",
            "oracle, every 4th record split off",
            "benchmarks.tools.oracle",
            args=("--split-every", "4", "--alloc-mb", "120"),
            needs_peer_config=False,
        ),
    )
    monkeypatch.setitem(
        TOOLS,
        "broken",
        PeerTool("broken", "a tool that crashes", "benchmarks.tools.no_such_module",
                 needs_peer_config=False),
    )
    monkeypatch.setitem(
        TOOLS,
        "killed",
        PeerTool("killed", "a tool the OOM killer ends", "benchmarks.tools.oracle",
                 args=("--kill-self",), needs_peer_config=False),
    )
    monkeypatch.setitem(
        TOOLS,
        "absent",
        PeerTool("absent", "a tool not installed", "x", requires=("no_such_module_xyz",)),
    )


def _runs(out: Path) -> dict[str, dict[str, Any]]:
    results = json.loads((out / "results.json").read_text())
    return {r["tool"]: r for r in results["runs"]}


def test_suite_with_fake_tools(tmp_path: Path, fake_tools: None) -> None:
    suite = Suite(
        "tiny",
        "harness self-test",
        tuple(
            RunSpec("tiny", t) for t in ("oracle", "oracle_split", "broken", "killed", "absent")
        ),
        timeout_s=120,
    )
    out = tmp_path / "out"
    report = runner.run_suite(suite, out, data_dir=tmp_path / "data", datasets=TINY)
    assert report == out / "report.md"
    runs = _runs(out)

    oracle = runs["oracle"]
    assert oracle["status"] == "ok"
    assert oracle["metrics"]["pairwise"]["f1"] == 1.0
    assert oracle["metrics"]["bcubed"]["f1"] == 1.0
    assert oracle["metrics"]["twins"]["child_pairs_merged"] == 0
    assert oracle["metrics"]["twins"]["child_pairs_total"] == 2  # J-L (G1), E-F (G2)
    assert oracle["metrics"]["state_counts"]["max_relative_error"] == 0.0
    assert oracle["metrics"]["best"]["f1"] == 1.0
    assert oracle["metrics"]["blocking"]["pair_completeness"] == 1.0
    assert "review_queue" not in oracle["metrics"]  # the oracle writes no queue

    split = runs["oracle_split"]
    assert split["status"] == "ok"
    assert split["metrics"]["pairwise"]["recall"] < 1.0
    assert split["metrics"]["pairwise"]["precision"] == 1.0
    assert split["peak_memory_mb"] >= 120
    assert split["wall_seconds"] > 0 and split["stage_seconds"]

    assert runs["broken"]["status"] == "failed"
    assert "exit code" in runs["broken"]["reason"]
    assert runs["killed"]["status"] == "failed"
    assert "SIGKILL" in runs["killed"]["reason"]
    assert runs["absent"]["status"] == "skipped"
    assert "no_such_module_xyz" in runs["absent"]["reason"]

    text = report.read_text()
    assert "| tiny | oracle |" in text and "Targets" in text
    assert "## Review queue" not in text
    assert (out / "machine.json").exists()
    assert (out / "logs" / "tiny__oracle.log").exists()
    machine = json.loads((out / "machine.json").read_text())
    assert {"cpu_model", "logical_cores", "memory_gb", "python", "packages"} <= set(machine)
    if "matplotlib" in sys.modules or _has_matplotlib():
        assert (out / "plots" / "pr_tiny.png").exists()
        assert (out / "plots" / "scaling.png").exists()

    # the report can be rebuilt from results.json alone
    (out / "report.md").unlink()
    assert bench_main(["report", str(out)]) == 0
    assert (out / "report.md").exists()


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_twin_total_in_tiny_data(tmp_path: Path) -> None:
    # G1 holds children J and L (1 pair); G2 holds E and F (1 pair)
    dataset = _build_tiny(tmp_path, tmp_path)
    truth = pl.read_parquet(tmp_path / "truth.parquet")
    from benchmarks import metrics as m

    perfect = truth.select("record_id", pl.col("child_id").alias("identity_id"))
    twins = m.twin_merges(perfect, truth)
    assert (twins.child_pairs_total, twins.child_pairs_merged) == (2, 0)
    assert dataset.has_migrant_truth


# ----------------------------------------------------------------------------- measurement


def test_peak_memory_is_the_childs_own(tmp_path: Path) -> None:
    ballast = bytearray(400 * 1024 * 1024)  # the parent is big; a small child must not say so
    for k in range(0, len(ballast), 4096):
        ballast[k] = 1
    small = run_measured([sys.executable, "-c", "pass"], log_path=tmp_path / "small.log")
    alloc = (
        "x = bytearray(200 * 2**20)\n"
        "for k in range(0, len(x), 4096): x[k] = 1\n"
    )
    big = run_measured([sys.executable, "-c", alloc], log_path=tmp_path / "big.log")
    del ballast
    assert small.returncode == 0 and big.returncode == 0
    assert small.peak_memory_mb < 100
    assert 200 <= big.peak_memory_mb < 350


def test_timeout_kills_the_child(tmp_path: Path) -> None:
    measured = run_measured(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        log_path=tmp_path / "t.log",
        timeout_s=0.5,
    )
    assert measured.timed_out
    assert measured.wall_seconds < 10


def test_exit_code_and_log(tmp_path: Path) -> None:
    measured = run_measured(
        [sys.executable, "-c", "print('hello'); raise SystemExit(3)"], log_path=tmp_path / "e.log"
    )
    assert measured.returncode == 3
    assert "hello" in (tmp_path / "e.log").read_text()


# ----------------------------------------------------------------------------- suites, targets


def test_select_runs() -> None:
    smoke = SUITES["smoke"]
    assert runner.select_runs(smoke, None) == list(smoke.runs)
    assert [r.key for r in runner.select_runs(smoke, ["splink"])] == [
        "febrl4__splink",
        "synthetic_10k__splink",
    ]
    standard = SUITES["standard"]
    only = runner.select_runs(standard, ["studentlink"])
    assert only and all(r.tool == "studentlink" for r in only)
    with pytest.raises(Exception, match="tools"):
        runner.select_runs(smoke, ["nope"])


def test_suites_are_well_formed() -> None:
    from benchmarks.datasets import DATASETS

    for suite in SUITES.values():
        assert suite.runs
        for run in suite.runs:
            assert run.dataset in DATASETS and run.tool in TOOLS
    assert {r.tool for r in SUITES["smoke"].runs} == {"studentlink"}
    assert {r.dataset for r in SUITES["smoke"].runs} == {"febrl4", "synthetic_10k"}


def _result(dataset: str, tool: str, f1: float, wall: float, mb: float) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "tool": tool,
        "status": "ok",
        "n_records": 1000,
        "wall_seconds": wall,
        "peak_memory_mb": mb,
        "metrics": {"pairwise": {"precision": f1, "recall": f1, "f1": f1}},
    }


def test_targets() -> None:
    runs = [
        _result("synthetic_100k", "studentlink", 0.95, 10.0, 500.0),
        _result("synthetic_1m", "studentlink", 0.95, 100.0, 1000.0),
        _result("synthetic_1m", "splink", 0.90, 400.0, 4000.0),
        _result("febrl4", "studentlink", 0.99, 5.0, 300.0),
        _result("febrl4", "splink", 0.995, 9.0, 300.0),
    ]
    targets = {t.key: t for t in evaluate_targets(runs)}
    assert targets["time_1m"].status == MET
    assert targets["memory_1m"].status == MET
    assert targets["f1_1m"].status == MET
    assert targets["growth_100k_1m"].status == MET  # x10
    assert targets["f1_every"].status == NOT_MET
    assert "febrl4" in targets["f1_every"].detail

    smoke_only = evaluate_targets([_result("febrl4", "studentlink", 0.99, 5.0, 300.0)])
    assert {t.status for t in smoke_only} == {NOT_MEASURED}

    slow = evaluate_targets([*runs[:2], _result("synthetic_1m", "splink", 0.99, 200.0, 1500.0)])
    by_key = {t.key: t.status for t in slow}
    assert by_key["time_1m"] == NOT_MET and by_key["memory_1m"] == NOT_MET
    assert by_key["f1_1m"] == NOT_MET


def test_markdown_for_failed_and_skipped_runs() -> None:
    results = {
        "suite": "x",
        "runs": [
            {"dataset": "febrl4", "tool": "splink", "status": "skipped", "reason": "no splink"},
            {"dataset": "febrl4", "tool": "studentlink", "status": "failed", "reason": "boom",
             "wall_seconds": 1.0, "peak_memory_mb": 10.0},
        ],
    }
    text = render_markdown(results)
    assert "skipped: no splink" in text and "failed: boom" in text


def _queue_run(dataset: str, share: float, held: float) -> dict[str, Any]:
    run = _result(dataset, "studentlink", 0.95, 5.0, 300.0)
    run["metrics"]["review_queue"] = {
        "items": 120, "records": 10_000, "share_of_records": share,
        "unlinked_true_pairs": 1_500, "held_true_pairs": 900, "held_share": held,
    }
    return run


def test_markdown_review_queue_with_and_without_the_key() -> None:
    runs = [
        _queue_run("febrl4", 0.012, 0.6),
        _queue_run("synthetic_10k", 0.05, 0.4999),
        _result("febrl4", "splink", 0.9, 9.0, 300.0),  # an old run or a peer: no queue
    ]
    text = render_markdown({"suite": "x", "runs": runs})
    assert "## Review queue" in text
    assert "| febrl4 | studentlink | 120 | 1.20% ✔ | 1,500 | 60.0% (900) ✔ |" in text
    assert "| synthetic_10k | studentlink | 120 | 5.00% ✘ | 1,500 | 50.0% (900) ✘ |" in text
    assert "| febrl4 | splink | 120" not in text
    old = render_markdown({"suite": "x", "runs": [_result("febrl4", "studentlink", 0.9, 1.0, 1.0)]})
    assert "Review queue" not in old and "## Results" in old


def test_report_command_on_old_results_without_the_queue(tmp_path: Path) -> None:
    results = {"suite": "x", "runs": [_result("febrl4", "studentlink", 0.99, 5.0, 300.0)]}
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert bench_main(["report", str(tmp_path)]) == 0
    assert "Review queue" not in (tmp_path / "report.md").read_text()
    results["runs"].append(_queue_run("synthetic_10k", 0.02, 0.75))
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert bench_main(["report", str(tmp_path)]) == 0
    assert "| synthetic_10k | studentlink | 120 | 2.00% ✔ | 1,500 | 75.0% (900) ✔ |" in (
        tmp_path / "report.md"
    ).read_text()


def _studentlink_out(folder: Path, *, near: str | None, near_in_summary: int = 2) -> Path:
    folder.mkdir()
    pl.DataFrame({"record_id": ["007", "008", "009"], "identity_id": ["1", "1", "2"]}).write_csv(
        folder / "identities.csv"
    )
    pl.DataFrame(
        {"record_id_l": ["007", "008"], "record_id_r": ["009", "009"],
         "match_probability": [0.5, 0.4]}
    ).write_parquet(folder / "pairs.parquet")
    summary = {
        "records_in": 3, "records_rejected": 0, "identities": 2,
        "near_matches": near_in_summary, "thresholds": {"upper": 0.9, "lower": 0.3},
        "seconds": {"total": 1.0}, "peak_memory_mb": 1.0,
        "blocking": {"candidates": 2, "reduction_ratio": 0.0, "pair_completeness": 1.0,
                     "rules": []},
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    if near is not None:
        (folder / "near_matches.csv").write_text(near)
    return folder


def test_studentlink_near_matches_are_read_as_strings(tmp_path: Path) -> None:
    csv = (
        "record_id_l,record_id_r,match_probability,match_weight,possible_multiple_birth,reason\n"
        "007,009,0.5,1.0,false,band\n008,009,0.4,0.5,false,band\n"
    )
    output = read_studentlink_outputs(_studentlink_out(tmp_path / "ok", near=csv))
    assert output.problems == []
    assert output.near_matches is not None
    assert output.near_matches.select("record_id_l", "record_id_r").rows() == [
        ("007", "009"), ("008", "009")
    ]
    assert output.near_matches.schema["match_probability"] == pl.String

    missing = read_studentlink_outputs(_studentlink_out(tmp_path / "missing", near=None))
    assert missing.near_matches is None and "no near_matches.csv" in missing.problems

    header = "record_id_l,record_id_r,match_probability,reason\n"
    empty = read_studentlink_outputs(
        _studentlink_out(tmp_path / "empty", near=header, near_in_summary=0)
    )
    assert empty.problems == [] and empty.near_matches is not None
    assert empty.near_matches.height == 0

    miscounted = read_studentlink_outputs(
        _studentlink_out(tmp_path / "miscounted", near=csv, near_in_summary=5)
    )
    assert miscounted.problems == [
        "summary.json near_matches = 5; near_matches.csv has 2 rows"
    ]
    bad = read_studentlink_outputs(_studentlink_out(tmp_path / "bad", near="a,b\n1,2\n"))
    assert bad.near_matches is None
    assert bad.problems == ["near_matches.csv has no ['record_id_l', 'record_id_r']"]


def test_evaluate_adds_the_review_queue_only_with_near_matches(tmp_path: Path) -> None:
    from benchmarks.evaluate import evaluate

    dataset = _build_tiny(tmp_path, tmp_path)
    truth = pl.read_parquet(tmp_path / "truth.parquet")
    # r0/r1 (child A) split into two identities, everything else exact; the queue holds A
    ids = truth.select(
        "record_id",
        pl.when(pl.col("record_id") == "r1").then(pl.lit("A2"))
        .otherwise(pl.col("child_id")).alias("identity_id"),
    )
    queue = pl.DataFrame({"record_id_l": ["r1", "r4"], "record_id_r": ["r0", "r11"]})
    with_queue = evaluate(ToolOutput(ids, None, None, near_matches=queue), dataset, truth)
    assert with_queue["review_queue"] == {
        "items": 2, "records": 12, "share_of_records": pytest.approx(2 / 12),
        "unlinked_true_pairs": 1, "held_true_pairs": 1, "held_share": 1.0,
    }
    without = evaluate(ToolOutput(ids, None, None), dataset, truth)
    assert "review_queue" not in without


def test_check_summary_lists_missing_keys() -> None:
    problems = check_summary({"records_in": 1, "thresholds": {"upper": 0.9}, "seconds": {},
                              "blocking": {"candidates": 1, "rules": [{"name": "r"}]}})
    text = "\n".join(problems)
    assert "'identities'" in text and "'lower'" in text and "'total'" in text
    assert "pair_completeness" in text and "new_candidates" in text


def test_cli_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["list"]) == 0
    out = capsys.readouterr().out
    assert "smoke" in out and "splink" in out and "febrl4" in out


# ----------------------------------------------------------------------------- the real thing


@pytest.mark.slow
@pytest.mark.skipif(
    studentlink_executable() is None,
    reason="the 'studentlink' console script is not installed (pip install -e .)",
)
def test_smoke_suite_with_studentlink(tmp_path: Path) -> None:
    report = runner.run_suite("smoke", tmp_path / "smoke")
    runs = json.loads((tmp_path / "smoke" / "results.json").read_text())["runs"]
    assert [(r["dataset"], r["tool"]) for r in runs] == [
        ("febrl4", "studentlink"),
        ("synthetic_10k", "studentlink"),
    ]
    failed = [f"{r['dataset']}: {r.get('reason')}" for r in runs if r["status"] != "ok"]
    assert not failed, failed
    for run in runs:
        assert 0.0 < run["metrics"]["pairwise"]["f1"] <= 1.0
        assert run["peak_memory_mb"] > 0
    synthetic = runs[1]["metrics"]
    assert "twins" in synthetic and "state_counts" in synthetic
    assert "Targets" in report.read_text()


def test_pairs_blocking_did_not_propose_count_as_scored_not_as_candidates(tmp_path: Path
                                                                          ) -> None:
    from benchmarks.evaluate import evaluate

    dataset = _build_tiny(tmp_path, tmp_path)
    truth = pl.read_parquet(tmp_path / "truth.parquet")
    folder = _studentlink_out(tmp_path / "out", near=None)
    # r0-r1 proposed by blocking; r0-r2 scored only inside a linked component
    pl.DataFrame({"record_id_l": ["r0", "r0"], "record_id_r": ["r1", "r2"],
                  "match_probability": [0.99, 0.2], "blocked": [True, False]}
                 ).write_parquet(folder / "pairs.parquet")
    summary = json.loads((folder / "summary.json").read_text())
    summary |= {"pairs_scored": 2, "blocking": {**summary["blocking"], "candidates": 1}}
    (folder / "summary.json").write_text(json.dumps(summary))
    output = read_studentlink_outputs(folder)
    assert [p for p in output.problems if "pairs" in p] == []
    assert output.pairs is not None and output.pairs.height == 2
    assert output.candidate_pairs is not None and output.candidate_pairs.height == 1
    ids = truth.select("record_id", pl.col("child_id").alias("identity_id"))
    result = evaluate(ToolOutput(ids, output.pairs, 0.9,
                                 candidate_pairs=output.candidate_pairs), dataset, truth)
    assert result["blocking"]["candidates"] == 1

    summary["pairs_scored"] = 3
    (folder / "summary.json").write_text(json.dumps(summary))
    assert "summary.json pairs_scored = 3; pairs.parquet has 2 rows" in (
        read_studentlink_outputs(folder).problems)
