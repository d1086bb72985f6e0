"""Typed dependencies: the routes declare what they need, these provide it.

``SessionDep`` is a database session per request; ``ProviderDep``, ``ChainDep`` and
``SettingsDep`` come from the app's state (built once by :func:`api.app.create_app`);
``PrincipalDep`` authenticates an ``X-API-Key``; ``OrderTokenDep`` reads ``X-Order-Token``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from api.chain import BridgeChain
from api.errors import Unauthorized
from api.payments.base import PaymentProvider
from api.ratelimit import TokenBuckets
from api.services.auth import Principal, authenticate
from fairgate.errors import ConfigError
from fairgate.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_provider(request: Request) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.provider
    return provider


def get_chain(request: Request) -> BridgeChain:
    chain: BridgeChain | None = request.app.state.chain
    if chain is None:
        raise ConfigError("the bridge has no chain connection configured")
    return chain


def get_limiter(request: Request) -> TokenBuckets:
    limiter: TokenBuckets = request.app.state.order_limiter
    return limiter


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ProviderDep = Annotated[PaymentProvider, Depends(get_provider)]
ChainDep = Annotated[BridgeChain, Depends(get_chain)]
LimiterDep = Annotated[TokenBuckets, Depends(get_limiter)]


def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    x_api_key: Annotated[str | None, Header(description="Organizer, gate or admin API key")] = None,
) -> Principal:
    return authenticate(session, settings, x_api_key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_order_token(
    x_order_token: Annotated[
        str | None, Header(description="The token returned when the order was made")
    ] = None,
) -> str:
    if not x_order_token:
        raise Unauthorized("an order token is required (X-Order-Token)")
    return x_order_token


OrderTokenDep = Annotated[str, Depends(get_order_token)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientDep = Annotated[str, Depends(client_address)]
