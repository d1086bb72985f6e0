// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The verifier `snarkjs zkey export solidityverifier` generates for the gate circuit
/// @notice Public signals, in order: nullifier, root, scope, challenge.
interface IGroth16Verifier {
    /// @notice Whether the Groth16 proof is valid for the public signals.
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[4] calldata pubSignals
    ) external view returns (bool);
}
