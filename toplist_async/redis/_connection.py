"""Reaching Redis with bounded waits; the one error a dead or frozen Redis raises."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .._exceptions import ToplistError

__all__ = ["RedisUnavailableError", "bounded", "connect"]


class RedisUnavailableError(ToplistError):
    """Redis could not be reached, did not answer in time, or refused the command."""


def connect(url: str, *, timeout: float = 1.0, **options: Any) -> Redis:
    """
    Return a `redis.asyncio.Redis` for `url` that never waits long for a dead server.

    redis-py's defaults retry a refused connection for seconds and wait on a
    frozen server forever; here each socket operation gives up after `timeout`
    seconds and is retried once. `options` go to `Redis.from_url`. Close the
    client with `await redis.aclose()`.
    """
    options.setdefault("socket_timeout", timeout)
    options.setdefault("socket_connect_timeout", timeout)
    options.setdefault("retry", Retry(NoBackoff(), 1))
    return Redis.from_url(url, **options)


@asynccontextmanager
async def bounded(what: str, timeout: float) -> AsyncIterator[None]:
    """
    Run the block within `timeout` seconds, whatever the client's own settings.

    A Redis error, a socket error or the timeout leaves as `RedisUnavailableError`
    saying `what` was being done; cancellation goes through untouched.
    """
    try:
        async with asyncio.timeout(timeout):
            yield
    except (RedisError, OSError, TimeoutError) as exc:
        detail = f"{type(exc).__name__}: {str(exc) or 'no answer'}"
        msg = f"Redis failed {what} within {timeout:g} s: {detail}"
        raise RedisUnavailableError(msg[:300]) from exc
