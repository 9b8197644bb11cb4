"""
A fleet of processes sharing one `RedisRateLimit`, against one panel's throttle.

What it measures. This process starts a throwaway `redis-server` (or uses
`--redis URL`) and serves a `FakePanel` whose own limit is `--per-minute`
requests in any sliding 60 s per key (429 beyond). It then starts
`--processes` child processes of this script; each builds one `ToplistClient`
with `rate_limit=RedisRateLimit(per_minute=--per-minute)` (all with the same
name and the same API key) and `--tasks` tasks calling `balance()` as fast as
the limiter lets them. Once every child is ready they start together and run
for `--duration` seconds. From the panel's request log:

- 429s: requests the panel refused. Target: 0.
- busiest window: most requests the panel received in any 60 s. Target: at
  most `--per-minute`.
- ceiling used: requests received during the run / (`--per-minute` x minutes).
  Target: at least 95 %.
- per process: requests each child got answered (fairness).

Scenario "skewed" runs the same with one child's clock (`time.time` and
`time.monotonic`, the limiter's `clock=` seam with them) `--skew` seconds off:
the limiter reads only the Redis server's clock, so nothing should change.

    python -m benchmarks.bench_fleet --duration 180
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
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
from toplist_async import RateLimitError, ToplistClient
from toplist_async.redis import RedisRateLimit, connect
from toplist_async.testing import FakePanel
from toplist_async.testing._redis_server import RedisServer

API_KEY = "fleet-key"
WINDOW = 60.0


def busiest_window(times: Sequence[float]) -> int:
    """Most requests in any window (t - 60, t], as the panel's throttle counts."""
    ordered = sorted(times)
    most, low = 0, 0
    for high, end in enumerate(ordered):
        while ordered[low] <= end - WINDOW:
            low += 1
        most = max(most, high - low + 1)
    return most


# --- one child: a client of the fleet -----------------------------------------


def skew_clocks(seconds: float) -> None:
    """Move this process's wall and monotonic clocks by `seconds`."""
    wall, monotonic = time.time, time.monotonic
    time.time = lambda: wall() + seconds
    time.monotonic = lambda: monotonic() + seconds


async def child(args: argparse.Namespace) -> dict[str, Any]:
    redis = connect(args.redis)
    limit = RedisRateLimit(
        redis, name=args.name, per_minute=args.per_minute, clock=time.monotonic
    )
    counts = {"ok": 0, "429": 0, "other": 0}
    async with ToplistClient(
        API_KEY, base_url=args.base_url, rate_limit=limit, max_retries=0
    ) as client:

        async def hammer() -> None:
            while True:
                try:
                    await client.balance()
                    counts["ok"] += 1
                except RateLimitError:
                    counts["429"] += 1
                except Exception:
                    counts["other"] += 1

        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        tasks = [asyncio.create_task(hammer()) for _ in range(args.tasks)]
        await asyncio.sleep(args.duration)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await redis.aclose()
    return counts


# --- the parent: panel, children, figures -------------------------------------


async def start_child(
    args: argparse.Namespace, url: str, base_url: str, name: str, skew: float
) -> asyncio.subprocess.Process:
    command = [sys.executable, "-m", "benchmarks.bench_fleet", "--child"]
    command += ["--redis", url, "--base-url", base_url, "--name", name]
    command += ["--per-minute", str(args.per_minute), "--tasks", str(args.tasks)]
    command += ["--duration", str(args.duration), "--clock-offset", str(skew)]
    pipe = asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(*command, stdin=pipe, stdout=pipe)


async def scenario(args: argparse.Namespace, url: str, skew: float) -> dict[str, Any]:
    """Run the fleet once; return the panel's figures and each child's counts."""
    name = f"bench-fleet-{time.time_ns()}"
    panel = FakePanel(rate_limit=args.per_minute)
    async with panel as base_url:
        children = [
            await start_child(args, url, base_url, name, skew if index == 0 else 0.0)
            for index in range(args.processes)
        ]
        for process in children:
            assert process.stdout is not None
            line = await process.stdout.readline()
            assert line.strip() == b"ready", line
        start = time.monotonic()
        for process in children:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        outputs = [(await process.communicate())[0] for process in children]
    counts = [json.loads(out.decode().splitlines()[-1]) for out in outputs]
    log = panel.requests
    during = [r.at for r in log if start <= r.at < start + args.duration]
    ceiling = args.per_minute * args.duration / WINDOW
    return {
        "skew_s": skew,
        "requests": len(log),
        "answered_429": sum(1 for r in log if r.status == 429),
        "busiest_60s": busiest_window([r.at for r in log if r.status == 200]),
        "in_run": len(during),
        "ceiling_used": len(during) / ceiling,
        "per_process": [c["ok"] for c in counts],
        "client_errors": sum(c["429"] + c["other"] for c in counts),
    }


def row(label: str, figures: dict[str, Any], per_minute: int) -> list[Any]:
    per = figures["per_process"]
    ok = figures["answered_429"] == 0 and figures["busiest_60s"] <= per_minute
    ok = ok and figures["ceiling_used"] >= 0.95
    return [
        label,
        figures["in_run"],
        figures["answered_429"],
        figures["busiest_60s"],
        f"{figures['ceiling_used']:.1%}",
        f"{min(per)}-{max(per)}",
        "ok" if ok else "MISSED",
    ]


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_fleet",
        description="A fleet of processes on one RedisRateLimit against one panel.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--processes", type=positive_int, default=8)
    add("--tasks", type=positive_int, default=4, help="callers in each process")
    add("--per-minute", type=positive_int, default=120)
    add("--duration", type=float, default=180.0, help="seconds of each scenario")
    add("--skew", type=float, default=5.0, help="clock offset of one process")
    add("--redis", help="a Redis URL (default: start a throwaway redis-server)")
    add("--json", default=str(RESULTS_DIR / "bench_fleet.json"))
    add("--child", action="store_true", help=argparse.SUPPRESS)
    add("--base-url", help=argparse.SUPPRESS)
    add("--name", help=argparse.SUPPRESS)
    add("--clock-offset", type=float, default=0.0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        if args.clock_offset:
            skew_clocks(args.clock_offset)
        print(json.dumps(asyncio.run(child(args))), flush=True)
        return 0
    server = RedisServer()
    url = args.redis or server.start()
    try:
        plain = asyncio.run(scenario(args, url, 0.0))
        skewed = asyncio.run(scenario(args, url, args.skew))
    finally:
        server.stop()
    headers = ["scenario", "requests", "429s", "busiest 60 s", "ceiling used"]
    headers += ["per process", "verdict"]
    rows = [row("plain", plain, args.per_minute)]
    rows.append(row(f"one clock {args.skew:+g} s", skewed, args.per_minute))
    title = f"{args.processes} processes x {args.tasks} callers, one RedisRateLimit"
    title += f" ({args.per_minute}/min), panel limit {args.per_minute}/min, "
    print_table(title + f"{args.duration:g} s each", headers, rows)
    save(
        Path(args.json),
        report("bench_fleet", args, ["redis"], plain=plain, skewed=skewed),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
