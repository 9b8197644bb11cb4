"""Unit tests of the Batcher: triggers, merging, outcomes, cancelling, limits, close."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from toplist_async._batcher import Batcher
from toplist_async._exceptions import (
    APIConnectionError,
    ClientClosedError,
    OrderError,
)

OMIT = object()
"""A per-key outcome that makes the fake loader leave the key out of its mapping."""


def value_of(key: int) -> str:
    return f"value-{key}"


class FakeLoader:
    """
    An in-memory loader recording every keys list it gets.

    `outcomes` overrides a key's answer (a value, an exception, or OMIT); a batch
    holding a key of `fail_if` raises that key's error; `hold()` makes calls wait.
    """

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.finished: list[list[int]] = []
        self.cancelled: list[list[int]] = []
        self.outcomes: dict[int, object] = {}
        self.fail_if: dict[int, BaseException] = {}
        self.gate: asyncio.Event | None = None
        self.delay_iterations = 0
        self.active = 0
        self.max_active = 0

    def hold(self) -> asyncio.Event:
        """Make every later call wait until the returned event is set."""
        self.gate = asyncio.Event()
        return self.gate

    async def __call__(self, keys: list[int]) -> dict[int, str | BaseException]:
        self.calls.append(list(keys))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            for _ in range(self.delay_iterations):
                await asyncio.sleep(0)
            if self.gate is not None:
                await self.gate.wait()
            for key in keys:
                if key in self.fail_if:
                    raise self.fail_if[key]
        except asyncio.CancelledError:
            self.cancelled.append(list(keys))
            raise
        finally:
            self.active -= 1
        self.finished.append(list(keys))
        answer: dict[int, str | BaseException] = {}
        for key in keys:
            outcome = self.outcomes.get(key, value_of(key))
            if outcome is OMIT:
                continue
            assert isinstance(outcome, str | BaseException)
            answer[key] = outcome
        return answer


def make(
    loader: FakeLoader,
    *,
    window: float = 0.0,
    max_batch_size: int = 100,
    max_in_flight: int = 8,
    max_pending: int = 10_000,
    abandon_unwanted: bool = True,
) -> Batcher[int, str]:
    batcher: Batcher[int, str] = Batcher(
        loader,
        action="status",
        on_missing=lambda k: OrderError(k, "missing"),
        window=window,
        max_batch_size=max_batch_size,
        max_in_flight=max_in_flight,
        max_pending=max_pending,
        abandon_unwanted=abandon_unwanted,
    )
    return batcher


async def settle(iterations: int = 10) -> None:
    """Let the loop run a few iterations (no real time passes)."""
    for _ in range(iterations):
        await asyncio.sleep(0)


async def outcome(task: asyncio.Task[Any], timeout: float = 1.0) -> object:
    """The task's result or the exception it raised; fails the test on a hang."""
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout)
    except TimeoutError:
        task.cancel()
        pytest.fail("a waiter was left hanging")
    except Exception as exc:
        return exc


def spawn(batcher: Batcher[int, str], *keys: int) -> list[asyncio.Task[str]]:
    return [asyncio.create_task(batcher.load(key)) for key in keys]


async def hold_the_only_slot(
    loader: FakeLoader, batcher: Batcher[int, str]
) -> tuple[asyncio.Event, asyncio.Task[str]]:
    """Put key 0 in flight, held, so later batches wait before dispatch."""
    gate = loader.hold()
    blocker = asyncio.create_task(batcher.load(0))
    await settle()
    assert loader.calls == [[0]]
    return gate, blocker


@pytest.fixture(autouse=True)
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Fail any test that leaves a never-retrieved exception or a stray task."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    before = asyncio.all_tasks()
    # Objects older than the test are frozen, so the collection below only has to
    # scan what the test allocated (a full collection per test costs ~50 ms).
    gc.freeze()
    yield seen
    await settle()
    leftover = asyncio.all_tasks() - before - {asyncio.current_task()}
    for task in leftover:
        task.cancel()
    gc.collect()
    gc.unfreeze()
    loop.set_exception_handler(previous)
    assert not leftover, f"tasks outlived the test: {leftover}"
    assert seen == [], f"the loop reported: {[c.get('message') for c in seen]}"


