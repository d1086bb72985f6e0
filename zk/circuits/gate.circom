pragma circom 2.1.5;

// Fairgate gate check (Groth16). Proves: "I know a secret whose commitment is a leaf of the
// event's Merkle tree with this root", and outputs the ticket's nullifier for this event's scope.
//
// Public signals, in snarkjs's publicSignals order (fixed interface with the contracts):
//   [nullifier (output), root, scope, challenge]
//
// Hashes (circomlib Poseidon, the same as light-poseidon-python / circomlibjs):
//   commitment = Poseidon(secret, COMMIT_DOMAIN)         COMMIT_DOMAIN = 2^248
//   nullifier  = Poseidon(secret, scope)                 scope < 2^248 (range-checked below)
//   node       = Poseidon(left, right)
// Because every accepted scope is < 2^248 and COMMIT_DOMAIN = 2^248, a nullifier can never be
// the hash of the same input pair as a commitment (domain separation).

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";

// Root of the Merkle path from `leaf` at `index` (its bits, low bit = bottom level) up `depth` levels.
template MerkleRoot(depth) {
    signal input leaf;
    signal input indexBits[depth];
    signal input siblings[depth];
    signal output root;

    component hashers[depth];
    signal nodes[depth + 1];
    signal lefts[depth];
    signal rights[depth];
    nodes[0] <== leaf;
    for (var i = 0; i < depth; i++) {
        // indexBits[i] is boolean (Num2Bits in the caller): 0 => node is the left child.
        lefts[i] <== nodes[i] + indexBits[i] * (siblings[i] - nodes[i]);
        rights[i] <== siblings[i] + nodes[i] - lefts[i];
        hashers[i] = Poseidon(2);
        hashers[i].inputs[0] <== lefts[i];
        hashers[i].inputs[1] <== rights[i];
        nodes[i + 1] <== hashers[i].out;
    }
    root <== nodes[depth];
}

template FairgateGate(depth) {
    // public inputs, declared in this order on purpose (publicSignals order)
    signal input root;
    signal input scope;
    signal input challenge;
    // private inputs
    signal input secret;
    signal input leafIndex;
    signal input siblings[depth];

    signal output nullifier;

    // scope < 2^248: keeps commitments and nullifiers in separate domains.
    component scopeBits = Num2Bits(248);
    scopeBits.in <== scope;

    // leafIndex < 2^depth, and its bits are boolean.
    component indexBits = Num2Bits(depth);
    indexBits.in <== leafIndex;

    component commitment = Poseidon(2);
    commitment.inputs[0] <== secret;
    commitment.inputs[1] <== 1 << 248;

    component path = MerkleRoot(depth);
    path.leaf <== commitment.out;
    for (var i = 0; i < depth; i++) {
        path.indexBits[i] <== indexBits.out[i];
        path.siblings[i] <== siblings[i];
    }
    root === path.root;

    component nullifierHash = Poseidon(2);
    nullifierHash.inputs[0] <== secret;
    nullifierHash.inputs[1] <== scope;
    nullifier <== nullifierHash.out;

    // Bind the gate's challenge into the proof (a constraint that uses it, as in Semaphore).
    signal challengeSquare;
    challengeSquare <== challenge * challenge;
}

component main {public [root, scope, challenge]} = FairgateGate(20);
