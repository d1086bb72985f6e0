"""The bridge scaled out on one machine: replicas behind HAProxy, several minting workers.

Used by ``fairgate dev up --replicas N --workers M``, the scale-out tests and
``scripts/bench_orders.py``. Every process shares one PostgreSQL database and one Redis (given in
``env`` as FAIRGATE_DATABASE_URL / FAIRGATE_REDIS_URL); replicas are stateless (``python -m
api`` on ports of their own), workers claim work with row and advisory locks
(``python -m api.worker``).

The load balancer is HAProxy from Debian's packages (``apt-get install haproxy``; scripts/setup.sh
installs it when it can), run as our own process with a config written here, never as the
system's service:

* round robin over the replicas, keep-alive on both sides, ``X-Forwarded-For`` added (uvicorn
  trusts it from 127.0.0.1 by default, so the bridge limits the real client, not the balancer);
* an active health check of each replica (``GET /health/ready``: api.readiness, 503 when the
  replica cannot reach PostgreSQL) every ``check_ms``; ``fall 2``: a replica that stops
  answering, or answers that it is not ready, is out after two failed checks, and the sessions
  open to it are shut (``on-marked-down shutdown-sessions``); ``rise 2`` brings it back. A dead
  replica refuses the check's connection at once, and one without its database answers 503 at
  once; a live one may answer slowly under load, so an answer gets ``timeout check`` (10 s):
  with the default (the check interval) busy replicas flapped out of the pool in the benchmark,
  and with 3 s an overload (more arrivals than the 2 cores serve) took BOTH replicas out, every
  request then a 503: slowness is the queue's business, not the health check's. Redis and the
  chain being down do not fail the check (they are shared: the whole pool would go at once
  while the bridge can still sell);
* a request whose connection to a replica fails (a dead replica, before its check notices) is
  retried on another replica (``retries`` + ``option redispatch``): nothing was sent, so even a
  POST is safe to resend;
* at most ``SERVER_MAXCONN`` requests in flight per replica (``maxconn`` on each server): the
  rest wait in HAProxy's queue, first come first served, up to ``timeout queue`` (then 503).
  Without it an overload piled every request onto the replicas' event loops, where each waited
  behind all the others, health checks included: the checks timed out and both replicas left
  the pool at once. 128 in flight is about 1,100 orders/s per replica with payment sessions
  taking 100 ms, well above what a replica's core serves;
* a stats socket, read by :meth:`Balancer.servers` (state and requests sent per replica).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fairgate.errors import ConfigError, ToolchainError
from fairgate.settings import PROJECT_ROOT

HAPROXY_HINT = "install HAProxy from Debian's packages: apt-get install haproxy"
SERVER_MAXCONN = 128  # requests in flight per replica; the rest queue in HAProxy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        raise ToolchainError(f"haproxy not found: {HAPROXY_HINT}")
    return found


def haproxy_config(port: int, replicas: list[int], socket_path: Path, check_ms: int) -> str:
    servers = "\n".join(f"    server r{i} 127.0.0.1:{p} check" for i, p in enumerate(replicas))
    return f"""global
    maxconn 4096
    nbthread 1
    stats socket {socket_path} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout check 10s
    timeout queue 10s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    option http-keep-alive
    option forwardfor
    retries 3
    option redispatch 1

