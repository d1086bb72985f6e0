"""``fairgate dev``: the local stack (chain, IPFS, bridge, minting worker) for development.

``up`` starts each component as a detached process in its own session (it outlives the command),
with its log under ``<home>/dev/``, and records pids, ports and URLs in ``<home>/dev-stack.json``;
``status`` shows them; ``down`` stops them (SIGINT first, so each one cleans up its own children,
then SIGTERM and SIGKILL to the process group). ``env`` prints the ``export`` lines that point the
other commands at the stack.

Components:

* chain: Ganache through ``python -m chain.ganache`` (chain.ganache.GanacheRunner), or Anvil
  with ``--node anvil`` / ``FAIRGATE_NODE=anvil`` (``python -m chain.anvil``, its state in
  ``<home>/dev/chain-db/anvil-state.json``); the platform (factory) and the test stablecoin
  (FUSD: 6 decimals, permit; ``fairgate dev faucet`` mints it) are deployed on it with
  development account 0;
* IPFS: the embedded store (no process; ``<home>/ipfs``), or ``--ipfs jsipfs`` for a js-ipfs node
  (``python -m metadata.jsipfs``) serving the Kubo RPC API;
* bridge: ``python -m api`` (uvicorn) on SQLite ``<home>/fairgate.db``, migrated first;
* worker: ``python -m api.worker``.

Restarts keep their word: the chain's state lives in ``<home>/dev/chain-db`` (Ganache's
``database.dbPath``), so ``down`` then ``up`` brings back the same chain, and the bridge's
database, the event index and the gate caches still match it. ``up`` records the chain's genesis
hash; a different chain (the folder deleted by hand) wipes what belonged to the old one, and says
so. ``reset`` stops the stack and wipes the chain with all of it (wallets are kept).

The bridge's admin API key (to create organizers: ``POST /admin/organizers``) is random per home,
in ``<home>/dev/admin-key`` (mode 0600).

The bridge's operator and minter keys are development accounts 1 and 2 of the public development
mnemonic, handed to the children through their environment only (never printed or recorded).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import typer
from web3 import Web3

from chain.deploy import ensure_platform, ensure_test_stablecoin, load_deployment
from chain.erc20 import Erc20Client
from chain.ganache import dev_accounts, free_port, port_is_free
from chain.keys import dev_signer
from chain.sender import TransactionSender
from cli.names import resolve_account
from cli.output import (
    console,
    err_console,
    format_amount,
    format_eth,
    parse_amount,
    parse_eth,
    spinner,
    table,
)
from cli.session import open_session
from fairgate.errors import ConfigError, ToolchainError
from fairgate.settings import PROJECT_ROOT, Settings, get_settings

__all__ = ["app"]

app = typer.Typer(
    help="Local development stack: chain, IPFS, bridge, worker.", no_args_is_help=True
)

OPERATOR_INDEX = 1
MINTER_INDEX = 2
READY_TIMEOUT_S = 60.0
ADMIN_KEY_FILE = "admin-key"
NODE_NAMES = {"ganache": "Ganache", "anvil": "Anvil"}


def _state_path(settings: Settings) -> Path:
    return settings.home / "dev-stack.json"


def _load_state(settings: Settings) -> dict[str, Any]:
    try:
        data = json.loads(_state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_state(settings: Settings, state: dict[str, Any]) -> None:
    path = _state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    tmp.replace(path)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours is not alive
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    return True


def _spawn(name: str, args: list[str], env: dict[str, str], logs: Path) -> dict[str, Any]:
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # detached: its own session, outlives this command
            [sys.executable, *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return {"pid": process.pid, "log": str(log_path)}


def _wait(what: str, check: Any, entry: dict[str, Any]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _alive(entry["pid"]):
            raise ToolchainError(f"{what} exited during start-up: see {entry['log']}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.3)
    raise ToolchainError(f"{what} not ready after {READY_TIMEOUT_S:.0f} s: see {entry['log']}")


def _pick_port(port: int | None) -> int:
    if port is None:
        return free_port()
    if not port_is_free(port):
        raise ConfigError(f"port {port} is taken")
    return port


def _stop(entry: dict[str, Any], timeout_s: float = 10.0) -> bool:
    """Stop one component: SIGINT, then SIGTERM and SIGKILL to its process group."""
    pid = entry.get("pid")
    if not _alive(pid):
        return False
    assert isinstance(pid, int)
    for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if sig == signal.SIGINT:
                os.kill(pid, sig)
            else:
                os.killpg(pid, sig)  # its own session: pgid == pid
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGTERM)  # children it left behind, if any
                return True
            time.sleep(0.1)
    return not _alive(pid)


@app.command(
    epilog="Example: fairgate dev up --chain-port 18545 --api-port 18000; "
    'then eval "$(fairgate dev env)"'
)
def up(
    chain_port: Annotated[int | None, typer.Option(help="Chain port (default: free).")] = None,
    api_port: Annotated[int | None, typer.Option(help="Bridge port (default: free).")] = None,
    ipfs: Annotated[
        Literal["embedded", "jsipfs"], typer.Option(help="IPFS: embedded store or a js-ipfs node.")
    ] = "embedded",
    bridge: Annotated[bool, typer.Option(help="Start the bridge and its worker.")] = True,
    node: Annotated[
        Literal["ganache", "anvil"] | None,
        typer.Option(help="Local chain node (default: FAIRGATE_NODE, else ganache)."),
    ] = None,
    replicas: Annotated[
        int,
        typer.Option(
            min=1,
            max=16,
            help="Bridge replicas; more than 1 puts HAProxy in front (on --api-port) and needs "
            "FAIRGATE_DATABASE_URL=postgresql://... (and FAIRGATE_REDIS_URL to share limits).",
        ),
    ] = 1,
    workers: Annotated[
        int,
        typer.Option(min=1, max=16, help="Minting workers (more than 1 needs PostgreSQL too)."),
    ] = 1,
) -> None:
    """Start the local stack and record where everything is."""
    settings = get_settings()
    if (replicas > 1 or workers > 1) and not (settings.database_url or "").startswith("postgres"):
        raise ConfigError(
            "--replicas/--workers above 1 need one PostgreSQL database for every process: set "
            "FAIRGATE_DATABASE_URL=postgresql://... (SQLite serves one process group)"
        )
    node = node or settings.node
    node_name = NODE_NAMES[node]
    state = _load_state(settings)
    running = [n for n, e in state.get("components", {}).items() if _alive(e.get("pid"))]
    if running:
        raise ConfigError(f"the stack is already up ({', '.join(running)}): `fairgate dev down`")
    logs = settings.home / "dev"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRGATE_")}
    env["FAIRGATE_HOME"] = str(settings.home)
    components: dict[str, dict[str, Any]] = {}
    state = {"home": str(settings.home), "components": components}
    try:
        port = _pick_port(chain_port)
        rpc_url = f"http://127.0.0.1:{port}"
        chain_args = [
            "-m", f"chain.{node}", "--port", str(port), "--db", str(_chain_db(settings))
        ]  # fmt: skip
        chain = _spawn("chain", chain_args, env, logs)
        components["chain"] = {**chain, "url": rpc_url, "port": port, "node": node}
        _save_state(settings, state)
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
        with spinner(f"Starting {node_name} on {rpc_url}"):
            _wait(node_name, lambda: w3.eth.chain_id, chain)
        _check_same_chain(settings, w3)
        env["FAIRGATE_RPC_URL"] = rpc_url
        platform_settings = settings.model_copy(update={"rpc_url": rpc_url})
        with spinner("Deploying the platform (factory) and the test stablecoin"):
            sender = TransactionSender(
                w3, dev_signer(0, env=settings.env), settings=platform_settings
            )
            deployment = ensure_platform(sender, platform_settings)
            state["stablecoin"] = ensure_test_stablecoin(sender, platform_settings)
        state["factory"] = deployment.factory
        state["evm_version"] = deployment.evm_version
        if ipfs == "jsipfs":
            ipfs_node = _spawn("ipfs", ["-m", "metadata.jsipfs"], env, logs)
            components["ipfs"] = ipfs_node
            _save_state(settings, state)
            with spinner("Starting js-ipfs (about 10 s)"):
                _wait("js-ipfs", lambda: _ipfs_url(Path(ipfs_node["log"])), ipfs_node)
            ipfs_node["url"] = _ipfs_url(Path(ipfs_node["log"]))
            env["FAIRGATE_IPFS_API_URL"] = str(ipfs_node["url"])
        else:
            components["ipfs"] = {"pid": None, "url": str(settings.home / "ipfs"), "log": ""}
        if bridge:
            _start_bridge(
                settings, env, logs, components, _pick_port(api_port), deployment.factory,
                replicas=replicas, workers=workers,
            )  # fmt: skip
        _save_state(settings, state)
    except BaseException:
        _save_state(settings, state)
        for entry in components.values():
            _stop(entry)
        raise
    _print_status(settings, state)
    err_console.print('point other commands at it: eval "$(fairgate dev env)"')


# ------------------------------------------------------------------ state across restarts

#: What this home derives from one chain: wiped with the chain (``dev reset``), or when ``dev up``
#: finds another chain than the one they were made on. Wallets (keys) and the IPFS store
#: (content-addressed) are never wiped.
DERIVED = (
    "events.json",
    "deployments",
    "fairgate.db",
    "fairgate.db-wal",
    "fairgate.db-shm",
    "gate",
    "orders",
    "tickets",
    "organizer-key.json",
)
GENESIS_FILE = "chain-genesis"


def _chain_db(settings: Settings) -> Path:
    return settings.home / "dev" / "chain-db"


def _wipe_derived(settings: Settings) -> list[str]:
    removed = []
    for name in DERIVED:
        path = settings.home / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(name)
    for lock in settings.home.glob("fairgate.db.deploy-*.lock"):
        lock.unlink()
    return removed


def _check_same_chain(settings: Settings, w3: Web3) -> None:
    """The chain's state is kept across ``dev down``/``dev up`` (``<home>/dev/chain-db``). If
    the chain that started is not the one this home's events, bridge database and gate caches
    were made on (its genesis block differs), they are wiped, and the user is told."""
    genesis = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    path = settings.home / "dev" / GENESIS_FILE
    recorded = path.read_text(encoding="utf-8").strip() if path.is_file() else None
    if recorded != genesis:
        removed = _wipe_derived(settings)
        if removed:
            err_console.print(
                "a new chain: cleared what belonged to the previous one "
                f"({', '.join(removed)}); wallets are kept"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(genesis + "\n", encoding="utf-8")


def _ipfs_url(log: Path) -> str | None:
    match = re.search(r"FAIRGATE_IPFS_API_URL=(\S+)", log.read_text(errors="replace"))
    return match.group(1) if match else None


def _start_bridge(
    settings: Settings,
    env: dict[str, str],
    logs: Path,
    components: dict[str, dict[str, Any]],
    port: int,
    factory: str,
    *,
    replicas: int = 1,
    workers: int = 1,
) -> None:
    keys = dev_accounts(MINTER_INDEX + 1, settings.ganache_mnemonic)
    url = f"http://127.0.0.1:{port}"
    admin_key = _admin_key(logs)
    bridge_env = {
        **env,
        "FAIRGATE_API_PORT": str(port),
        "FAIRGATE_PUBLIC_URL": url,
        "FAIRGATE_FACTORY_ADDRESS": factory,
        "FAIRGATE_OPERATOR_KEY": "0x" + bytes(keys[OPERATOR_INDEX].key).hex(),
        "FAIRGATE_MINTER_KEY": "0x" + bytes(keys[MINTER_INDEX].key).hex(),
        "FAIRGATE_ADMIN_API_KEY": admin_key,
    }
    if replicas > 1 or workers > 1:  # one PostgreSQL (and Redis) for every process
        bridge_env["FAIRGATE_DATABASE_URL"] = settings.database_url or ""
        if settings.redis_url is not None:
            bridge_env["FAIRGATE_REDIS_URL"] = settings.redis_url.get_secret_value()
            bridge_env["FAIRGATE_REDIS_PREFIX"] = settings.redis_prefix
    migrate = subprocess.run(
        [sys.executable, "-m", "api.migrate"],
        cwd=PROJECT_ROOT,
        env=bridge_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if migrate.returncode:
        raise ToolchainError(f"bridge database migration failed: {migrate.stderr.strip()[-300:]}")
    if replicas > 1 or workers > 1:
        _start_cluster(bridge_env, logs, components, port, replicas, workers)
        env["FAIRGATE_PUBLIC_URL"] = url
        return
    api = _spawn("bridge", ["-m", "api", "--port", str(port)], bridge_env, logs)
    components["bridge"] = {**api, "url": url, "port": port}
    with spinner(f"Starting the bridge on {url}"):
        _wait("bridge", lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200, api)
    components["worker"] = _spawn("worker", ["-m", "api.worker"], bridge_env, logs)
    env["FAIRGATE_PUBLIC_URL"] = url


def _start_cluster(
    env: dict[str, str],
    logs: Path,
    components: dict[str, dict[str, Any]],
    port: int,
    replicas: int,
    workers: int,
) -> None:
    """Replicas behind HAProxy on ``port`` (component ``bridge``: the balancer, so every command
    that reaches "the bridge" reaches it) and several workers (api.cluster)."""
    from api.cluster import Cluster

    cluster = Cluster(env, logs, replicas=replicas, workers=workers, port=port)
    with spinner(f"Starting {replicas} bridge replicas behind HAProxy on 127.0.0.1:{port}"):
        cluster.start(timeout_s=READY_TIMEOUT_S)
    for i, proc in enumerate(cluster.replica_procs):
        assert proc is not None
        components[f"replica-{i}"] = {
            "pid": proc.pid, "log": str(logs / f"replica{i}.log"),
            "url": f"http://127.0.0.1:{cluster.replica_ports[i]}",
        }  # fmt: skip
    assert cluster.balancer is not None and cluster.balancer.process is not None
    components["bridge"] = {
        "pid": cluster.balancer.process.pid, "log": str(logs / "haproxy.log"),
        "url": cluster.url, "port": port,
    }  # fmt: skip
    for i, proc in enumerate(cluster.worker_procs):
        assert proc is not None
        components[f"worker-{i}"] = {"pid": proc.pid, "log": str(logs / f"worker{i}.log")}


def _admin_key(logs: Path) -> str:
    """The dev bridge's admin API key: random, in ``<home>/dev/admin-key`` (mode 0600)."""
    path = logs / ADMIN_KEY_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    key = "fg_admin_" + secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


