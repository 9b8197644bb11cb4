"""
Worker and consumer processes sharing one `RedisTracker`, with kill -9 of each.

What it measures. This process starts a throwaway `redis-server`, serves a
`FakePanel` seeded with `--orders` orders (its clock at `--speed`, so they
change for most of the run and most finish within it) and tracks them all.
It then starts `--workers` processes running `tracker.run()` (`--lease` s
leases) and `--consumers` processes reading `tracker.events()` in one group,
kills one worker with
SIGKILL at `--kill-worker` s and one consumer at `--kill-consumer` s, runs for
`--duration` s, and lets the surviving consumer read what is left. Workers
log each claim (its fencing token and ids) and when it was stored; consumers
log each update they handled. From the logs and Redis:

- polls: order ids claimed and polled.
- overlaps: an order claimed again while an earlier claim of it still held
  its lease and was not stored yet. Target: 0.
- the killed worker's orders: how long after its lease ended they were
  claimed again. Target: within 1 s.
- updates: appended to the stream; handled at least once (target: all);
  handled twice (redelivered after the consumer's death); still pending at
  the end (target: 0); orders that ended without their final update handled
  (target: 0).

    python -m benchmarks.bench_tracker_fleet --orders 20000 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._common import (
    RESULTS_DIR,
    positive_int,
    print_table,
    report,
    write_json as save,
)
from toplist_async import OrderError, ToplistClient
from toplist_async.redis import RedisTracker, connect
from toplist_async.redis._store import Claim
from toplist_async.testing import FakePanel
from toplist_async.testing._redis_server import RedisServer

API_KEY = "fleet-key"
NAME = "bench"


def tracker_for(redis: Any, client: ToplistClient, args: argparse.Namespace) -> Any:
    """The benchmark's tracker; a worker's logs each claim and when it was stored."""
    options: dict[str, Any] = {"interval": args.interval, "max_interval": 8.0}
    options.update(lease=args.lease, max_events=0)
    if args.role != "worker":
        return RedisTracker(redis, client, name=NAME, **options)
    log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    class Logged(RedisTracker):
        async def _poll(self, claim: Claim) -> None:
            ids = " ".join(map(str, claim.states))
            os.write(log, f"C {claim.token} {ids}\n".encode())
            started = time.monotonic()
            await super()._poll(claim)
            elapsed = round((time.monotonic() - started) * 1000)
            os.write(log, f"D {claim.token} {elapsed}\n".encode())

    return Logged(redis, client, name=NAME, **options)


async def child(args: argparse.Namespace) -> None:
    redis = connect(args.redis)
    async with ToplistClient(API_KEY, base_url=args.base_url) as client:
        tracker = tracker_for(redis, client, args)
        if args.role == "worker":
            await tracker.run()
        log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        events = tracker.events(group="bench", consumer=args.log, claim_idle=2.0)
        async for update in events:
            if isinstance(update, OrderError):
                line = f"{update.order_id} error {update.message}\n"
            else:
                line = f"{update.order_id} {update.status.value} {update.remains}"
                line += " final\n" if update.is_final else "\n"
            os.write(log, line.encode())


async def start(args: argparse.Namespace, role: str, log: Path, base_url: str) -> Any:
    command = [sys.executable, "-m", "benchmarks.bench_tracker_fleet", "--child"]
    command += [role, "--redis", args.redis, "--base-url", base_url, "--log", str(log)]
    command += ["--lease", str(args.lease), "--interval", str(args.interval)]
    return await asyncio.create_subprocess_exec(*command)


async def run(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    redis = connect(args.redis)
    panel = FakePanel(
        seed_orders=args.orders, seed_orders_key=API_KEY, speed=args.speed
    )
    async with panel as base_url, ToplistClient(API_KEY, base_url=base_url) as client:
        await tracker_for(redis, client, args).track(range(1, args.orders + 1))
        workers = [
            await start(args, "worker", logs / f"w{i}", base_url)
            for i in range(args.workers)
        ]
        consumers = [
            await start(args, "consumer", logs / f"c{i}", base_url)
            for i in range(args.consumers)
        ]
        began = time.monotonic()
        await asyncio.sleep(args.kill_worker)
        while not mid_claim(logs / "w0"):  # noqa: ASYNC110 (a file, another process)
            await asyncio.sleep(0.001)  # kill it while it holds a claim
        workers[0].send_signal(signal.SIGKILL)
        killed_at = await redis.time()
        await asyncio.sleep(args.kill_consumer - args.kill_worker)
        stream = f"toplist:{{{NAME}}}:events"
        while not await held_by(redis, stream, logs / "c0"):  # noqa: ASYNC110
            await asyncio.sleep(0.001)  # kill it while it holds updates
        consumers[0].send_signal(signal.SIGKILL)
        await consumers[0].wait()
        held = await held_by(redis, stream, logs / "c0")
        await asyncio.sleep(args.duration - (time.monotonic() - began))
        for process in workers[1:]:
            process.send_signal(signal.SIGKILL)
        for _ in range(300):  # the surviving consumers catch up
            group = (await redis.xinfo_groups(stream))[0]
            if not group["lag"] and not group["pending"]:
                break
            await asyncio.sleep(0.1)
        for process in [*consumers[1:], *workers, consumers[0]]:
            if process.returncode is None:
                process.send_signal(signal.SIGKILL)
            await process.wait()
        figures = {
            "events": await redis.xlen(stream),
            "pending": (await redis.xinfo_groups(stream))[0]["pending"],
            "still_tracked": await redis.zcard(f"toplist:{{{NAME}}}:due"),
            "killed_at_ms": killed_at[0] * 1000 + killed_at[1] // 1000,
            "held_by_killed_consumer": held,
        }
    await redis.aclose()
    return figures


async def held_by(redis: Any, stream: str, consumer: Path) -> int:
    """Updates delivered to `consumer` and not acknowledged yet."""
    pending = await redis.xpending_range(
        stream, "bench", "-", "+", 100_000, consumername=str(consumer)
    )
    return len(pending)


def mid_claim(log: Path) -> bool:
    """Whether the worker's last line is a claim not stored yet."""
    with log.open("rb") as lines:
        lines.seek(max(0, log.stat().st_size - 300))
        last = lines.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    return last.startswith(b"C ")


