"""Load benchmark of the HTTP API against a live server on 127.0.0.1.

    python -m benchmarks.api_load                       # 300,000-record store, 1/8/32 clients
    python -m benchmarks.api_load --records 20000 --requests 500 --seconds 10   # a quick run

1. Builds (once) a SQLite store of `--records` synthetic migrant-student records
   (`benchmarks.synthetic.generate`), linked with a model trained on a sample (retrained if
   the matching code's comparisons changed since). Probes are a seeded sample of stored
   records, half of them moved to another state, so each has real candidates.
2. Starts `studentlink serve` on a free port of 127.0.0.1 and waits for `/readyz`.
3. `POST /v1/match` at each concurrency (1, 8, 32 clients): throughput, p50/p95/p99 latency
   and errors. Each level stops after `--requests` requests or `--seconds` seconds.
4. `POST /v1/records`: `--upload-batches` batches of `--upload-batch-size` new records.
5. Stops the server, writes the results as JSON and prints a table.

Every loop is bounded in requests and in time, and only 127.0.0.1 is ever contacted.
Targets (issue 5): p99 <= 100 ms at 8 clients on 2 cores, >= 200 matches/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

HOST = "127.0.0.1"
TARGET_P99_MS = 100.0
TARGET_MATCHES_PER_SECOND = 200.0
READY_TIMEOUT_S = 1800.0
REQUEST_TIMEOUT_S = 60.0


@dataclass
class LevelResult:
    """One measured level: a concurrency of one endpoint."""

    endpoint: str
    clients: int
    requests: int
    errors: int
    seconds: float
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    records_per_second: float | None = None
    statuses: dict[str, int] = field(default_factory=dict)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the store -------------------------------------------------------------------------------

def build_store(path: Path, n_records: int, seed: int, train_sample: int, batch: int) -> None:
    """Generate, train and load `n_records` records into a new SQLite store at `path`."""
    from benchmarks.synthetic import generate
    from matcher.pipeline import Linker
    from matcher.settings import load_preset
    from matcher.store import IdentityStore

    started = time.perf_counter()
    stored, _ = generate(n_records, seed)
    settings = load_preset("msix")
    _say(f"training on {min(train_sample, n_records):,} records")
    linker = Linker(settings.model_copy(update={"u_sample_pairs": 200_000}))
    linker.link(stored.head(train_sample))
    path.parent.mkdir(parents=True, exist_ok=True)
    store = IdentityStore.open(path, settings=settings, model=linker.model, preset="msix")
    try:
        for start in range(0, n_records, batch):
            store.load(stored.slice(start, batch), actor="api_load")
            _say(f"  loaded {min(start + batch, n_records):,}/{n_records:,} "
                 f"({time.perf_counter() - started:.0f} s)")
    finally:
        store.close()


def probes(path: Path, n_probes: int, seed: int) -> pl.DataFrame:
    """Records to send: a seeded sample of stored records, every other one moved to another
    state with a new enrollment date (as when a child turns up elsewhere). Each has at least
    its source record as a candidate, as real look-ups of known children do."""
    from matcher.store import IdentityStore, db
    from matcher.store.records import read_records

    with IdentityStore.open(path) as store, db.read_session(store.engine) as session:
        frame, _ = read_records(session)
    sample = frame.sample(min(n_probes, frame.height), seed=seed, shuffle=True)
    moved = pl.int_range(pl.len()) % 2 == 1
    return sample.with_columns(
        pl.when(moved).then(pl.lit("ZZ")).otherwise(pl.col("state")).alias("state"),
        pl.when(moved).then(pl.lit("2025-01-15")).otherwise(pl.col("enrollment_date"))
        .alias("enrollment_date"),
    )


def model_fits(model_json: str | None) -> bool:
    """Whether a saved model's comparisons and levels are the matching code's current ones."""
    from matcher.pipeline import Linker
    from matcher.settings import load_preset

    if not model_json:
        return False
    saved = [(c.get("name"), c.get("labels")) for c in json.loads(model_json).get(
        "comparisons", [])]
    current = [(c.name, list(c.labels())) for c in Linker(load_preset("msix")).comparisons]
    return saved == current


def prepare_store(path: Path) -> tuple[str, int]:
    """A fresh exchange key, and how many records the store holds. Retrains the saved model
    if it no longer fits the matching code (the comparisons changed since it was built)."""
    from api.auth import Role, create_key
    from matcher.pipeline import Linker
    from matcher.settings import load_preset
    from matcher.store import IdentityStore, db
    from matcher.store.records import read_records

    store = IdentityStore.open(path)
    try:
        if not model_fits(store.meta("model_json")):
            _say("the stored model does not fit the matching code (its comparisons changed); "
                 "retraining it on a sample of the stored records")
            with db.read_session(store.engine) as session:
                frame, _ = read_records(session)
            linker = Linker(load_preset("msix").model_copy(update={"u_sample_pairs": 200_000}))
            linker.link(frame.head(5000))
            assert linker.model is not None
            store.set_meta({"model_json": linker.model.to_json()})
        key = create_key(store, Role.EXCHANGE, "*").key
        size = len(store.identities.assignments())
    finally:
        store.close()
    return key, size


# -- the server ------------------------------------------------------------------------------

def start_server(store: Path, port: int, workers: int, log: Path
                 ) -> subprocess.Popen[bytes]:
    """`studentlink serve` in a child process; its output goes to `log`."""
    command = [sys.executable, "-m", "matcher.cli", "serve", "--store", str(store),
               "--host", HOST, "--port", str(port), "--workers", str(workers)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        return subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)


def wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float,
               in_a_row: int) -> float:
    """Seconds until `/readyz` answered 200 `in_a_row` times (on new connections, so that
    every worker process has been asked)."""
    started = time.perf_counter()
    streak = 0
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            conn.request("GET", "/readyz")
            response = conn.getresponse()
            response.read()
            streak = streak + 1 if response.status == 200 else 0
        except OSError:
            streak = 0
        finally:
            conn.close()
        if streak >= in_a_row:
            return time.perf_counter() - started
        time.sleep(0.2 if streak else 1.0)
    raise TimeoutError(f"the server was not ready after {timeout:.0f} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)


# -- load ------------------------------------------------------------------------------------

def run_level(port: int, key: str, path: str, bodies: list[bytes], clients: int,
              max_requests: int, max_seconds: float, endpoint: str,
              records_per_body: int = 1) -> LevelResult:
    """`clients` threads sending `bodies` round-robin until the request or time budget ends."""
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    deadline = time.perf_counter() + max_seconds
    headers = {"X-API-Key": key, "Content-Type": "application/json"}

    def client() -> None:
        nonlocal issued
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        try:
            while True:
                with lock:
                    if issued >= max_requests or time.perf_counter() >= deadline:
                        return
                    body = bodies[issued % len(bodies)]
                    issued += 1
                began = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = str(response.status)
                except (OSError, http.client.HTTPException) as exc:
                    status = type(exc).__name__
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
                elapsed = time.perf_counter() - began
                with lock:
                    latencies.append(elapsed * 1000)
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max_seconds + REQUEST_TIMEOUT_S + 5)
    seconds = time.perf_counter() - started
    done = len(latencies)
    errors = sum(n for s, n in statuses.items() if s != "200")
    return LevelResult(
        endpoint=endpoint, clients=clients, requests=done, errors=errors, seconds=seconds,
        per_second=done / seconds if seconds else 0.0,
        p50_ms=statistics.median(latencies) if latencies else float("nan"),
        p95_ms=_percentile(latencies, 95), p99_ms=_percentile(latencies, 99),
        max_ms=max(latencies, default=float("nan")),
        records_per_second=(done - errors) * records_per_body / seconds if seconds else None,
        statuses=statuses)


def _match_bodies(frame: pl.DataFrame) -> list[bytes]:
    rows = frame.drop("record_id").to_dicts()
    return [json.dumps({"record": {k: v for k, v in r.items() if v is not None}}).encode()
            for r in rows]


def _upload_bodies(frame: pl.DataFrame, batch: int, tag: str) -> list[bytes]:
    frame = frame.with_columns(pl.format("{}-{}", pl.lit(tag), pl.col("record_id"))
                               .alias("record_id"))
    rows = frame.to_dicts()
    return [json.dumps({"records": [{k: v for k, v in r.items() if v is not None}
                                    for r in rows[i:i + batch]]}).encode()
            for i in range(0, len(rows) - batch + 1, batch)]


def table(results: list[LevelResult]) -> str:
    head = (f"{'endpoint':<16}{'clients':>8}{'requests':>9}{'errors':>7}{'req/s':>9}"
            f"{'rec/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    lines = [head, "-" * len(head)]
    for r in results:
        rec = f"{r.records_per_second:,.0f}" if r.records_per_second is not None else "-"
        lines.append(f"{r.endpoint:<16}{r.clients:>8}{r.requests:>9}{r.errors:>7}"
                     f"{r.per_second:>9.1f}{rec:>9}{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}"
                     f"{r.p99_ms:>9.1f}{r.max_ms:>9.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=Path("benchmarks/data/api_load.db"),
                        help="SQLite store to use (built if missing).")
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--probes", type=int, default=4000,
                        help="Sampled records: half are match probes, half uploads.")
    parser.add_argument("--rebuild", action="store_true", help="Build the store again.")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="Server worker processes (default: one per core).")
    parser.add_argument("--requests", type=int, default=3000, help="Per level, at most.")
    parser.add_argument("--seconds", type=float, default=30.0, help="Per level, at most.")
    parser.add_argument("--upload-batches", type=int, default=10)
    parser.add_argument("--upload-batch-size", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/api_load.json"))
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]

    if args.rebuild and args.store.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.store}{suffix}").unlink(missing_ok=True)
    build_seconds = None
    if not args.store.exists():
        _say(f"building a {args.records:,}-record store at {args.store}")
        began = time.perf_counter()
        build_store(args.store, args.records, args.seed, 5000, 10_000)
        build_seconds = time.perf_counter() - began
    key, stored = prepare_store(args.store)
    held_out = probes(args.store, args.probes, args.seed)
    half = max(1, args.probes // 2)
    match_bodies = _match_bodies(held_out.head(half))
    upload_bodies = _upload_bodies(held_out.tail(args.probes - half), args.upload_batch_size,
                                   f"LOAD{int(time.time())}")

    load_before = os.getloadavg()
    port = _free_port()
    _say(f"starting the server ({args.workers} worker(s)) on {HOST}:{port} over "
         f"{stored:,} records")
    server = start_server(args.store, port, args.workers, args.out.with_suffix(".server.log"))
    results: list[LevelResult] = []
    try:
        ready_seconds = wait_ready(port, server, READY_TIMEOUT_S, 4 * args.workers)
        _say(f"ready after {ready_seconds:.0f} s (index built)")
        run_level(port, key, "/v1/match", match_bodies, 2, 40, 30, "warm-up")
        for clients in levels:
            _say(f"POST /v1/match with {clients} client(s)")
            results.append(run_level(port, key, "/v1/match", match_bodies, clients,
                                     args.requests, args.seconds, "POST /v1/match"))
        if args.upload_batches and upload_bodies:
            _say(f"POST /v1/records: {args.upload_batches} batches of "
                 f"{args.upload_batch_size}")
            results.append(run_level(
                port, key, "/v1/records", upload_bodies, 1,
                min(args.upload_batches, len(upload_bodies)), args.seconds * 4,
                "POST /v1/records", records_per_body=args.upload_batch_size))
    finally:
        stop_server(server)

    at8 = next((r for r in results if r.endpoint == "POST /v1/match" and r.clients == 8), None)
    report: dict[str, Any] = {
        "benchmark": "api_load",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg(),
                    "note": "other work on the machine during the run inflates latencies; "
                            "compare load_average with the core count"},
        "store": {"path": str(args.store), "records": stored, "build_seconds": build_seconds},
        "server_workers": args.workers,
        "ready_seconds": ready_seconds,
        "budget": {"requests_per_level": args.requests, "seconds_per_level": args.seconds},
        "results": [asdict(r) for r in results],
        "targets": {
            "p99_ms_at_8_clients": TARGET_P99_MS,
            "matches_per_second": TARGET_MATCHES_PER_SECOND,
            "met_p99": bool(at8 and at8.p99_ms <= TARGET_P99_MS),
            "met_throughput": bool(at8 and max(r.per_second for r in results
                                               if r.endpoint == "POST /v1/match")
                                   >= TARGET_MATCHES_PER_SECOND),
            "no_errors": all(r.errors == 0 for r in results),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(table(results))
    print(f"store: {stored:,} records; {args.workers} worker(s); load average "
          f"{load_before[0]:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"results in {args.out}")
    return 0 if report["targets"]["no_errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
