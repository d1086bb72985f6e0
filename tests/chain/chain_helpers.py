"""Helpers of the chain-layer tests (a Ganache process, raw RPC calls)."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Any

from web3 import Web3

from fairgate.settings import DEV_MNEMONIC, PROJECT_ROOT

GANACHE = PROJECT_ROOT / "node_modules" / ".bin" / "ganache"


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in (8545, 8555):
            return port


class LocalGanache:
    """A Ganache process on a free port (stopped by the fixture)."""

    def __init__(self, *extra: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                str(GANACHE),
                "--server.port",
                str(self.port),
                "--wallet.mnemonic",
                DEV_MNEMONIC,
                "--wallet.totalAccounts",
                "10",
                "--chain.chainId",
                "1337",
                "--logging.quiet",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        w3 = Web3(Web3.HTTPProvider(self.url))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ganache exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if w3.eth.block_number >= 0:
                    return
            except Exception:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("ganache did not start in 30 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]
