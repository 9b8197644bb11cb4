"""`client.with_options()`: the same client with other per-call options."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Protocol, TypeVar

import aiohttp

__all__ = ["CallOptions", "request_timeout", "view_of"]


@dataclass(frozen=True, slots=True)
class CallOptions:
    """What a view made by `with_options()` changes; None keeps the client's."""

    timeout: aiohttp.ClientTimeout | None = None
    max_retries: int | None = None


def request_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """The timeout of one request of `seconds`, refusing nonsense."""
    if not seconds > 0:
        msg = f"timeout must be a positive number of seconds, not {seconds!r}"
        raise ValueError(msg)
    # `connect` (which includes waiting for a pooled connection) stays below
    # `total`, so a request that never left times out as unsent.
    return aiohttp.ClientTimeout(total=seconds, connect=min(seconds / 2, 10.0))


class _Configurable(Protocol):
    _options: CallOptions


C = TypeVar("C", bound=_Configurable)


def view_of(client: C, *, timeout: float | None, max_retries: int | None) -> C:
    """A shallow copy of `client` sharing its connections, batchers and limits."""
    if max_retries is not None and max_retries < 0:
        msg = f"max_retries must be 0 or more, not {max_retries}"
        raise ValueError(msg)
    current = client._options
    view = copy.copy(client)
    view._options = CallOptions(
        timeout=current.timeout if timeout is None else request_timeout(timeout),
        max_retries=current.max_retries if max_retries is None else max_retries,
    )
    return view
