"""Property tests of the Batcher: random interleavings never mix up or lose answers."""

from __future__ import annotations

import asyncio
import gc
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import Phase, given, settings, strategies as st

from toplist_async._batcher import Batcher
from toplist_async._exceptions import ClientClosedError, OrderError

Value = tuple[str, int]
KEYS = st.integers(min_value=1, max_value=8)
QUIET_ITERATIONS = 600


class BatchFailed(Exception):
    """What the fake loader raises for a whole batch holding a fatal id."""

    def __init__(self, keys: list[int]) -> None:
        super().__init__(f"the batch {keys} failed")
        self.keys = frozenset(keys)


@dataclass(frozen=True)
class Scenario:
    max_batch_size: int
    max_in_flight: int
    max_pending: int
    abandon_unwanted: bool
    bad: frozenset[int]
    missing: frozenset[int]
    fatal: frozenset[int]
    delays: list[int]
    ops: list[tuple[str, Any]]


OPS = st.one_of(
    st.tuples(st.just("load"), KEYS),
    st.tuples(st.just("load"), KEYS),
    st.tuples(st.just("load_many"), st.lists(KEYS, min_size=1, max_size=4)),
    st.tuples(st.just("tick"), st.integers(min_value=1, max_value=3)),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=1_000)),
    st.tuples(st.just("close"), st.none()),
)

SCENARIOS = st.builds(
    Scenario,
    max_batch_size=st.integers(min_value=1, max_value=4),
    max_in_flight=st.integers(min_value=1, max_value=3),
    max_pending=st.sampled_from([2, 3, 1_000]),
    abandon_unwanted=st.booleans(),
    bad=st.frozensets(KEYS, max_size=3),
    missing=st.frozensets(KEYS, max_size=2),
    fatal=st.frozensets(KEYS, max_size=1),
    delays=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=4),
    ops=st.lists(OPS, max_size=40),
)


@dataclass
class Call:
    keys: list[int]
    task: asyncio.Task[Any] | None


class Recorder:
    """The fake loader: answers from the scenario and checks what it is asked."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.calls: list[list[int]] = []
        self.active: list[Call] = []
        self.shared_in_flight: list[tuple[list[int], list[int]]] = []

    async def __call__(self, keys: list[int]) -> dict[int, Value | BaseException]:
        sc = self.scenario
        call = Call(list(keys), asyncio.current_task())
        for other in self.active:
            being_abandoned = other.task is not None and other.task.cancelling() > 0
            if not being_abandoned and set(other.keys) & set(keys):
                self.shared_in_flight.append((other.keys, list(keys)))
        self.calls.append(list(keys))
        self.active.append(call)
        try:
            for _ in range(sc.delays[len(self.calls) % len(sc.delays)]):
                await asyncio.sleep(0)
            if sc.fatal & set(keys):
                raise BatchFailed(keys)
            answer: dict[int, Value | BaseException] = {}
            for key in keys:
                if key in sc.bad:
                    answer[key] = OrderError(key, "bad")
                elif key not in sc.missing:
                    answer[key] = ("value", key)
            return answer
        finally:
            self.active.remove(call)


def check_outcome(sc: Scenario, key: int, got: object, closed: bool) -> None:
    """`got` must be `key`'s own outcome (or ClientClosedError once closing began)."""
    if isinstance(got, ClientClosedError):
        assert closed, f"{key}: ClientClosedError while the batcher was open"
    elif isinstance(got, BatchFailed):
        assert key in got.keys, f"{key} got the failure of a batch without it"
        assert got.keys & sc.fatal
    else:
        assert key not in sc.fatal, f"{key} is fatal but its batch did not fail"
        if key in sc.bad:
            assert isinstance(got, OrderError)
            assert (got.order_id, got.message) == (key, "bad")
        elif key in sc.missing:
            assert isinstance(got, OrderError)
            assert (got.order_id, got.message) == (key, "missing")
        else:
            assert got == ("value", key), f"{key} got {got!r}"


async def wait_quiet(tasks: list[asyncio.Task[Any]]) -> None:
    """Run the loop until every task is done; the scenario never sleeps for real."""
    for _ in range(QUIET_ITERATIONS):
        if all(task.done() for task in tasks):
            return
        await asyncio.sleep(0)
    stuck = [task for task in tasks if not task.done()]
    for task in stuck:
        task.cancel()
    raise AssertionError(f"{len(stuck)} waiter(s) never completed: {stuck}")


