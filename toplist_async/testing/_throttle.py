"""The panel's rate limit, shaped like Laravel's `throttle` middleware."""

from __future__ import annotations

import math
import time
from collections import deque

__all__ = ["Throttle"]

WINDOW = 60.0


class Throttle:
    """Allow `limit` requests per bucket in any sliding 60-second window."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            msg = f"rate_limit must be at least 1 request per minute, got {limit!r}"
            raise ValueError(msg)
        self.limit = limit
        self._hits: dict[str, deque[float]] = {}

    def hit(self, bucket: str) -> tuple[dict[str, str], int | None]:
        """Count one request; return the headers to send and, if refused, the wait.

        Refused requests do not count, as in Laravel, so a client that waits
        `Retry-After` seconds gets through.
        """
        now = time.monotonic()
        hits = self._hits.setdefault(bucket, deque())
        while hits and hits[0] <= now - WINDOW:
            hits.popleft()
        limit = str(self.limit)
        if len(hits) >= self.limit:
            wait = max(1, math.ceil(hits[0] + WINDOW - now))
            headers = {
                "Retry-After": str(wait),
                "X-RateLimit-Limit": limit,
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + wait),
            }
            return headers, wait
        hits.append(now)
        remaining = str(self.limit - len(hits))
        return {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining}, None
