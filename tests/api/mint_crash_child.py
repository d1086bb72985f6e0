"""Child process of test_crash_safety.py: a minting worker (``python -m api.worker``) that SIGKILLs
itself at a named point of a batch (``api.services.minting.MINT_HOOK``, one of ``MINT_POINTS``).

``argv[1]`` is the point, ``argv[2]`` a file the child appends the point to just before it dies,
so the test knows that the kill landed there (and not before the first batch)."""

from __future__ import annotations

import os
import signal
import sys

from api import worker
from api.services import minting


def main() -> None:
    point, landed = sys.argv[1], sys.argv[2]
    assert point in minting.MINT_POINTS, point

    def hook(at: str) -> None:
        if at == point:
            with open(landed, "a", encoding="utf-8") as fh:
                fh.write(at + "\n")
            os.kill(os.getpid(), signal.SIGKILL)

    minting.MINT_HOOK = hook
    worker.main(["--no-index", "--log-level", "warning"])


if __name__ == "__main__":
    main()
