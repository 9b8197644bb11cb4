"""A one-line progress bar for the command line, silent when not on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Draws `label [#####   ] done/total` on a terminal; silent when piped."""

    def __init__(self, label: str, total: int, *, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty() and total > 0
        self._label = label
        self._total = total
        self._done = 0
        self._drawn_at = 0.0

    def advance(self, count: int = 1) -> None:
        """Count `count` more items done, redrawing at most ten times a second."""
        self._done += count
        now = time.monotonic()
        if self._enabled and (now - self._drawn_at > 0.1 or self._done >= self._total):
            self._drawn_at = now
            filled = 30 * self._done // self._total
            bar = "#" * filled + " " * (30 - filled)
            line = f"\r{self._label} [{bar}] {self._done}/{self._total}"
            self._stream.write(line)
            self._stream.flush()

    def close(self) -> None:
        """Clear the bar's line so the next output starts clean."""
        if self._enabled:
            self._stream.write("\r\033[K")
            self._stream.flush()
