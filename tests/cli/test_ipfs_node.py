"""``fairgate organizer create`` against a real IPFS node (js-ipfs over the Kubo RPC API).

The event's metadata directory is added and pinned through the node's RPC API; the CID the
command prints is the node's, the tier files resolve under it, and the contract's tokenURI
points into it.
"""

from __future__ import annotations

import json
import re

import pytest
from web3 import Web3

from chain.ganache import dev_accounts
from chain.keys import Signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from metadata.jsipfs import JsIpfsNode
from metadata.store import KuboStore
from tests.cli.conftest import EVENT_TOML, ORGANIZER, Cli, write_event_file

pytestmark = [pytest.mark.ganache, pytest.mark.ipfs]


def test_organizer_create_pins_metadata_on_the_node(
    cli: Cli, jsipfs_node: JsIpfsNode, w3: Web3, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("ipfs-event")
    toml = EVENT_TOML.replace('symbol = "NIGHT1"', 'symbol = "IPFS1"')
    env = {"FAIRGATE_IPFS_API_URL": jsipfs_node.api_url}
    created = cli.as_(
        ORGANIZER, "organizer", "create", str(write_event_file(folder, toml)), env=env
    )
    cid = re.search(r"metadata ipfs://(\w+)", created.stdout)
    event = re.search(r"0x[0-9a-fA-F]{40}", created.stdout)
    assert cid and event, created

    node = KuboStore(jsipfs_node.api_url)
    try:
        general = json.loads(node.get(cid.group(1), "tiers/0"))
        assert general["name"].endswith("General")
        assert node.get(cid.group(1), "image.png").startswith(b"\x89PNG")
    finally:
        node.close()
    # a ticket bought on-chain points into the pinned directory: ipfs://CID/tiers/<tier>
    buyer = TransactionSender(w3, Signer.from_account(dev_accounts(16)[15], "funder"))
    show = TicketEventClient(w3, event.group(0), buyer)
    token = TicketEventClient.issued_runs(show.purchase(1, [12345]))[0].token_ids[0]
    assert show.token_uri(token) == f"ipfs://{cid.group(1)}/tiers/1"
