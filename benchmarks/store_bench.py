"""Identity store benchmark: incremental loading and one-record matching at scale.

    python -m benchmarks.store_bench --records 300000 --batch-size 1000 [--store URL]
    python -m benchmarks.store_bench --records 300000 --keep-store /tmp/store300k.db
        # the first run keeps the loaded store; later ones time only the one-record calls

Measures, on the synthetic migrant-student data:
- batch `link` over all records (the reference time; model training reported apart);
- loading the same records into an empty store in batches (one transaction each), with the
  model the batch run trained;
- matching one new record against the full store in-process: `match` (score only) and
  `upsert_record` (normalise, block, score, link and commit), median and p99;
- the in-memory index's reported size and the process's peak RSS;
- agreement of the loaded partition with the batch one (share of records whose identity
  differs);
- seconds per stage of the store's write transactions (`score` and `index_add` are the matching
  core's `OnlineMatcher`; the rest is the store's own work), and the garbage collector's
  seconds and full collections during the load.
Not a timed test: it prints JSON (and writes it with --out).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.synthetic import generate
from matcher.ingest import validate
from matcher.pipeline import Linker
from matcher.settings import load_preset
from matcher.store import IdentityStore


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p99_ms": round(p99 * 1000, 3), "max_ms": round(ordered[-1] * 1000, 3),
            "n": len(ordered)}


@contextmanager
def _collector_time() -> Iterator[dict[str, Any]]:
    """Seconds the garbage collector ran inside the block, and its full collections."""
    found: dict[str, Any] = {"seconds": 0.0, "full": 0}
    started = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        found["seconds"] += time.perf_counter() - started[0]
        found["full"] += info["generation"] == 2

    gc.callbacks.append(callback)
    try:
        yield found
    finally:
        gc.callbacks.remove(callback)


def _partition(frame: pl.DataFrame) -> dict[str, frozenset[str]]:
    groups = frame.group_by("identity_id").agg("record_id")["record_id"].to_list()
    return {r: g for group in groups for g in [frozenset(group)] for r in group}


def run(records: int, batch_size: int, probes: int, store_url: str | None, seed: int,
        progress: bool = True, keep_store: Path | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the JSON-ready results.

    With `keep_store` (a SQLite file), the loaded store is kept there, and a later run that
    finds it skips the batch link and the load: only the one-record timings are measured,
    on a copy (`upsert_record` writes)."""
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if progress else (lambda m: None)
    settings = load_preset("msix")
    raw, _ = generate(records + probes, seed=seed)
    data = validate(raw, settings).records
    probe_rows, data = data.tail(probes), data.head(data.height - probes)
    say(f"{data.height:,} records, {probe_rows.height:,} probes")
    with tempfile.TemporaryDirectory(prefix="store_bench_") as tmp:
        result: dict[str, Any] = {"records": data.height, "batch_size": batch_size}
        if keep_store is not None and keep_store.exists():
            say(f"reusing the store in {keep_store} (no link, no load)")
        else:
            url = (f"sqlite:///{keep_store}" if keep_store is not None else store_url
                   or f"sqlite:///{Path(tmp) / 'bench.db'}")
            store, loaded = _link_and_load(data, settings, url, batch_size, say)
            result |= loaded
            if keep_store is None:
                result |= _one_record(store, probe_rows, say)
                store.close()
                return result
            store.close()
        copy = Path(tmp) / "probe.db"
        shutil.copyfile(keep_store, copy)
        store = IdentityStore.open(f"sqlite:///{copy}", settings=settings)
        say("reading the store into the index")
        store.match(probe_rows.head(1))
        result |= _one_record(store, probe_rows, say)
        store.close()
        return result


