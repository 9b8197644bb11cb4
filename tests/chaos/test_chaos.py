"""
Chaos: thousands of mixed calls through one client against a FakePanel that fails.

Every wave launches a few hundred concurrent calls (statuses from many tasks,
status_many, cancels, adds, balances) while the panel injects, all at once, 5xx
HTML pages, connection resets, bursts of 429 with Retry-After, truncated, empty
and HTML bodies, answers slower than the client's timeout, and adds that are
placed but whose answer is lost; some callers are cancelled at random moments.
The panel's clock is frozen during a wave and moved only between waves, when no
request is in flight, so every answer can be compared with the panel's truth.
Everything random is drawn from `SEED`; only the interleaving of I/O varies.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import math
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import msgspec
import pytest

from tests._helpers import exception_texts
from tests.conftest import API_KEY
from toplist_async import (
    Balance,
    CancelResult,
    OrderError,
    OrderOutcomeUnknown,
    OrderState,
    OrderStatus,
    ToplistClient,
    ToplistError,
)
from toplist_async.testing import DEFAULT_SERVICES, FakePanel, Order

SEED = 20_240_611
STARTING_BALANCE = Decimal(1_000_000)
TIMEOUT = 0.3  # the client's per-request timeout
SLOW_SECONDS = 0.5  # how long a `slow` fault holds its answer: above TIMEOUT
WAVE_SIZE = 200  # calls launched together; the clock moves between waves
WAVE_DEADLINE = 15.0  # no wave may take longer: a call still waiting has hung
RUN_DEADLINE = 60.0  # hard deadline of one whole run
BOGUS_IDS = 10**9  # ids from here on never exist on the panel

# Share of ALL requests each fault takes. The first rule that fires wins, so a
# rule's rate is its share of the requests the rules before it left alone.
FAULT_SHARES = {
    "server_error": 0.20,
    "reset": 0.05,
    "truncated": 0.02,
    "empty": 0.02,
    "html_200": 0.01,
    "slow": 0.005,
}
# Of the adds the rules above left alone: the order is placed, its answer lost.
ADD_LOST_RATES = {"reset": 0.02, "server_error": 0.02, "slow": 0.01}
BURST_EVERY = 4  # every 4th wave starts with a burst of 429s
BURST_SIZES = (5, 20)
RETRY_AFTER = 1
CANCELLED_CALLERS = 0.05  # share of callers cancelled after a random short delay
CANCEL_DELAY = 0.02  # ... of up to this many seconds
OPERATIONS = {"status": 58, "status_many": 5, "add": 15, "cancel": 12, "balance": 10}
# (service, smallest, largest quantity); service 2 refuses cancels.
ADDS = ((1, 10, 2000), (2, 100, 2000), (3, 1, 500))
PRICE_PER_1000 = {service.service: service.rate for service in DEFAULT_SERVICES}
FINAL = frozenset({"completed", "partial", "canceled"})
NOT_CANCELLABLE = frozenset(s.service for s in DEFAULT_SERVICES if not s.cancel)


@dataclass(frozen=True)
class Scenario:
    """One chaos run: how many calls, and how the client and the panel are set."""

    id: str
    operations: int
    client: Mapping[str, Any] = field(default_factory=dict)
    panel: Mapping[str, Any] = field(default_factory=dict)


SCENARIOS = [
    # The main run: 10,000 calls with the client's defaults.
    Scenario("defaults", 10_000),
    Scenario(
        "max_in_flight_1",
        5_000,
        client={"max_in_flight": 1, "auth": "bearer"},
        panel={"numbers_as_strings": True},
    ),
    Scenario(
        "batch_window_0",
        5_000,
        client={"batch_window": 0, "auth": "both", "encoding": "form"},
        panel={"status_style": "mixed"},
    ),
]


@dataclass
class Op:
    """One call of the run, and how it ended."""

    kind: str
    ids: tuple[int, ...] = ()
    add: dict[str, Any] = field(default_factory=dict)
    cancel_after: float | None = None
    outcome: object = None
    cancelled: bool = False

    def __str__(self) -> str:
        what = self.add.get("link") if self.kind == "add" else self.ids
        return f"{self.kind}({what})"


@dataclass
class Wire:
    """What the client handed to aiohttp: URL, headers and body of every POST."""

    posts: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


def rule_rates(shares: Mapping[str, float]) -> dict[str, float]:
    """Turn shares of all requests into first-match-wins rule rates."""
    rates, left = {}, 1.0
    for kind, share in shares.items():
        rates[kind] = share / left
        left -= share
    return rates


def install_faults(panel: FakePanel) -> None:
    """Set every fault rule at once; 429 bursts are added wave by wave."""
    for kind, rate in rule_rates(FAULT_SHARES).items():
        seconds = SLOW_SECONDS if kind == "slow" else None
        panel.faults.add(kind, rate=rate, seconds=seconds)
    for then, rate in ADD_LOST_RATES.items():
        seconds = SLOW_SECONDS if then == "slow" else None
        panel.faults.add("add_lost", rate=rate, then=then, seconds=seconds)


def panel_port(base_url: str) -> int:
    """The TCP port a base URL points at."""
    port = urlsplit(base_url).port
    assert port is not None
    return port


def plan_wave(
    rng: random.Random, size: int, known: list[int], links: Iterator[str]
) -> list[Op]:
    """Draw one wave of calls; status and cancel never touch the same order."""
    kinds = rng.choices(list(OPERATIONS), weights=list(OPERATIONS.values()), k=size)
    cancelling = set(rng.sample(known, min(len(known) // 3, kinds.count("cancel"))))
    reading = [order for order in known if order not in cancelling]
    targets = sorted(cancelling)

    def pick(pool: list[int]) -> int:
        if not pool or rng.random() < 0.05:
            return BOGUS_IDS + rng.randrange(10**6)
        return rng.choice(pool)

    ops = []
    for kind in kinds:
        op = Op(kind)
        if kind == "status":
            op.ids = (pick(reading),)
        elif kind == "status_many":
            op.ids = tuple(pick(reading) for _ in range(rng.randint(2, 8)))
        elif kind == "cancel":
            op.ids = (pick(targets),)
        elif kind == "add":
            service, low, high = rng.choice(ADDS)
            quantity = rng.randint(low, high)
            op.add = {"service": service, "link": next(links), "quantity": quantity}
        if rng.random() < CANCELLED_CALLERS:
            op.cancel_after = rng.uniform(0, CANCEL_DELAY)
        ops.append(op)
    return ops


async def call(client: ToplistClient, op: Op) -> object:
    """Make the call `op` describes."""
    if op.kind == "status":
        return await client.status(op.ids[0])
    if op.kind == "status_many":
        return await client.status_many(op.ids)
    if op.kind == "cancel":
        return await client.cancel(op.ids[0])
    if op.kind == "add":
        return await client.add(**op.add)
    return await client.balance()


async def run_wave(client: ToplistClient, ops: list[Op]) -> None:
    """Run the calls together, cancel the chosen callers, wait for every end."""
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(call(client, op)) for op in ops]
    timers = [
        loop.call_later(op.cancel_after, task.cancel)
        for op, task in zip(ops, tasks, strict=True)
        if op.cancel_after is not None
    ]
    _, pending = await asyncio.wait(tasks, timeout=WAVE_DEADLINE)
    for timer in timers:
        timer.cancel()
    hung = []
    for op, task in zip(ops, tasks, strict=True):
        if task in pending:
            hung.append(str(op))
            task.cancel()
        elif task.cancelled():
            op.cancelled = True
        else:
            op.outcome = task.exception() or task.result()
    await asyncio.gather(*pending, return_exceptions=True)
    assert hung == [], f"calls still waiting after {WAVE_DEADLINE} s: {hung[:10]}"


def price(order: Order) -> Decimal:
    """What the order cost when it was placed, as the panel computes it."""
    return PRICE_PER_1000[order.service] * order.quantity / 1000


def status_problem(got: OrderStatus, panel: FakePanel) -> str | None:
    """Describe how a status answer differs from the panel's order, if it does."""
    order = panel.orders.get(got.order_id)
    if order is None:
        return f"status of {got.order_id}, which the panel does not have: {got}"
    have = (got.status, got.charge, got.start_count, got.remains, got.currency)
    state = OrderState.parse(order.status)
    want = (state, order.charge, order.start_count, order.remains, "USD")
    return None if have == want else f"status {got} but the panel has {order}"


