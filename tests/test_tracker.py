"""OrderTracker and client.watch(): per-order schedules, updates, errors, clean stop."""

from __future__ import annotations

import asyncio
import itertools
import logging
from itertools import accumulate
from typing import Any

import pytest

from tests._tracking import (
    REJECTED,
    Collector,
    FakeClock,
    Statuses,
    entry,
    everything,
    library_tasks,
    long_lived,
    order_of,
    shape,
    watch,
)
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    ClientClosedError,
    InternalServerError,
    OrderError,
    OrderState,
    OrderStatus,
    OrderTracker,
    ToplistClient,
    ToplistError,
)
from toplist_async.testing import FakePanel

Update = OrderStatus | OrderError
LINK = "https://example.com/vote/1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def panel(scripted: ScriptedPanel, clock: FakeClock) -> Statuses:
    statuses = Statuses(clock)
    scripted.handler = statuses.handle
    return statuses


# --- scheduling -------------------------------------------------------------------

DEFAULT_GAPS = [
    5.0,
    7.5,
    11.25,
    16.875,
    25.3125,
    37.96875,
    56.953125,
    85.4296875,
    128.14453125,
    192.216796875,
    288.3251953125,
    300.0,
    300.0,
]


@pytest.mark.parametrize(
    ("options", "gaps"),
    [
        pytest.param({}, DEFAULT_GAPS, id="defaults-5s-x1.5-cap-300s"),
        pytest.param(
            {"interval": 2.0, "growth": 2.0, "max_interval": 10.0},
            [2.0, 4.0, 8.0, 10.0, 10.0],
            id="interval-2-growth-2-cap-10",
        ),
        pytest.param({"growth": 1.0}, [5.0, 5.0, 5.0, 5.0], id="growth-1-fixed"),
        pytest.param(
            {"first_poll": 2.0, "max_interval": 8.0},
            [5.0, 7.5, 8.0, 8.0],
            id="first-poll-delayed",
        ),
    ],
)
async def test_unchanged_order_is_polled_less_often_up_to_the_cap(
    client: ToplistClient,
    clock: FakeClock,
    panel: Statuses,
    options: dict[str, float],
    gaps: list[float],
) -> None:
    """An order that never changes is polled at once, then at growing gaps capped."""
    tracker = watch(client, clock, [7], **options)
    Collector(tracker)
    first = options.get("first_poll", 0.0)
    await clock.advance(first + sum(gaps) + 0.5)
    expected = [first, *(first + t for t in accumulate(gaps))]
    assert panel.times(7) == pytest.approx(expected)
    await tracker.aclose()


@pytest.mark.parametrize(
    ("change", "resets"),
    [
        pytest.param({"status": "Processing"}, True, id="status"),
        pytest.param({"remains": 90}, True, id="remains"),
        pytest.param({"start_count": 55}, True, id="start_count"),
        pytest.param({"remains": None}, True, id="remains-becomes-unknown"),
        pytest.param({"charge": "2.00"}, False, id="charge-only"),
        pytest.param({"currency": "EUR"}, False, id="currency-only"),
        pytest.param({"status": "in_progress"}, False, id="same-state-new-spelling"),
    ],
)
async def test_a_change_resets_the_interval_and_is_yielded(
    client: ToplistClient,
    clock: FakeClock,
    panel: Statuses,
    change: dict[str, Any],
    resets: bool,
) -> None:
    """A change of status, remains or start_count is yielded and resets the gap."""
    before, after = entry(), entry(**change)
    panel.script[1] = [before, before, before, after]
    collector = Collector(watch(client, clock, [1]))
    await clock.advance(50)
    # Polls at 0, 5, 12.5, then the 4th poll (23.75) sees the new answer.
    if resets:
        assert panel.times(1) == pytest.approx([0, 5, 12.5, 23.75, 28.75, 36.25, 47.5])
        assert len(collector.updates) == 2
        assert collector.of(1)[1] != collector.of(1)[0]
    else:
        assert panel.times(1) == pytest.approx([0, 5, 12.5, 23.75, 40.625])
        assert len(collector.updates) == 1