async def play(sc: Scenario) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    loader = Recorder(sc)
    batcher: Batcher[int, Value] = Batcher(
        loader,
        action="status",
        on_missing=lambda k: OrderError(k, "missing"),
        window=0,
        max_batch_size=sc.max_batch_size,
        max_in_flight=sc.max_in_flight,
        max_pending=sc.max_pending,
        abandon_unwanted=sc.abandon_unwanted,
    )
    waiters: list[tuple[list[int] | int, asyncio.Task[Any]]] = []
    closing: asyncio.Task[None] | None = None
    cancelled_any = False
    for op, arg in sc.ops:
        if op == "load":
            waiters.append((arg, asyncio.create_task(batcher.load(arg))))
        elif op == "load_many":
            waiters.append((arg, asyncio.create_task(batcher.load_many(arg))))
        elif op == "tick":
            for _ in range(arg):
                await asyncio.sleep(0)
        elif op == "cancel" and waiters:
            waiters[arg % len(waiters)][1].cancel()
            cancelled_any = True
        elif op == "close" and closing is None:
            closing = asyncio.create_task(batcher.aclose())
    await wait_quiet([task for _, task in waiters])

    closed = closing is not None
    for keys, task in waiters:
        if task.cancelled():
            continue
        error = task.exception()
        if isinstance(keys, int):
            check_outcome(sc, keys, error or task.result(), closed)
        elif error is not None:
            assert isinstance(error, ClientClosedError), repr(error)
            assert closed
        else:
            answers = task.result()
            assert answers.keys() == set(keys)
            for key, got in answers.items():
                check_outcome(sc, key, got, closed)

    for keys in loader.calls:
        assert len(keys) == len(set(keys)), f"duplicate ids in one call: {keys}"
        assert len(keys) <= sc.max_batch_size, f"oversized call: {keys}"
    assert loader.shared_in_flight == [], "an id was in two requests at once"
    # Each unmerged await opens one slot, sent at most once (exactly once if
    # nobody left); the many-key awaits count one per key.
    sent = sum(len(keys) for keys in loader.calls)
    slots = batcher.awaits - batcher.merged
    assert sent <= slots
    if not cancelled_any and not closed:
        assert sent == slots

    if not closed:
        # Nothing leaked: every id can still be asked and answered.
        every = list(range(1, 9))
        fresh = asyncio.create_task(batcher.load_many(every))
        await wait_quiet([fresh])
        for key, got in fresh.result().items():
            check_outcome(sc, key, got, closed=False)
        closing = asyncio.create_task(batcher.aclose())
    assert closing is not None
    await wait_quiet([closing])
    assert asyncio.all_tasks() == {asyncio.current_task()}, "a task outlived aclose"
    del waiters
    gc.collect()
    assert reported == [], [context.get("message") for context in reported]


# The explain phase re-runs a failing example many times: too slow to be worth it.
FAST_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]


@settings(max_examples=150, deadline=None, phases=FAST_PHASES)
@given(SCENARIOS)
def test_every_waiter_gets_its_own_ids_outcome(scenario: Scenario) -> None:
    """Under any interleaving, each remaining waiter gets its id's answer, none hang."""
    gc.freeze()  # the collection at the end then only scans this example's objects
    try:
        asyncio.run(play(scenario))
    finally:
        gc.unfreeze()


@settings(max_examples=150, deadline=None)
@given(
    keys=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60),
    max_batch_size=st.integers(min_value=1, max_value=7),
    max_in_flight=st.integers(min_value=1, max_value=3),
)
def test_one_iteration_of_loads_needs_ceil_unique_over_size_calls(
    keys: list[int], max_batch_size: int, max_in_flight: int
) -> None:
    """Loads issued in one iteration make ceil(unique/size) calls, each id once."""

    async def scenario() -> None:
        calls: list[list[int]] = []

        async def loader(batch: list[int]) -> dict[int, int | BaseException]:
            calls.append(list(batch))
            await asyncio.sleep(0)
            return {key: key * 1_000 for key in batch}

        batcher: Batcher[int, int] = Batcher(
            loader,
            action="status",
            on_missing=lambda k: OrderError(k, "missing"),
            window=0,
            max_batch_size=max_batch_size,
            max_in_flight=max_in_flight,
            max_pending=10_000,
            abandon_unwanted=True,
        )
        tasks = [asyncio.create_task(batcher.load(key)) for key in keys]
        assert await asyncio.gather(*tasks) == [key * 1_000 for key in keys]
        unique = list(dict.fromkeys(keys))
        assert len(calls) == math.ceil(len(unique) / max_batch_size)
        assert [key for call in calls for key in call] == unique
        assert all(len(call) <= max_batch_size for call in calls)
        assert batcher.awaits == len(keys)
        assert batcher.merged == len(keys) - len(unique)
        await batcher.aclose()

    asyncio.run(scenario())