def _print_status(settings: Settings, state: dict[str, Any]) -> None:
    rows = []
    for name, entry in state.get("components", {}).items():
        pid = entry.get("pid")
        alive = "up" if _alive(pid) else ("-" if pid is None else "down")
        if name == "ipfs" and pid is None:
            alive = "embedded"
        rows.append((name, alive, pid or "", entry.get("url", ""), entry.get("log", "")))
    console.print(
        table(
            f"Dev stack ({_state_path(settings)})",
            ["component", "state", "#pid", "where", "log"],
            rows,
        )
    )
    node = state.get("components", {}).get("chain", {}).get("node")
    if node:
        console.print(f"node {node}")
    if state.get("factory"):
        build = f" ({state['evm_version']} build)" if state.get("evm_version") else ""
        console.print(f"factory {state['factory']}{build}")
    if state.get("stablecoin"):
        console.print(f"test stablecoin FUSD {state['stablecoin']} (fairgate dev faucet NAME)")


@app.command(epilog="Example: fairgate dev status")
def status() -> None:
    """Show the recorded stack: pids, ports, URLs, logs, and whether each is up."""
    settings = get_settings()
    state = _load_state(settings)
    if not state:
        console.print("no dev stack recorded: `fairgate dev up` starts one")
        return
    _print_status(settings, state)


