"""Event and ticket metadata on IPFS: ERC-721 JSON, local CIDs, stores and a gateway router.

``cid`` computes CIDv1 exactly as a Kubo-RPC node does; ``erc721`` builds canonical metadata
JSON; ``store`` puts and gets content (a Kubo-RPC node or an embedded on-disk store with the same
CIDs); ``gateway`` serves ``/ipfs/{cid}/{path}`` from a store; ``jsipfs`` runs a js-ipfs node for
development and tests.
"""
