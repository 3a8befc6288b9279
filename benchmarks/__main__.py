"""``python -m benchmarks`` — run a suite, rebuild a report, list or prepare data sets.

    python -m benchmarks [run] [--suite smoke|standard|scale] [--out DIR] [--tools a,b]
    python -m benchmarks report DIR          # rebuild report.md and plots from results.json
    python -m benchmarks list                # suites, tools, data sets
    python -m benchmarks prepare NAME...     # build data sets into the cache
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.errors import BenchmarkError


def _tools(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [t.strip() for t in value.split(",") if t.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a suite (the default)")
    run.add_argument("--suite", default="smoke", help="smoke (default), standard, scale or heldout")
    run.add_argument("--out", type=Path, default=None,
                     help="output folder (default bench-out/<suite>)")
    run.add_argument("--tools", default=None,
                     help="comma-separated tools (default: the suite's own)")
    run.add_argument("--data-dir", type=Path, default=None,
                     help="data set cache (default $STUDENTLINK_BENCH_DATA or "
                          "~/.cache/studentlink/bench-data)")
    run.add_argument("--work-dir", type=Path, default=None,
                     help="where tools write their bulky outputs (default: a temporary folder)")
    run.add_argument("--keep-work", action="store_true",
                     help="keep the tools' outputs (scored pairs, identities)")
    report = sub.add_parser("report", help="rebuild report.md and plots from results.json")
    report.add_argument("out", type=Path)
    sub.add_parser("list", help="list suites, tools and data sets")
    prep = sub.add_parser("prepare", help="build data sets into the cache")
    prep.add_argument("names", nargs="+")
    prep.add_argument("--data-dir", type=Path, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list = ["run", *args_list]
    args = build_parser().parse_args(args_list)
    try:
        if args.command == "run":
            from benchmarks.runner import run_suite

            out = args.out or Path("bench-out") / args.suite
            report = run_suite(args.suite, out, _tools(args.tools), data_dir=args.data_dir,
                               work_dir=args.work_dir, keep_work=args.keep_work)
            print(report)
        elif args.command == "report":
            from benchmarks.report import regenerate

            print(regenerate(args.out))
        elif args.command == "list":
            from benchmarks.datasets import DATASETS
            from benchmarks.suites import SUITES
            from benchmarks.tools import TOOLS

            print("suites:")
            for suite in SUITES.values():
                print(f"  {suite.name:10} {len(suite.runs):3} runs  {suite.description}")
            print("tools:")
            for name, tool in TOOLS.items():
                reason = tool.unavailable_reason()
                note = f"  [unavailable: {reason}]" if reason else ""
                print(f"  {name:12} {tool.label}{note}")
            print("data sets:")
            for spec in DATASETS.values():
                print(f"  {spec.name:16} {spec.description}")
        elif args.command == "prepare":
            from benchmarks.datasets import prepare

            for name in args.names:
                dataset = prepare(name, args.data_dir)
                print(f"{name}: {dataset.n_records:,} records, truth {dataset.truth}")
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
