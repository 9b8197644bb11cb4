"""
One `OrderTracker` following 100,000 open orders: memory, requests and CPU per round.

What it measures. A fake panel (`python -m toplist_async.testing`, clock frozen
with `--speed 0`, no partial orders) runs in another process, seeded with
enough orders for key "test-key"; one `status_many` pass keeps the ids that are
not final, so every tracked order stays open for the whole run. The tracker
gets a fake clock and sleep: time moves only when the benchmark advances it
past every order's next poll, so each poll round has exactly the due orders
the benchmark chose. A round is over when the tracker's scheduler goes back to
sleep with no poll left running.

- Memory (tracemalloc): bytes still allocated, after a full collection, once
  `tracker.track()` took `--orders` ids (the ids are made inside the traced
  window, so the int objects the tracker keeps alive count), and again once
  the first poll round answered every order and stored what it saw. The peak
  during that round is shown too (the round's futures, batches and answers are
  transient). Target: under 1,024 bytes per tracked order, both times.
- Requests per round: `status` requests and ids the client sent during the
  round (`client.stats` deltas), against ceil(due / 100).
- Client CPU per round: `time.process_time()` of this process only (the panel
  is another process) from advancing the clock to the end of the round, per
  due order, for several round sizes. Linear means the figure per order stays
  flat: the growth exponent between the smallest and largest size is about 1.
  The time spent in the cyclic garbage collector during the round is shown
  apart (it is included in the CPU figure): during a round, every due order
  has several objects alive at once (its tracker entry, its future and batch
  slot, its answer), so full collections, whose cost follows the live heap,
  take a growing share of the CPU as the round grows.
- Throughput: the status ids one process gets answered per minute, at 100 ids
  a request: under a panel's budget of 60 requests a minute (6,000 ids), as
  measured in the largest rounds (ids answered per wall second; the local
  panel, a Python process on the same machine, bounds it), and what the
  client's CPU alone would allow on one core. The last column turns each rate
  into the number of idle orders it keeps polling every 300 s (the tracker's
  default `max_interval`).

One tracker per size, all on one default `ToplistClient`; sizes run
interleaved in each round (the first rotating), a warm-up round (the first
poll of every order) is discarded and figures are medians over rounds.

    .venv/bin/python -m benchmarks.bench_tracking [--orders 100000] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toplist_async import OrderTracker, ToplistClient

from ._common import (
    GcTimer,
    PanelProcess,
    Timing,
    base_parser,
    exponent,
    median,
    parse_sizes,
    positive_int,
    print_table,
    report,
    rotated,
    run,
    settle_gc,
    summary,
    timed,
    verdict,
    write_json,
)
from ._tracking_live import idle_cpu, report_idle, report_live, steady_state

NAME = "bench_tracking"
REPO = Path(__file__).resolve().parent.parent
KEY = "test-key"
PACKAGES = ("toplist_async", "aiohttp", "msgspec")
IDS_PER_REQUEST = 100  # the client's default max_batch_size
# Targets from the issue.
MAX_BYTES_PER_ORDER = 1024
MAX_CPU_EXPONENT = 1.2  # 1 is linear, 2 quadratic
PANEL_BUDGET = 60  # requests per minute a panel commonly allows one key
MAX_INTERVAL = 300.0  # the tracker's default max_interval, in seconds
SEED_FACTOR = 1.25  # about 86% of seeded orders are open with --partial-rate 0
STEP = 10_000.0  # fake seconds per round: past any order's next poll
ROUND_TIMEOUT = 300.0


class FakeClock:
    """The tracker's clock and sleep: time moves only when `advance()` is called."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        entry = (self.now + delay, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self._sleepers.remove(entry)

    @property
    def sleeping(self) -> bool:
        return any(not future.done() for _, future in self._sleepers)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for when, future in self._sleepers:
            if when <= self.now and not future.done():
                future.set_result(None)


