"""Run one command as a child process and measure its wall time and peak memory.

Peak memory is the command's own maximum resident set size from ``os.wait4`` (on Linux
``ru_maxrss`` in KiB; it covers the command and any descendants it waited for), taken by the
small launcher :mod:`benchmarks.launch` that starts it — see there why the runner does not
start tools itself. Reading ``getrusage(RUSAGE_CHILDREN)`` before and after would not work
either: it keeps the maximum over all children ever waited for, so a small run after a large
one would inherit the large one's peak.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.05
LAUNCHER = Path(__file__).with_name("launch.py")


@dataclass(frozen=True)
class Measurement:
    """What running a command cost."""

    returncode: int
    wall_seconds: float
    peak_memory_mb: float
    user_seconds: float
    system_seconds: float
    timed_out: bool


def _maxrss_mb(maxrss: int) -> float:
    # Linux reports KiB, macOS bytes
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def run_measured(
    cmd: list[str],
    *,
    log_path: Path,
    timeout_s: float | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    on_tick: Callable[[float], None] | None = None,
) -> Measurement:
    """Run ``cmd`` with stdout and stderr to ``log_path``; kill it after ``timeout_s``.

    ``on_tick(elapsed_seconds)`` is called while waiting (for progress displays).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    usage_path = log_path.with_name(log_path.name + ".usage.json")
    usage_path.unlink(missing_ok=True)
    with log_path.open("wb") as log:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(LAUNCHER), str(usage_path), *cmd],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # its own process group, so a timeout kills all of it
        )
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            elapsed = time.perf_counter() - start
            if timeout_s is not None and elapsed > timeout_s:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            if on_tick is not None:
                on_tick(elapsed)
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it has been reaped
    if not timed_out and usage_path.exists():
        own = json.loads(usage_path.read_text())
        return Measurement(
            returncode=int(own["exit_code"]),
            wall_seconds=float(own["wall_seconds"]),
            peak_memory_mb=_maxrss_mb(int(own["maxrss_kb"])),
            user_seconds=float(own["user_seconds"]),
            system_seconds=float(own["system_seconds"]),
            timed_out=False,
        )
    # killed (or the launcher itself failed): the launcher's own usage is the best there is
    return Measurement(
        returncode=proc.returncode,
        wall_seconds=wall,
        peak_memory_mb=_maxrss_mb(usage.ru_maxrss),
        user_seconds=usage.ru_utime,
        system_seconds=usage.ru_stime,
        timed_out=timed_out,
    )
