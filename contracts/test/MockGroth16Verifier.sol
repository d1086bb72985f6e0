// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IGroth16Verifier} from "../interfaces/IGroth16Verifier.sol";

/// @title Test only: a Groth16 verifier whose answer the test chooses
/// @notice Returns `result`; when `checkSignals` is set it also requires the public signals to
/// equal `expected`, so a test can prove that TicketEvent passes nullifier, root, scope and
/// challenge in the verifier's order.
contract MockGroth16Verifier is IGroth16Verifier {
    bool public result;
    bool public checkSignals;
    uint256[4] private _expected;

    constructor(bool result_) {
        result = result_;
    }

    /// @notice Set the answer of every later verifyProof.
    function setResult(bool result_) external {
        result = result_;
    }

    /// @notice Require exactly these public signals (nullifier, root, scope, challenge).
    function expectSignals(uint256[4] calldata expected) external {
        _expected = expected;
        checkSignals = true;
    }

    /// @inheritdoc IGroth16Verifier
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[4] calldata pubSignals)
        external
        view
        returns (bool)
    {
        if (checkSignals) {
            for (uint256 i; i < 4; ++i) {
                if (pubSignals[i] != _expected[i]) return false;
            }
        }
        return result;
    }
}
