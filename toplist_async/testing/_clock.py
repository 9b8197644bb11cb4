"""The simulated clock that drives order progress."""

from __future__ import annotations

import time

__all__ = ["SimClock"]


class SimClock:
    """Simulated seconds since the panel was built.

    It runs at `speed` simulated seconds per real second (0 freezes it) and jumps
    forward by `advance()`, so a test decides exactly when orders progress.
    """

    __slots__ = ("_offset", "_speed", "_started")

    def __init__(self, speed: float = 1.0) -> None:
        if speed < 0:
            msg = f"speed must be >= 0, got {speed!r}"
            raise ValueError(msg)
        self._speed = speed
        self._started = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        """Return the simulated time, in seconds."""
        return self._offset + (time.monotonic() - self._started) * self._speed

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by `seconds` (never backwards)."""
        if seconds < 0:
            msg = f"the clock only moves forward, got {seconds!r}"
            raise ValueError(msg)
        self._offset += seconds
