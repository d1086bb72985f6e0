"""Zero-knowledge gate check of Fairgate: "I hold the secret of a valid ticket of this event".

Modules, one job each (see ``zk/README.md`` for the design and the decisions):

* :mod:`zk.field`       BN254 scalar field, strict range checks and encodings
* :mod:`zk.poseidon`    Poseidon(2) as circomlib computes it (light-poseidon-python + native path)
* :mod:`zk.identity`    ticket secrets (CSPRNG or wallet-derived), commitment, nullifier, scope
* :mod:`zk.tree`        depth-20 sparse Poseidon Merkle tree (bulk build, updates, proofs)
* :mod:`zk.tree_sync`   applies decoded chain events to a tree
* :mod:`zk.setup`       circuit compile and trusted setup through zkpy, cached by content hash
* :mod:`zk.prover`      in-process Groth16 prover (groth16py)
* :mod:`zk.verifier`    warm native verifier and the gate's checks
* :mod:`zk.proof`       the proof and public signals, snarkjs and Solidity encodings
* :mod:`zk.payload`     the QR payload (encode, strict decode, PNG and terminal images)

Importing :mod:`zk` itself loads nothing heavy.
"""
