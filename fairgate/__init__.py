"""Fairgate: a ticketing ledger with capped resale and zero-knowledge gate checks.

This package holds what every layer shares: the settings (``fairgate.settings``) and the one
exception root (``fairgate.errors``). The layers above it are ``chain`` (web3.py + eth-account),
``zk`` (circuits, prover, verifier), ``api`` (the FastAPI bridge) and ``cli`` (the command line);
data flows one way: ``api``/``cli``/``scripts`` call ``chain`` and ``zk``, never the reverse.
"""

__version__ = "0.1.0"
