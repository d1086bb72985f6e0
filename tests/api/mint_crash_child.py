"""Child process of test_crash_safety.py: a zygote that forks minting workers on demand, each of
which SIGKILLs itself at a named point of a batch (``api.services.minting.MINT_HOOK``, one of
``MINT_POINTS``), or runs on until it is terminated (point ``none``).

The zygote imports the worker (web3, SQLAlchemy, the bridge: about 1.5 s of CPU) once; each
worker is a fork of it, so the test's many short-lived workers cost no Python start-up each.
Protocol on stdin/stdout, one line each: the test writes a point, the zygote answers the forked
worker's pid. Workers are reaped by the zygote, so a pid that no longer exists is a worker that
died. ``argv[1]`` is a file each worker appends its point to just before it kills itself, so the
test knows that the kill landed there (and not before the first batch).
"""

from __future__ import annotations

import os
import signal
import sys

from api import worker
from api.services import minting


def run_worker(point: str, landed: str) -> None:
    """In the forked child: the worker, killed at ``point`` (never returns)."""
    code = 0
    try:
        if point != "none":

            def hook(at: str) -> None:
                if at == point:
                    with open(landed, "a", encoding="utf-8") as fh:
                        fh.write(at + "\n")
                    os.kill(os.getpid(), signal.SIGKILL)

            minting.MINT_HOOK = hook
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        worker.main(["--no-index", "--log-level", "warning"])
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def reap(_signum: int, _frame: object) -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def main() -> None:
    landed = sys.argv[1]
    signal.signal(signal.SIGCHLD, reap)
    for line in sys.stdin:
        point = line.strip()
        if point != "none" and point not in minting.MINT_POINTS:
            raise SystemExit(f"unknown point {point!r}")
        pid = os.fork()
        if pid == 0:
            sys.stdin.close()
            run_worker(point, landed)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
