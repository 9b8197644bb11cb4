"""
The one retry policy: which failures are retried per action, and how long to wait.

Reads (`services`, `status`, `balance`, `refill_status`) are retried on anything
transient. Mutations (`add`, `cancel`, `refill`) follow one rule: sent again only
when the request certainly never reached the panel, or its answer proves the
panel did nothing (a throttle's refusal that carries no outcome). A retried `add`
after the panel may have seen it could place a second order; an error answer
that still says what was done (an order id, per-order results) is the answer.
A 429 whose wait is within `max_retry_after` pauses every request of the client
and an optional token bucket paces every attempt (both in `_pacing`). `deadline`
bounds every wait of a call: no retry starts after it, and a call whose turn at
the bucket (or the end of a 429 pause) would come after it fails at once,
unsent, so a call lasts at most about `deadline + timeout` whatever the pace.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import tenacity as _t

from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    ResponseValidationError,
)
from ._pacing import OutOfTime, Pacer
from ._ratelimit import RateLimiter
from ._stats import StatsCounter

__all__ = [
    "RetryPolicy",
    "answer_in",
    "failure_reason",
    "is_transient",
    "mutation_rule",
    "sleep",
]

T = TypeVar("T")
logger = logging.getLogger("toplist_async")

# Tests replace this to run the policy without waiting.
sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


async def _sleep(seconds: float) -> None:
    await sleep(seconds)


def failure_reason(exc: BaseException | None) -> str:
    """A failure in a few words for logs: `HTTP 429`, `a timeout`, ..."""
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ResponseValidationError):
        return f"an unreadable answer (HTTP {status})"
    if status is not None:
        return f"HTTP {status}"
    if isinstance(exc, APITimeoutError):
        return "a timeout"
    if isinstance(exc, APIConnectionError):
        return "a connection error"
    return type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """Retry a read: connection trouble, throttling, 5xx, a body that is not JSON."""
    if isinstance(exc, APIConnectionError | RateLimitError | InternalServerError):
        return True
    return isinstance(exc, ResponseValidationError) and exc.not_json


def answer_in(exc: BaseException, read: Callable[[object], T]) -> T | None:
    """
    What an error answer to a mutation says the panel did, as `read` (the
    action's decoder) reads it; None when it says nothing of the asked orders.
    """
    if not isinstance(exc, APIError) or not isinstance(exc.body, dict | list):
        return None
    try:
        outcome = read(exc.body)
    except ResponseValidationError:
        return None
    if isinstance(outcome, dict) and not outcome:
        return None  # per-order results, none of them for an asked order
    return outcome


def mutation_rule(read: Callable[[object], object]) -> Callable[[BaseException], bool]:
    """
    Whether a mutation whose answers `read` decodes may be sent again: only if
    it never reached the panel, or the throttle refused it whole (a 429 that
    carries no outcome; one that does is the answer, never re-sent).
    """

    def send_again(exc: BaseException) -> bool:
        if isinstance(exc, APIConnectionError):
            return not exc.request_sent
        return isinstance(exc, RateLimitError) and answer_in(exc, read) is None

    return send_again


class RetryPolicy:
    """
    Exponential backoff with full jitter, bounded by attempts and a deadline.

    `max_retries` counts the retries after the first attempt; `deadline` bounds
    the whole call, waits included; a `Retry-After` above `max_retry_after`
    is not waited for: the `RateLimitError` is raised instead.
    """

    def __init__(
        self,
        *,
        max_retries: int,
        deadline: float,
        stats: StatsCounter,
        initial_delay: float = 0.5,
        max_delay: float = 8.0,
        max_retry_after: float = 60.0,
        bucket: RateLimiter | None = None,
    ) -> None:
        if max_retries < 0:
            msg = f"max_retries must be 0 or more, not {max_retries}"
            raise ValueError(msg)
        self.max_retries = max_retries
        self.deadline = deadline
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self._stats = stats
        self._pacer = Pacer(
            max_retry_after=max_retry_after, stats=stats, bucket=bucket, sleep=_sleep
        )

    async def call(
        self,
        action: str,
        attempt: Callable[[], Awaitable[T]],
        retryable: Callable[[BaseException], bool],
        max_retries: int | None = None,
    ) -> T:
        """
        Run `attempt` until it succeeds, fails for good, or the budget is spent;
        `max_retries` overrides the policy's for this call (`with_options()`).
        """
        limit = self.max_retries if max_retries is None else max_retries
        started = time.monotonic()
        ends = started + self.deadline
        # Most calls succeed at once: they do not pay for tenacity's machinery
        # (tens of µs a call), which takes over only after a retryable failure.
        try:
            return await self._pacer.run(attempt, ends)
        except OutOfTime as exc:
            raise self._out_of_time(action, exc) from None
        except Exception as exc:
            if not retryable(exc):
                raise
            first_failure: list[Exception] = [exc]

        async def paced_attempt() -> T:
            if first_failure:
                raise first_failure.pop()  # tenacity's attempt 1: already made
            return await self._pacer.run(attempt, ends)

        def before_sleep(state: _t.RetryCallState) -> None:
            self._stats.retries += 1
            error = state.outcome.exception() if state.outcome else None
            reason = failure_reason(error)
            wait = float(state.upcoming_sleep)
            logger.info(
                "%s: retrying in %.1f s after %s (attempt %d of %d)",
                action,
                wait,
                reason,
                state.attempt_number + 1,
                limit + 1,
                extra={"toplist_wait": wait, "toplist_reason": reason},
            )

        def stop(state: _t.RetryCallState) -> bool:
            return self._stop(state, time.monotonic() - started, limit)

        retrying = _t.AsyncRetrying(
            retry=_t.retry_if_exception(retryable),
            stop=stop,
            wait=self._wait,
            sleep=_sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return await retrying(paced_attempt)
        except OutOfTime as exc:
            raise self._out_of_time(action, exc) from None

    def _out_of_time(self, action: str, exc: OutOfTime) -> APITimeoutError:
        msg = (
            f"{action!r} was not sent: its turn under the rate limit (or the end of "
            f"the panel's 429 pause) is {exc.wait:.1f} s away, past the call's "
            f"retry_deadline of {self.deadline:g} s"
        )
        return APITimeoutError(msg, request_sent=False)

    def _wait(self, state: _t.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        ceiling = self.initial_delay * 2 ** (state.attempt_number - 1)
        return random.uniform(0, min(self.max_delay, ceiling))

    def _stop(self, state: _t.RetryCallState, elapsed: float, limit: int) -> bool:
        """Whether to give up; `elapsed` counts from the first attempt's start."""
        if state.attempt_number > limit:
            return True
        error = state.outcome.exception() if state.outcome else None
        if (
            isinstance(error, RateLimitError)
            and error.retry_after is not None
            and error.retry_after > self.max_retry_after
        ):
            return True
        return elapsed + state.upcoming_sleep > self.deadline