# --- when a batch leaves -----------------------------------------------------


async def test_loads_of_one_iteration_form_one_batch() -> None:
    """With window=0, loads made in the same loop iteration go out as one call."""
    loader = FakeLoader()
    batcher = make(loader)
    tasks = spawn(batcher, 5, 3, 9, 1)
    assert [await t for t in tasks] == [value_of(k) for k in (5, 3, 9, 1)]
    assert loader.calls == [[5, 3, 9, 1]]
    assert batcher.awaits == 4
    assert batcher.merged == 0


@pytest.mark.parametrize(
    ("window", "expected_calls"),
    [
        pytest.param(0.0, [[1], [2], [3], [4]], id="window0-next-iteration-is-new"),
        pytest.param(0.05, [[1, 2, 3, 4]], id="window-collects-later-iterations"),
    ],
)
async def test_window_decides_which_iterations_share_a_batch(
    window: float, expected_calls: list[list[int]]
) -> None:
    """Loads a few iterations apart share a batch only when the window covers them."""
    loader = FakeLoader()
    batcher = make(loader, window=window)
    tasks = []
    for key in (1, 2, 3, 4):
        tasks += spawn(batcher, key)
        await settle(3)
    assert [await t for t in tasks] == [value_of(k) for k in (1, 2, 3, 4)]
    assert loader.calls == expected_calls


async def test_full_batch_leaves_at_once_and_next_one_starts_filling() -> None:
    """Reaching max_batch_size sends the batch without waiting for the window."""
    loader = FakeLoader()
    batcher = make(loader, window=60.0, max_batch_size=3)
    tasks = spawn(batcher, *range(1, 8))
    await settle()
    assert loader.calls == [[1, 2, 3], [4, 5, 6]]
    assert [t.done() for t in tasks] == [True] * 6 + [False]
    assert [t.result() for t in tasks[:6]] == [value_of(k) for k in range(1, 7)]
    await batcher.aclose()
    assert isinstance(await outcome(tasks[6]), ClientClosedError)
    assert loader.calls == [[1, 2, 3], [4, 5, 6]]


# --- merging -----------------------------------------------------------------


async def test_identical_waiting_ids_are_loaded_once() -> None:
    """Duplicate ids waiting in the open batch take one slot; every caller gets it."""
    loader = FakeLoader()
    batcher = make(loader)
    tasks = spawn(batcher, 1, 2, 1, 1, 2)
    assert [await t for t in tasks] == [value_of(k) for k in (1, 2, 1, 1, 2)]
    assert loader.calls == [[1, 2]]
    assert batcher.awaits == 5
    assert batcher.merged == 3


async def test_id_in_flight_is_joined_not_asked_again() -> None:
    """A load of an id already in flight waits for that request's answer."""
    loader = FakeLoader()
    batcher = make(loader)
    gate = loader.hold()
    first = spawn(batcher, 1)
    await settle()
    later = spawn(batcher, 1, 2)
    await settle()
    assert loader.calls == [[1], [2]]
    gate.set()
    assert [await t for t in first + later] == [value_of(1), value_of(1), value_of(2)]
    assert batcher.merged == 1


async def test_nothing_is_cached_across_batches() -> None:
    """Once a batch is answered, the next load of the same id asks again."""
    loader = FakeLoader()
    batcher = make(loader)
    assert await batcher.load(7) == value_of(7)
    loader.outcomes[7] = "changed"
    assert await batcher.load(7) == "changed"
    assert loader.calls == [[7], [7]]
    assert batcher.merged == 0


# --- outcomes ----------------------------------------------------------------