async def settled(tracker: OrderTracker, clock: FakeClock) -> None:
    """
    Wait until the tracker's scheduler sleeps on `clock` with nothing left to do.

    Then no poll is running, nothing will wake the scheduler but the clock, and
    advancing the clock starts exactly one round. Reads a private attribute.
    """
    while True:
        if tracker._polls:
            await asyncio.wait(set(tracker._polls))
        elif clock.sleeping:
            return
        else:
            await asyncio.sleep(0)  # a woken scheduler has yet to send its round


@dataclass(frozen=True, slots=True)
class Round:
    """One poll round: its timing and what the client sent during it."""

    due: int
    timing: Timing
    gc_cpu: float
    requests: int
    ids: int
    retries: int


async def poll_round(
    client: ToplistClient, tracker: OrderTracker, clock: FakeClock
) -> Round:
    """Make every tracked order due at once; time the round until it settles."""
    due = tracker.tracked
    async with asyncio.timeout(ROUND_TIMEOUT):
        await settled(tracker, clock)

    async def work() -> float:
        # CPU time, not wall time, so it can be subtracted from the round's CPU.
        with GcTimer(time.process_time) as collector:
            clock.advance(STEP)
            async with asyncio.timeout(ROUND_TIMEOUT):
                await settled(tracker, clock)
        return collector.seconds

    before = client.stats
    gc_cpu, timing = await timed(work)
    after = client.stats
    sample = Round(
        due=due,
        timing=timing,
        gc_cpu=gc_cpu,
        requests=after.requests.get("status", 0) - before.requests.get("status", 0),
        ids=after.ids_requested - before.ids_requested,
        retries=after.retries - before.retries,
    )
    if sample.ids != due or tracker.tracked != due:
        msg = (
            f"a round of {due:,} orders asked for {sample.ids:,} ids and left "
            f"{tracker.tracked:,} tracked: an order finished or a poll was lost"
        )
        raise RuntimeError(msg)
    return sample


def _tracker(client: ToplistClient, clock: FakeClock) -> OrderTracker:
    # first_poll: nothing is due until the clock is advanced for the first round.
    return OrderTracker(
        client,
        max_interval=MAX_INTERVAL,
        first_poll=1.0,
        clock=clock.time,
        sleep=clock.sleep,
    )


async def open_orders(url: str, seeded: int) -> list[int]:
    """The seeded ids whose orders are not final (the panel's clock is frozen)."""
    async with ToplistClient(KEY, base_url=url) as client:
        statuses = await client.status_many(range(1, seeded + 1))
    return [
        order
        for order, status in statuses.items()
        if not isinstance(status, Exception) and not status.is_final
    ]


def _site(frame: tracemalloc.Frame) -> str:
    """`toplist_async/_tracker.py:137`, relative to the repository or site-packages."""
    path = Path(frame.filename)
    for root in (REPO, *(Path(p) for p in sys.path if p.endswith("site-packages"))):
        if path.is_relative_to(root):
            path = path.relative_to(root)
            break
    return f"{path}:{frame.lineno}"


async def measure_memory(url: str, ids: Sequence[int]) -> dict[str, Any]:
    """Traced bytes kept after `track()` of every id, and after the first round."""
    async with ToplistClient(KEY, base_url=url) as client:
        await client.status(ids[0])  # the session exists before tracing starts
        clock = FakeClock()
        tracker = _tracker(client, clock)
        settle_gc()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            fresh = [int(str(order)) for order in ids]
            for order in fresh:
                tracker.track(order)
            del fresh
            settle_gc()
            after_track = tracemalloc.get_traced_memory()[0] - base
            tracemalloc.reset_peak()
            first = await poll_round(client, tracker, clock)
            settle_gc()
            after_round, peak = tracemalloc.get_traced_memory()
            top = tracemalloc.take_snapshot().statistics("lineno")[:8]
        finally:
            tracemalloc.stop()
        await tracker.aclose()
    n = len(ids)
    return {
        "orders": n,
        "bytes_after_track": after_track,
        "bytes_after_first_round": after_round - base,
        "peak_bytes_during_first_round": peak - base,
        "bytes_per_order_after_track": after_track / n,
        "bytes_per_order_after_first_round": (after_round - base) / n,
        "peak_bytes_per_order_during_first_round": (peak - base) / n,
        "first_round_requests": first.requests,
        "largest_allocation_sites": [
            {"site": _site(stat.traceback[0]), "bytes": stat.size, "blocks": stat.count}
            for stat in top
        ],
    }


