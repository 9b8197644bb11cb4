"""`on_request`/`on_response`: what each HTTP attempt did, for metrics and tracing."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = ["Hooks", "RequestEvent", "ResponseEvent"]

T = TypeVar("T")
logger = logging.getLogger("toplist_async")
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """An HTTP attempt about to leave: passed to `on_request`."""

    action: str
    """The API action: `add`, `status`, `cancel`, ..."""
    ids: int
    """How many order ids the request carries (0 for `services`, `balance`, `add`)."""
    attempt: int
    """1 for the first try, 2 for the first retry, ..."""


@dataclass(frozen=True, slots=True)
class ResponseEvent:
    """An HTTP attempt that ended: passed to `on_response`."""

    action: str
    ids: int
    attempt: int
    status_code: int | None
    """The HTTP status, or None when no answer came (timeout, connection lost)."""
    elapsed: float
    """Seconds from sending to the end of reading the answer."""
    headers: Mapping[str, str]
    """The answer's headers (`X-RateLimit-Remaining`, ...); empty without one."""
    error: BaseException | None
    """The attempt's error (the SDK's), or None when it succeeded."""


RequestHook = Callable[[RequestEvent], Awaitable[None] | None]
ResponseHook = Callable[[ResponseEvent], Awaitable[None] | None]


class Hooks:
    """Calls the user's hooks around each attempt; a hook's failure is only logged."""

    def __init__(
        self, on_request: RequestHook | None, on_response: ResponseHook | None
    ) -> None:
        self._on_request = on_request
        self._on_response = on_response

    async def around(
        self,
        action: str,
        ids: int,
        attempt: int,
        send: Callable[[Callable[[int, Mapping[str, str]], None]], Awaitable[T]],
    ) -> T:
        """Run `send(observe)`, telling the hooks before and after."""
        if self._on_request is not None:
            await _call(self._on_request, RequestEvent(action, ids, attempt))
        answer: list[Any] = [None, _NO_HEADERS]

        def observe(status: int, headers: Mapping[str, str]) -> None:
            answer[:] = [status, headers]

        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await send(observe)
        except Exception as exc:
            error = exc
            raise
        finally:
            if self._on_response is not None:
                event = ResponseEvent(
                    action,
                    ids,
                    attempt,
                    answer[0],
                    time.perf_counter() - started,
                    answer[1],
                    error,
                )
                await _call(self._on_response, event)


async def _call(hook: Callable[[Any], Awaitable[None] | None], event: object) -> None:
    # A metrics hook that fails must not cost an order its id: log, go on.
    try:
        result = hook(event)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("the %s hook failed", type(event).__name__)
