"""``python -m api.indexer``: follow the event contracts into the database (see
:mod:`api.services.indexer`). The minting worker runs the same step unless ``--no-index``."""

from __future__ import annotations

import argparse
import logging
import time

from api.accounts import BridgeAccounts
from api.db import make_engine, session_factory
from api.services.indexer import index_once
from fairgate.errors import TicketError
from fairgate.settings import get_settings

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.indexer")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument(
        "--reorg-depth",
        type=int,
        default=None,
        help="blocks to rewind when the cursor block was reorged away (default: "
        "FAIRGATE_REORG_DEPTH, 64)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    sessions = session_factory(make_engine(settings))
    chain = BridgeAccounts.from_settings(settings)
    while True:
        try:
            with sessions() as session:
                applied = index_once(session, chain, reorg_depth=args.reorg_depth)
        except TicketError as exc:
            log.warning("indexing failed: %s", exc.code)
            applied = 0
        if not applied:
            time.sleep(args.interval)


if __name__ == "__main__":
    main()
