"""
Sending batches: when full or when the window closes, a few at a time.

At most `max_in_flight` batches are under way at once; a batch waiting for a
free slot keeps filling. Each batch's answer, or the failure of its request,
goes back to the batcher that filled it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Hashable, Mapping
from functools import partial
from typing import Any, Generic, TypeVar

from ._batch import Batch
from ._exceptions import APIConnectionError, ClientClosedError

__all__ = ["Dispatcher"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Answer = Mapping[K, V | BaseException]


class Dispatcher(Generic[K, V]):
    """
    Sends the batches a batcher fills with `loader(keys)`, and hands back answers.

    `open` is the batch being filled (None until an id needs one); `loop` gives
    the event loop to run on; `on_answer(batch, answer, failure)` gets every
    sent batch's answer, or the failure of its request.
    """

    def __init__(
        self,
        loader: Callable[[list[K]], Coroutine[Any, Any, Answer[K, V]]],
        *,
        action: str,
        window: float,
        max_in_flight: int,
        loop: Callable[[], asyncio.AbstractEventLoop],
        on_answer: Callable[
            [Batch[K, V], Answer[K, V] | None, BaseException | None], None
        ],
    ) -> None:
        self._loader = loader
        self._action = action
        self._window = window
        self._max_in_flight = max_in_flight
        self._loop = loop
        self._on_answer = on_answer
        self.open: Batch[K, V] | None = None
        self._open_due = False
        self._timer: asyncio.Handle | None = None
        self._ready: deque[Batch[K, V]] = deque()
        self._in_flight = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        """The requests under way."""
        self._closed = False

    def start(self) -> Batch[K, V]:
        """Open a new batch; it leaves when the window closes, or when sealed."""
        batch: Batch[K, V] = Batch()
        self.open = batch
        self._open_due = False
        loop = self._loop()
        if self._window > 0:
            self._timer = loop.call_later(self._window, self._on_window)
        else:
            self._timer = loop.call_soon(self._on_window)
        return batch

    def _on_window(self) -> None:
        self._timer = None
        self._open_due = True
        self._pump()

    def seal(self) -> None:
        """Send the open batch now (it is full), or as soon as a slot is free."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.open is not None:
            self._ready.append(self.open)
        self.open = None
        self._open_due = False
        self._pump()

    def _pump(self) -> None:
        """Send ready batches while in-flight slots are free."""
        while self._in_flight < self._max_in_flight:
            if self._ready:
                batch = self._ready.popleft()
            elif self.open is not None and self._open_due:
                batch, self.open, self._open_due = self.open, None, False
            else:
                return
            if not batch.entries:
                continue
            batch.sent = True
            batch.live = len(batch.entries) + batch.extra
            self._in_flight += 1
            task = self._loop().create_task(self._loader(list(batch.entries)))
            # A done-callback, not a try/finally inside the task: a task
            # cancelled before its first step never runs its own finally.
            task.add_done_callback(partial(self._on_done, batch))
            batch.task = task
            self.tasks.add(task)

    def _on_done(self, batch: Batch[K, V], task: asyncio.Task[Answer[K, V]]) -> None:
        if task.cancelled():
            if self._closed:
                failure: BaseException = ClientClosedError(
                    "the client was closed during the request"
                )
            else:
                failure = APIConnectionError(
                    f"the {self._action!r} request was cancelled", request_sent=True
                )
            self._finish(batch, None, failure)
        elif (error := task.exception()) is not None:
            self._finish(batch, None, error)
        else:
            self._finish(batch, task.result(), None)

    def _finish(
        self,
        batch: Batch[K, V],
        outcome: Answer[K, V] | None,
        failure: BaseException | None,
    ) -> None:
        self._in_flight -= 1
        if batch.task is not None:
            self.tasks.discard(batch.task)
        self._on_answer(batch, outcome, failure)
        if not self._closed:
            self._pump()

    def close(self) -> list[Batch[K, V]]:
        """Send nothing more; return the batches that were not sent."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        unsent = [b for b in (self.open, *self._ready) if b is not None]
        self.open, self._ready = None, deque()
        return unsent
