"""Child process of test_deploy_crash.py: creates one event through the bridge's catalog and
SIGKILLs itself at the named point of the deployment (``api.services.catalog.DEPLOY_HOOK``)."""

from __future__ import annotations

import json
import os
import signal
import sys

from web3 import Web3

from api.accounts import BridgeAccounts
from api.db import make_engine, session_factory
from api.schemas import EventCreate
from api.services import catalog
from chain.keys import dev_signer
from fairgate.settings import Settings


def main() -> None:
    spec = json.loads(sys.argv[1])
    point: str = spec["point"]

    def hook(at: str) -> None:
        if at.startswith(point):
            os.kill(os.getpid(), signal.SIGKILL)

    catalog.DEPLOY_HOOK = hook
    settings = Settings(**spec["settings"])
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 30}))
    chain = BridgeAccounts(w3, settings, operator=dev_signer(0), minter=dev_signer(1))
    sessions = session_factory(make_engine(settings))
    with sessions() as session:
        catalog.create_event(
            session, chain, spec["organizer_id"], EventCreate.model_validate(spec["body"])
        )
    print("finished without reaching", point)


if __name__ == "__main__":
    main()
