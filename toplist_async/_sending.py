"""How the client sends one action: retries, per-view options and hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Self

import msgspec

from ._hooks import Hooks
from ._options import CallOptions, view_of
from ._retry import RetryPolicy
from ._transport import Transport

__all__ = ["Sending"]


class Sending:
    """The client's sending half: `_send()` and `with_options()`."""

    _transport: Transport
    _retry: RetryPolicy
    _hooks: Hooks | None
    _options: CallOptions

    async def _send(
        self,
        action: str,
        fields: Mapping[str, Any],
        retryable: Callable[[BaseException], bool],
        ids: int = 0,
        fast: msgspec.json.Decoder[Any] | None = None,
    ) -> Any:
        options, hooks, post = self._options, self._hooks, self._transport.post
        timeout = options.timeout
        tries = 0

        async def attempt() -> Any:
            nonlocal tries
            tries += 1
            if hooks is None:
                return await post(action, fields, ids=ids, fast=fast, timeout=timeout)
            return await hooks.around(
                action,
                ids,
                tries,
                lambda observe: post(
                    action, fields, ids=ids, fast=fast, timeout=timeout, observe=observe
                ),
            )

        return await self._retry.call(action, attempt, retryable, options.max_retries)

    def with_options(
        self, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Self:
        """
        This client with another `timeout` or `max_retries` for the calls made
        through it: `await client.with_options(timeout=5).balance()`.

        It shares the client's connections, batchers, rate limit and 429
        pauses (a second client would split them). `status()`, `cancel()` and
        the refill calls join the client's shared batches, which are sent with
        the client's own options. Closing a view does nothing: close the client.
        """
        return view_of(self, timeout=timeout, max_retries=max_retries)