def claims_of(logs: Path, workers: int) -> dict[int, list[tuple[int, int, int | None]]]:
    """Per order: (token, worker, stored after ms or None) of each claim."""
    per_order: dict[int, list[tuple[int, int, int | None]]] = defaultdict(list)
    for worker in range(workers):
        lines = (logs / f"w{worker}").read_text().splitlines()
        stored = {
            int(p[1]): int(p[2])
            for p in (line.split() for line in lines)
            if p[0] == "D"
        }
        for parts in (line.split() for line in lines):
            if parts[0] == "C":
                token = int(parts[1])
                for order in parts[2:]:
                    per_order[int(order)].append((token, worker, stored.get(token)))
    return per_order


def analyse(
    args: argparse.Namespace, logs: Path, redis: dict[str, Any]
) -> dict[str, Any]:
    lease = round(args.lease * 1000)
    per_order = claims_of(logs, args.workers)
    overlaps, after_lease = 0, []
    for claims in per_order.values():
        claims.sort()
        for (token, worker, stored), (later, _, _) in itertools.pairwise(claims):
            held_until = token + lease if stored is None else token + min(stored, lease)
            if later < held_until - 5:  # 5 ms: `stored` is timed by the worker
                overlaps += 1
            if worker == 0 and stored is None:
                after_lease.append((later - token - lease) / 1000)
    handled: list[str] = []
    for consumer in range(args.consumers):
        handled += (logs / f"c{consumer}").read_text().splitlines()
    finals = {line.split()[0] for line in handled if line.endswith((" final", "error"))}
    finals |= {line.split()[0] for line in handled if " error " in line}
    ended = args.orders - redis["still_tracked"]
    return {
        "polls": sum(len(c) for c in per_order.values()),
        "overlaps": overlaps,
        "killed_claims_orders": len(after_lease),
        "held_by_killed_consumer": redis["held_by_killed_consumer"],
        "repolled_after_lease_s": [
            min(after_lease, default=0),
            max(after_lease, default=0),
        ],
        "events": redis["events"],
        "handled": len(handled),
        "handled_distinct": len(set(handled)),
        "redelivered": len(handled) - len(set(handled)),
        "pending": redis["pending"],
        "ended": ended,
        "ended_without_final": max(0, ended - len(finals)),
    }


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_tracker_fleet",
        description="Workers and consumers on one RedisTracker, with kill -9.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--orders", type=positive_int, default=20_000)
    add("--workers", type=positive_int, default=4)
    add("--consumers", type=positive_int, default=2)
    add("--duration", type=float, default=60.0)
    add("--kill-worker", type=float, default=15.0, help="seconds in")
    add("--kill-consumer", type=float, default=25.0, help="seconds in")
    add("--lease", type=float, default=2.0)
    add("--interval", type=float, default=2.0)
    add("--speed", type=float, default=0.1, help="the panel's simulated s per s")
    add("--redis", help="an empty Redis (default: start a throwaway redis-server)")
    add("--json", default=str(RESULTS_DIR / "bench_tracker_fleet.json"))
    add("--child", choices=["worker", "consumer"], dest="role", help=argparse.SUPPRESS)
    add("--base-url", help=argparse.SUPPRESS)
    add("--log", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.role:
        asyncio.run(child(args))
        return 0
    server = RedisServer()
    args.redis = args.redis or server.start()
    try:
        with tempfile.TemporaryDirectory() as directory:
            figures = analyse(
                args, Path(directory), asyncio.run(run(args, Path(directory)))
            )
    finally:
        server.stop()
    low, high = figures["repolled_after_lease_s"]
    ok = not figures["overlaps"] and high <= 1.0 and not figures["pending"]
    ok = ok and figures["handled_distinct"] == figures["events"]
    ok = ok and not figures["ended_without_final"]
    headers = ["polls", "overlaps", "re-polled after lease", "updates", "handled"]
    headers += ["dead consumer's, moved", "pending", "ended w/o final", "verdict"]
    row = [
        f"{figures['polls']:,}",
        figures["overlaps"],
        f"{figures['killed_claims_orders']} orders, {low:.2f}-{high:.2f} s",
        f"{figures['events']:,}",
        f"{figures['handled_distinct']:,}",
        f"{figures['held_by_killed_consumer']} ({figures['redelivered']} twice)",
        figures["pending"],
        figures["ended_without_final"],
        "ok" if ok else "MISSED",
    ]
    title = (
        f"{args.orders:,} orders, {args.workers} workers, {args.consumers} consumers,"
    )
    title += f" {args.duration:g} s, lease {args.lease:g} s"
    print_table(title, headers, [row])
    save(Path(args.json), report("bench_tracker_fleet", args, ["redis"], **figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
