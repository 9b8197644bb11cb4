"""
What a `RedisTracker` costs Redis: memory per tracked order, CPU per claim.

What it measures. A throwaway `redis-server` (or `--redis URL`, which must be
empty) gets `--orders` tracked orders through `RedisTracker.track()`.

- Memory: Redis's `used_memory` after tracking, less before, per order (the
  due-time sorted set and the state hash; no updates yet). Target: 1,000,000
  orders in at most 250 MB.
- CPU per cycle: a worker's two scripts for 100 orders, claim then complete
  (each order rescheduled with a new state; `--changed` of them with an
  update appended to the stream, as a poll that saw a change), driven
  directly without a panel. Redis's own CPU (`used_cpu_user + used_cpu_sys`
  from INFO) over `--cycles` cycles, per cycle; rounds, median. From it: the
  share of one Redis core at `--rate` orders polled a second (3,300: 1,000,000
  orders at the 5-minute cap). Target: under 5 %.

    python -m benchmarks.bench_redis_scale --orders 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from benchmarks._common import (
    RESULTS_DIR,
    positive_int,
    print_table,
    report,
    write_json as save,
)
from toplist_async import ToplistClient
from toplist_async._schedule import Outcome, Plan
from toplist_async.redis import RedisTracker, connect
from toplist_async.redis._codec import decode_entry, encode_entry, encode_update, ms
from toplist_async.redis._store import Completion, Store
from toplist_async.testing import FakePanel
from toplist_async.testing._redis_server import RedisServer

MB = 1_000_000


async def used(redis: Redis, section: str, *fields: str) -> float:
    info = await redis.info(section)
    return sum(float(info[field]) for field in fields)


async def cycle(store: Store, tracker: RedisTracker, event: bytes, changed: int) -> int:
    """One claim of 100 and its completion; return the orders completed."""
    claim = await store.claim(100, 60_000, 4)
    rules = tracker.rules
    changes = []
    for n, (order, text) in enumerate(claim.states.items()):
        entry = decode_entry(text)
        outcome = Outcome.CHANGED if n < changed else Outcome.UNCHANGED
        plan = rules.after(entry.plan, claim.token / 1000, outcome)
        assert isinstance(plan, Plan)
        entry.plan = plan
        state = encode_entry(entry, rules)
        changes.append(
            Completion(order, state, ms(entry.plan.due), event if n < changed else None)
        )
    await store.complete(claim.token + 60_000, changes, 1_000_000)
    return len(changes)


async def measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    redis = connect(url)
    assert await redis.dbsize() == 0, "--redis must point at an empty database"
    panel = FakePanel(seed_orders=1, speed=0)
    async with panel as base_url, ToplistClient("bench", base_url=base_url) as client:
        tracker = RedisTracker(redis, client, name="scale", max_interval=300.0)
        status = (await client.status_many([1]))[1]
        event = encode_update(status)
        before = await used(redis, "memory", "used_memory")
        started = time.perf_counter()
        for start in range(1, args.orders + 1, 100_000):
            await tracker.track(range(start, min(start + 100_000, args.orders + 1)))
        tracking = time.perf_counter() - started
        after = await used(redis, "memory", "used_memory")
        store = Store(redis, "scale", timeout=5.0)
        per_cycle = []
        for _ in range(args.rounds):
            cpu = await used(redis, "cpu", "used_cpu_user", "used_cpu_sys")
            done = 0
            for _ in range(args.cycles):
                done += await cycle(store, tracker, event, args.changed)
            spent = await used(redis, "cpu", "used_cpu_user", "used_cpu_sys") - cpu
            per_cycle.append(spent / (done / 100))
    await redis.aclose()
    cost = statistics.median(per_cycle)
    return {
        "orders": args.orders,
        "track_seconds": tracking,
        "used_memory_bytes": after - before,
        "bytes_per_order": (after - before) / args.orders,
        "cpu_ms_per_100_orders": [c * 1000 for c in per_cycle],
        "cpu_ms_per_100_orders_median": cost * 1000,
        "core_share_at_rate": cost * args.rate / 100,
    }


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_redis_scale",
        description="Redis memory and CPU of a RedisTracker.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--orders", type=positive_int, default=1_000_000)
    add("--cycles", type=positive_int, default=500, help="claims of 100 per round")
    add("--rounds", type=positive_int, default=5)
    add("--changed", type=int, default=10, help="orders of 100 with an update")
    add("--rate", type=float, default=3300.0, help="orders polled a second")
    add("--redis", help="an empty Redis (default: start a throwaway redis-server)")
    add("--json", default=str(RESULTS_DIR / "bench_redis_scale.json"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    server = RedisServer()
    url = args.redis or server.start()
    try:
        figures = asyncio.run(measure(args, url))
    finally:
        server.stop()
    share = figures["core_share_at_rate"]
    rows = [
        [
            f"{args.orders:,}",
            f"{figures['used_memory_bytes'] / MB:.0f} MB",
            f"{figures['bytes_per_order']:.0f}",
            f"{figures['cpu_ms_per_100_orders_median']:.3f} ms",
            f"{share:.1%}",
            "ok"
            if figures["used_memory_bytes"] <= 250 * MB * args.orders / 1e6
            and share < 0.05
            else "MISSED",
        ]
    ]
    headers = ["orders", "Redis memory", "bytes/order", "CPU per claim of 100"]
    headers += [f"core at {args.rate:g}/s", "verdict"]
    print_table("RedisTracker in Redis", headers, rows)
    save(Path(args.json), report("bench_redis_scale", args, ["redis"], **figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