async def measure_rounds(
    url: str, ids: Sequence[int], sizes: Sequence[int], rounds: int, warmup: int
) -> dict[int, list[Round]]:
    """Poll rounds of each size, interleaved, on one client; warm-up discarded."""
    samples: dict[int, list[Round]] = {n: [] for n in sizes}
    async with ToplistClient(KEY, base_url=url) as client:
        trackers: dict[int, tuple[OrderTracker, FakeClock]] = {}
        for n in sizes:
            clock = FakeClock()
            tracker = _tracker(client, clock)
            for order in ids[:n]:
                tracker.track(order)
            trackers[n] = (tracker, clock)
        total = warmup + rounds
        for round_index in range(total):
            what = (
                "warm-up"
                if round_index < warmup
                else f"round {round_index - warmup + 1}"
            )
            print(
                f"\rpoll rounds: {what} of {rounds} ...",
                end="",
                file=sys.stderr,
                flush=True,
            )
            for n in rotated(list(sizes), round_index):
                sample = await poll_round(client, *trackers[n])
                if round_index >= warmup:
                    samples[n].append(sample)
        print(file=sys.stderr)
        for tracker, _ in trackers.values():
            await tracker.aclose()
    return samples


# --- reporting ------------------------------------------------------------------


def report_memory(memory: dict[str, Any]) -> list[dict[str, Any]]:
    n = memory["orders"]
    rows = []
    targets = []
    for label, key, target in (
        ("after track()", "bytes_after_track", True),
        ("after the first poll round", "bytes_after_first_round", True),
        ("peak during the first round", "peak_bytes_during_first_round", False),
    ):
        total = memory[key]
        per_order = total / n
        ok = per_order < MAX_BYTES_PER_ORDER
        rows.append(
            [
                label,
                f"{total / 1e6:.1f}",
                f"{per_order:.0f}",
                f"< {MAX_BYTES_PER_ORDER}" if target else "-",
                verdict(ok) if target else "(transient)",
            ]
        )
        if target:
            targets.append(
                {
                    "target": f"bytes per order {label} < {MAX_BYTES_PER_ORDER}",
                    "value": f"{per_order:.0f} B",
                    "pass": ok,
                }
            )
    print_table(
        f"Memory: {n:,} tracked orders (tracemalloc, bytes kept after gc.collect())",
        ["stage", "MB", "bytes/order", "target", "verdict"],
        rows,
    )
    print_table(
        "Largest allocation sites still held after the first round",
        ["site", "MB", "blocks"],
        [
            [site["site"], f"{site['bytes'] / 1e6:.2f}", f"{site['blocks']:,}"]
            for site in memory["largest_allocation_sites"]
        ],
    )
    return targets


