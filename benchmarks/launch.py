"""A tiny launcher that runs one command and reports that command's own resource usage.

``python -m benchmarks.launch RESULT_JSON CMD...`` starts ``CMD`` and waits for it with
``os.wait4``; RESULT_JSON gets ``{"wall_seconds", "maxrss_kb", "user_seconds",
"system_seconds", "exit_code"}`` and the launcher exits with the command's exit code.

Why a launcher: on Linux a process's peak-RSS record survives ``exec`` and starts from the
memory of the process it was forked (or vforked) from — so a tool started straight from the
benchmark runner, which holds data sets and metrics in memory, would report the runner's peak
as its own. Started from this launcher, which imports almost nothing, the floor is ~10 MB.
"""

import json
import os
import sys
import time


def main() -> int:
    result_path, *cmd = sys.argv[1:]
    start = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, dict(os.environ))
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(result_path, "w") as fh:
        json.dump(
            {
                "wall_seconds": wall,
                "maxrss_kb": usage.ru_maxrss,
                "user_seconds": usage.ru_utime,
                "system_seconds": usage.ru_stime,
                "exit_code": code,
            },
            fh,
        )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