def refusal_problem(error: OrderError, panel: FakePanel, *, cancel: bool) -> str | None:
    """Describe a per-order refusal the panel's state does not explain, if any."""
    order = panel.orders.get(error.order_id)
    if order is None:
        return None  # an id the panel does not have is rightly refused
    if cancel and (order.status in FINAL or order.service in NOT_CANCELLABLE):
        return None
    return f"order {error.order_id} refused ({error.message}) but it is {order}"


ANSWERS: dict[str, type] = {
    "status": OrderStatus,
    "status_many": dict,
    "cancel": CancelResult,
    "add": int,
    "balance": Balance,
}


@dataclass(frozen=True)
class Money:
    """The balance before a wave, and what its adds took and its cancels gave back."""

    before: Decimal
    taken: Decimal
    given: Decimal


def answer_problems(op: Op, panel: FakePanel, money: Money) -> Iterator[str]:
    """Say how one finished call's answer differs from the panel's truth."""
    outcome = op.outcome
    if isinstance(outcome, BaseException):
        if not isinstance(outcome, ToplistError):
            yield f"{op} raised {outcome!r}, not a ToplistError"
        elif isinstance(outcome, OrderError):
            if op.kind not in ("status", "cancel") or outcome.order_id != op.ids[0]:
                yield f"{op} raised {outcome!r} about another order"
            yield refusal_problem(outcome, panel, cancel=op.kind == "cancel") or ""
        return
    if not isinstance(outcome, ANSWERS[op.kind]) or isinstance(outcome, bool):
        yield f"{op} answered {outcome!r}"
    elif isinstance(outcome, OrderStatus):
        if outcome.order_id != op.ids[0]:
            yield f"{op} answered for another order: {outcome}"
        yield status_problem(outcome, panel) or ""
    elif isinstance(outcome, dict):
        if outcome.keys() != set(op.ids):
            yield f"{op} answered for {sorted(outcome)}"
        for order_id, value in outcome.items():
            if value.order_id != order_id:
                yield f"{op} answered {value!r} for {order_id}"
            elif isinstance(value, OrderStatus):
                yield status_problem(value, panel) or ""
            else:
                yield refusal_problem(value, panel, cancel=False) or ""
    elif isinstance(outcome, CancelResult):
        order = panel.orders.get(outcome.order_id)
        if (
            outcome.order_id != op.ids[0]
            or order is None
            or order.status not in ("canceled", "partial")
            or order.charge + (outcome.refund or 0) != price(order)
        ):
            yield f"{op} answered {outcome} but the panel has {order}"
    elif isinstance(outcome, Balance):
        # During a wave adds only take money and cancels only give it back.
        low, high = money.before - money.taken, money.before + money.given
        if not low <= outcome.balance <= high or outcome.currency != "USD":
            yield f"balance {outcome} outside [{low}, {high}]"
    elif isinstance(outcome, int):
        order = panel.orders.get(outcome)
        if order is None or order.link != op.add["link"]:
            yield f"{op} returned order {outcome}, which is {order}"


