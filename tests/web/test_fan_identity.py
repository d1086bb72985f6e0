"""The browser's ticket identity (web/src/fan/identity.js) and QR payload (payload.js) equal
Python's (zk/identity.py, zk/payload.py) for the same wallet, event and ticket.

The modules run in Node here (the same files esbuild bundles for the page, WebCrypto's SHA-512
included); the browser story (test_fan_pages.py) checks again, in Chromium, that the commitment
the page put on-chain is the one Python derives for that wallet and counter.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

from eth_account import Account

from zk.identity import (
    SEED_MESSAGE,
    TicketSecret,
    gate_scope,
    seed_from_account,
    seed_message,
    window_challenge,
)
from zk.payload import encode
from zk.proof import GateProof, PublicSignals

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import * as id from "./web/src/fan/identity.js";
import { encodePayload } from "./web/src/fan/payload.js";
const input = JSON.parse(process.argv[1]);
const out = { message: id.SEED_MESSAGE, wallets: [] };
for (const w of input.wallets) {
  const seed = await id.walletSeed(w.signature, w.address);
  const tickets = [];
  for (const n of input.counters) {
    const secret = await id.deriveSecret(seed, BigInt(input.scope), n);
    tickets.push({ counter: n, secret: secret.toString(),
                   commitment: id.commitment(secret).toString(),
                   nullifier: id.nullifier(secret, BigInt(input.scope)).toString() });
  }
  out.wallets.push({ seed: Buffer.from(seed).toString("hex"), tickets });
}
out.scope = id.gateScope(input.chain_id, input.event).toString();
out.challenges = input.windows.map((w) => id.windowChallenge(BigInt(input.scope), w).toString());
out.payload = encodePayload(input.proof, input.public);
try { await id.walletSeed(input.wallets[0].signature, input.other); out.wrong = "accepted"; }
catch (e) { out.wrong = e.message; }
process.stdout.write(JSON.stringify(out));
"""


def run_js(data: dict[str, object]) -> dict[str, object]:
    proc = subprocess.run(
        ["node", "--no-warnings", "--input-type=module", "-e", SCRIPT, json.dumps(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_browser_identity_and_payload_equal_python() -> None:
    accounts = [Account.create() for _ in range(2)]
    wallets = []
    for account in accounts:
        signature = bytearray(account.sign_message(seed_message()).signature)
        wallets.append({"address": account.address, "signature": "0x" + signature.hex()})
    # a wallet that returns v as 0/1 signs the same: the seed must not change
    low_v = bytearray(bytes.fromhex(wallets[0]["signature"][2:]))
    low_v[64] -= 27
    wallets.append({"address": accounts[0].address, "signature": "0x" + low_v.hex()})
    event = "0x" + secrets.token_hex(20)
    scope = gate_scope(1337, event)
    counters = [0, 1, 7, 255]
    windows = [0, 88_000_000, 2**63]
    # a proof-shaped body: snarkjs's JSON carries pi_b as [[x0, x1], [y0, y1]]
    words = [secrets.randbelow(2**250) for _ in range(8)]
    public = PublicSignals(*(secrets.randbelow(2**248) for _ in range(4)))
    snarkjs_proof = {
        "pi_a": [str(words[0]), str(words[1]), "1"],
        "pi_b": [[str(words[3]), str(words[2])], [str(words[5]), str(words[4])], ["1", "0"]],
        "pi_c": [str(words[6]), str(words[7]), "1"],
    }
    out = run_js(
        {
            "wallets": wallets,
            "scope": str(scope),
            "counters": counters,
            "chain_id": 1337,
            "event": event,
            "windows": windows,
            "proof": snarkjs_proof,
            "public": [str(x) for x in public.as_list()],
            "other": accounts[1].address,
        }
    )
    assert out["message"] == SEED_MESSAGE
    assert out["scope"] == str(scope)
    assert out["challenges"] == [str(window_challenge(scope, w)) for w in windows]
    js_wallets = out["wallets"]
    assert isinstance(js_wallets, list)
    for account, js in zip([accounts[0], accounts[1], accounts[0]], js_wallets, strict=True):
        seed = seed_from_account(account)
        assert js["seed"] == seed.hex()
        for ticket in js["tickets"]:
            secret = TicketSecret.derive(seed, scope, ticket["counter"])
            assert ticket["secret"] == str(secret.reveal())
            assert ticket["commitment"] == str(secret.commitment())
            assert ticket["nullifier"] == str(secret.nullifier(scope))
    assert js_wallets[0]["seed"] == js_wallets[2]["seed"]  # v = 0/1 normalised
    proof = GateProof(proof=b"".join(w.to_bytes(32, "big") for w in words), public=public)
    assert out["payload"] == encode(proof)
    assert out["wrong"] == "the signature was not made by the holder's wallet"
