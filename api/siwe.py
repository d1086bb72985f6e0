"""Sign-In with Ethereum (EIP-4361) messages: built, parsed by the EIP's grammar, and checked.

The bridge writes the message a wallet signs (:func:`build`), but never trusts that what comes
back is what it wrote: :func:`parse` reads the returned text field by field as the EIP's ABNF
says, and :func:`check` verifies, in this order, the signature (EIP-191 ``personal_sign``
recovering the message's own address), the domain and URI against the site that is asked to
sign in (a message signed for a phishing site does not open a session here), the chain id, and
the time fields (``Issued At`` not in the future, ``Expiration Time`` present and not passed,
``Not Before`` passed). The nonce's single use is the caller's job (it needs the database).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eth_utils.address import is_checksum_address

from api.errors import Unauthorized
from api.security import recover_signer

PREAMBLE = " wants you to sign in with your Ethereum account:"
STATEMENT = "Sign in to the Fairgate organizer dashboard."
CLOCK_SKEW = timedelta(seconds=60)

_MESSAGE = re.compile(
    r"^(?P<domain>[^\s/]+)" + re.escape(PREAMBLE) + r"\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n"
    r"\n"
    r"(?:(?P<statement>[^\n]+)\n\n)?"
    r"URI: (?P<uri>\S+)\n"
    r"Version: (?P<version>1)\n"
    r"Chain ID: (?P<chain_id>[0-9]{1,20})\n"
    r"Nonce: (?P<nonce>[A-Za-z0-9]{8,64})\n"
    r"Issued At: (?P<issued_at>\S+)"
    r"(?:\nExpiration Time: (?P<expiration_time>\S+))?"
    r"(?:\nNot Before: (?P<not_before>\S+))?"
    r"(?:\nRequest ID: (?P<request_id>[^\n]*))?"
    r"(?:\nResources:(?P<resources>(?:\n- \S+)+))?$"
)


class SiweRefused(Unauthorized):
    """A sign-in message or its signature was refused; the message says which check failed."""

    code = "sign_in_refused"


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    statement: str | None
    uri: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None
    not_before: datetime | None = None
    request_id: str | None = None

    def text(self) -> str:
        lines = [f"{self.domain}{PREAMBLE}", self.address, ""]
        if self.statement:
            lines += [self.statement, ""]
        lines += [
            f"URI: {self.uri}",
            "Version: 1",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {_iso(self.issued_at)}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {_iso(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {_iso(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        return "\n".join(lines)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SiweRefused(f"{field} is not an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise SiweRefused(f"{field} needs a time zone")
    return moment


def build(
    *, domain: str, address: str, uri: str, chain_id: int, nonce: str, now: datetime, ttl_s: int
) -> SiweMessage:
    return SiweMessage(
        domain=domain,
        address=address,
        statement=STATEMENT,
        uri=uri,
        chain_id=chain_id,
        nonce=nonce,
        issued_at=now,
        expiration_time=now + timedelta(seconds=ttl_s),
    )


def parse(text: str) -> SiweMessage:
    """The message's fields; SiweRefused when the text does not follow EIP-4361."""
    if len(text) > 4000:
        raise SiweRefused("the sign-in message is too long")
    match = _MESSAGE.match(text.replace("\r\n", "\n"))
    if match is None:
        raise SiweRefused("the sign-in message does not follow EIP-4361")
    fields = match.groupdict()
    if not is_checksum_address(fields["address"]):
        raise SiweRefused("the address in the sign-in message is not EIP-55 checksummed")
    issued = _time(fields["issued_at"], "Issued At")
    assert issued is not None
    return SiweMessage(
        domain=fields["domain"],
        address=fields["address"],
        statement=fields["statement"],
        uri=fields["uri"],
        chain_id=int(fields["chain_id"]),
        nonce=fields["nonce"],
        issued_at=issued,
        expiration_time=_time(fields["expiration_time"], "Expiration Time"),
        not_before=_time(fields["not_before"], "Not Before"),
        request_id=fields["request_id"],
    )


def check(
    text: str, signature: str, *, domain: str, origin: str, chain_id: int, now: datetime
) -> SiweMessage:
    """The parsed message once every check but the nonce's passed; SiweRefused otherwise."""
    message = parse(text)
    signer = recover_signer(text, signature)
    if signer is None or signer != message.address:
        raise SiweRefused("the signature does not match the address in the sign-in message")
    if message.domain != domain:
        raise SiweRefused(f"the sign-in message is for {message.domain}, not {domain}")
    if not (message.uri == origin or message.uri.startswith(origin + "/")):
        raise SiweRefused("the sign-in message's URI is not this site")
    if message.chain_id != chain_id:
        raise SiweRefused(f"the sign-in message is for chain {message.chain_id}, not {chain_id}")
    if message.issued_at > now + CLOCK_SKEW:
        raise SiweRefused("the sign-in message is issued in the future")
    if message.expiration_time is None:
        raise SiweRefused("the sign-in message has no expiration time")
    if message.expiration_time <= now:
        raise SiweRefused("the sign-in message has expired")
    if message.not_before is not None and message.not_before > now + CLOCK_SKEW:
        raise SiweRefused("the sign-in message is not valid yet")
    return message
