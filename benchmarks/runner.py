"""Run a suite: every (data set, tool) run in its own measured subprocess, then the report.

``run_suite("standard", Path("bench-out/standard"))`` writes into the output folder:

- ``report.md`` — tables, targets, plots (the file to read);
- ``results.json`` — every number of every run (the report can be rebuilt from it);
- ``machine.json`` — CPU, cores, memory, Python and package versions, commit;
- ``plots/*.png`` — precision/recall against threshold per data set, the scaling curve;
- ``logs/<data set>__<tool>.log`` — the tail of each run's output.

Bulky per-run files (scored pairs, identities) go to a temporary work folder that is deleted
afterwards unless ``keep_work``; the output folder stays small enough to commit under
``benchmarks/results/<name>``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from benchmarks.datasets import DATASETS, Dataset, DatasetSpec, prepare
from benchmarks.errors import BenchmarkError, ToolOutputError
from benchmarks.evaluate import evaluate
from benchmarks.machine import describe_machine
from benchmarks.measure import run_measured
from benchmarks.plots import write_plots
from benchmarks.report import evaluate_targets, write_report
from benchmarks.suites import RunSpec, Suite, get_suite
from benchmarks.tools import TOOLS, Tool

LOG_TAIL_LINES = 200
REPO_ROOT = Path(__file__).resolve().parent.parent


def select_runs(suite: Suite, tools: list[str] | None) -> list[RunSpec]:
    """The suite's runs for ``tools``.

    A tool the suite already runs keeps its own runs; a tool the suite does not run is run on
    every data set of the suite (``--tools splink`` on the smoke suite runs Splink on both).
    """
    if tools is None:
        return list(suite.runs)
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        raise BenchmarkError(f"'tools' must be among {sorted(TOOLS)}; got {unknown}")
    own = set(suite.tools())
    runs = [r for r in suite.runs if r.tool in tools]
    for tool in tools:
        if tool not in own:
            runs += [RunSpec(d, tool) for d in suite.datasets()]
    order = {d: i for i, d in enumerate(suite.datasets())}
    return sorted(runs, key=lambda r: (order[r.dataset], tools.index(r.tool)))


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("TQDM_DISABLE", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _last_error_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines()[1:] if line.strip()]  # [0] is the command
    return lines[-1][:300] if lines else "no output"


def run_one(
    spec: RunSpec,
    tool: Tool,
    dataset: Dataset,
    *,
    run_dir: Path,
    timeout_s: float | None,
    on_tick: Any = None,
) -> dict[str, Any]:
    """One measured run of ``tool`` on ``dataset``: its result record (see the module doc)."""
    out = run_dir / "out"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    dataset_json = dataset.save(run_dir)
    cmd = tool.command(dataset, dataset_json, out)
    log_path = run_dir / "run.log"
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "dataset_description": dataset.description,
        "tool": spec.tool,
        "tool_label": tool.label,
        "n_records": dataset.n_records,
        "link_only": dataset.link_only,
        "peer_config": dataset.peer_config,
        "command": cmd,
    }
    measured = run_measured(
        cmd, log_path=log_path, timeout_s=timeout_s, env=_child_env(), cwd=REPO_ROOT,
        on_tick=on_tick,
    )
    result.update(
        wall_seconds=measured.wall_seconds,
        peak_memory_mb=measured.peak_memory_mb,
        user_seconds=measured.user_seconds,
        system_seconds=measured.system_seconds,
        returncode=measured.returncode,
        log_tail=_log_tail(log_path),
    )
    if measured.timed_out:
        result.update(status="timeout", reason=f"killed after {timeout_s:.0f} s")
        return result
    if measured.returncode < 0:
        name = signal.Signals(-measured.returncode).name
        reason = f"killed by {name} at {measured.peak_memory_mb:,.0f} MB peak"
        if name == "SIGKILL":
            reason += " (out of memory?)"
        result.update(status="failed", reason=reason)
        return result
    if measured.returncode != 0:
        reason = f"exit code {measured.returncode}: {_last_error_line(result['log_tail'])}"
        result.update(status="failed", reason=reason)
        return result
    try:
        output = tool.collect(dataset, out)
        metrics = evaluate(output, dataset)
    except (ToolOutputError, OSError, ValueError) as exc:
        result.update(status="failed", reason=f"unreadable output: {exc}")
        return result
    candidates = (metrics.get("blocking") or {}).get("candidates")
    per_second_base = output.scoring_seconds or measured.wall_seconds
    result.update(
        status="ok",
        threshold=output.threshold,
        stage_seconds=output.stage_seconds,
        scoring_seconds=output.scoring_seconds,
        pairs_per_second=candidates / per_second_base if candidates and per_second_base else None,
        version=output.version,
        settings=output.settings,
        problems=output.problems,
        reported=output.reported,
        metrics=metrics,
    )
    return result


def _status_line(result: dict[str, Any]) -> str:
    key = f"{result['dataset']} / {result['tool']}"
    if result["status"] != "ok":
        return f"{key}: {result['status']} — {result.get('reason', '')}"
    pw = result["metrics"]["pairwise"]
    return (
        f"{key}: F1 {pw['f1']:.4f} (P {pw['precision']:.4f}, R {pw['recall']:.4f}), "
        f"{result['wall_seconds']:.1f} s, {result['peak_memory_mb']:,.0f} MB"
        + (f", {len(result['problems'])} output problem(s)" if result.get("problems") else "")
    )


def run_suite(
    suite: str | Suite,
    out_dir: Path,
    tools: list[str] | None = None,
    *,
    data_dir: Path | None = None,
    work_dir: Path | None = None,
    keep_work: bool = False,
    datasets: Mapping[str, DatasetSpec] | None = None,
    console: Console | None = None,
) -> Path:
    """Run every run of ``suite`` (optionally only ``tools``) and write the report.

    Returns the path of ``report.md``. ``datasets`` adds or replaces data set builders (tests
    use it for tiny data); ``data_dir`` is the data cache (default
    :func:`benchmarks.datasets.default_data_dir`).
    """
    suite_obj = get_suite(suite) if isinstance(suite, str) else suite
    registry: dict[str, DatasetSpec] = {**DATASETS, **(datasets or {})}
    runs = select_runs(suite_obj, tools)
    unknown = sorted({r.dataset for r in runs} - set(registry))
    if unknown:
        raise BenchmarkError(f"unknown data sets in suite {suite_obj.name!r}: {unknown}")
    console = console or Console(stderr=True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "logs").mkdir(exist_ok=True)
    machine = describe_machine()
    (out_dir / "machine.json").write_text(json.dumps(machine, indent=2) + "\n")
    own_work = work_dir is None
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="studentlink-bench-"))
    results: dict[str, Any] = {
        "suite": suite_obj.name,
        "description": suite_obj.description,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "runs": [],
    }
    results_path = out_dir / "results.json"
    prepared: dict[str, Dataset | str] = {}

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    try:
        with progress:
            overall = progress.add_task(f"suite {suite_obj.name}", total=len(runs))
            for spec in runs:
                tool = TOOLS[spec.tool]
                label = f"{spec.dataset} / {spec.tool}"
                result: dict[str, Any] = {
                    "dataset": spec.dataset,
                    "tool": spec.tool,
                    "tool_label": tool.label,
                    "n_records": registry[spec.dataset].approx_records,
                }
                reason = tool.unavailable_reason()
                dataset: Dataset | None = None
                if reason is None:
                    if spec.dataset not in prepared:
                        progress.update(overall, description=f"preparing {spec.dataset}")
                        if not console.is_terminal:
                            console.print(f"preparing data set {spec.dataset} ...")
                        try:
                            prepared[spec.dataset] = prepare(spec.dataset, data_dir, registry)
                        except Exception as exc:  # reported in the run, the suite goes on
                            prepared[spec.dataset] = f"data set unavailable: {exc}"
                    got = prepared[spec.dataset]
                    if isinstance(got, str):
                        reason = got
                    else:
                        dataset = got
                        reason = tool.supports(dataset)
                if reason is not None or dataset is None:
                    result.update(status="skipped", reason=reason or "no data set")
                else:
                    if not console.is_terminal:
                        console.print(f"running {label} ...")
                    start = time.perf_counter()

                    def tick(elapsed: float, label: str = label) -> None:
                        progress.update(overall, description=f"{label} ({elapsed:,.0f} s)")

                    result = run_one(
                        spec,
                        tool,
                        dataset,
                        run_dir=work / spec.key,
                        timeout_s=suite_obj.timeout_for(spec),
                        on_tick=tick,
                    )
                    log_tail = result.pop("log_tail", "")
                    (out_dir / "logs" / f"{spec.key}.log").write_text(log_tail + "\n")
                    result["log"] = f"logs/{spec.key}.log"
                    result["harness_seconds"] = time.perf_counter() - start
                    if not keep_work:
                        shutil.rmtree(work / spec.key, ignore_errors=True)
                results["runs"].append(result)
                results_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
                console.print(_status_line(result))
                progress.advance(overall)
            progress.update(overall, description=f"suite {suite_obj.name}: done")
    finally:
        if own_work and not keep_work:
            shutil.rmtree(work, ignore_errors=True)

    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    written, skipped = write_plots(results["runs"], out_dir)
    results["plots"] = [str(p.relative_to(out_dir)) for p in written]
    results["plots_skipped"] = skipped
    results["targets"] = [asdict(t) for t in evaluate_targets(results["runs"])]
    results_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    report = write_report(out_dir, results)
    console.print(f"report: {report}")
    return report
