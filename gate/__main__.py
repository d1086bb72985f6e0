"""``python -m gate serve [--host H] [--port P] [--tls-cert C --tls-key K]``: the gate device's
service from ``FAIRGATE_*`` settings alone (``FAIRGATE_GATE_EVENT``, the event's contract
address; ``FAIRGATE_RPC_URL``; ``FAIRGATE_GATE_ID``; the hub settings), for a device that runs
no ``fairgate`` command line. It prints the staff pairing link, then serves until interrupted.
Without a reachable chain node it judges with its cached ticket lists and keeps trying the node
at each background sync (``fairgate gate serve`` does the same, with event names).
"""

from __future__ import annotations

import argparse
import logging
import sys

from web3 import Web3

from chain.rpc import connect as connect_node
from chain.ticket_event import TicketEventClient
from fairgate.errors import ConfigError, TicketError
from fairgate.settings import get_settings
from gate.app import serve_device
from gate.service import GateService
from gate.store import norm_event


def _announce(link: str) -> None:
    sys.stderr.write("pair a staff device with this link (it holds the gate's key):\n")
    sys.stdout.write(link + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gate", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the scanner page and its API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--tls-cert")
    serve.add_argument("--tls-key")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    try:
        if not settings.gate_event:
            raise ConfigError("set FAIRGATE_GATE_EVENT to the event's contract address")
        address = Web3.to_checksum_address(norm_event(settings.gate_event))
        w3 = connect_node(settings, timeout_s=10)

        def connect() -> TicketEventClient:
            w3.eth.chain_id  # noqa: B018 - raises while the node is unreachable
            return TicketEventClient(w3, address)

        try:
            client: TicketEventClient | None = connect()
        except Exception:  # an unreachable node raises requests' and web3's own errors
            client = None
            sys.stderr.write("chain unreachable: judging with the cached ticket lists\n")
        chain_id = int(w3.eth.chain_id) if client else settings.chain_id
        service = GateService.open(client=client, event=address, chain_id=chain_id)
        if client is not None:
            service.roots.sync()
        serve_device(
            service,
            settings,
            name=address,
            host=args.host,
            port=args.port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            connect=None if client else connect,
            announce=_announce,
        )
    except (TicketError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
