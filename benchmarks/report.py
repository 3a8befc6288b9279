"""The suite report: markdown tables, the targets and whether each was met.

Everything here works from the JSON the runner writes (``results.json``), so a report can be
regenerated from a committed run: ``python -m benchmarks report DIR``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.machine import machine_summary

MET, NOT_MET, NOT_MEASURED = "met", "not met", "not measured"
QUEUE_MAX_SHARE_OF_RECORDS = 0.05
"""The issue's target: the near-match queue is shorter than 5% of the records ..."""
QUEUE_MIN_HELD_SHARE = 0.5
"""... and holds at least half of the true pairs that were not linked automatically."""
SYNTHETIC_1M, SYNTHETIC_100K = "synthetic_1m", "synthetic_100k"


@dataclass(frozen=True)
class Target:
    """One performance target of the issue, and how this run stands against it."""

    key: str
    description: str
    status: str
    detail: str


# --------------------------------------------------------------------------- lookups


def _run(runs: list[dict[str, Any]], dataset: str, tool: str) -> dict[str, Any] | None:
    for run in runs:
        if run["dataset"] == dataset and run["tool"] == tool and run.get("status") == "ok":
            return run
    return None


def f1_of(run: dict[str, Any]) -> float | None:
    """The headline F1: pairwise F1 of the tool's identities at its default threshold."""
    value = run.get("metrics", {}).get("pairwise", {}).get("f1")
    return None if value is None else float(value)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


# --------------------------------------------------------------------------- targets


def evaluate_targets(runs: list[dict[str, Any]]) -> list[Target]:
    """The issue's targets (reported, never asserted), each met / not met / not measured."""
    targets: list[Target] = []
    sl_1m, sp_1m = _run(runs, SYNTHETIC_1M, "studentlink"), _run(runs, SYNTHETIC_1M, "splink")

    def one_million(key: str, description: str, check: Any) -> None:
        if sl_1m is None or sp_1m is None:
            missing = [t for t, r in (("studentlink", sl_1m), ("splink", sp_1m)) if r is None]
            targets.append(
                Target(key, description, NOT_MEASURED, f"no successful {SYNTHETIC_1M} run of "
                       f"{' and '.join(missing)} in this suite")
            )
            return
        ok, detail = check(sl_1m, sp_1m)
        targets.append(Target(key, description, MET if ok else NOT_MET, detail))

    def time_ratio(sl: dict[str, Any], sp: dict[str, Any]) -> tuple[bool, str]:
        ratio = sl["wall_seconds"] / sp["wall_seconds"]
        return ratio <= 1 / 3, (
            f"studentlink {_seconds(sl['wall_seconds'])} s vs Splink "
            f"{_seconds(sp['wall_seconds'])} s (ratio {ratio:.2f}; target ≤ 0.33)"
        )

    def memory_ratio(sl: dict[str, Any], sp: dict[str, Any]) -> tuple[bool, str]:
        ratio = sl["peak_memory_mb"] / sp["peak_memory_mb"]
        return ratio <= 0.5, (
            f"studentlink {_mb(sl['peak_memory_mb'])} MB vs Splink "
            f"{_mb(sp['peak_memory_mb'])} MB (ratio {ratio:.2f}; target ≤ 0.50)"
        )

    def f1_higher(sl: dict[str, Any], sp: dict[str, Any]) -> tuple[bool, str]:
        a, b = f1_of(sl), f1_of(sp)
        if a is None or b is None:
            return False, "F1 missing"
        return a > b, f"studentlink F1 {a:.4f} vs Splink {b:.4f}"

    one_million("time_1m", "1M synthetic: studentlink end-to-end time ≤ 1/3 of Splink's",
                time_ratio)
    one_million("memory_1m", "1M synthetic: studentlink peak memory ≤ 1/2 of Splink's",
                memory_ratio)
    one_million("f1_1m", "1M synthetic: studentlink F1 higher than Splink's", f1_higher)

    sl_100k = _run(runs, SYNTHETIC_100K, "studentlink")
    description = "studentlink time from 100k to 1M records grows ≤ ×12"
    if sl_100k is None or sl_1m is None:
        targets.append(Target("growth_100k_1m", description, NOT_MEASURED,
                              f"needs successful {SYNTHETIC_100K} and {SYNTHETIC_1M} runs of "
                              "studentlink (the scale suite has both)"))
    else:
        growth = sl_1m["wall_seconds"] / sl_100k["wall_seconds"]
        targets.append(Target(
            "growth_100k_1m", description, MET if growth <= 12 else NOT_MET,
            f"{_seconds(sl_100k['wall_seconds'])} s → {_seconds(sl_1m['wall_seconds'])} s "
            f"(×{growth:.1f})",
        ))

    description = "studentlink F1 ≥ Splink's on every data set"
    datasets = list(dict.fromkeys(r["dataset"] for r in runs))
    compared, losses, unmeasured = [], [], []
    for dataset in datasets:
        sl, sp = _run(runs, dataset, "studentlink"), _run(runs, dataset, "splink")
        wanted = any(r["dataset"] == dataset and r["tool"] in ("studentlink", "splink")
                     for r in runs)
        if sl is None or sp is None:
            if wanted:
                unmeasured.append(dataset)
            continue
        a, b = f1_of(sl), f1_of(sp)
        if a is None or b is None:
            unmeasured.append(dataset)
            continue
        compared.append(dataset)
        if a < b:
            losses.append(f"{dataset} ({a:.4f} < {b:.4f})")
    if not compared:
        targets.append(Target("f1_every", description, NOT_MEASURED,
                              "no data set has successful runs of both tools"))
    else:
        detail = f"compared on {len(compared)} data sets"
        if losses:
            detail += "; lower on " + ", ".join(losses)
        if unmeasured:
            detail += "; not measured on " + ", ".join(unmeasured)
        status = NOT_MET if losses else (MET if not unmeasured else NOT_MEASURED)
        if not losses and unmeasured:
            detail += " (met where measured)"
        targets.append(Target("f1_every", description, status, detail))
    return targets