async def test_per_id_error_and_missing_id_fail_only_their_callers() -> None:
    """An error value or an omitted id fails its own callers; the rest get values."""
    loader = FakeLoader()
    refused = OrderError(2, "refused")
    loader.outcomes = {2: refused, 3: OMIT}
    batcher = make(loader)
    tasks = spawn(batcher, 1, 2, 3, 4, 2, 3)
    got = [await outcome(t) for t in tasks]
    assert got[0] == value_of(1)
    assert got[3] == value_of(4)
    assert got[1] is refused
    assert got[4] is refused
    for missing in (got[2], got[5]):
        assert isinstance(missing, OrderError)
        assert (missing.order_id, missing.message) == (3, "missing")
    assert loader.calls == [[1, 2, 3, 4]]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(RuntimeError("panel exploded"), id="runtime-error"),
        pytest.param(
            APIConnectionError("reset", request_sent=True), id="toplist-error"
        ),
        pytest.param(KeyError("bug in the loader"), id="key-error"),
    ],
)
@pytest.mark.parametrize("delay", [0, 3], ids=["raises-at-once", "raises-later"])
async def test_loader_failure_fails_only_the_callers_of_its_batch(
    error: Exception, delay: int
) -> None:
    """A loader that raises gives its own error to every caller of that batch only."""
    loader = FakeLoader()
    loader.fail_if = {1: error}
    loader.delay_iterations = delay
    batcher = make(loader, max_batch_size=2)
    tasks = spawn(batcher, 1, 2, 1, 3, 4)
    got = [await outcome(t) for t in tasks]
    assert got[0] is error
    assert got[1] is error
    assert got[2] is error
    assert got[3:] == [value_of(3), value_of(4)]
    assert loader.calls == [[1, 2], [3, 4]]


@pytest.mark.parametrize("delay", [0, 3], ids=["raises-at-once", "raises-later"])
async def test_cancelled_error_raised_by_the_loader_strands_nobody(delay: int) -> None:
    """A CancelledError from inside the loader fails its callers with a ToplistError."""
    loader = FakeLoader()
    loader.fail_if = {1: asyncio.CancelledError()}
    loader.delay_iterations = delay
    batcher = make(loader, max_in_flight=1)
    tasks = spawn(batcher, 1, 2, 1)
    for got in [await outcome(t) for t in tasks]:
        assert isinstance(got, APIConnectionError)
        assert got.request_sent is True
    assert not any(t.cancelled() for t in tasks)
    # The in-flight slot was given back: the next batch is sent and answered.
    assert await outcome(spawn(batcher, 2)[0]) == value_of(2)
    assert loader.calls == [[1, 2], [2]]


# --- cancellation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "cancel", "next_calls"),
    [
        pytest.param((1, 1, 2), [0], [[1, 2]], id="one-of-two-waiters-of-an-id"),
        pytest.param((1, 2, 3), [1], [[1, 3]], id="only-waiter-of-an-id"),
        pytest.param((1, 1, 2), [0, 1], [[2]], id="every-waiter-of-an-id"),
        pytest.param((1, 1, 2), [0, 1, 2], [], id="every-waiter-of-the-batch"),
    ],
)
async def test_cancelling_waiters_before_dispatch(
    keys: tuple[int, ...], cancel: list[int], next_calls: list[list[int]]
) -> None:
    """An id whose waiters all left is dropped, and an emptied batch is not sent."""
    loader = FakeLoader()
    batcher = make(loader, max_in_flight=1)
    gate, blocker = await hold_the_only_slot(loader, batcher)
    tasks = spawn(batcher, *keys)
    await settle()
    for index in cancel:
        tasks[index].cancel()
    await settle()
    gate.set()
    assert await blocker == value_of(0)
    for index, (key, task) in enumerate(zip(keys, tasks, strict=True)):
        if index in cancel:
            assert task.cancelled()
        else:
            assert await outcome(task) == value_of(key)
    await settle()
    assert loader.calls == [[0], *next_calls]