frontend bridge
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    http-reuse safe
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter {check_ms} fastinter {check_ms} downinter {check_ms} fall 2 rise 2 on-marked-down shutdown-sessions maxconn {SERVER_MAXCONN}
{servers}
"""  # noqa: E501


@dataclass
class Balancer:
    """HAProxy in front of ``replicas`` (ports), listening on ``port``."""

    port: int
    replicas: list[int]
    workdir: Path
    check_ms: int = 500
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def socket_path(self) -> Path:
        return self.workdir / "haproxy.sock"

    def start(self) -> Balancer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "haproxy.cfg"
        config.write_text(haproxy_config(self.port, self.replicas, self.socket_path, self.check_ms))
        binary = haproxy_binary()
        check = subprocess.run(
            [binary, "-c", "-q", "-f", str(config)], capture_output=True, text=True, check=False
        )
        if check.returncode:
            raise ToolchainError(f"haproxy refused its config: {check.stderr.strip()[-300:]}")
        log = (self.workdir / "haproxy.log").open("ab")
        self.process = subprocess.Popen(
            [binary, "-db", "-f", str(config)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ToolchainError(f"haproxy exited: see {self.workdir / 'haproxy.log'}")
            if self.socket_path.exists():
                with contextlib.suppress(OSError):
                    self.servers()
                    return self
            time.sleep(0.05)
        raise ToolchainError("haproxy did not start within 10 s")

    def command(self, line: str) -> str:
        """One command on HAProxy's stats socket (``show stat``, ``show servers state``...)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(self.socket_path))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, dict[str, str]]:
        """Per replica (``r0``, ``r1``...): ``status`` (UP, DOWN...), ``stot`` (requests sent)."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: row
            for row in rows
            if row.get("pxname") == "replicas" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@dataclass
class Cluster:
    """``replicas`` bridges (each ``web_workers`` uvicorn processes) behind a :class:`Balancer`,
    and ``workers`` minting workers; ``env`` is every process's environment (FAIRGATE_*)."""

    env: dict[str, str]
    workdir: Path
    replicas: int = 2
    workers: int = 2
    web_workers: int = 1
    port: int | None = None
    worker_env: list[dict[str, str]] = field(default_factory=list)  # per worker, over env
    replica_env: list[dict[str, str]] = field(default_factory=list)  # per replica, over env
    check_ms: int = 500
    replica_ports: list[int] = field(default_factory=list)
    replica_procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    worker_procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    balancer: Balancer | None = None

    def __post_init__(self) -> None:
        url = self.env.get("FAIRGATE_DATABASE_URL", "")
        if (self.replicas > 1 or self.workers > 1) and not url.startswith("postgresql"):
            raise ConfigError(
                "several replicas or workers need one PostgreSQL database: set "
                "FAIRGATE_DATABASE_URL=postgresql://... (SQLite serves one process group)"
            )

    @property
    def url(self) -> str:
        assert self.balancer is not None
        return self.balancer.url

    def start(self, timeout_s: float = 60.0) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.replica_ports = [free_port() for _ in range(self.replicas)]
        self.replica_procs = [None] * self.replicas
        self.worker_procs = [None] * self.workers
        try:
            for i in range(self.replicas):
                self.start_replica(i)
            for i in range(self.replicas):
                self.wait_replica(i, timeout_s)
            for i in range(self.workers):
                self.start_worker(i)
            self.balancer = Balancer(
                self.port or free_port(), self.replica_ports, self.workdir, self.check_ms
            ).start()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, *args], cwd=PROJECT_ROOT, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed as a whole
            )  # fmt: skip

    def start_replica(self, i: int) -> None:
        port = self.replica_ports[i]
        own = self.replica_env[i] if i < len(self.replica_env) else {}
        env = {**self.env, **own, "FAIRGATE_API_PORT": str(port)}
        args = ["-m", "api", "--port", str(port), "--workers", str(self.web_workers)]
        self.replica_procs[i] = self._spawn(f"replica{i}", [*args, "--log-level", "warning"], env)

    def wait_replica(self, i: int, timeout_s: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        proc = self.replica_procs[i]
        while time.monotonic() < deadline:
            if proc is None or proc.poll() is not None:
                raise ToolchainError(f"replica {i} exited: see {self.workdir}/replica{i}.log")
            with contextlib.suppress(httpx.HTTPError):
                url = f"http://127.0.0.1:{self.replica_ports[i]}/health/live"
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise ToolchainError(f"replica {i} not ready after {timeout_s:.0f} s")

    def start_worker(self, i: int) -> None:
        env = {**self.env, **(self.worker_env[i] if i < len(self.worker_env) else {})}
        self.worker_procs[i] = self._spawn(f"worker{i}", ["-m", "api.worker"], env)

    def kill_replica(self, i: int) -> None:
        """SIGKILL replica ``i`` (its whole process group): no goodbye to anyone."""
        _kill(self.replica_procs[i])

    def kill_worker(self, i: int) -> None:
        _kill(self.worker_procs[i])

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.stop()
        for proc in [*self.worker_procs, *self.replica_procs]:
            _stop(proc)


def _kill(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        _kill(proc)
