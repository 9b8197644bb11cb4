"""Counters a client keeps about its own traffic, and their frozen snapshot."""

from __future__ import annotations

from collections import Counter

import msgspec

__all__ = ["ClientStats", "StatsCounter"]


class ClientStats(msgspec.Struct, frozen=True, kw_only=True):
    """
    A snapshot of what a client has done since it was created (`client.stats`).

    Batching shows as `awaits` far above `requests`' total for the batched
    actions (status, cancel, refill, refill_status).
    """

    requests: dict[str, int]
    """HTTP requests sent, per action (retries and split halves included)."""
    awaits: dict[str, int]
    """Ids asked for by callers of the batched actions, per action."""
    ids_requested: int
    """Ids put in batched requests (split halves counted, retries not)."""
    ids_merged: int
    """Awaits that joined an identical id already waiting or in flight."""
    batches_split: int
    """Status batches split in halves to isolate an order the panel refused."""
    retries: int
    """Requests sent again after a transient failure."""
    rate_limit_pauses: int
    """Times a 429 answer paused the whole client."""
    rate_limit_waits: int
    """Requests that waited for the client's own `rate_limit` before leaving."""


class StatsCounter:
    """The live counters behind `ClientStats`; cheap to bump on hot paths."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.ids_requested = 0
        self.batches_split = 0
        self.retries = 0
        self.rate_limit_pauses = 0
        self.rate_limit_waits = 0

    def snapshot(self, *, awaits: dict[str, int], merged: int) -> ClientStats:
        """Copy the counters, and the batchers' own, into a `ClientStats`."""
        return ClientStats(
            requests=dict(self.requests),
            awaits=awaits,
            ids_requested=self.ids_requested,
            ids_merged=merged,
            batches_split=self.batches_split,
            retries=self.retries,
            rate_limit_pauses=self.rate_limit_pauses,
            rate_limit_waits=self.rate_limit_waits,
        )