@pytest.mark.parametrize(
    ("keys", "cancel", "abandon", "finished", "cancelled"),
    [
        pytest.param((1, 1, 2), [0], True, [[1, 2]], [], id="one-of-two-waiters"),
        pytest.param((1, 2), [0], True, [[1, 2]], [], id="every-waiter-of-one-id"),
        pytest.param((1, 1, 2), [0, 1, 2], True, [], [[1, 2]], id="all-left-abandoned"),
        pytest.param(
            (1, 1, 2), [0, 1, 2], False, [[1, 2]], [], id="all-left-mutation-runs"
        ),
    ],
)
async def test_cancelling_waiters_after_dispatch(
    keys: tuple[int, ...],
    cancel: list[int],
    abandon: bool,
    finished: list[list[int]],
    cancelled: list[list[int]],
) -> None:
    """A sent batch runs while anyone waits; unwanted, it is cancelled if allowed."""
    loader = FakeLoader()
    batcher = make(loader, max_in_flight=1, abandon_unwanted=abandon)
    gate = loader.hold()
    tasks = spawn(batcher, *keys)
    await settle()
    assert loader.calls == [[1, 2]]
    for index in cancel:
        tasks[index].cancel()
    await settle()
    gate.set()
    for index, (key, task) in enumerate(zip(keys, tasks, strict=True)):
        if index in cancel:
            await asyncio.wait([task], timeout=1)
            assert task.cancelled()
        else:
            assert await outcome(task) == value_of(key)
    await settle()
    assert loader.finished == finished
    assert loader.cancelled == cancelled
    # The batcher still works, and asks again: nothing was cached or leaked.
    assert await outcome(spawn(batcher, 1)[0]) == value_of(1)
    assert loader.calls[-1] == [1]


async def test_abandon_right_after_dispatch_gives_back_the_in_flight_slot() -> None:
    """A status batch abandoned before its loader ran must not occupy a slot forever."""
    loader = FakeLoader()
    batcher = make(loader, max_in_flight=1)
    first = spawn(batcher, 1)[0]
    await asyncio.sleep(0)  # `first` enqueues; the batch is sent next iteration
    first.cancel()  # ...and its caller leaves right after, before the loader starts
    await settle()
    assert first.cancelled()
    assert await outcome(spawn(batcher, 2)[0], timeout=0.5) == value_of(2)


@pytest.mark.parametrize(
    ("abandon", "expected"),
    [
        pytest.param(True, ClientClosedError, id="status-batch-cancelled"),
        pytest.param(False, str, id="mutation-batch-finishes"),
    ],
)
async def test_aclose_right_after_dispatch_strands_nobody(
    abandon: bool, expected: type
) -> None:
    """Closing between a batch's dispatch and its loader's start still answers all."""
    loader = FakeLoader()
    batcher = make(loader, abandon_unwanted=abandon)
    task = spawn(batcher, 1)[0]
    await asyncio.sleep(0)  # the caller enqueues
    await asyncio.sleep(0)  # the batch is sent; its task has not run yet
    await batcher.aclose()
    assert isinstance(await outcome(task, timeout=0.5), expected)


@pytest.mark.parametrize("dispatched", [False, True], ids=["unsent", "in-flight"])
async def test_cancelling_20000_waiters_of_one_id_is_fast(dispatched: bool) -> None:
    """Leaving is O(1) per waiter: 20,000 callers of one id cancel in well under 2 s."""
    loader = FakeLoader()
    batcher = make(loader, max_in_flight=1)
    if dispatched:
        gate = loader.hold()
    else:
        gate, blocker = await hold_the_only_slot(loader, batcher)
    tasks = spawn(batcher, *[1] * 20_000)
    await settle(2)
    assert batcher.merged == 19_999
    started = time.perf_counter()
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)
    elapsed = time.perf_counter() - started
    assert all(task.cancelled() for task in tasks)
    assert elapsed < 2.0
    gate.set()
    await settle()
    if dispatched:
        assert loader.cancelled == [[1]]
    else:
        assert await blocker == value_of(0)
        assert loader.calls == [[0]]