def check_wave(
    panel: FakePanel, ops: list[Op], before: Decimal, first_new: int
) -> list[str]:
    """Compare every answer of a finished wave with the panel, clock unmoved."""
    taken = sum(
        (price(panel.orders[i]) for i in panel.orders if i >= first_new), Decimal(0)
    )
    given = panel.balance(API_KEY) - before + taken
    money = Money(before, taken, given)
    problems = (answer_problems(op, panel, money) for op in ops if not op.cancelled)
    return [problem for found in problems for problem in found if problem]


def open_sockets(port: int) -> list[str]:
    """Describe the open sockets of this process connected to `port` on loopback."""
    found = []
    for obj in gc.get_objects():
        if (
            isinstance(obj, socket.socket)
            and obj.family in (socket.AF_INET, socket.AF_INET6)
            and obj.fileno() != -1
        ):
            try:
                here, there = obj.getsockname(), obj.getpeername()
            except OSError:
                continue  # listening or not connected
            if port in (here[1], there[1]):
                found.append(f"{here} -> {there}")
    return found


def added_links(wire: Wire) -> Iterator[str]:
    """The link of every add the client posted, resends included."""
    for _, _, body in wire.posts:
        if body.startswith(b"{"):
            fields = msgspec.json.decode(body)
        else:
            fields = dict(parse_qsl(body.decode()))
        if fields.get("action") == "add":
            yield fields["link"]


