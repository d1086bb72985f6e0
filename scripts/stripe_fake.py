"""A small local server that answers the two calls of Stripe's API the bridge makes.

    .venv/bin/python scripts/stripe_fake.py --port 12111 --latency-ms 100

Stripe itself cannot be reached from here, and no Stripe-compatible server (stripe-mock is a Go
program, shipped by neither PyPI, npm nor Debian) could be installed from the package
registries: this fake stands in for it, for the benchmark (``orders_per_s_stripe_path``) and the
bridge's Stripe-path tests, through ``FAIRGATE_STRIPE_API_BASE``. It is not a Stripe emulator:

* ``POST /v1/payment_intents``: a ``payment_intent`` object (``id``, ``client_secret``, amount,
  currency, metadata), after ``--latency-ms`` (a card processor's round trip). Idempotent as
  Stripe is: the same ``Idempotency-Key`` gives the same intent.
* ``POST /v1/refunds``: a ``refund`` object, idempotent the same way.
* ``GET /calls``: how many intents and refunds it made, and the idempotency keys it saw twice.

A raw ASGI app on uvicorn (uvloop, httptools): thousands of calls a second on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]


class FakeStripe:
    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.by_key: dict[str, bytes] = {}
        self.intents = 0
        self.refunds = 0
        self.replayed: list[str] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path, method = scope["path"], scope["method"]
        if method == "GET" and path == "/calls":
            seen = {"intents": self.intents, "refunds": self.refunds, "replayed": self.replayed}
            await _answer(send, 200, json.dumps(seen).encode())
            return
        if method != "POST" or path not in ("/v1/payment_intents", "/v1/refunds"):
            await _answer(send, 404, b'{"error": {"type": "invalid_request_error"}}')
            return
        if not headers.get("authorization", "").startswith("Bearer sk_"):
            await _answer(send, 401, b'{"error": {"type": "authentication_error"}}')
            return
        key = headers.get("idempotency-key")
        if key is not None and key in self.by_key:
            self.replayed.append(key)
            await _answer(send, 200, self.by_key[key])
            return
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        form = dict(parse_qsl(body.decode()))
        if path == "/v1/payment_intents":
            self.intents += 1
            ident = "pi_fake_" + secrets.token_hex(12)
            obj: dict[str, Any] = {
                "id": ident,
                "object": "payment_intent",
                "amount": int(form.get("amount", 0)),
                "currency": form.get("currency", "usd"),
                "status": "requires_payment_method",
                "client_secret": f"{ident}_secret_{secrets.token_hex(8)}",
                "metadata": {"order_id": form.get("metadata[order_id]", "")},
            }
        else:
            self.refunds += 1
            obj = {
                "id": "re_fake_" + secrets.token_hex(12),
                "object": "refund",
                "payment_intent": form.get("payment_intent"),
                "status": "succeeded",
            }
        data = json.dumps(obj).encode()
        if key is not None:
            self.by_key[key] = data
        await _answer(send, 200, data)


async def _answer(send: Any, status: int, data: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"request-id", b"req_fake"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    uvicorn.run(
        FakeStripe(args.latency_ms / 1000),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