# --- load_many -----------------------------------------------------------------


async def test_load_many_returns_values_and_errors_by_id() -> None:
    """load_many maps each id to its value or error instead of raising."""
    loader = FakeLoader()
    refused = OrderError(2, "refused")
    loader.outcomes = {2: refused, 3: OMIT}
    batcher = make(loader)
    got = await batcher.load_many([1, 2, 3, 4])
    assert got.keys() == {1, 2, 3, 4}
    assert got[1] == value_of(1)
    assert got[4] == value_of(4)
    assert got[2] is refused
    missing = got[3]
    assert isinstance(missing, OrderError)
    assert missing.order_id == 3
    assert loader.calls == [[1, 2, 3, 4]]


async def test_load_many_returns_a_failed_batch_error_for_each_of_its_ids() -> None:
    """When the loader raises, load_many maps that batch's ids to the error."""
    loader = FakeLoader()
    error = RuntimeError("down")
    loader.fail_if = {3: error}
    batcher = make(loader, max_batch_size=2)
    got = await batcher.load_many([1, 2, 3, 4, 5])
    assert got == {1: value_of(1), 2: value_of(2), 3: error, 4: error, 5: value_of(5)}


async def test_load_many_merges_with_concurrent_loads() -> None:
    """Ids of a load_many already waiting for a load share one slot."""
    loader = FakeLoader()
    batcher = make(loader)
    single = spawn(batcher, 2)[0]
    many = asyncio.create_task(batcher.load_many([1, 2, 3]))
    also = spawn(batcher, 3)[0]
    assert await many == {1: value_of(1), 2: value_of(2), 3: value_of(3)}
    assert [await single, await also] == [value_of(2), value_of(3)]
    assert len(loader.calls) == 1
    assert sorted(loader.calls[0]) == [1, 2, 3]
    assert batcher.awaits == 5
    assert batcher.merged == 2


async def test_cancelled_load_many_releases_its_ids() -> None:
    """Cancelling load_many drops the ids only it wanted; shared ids stay asked."""
    loader = FakeLoader()
    batcher = make(loader, max_in_flight=1, max_pending=4)
    gate, blocker = await hold_the_only_slot(loader, batcher)
    many = asyncio.create_task(batcher.load_many([1, 2, 3]))
    single = spawn(batcher, 2)[0]
    await settle()
    many.cancel()
    await settle()
    # Space freed by the dropped ids admits new ids at once.
    more = spawn(batcher, 5, 6)
    await settle()
    gate.set()
    assert await blocker == value_of(0)
    assert await outcome(single) == value_of(2)
    assert [await outcome(t) for t in more] == [value_of(5), value_of(6)]
    assert many.cancelled()
    assert loader.calls == [[0], [2, 5, 6]]


async def test_cancelled_load_many_abandons_its_sent_batch() -> None:
    """A load_many cancelled after dispatch abandons a batch nobody else wants."""
    loader = FakeLoader()
    batcher = make(loader)
    loader.hold()
    many = asyncio.create_task(batcher.load_many([1, 2]))
    await settle()
    many.cancel()
    await settle()
    assert many.cancelled()
    assert loader.cancelled == [[1, 2]]


# --- limits ------------------------------------------------------------------


async def test_at_most_max_in_flight_loader_calls_run_at_once() -> None:
    """No more than max_in_flight loader calls are running at any moment."""
    loader = FakeLoader()
    loader.delay_iterations = 3
    batcher = make(loader, max_batch_size=1, max_in_flight=2)
    tasks = spawn(batcher, *range(1, 7))
    assert [await t for t in tasks] == [value_of(k) for k in range(1, 7)]
    assert loader.max_active == 2
    assert loader.calls == [[k] for k in range(1, 7)]


