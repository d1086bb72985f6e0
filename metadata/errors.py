"""Errors of the metadata package, all under Fairgate's one root (:class:`TicketError`).

Each derives from the project error it resembles, so the API layer maps them without knowing
this package: bad input is a ValueError (400), missing content a NotFound (404), a failing or
inconsistent IPFS node a ToolchainError (502/500).
"""

from __future__ import annotations

from fairgate.errors import NotFound, TicketError, ToolchainError


class MetadataError(TicketError, ValueError):
    """Metadata or content was refused (malformed, too large, not representable)."""

    code = "metadata_error"


class InvalidCid(MetadataError):
    """The string is not a CID this project can serve (sha2-256, raw or dag-pb)."""

    code = "invalid_cid"


class ContentNotFound(NotFound):
    """The store does not hold this CID (or the path inside it)."""

    code = "content_not_found"


class IpfsNodeError(ToolchainError):
    """The IPFS node (Kubo RPC API) failed, timed out, or answered something unexpected."""

    code = "ipfs_node_error"


class CidMismatch(IpfsNodeError):
    """The node computed another CID than ours: its importer settings differ from Fairgate's."""

    code = "cid_mismatch"