def _link_and_load(data: pl.DataFrame, settings: Any, store_url: str, batch_size: int,
                   say: Any) -> tuple[IdentityStore, dict[str, Any]]:
    """Batch `link` for reference, then `load` into the store in batches."""
    say("batch link")
    linker = Linker(settings)
    start = time.perf_counter()
    batch = linker.link(data)
    link_seconds = time.perf_counter() - start
    train_seconds = linker.seconds.get("train", 0.0)
    assert linker.model is not None

    store = IdentityStore.open(store_url, settings=settings, model=linker.model)
    say(f"loading in batches of {batch_size:,} into {store_url.split('@')[-1]}")
    start = time.perf_counter()
    batch_times: list[float] = []
    last = [start]

    def after_batch(_: Any) -> None:
        now = time.perf_counter()
        batch_times.append(now - last[0])
        last[0] = now
        if len(batch_times) % 25 == 1:
            say(f"  {len(batch_times) * batch_size:,} loaded, last batch "
                f"{batch_times[-1]:.3f} s")

    with _collector_time() as collector:
        store.load_batches(data, batch_size=batch_size, after_batch=after_batch)
    load_seconds = time.perf_counter() - start
    load_stages = {k: round(v, 2) for k, v in sorted(store.timings.items(), key=lambda kv: -kv[1])}
    store.timings.clear()

    ours, theirs = _partition(store.identities.assignments()), _partition(batch.identities)
    differing = sum(1 for r, g in ours.items() if theirs.get(r) != g)
    return store, {
        "engine": store.engine.dialect.name,
        "link_seconds": round(link_seconds, 2),
        "link_train_seconds": round(train_seconds, 2),
        "link_seconds_without_training": round(link_seconds - train_seconds, 2),
        "load_seconds": round(load_seconds, 2),
        "load_over_link": round(load_seconds / link_seconds, 2),
        "load_over_link_without_training": round(load_seconds / max(link_seconds
                                                                   - train_seconds, 1e-9), 2),
        "batch_seconds": _quantiles(batch_times),
        "load_stage_seconds": load_stages,
        "load_gc_seconds": round(collector["seconds"], 2),
        "load_gc_full_collections": collector["full"],
        "records_with_identity_differing_from_batch": differing,
        "share_differing_from_batch": round(differing / max(len(ours), 1), 4),
    }


def _one_record(store: IdentityStore, probe_rows: pl.DataFrame, say: Any) -> dict[str, Any]:
    """`match` then `upsert_record` of each probe, one at a time (wall and CPU time)."""
    say("one-record matching")
    match_times, match_cpu, upsert_times = [], [], []
    rows = probe_rows.to_dicts()
    for row in rows:
        frame = pl.DataFrame([row], schema=dict.fromkeys(row, pl.String))
        t0, c0 = time.perf_counter(), time.process_time()
        store.match(frame)
        match_times.append(time.perf_counter() - t0)
        match_cpu.append(time.process_time() - c0)
    for row in rows:
        t0 = time.perf_counter()
        store.upsert_record(row, validate=False)
        upsert_times.append(time.perf_counter() - t0)
    upsert_stages = {k: round(v / max(len(rows), 1) * 1000, 3)
                     for k, v in sorted(store.timings.items(), key=lambda kv: -kv[1])}
    index = store.index()
    return {
        "engine": store.engine.dialect.name,
        "upsert_stage_ms_per_record": upsert_stages,
        "match_one": _quantiles(match_times),
        "match_one_cpu": _quantiles(match_cpu),
        "upsert_one": _quantiles(upsert_times),
        "index_records": len(index),
        "index_memory_mb": round(index.memory_bytes() / 2**20, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "cpu_count": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.store_bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=1000,
                        help="new records matched one at a time after the load")
    parser.add_argument("--store", default=None, help="store URL (default: a temporary SQLite)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep-store", type=Path, default=None, metavar="FILE",
                        help="keep the loaded SQLite store in FILE; when FILE exists, skip "
                             "the link and the load and time only the one-record calls")
    args = parser.parse_args(argv)
    result = run(args.records, args.batch_size, args.probes, args.store, args.seed,
                 keep_store=args.keep_store)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