async def test_orders_due_together_share_requests_of_100_ids(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """250 orders due at the same moments go out as 3 requests (100+100+50) a round."""
    orders = list(range(1001, 1251))
    Collector(watch(client, clock, orders))
    await clock.advance(12.5)
    rounds = panel.rounds()
    assert sorted(rounds) == pytest.approx([0, 5, 12.5])
    for requests in rounds.values():
        assert sorted(len(ids) for ids in requests) == [50, 100, 100]
        assert sorted(order for ids in requests for order in ids) == orders


async def test_orders_due_at_different_moments_are_polled_apart(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """An order tracked later is polled at once on its own, then on its own schedule."""
    async with long_lived(client, clock, [1]) as tracker:
        await clock.advance(3)
        tracker.track(2)
        tracker.track(1)  # already followed: no extra poll
        assert tracker.tracked == 2
        await clock.advance(10)
    assert panel.polls == [
        (0, (1,)),
        (3, (2,)),
        (5, (1,)),
        (8, (2,)),
        (12.5, (1,)),
    ]


@pytest.mark.parametrize(("later", "rides"), [(1.0, True), (2.0, False)])
async def test_an_order_due_soon_rides_along_with_a_request_going_out(
    client: ToplistClient, clock: FakeClock, panel: Statuses, later: float, rides: bool
) -> None:
    """Tracked apart, an order past 80 % of its gap joins a request going out."""
    async with long_lived(client, clock, [1]) as tracker:
        await clock.advance(later)
        tracker.track(2)
        await clock.advance(41 - later)
    assert panel.polls[:2] == [(0, (1,)), (later, (2,))]
    if rides:
        # Due at 6 and past 80 % of its 5 s gap at 5: it rides along, and the
        # two stay together from then on.
        assert [ids for _, ids in panel.polls[2:]] == [(1, 2)] * 4
        assert panel.times(2) == pytest.approx([1, 5, 12.5, 23.75, 40.625])
    else:
        # At 5, 2 is only 60 % into its gap, and would be ready (7) after 1
        # reaches 110 % (5.5): 1 goes alone. At 12.5, 2 becomes ready at 13,
        # before 1 reaches 110 % of its 7.5 s gap (13.25): 1 waits for it.
        assert panel.times(1) == pytest.approx([0, 5, 13, 24.25])
        assert panel.times(2) == pytest.approx([2, 7, 13, 24.25])
        assert [ids for _, ids in panel.polls[-2:]] == [(1, 2)] * 2


# --- updates and final states -----------------------------------------------------


async def test_updates_come_on_first_answer_and_changes_until_final(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """Each order yields its first answer and each change; final ones stop; it ends."""
    panel.script[1] = [
        entry("Pending", 100, 0),
        entry("Pending", 100, 0),
        entry("In progress", 100, 40),
        entry("In progress", 60, 40),
        entry("In progress", 60, 40),
        entry("Completed", 0, 40),
    ]
    panel.script[2] = [entry("In progress", 10, 5), entry("Partial", 4, 5)]
    tracker = watch(client, clock, [1, 2])
    collector = Collector(tracker)
    await clock.advance(40)
    assert collector.task.done()
    assert collector.of(1) == [
        (OrderState.PENDING, 100, 0),
        (OrderState.IN_PROGRESS, 100, 40),
        (OrderState.IN_PROGRESS, 60, 40),
        (OrderState.COMPLETED, 0, 40),
    ]
    assert collector.of(2) == [
        (OrderState.IN_PROGRESS, 10, 5),
        (OrderState.PARTIAL, 4, 5),
    ]
    assert panel.times(1) == pytest.approx([0, 5, 12.5, 17.5, 22.5, 30])
    assert panel.times(2) == pytest.approx([0, 5])
    requests = len(panel.polls)
    await clock.advance(1000)
    assert len(panel.polls) == requests
    assert library_tasks() == set()


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Completed", OrderState.COMPLETED),
        ("Partial", OrderState.PARTIAL),
        ("Canceled", OrderState.CANCELED),
        ("Cancelled", OrderState.CANCELED),
        ("Refunded", OrderState.REFUNDED),
        ("Failed", OrderState.FAILED),
    ],
)
async def test_final_order_is_yielded_once_and_never_polled_again(
    client: ToplistClient,
    clock: FakeClock,
    panel: Statuses,
    raw: str,
    state: OrderState,
) -> None:
    """An order final at its first answer is yielded once, awaited, and dropped."""
    panel.script[3] = [entry(raw, 0, 10)]
    tracker = watch(client, clock, [3])
    collector = Collector(tracker)
    waiter = asyncio.create_task(tracker.wait(3))
    await clock.advance(600)
    assert collector.of(3) == [(state, 0, 10)]
    assert collector.task.done()
    final = await asyncio.wait_for(waiter, 5)
    assert (final.order_id, final.status, final.raw_status) == (3, state, raw)
    assert panel.times(3) == [0]


async def test_watch_of_no_orders_ends_at_once(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """Watching an empty list yields nothing, sends nothing and ends."""
    tracker = watch(client, clock, [])
    updates = await asyncio.wait_for(everything(tracker), 5)
    assert updates == []
    assert panel.polls == []


async def test_wait_after_watch_ended_does_not_hang(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """wait() on a watch whose stream has ended answers (or fails) and never hangs."""
    panel.script[1] = [entry("Completed", 0, 10)]
    tracker = watch(client, clock, [1])
    assert [shape(u) for u in await asyncio.wait_for(everything(tracker), 5)] == [
        (OrderState.COMPLETED, 0, 10)
    ]
    waiter = asyncio.create_task(tracker.wait(1))
    await clock.advance(60)
    done, _ = await asyncio.wait({waiter}, timeout=0.2)
    if not done:
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
    assert done, "wait() on an ended watch never returned"
    try:
        final = waiter.result()
    except ToplistError:
        pass
    else:
        assert final.status is OrderState.COMPLETED


# --- rejected ids -----------------------------------------------------------------


@pytest.mark.parametrize("how", ["entry-error", "whole-request-403"])
async def test_rejected_id_is_yielded_as_order_error_and_the_stream_goes_on(
    client: ToplistClient, clock: FakeClock, panel: Statuses, how: str
) -> None:
    """A refused id comes as its OrderError, reaches its waiter, is not polled again."""
    if how == "entry-error":
        panel.script[2] = [REJECTED]
    else:
        panel.forbidden.add(2)
    panel.script[1] = [entry("In progress", 50), entry("Completed", 0)]
    panel.script[3] = [entry("In progress", 50)] * 2 + [entry("Completed", 0)]
    tracker = watch(client, clock, [1, 2, 3])
    collector = Collector(tracker)
    waiter = asyncio.create_task(tracker.wait(2))
    await clock.advance(30)
    assert collector.of(2) == [("error", 2)]
    assert collector.of(1)[-1] == (OrderState.COMPLETED, 0, 0)
    assert collector.of(3)[-1] == (OrderState.COMPLETED, 0, 0)
    assert collector.task.done()
    with pytest.raises(OrderError) as info:
        await asyncio.wait_for(waiter, 5)
    assert info.value.order_id == 2
    assert panel.times(2) == [0]


# --- long-lived tracker: track, untrack, wait ---------------------------------------


async def test_track_while_iterating_yields_the_new_order(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """A long-lived tracker takes new ids while running and reports their updates."""
    panel.script[5] = [entry("Pending", 10), entry("Completed", 0)]
    async with long_lived(client, clock) as tracker:
        collector = Collector(tracker)
        await clock.advance(2)
        assert panel.polls == []
        tracker.track(5)
        await clock.advance(10)
        assert collector.of(5) == [
            (OrderState.PENDING, 10, 0),
            (OrderState.COMPLETED, 0, 0),
        ]
        assert tracker.tracked == 0
        assert not collector.task.done()  # a long-lived tracker waits for more
        tracker.track(6)
        await clock.advance(0)
        assert collector.of(6) == [(OrderState.IN_PROGRESS, 100, 0)]
    assert panel.times(5) == [2, 7]
    assert panel.times(6) == [12]
    await asyncio.wait_for(collector.task, 1)


async def test_wait_returns_the_final_status(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """wait(id) tracks the order if needed and returns its final status."""
    panel.script[9] = [entry("Pending", 10)] * 3 + [entry("Completed", 0, 3)]
    async with long_lived(client, clock) as tracker:
        waiter = asyncio.create_task(tracker.wait(9))
        await clock.advance(20)
        assert not waiter.done()
        await clock.advance(10)
        final = await asyncio.wait_for(waiter, 5)
    assert (final.order_id, final.status, final.remains) == (9, OrderState.COMPLETED, 0)
    assert panel.times(9) == pytest.approx([0, 5, 12.5, 23.75])


async def test_untrack_fails_its_waiters_and_stops_polling_it(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """An untracked order's waiter gets a ToplistError and the order is not polled."""
    async with long_lived(client, clock, [1, 2]) as tracker:
        waiter = asyncio.create_task(tracker.wait(1))
        await clock.advance(1)
        tracker.untrack(1)
        tracker.untrack(404)  # not followed: nothing happens
        assert tracker.tracked == 1
        with pytest.raises(ToplistError) as info:
            await asyncio.wait_for(waiter, 5)
        assert not isinstance(info.value, OrderError | ClientClosedError)
        await clock.advance(20)
    assert panel.times(1) == [0]
    assert panel.times(2) == pytest.approx([0, 5, 12.5])


async def test_untrack_during_its_poll_drops_the_answer(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """An answer for an order untracked while its poll was in flight is ignored."""
    panel.hold = asyncio.Event()
    async with long_lived(client, clock, [1, 2]) as tracker:
        collector = Collector(tracker)
        await asyncio.wait_for(panel.arrived.wait(), 2)
        tracker.untrack(1)
        panel.hold.set()
        await clock.advance(20)
        assert [order_of(u) for u in collector.updates] == [2]
    assert panel.times(1) == [0]
    assert panel.times(2) == pytest.approx([0, 5, 12.5])


# --- failures ---------------------------------------------------------------------


async def test_failing_batch_is_reported_and_polled_later_with_backoff(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """A batch failing after its retries calls on_error; its orders are polled later."""
    errors: list[tuple[float, type[BaseException], list[int]]] = []

    def on_error(error: BaseException, orders: list[int]) -> None:
        errors.append((clock.now, type(error), sorted(orders)))

    panel.failing = True
    panel.script[1] = [entry("Completed", 0)]
    panel.script[2] = [entry("In progress", 5), entry("Completed", 0)]
    tracker = watch(client, clock, [1, 2], on_error=on_error)
    collector = Collector(tracker)
    await clock.advance(40)
    failed_at = panel.times(1)
    assert len(failed_at) >= 3
    assert errors == [(t, InternalServerError, [1, 2]) for t in failed_at]
    gaps = [b - a for a, b in itertools.pairwise(failed_at)]
    assert gaps[0] >= 5
    assert all(b > a for a, b in itertools.pairwise(gaps))
    assert not collector.task.done()
    assert collector.updates == []

    panel.failing = False
    await clock.advance(300)
    assert collector.task.done()
    assert collector.of(1) == [(OrderState.COMPLETED, 0, 0)]
    assert collector.of(2) == [
        (OrderState.IN_PROGRESS, 5, 0),
        (OrderState.COMPLETED, 0, 0),
    ]
    assert len(errors) == len(failed_at)


async def test_failing_batch_logs_a_warning_by_default(
    client: ToplistClient,
    clock: FakeClock,
    panel: Statuses,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without on_error, a failed batch is logged as a warning and tracking goes on."""
    panel.failing = True
    caplog.set_level(logging.WARNING, logger="toplist_async")
    async with long_lived(client, clock, [1, 2, 3]):
        await clock.advance(0)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "3 tracked orders" in warnings[0].getMessage()
        assert "InternalServerError" in warnings[0].getMessage()
        panel.failing = False
        await clock.advance(10)
    assert len(panel.times(1)) == 2


# --- stopping ---------------------------------------------------------------------


@pytest.mark.parametrize("closing", ["tracker", "client"])
async def test_closing_stops_cleanly_with_a_poll_in_flight(
    scripted: ScriptedPanel, clock: FakeClock, panel: Statuses, closing: str
) -> None:
    """Closing mid-poll fails waiters with ClientClosedError, ends iteration cleanly."""
    panel.hold = asyncio.Event()
    client = ToplistClient(API_KEY, base_url=scripted.base_url)
    try:
        tracker = long_lived(client, clock, [1, 2])
        collector = Collector(tracker)
        waiter = asyncio.create_task(tracker.wait(1))
        await asyncio.wait_for(panel.arrived.wait(), 2)
        if closing == "tracker":
            await tracker.aclose()
        else:
            await client.aclose()
        assert library_tasks() <= {waiter, collector.task}
        with pytest.raises(ClientClosedError):
            await asyncio.wait_for(waiter, 1)
        await asyncio.wait_for(collector.task, 1)
        assert collector.updates == []
        assert library_tasks() == set()
        with pytest.raises(ClientClosedError):
            tracker.track(3)
        await tracker.aclose()  # idempotent
    finally:
        panel.hold.set()
        await client.aclose()


async def test_client_close_ends_a_watch_and_its_tasks(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """Closing the client ends a running watch(); its waiters get ClientClosedError."""
    tracker = watch(client, clock, [1])
    collector = Collector(tracker)
    waiter = asyncio.create_task(tracker.wait(1))
    await clock.advance(6)
    await client.aclose()
    await asyncio.wait_for(collector.task, 1)
    assert collector.of(1) == [(OrderState.IN_PROGRESS, 100, 0)]
    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(waiter, 5)
    assert library_tasks() == set()


async def test_context_manager_exit_stops_the_tracker(
    client: ToplistClient, clock: FakeClock, panel: Statuses
) -> None:
    """Leaving `async with OrderTracker(...)` stops polling and leaves no task."""
    async with long_lived(client, clock, [1]) as tracker:
        await clock.advance(5)
    before = len(panel.polls)
    await clock.advance(100)
    assert len(panel.polls) == before == 2
    assert tracker.tracked == 0
    assert library_tasks() == set()


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"interval": 0}, id="interval-0"),
        pytest.param({"interval": -1}, id="interval-negative"),
        pytest.param({"interval": 10, "max_interval": 5}, id="interval-above-cap"),
        pytest.param({"growth": 0.9}, id="growth-below-1"),
        pytest.param({"first_poll": -0.1}, id="first-poll-negative"),
    ],
)
async def test_bad_options_are_refused(
    client: ToplistClient, options: dict[str, float]
) -> None:
    """Impossible schedules raise ValueError from both watch() and OrderTracker()."""
    with pytest.raises(ValueError, match="interval"):
        client.watch([1], **options)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval"):
        OrderTracker(client, [1], **options)  # type: ignore[arg-type]
    assert library_tasks() == set()


@pytest.mark.parametrize("bad", [0, -3, "abc", 1.5])
async def test_bad_order_ids_are_refused(client: ToplistClient, bad: object) -> None:
    """track() refuses ids that are not positive whole numbers."""
    async with OrderTracker(client) as tracker:
        with pytest.raises((ValueError, TypeError)):
            tracker.track(bad)  # type: ignore[arg-type]
        assert tracker.tracked == 0


# --- end to end -------------------------------------------------------------------

_RANK = {OrderState.PENDING: 0, OrderState.IN_PROGRESS: 1, OrderState.COMPLETED: 2}


async def test_watch_follows_orders_on_a_fake_panel_to_the_end() -> None:
    """On FakePanel, watch() reports pending, in progress, completed, then ends."""
    fake = FakePanel(speed=0, partial_rate=0.0)
    clock = FakeClock(linked=fake.advance)
    async with fake as base_url, ToplistClient(API_KEY, base_url=base_url) as client:
        quantities = {}
        for quantity in (100, 400, 1000):
            order = await client.add(service=1, link=LINK, quantity=quantity)
            quantities[order] = quantity
        tracker = clock.follow(client.watch(quantities, clock=clock, sleep=clock.sleep))
        collector = Collector(tracker)
        await clock.advance(200)
        assert collector.task.done()
        for order, quantity in quantities.items():
            updates = [u for u in collector.updates if u.order_id == order]
            assert all(isinstance(u, OrderStatus) for u in updates)
            statuses = [u for u in updates if isinstance(u, OrderStatus)]
            assert statuses[0].status is OrderState.PENDING
            assert statuses[0].remains == quantity
            assert statuses[-1].status is OrderState.COMPLETED
            assert statuses[-1].remains == 0
            assert OrderState.IN_PROGRESS in {s.status for s in statuses}
            ranks = [_RANK[s.status] for s in statuses]
            assert ranks == sorted(ranks)
            remains = [s.remains for s in statuses]
            assert all(r is not None for r in remains)
            assert remains == sorted(remains, key=lambda r: -(r or 0))
            seen = [shape(s) for s in statuses]
            assert all(a != b for a, b in itertools.pairwise(seen))
            assert fake.orders[order].status == "completed"
        asked = fake.count("status")
        await clock.advance(600)
        assert fake.count("status") == asked
        assert library_tasks() == set()


async def test_leaving_a_watch_early_stops_its_polling() -> None:
    """Breaking out of `async for ... in client.watch(ids)` leaves no poller."""
    panel = FakePanel(speed=0)
    async with panel as url, ToplistClient("test-key", base_url=url) as client:
        order = await client.add(service=1, link="https://x.test/p", quantity=100)
        async with asyncio.timeout(5):
            async for _update in client.watch(
                [order], interval=0.01, max_interval=0.01
            ):
                break
        await asyncio.sleep(0.1)  # a poll cancelled in flight may still arrive
        before = panel.count("status")
        await asyncio.sleep(0.1)
        assert panel.count("status") == before
        leftover = asyncio.all_tasks() - {asyncio.current_task()}
        assert not [t for t in leftover if "_tracker" in repr(t.get_coro())]
