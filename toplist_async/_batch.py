"""The pieces of one batch: its ids, their waiters, the fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

__all__ = [
    "MISSING",
    "PENDING",
    "Batch",
    "Entry",
    "Group",
    "Shared",
    "Waiter",
    "deliver",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MISSING = object()
PENDING = object()


def deliver(waiter: Waiter[K, V], key: K, value: V | BaseException) -> None:
    """Hand `key`'s answer to one waiter, unless it stopped waiting."""
    if isinstance(waiter, Group):
        waiter.put(key, value)
    elif not waiter.done():
        if isinstance(value, BaseException):
            waiter.set_exception(value)
        else:
            waiter.set_result(value)


class Group(Generic[K, V]):
    """The one waiter of a `load_many` call: collects its keys' answers."""

    __slots__ = ("future", "remaining", "results", "sealed")

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future
        self.results: dict[K, V | BaseException] = {}
        self.remaining = 0
        self.sealed = False

    def put(self, key: K, value: V | BaseException) -> None:
        self.results[key] = value
        self.remaining -= 1
        if not self.remaining and self.sealed and not self.future.done():
            self.future.set_result(None)


# A caller's own future (`load`) or a whole `load_many` call.
Waiter = Group[K, V] | asyncio.Future[V]


class Shared(Generic[K, V]):
    """The waiters of an id that more than one caller waits for, and how many wait."""

    __slots__ = ("live", "waiters")

    def __init__(self, waiters: list[Waiter[K, V]]) -> None:
        self.waiters = waiters
        self.live = len(waiters)


# What a batch holds for one id: the one waiter most ids have, or a `Shared`.
Entry = Waiter[K, V] | Shared[K, V]


class Batch(Generic[K, V]):
    """Ids sent together in one request, with their waiters."""

    __slots__ = ("abandoned", "entries", "extra", "finished", "live", "sent", "task")

    def __init__(self) -> None:
        self.entries: dict[K, Entry[K, V]] = {}
        # Waiters beyond one per id, while unsent; `live` counts all once sent.
        self.extra = 0
        self.live = 0
        self.sent = False
        self.abandoned = False
        self.finished = False
        self.task: asyncio.Task[Any] | None = None
