"""A local Anvil chain (Foundry's node), the same shape as :class:`chain.ganache.GanacheRunner`.

Anvil comes from npm, pinned in ``package-lock.json``: ``@foundry-rs/anvil-linux-amd64`` ships the
binary at ``node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil`` (``scripts/setup.sh`` gives it
the run bit when npm did not). :class:`AnvilRunner` starts it with the same accounts as Ganache
(the settings' development mnemonic, ``m/44'/60'/0'/0/i``), chain id 1337, the block gas limit of
the settings and the ``cancun`` hardfork (``settings.anvil_hardfork``: the contracts' newest
build, :mod:`chain.evm`, runs there; Anvil runs up to prague), ``--silent``, and
``--block-time`` when ``settings.block_time_s`` is set (a public chain's pace, locally);
start-up, stop, the log file and the parent-death signal are GanacheRunner's. Everything
node-specific beyond start-up (snapshots, time, mining, reorgs) is in :mod:`chain.nodes`.

A command line too: ``python -m chain.anvil --port 8545``.
"""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

from chain.ganache import GanacheRunner, serve_until_stopped
from fairgate.errors import ToolchainError
from fairgate.settings import Settings, get_settings

__all__ = ["ANVIL_PACKAGE", "AnvilRunner", "anvil_binary"]

log = logging.getLogger(__name__)

ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64"
STATE_FILE = "anvil-state.json"  # in the --db folder


def anvil_binary(settings: Settings | None = None) -> Path:
    """Where npm puts Anvil's binary (it may be missing; :meth:`AnvilRunner.command` checks)."""
    s = settings or get_settings()
    return s.node_modules / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


class AnvilRunner(GanacheRunner):
    """One Anvil child process on ``127.0.0.1:port``; options as :class:`GanacheRunner`'s."""

    node_name = "Anvil"
    # Anvil writes its ``--state`` file when interrupted (Ctrl-C): stop it the same way
    stop_signal = signal.SIGINT

    def __init__(
        self,
        port: int | None = None,
        *,
        settings: Settings | None = None,
        accounts: int | None = None,
        balance_eth: int | None = None,
        block_gas_limit: int | None = None,
        chain_id: int | None = None,
        hardfork: str | None = None,
        mnemonic: str | None = None,
        block_time_s: float | None = None,
        extra_args: tuple[str, ...] = (),
        start_timeout_s: float = 30.0,
    ) -> None:
        s = settings or get_settings()
        # a block every block_time_s seconds instead of one per transaction (0: automine)
        self.block_time_s = s.block_time_s if block_time_s is None else block_time_s
        super().__init__(
            port,
            settings=s,
            accounts=accounts,
            balance_eth=balance_eth,
            block_gas_limit=block_gas_limit,
            chain_id=chain_id,
            hardfork=s.anvil_hardfork if hardfork is None else hardfork,
            mnemonic=mnemonic,
            extra_args=extra_args,
            start_timeout_s=start_timeout_s,
        )
        self._binary = anvil_binary(s)

    def command(self) -> list[str]:
        """The command line (it contains the mnemonic: do not log it as is)."""
        if not self._binary.is_file():
            raise ToolchainError(
                f"anvil is not installed at {self._binary}: run scripts/setup.sh "
                f"(npm package {ANVIL_PACKAGE}, pinned in package-lock.json)"
            )
        if not self._binary.stat().st_mode & 0o111:
            raise ToolchainError(
                f"{self._binary} is not executable: run scripts/setup.sh (it sets the run bit)"
            )
        return [
            str(self._binary),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--hardfork", self.hardfork,
            "--mnemonic", self._mnemonic,
            "--accounts", str(self.accounts),
            "--balance", str(self.balance_eth),
            "--gas-limit", str(self.block_gas_limit),
            "--silent",
            *(("--block-time", f"{self.block_time_s:g}") if self.block_time_s > 0 else ()),
            *self.extra_args,
        ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``python -m chain.anvil [--port N] [--accounts N] [--block-time S]``: run until Ctrl-C."""
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m chain.anvil", description="local Anvil chain")
    parser.add_argument("--port", type=int, default=settings.ganache_port)
    parser.add_argument("--accounts", type=int, default=settings.ganache_accounts)
    parser.add_argument("--block-gas-limit", type=int, default=settings.ganache_block_gas_limit)
    parser.add_argument(
        "--block-time",
        type=float,
        default=None,
        help="Mine every S seconds (default: FAIRGATE_BLOCK_TIME_S, else a block per transaction).",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="Keep the chain's state in this folder across restarts (Anvil's --state file, "
        "written on stop and every 10 s).",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    extra: tuple[str, ...] = ()
    if args.db is not None:
        args.db.mkdir(parents=True, exist_ok=True)
        extra += ("--state", str(args.db / STATE_FILE), "--state-interval", "10")
    runner = AnvilRunner(
        args.port,
        accounts=args.accounts,
        block_gas_limit=args.block_gas_limit,
        block_time_s=args.block_time,
        extra_args=extra,
    )
    return serve_until_stopped(runner, "Anvil")


if __name__ == "__main__":
    raise SystemExit(main())
