"""A tracker over a long life: fatal errors, poison and missing orders, no leak."""

from __future__ import annotations

import asyncio
import logging
import platform
from typing import Any

import pytest

from tests._tracking import (
    Collector,
    FakeClock,
    Statuses,
    entry,
    library_tasks,
    long_lived,
    order_of,
    shape,
    watch,
)
from tests.conftest import ScriptedPanel
from toplist_async import (
    AuthenticationError,
    ClientClosedError,
    InternalServerError,
    OrderError,
    OrderState,
    OrderTracker,
    RateLimitError,
    ToplistClient,
    ToplistError,
    TrackerInUseError,
)
from toplist_async._schedule import LONE_FAILURES, MAX_MISSES


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def panel(scripted: ScriptedPanel, clock: FakeClock) -> Statuses:
    statuses = Statuses(clock)
    scripted.handler = statuses.handle
    return statuses


async def _outcome(task: asyncio.Task[Any]) -> BaseException | None:
    """The error a finished task raised (None if it returned); fails if it runs on."""
    done, _ = await asyncio.wait({task}, timeout=1)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pytest.fail("still running: tracking did not end")
    return task.exception()


# --- fatal errors end tracking, loudly ---------------------------------------------


@pytest.mark.parametrize("kind", ["watch", "long-lived"])
async def test_a_refused_key_ends_tracking_for_everyone(
    client: ToplistClient, clock: FakeClock, panel: Statuses, kind: str
) -> None:
    """A 401 ends iteration and every wait() with the error, and polling stops."""
    panel.key_refused = True
    make = watch if kind == "watch" else long_lived
    tracker = make(client, clock, [1, 2])
    collector = Collector(tracker)
    waiters = [asyncio.create_task(tracker.wait(order)) for order in (1, 2)]
    await clock.advance(30)
    assert isinstance(await _outcome(collector.task), AuthenticationError)
    for waiter in waiters:
        assert isinstance(await _outcome(waiter), AuthenticationError)
    sent = len(panel.polls)
    await clock.advance(600)
    assert len(panel.polls) == sent == 1
    assert library_tasks() == set()
    await tracker.aclose()


