"""What a poll said about an order, what ends one, and what a failed request means."""

from __future__ import annotations

import enum

from ._exceptions import ClientClosedError
from ._loaders import about_the_key

__all__ = ["Ending", "Failure", "Outcome", "classify_failure"]


class Outcome(enum.Enum):
    """What one poll said about one order."""

    CHANGED = "changed"
    """Answered: its first status, or status, remains or start count moved."""
    UNCHANGED = "unchanged"
    """Answered as before."""
    MISSING = "missing"
    """The answer came but left the order out."""
    FAILED = "failed"
    """The whole request failed after the client's retries (`Failure.RETRY`)."""


class Ending(enum.Enum):
    """Why an order is dropped without reaching a final status."""

    MISSING = "missing"
    POISON = "poison"
    TIMEOUT = "timeout"


class Failure(enum.Enum):
    """What a request that failed as a whole means for the tracking."""

    FATAL = "fatal"
    """Tracking ends: every waiter and the iterating consumer get the error."""
    RETRY = "retry"
    """Its orders are polled again later (isolated, see `Schedule.after`)."""


def classify_failure(exc: BaseException) -> Failure:
    """Whether a request that failed as a whole ends tracking or is retried."""
    if isinstance(exc, ClientClosedError) or about_the_key(exc):
        return Failure.FATAL
    return Failure.RETRY