def status_problem_any(value: OrderStatus | OrderError, panel: FakePanel) -> str:
    """Describe a final-reckoning answer that is not the panel's truth, or ''."""
    if isinstance(value, OrderError):
        return f"order {value.order_id} refused with the faults off: {value.message}"
    return status_problem(value, panel) or ""


def add_fate(op: Op) -> str:
    """How an add ended for its caller: id, unknown, cancelled or failed."""
    if op.cancelled:
        return "cancelled"
    if isinstance(op.outcome, OrderOutcomeUnknown):
        return "unknown"
    return "failed" if isinstance(op.outcome, BaseException) else "id"


def outcome_name(op: Op) -> str:
    """The kind of end a call met: ok, cancelled, or its exception's class."""
    if op.cancelled:
        return "cancelled"
    if isinstance(op.outcome, BaseException):
        return type(op.outcome).__name__
    return "ok"


def errors_of(ops: list[Op]) -> Iterator[BaseException]:
    """Every exception the run's callers received, per-order errors included."""
    for op in ops:
        if isinstance(op.outcome, BaseException):
            yield op.outcome
        elif isinstance(op.outcome, dict):
            yield from (v for v in op.outcome.values() if isinstance(v, OrderError))


def key_leaks(
    scenario: Scenario,
    wire: Wire,
    caplog: pytest.LogCaptureFixture,
    ops: list[Op],
    panel: FakePanel,
    client: ToplistClient,
) -> Iterator[str]:
    """Say where the key showed up outside the body or header it was meant for."""
    auth = scenario.client.get("auth", "body")
    bearer = f"Bearer {API_KEY}"
    for url, headers, body in wire.posts:
        if API_KEY in url:
            yield f"URL {url}"
        for name, value in headers.items():
            allowed = name == "Authorization" and auth != "body"
            if API_KEY in value and not allowed:
                yield f"header {name}"
        if (headers.get("Authorization") == bearer) != (auth != "body"):
            yield f"Authorization header {headers.get('Authorization')!r} for {auth}"
        if (API_KEY.encode() in body) != (auth != "bearer"):
            yield f"body {body[:80]!r} for auth {auth}"
    texts = [caplog.text, repr(client), repr(client.stats), repr(panel)]
    texts += [repr(record) for record in panel.requests]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args)]
        if record.exc_info:
            texts += exception_texts(record.exc_info[1])
    for error in errors_of(ops):
        texts += exception_texts(error)
    yield from (f"text {text[:200]!r}" for text in texts if API_KEY in text)


def collect_figures(
    scenario: Scenario,
    ops: list[Op],
    panel: FakePanel,
    client: ToplistClient,
    sleeps: list[float],
    landed: Counter[str],
    seconds: float,
) -> dict[str, Any]:
    """The run in numbers: calls, requests, faults injected, outcomes."""
    by_kind: dict[str, Counter[str]] = {}
    for op in ops:
        by_kind.setdefault(op.kind, Counter())[outcome_name(op)] += 1
    fates = Counter(add_fate(op) for op in ops if op.kind == "add")
    return {
        "scenario": scenario.id,
        "seed": SEED,
        "client": dict(scenario.client),
        "panel": dict(scenario.panel),
        "operations": len(ops),
        "operations_by_kind": dict(Counter(op.kind for op in ops)),
        "outcomes": dict(Counter(outcome_name(op) for op in ops)),
        "outcomes_by_kind": {kind: dict(c) for kind, c in sorted(by_kind.items())},
        "requests": len(panel.requests),
        "requests_by_action": dict(Counter(str(r.action) for r in panel.requests)),
        "faults": dict(Counter(r.fault or "none" for r in panel.requests)),
        "orders_placed": len(panel.orders),
        "adds": {
            "returned_id": fates["id"],
            "outcome_unknown": fates["unknown"],
            "outcome_unknown_placed": landed["unknown"],
            "caller_cancelled": fates["cancelled"],
            "caller_cancelled_placed": landed["cancelled"],
            "failed_unplaced": fates["failed"],
        },
        "client_stats": msgspec.to_builtins(client.stats),
        "retry_waits": len(sleeps),
        "retry_after_waits": sleeps.count(float(RETRY_AFTER)),
        "seconds": round(seconds, 2),
    }