async def test_on_error_raising_ends_tracking_and_reaches_the_consumer(
    client: ToplistClient,
    clock: FakeClock,
    panel: Statuses,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception of on_error is what `async for` and wait() raise; no stray log."""
    raised = ValueError("my handler broke")

    def on_error(error: BaseException, orders: list[int]) -> None:
        raise raised

    panel.failing = True
    caplog.set_level(logging.ERROR)
    tracker = watch(client, clock, [1, 2], on_error=on_error)
    collector = Collector(tracker)
    waiter = asyncio.create_task(tracker.wait(1))
    await clock.advance(60)
    assert await _outcome(collector.task) is raised
    assert await _outcome(waiter) is raised
    assert len(panel.polls) == 1
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert library_tasks() == set()


async def test_a_bug_while_reading_answers_ends_tracking_loudly(
    client: ToplistClient,
    clock: FakeClock,
    panel: Statuses,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unexpected error inside the tracker is raised to everyone, not lost."""
    bug = RuntimeError("a bug")

    def broken(*args: object) -> None:
        raise bug

    monkeypatch.setattr("toplist_async._rounds.Book.apply", broken)
    tracker = watch(client, clock, [1])
    collector = Collector(tracker)
    waiter = asyncio.create_task(tracker.wait(1))
    await clock.advance(10)
    assert await _outcome(collector.task) is bug
    assert await _outcome(waiter) is bug
    assert library_tasks() == set()


@pytest.mark.parametrize("trouble", ["failing", "throttled"])
async def test_transient_failures_keep_tracking(
    client: ToplistClient, clock: FakeClock, panel: Statuses, trouble: str
) -> None:
    """A 5xx or 429 after its retries calls on_error and the order is polled again."""
    errors: list[type[BaseException]] = []
    setattr(panel, trouble, True)
    panel.script[1] = [entry("Completed", 0)]
    tracker = watch(client, clock, [1], on_error=lambda e, _: errors.append(type(e)))
    collector = Collector(tracker)
    await clock.advance(20)
    expected = InternalServerError if trouble == "failing" else RateLimitError
    assert errors
    assert set(errors) == {expected}
    setattr(panel, trouble, False)
    await clock.advance(100)
    assert collector.of(1) == [(OrderState.COMPLETED, 0, 0)]
    assert await _outcome(collector.task) is None


# --- one bad order does not starve the others --------------------------------------


async def test_a_poison_order_is_isolated_reported_and_dropped(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """Requests with order 37 fail whole: the 99 others finish, 37 is reported."""
    orders = list(range(1, 101))
    for order in orders:
        panel.script[order] = [entry("In progress", 50), entry("Completed", 0)]
    panel.poison = {37}
    tracker = watch(client, clock, orders, on_error=lambda e, o: None)
    collector = Collector(tracker)
    waiter = asyncio.create_task(tracker.wait(37))
    await clock.advance(3000)
    assert await _outcome(collector.task) is None
    for order in orders:
        if order != 37:
            assert collector.of(order)[-1] == (OrderState.COMPLETED, 0, 0)
    assert collector.of(37) == [("error", 37)]
    error = await _outcome(waiter)
    assert isinstance(error, OrderError)
    assert not error.missing
    assert isinstance(error.__cause__, InternalServerError)
    carrying = [ids for _, ids in panel.polls if 37 in ids]
    assert [len(ids) for ids in carrying[:2]] == [100, 50]
    assert [len(ids) for ids in carrying[-LONE_FAILURES:]] == [1] * LONE_FAILURES
    assert 9 <= len(carrying) <= 10
    sizes = [len(ids) for ids in carrying]
    assert sizes == sorted(sizes, reverse=True)


async def test_an_order_left_out_of_answers_is_reported_as_missing(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """After 3 answers in a row without it, an order is yielded missing and dropped."""
    panel.left_out = {2}
    panel.script[1] = [entry("In progress", 50)] * 6 + [entry("Completed", 0)]
    # A fixed gap keeps 2 in the requests that answer 1 (an answer with none of
    # the asked orders in it is a failed request, not a miss).
    tracker = watch(client, clock, [1, 2], growth=1.0)
    collector = Collector(tracker)
    waiter = asyncio.create_task(tracker.wait(2))
    await clock.advance(600)
    error = await _outcome(waiter)
    assert isinstance(error, OrderError)
    assert (error.order_id, error.missing) == (2, True)
    assert collector.of(2) == [("error", 2)]
    assert len(panel.times(2)) == MAX_MISSES
    assert await _outcome(collector.task) is None


@pytest.mark.parametrize("raw", ["Canceled by admin", "Order Cancelled", "Complete"])
async def test_a_final_state_in_another_spelling_ends_the_watch(
    client: ToplistClient, clock: FakeClock, panel: Statuses, raw: str
) -> None:
    """Final words in any spelling are final: the watch ends."""
    panel.script[1] = [entry("In progress", 5), entry(raw, 0)]
    collector = Collector(watch(client, clock, [1]))
    await clock.advance(10)
    assert await _outcome(collector.task) is None
    assert collector.of(1)[-1][0] in {OrderState.CANCELED, OrderState.COMPLETED}


@pytest.mark.parametrize("kind", ["watch", "long-lived"])
async def test_timeout_bounds_how_long_an_order_is_followed(
    client: ToplistClient, clock: FakeClock, panel: Statuses, kind: str
) -> None:
    """Not final `timeout` s after it was tracked: a last poll, then an OrderError."""
    make = watch if kind == "watch" else long_lived
    tracker = make(client, clock, [1], timeout=60)
    collector = Collector(tracker)
    waiter = asyncio.create_task(tracker.wait(1))
    await clock.advance(600)
    error = await _outcome(waiter)
    assert isinstance(error, OrderError)
    assert "60 s" in error.message
    assert collector.of(1) == [(OrderState.IN_PROGRESS, 100, 0), ("error", 1)]
    assert panel.times(1)[-1] == 60
    assert tracker.tracked == 0
    if kind == "watch":
        assert await _outcome(collector.task) is None
    await tracker.aclose()


# --- no hang and no leak -----------------------------------------------------------


async def test_a_second_consumer_is_refused_at_once_with_a_toplist_error(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """While a loop runs (waiting for updates or in its body), another is refused."""
    panel.script[1] = [entry("In progress", remains) for remains in (100, 90, 80)]
    seen: list[tuple[object, ...]] = []
    in_body = asyncio.Event()
    go_on = asyncio.Event()

    async def consume(tracker: OrderTracker) -> None:
        async for update in tracker:
            seen.append(shape(update))
            if len(seen) == 1:
                in_body.set()
                await go_on.wait()

    async with long_lived(client, clock, [1], growth=1.0) as tracker:
        consumer = asyncio.create_task(consume(tracker))
        async with asyncio.timeout(5):
            await in_body.wait()
        with pytest.raises(TrackerInUseError, match="one consumer at a time"):
            await anext(aiter(tracker))
        go_on.set()
        await clock.advance(0)
        with pytest.raises(TrackerInUseError) as refused:
            async for _update in tracker:
                pass
        assert isinstance(refused.value, ToplistError)
        await clock.advance(5)
        assert seen == [
            (OrderState.IN_PROGRESS, 100, 0),
            (OrderState.IN_PROGRESS, 90, 0),
        ]
    assert await _outcome(consumer) is None


@pytest.mark.parametrize("kept", [False, True], ids=["dropped", "kept"])
async def test_a_loop_left_with_break_lets_a_new_loop_in_at_once(
    client: ToplistClient, clock: FakeClock, panel: Statuses, kept: bool
) -> None:
    """`break`, then `async for` again in the same task: the new loop takes over,
    first with what the first loop left untaken, then with what is new."""
    panel.script[1] = [entry("In progress", remains) for remains in (100, 90, 80)]
    async with long_lived(client, clock, [1, 2], growth=1.0) as tracker:
        # Kept: the first loop's iterator outlives it, so only leaving counts.
        first = aiter(tracker) if kept else None
        async with asyncio.timeout(5):
            async for update in first or tracker:
                taken = order_of(update)
                break
        ticking = asyncio.create_task(clock.advance(5))
        seen: list[tuple[int, tuple[object, ...]]] = []
        async with asyncio.timeout(5):
            async for update in tracker:
                seen.append((order_of(update), shape(update)))
                if len(seen) == 2:
                    break
        await ticking
        assert seen == [
            (3 - taken, (OrderState.IN_PROGRESS, 100, 0)),
            (1, (OrderState.IN_PROGRESS, 90, 0)),
        ]
        if first is not None:
            with pytest.raises(TrackerInUseError, match="newer"):
                await anext(first)


async def test_an_update_left_untaken_is_kept_up_to_date_for_the_next_loop(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """Only the order a loop left untaken is kept (its latest), nothing new."""
    for order in (1, 2):
        panel.script[order] = [entry("In progress", r) for r in (100, 90, 80)]
    async with long_lived(client, clock, [1, 2], growth=1.0) as tracker:
        async with asyncio.timeout(5):
            async for update in tracker:
                taken = order_of(update)
                break
        await clock.advance(5)  # both change; nobody iterates
        later = Collector(tracker)
        await clock.advance(0)
        assert [(order_of(u), shape(u)) for u in later.updates] == [
            (3 - taken, (OrderState.IN_PROGRESS, 90, 0))
        ]


async def test_a_step_cut_short_by_a_timeout_keeps_the_loop_and_the_tracker(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """`asyncio.timeout()` around one step: the loop goes on where it was."""
    panel.script[1] = [entry("In progress", remains) for remains in (100, 90, 80)]
    async with long_lived(client, clock, [1], growth=1.0) as tracker:
        updates = aiter(tracker)
        async with asyncio.timeout(5):
            assert shape(await anext(updates)) == (OrderState.IN_PROGRESS, 100, 0)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0):
                await anext(updates)
        other = Collector(tracker)
        assert isinstance(await _outcome(other.task), TrackerInUseError)
        ticking = asyncio.create_task(clock.advance(5))
        async with asyncio.timeout(5):
            assert shape(await anext(updates)) == (OrderState.IN_PROGRESS, 90, 0)
        await ticking


@pytest.mark.parametrize("how", ["its task ended", "aclose"])
async def test_an_iteration_left_behind_lets_another_task_in(
    client: ToplistClient, clock: FakeClock, panel: Statuses, how: str
) -> None:
    """An iterator kept alive no longer holds the tracker once its task ended or
    it was closed: a consumer in another task takes over."""
    panel.script[1] = [entry("In progress", remains) for remains in (100, 90, 80)]
    async with long_lived(client, clock, [1], growth=1.0) as tracker:
        left_behind = aiter(tracker)

        async def take_one() -> tuple[object, ...]:
            async with asyncio.timeout(5):
                return shape(await anext(left_behind))

        if how == "aclose":
            assert await take_one() == (OrderState.IN_PROGRESS, 100, 0)
            await left_behind.aclose()
        else:
            taken = await asyncio.create_task(take_one())
            assert taken == (OrderState.IN_PROGRESS, 100, 0)
        later = Collector(tracker)
        await clock.advance(5)
        assert later.of(1) == [(OrderState.IN_PROGRESS, 90, 0)]
    assert await _outcome(later.task) is None


@pytest.mark.skipif(
    platform.python_implementation() != "CPython",
    reason="CPython frees a loop's iterator as the loop is left",
)
async def test_breaking_out_of_a_watch_stops_its_polling_at_once(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """Polling stops as the loop is left, before any other task has run."""
    tracker = watch(client, clock, [1, 2])
    async with asyncio.timeout(5):
        async for _update in tracker:
            break
    assert tracker.tracked == 0
    with pytest.raises(ClientClosedError):
        tracker.track(3)
    await clock.advance(600)
    assert len(panel.polls) == 1
    assert library_tasks() == set()


async def test_a_watch_used_in_async_with_stops_when_the_block_is_left(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """`async with client.watch(ids) as updates:` stops polling at the block's end."""
    async with watch(client, clock, [1, 2]) as updates:
        async with asyncio.timeout(5):
            async for _update in updates:
                break
    assert updates.tracked == 0
    assert library_tasks() == set()
    await clock.advance(600)
    assert len(panel.polls) == 1


async def test_iterating_a_closed_tracker_ends_at_once(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """`async for` over a tracker that was iterated and closed ends at once."""
    tracker = long_lived(client, clock, [1])
    collector = Collector(tracker)
    await clock.advance(1)
    await tracker.aclose()
    assert await _outcome(collector.task) is None

    async def again() -> list[object]:
        return [update async for update in tracker]

    assert await _outcome(asyncio.create_task(again())) is None


async def test_updates_are_kept_only_while_someone_iterates(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """After `break`, changes are not queued: a new loop starts from what is new."""
    panel.script[1] = [entry("In progress", remains) for remains in range(100, 0, -1)]
    async with long_lived(client, clock, [1], growth=1.0) as tracker:
        async with asyncio.timeout(5):
            async for update in tracker:
                assert shape(update) == (OrderState.IN_PROGRESS, 100, 0)
                break
        await clock.advance(100)  # 20 polls, each a change
        later = Collector(tracker)
        await clock.advance(0)
        assert later.updates == []
        await clock.advance(5)
        assert [shape(u) for u in later.updates] == [(OrderState.IN_PROGRESS, 79, 0)]


async def test_a_slow_consumer_gets_the_latest_update_of_each_order(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """Updates not taken yet are replaced by newer ones; polling keeps its pace."""
    for order in (1, 2, 3):
        panel.script[order] = [
            entry("In progress", remains) for remains in range(100, 0, -10)
        ]
    tracker = watch(client, clock, [1, 2, 3], growth=1.0)
    await clock.advance(20)  # nobody reads: 5 polls of each, each a change
    assert panel.times(1) == [0, 5, 10, 15, 20]
    collector = Collector(tracker)
    await clock.advance(0)
    assert [shape(u) for u in collector.updates] == [
        (OrderState.IN_PROGRESS, 60, 0)
    ] * 3
    await tracker.aclose()


async def test_a_cancelled_wait_lets_go_of_its_future(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """A waiter that leaves takes its future with it; the order is still tracked."""
    async with long_lived(client, clock, [1]) as tracker:
        waiters = [asyncio.create_task(tracker.wait(1)) for _ in range(3)]
        await clock.advance(1)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        assert len(tracker._waiters) == 0
        assert tracker.tracked == 1


async def test_bad_timeouts_are_refused(client: ToplistClient) -> None:
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="timeout"):
            client.watch([1], timeout=bad)
        with pytest.raises(ValueError, match="timeout"):
            OrderTracker(client, [1], timeout=bad)
