"""
Single calls: sequential `balance()` and `add()` through the SDK versus raw aiohttp.

What it measures. A fake panel (`python -m toplist_async.testing`, clock frozen,
a balance that never runs out) runs in another process, once per number
dialect (counts and money as strings, as most panels of the family write them,
and as JSON numbers, as the API document does). A sample is `--calls`
sequential calls of one kind, one awaited after the other, so nothing is
batched and each call pays for its whole path:

- `sdk`: `await client.balance()` / `await client.add(service=1, ...)` on a
  default `ToplistClient` (retry policy, transport, error classifier, typed
  models);
- `raw`: the floor: the same POST body with aiohttp on a session of its own,
  `response.read()`, a status check and `msgspec` decoding into a struct
  (`Decimal` balance, the order id as an int);
- `raw_fresh` (add only): the same on a connection of its own per request
  (`force_close`), as the SDK sends every `add` so that a stray answer left
  on a reused connection can never be read as the new order's id.

Both keep their session open across rounds; a warm-up round is discarded.
This process's CPU time per call is the figure the target is about (the panel
shares the two cores and inflates wall time); wall time and the garbage
collector's share are shown beside it. Variants run interleaved in each round
(the first rotating), every sample starts after a full collection, figures
are medians over rounds and ratios medians of per-round ratios.

    .venv/bin/python -m benchmarks.bench_single [--calls 2000] [--rounds 11] [--uvloop]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, ExitStack
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec

from toplist_async import ToplistClient

from ._common import (
    PanelProcess,
    Timing,
    base_parser,
    loop_name,
    median,
    paired_median_ratio,
    positive_int,
    print_table,
    report,
    rotated,
    run,
    summary,
    timed,
    verdict,
    write_json,
)
from .bench_batching import DIALECTS, KEY, request

NAME = "bench_single"
PACKAGES = ("toplist_async", "aiohttp", "msgspec", "tenacity", "uvloop")
LINK = "https://example.com/post/1"
ORDER = {"service": 1, "link": LINK, "quantity": 10}
MAX_CPU_OVER_RAW = 1.10  # target from the issue, per call


class _Balance(msgspec.Struct, gc=False):
    balance: Decimal
    currency: str


class _Added(msgspec.Struct, gc=False):
    order_id: int | str


_decode_balance = msgspec.json.Decoder(_Balance).decode
_decode_added = msgspec.json.Decoder(_Added).decode


class Raw:
    """The floor: one POST per call, read, status checked, decoded by msgspec."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def _post(self, fields: dict[str, Any]) -> bytes:
        body, headers = request({k: str(v) for k, v in fields.items()})
        async with self.session.post(self.url, data=body, headers=headers) as response:
            raw = await response.read()
            if response.status != 200:
                msg = f"the panel answered {response.status}: {raw[:200]!r}"
                raise RuntimeError(msg)
        return raw

    async def balance(self) -> Decimal:
        answer = _decode_balance(await self._post({"action": "balance", "key": KEY}))
        return answer.balance

    async def add(self) -> int:
        raw = await self._post({"action": "add", **ORDER, "key": KEY})
        return int(_decode_added(raw).order_id)


Call = Callable[[], Awaitable[object]]


def sequential(call: Call, calls: int) -> Callable[[], Awaitable[Timing]]:
    async def calls_in_a_row() -> None:
        for _ in range(calls):
            await call()

    async def sample() -> Timing:
        _, timing = await timed(calls_in_a_row)
        return timing

    return sample


async def measure(
    args: argparse.Namespace, urls: dict[str, str]
) -> dict[tuple[str, str, str], list[Timing]]:
    """Timings per (dialect, action, variant), all interleaved in every round."""
    variants: dict[tuple[str, str, str], Callable[[], Awaitable[Timing]]] = {}
    async with AsyncExitStack() as stack:
        for dialect, url in urls.items():
            client = await stack.enter_async_context(ToplistClient(KEY, base_url=url))
            session = await stack.enter_async_context(aiohttp.ClientSession())
            raw = Raw(session, url)
            # The SDK sends every add on a connection of its own (a stray
            # answer on a reused one could hand back another order's id).
            fresh = Raw(
                await stack.enter_async_context(
                    aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(force_close=True)
                    )
                ),
                url,
            )

            async def sdk_add(client: ToplistClient = client) -> int:
                return await client.add(service=1, link=LINK, quantity=10)

            for action, sdk_call, raw_call in (
                ("balance", client.balance, raw.balance),
                ("add", sdk_add, raw.add),
            ):
                variants[dialect, action, "sdk"] = sequential(sdk_call, args.calls)
                variants[dialect, action, "raw"] = sequential(raw_call, args.calls)
            variants[dialect, "add", "raw_fresh"] = sequential(fresh.add, args.calls)
        samples: dict[tuple[str, str, str], list[Timing]] = {k: [] for k in variants}
        total = args.warmup + args.rounds
        for round_index in range(total):
            what = "warm-up" if round_index < args.warmup else "round"
            number = round_index - args.warmup + 1
            print(f"{what} {max(number, 0)} of {args.rounds}", file=sys.stderr)
            for key in rotated(list(variants), round_index):
                timing = await variants[key]()
                if round_index >= args.warmup:
                    samples[key].append(timing)
    return samples


