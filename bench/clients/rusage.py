"""Runs a command and reports its own resource usage, for clients that cannot report it.

Usage: python3 rusage.py COMMAND [ARG...]. Waits for the command with os.wait4, so the
figures are that process's alone: prints `RUSAGE <json>` with exitCode, wallSeconds,
cpuUserSeconds, cpuSystemSeconds and peakRssBytes (ru_maxrss, kilobytes on Linux, times 1024).
Linux carries ru_maxrss across exec from the forked address space, so the figure is at least
this small wrapper's own size (about 10 MB), never the Node harness's: fork happens here.
The command's stdout and stderr pass through.
"""
import json
import os
import sys
import time


def main() -> int:
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    report = {
        "exitCode": os.waitstatus_to_exitcode(status),
        "wallSeconds": wall,
        "cpuUserSeconds": usage.ru_utime,
        "cpuSystemSeconds": usage.ru_stime,
        "peakRssBytes": usage.ru_maxrss * 1024,
    }
    print("RUSAGE " + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
