"""Benchmark the gate: check latency of the warm pipeline, and the on-chain verification gas.

    .venv/bin/python scripts/bench_gate.py [--tickets 20] [--json PATH] [--port N]

On a Ganache of its own (a free port, never 8545): one event with ``--tickets`` tickets minted
with real commitments, its root published; one proof per ticket (groth16py, the holder's side,
not timed here). Then, at a gate (:class:`gate.service.GateService`, SQLite ``synchronous``
FULL and NORMAL), each proof is checked once (admitted) and once again (refused as used):

* ``check_ms``: the whole :meth:`GateChecker.check` (decode, scope, root, challenge, nullifier
  lookup, pairing check, atomic insert); ``verify_ms``: the pairing check alone;
  ``overhead_ms``: everything but the pairing (target: well under 10 ms);
* ``onchain_verify_gas``: ``verifyProof`` of the snarkjs-exported verifier sent as a transaction
  (the toolchain notes measured 234,836); ``onchain_checkin_gas``: the event's ``checkIn``
  (verification + root and nullifier checks + the nullifier written + the event).

The machine's load average is printed beside the figures (other jobs share its cores).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web3 import Web3

from chain.deploy import deploy_platform
from chain.devchain import latest_timestamp
from chain.ganache import GanacheRunner, free_port
from chain.keys import Signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from chain.tree_logs import read_tree_logs
from chain.types import EventParams, MintRun, Tier
from fairgate.settings import Settings
from gate.checker import CheckResult
from gate.onchain import check_in_onchain, deploy_verifier, verifier_artifact
from gate.service import GateService
from zk import payload
from zk.identity import TicketSecret, gate_scope, time_window
from zk.prover import GateProver
from zk.setup import local_setup
from zk.tree_sync import tree_from_events
from zk.verifier import GateVerifier

log = logging.getLogger("bench_gate")
ETH = 10**18
DAY = 86_400


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 3),
        "max": round(ordered[-1], 3),
    }


def summarize(results: list[CheckResult]) -> dict[str, Any]:
    return {
        "n": len(results),
        "codes": sorted({r.code for r in results}),
        "check_ms": stats([r.total_ms for r in results]),
        "verify_ms": stats([r.verify_ms for r in results]),
        "overhead_ms": stats([r.overhead_ms for r in results]),
    }


def run(tickets: int, port: int | None) -> dict[str, Any]:
    artifacts = local_setup()
    prover, verifier = GateProver(artifacts), GateVerifier(artifacts.vkey)
    with GanacheRunner(port or free_port()) as node, tempfile.TemporaryDirectory() as tmp:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        signers = [
            Signer.from_account(a, f"dev{i}") for i, a in enumerate(node.accounts_with_keys())
        ]
        organizer, bridge, gate_account, fan = (TransactionSender(w3, s) for s in signers[1:5])
        deployment = deploy_platform(organizer, Settings(env="test", home=Path(tmp) / "home"))
        now = latest_timestamp(w3)
        event, _ = deployment.factory_client(w3, organizer).create_event(
            EventParams(
                name="Bench",
                symbol="BENCH",
                organizer=organizer.address,
                starts_at=now + DAY,
                ends_at=now + 2 * DAY,
                tiers=(Tier(ETH // 100, tickets, 10_000, 0, now, now + DAY // 2),),
                minter=bridge.address,
                gate=gate_account.address,
            )
        )
        secrets = [TicketSecret.generate() for _ in range(tickets)]
        run_ = MintRun(
            fan.address, tuple(s.commitment() for s in secrets), b"bench".ljust(32, b"\0")
        )
        TicketEventClient(w3, event.address, bridge).mint_batch(0, [run_])
        gate_client = TicketEventClient(w3, event.address, gate_account)
        records, _ = read_tree_logs(w3, event.artifact.abi, event.address)
        tree = tree_from_events(records)
        gate_contract = TicketGateClient.for_event(gate_client)
        gate_contract.publish_root(tree.root)
        scope = gate_scope(int(w3.eth.chain_id), event.address)

        out: dict[str, Any] = {"tickets": tickets}
        for sync_mode in ("FULL", "NORMAL"):
            settings = Settings(
                env="test",
                home=Path(tmp) / sync_mode,
                gate_id="bench",
                gate_sqlite_synchronous=sync_mode,
            )
            svc = GateService.open(
                event=event.address,
                chain_id=int(w3.eth.chain_id),
                client=gate_client,
                verifier=verifier,
                settings=settings,
            )
            svc.roots.sync()
            challenge = svc.challenges.current().challenge
            codes = [
                payload.encode(prover.prove(s, tree.proof(i), scope, challenge))
                for i, s in enumerate(secrets)
            ]
            svc.check("warm-up")  # one refusal: imports and first statements out of the figures
            admitted = [svc.check(c) for c in codes]
            again = [svc.check(c) for c in codes]
            out[f"admit_{sync_mode.lower()}"] = summarize(admitted)
            out[f"refuse_used_{sync_mode.lower()}"] = summarize(again)
            svc.close()

        # on-chain: the exported verifier alone (as a transaction), then the event's checkIn
        verifier_address = deploy_verifier(organizer)
        gate_contract.with_sender(organizer).set_verifier(verifier_address)
        # checkIn takes only the rotating challenge of the current (or previous) 20 s window
        window = time_window(latest_timestamp(w3))
        proof = prover.prove(
            secrets[0], tree.proof(0), scope, gate_contract.window_challenge(window)
        )
        a, b, c, inputs = proof.solidity_args()
        contract = w3.eth.contract(abi=verifier_artifact().abi)
        data = contract.encode_abi("verifyProof", [a, b, c, inputs])
        receipt = fan.send_and_wait({"to": verifier_address, "data": data})
        out["onchain_verify_gas"] = int(receipt["gasUsed"])
        out["onchain_checkin_gas"] = check_in_onchain(gate_contract, proof).gas_used
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--port", type=int, default=None, help="Ganache port (default: a free one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = run(args.tickets, args.port)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
