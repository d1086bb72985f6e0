"""Every platform contract keeps at least 4 KB of room under the 24,576-byte code limit (EIP-170),
so the next feature fits without another split (issue 14), in both builds (shanghai and cancun,
chain.evm). Measured from the cached builds: no chain needed."""

from __future__ import annotations

import pytest

from chain.compiler import load_artifact
from chain.evm import EVM_VERSIONS

CODE_LIMIT = 24_576
HEADROOM = 4_096
PLATFORM = ("TicketEvent", "TicketEventAdmin", "TicketGate", "TicketFactory")


@pytest.mark.parametrize("evm", EVM_VERSIONS)
@pytest.mark.parametrize("name", PLATFORM)
def test_contract_keeps_4_kb_of_headroom(name: str, evm: str) -> None:
    runtime = (len(load_artifact(name, evm_version=evm).deployed_bytecode) - 2) // 2
    assert runtime > 0
    assert runtime <= CODE_LIMIT - HEADROOM, f"{name} ({evm}): {runtime:,} bytes of runtime code"


def test_the_event_abi_is_the_whole_interface() -> None:
    """TicketEvent serves ITicketEventAdmin through forwarding stubs, so one ABI (and one typed
    client) reaches every function of an event at its one address."""
    event = {e["name"] for e in load_artifact("TicketEvent").abi if e["type"] == "function"}
    interface = {e["name"] for e in load_artifact("ITicketEvent").abi if e["type"] == "function"}
    admin = {e["name"] for e in load_artifact("ITicketEventAdmin").abi if e["type"] == "function"}
    assert admin <= interface <= event
