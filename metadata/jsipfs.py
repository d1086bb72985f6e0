"""Run a js-ipfs node (npm ``ipfs`` 0.66.1) for development and tests.

Why js-ipfs: no Kubo binary can be installed offline here, and js-ipfs serves the same Kubo RPC
API (``/api/v0/add``, ``cat``, ``pin/add``...) that Kubo, IPFS Cluster and pinning services expose,
so :class:`metadata.store.KuboStore` is tested against a real node, not a mock.

It lives in ``tools/ipfs-node`` with its own lockfile, not in the root ``package.json``: it is
289 MB and minutes to install, which every other install would otherwise pay.
:func:`ensure_jsipfs_installed` runs ``npm ci`` there on first use.

Two changes make it run on Node 20 and offline (measured, see the toolchain notes):

* ``Promise.withResolvers`` is missing on Node 20 and ``jsipfs init`` calls it: the CLI is started
  with ``node --require with-resolvers.cjs``;
* ``daemon --offline`` still starts libp2p listeners unless ``Addresses.Swarm`` is ``[]``.

Each node gets its own ``IPFS_PATH`` under a temporary directory and free loopback ports, so tests
and a developer's node never share a repo or collide (ports 8545/8555 belong to the chain).

Run ``python -m metadata.jsipfs`` for a development node; it logs its API URL (use it as
``FAIRGATE_IPFS_API_URL``) and stops on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

from fairgate.errors import ToolchainError

logger = logging.getLogger(__name__)

IPFS_NODE_DIR = Path(__file__).resolve().parent.parent / "tools" / "ipfs-node"
JSIPFS_VERSION = "0.66.1"
_RESERVED_PORTS = frozenset({8545, 8555})


def _cli_path(node_dir: Path) -> Path:
    return node_dir / "node_modules" / "ipfs" / "src" / "cli.js"


def _lock_digest(node_dir: Path) -> str:
    return hashlib.sha256((node_dir / "package-lock.json").read_bytes()).hexdigest()


def _stamp(node_dir: Path) -> Path:
    return node_dir / "node_modules" / ".fairgate-lock-sha256"


def _is_installed(node_dir: Path) -> bool:
    """Installed from *this* lockfile: a pulled lock change triggers a reinstall."""
    try:
        return _cli_path(node_dir).is_file() and (
            _stamp(node_dir).read_text().strip() == _lock_digest(node_dir)
        )
    except OSError:
        return False


def ensure_jsipfs_installed(node_dir: Path = IPFS_NODE_DIR, *, timeout_s: float = 1200.0) -> Path:
    """Return the js-ipfs CLI script, running ``npm ci`` in ``node_dir`` first if it is missing.

    A cold install downloads ~289 MB (about 3 minutes here); with npm's cache in ``~/.npm`` warm it
    is much faster. npm's output and a heartbeat are logged at INFO so a first test run does not
    look hung. A file lock serialises concurrent callers (pytest-xdist workers): two ``npm ci`` in
    one folder would delete each other's files.
    """
    cli = _cli_path(node_dir)
    if _is_installed(node_dir):
        return cli
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainError("npm is not on PATH: install Node.js 18+ to run the js-ipfs node")
    if not (node_dir / "package-lock.json").is_file():
        raise ToolchainError(f"{node_dir}/package-lock.json is missing: cannot install js-ipfs")
    with open(node_dir / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_installed(node_dir):
            return cli  # another process installed it while we waited
        logger.info("installing js-ipfs %s in %s (npm ci, ~289 MB)", JSIPFS_VERSION, node_dir)
        started = time.monotonic()
        proc = subprocess.Popen(
            # --prefer-offline: tarballs already in ~/.npm are not revalidated against the registry
            [npm, "ci", "--no-audit", "--no-fund", "--progress=false", "--prefer-offline"],
            cwd=node_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        tail: list[str] = []

        def relay() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip()
                if line:
                    tail.append(line)
                    del tail[:-20]
                    logger.info("npm: %s", line)

        reader = threading.Thread(target=relay, daemon=True)
        reader.start()
        while True:
            try:
                proc.wait(timeout=15)
                break
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - started
                if elapsed > timeout_s:
                    proc.kill()
                    proc.wait()
                    raise ToolchainError(
                        f"npm ci of js-ipfs timed out after {elapsed:.0f} s"
                    ) from None
                logger.info("still installing js-ipfs (%.0f s elapsed)", elapsed)
        reader.join(timeout=5)
        elapsed = time.monotonic() - started
        if proc.returncode != 0 or not cli.is_file():
            raise ToolchainError(
                f"npm ci of js-ipfs failed (exit {proc.returncode}): " + " | ".join(tail[-5:])
            )
        _stamp(node_dir).write_text(_lock_digest(node_dir) + "\n")
        logger.info("js-ipfs installed in %.1f s", elapsed)
    return cli


def free_port() -> int:
    """A free loopback TCP port (never the chain's 8545/8555)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _RESERVED_PORTS:
            return port


class JsIpfsNode:
    """One js-ipfs daemon with its own repo; a context manager that starts and stops it.

    ``api_url`` is the RPC API root (``http://127.0.0.1:<port>``), what ``FAIRGATE_IPFS_API_URL``
    and :class:`metadata.store.KuboStore` expect.
    """

    def __init__(
        self,
        repo_dir: Path | None = None,
        *,
        api_port: int | None = None,
        node_dir: Path = IPFS_NODE_DIR,
    ) -> None:
        self.node_dir = node_dir
        self._owns_repo = repo_dir is None
        self._repo_parent: Path | None = None
        self.repo_dir = repo_dir
        self.api_port = api_port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self.startup_s: float | None = None

    @property
    def api_url(self) -> str:
        if self.api_port is None:
            raise ToolchainError("the js-ipfs node is not started")
        return f"http://127.0.0.1:{self.api_port}"

    def _node_cmd(self, cli: Path, *args: str) -> list[str]:
        node = shutil.which("node")
        if node is None:
            raise ToolchainError("node is not on PATH: install Node.js 18+ to run js-ipfs")
        polyfill = self.node_dir / "with-resolvers.cjs"
        return [node, "--require", str(polyfill), str(cli), *args]

    def _env(self) -> dict[str, str]:
        assert self.repo_dir is not None
        return {**os.environ, "IPFS_PATH": str(self.repo_dir)}

    def _init_repo(self, cli: Path) -> None:
        """``jsipfs init --profile test``, then make the config offline and loopback-only."""
        assert self.repo_dir is not None
        if not (self.repo_dir / "config").is_file():
            result = subprocess.run(
                self._node_cmd(cli, "init", "--profile", "test"),
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if result.returncode != 0:
                raise ToolchainError(
                    f"jsipfs init failed: {(result.stderr or result.stdout)[-500:]}"
                )
        config_path = self.repo_dir / "config"
        config = json.loads(config_path.read_text())
        addresses = config.setdefault("Addresses", {})
        addresses["Swarm"] = []  # without this, --offline still starts libp2p
        addresses["API"] = f"/ip4/127.0.0.1/tcp/{self.api_port}"
        addresses["Gateway"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        addresses["RPC"] = f"/ip4/127.0.0.1/tcp/{free_port()}"  # gRPC-over-websocket, unused
        addresses["Delegates"] = []
        config["Bootstrap"] = []
        config_path.write_text(json.dumps(config, indent=2))

    def start(self, timeout_s: float = 60.0) -> JsIpfsNode:
        """Install if needed, init the repo, start ``daemon --offline`` and wait for the API."""
        if self._proc is not None:
            return self
        cli = ensure_jsipfs_installed(self.node_dir)
        if self.repo_dir is None:
            self._repo_parent = Path(tempfile.mkdtemp(prefix="fairgate-jsipfs-"))
            self.repo_dir = self._repo_parent / "repo"
        if self.api_port is None:
            self.api_port = free_port()
        started = time.monotonic()
        self._init_repo(cli)
        self._log = self.repo_dir.parent / f"jsipfs-{self.api_port}.log"
        with open(self._log, "wb") as log:
            self._proc = subprocess.Popen(
                self._node_cmd(cli, "daemon", "--offline"),
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in a terminal must not kill it mid-write
            )
        try:
            self._wait_ready(started, timeout_s)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started
        logger.info("js-ipfs ready at %s in %.1f s", self.api_url, self.startup_s)
        return self

    def _log_tail(self) -> str:
        if self._log is None or not self._log.is_file():
            return ""
        return self._log.read_text(errors="replace")[-800:]

    def _wait_ready(self, started: float, timeout_s: float) -> None:
        assert self._proc is not None
        url = f"{self.api_url}/api/v0/version"
        while True:
            if self._proc.poll() is not None:
                raise ToolchainError(
                    f"js-ipfs exited with {self._proc.returncode}: {self._log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(url, timeout=2.0).status_code == 200:
                    return
            if time.monotonic() - started > timeout_s:
                raise ToolchainError(
                    f"js-ipfs not ready after {timeout_s:.0f} s: {self._log_tail()}"
                )
            time.sleep(0.2)

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (js-ipfs closes its repo cleanly), then SIGKILL; remove a temp repo."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("js-ipfs did not stop in %.0f s; killing it", timeout_s)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._owns_repo and self._repo_parent is not None:
            shutil.rmtree(self._repo_parent, ignore_errors=True)
            self._repo_parent = None
            self.repo_dir = None

    def __enter__(self) -> JsIpfsNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """Run a development node until Ctrl-C (``python -m metadata.jsipfs``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with JsIpfsNode() as node:
        logger.info("FAIRGATE_IPFS_API_URL=%s", node.api_url)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