def report_rounds(
    args: argparse.Namespace, samples: dict[int, list[Round]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sizes = list(samples)
    rows = []
    figures: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    cpu_medians = []
    outside_medians = []
    for n in sizes:
        runs = samples[n]
        expected = math.ceil(n / IDS_PER_REQUEST)
        cpu = median(s.timing.cpu for s in runs)
        wall = median(s.timing.wall for s in runs)
        gc_seconds = median(s.gc_cpu for s in runs)
        outside_gc = median(s.timing.cpu - s.gc_cpu for s in runs)
        cpu_medians.append(cpu)
        outside_medians.append(outside_gc)
        counts = sorted({s.requests for s in runs})
        figures[str(n)] = {
            "due": n,
            "requests_per_round": [s.requests for s in runs],
            "expected_requests": expected,
            "ids_per_round": [s.ids for s in runs],
            "retries": sum(s.retries for s in runs),
            "cpu_seconds": summary([s.timing.cpu for s in runs]),
            "wall_seconds": summary([s.timing.wall for s in runs]),
            "gc_cpu_seconds": summary([s.gc_cpu for s in runs]),
            "gc_wall_seconds": summary([s.timing.gc for s in runs]),
            "gc_collections": [s.timing.collections for s in runs],
            "us_cpu_per_order_outside_gc": outside_gc / n * 1e6,
            "us_cpu_per_order": cpu / n * 1e6,
            "ids_per_wall_second": n / wall,
            "requests_per_wall_second": median(
                s.requests / s.timing.wall for s in runs
            ),
        }
        rows.append(
            [
                f"{n:,}",
                "/".join(f"{c:,}" for c in counts),
                f"{expected:,}",
                f"{cpu * 1e3:.1f}",
                f"{cpu / n * 1e6:.1f}",
                f"{gc_seconds * 1e3:.1f}",
                f"{outside_gc / n * 1e6:.1f}",
                f"{wall * 1e3:.0f}",
                f"{n / wall:,.0f}",
            ]
        )
        targets.append(
            {
                "target": f"status requests for {n:,} due orders == ceil({n:,}/100)",
                "value": "/".join(str(c) for c in counts),
                "pass": all(s.requests == expected for s in runs),
            }
        )
    print_table(
        f"Poll rounds: one tracker per size, median of {args.rounds} rounds "
        "(CPU: this process only; the panel runs in another)",
        [
            "due orders",
            "requests",
            "ceil(due/100)",
            "client CPU ms",
            "us CPU/order",
            "gc CPU ms",
            "us/order outside gc",
            "wall ms",
            "ids/s (wall)",
        ],
        rows,
    )
    if len(sizes) > 1:
        growth = exponent(sizes, cpu_medians)
        figures["cpu_exponent"] = growth
        figures["cpu_exponent_outside_gc"] = exponent(sizes, outside_medians)
        print(
            f"growth exponent of client CPU per round, {sizes[0]:,}..{sizes[-1]:,}: "
            f"{growth:.2f} ({figures['cpu_exponent_outside_gc']:.2f} outside gc; "
            "1 is linear)"
        )
        targets.append(
            {
                "target": (
                    f"client CPU per round linear in due orders, {sizes[0]:,}.."
                    f"{sizes[-1]:,} (exponent <= {MAX_CPU_EXPONENT})"
                ),
                "value": f"{growth:.2f}",
                "pass": growth <= MAX_CPU_EXPONENT,
            }
        )
    return figures, targets


def report_throughput(rounds: dict[str, Any], largest: int) -> dict[str, Any]:
    """What one process follows: measured here, and under a panel's request budget."""
    figures = rounds[str(largest)]
    per_minute = {
        f"panel budget ({PANEL_BUDGET} requests/min)": PANEL_BUDGET,
        "measured, local panel (wall)": figures["requests_per_wall_second"] * 60,
        "client CPU only (1 core, no panel)": (
            1e6 / figures["us_cpu_per_order"] / IDS_PER_REQUEST * 60
        ),
    }
    rows = []
    throughput: dict[str, Any] = {}
    for label, requests in per_minute.items():
        ids = requests * IDS_PER_REQUEST
        trackable = ids * MAX_INTERVAL / 60
        throughput[label] = {
            "requests_per_minute": requests,
            "ids_per_minute": ids,
            "ids_per_second": ids / 60,
            "orders_at_max_interval": trackable,
        }
        rows.append(
            [
                label,
                f"{requests:,.0f}",
                f"{ids:,.0f}",
                f"{ids / 60:,.0f}",
                f"{trackable:,.0f}",
            ]
        )
    print_table(
        f"Throughput: status ids answered per process ({largest:,}-order rounds, "
        f"{IDS_PER_REQUEST} ids/request)",
        [
            "limit",
            "requests/min",
            "ids/min",
            "ids/s",
            f"orders polled every {MAX_INTERVAL:.0f} s",
        ],
        rows,
    )
    return throughput


def main(argv: Sequence[str] | None = None) -> int:
    def options(parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        add(
            "--orders",
            type=positive_int,
            default=100_000,
            help="orders tracked for the memory figure; the largest round size",
        )
        add(
            "--only",
            choices=("rounds", "live", "idle"),
            default=None,
            help="run one part: poll rounds and memory, orders tracked over time, "
            "or the idle tracker (default: all three)",
        )
        add(
            "--live-orders",
            type=positive_int,
            default=10_000,
            help="orders placed and tracked over time",
        )
        add(
            "--live-span",
            type=float,
            default=600.0,
            help="simulated seconds over which they are placed",
        )
        add(
            "--idle-orders",
            type=positive_int,
            default=100_000,
            help="orders of the idle tracker",
        )
        add(
            "--idle-window",
            type=float,
            default=10.0,
            help="wall seconds the idle tracker's CPU is measured",
        )
        add(
            "--sizes",
            type=parse_sizes,
            default=None,
            help="due orders per round (default: orders/100, orders/10, orders)",
        )

    args = base_parser(NAME, __doc__, rounds=5, extra=options).parse_args(argv)
    sizes: list[int] = args.sizes or sorted(
        {max(1, args.orders // 100), max(1, args.orders // 10), args.orders}
    )
    parts = {args.only} if args.only else {"rounds", "live", "idle"}
    wanted = max(args.orders, sizes[-1]) if "rounds" in parts else 0
    if "idle" in parts:
        wanted = max(wanted, args.idle_orders)
    figures: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    if "live" in parts:
        print(
            f"orders tracked over time: {args.live_orders:,} over "
            f"{args.live_span:.0f} simulated s ...",
            file=sys.stderr,
        )
        live = run(steady_state(args.live_orders, args.live_span), args)
        targets += report_live(live)
        figures["live"] = live
    if wanted:
        seeded = math.ceil(wanted * SEED_FACTOR) + 100
        panel = PanelProcess(
            "--seed-orders", str(seeded), "--speed", "0", "--partial-rate", "0"
        )
        print(f"seeding {seeded:,} orders on a local panel ...", file=sys.stderr)
        with panel as url:
            ids = run(open_orders(url, seeded), args)
            if len(ids) < wanted:
                msg = f"only {len(ids):,} of {seeded:,} seeded orders are open"
                raise SystemExit(msg)
            if "idle" in parts:
                print(f"idle: {args.idle_orders:,} orders ...", file=sys.stderr)
                idle = run(
                    idle_cpu(url, ids[: args.idle_orders], args.idle_window), args
                )
                targets += report_idle(idle)
                figures["idle"] = idle
            if "rounds" in parts:
                print(f"memory: tracking {args.orders:,} orders ...", file=sys.stderr)
                memory = run(measure_memory(url, ids[: args.orders]), args)
                samples = run(
                    measure_rounds(url, ids, sizes, args.rounds, args.warmup), args
                )
                targets += report_memory(memory)
                rounds, round_targets = report_rounds(args, samples)
                targets += round_targets
                figures |= {
                    "memory": memory,
                    "rounds": rounds,
                    "throughput": report_throughput(rounds, sizes[-1]),
                }
    print_table(
        "Targets (this machine, this run)",
        ["target", "value", "verdict"],
        [[t["target"], t["value"], verdict(t["pass"])] for t in targets],
    )
    document = report(NAME, args, PACKAGES, targets=targets, **figures)
    write_json(args.json, document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
