"""Typed client of an ERC-20 settlement token (an event's currency), with EIP-2612 permits.

Any ERC-20 works for reads and transfers; ``permit`` and ``nonces`` need EIP-2612 (USDC, DAI and
the development :file:`contracts/dev/TestStablecoin.sol` have it), ``mint`` only the development
token. The ABI is TestStablecoin's: a superset of IERC20Metadata and IERC20Permit.
"""

from __future__ import annotations

from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from web3 import Web3

from chain.client import ContractClient, TxResult
from chain.keys import Signer
from chain.types import ETH, Currency, Permit

__all__ = ["PERMIT_TYPES", "Erc20Client", "currency_at"]

PERMIT_TYPES: dict[str, list[dict[str, str]]] = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


class Erc20Client(ContractClient):
    """One ERC-20 token."""

    artifact_name = "TestStablecoin"

    def name(self) -> str:
        return str(self.call("name"))

    def symbol(self) -> str:
        return str(self.call("symbol"))

    def decimals(self) -> int:
        return int(self.call("decimals"))

    def currency(self) -> Currency:
        """The token as a settlement currency (its symbol and decimals, read once here)."""
        return Currency(self.address, self.symbol(), self.decimals())

    def balance_of(self, account: str) -> int:
        return int(self.call("balanceOf", to_checksum_address(account)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.call("allowance", to_checksum_address(owner), to_checksum_address(spender)))

    def nonces(self, owner: str) -> int:
        return int(self.call("nonces", to_checksum_address(owner)))

    def approve(self, spender: str, amount: int) -> TxResult:
        return self.transact("approve", to_checksum_address(spender), amount)

    def transfer(self, to: str, amount: int) -> TxResult:
        return self.transact("transfer", to_checksum_address(to), amount)

    def mint(self, to: str, amount: int) -> TxResult:
        """The development token's faucet (TestStablecoin only)."""
        return self.transact("mint", to_checksum_address(to), amount)

    def sign_permit(self, signer: Signer, spender: str, value: int, deadline: int) -> Permit:
        """An EIP-2612 permit from ``signer`` for ``spender`` (signed here, sent by nobody)."""
        _, name, version, chain_id, verifying, _, _ = self.call("eip712Domain")
        message = encode_typed_data(
            domain_data={
                "name": str(name),
                "version": str(version),
                "chainId": int(chain_id),
                "verifyingContract": to_checksum_address(verifying),
            },
            message_types=PERMIT_TYPES,
            message_data={
                "owner": signer.address,
                "spender": to_checksum_address(spender),
                "value": value,
                "nonce": self.nonces(signer.address),
                "deadline": deadline,
            },
        )
        signed = signer.sign_message(message)
        return Permit(
            value=value,
            deadline=deadline,
            v=int(signed.v),
            r=int(signed.r).to_bytes(32, "big"),
            s=int(signed.s).to_bytes(32, "big"),
        )


def currency_at(w3: Web3, address: str) -> Currency:
    """The settlement currency at ``address``: ETH for the zero address, else the token's."""
    if int(address, 16) == 0:
        return ETH
    return Erc20Client(w3, address).currency()