async def test_batch_queued_behind_the_in_flight_limit_keeps_filling() -> None:
    """A batch whose window closed while no slot was free fills up to its size."""
    loader = FakeLoader()
    batcher = make(loader, max_batch_size=3, max_in_flight=1)
    gate, blocker = await hold_the_only_slot(loader, batcher)
    tasks = []
    for key in range(1, 6):
        tasks += spawn(batcher, key)
        await settle(3)
    assert loader.calls == [[0]]
    gate.set()
    assert [await t for t in [blocker, *tasks]] == [value_of(k) for k in range(6)]
    assert loader.calls == [[0], [1, 2, 3], [4, 5]]


async def test_max_pending_makes_new_ids_wait_for_space() -> None:
    """Past max_pending unique ids, a new id waits; a pending id joins at once."""
    loader = FakeLoader()
    batcher = make(loader, max_pending=3)
    gate = loader.hold()
    first = spawn(batcher, 1, 2, 3)
    await settle()
    late = spawn(batcher, 4)[0]
    joined = spawn(batcher, 2)[0]
    await settle()
    assert not late.done()
    assert batcher.awaits == 4  # 1, 2, 3 and the merged 2; not 4 yet
    assert loader.calls == [[1, 2, 3]]
    gate.set()
    assert [await t for t in first] == [value_of(k) for k in (1, 2, 3)]
    assert await outcome(joined) == value_of(2)
    assert await outcome(late) == value_of(4)
    assert loader.calls == [[1, 2, 3], [4]]


async def test_load_many_past_max_pending_proceeds_as_space_frees() -> None:
    """A load_many larger than max_pending completes, never asking for more at once."""
    loader = FakeLoader()
    batcher = make(loader, max_pending=2, max_batch_size=10)
    got = await asyncio.wait_for(batcher.load_many(range(1, 8)), 1)
    assert got == {k: value_of(k) for k in range(1, 8)}
    assert all(len(keys) <= 2 for keys in loader.calls)
    assert sorted(k for keys in loader.calls for k in keys) == list(range(1, 8))


async def test_space_freed_by_a_cancelled_id_admits_a_waiting_load() -> None:
    """When an unsent id's last waiter leaves, a load waiting for space proceeds."""
    loader = FakeLoader()
    batcher = make(loader, max_in_flight=1, max_pending=2)
    gate, blocker = await hold_the_only_slot(loader, batcher)
    leaving, waiting = spawn(batcher, 1, 2)
    await settle()
    leaving.cancel()
    await settle()
    gate.set()
    assert await outcome(waiting) == value_of(2)
    assert await blocker == value_of(0)
    assert loader.calls == [[0], [2]]


async def test_load_waiting_for_space_can_be_cancelled() -> None:
    """A load cancelled while waiting for space never reaches a batch."""
    loader = FakeLoader()
    batcher = make(loader, max_in_flight=1, max_pending=1)
    gate, blocker = await hold_the_only_slot(loader, batcher)
    waiting = spawn(batcher, 5)[0]
    await settle()
    waiting.cancel()
    await settle()
    gate.set()
    assert await blocker == value_of(0)
    await settle()
    assert waiting.cancelled()
    assert loader.calls == [[0]]
    assert batcher.awaits == 1


@pytest.mark.parametrize(
    "limits",
    [
        pytest.param({"window": -0.1}, id="negative-window"),
        pytest.param({"max_batch_size": 0}, id="zero-batch-size"),
        pytest.param({"max_in_flight": 0}, id="zero-in-flight"),
        pytest.param({"max_pending": 0}, id="zero-pending"),
    ],
)
def test_invalid_limits_are_refused(limits: dict[str, float]) -> None:
    """A negative window or a limit below 1 is refused when the batcher is built."""
    with pytest.raises(ValueError, match="must be"):
        make(FakeLoader(), **limits)  # type: ignore[arg-type]


# --- aclose --------------------------------------------------------------------


