"""Typed dependencies: the routes declare what they need, these provide it.

``SessionDep`` is a database session per request; ``ProviderDep``, ``ChainDep`` and
``SettingsDep`` come from the app's state (built once by :func:`api.app.create_app`);
``PrincipalDep`` authenticates an ``X-API-Key``; ``OrderTokenDep`` reads ``X-Order-Token``.

Dependencies that do no I/O are ``async def``: FastAPI runs every plain ``def`` dependency in its
thread pool, and those hops were a large share of an order's cost. The ones that touch the
database (the session, the principal) stay plain functions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.accounts import BridgeAccounts
from api.errors import Unauthorized
from api.payments.base import PaymentProvider
from api.ratelimit import OrderLimiter
from api.services.auth import Principal, authenticate
from fairgate.errors import ConfigError
from fairgate.settings import Settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request. Creating one does no I/O; closing one does only while it still
    holds a connection (a read left its transaction open): then it is closed in the thread pool,
    otherwise (the usual case after a commit) right here, without a thread hop."""
    session: Session = request.app.state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_provider(request: Request) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.provider
    return provider


async def get_chain(request: Request) -> BridgeAccounts:
    chain: BridgeAccounts | None = request.app.state.chain
    if chain is None:
        raise ConfigError("the bridge has no chain connection configured")
    return chain


async def get_limiter(request: Request) -> OrderLimiter:
    limiter: OrderLimiter = request.app.state.order_limiter
    return limiter


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ProviderDep = Annotated[PaymentProvider, Depends(get_provider)]
ChainDep = Annotated[BridgeAccounts, Depends(get_chain)]
LimiterDep = Annotated[OrderLimiter, Depends(get_limiter)]


def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    x_api_key: Annotated[str | None, Header(description="Organizer, gate or admin API key")] = None,
) -> Principal:
    return authenticate(session, settings, x_api_key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_order_token(
    x_order_token: Annotated[
        str | None, Header(description="The token returned when the order was made")
    ] = None,
) -> str:
    if not x_order_token:
        raise Unauthorized("an order token is required (X-Order-Token)")
    return x_order_token


OrderTokenDep = Annotated[str, Depends(get_order_token)]


async def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientDep = Annotated[str, Depends(client_address)]
