"""
A burst of concurrent `add()` calls against a panel in another process, no faults.

What it measures. Each round starts a fresh fake panel (`python -m
toplist_async.testing`, clock frozen, a balance that covers every order,
`--report` to count what it received), then fires N concurrent `client.add()`
calls through one default `ToplistClient` with `timeout=5` and gathers them.
It counts the calls that returned an id, the errors by type, the requests the
panel received per action and the orders it holds once it stops. A client
whose queued calls time out shows errors (`APITimeoutError`,
`OrderOutcomeUnknown`) and more requests than calls; the target is every call
placed, no error, exactly N `add` requests and N orders. The client's own
count of attempts is shown too: an attempt that never reached the panel (a
connect timeout on a busy machine) is retried and counted there, not by the
panel. Wall time is shown for context only.

    .venv/bin/python -m benchmarks.bench_bulk_add [--n 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toplist_async import ToplistClient

from ._common import (
    PanelProcess,
    base_parser,
    median,
    positive_int,
    print_table,
    report,
    run,
    verdict,
    write_json,
)

NAME = "bench_bulk_add"
PACKAGES = ("toplist_async", "aiohttp", "msgspec")


@dataclass(frozen=True, slots=True)
class Round:
    placed: int
    errors: dict[str, int]
    client_requests: int
    panel: dict[str, Any]
    wall: float


async def burst(base_url: str, n: int, timeout: float) -> Round:
    """Fire `n` concurrent adds and count what came back."""
    errors: Counter[str] = Counter()

    async def place(i: int) -> int | None:
        try:
            return await client.add(
                service=1, link=f"https://example.com/post/{i}", quantity=100
            )
        except Exception as exc:  # every failure is counted, by type
            errors[type(exc).__name__] += 1
            return None

    async with ToplistClient("test-key", base_url=base_url, timeout=timeout) as client:
        started = time.perf_counter()
        ids = await asyncio.gather(*(place(i) for i in range(n)))
        wall = time.perf_counter() - started
        requests = sum(client.stats.requests.values())
    placed = [order for order in ids if order is not None]
    assert len(set(placed)) == len(placed), "an order id came back twice"
    return Round(len(placed), dict(errors), requests, {}, wall)


def run_round(args: argparse.Namespace, workdir: Path, index: int) -> Round:
    served = workdir / f"served-{index}.json"
    panel = PanelProcess(
        "--speed", "0", "--balance", "1000000000", "--report", str(served)
    )
    with panel as url:
        result = run(burst(url, args.n, args.timeout), args)
    counts = json.loads(served.read_text())
    return Round(
        result.placed, result.errors, result.client_requests, counts, result.wall
    )


def main(argv: Sequence[str] | None = None) -> int:
    def options(parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        add("--n", type=positive_int, default=10_000, help="concurrent add() calls")
        add("--timeout", type=float, default=5.0, help="the client's timeout")

    args = base_parser(NAME, __doc__, rounds=3, extra=options).parse_args(argv)
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as workdir:
        for index in range(args.warmup + args.rounds):
            result = run_round(args, Path(workdir), index)
            if index >= args.warmup:
                rounds.append(result)

    rows = [
        [
            i + 1,
            f"{r.placed:,}",
            sum(r.errors.values()),
            json.dumps(r.errors) if r.errors else "-",
            f"{r.panel['requests_per_action'].get('add', 0):,}",
            f"{r.panel['orders']:,}",
            f"{r.client_requests:,}",
            f"{r.wall:.1f}",
        ]
        for i, r in enumerate(rounds)
    ]
    print_table(
        f"{args.n:,} concurrent add() at timeout={args.timeout:g}, no faults",
        [
            "round",
            "placed",
            "errors",
            "by type",
            "panel: add requests",
            "panel: orders",
            "client attempts",
            "wall s",
        ],
        rows,
    )
    targets = [
        {
            "target": "every call placed",
            "value": min(r.placed for r in rounds),
            "pass": all(r.placed == args.n for r in rounds),
        },
        {
            "target": "errors",
            "value": max(sum(r.errors.values()) for r in rounds),
            "pass": all(not r.errors for r in rounds),
        },
        {
            "target": f"requests received == {args.n:,}",
            "value": max(r.panel["requests"] for r in rounds),
            "pass": all(r.panel["requests"] == args.n for r in rounds),
        },
        {
            "target": f"orders on the panel == {args.n:,}",
            "value": max(r.panel["orders"] for r in rounds),
            "pass": all(r.panel["orders"] == args.n for r in rounds),
        },
    ]
    print_table(
        "Targets",
        ["target", "value", "verdict"],
        [[t["target"], t["value"], verdict(t["pass"])] for t in targets],
    )
    document = report(
        NAME,
        args,
        PACKAGES,
        rounds=[
            {
                "placed": r.placed,
                "errors": r.errors,
                "client_requests": r.client_requests,
                "panel": r.panel,
                "wall_seconds": r.wall,
            }
            for r in rounds
        ],
        median_wall_seconds=median(r.wall for r in rounds),
        targets=targets,
    )
    write_json(args.json, document)
    return 0 if all(t["pass"] for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
