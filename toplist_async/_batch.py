"""The pieces of one batch: its slots (one per id), their waiters, the fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

__all__ = ["MISSING", "PENDING", "Batch", "Group", "Slot", "Waiter", "deliver"]

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


class Slot(Generic[K, V]):
    """One id of one batch: its waiters and how many of them still wait."""

    __slots__ = ("batch", "first", "key", "live", "others")

    def __init__(self, batch: Batch[K, V], key: K, first: Waiter[K, V]) -> None:
        self.batch = batch
        self.key = key
        # Most ids have one waiter: no list unless a second one joins.
        self.first = first
        self.others: list[Waiter[K, V]] | None = None
        self.live = 1


class Batch(Generic[K, V]):
    """Ids sent together in one request, once it is sent."""

    __slots__ = ("finished", "live", "sent", "slots", "task")

    def __init__(self) -> None:
        self.slots: dict[K, Slot[K, V]] = {}
        self.live = 0
        self.sent = False
        self.finished = False
        self.task: asyncio.Task[Any] | None = None
