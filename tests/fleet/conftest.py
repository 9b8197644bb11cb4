"""A real redis-server for the fleet tests, started once per session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from toplist_async.redis import connect
from toplist_async.testing._redis_server import RedisServer

HOW_TO_INSTALL = "install it (Debian: apt-get install -y redis-server) to run them"


def start_or_skip(*args: str) -> RedisServer:
    """Start a server; skip the test when that fails, fail it when CI=true."""
    server = RedisServer(*args)
    try:
        server.start()
    except RuntimeError as exc:
        reason = f"the Redis tests need a real redis-server: {exc}; {HOW_TO_INSTALL}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One throwaway redis-server on a unix socket for the whole session."""
    server = start_or_skip()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A client of the session's server, which starts each test empty."""
    client = connect(redis_server.url)
    await client.flushall()
    try:
        yield client
    finally:
        await client.aclose()