@app.command(epilog="Example: fairgate dev down")
def down() -> None:
    """Stop every component of the recorded stack (the chain's state and the bridge's database
    stay for the next `dev up`; `dev reset` wipes them)."""
    settings = get_settings()
    state = _load_state(settings)
    components = state.get("components", {})
    for name in reversed(list(components)):
        stopped = _stop(components[name])
        console.print(f"{name}: {'stopped' if stopped else 'not running'}")
    with contextlib.suppress(FileNotFoundError):
        _state_path(settings).unlink()
    if _chain_db(settings).is_dir():
        err_console.print(
            "the chain and the bridge's database are kept for the next `fairgate dev up` "
            "(`fairgate dev reset` wipes them)"
        )


@app.command(epilog="Example: fairgate dev reset --yes; fairgate dev up")
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Stop the stack and wipe the chain with everything made on it (events, the bridge's
    database, gate caches, orders); wallets are kept. The next `dev up` starts afresh."""
    settings = get_settings()
    if not yes:
        typer.confirm(
            f"Wipe the dev chain and every event, order and gate cache under {settings.home}?",
            abort=True,
        )
    state = _load_state(settings)
    for name, entry in reversed(list(state.get("components", {}).items())):
        if _stop(entry):
            console.print(f"{name}: stopped")
    with contextlib.suppress(FileNotFoundError):
        _state_path(settings).unlink()
    removed = _wipe_derived(settings)
    for path in (_chain_db(settings), settings.home / "dev" / GENESIS_FILE):
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(str(path.relative_to(settings.home)))
        elif path.exists():
            path.unlink()
    console.print(f"removed {', '.join(removed) or 'nothing'}; wallets kept")


@app.command(
    epilog="Example: fairgate dev pay --wait   (the last order made here)  "
    "or  fairgate dev pay 3f2a... --card 4000000000000002"
)
def pay(
    order_id: Annotated[
        str | None, typer.Argument(help="The order (default: the last one made on this device).")
    ] = None,
    card: Annotated[str, typer.Option(help="Test card number.")] = "4242 4242 4242 4242",
    wait: Annotated[bool, typer.Option(help="Wait until the tickets are minted.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 300,
) -> None:
    """Pay a card order at the dev bridge's checkout with a test card, as a fan's browser would.

    Local payment provider only (the dev stack's): with Stripe, pay on Stripe's page.
    """
    from cli.bridge_client import client_from_settings, last_order, load_order, wait_for

    settings = get_settings()
    if settings.env == "prod":
        raise ConfigError("dev pay is for the local checkout only")
    record = load_order(settings, order_id) if order_id else last_order(settings)
    bridge = client_from_settings(settings)
    order = bridge.order(record["id"], record["order_token"])
    if not order.get("payment_ref"):
        raise ConfigError(f"order {record['id']} has no checkout to pay (state {order['state']})")
    paid = bridge.pay_checkout(str(order["payment_ref"]), card)
    console.print(f"order {record['id']}: payment {paid['outcome']}")
    if wait:
        with spinner("Waiting for the mint"):
            final = wait_for(bridge, record["id"], record["order_token"], timeout)
        console.print(f"order {record['id']}: {final['state']}")


@app.command(epilog='Example: eval "$(fairgate dev env)"')
def env() -> None:
    """Print the export lines that point fairgate at the running stack (no secrets)."""
    settings = get_settings()
    components = _load_state(settings).get("components", {})
    if not components:
        raise ConfigError("no dev stack recorded: `fairgate dev up` starts one")
    lines = [f"export FAIRGATE_HOME={settings.home}"]
    if "chain" in components:
        lines.append(f"export FAIRGATE_RPC_URL={components['chain']['url']}")
    if components.get("ipfs", {}).get("pid"):
        lines.append(f"export FAIRGATE_IPFS_API_URL={components['ipfs']['url']}")
    if "bridge" in components:
        lines.append(f"export FAIRGATE_PUBLIC_URL={components['bridge']['url']}")
    console.print("\n".join(lines), markup=False, highlight=False)


@app.command(epilog="Example: fairgate dev fund alice --eth 5   (or an address: dev fund 0xAbc...)")
def fund(
    address: Annotated[
        str, typer.Argument(help="Who gets the ETH: a wallet name, dev:N, or an address.")
    ],
    eth: Annotated[str, typer.Option(help="How much ETH.")] = "10",
    account: Annotated[int, typer.Option(help="Development account that pays.")] = 0,
) -> None:
    """Send ETH from a development account (local chains only; refused in prod)."""
    session = open_session()
    if session.settings.env == "prod":
        raise ConfigError("dev fund is for local chains only")
    wei = parse_eth(eth)
    name = address
    address = resolve_account(session.settings, address, what="recipient")
    sender = session.sender(
        dev_signer(account, mnemonic=session.settings.ganache_mnemonic, env=session.settings.env)
    )
    receipt = sender.send_and_wait({"to": address, "value": wei})
    balance = int(session.w3.eth.get_balance(address))  # type: ignore[arg-type]
    who = address if name == address else f"{name} ({address})"
    console.print(
        f"sent {format_eth(wei)} to {who} (block {receipt['blockNumber']}); "
        f"balance {format_eth(balance)}"
    )


@app.command(
    epilog="Example: fairgate dev faucet alice --amount 500   (or an address: dev faucet 0xAbc...)"
)
def faucet(
    address: Annotated[
        str, typer.Argument(help="Who gets the tokens: a wallet name, dev:N, or an address.")
    ],
    amount: Annotated[str, typer.Option(help="How much of the test stablecoin.")] = "1000",
    account: Annotated[int, typer.Option(help="Development account that sends the mint.")] = 0,
) -> None:
    """Mint the dev chain's test stablecoin (FUSD) to a wallet (local chains only)."""
    session = open_session()
    if session.settings.env == "prod":
        raise ConfigError("dev faucet is for local chains only")
    deployment = load_deployment(session.w3, session.settings)
    if deployment is None or not deployment.stablecoin:
        raise ConfigError("no test stablecoin on this chain: `fairgate dev up` deploys it")
    sender = session.sender(
        dev_signer(account, mnemonic=session.settings.ganache_mnemonic, env=session.settings.env)
    )
    token = Erc20Client(session.w3, deployment.stablecoin, sender)
    currency = token.currency()
    units = parse_amount(amount, currency)
    name = address
    address = resolve_account(session.settings, address, what="recipient")
    token.mint(address, units)
    who = address if name == address else f"{name} ({address})"
    console.print(
        f"minted {format_amount(units, currency)} to {who}; "
        f"balance {format_amount(token.balance_of(address), currency)}"
    )