def check_figures(figures: dict[str, Any], scenario: Scenario) -> None:
    """The chaos really happened: every fault fired at its rate, every end occurred."""
    requests, faults = figures["requests"], figures["faults"]
    for kind, share in FAULT_SHARES.items():
        expected = share * requests
        spread = 5 * math.sqrt(requests * share * (1 - share)) + 1
        assert abs(faults.get(kind, 0) - expected) <= spread, (kind, faults, requests)
        assert faults.get(kind, 0) > 0, (kind, faults)
    assert faults.get("rate_limit", 0) >= BURST_SIZES[0]
    assert faults.get("add_lost", 0) > 0
    assert figures["retry_after_waits"] > 0  # Retry-After was honoured, not guessed
    outcomes = figures["outcomes"]
    assert figures["operations"] == scenario.operations
    assert outcomes["ok"] > scenario.operations // 2
    for ending in ("cancelled", "OrderOutcomeUnknown", "OrderError"):
        assert outcomes.get(ending, 0) > 0, (ending, outcomes)
    assert figures["adds"]["outcome_unknown_placed"] > 0


def summary(figures: dict[str, Any]) -> str:
    """One line for the terminal."""
    return (
        f"chaos {figures['scenario']}: {figures['operations']} calls, "
        f"{figures['requests']} requests in {figures['seconds']} s; "
        f"faults {figures['faults']}; outcomes {figures['outcomes']}"
    )


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    """Record what every aiohttp POST of the run carries: URL, headers, body."""
    seen = Wire()
    real_post = aiohttp.ClientSession.post

    def post(self: aiohttp.ClientSession, url: str, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        seen.posts.append(
            (str(url), dict(kwargs.get("headers") or {}), bytes(data or b""))
        )
        return real_post(self, url, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "post", post)
    return seen


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_chaos(
    scenario: Scenario,
    wire: Wire,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Under all faults at once every call ends, answers are true, nothing leaks."""
    caplog.set_level(logging.DEBUG)
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))
    rng = random.Random(f"{SEED}-{scenario.id}")
    links = (f"https://example.com/chaos/{scenario.id}/{n}" for n in range(10**9))
    ops: list[Op] = []
    problems: list[str] = []
    started = time.perf_counter()
    panel = FakePanel(
        seed=SEED, speed=0, balance=STARTING_BALANCE, partial_rate=0.1, **scenario.panel
    )
    try:
        async with asyncio.timeout(RUN_DEADLINE), panel as base_url:
            install_faults(panel)
            client = ToplistClient(
                API_KEY, base_url=base_url, timeout=TIMEOUT, **scenario.client
            )
            async with client:
                for wave in range(math.ceil(scenario.operations / WAVE_SIZE)):
                    size = min(WAVE_SIZE, scenario.operations - wave * WAVE_SIZE)
                    if wave % BURST_EVERY == 1:
                        burst = rng.randint(*BURST_SIZES)
                        panel.faults.add(
                            "rate_limit", times=burst, retry_after=RETRY_AFTER
                        )
                    known = sorted(panel.orders)
                    batch = plan_wave(rng, size, known, links)
                    before = panel.balance(API_KEY)
                    await run_wave(client, batch)
                    problems += check_wave(panel, batch, before, len(known) + 1)
                    ops += batch
                    # Only now, with nothing in flight, may the orders move on.
                    panel.advance(rng.uniform(0, 8))
                # White box: the client's own sessions, for reads and mutations.
                pools = client._transport._connections
                sessions = [pools._reads, pools._mutations]
                connectors = [s.connector for s in sessions if s is not None]
                assert len(connectors) == 2
                # The reckoning, with the faults off: the client's own view.
                panel.faults.clear()
                truth = await client.status_many(sorted(panel.orders))
                final = await client.balance()
            # aclose() returns once its connections are closed, not a turn later.
            client_sockets = open_sockets(panel_port(base_url))
        leftover_tasks = [
            t for t in asyncio.all_tasks() if t is not asyncio.current_task()
        ]
        gc.collect()  # a future never retrieved reports itself when collected
    finally:
        loop.set_exception_handler(previous_handler)
    seconds = time.perf_counter() - started

    # -- every await ended, and every answer was the panel's truth -----------------
    assert len(ops) == scenario.operations
    assert problems == [], problems[:10]
    stray = [str(op) for op in ops if op.cancelled and op.cancel_after is None]
    assert stray == [], f"callers nobody cancelled ended cancelled: {stray[:10]}"
    assert [p for v in truth.values() if (p := status_problem_any(v, panel))] == []

    # -- adds: none placed twice, none placed behind a caller's back ---------------
    adds = [op for op in ops if op.kind == "add"]
    fate = {op.add["link"]: add_fate(op) for op in adds}
    placed = Counter(order.link for order in panel.orders.values())
    assert [link for link, n in placed.items() if n > 1] == []
    landed = Counter(fate.get(link, "not ours") for link in placed)
    with_id = sum(1 for f in fate.values() if f == "id")
    unknown = sum(1 for f in fate.values() if f == "unknown")
    gave_up = sum(1 for f in fate.values() if f == "cancelled")
    # Orders = adds that returned an id + some that raised OrderOutcomeUnknown
    # (+ some whose caller was cancelled), never more; no failed add placed one.
    assert landed.keys() <= {"id", "unknown", "cancelled"}, landed
    assert landed["id"] == with_id
    assert landed["unknown"] <= unknown
    assert landed["cancelled"] <= gave_up
    # The client may send an add again only after a 429 (the panel ran nothing)
    # or a failure to connect (nothing arrived: a connect timeout under load is
    # one). So the adds that reached the panel and were not throttled number at
    # most one per link the client sent.
    posted = Counter(link for link in added_links(wire) if link in fate)
    add_records = [r for r in panel.requests if r.action == "add"]
    throttled = sum(1 for r in add_records if r.fault == "rate_limit")
    arrived_unthrottled = len(add_records) - throttled
    assert arrived_unthrottled <= len(posted) <= len(adds), (
        f"{arrived_unthrottled} adds reached the panel for {len(posted)} links"
    )

    # -- money: the balance is what the orders cost, refunds included --------------
    charges = sum(
        (s.charge or 0 for s in truth.values() if isinstance(s, OrderStatus)),
        Decimal(0),
    )
    assert final.balance == STARTING_BALANCE - charges
    assert panel.reconcile(API_KEY)

    # -- nothing left behind ---------------------------------------------------------
    assert all(s is not None and s.closed for s in sessions)
    assert all(c is not None and c.closed for c in connectors)
    assert client_sockets == []
    assert open_sockets(panel_port(base_url)) == []
    assert leftover_tasks == []
    assert loop_errors == []

    # -- the key never leaves the body or the header it belongs in -----------------
    assert any(r.name == "toplist_async" for r in caplog.records), "no DEBUG logs"
    leaks = list(key_leaks(scenario, wire, caplog, ops, panel, client))
    assert leaks == []

    # -- the figures -------------------------------------------------------------------
    figures = collect_figures(scenario, ops, panel, client, sleeps, landed, seconds)
    check_figures(figures, scenario)
    out = tmp_path / f"chaos-{scenario.id}.json"
    out.write_text(json.dumps(figures, indent=2, sort_keys=True))
    with capsys.disabled():
        sys.stdout.write(f"\n{summary(figures)} ({out})\n")
