"""PNG plots of a suite's results (matplotlib, Agg backend; optional).

- ``pr_<dataset>.png``: precision and recall of the scored candidate pairs against the
  threshold, one colour per tool, the tool's default threshold marked;
- ``scaling.png``: wall time and peak memory against number of records, log–log, one line per
  tool through its synthetic-data runs (other data sets as single markers).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

COLOURS = {
    "studentlink": "#1b7837",
    "splink": "#2166ac",
    "rl_tutorial": "#b2182b",
    "rl_ecm": "#e08214",
    "oracle": "#777777",
}


def matplotlib_missing() -> str | None:
    """Why plots cannot be drawn here, or None."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "matplotlib is not installed (pip install 'studentlink[bench]')"
    return None


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ok(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if r.get("status") == "ok"]


def plot_threshold_curves(runs: list[dict[str, Any]], plot_dir: Path) -> list[Path]:
    """One precision/recall-against-threshold figure per data set."""
    plt = _pyplot()
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in _ok(runs):
        if run.get("metrics", {}).get("curve"):
            by_dataset[run["dataset"]].append(run)
    written = []
    for dataset, dataset_runs in by_dataset.items():
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for run in dataset_runs:
            # a point holds for every threshold down to the next lower score: steps
            curve = sorted(run["metrics"]["curve"], key=lambda p: p["threshold"])
            colour = COLOURS.get(run["tool"])
            xs = [p["threshold"] for p in curve]
            ax.plot(xs, [p["precision"] for p in curve], "-", color=colour,
                    drawstyle="steps-pre", label=f"{run['tool']} precision")
            ax.plot(xs, [p["recall"] for p in curve], "--", color=colour,
                    drawstyle="steps-pre", label=f"{run['tool']} recall")
            if run.get("threshold") is not None:
                ax.axvline(run["threshold"], color=colour, alpha=0.3, linewidth=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("threshold on the tool's match score (vertical lines: defaults)")
        ax.set_ylabel("pairwise precision / recall")
        ax.set_title(f"{dataset}: scored candidate pairs")
        ax.legend(fontsize=7, loc="lower left", ncol=2)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = plot_dir / f"pr_{dataset}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def plot_scaling(runs: list[dict[str, Any]], plot_dir: Path) -> Path | None:
    """Wall time and peak memory against records, log–log, per tool."""
    ok = [r for r in _ok(runs) if r.get("n_records")]
    if not ok:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, key, label in (
        (axes[0], "wall_seconds", "wall seconds (end to end)"),
        (axes[1], "peak_memory_mb", "peak memory (MB)"),
    ):
        by_tool: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for run in ok:
            by_tool[run["tool"]].append(run)
        for tool, tool_runs in by_tool.items():
            colour = COLOURS.get(tool)
            synth = sorted(
                (r for r in tool_runs if r["dataset"].startswith("synthetic")),
                key=lambda r: r["n_records"],
            )
            other = [r for r in tool_runs if not r["dataset"].startswith("synthetic")]
            if synth:
                ax.plot([r["n_records"] for r in synth], [r[key] for r in synth], "o-",
                        color=colour, label=f"{tool} (synthetic)")
            if other:
                ax.plot([r["n_records"] for r in other], [r[key] for r in other], "x",
                        color=colour, label=f"{tool} (public sets)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("records")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.suptitle("scaling: time and peak memory against number of records")
    fig.tight_layout()
    path = plot_dir / "scaling.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(runs: list[dict[str, Any]], out_dir: Path) -> tuple[list[Path], str | None]:
    """Every plot into ``out_dir/plots``; returns the files and why plots were skipped."""
    reason = matplotlib_missing()
    if reason:
        return [], reason
    plot_dir = out_dir / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    written = plot_threshold_curves(runs, plot_dir)
    scaling = plot_scaling(runs, plot_dir)
    if scaling is not None:
        written.append(scaling)
    return written, None