def _us(values: Sequence[float], calls: int) -> float:
    return median(values) / calls * 1e6


def report_calls(
    args: argparse.Namespace, samples: dict[tuple[str, str, str], list[Timing]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    calls = args.calls
    rows = []
    figures: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    pairs = sorted(
        {(dialect, action, peer) for dialect, action, peer in samples if peer != "sdk"}
    )
    for dialect, action, peer in pairs:
        sdk, raw = samples[dialect, action, "sdk"], samples[dialect, action, peer]
        cpu_ratio = paired_median_ratio([t.cpu for t in sdk], [t.cpu for t in raw])
        cpu_ratios = [s.cpu / r.cpu for s, r in zip(sdk, raw, strict=True)]
        wall_ratio = paired_median_ratio([t.wall for t in sdk], [t.wall for t in raw])
        figures[f"{dialect}/{action}/{peer}"] = {
            variant: {
                "cpu_us_per_call": _us([t.cpu for t in timings], calls),
                "wall_us_per_call": _us([t.wall for t in timings], calls),
                "gc_us_per_call": _us([t.gc for t in timings], calls),
                "cpu_seconds": summary([t.cpu for t in timings]),
                "wall_seconds": summary([t.wall for t in timings]),
            }
            for variant, timings in (("sdk", sdk), (peer, raw))
        } | {
            "cpu_ratio": cpu_ratio,
            "cpu_ratio_range": [min(cpu_ratios), max(cpu_ratios)],
            "wall_ratio": wall_ratio,
        }
        rows.append(
            [
                f"{action} ({dialect}) vs {peer}",
                f"{_us([t.cpu for t in sdk], calls):.1f}",
                f"{_us([t.cpu for t in raw], calls):.1f}",
                f"{cpu_ratio:.3f}",
                f"{min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}",
                f"{_us([t.wall for t in sdk], calls):.1f}",
                f"{_us([t.wall for t in raw], calls):.1f}",
                f"{wall_ratio:.3f}",
                f"{_us([t.gc for t in sdk], calls):.2f}",
                f"{_us([t.gc for t in raw], calls):.2f}",
            ]
        )
        targets.append(
            {
                "target": (
                    f"{dialect}: sdk CPU per {action}() <= {MAX_CPU_OVER_RAW}x {peer}"
                ),
                "value": f"{cpu_ratio:.3f}",
                "pass": cpu_ratio <= MAX_CPU_OVER_RAW,
            }
        )
    print_table(
        f"Single calls: {calls:,} sequential calls per sample, medians of "
        f"{args.rounds} rounds on {loop_name(args)} (us per call; ratios are "
        "medians of per-round ratios, range lowest-highest)",
        [
            "call",
            "sdk cpu",
            "peer cpu",
            "cpu ratio",
            "range",
            "sdk wall",
            "peer wall",
            "wall ratio",
            "sdk gc",
            "peer gc",
        ],
        rows,
    )
    return figures, targets


def main(argv: Sequence[str] | None = None) -> int:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--calls",
            type=positive_int,
            default=2_000,
            help="sequential calls per sample",
        )

    args = base_parser(NAME, __doc__, rounds=11, extra=options).parse_args(argv)
    with ExitStack() as panels:
        urls = {
            dialect: panels.enter_context(
                PanelProcess("--speed", "0", "--balance", "1000000000", *flags)
            )
            for dialect, flags in DIALECTS.items()
        }
        samples = run(measure(args, urls), args)
    figures, targets = report_calls(args, samples)
    print_table(
        "Targets (this 2-core machine, this run)",
        ["target", "value", "verdict"],
        [[t["target"], t["value"], verdict(t["pass"])] for t in targets],
    )
    write_json(args.json, report(NAME, args, PACKAGES, calls=figures, targets=targets))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
