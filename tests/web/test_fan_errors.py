"""Contract refusals in plain words (web/src/fan/errors.js), whatever wraps the revert data:
Ganache's JSON-RPC error (-32000 with ``data``), MetaMask's (-32603 with ``data.data``), geth's
(code 3), or viem's own decoded error; never a raw revert or a hex string. Runs the module in
Node with the ABI of the compiled build (what /abi/TicketEvent serves)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from chain.compiler import load_artifact

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import { encodeErrorResult } from "viem";
import { plainError } from "./web/src/fan/errors.js";
const abi = JSON.parse(process.argv[1]);
const data = (errorName, args) => encodeErrorResult({ abi, errorName, args });
const ganache = (d) => Object.assign(new Error("VM Exception while processing transaction: revert"),
  { code: -32000, data: d });
const metamask = (d) => Object.assign(new Error("Internal JSON-RPC error."),
  { code: -32603, data: { code: 3, message: "execution reverted", data: d } });
const geth = (d) => Object.assign(new Error("execution reverted"), { code: 3, data: d });
const cases = {
  cap: ganache(data("PriceAboveCap", [1200000000000000n, 1100000000000000n])),
  closed: metamask(data("ResaleClosed", [7n])),
  soldOut: geth(data("SoldOut", [0n, 3n, 1n])),
  wrongPayment: ganache(data("WrongPayment", [1n, 1000000000000000n])),
  cancelled: metamask(data("EventCancelled", [])),
  self: geth(data("SelfPurchase", [])),
  declined: Object.assign(new Error("User rejected the request."), { code: 4001 }),
  funds: new Error("insufficient funds for gas * price + value"),
};
const out = {};
for (const [k, e] of Object.entries(cases)) out[k] = plainError(e, abi);
process.stdout.write(JSON.stringify(out));
"""


def test_refusals_are_worded_whatever_carries_the_revert_data() -> None:
    abi = load_artifact("TicketEvent").abi
    proc = subprocess.run(
        ["node", "--no-warnings", "--input-type=module", "-e", SCRIPT, json.dumps(abi)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {
        "cap": "The price 0.0012 ETH is above this ticket's resale cap of 0.0011 ETH. "
        "Choose 0.0011 ETH or less.",
        "closed": "Resale of ticket #7 is closed: tickets change hands only while their tier's "
        "resale window is open.",
        "soldOut": "Not enough tickets left: you asked for 3, 1 remain in this tier.",
        "wrongPayment": "The price changed: the contract now expects 0.001 ETH, and "
        "0.000000000000000001 ETH was offered. Reload and try again.",
        "cancelled": "This event is cancelled: nothing more is sold. Ticket holders can claim "
        "refunds.",
        "self": "You cannot buy your own ticket.",
        "declined": "You declined the request in your wallet.",
        "funds": "This wallet does not have enough ETH for this and its fee.",
    }
