"""The gate service: admit ticket holders by zero-knowledge proof, offline-first.

One module per job:

* :mod:`gate.roots`: the event's acceptable Merkle roots, synced from the chain, cached on disk;
* :mod:`gate.challenges`: fresh challenges this gate issued (replay protection across gates);
* :mod:`gate.store`: the nullifier store (SQLite, one file per device, atomic check-in);
* :mod:`gate.checker`: the warm verify pipeline that turns a scanned QR into a plain answer;
* :mod:`gate.sync`: gates exchange check-ins through the bridge's hub (:mod:`api.gate_hub`),
  conflicts flagged;
* :mod:`gate.anchor`: after doors, the used nullifiers go on-chain in batches;
* :mod:`gate.onchain`: the optional on-chain verification path (snarkjs Solidity verifier).
"""