# --------------------------------------------------------------------------- markdown


def _results_table(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| data set | tool | records | status | P | R | **F1** | best F1 (at t) | B³ F1 "
        "| identities / true | candidates | reduction ratio | pair completeness | wall s "
        "| peak MB | pairs/s |",
        "|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        met = run.get("metrics") or {}
        pw = met.get("pairwise") or {}
        best = met.get("best") or {}
        blocking = met.get("blocking") or {}
        clusters = met.get("clusters") or {}
        status = run["status"]
        if status != "ok":
            status = f"{status}: {run.get('reason', '')}"
        best_txt = (
            f"{best['f1']:.4f} ({best['threshold']:.3g})" if best.get("f1") is not None else "–"
        )
        ident = (
            f"{clusters['predicted_identities']:,} / {clusters['true_entities']:,}"
            if clusters else "–"
        )
        lines.append(
            f"| {run['dataset']} | {run['tool']} | {_fmt(run.get('n_records'))} | {status} "
            f"| {_fmt(pw.get('precision'))} | {_fmt(pw.get('recall'))} "
            f"| **{_fmt(pw.get('f1'))}** | {best_txt} "
            f"| {_fmt((met.get('bcubed') or {}).get('f1'))} "
            f"| {ident} | {_fmt(blocking.get('candidates'))} "
            f"| {_fmt(blocking.get('reduction_ratio'), 5)} "
            f"| {_fmt(blocking.get('pair_completeness'))} "
            f"| {_seconds(run.get('wall_seconds'))} | {_mb(run.get('peak_memory_mb'))} "
            f"| {_fmt(int(run['pairs_per_second'])) if run.get('pairs_per_second') else '–'} |"
        )
    return lines


def _migrant_table(runs: list[dict[str, Any]]) -> list[str]:
    rows = [r for r in runs if (r.get("metrics") or {}).get("twins")]
    if not rows:
        return []
    lines = [
        "| data set | tool | twin/triplet pairs merged (children) | sibling record pairs merged "
        "| worst per-state count error |",
        "|---|---|--:|--:|--:|",
    ]
    for run in rows:
        twins = run["metrics"]["twins"]
        state = run["metrics"].get("state_counts") or {}
        worst = (
            f"{state['max_relative_error']:.2%} ({state['state']}: {state['predicted']:,} "
            f"identities vs {state['true']:,} children)"
            if state.get("state") else "–"
        )
        lines.append(
            f"| {run['dataset']} | {run['tool']} "
            f"| {twins['child_pairs_merged']:,} of {twins['child_pairs_total']:,} "
            f"| {twins['record_pairs_merged']:,} | {worst} |"
        )
    return lines


def _mark(ok: bool) -> str:
    return "✔" if ok else "✘"


def _review_queue_table(runs: list[dict[str, Any]]) -> list[str]:
    rows = [r for r in runs if (r.get("metrics") or {}).get("review_queue")]
    if not rows:
        return []
    lines = [
        "| data set | tool | queue items | % of records (< 5%) | true pairs not linked "
        "| % of them held by the queue (≥ 50%) |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for run in rows:
        q = run["metrics"]["review_queue"]
        share, held = q["share_of_records"], q["held_share"]
        lines.append(
            f"| {run['dataset']} | {run['tool']} | {q['items']:,} "
            f"| {share:.2%} {_mark(share < QUEUE_MAX_SHARE_OF_RECORDS)} "
            f"| {q['unlinked_true_pairs']:,} "
            f"| {held:.1%} ({q['held_true_pairs']:,}) {_mark(held >= QUEUE_MIN_HELD_SHARE)} |"
        )
    return lines


def _stage_table(runs: list[dict[str, Any]]) -> list[str]:
    rows = [r for r in runs if r.get("stage_seconds")]
    if not rows:
        return []
    lines = ["| data set | tool | seconds per stage (as the tool reports them) |", "|---|---|---|"]
    for run in rows:
        stages = ", ".join(f"{k} {_seconds(v)}" for k, v in run["stage_seconds"].items())
        lines.append(f"| {run['dataset']} | {run['tool']} | {stages} |")
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    """The report of one suite run, from its ``results.json`` content."""
    runs: list[dict[str, Any]] = results["runs"]
    machine = results.get("machine", {})
    targets = [Target(**t) for t in results.get("targets", [])] or evaluate_targets(runs)
    lines = [
        f"# studentlink benchmarks — suite `{results['suite']}`",
        "",
        f"{results.get('description', '')}",
        "",
        f"- run: {results.get('started', '?')} → {results.get('finished', '?')}",
        f"- machine: {machine_summary(machine)} (details in `machine.json`)",
        f"- commit: {machine.get('git_commit') or 'uncommitted'}",
        "",
        "**F1** is pairwise F1 of the tool's own identities at its default threshold — what a "
        "user gets. *Best F1* is the highest pairwise F1 of calling every scored candidate "
        "pair above a threshold a match (no clustering), over all thresholds: chosen with the "
        "labels, so an upper bound for that pair classifier, not a setting a user could pick "
        "(clustering can land above or below it). Recall counts true pairs the blocking never "
        "produced as missed. For "
        "link-only tasks only cross-file pairs count. B³ is B-cubed over all records. "
        "Wall seconds and peak memory are of the tool's whole process, measured by the harness; "
        "pairs/s is candidate pairs per second of blocking + comparison + scoring.",
        "",
        "## Results",
        "",
        *_results_table(runs),
        "",
    ]
    migrant = _migrant_table(runs)
    if migrant:
        lines += [
            "## Migrant-student data: twins and per-state counts",
            "",
            "Twin/triplet pairs merged: sibling children (same truth `birth_group_id`, different "
            "`child_id`) with records in one predicted identity. Per-state count error: "
            "|distinct identities − distinct true children| / distinct true children among the "
            "records of a state, the worst state shown.",
            "",
            *migrant,
            "",
        ]
    queue = _review_queue_table(runs)
    if queue:
        lines += [
            "## Review queue",
            "",
            "Near matches left for reviewers (only tools that write a queue). A true pair is "
            "*not linked* when its records end in different identities, and *held* when a queue "
            "item joins those two identities (deciding it as a match would link the pair). "
            "Target: the queue is shorter than 5% of the records and holds at least half of the "
            "true pairs not linked.",
            "",
            *queue,
            "",
        ]
    lines += ["## Targets (reported, not asserted)", ""]
    for t in targets:
        mark = {"met": "✅ met", "not met": "❌ not met"}.get(t.status, "➖ not measured")
        lines.append(f"- {mark} — {t.description}: {t.detail}")
    lines.append("")
    stages = _stage_table(runs)
    if stages:
        lines += ["## Time per stage", "", *stages, ""]
    plots = results.get("plots") or []
    lines += ["## Plots", ""]
    if plots:
        lines += [f"![{Path(p).stem}]({p})" for p in plots]
    else:
        lines.append(f"No plots: {results.get('plots_skipped') or 'no successful runs'}.")
    lines.append("")
    problems = [(r, p) for r in runs for p in r.get("problems") or []]
    if problems:
        lines += ["## Problems found in tool outputs", ""]
        lines += [f"- {r['dataset']} / {r['tool']}: {p}" for r, p in problems]
        lines.append("")
    configured: dict[tuple[str, str | None], Any] = {}
    for run in runs:
        if run.get("settings") and run["tool"] != "studentlink":
            configured.setdefault((run["tool"], run.get("peer_config")), run["settings"])
    if configured:
        lines += ["## Peer configurations", ""]
        for (tool, peer_config), settings in configured.items():
            lines.append(f"- **{tool}** on `{peer_config}` data: `{json.dumps(settings)}`")
        lines.append("")
    lines += [
        "## Versions",
        "",
        ", ".join(f"{k} {v}" for k, v in (machine.get("packages") or {}).items() if v),
        "",
    ]
    return "\n".join(lines)


def write_report(out_dir: Path, results: dict[str, Any]) -> Path:
    """``report.md`` from ``results`` (targets filled in if absent)."""
    if "targets" not in results:
        results["targets"] = [asdict(t) for t in evaluate_targets(results["runs"])]
    path = out_dir / "report.md"
    path.write_text(render_markdown(results))
    return path


def regenerate(out_dir: Path) -> Path:
    """Rebuild ``report.md`` and the plots from ``out_dir/results.json``."""
    from benchmarks.plots import write_plots

    results = json.loads((out_dir / "results.json").read_text())
    written, skipped = write_plots(results["runs"], out_dir)
    results["plots"] = [str(p.relative_to(out_dir)) for p in written]
    results["plots_skipped"] = skipped
    results["targets"] = [asdict(t) for t in evaluate_targets(results["runs"])]
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return write_report(out_dir, results)