async def test_aclose_fails_unsent_and_cancels_sent_status_batches() -> None:
    """Closing a status batcher fails every waiter with ClientClosedError at once."""
    loader = FakeLoader()
    batcher = make(loader, max_batch_size=2, max_in_flight=1)
    loader.hold()  # never released: aclose must not wait for it
    tasks = spawn(batcher, 1, 2, 3, 4, 5, 1)
    await settle()
    assert loader.calls == [[1, 2]]
    await asyncio.wait_for(batcher.aclose(), 1)
    for task in tasks:
        assert isinstance(await outcome(task), ClientClosedError)
    assert loader.cancelled == [[1, 2]]
    assert loader.calls == [[1, 2]]
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_aclose_lets_sent_mutation_batches_finish() -> None:
    """Closing a mutation batcher waits for sent batches and fails only unsent ones."""
    loader = FakeLoader()
    batcher = make(loader, max_batch_size=2, max_in_flight=1, abandon_unwanted=False)
    gate = loader.hold()
    sent = spawn(batcher, 1, 2, 1)
    unsent = spawn(batcher, 3, 4, 5)
    await settle()
    closing = asyncio.create_task(batcher.aclose())
    await settle()
    assert not closing.done()
    for task in unsent:
        assert isinstance(await outcome(task), ClientClosedError)
    assert not any(task.done() for task in sent)
    gate.set()
    await asyncio.wait_for(closing, 1)
    assert [await outcome(t) for t in sent] == [value_of(1), value_of(2), value_of(1)]
    assert loader.calls == [[1, 2]]
    assert loader.finished == [[1, 2]]
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_aclose_wakes_loads_waiting_for_space() -> None:
    """A load blocked by max_pending gets ClientClosedError when the batcher closes."""
    loader = FakeLoader()
    batcher = make(loader, max_pending=1)
    loader.hold()
    held, waiting = spawn(batcher, 1, 2)
    await settle()
    assert not waiting.done()
    await asyncio.wait_for(batcher.aclose(), 1)
    assert isinstance(await outcome(held), ClientClosedError)
    assert isinstance(await outcome(waiting), ClientClosedError)
    assert loader.calls == [[1]]


async def test_aclose_is_idempotent_and_later_loads_are_refused() -> None:
    """After aclose, load and load_many raise ClientClosedError without a call."""
    loader = FakeLoader()
    batcher = make(loader)
    await batcher.aclose()
    await batcher.aclose()
    with pytest.raises(ClientClosedError):
        await batcher.load(1)
    with pytest.raises(ClientClosedError):
        await batcher.load_many([1, 2])
    assert loader.calls == []
    assert batcher.awaits == 0


# --- what one await costs --------------------------------------------------------


async def test_the_running_loop_is_read_once_per_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On CPython 3.11 each read is a getpid() call: not one per await."""
    reads = 0
    real = asyncio.get_running_loop

    def counted() -> asyncio.AbstractEventLoop:
        nonlocal reads
        reads += 1
        return real()

    monkeypatch.setattr(asyncio, "get_running_loop", counted)
    loader = FakeLoader()
    batcher = make(loader, max_batch_size=10)
    tasks = spawn(batcher, *range(1, 101))
    assert await asyncio.gather(*tasks) == [value_of(key) for key in range(1, 101)]
    assert len(loader.calls) == 10
    assert reads <= len(loader.calls)
    await batcher.aclose()


async def test_an_id_with_one_caller_costs_no_object_of_its_own() -> None:
    """Only ids with several waiters get a shared record; one caller is its future."""
    loader = FakeLoader()
    gate = loader.hold()
    batcher = make(loader, max_batch_size=50)
    tasks = spawn(batcher, *range(1, 101), 7, 7)
    await settle(2)
    records = [
        obj
        for obj in gc.get_objects()
        if type(obj).__module__ == "toplist_async._batch"
        and type(obj).__name__ not in ("Batch", "Group")
    ]
    assert len(records) == 1  # the one shared by the three callers of id 7
    gate.set()
    assert await asyncio.gather(*tasks) == [
        value_of(key) for key in [*range(1, 101), 7, 7]
    ]
    await batcher.aclose()
