"""
Batched `status()` through the SDK against a local panel, versus the same work by hand.

What it measures. A fake panel (`python -m toplist_async.testing`, orders
1..N seeded for key "test-key", clock frozen) runs in another process, once
per number dialect: `strings` (counts and money as strings, `"remains":
"157"`, as most panels of the family write them, and what real panels make
the SDK decode) and `ints` (JSON numbers, as the API document writes them).
Every variant of both dialects runs in every round. Every variant fans out
to N awaiting coroutines gathered as tasks, which is what N callers cost
anyway, so the ratios isolate the client:

- `sdk`: N concurrent `client.status(i)` awaits on a default `ToplistClient`;
- `sdk_in_flight_100`: the same with `max_in_flight=100`, every batch in
  flight at once like the floor, to show what the default bound costs;
- `optimal`: the hand-written floor: N coroutines await per-id futures while
  raw aiohttp POSTs of 100 ids each, all in flight, are decoded by msgspec
  straight into structs (counts left as the panel wrote them, int or string)
  and their results set on the futures;
- `aiodataloader`: a peer built from `aiodataloader.DataLoader`
  (`max_batch_size=100`, `cache=False`) over the same raw request;
- `naive`: one raw request per id, on a smaller N (`--naive-n`), to show what
  batching saves: it sends 100 times more requests, which is what a
  rate-limited panel charges for. Its per-await cost is per id.

Every variant has its own aiohttp session (default connector: 100
connections), kept open across rounds; a warm-up round opens the connections,
so the timed rounds measure the steady state. The raw variants send the body
the SDK sends: JSON `{"action": "status", "orders": "1,2,...", "key": ...}`.
HTTP requests are counted per sample: `client.stats` for the SDK, a counter in
the raw request for the others. A sample is the wall time from creating the N
awaits to the last result; results are checked after the clock stops. The
panel shares the two cores, so this process's CPU time per sample is reported
too, and the time the garbage collector took in it (it stays on, as in a
program; each sample starts after `gc.collect()`). Every ratio is shown with
the ratio of the time outside the collector and both sides' GC time beside it.

The memory part counts the bytes each pending `client.status(i)` await keeps
(tracemalloc, after a full collection, its batch in flight on a slow panel),
beside a bare task awaiting its own future.

The cancellation part starts a second panel whose status answers are delayed
(latency fault), lets N waiters of `client.status(...)` send their first
batches, cancels all N at once and times from the first `cancel()` to the
moment every waiter is done. Linear means the time per waiter stays flat: the
growth exponent between the smallest and largest N (log of the time ratio over
log of the size ratio) is about 1, where a cost per waiter that grows with N
shows as an exponent near 2. The collector's full passes fire when the heap
crosses a threshold, so one N may get one and the next not; the verdict uses
the time outside the collector (both exponents are shown). Two baselines share
the rounds: `own_futures` (N tasks each awaiting a future of its own: the
floor) and `shield` (N tasks awaiting `asyncio.shield()` of one shared future,
the usual fan-out fix, whose callback removal is quadratic; see
batching-and-retry.md Part C).

Variants run interleaved in each round (the first rotating), the figures are
medians over rounds and ratios are medians of per-round ratios.

    .venv/bin/python -m benchmarks.bench_batching [--rounds 11] [--uvloop]
        [--dialects strings,ints] [--cancel-rounds 5] [--no-cancel] [--no-naive]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import math
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec
from aiodataloader import DataLoader

from toplist_async import OrderStatus, ToplistClient

from ._common import (
    PanelProcess,
    Timing,
    base_parser,
    exponent,
    loop_name,
    median,
    paired_median_ratio,
    parse_sizes,
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

NAME = "bench_batching"
KEY = "test-key"
PACKAGES = ("toplist_async", "aiohttp", "msgspec", "aiodataloader")
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
FORM_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded",
}
_DEFAULTS = inspect.signature(ToplistClient).parameters
DEFAULT_IN_FLIGHT: int = _DEFAULTS["max_in_flight"].default
DEFAULT_ENCODING: str = _DEFAULTS["encoding"].default
# The panel's number dialects: counts and money as strings, as most panels of
# the family write them, and as JSON numbers, as the API document does.
DIALECTS: dict[str, tuple[str, ...]] = {
    "strings": ("--numbers-as-strings",),
    "ints": (),
}
# Targets from the issue (both dialects).
MAX_SDK_OVER_OPTIMAL = 1.05
MAX_SDK_OVER_DATALOADER = 0.95
# No more than before issue 11: 1,192 bytes (10,000 pending awaits, tracemalloc).
MAX_BYTES_PER_PENDING = 1_192
MAX_CANCEL_EXPONENT = 1.3  # 1 is linear, 2 quadratic


class _Status(msgspec.Struct, gc=False):
    """One order of a status answer, typed: what the floor decodes into."""

    charge: Decimal | None = None
    start_count: int | str | None = None
    status: str = ""
    remains: int | str | None = None
    currency: str | None = None


_decode_answer = msgspec.json.Decoder(dict[str, _Status]).decode


def request(
    fields: dict[str, str], encoding: str = DEFAULT_ENCODING
) -> tuple[bytes, dict[str, str]]:
    """The body and headers the SDK sends for `fields`, in its default encoding."""
    if encoding == "json":
        return msgspec.json.encode(fields), JSON_HEADERS
    return urlencode(fields).encode(), FORM_HEADERS


class RawStatus:
    """The SDK's status request by hand: one POST, msgspec in and out, counted."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.requests = 0

    async def fetch(self, ids: Sequence[int]) -> dict[str, _Status]:
        self.requests += 1
        body, headers = request(
            {"action": "status", "orders": ",".join(map(str, ids)), "key": KEY}
        )
        async with self.session.post(self.url, data=body, headers=headers) as response:
            raw = await response.read()
            if response.status != 200:
                msg = f"the panel answered {response.status}: {raw[:200]!r}"
                raise RuntimeError(msg)
        return _decode_answer(raw)


@dataclass(frozen=True, slots=True)
class Sample:
    timing: Timing
    requests: int
    awaits: int


Runner = Callable[[], Awaitable[Sample]]


def _chunks(ids: Sequence[int], size: int) -> list[Sequence[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _check(results: Sequence[object], expected: int) -> None:
    if len(results) != expected or any(result is None for result in results):
        msg = f"expected {expected} results, got {len(results)} (or some None)"
        raise RuntimeError(msg)


# --- the batching variants ------------------------------------------------------


def sdk_variant(client: ToplistClient, ids: Sequence[int]) -> Runner:
    async def fan_out() -> list[OrderStatus]:
        return await asyncio.gather(*(client.status(i) for i in ids))

    async def run() -> Sample:
        before = client.stats.requests.get("status", 0)
        results, timing = await timed(fan_out)
        if [result.order_id for result in results] != list(ids):
            msg = "the SDK answered for the wrong orders"
            raise RuntimeError(msg)
        if any(type(result.remains) is not int for result in results):
            msg = "the SDK did not read the counts as ints"
            raise RuntimeError(msg)
        return Sample(timing, client.stats.requests.get("status", 0) - before, len(ids))

    return run


async def _fan_out(raw: RawStatus, ids: Sequence[int], batch: int) -> list[_Status]:
    """N waiters on per-id futures; POSTs of `batch` ids, all in flight, set them."""
    loop = asyncio.get_running_loop()
    futures: dict[int, asyncio.Future[_Status]] = {i: loop.create_future() for i in ids}

    async def post(chunk: Sequence[int]) -> None:
        try:
            answer = await raw.fetch(chunk)
        except BaseException as exc:
            for i in chunk:
                if not futures[i].done():
                    futures[i].set_exception(exc)
            raise
        for i in chunk:
            futures[i].set_result(answer[str(i)])

    async def waiter(i: int) -> _Status:
        return await futures[i]

    posts = [loop.create_task(post(chunk)) for chunk in _chunks(ids, batch)]
    results = await asyncio.gather(*(waiter(i) for i in ids))
    await asyncio.gather(*posts)
    return results


def raw_variant(raw: RawStatus, ids: Sequence[int], batch: int) -> Runner:
    """`optimal` with `batch` ids per request, `naive` with 1."""

    async def run() -> Sample:
        before = raw.requests
        results, timing = await timed(lambda: _fan_out(raw, ids, batch))
        _check(results, len(ids))
        return Sample(timing, raw.requests - before, len(ids))

    return run


def dataloader_variant(raw: RawStatus, ids: Sequence[int], batch: int) -> Runner:
    async def batch_fn(keys: list[int]) -> list[_Status | None]:
        answer = await raw.fetch(keys)
        return [answer.get(str(key)) for key in keys]

    async def run() -> Sample:
        loader = DataLoader(batch_fn, max_batch_size=batch, cache=False)

        async def waiter(i: int) -> _Status | None:
            result: _Status | None = await loader.load(i)
            return result

        async def fan_out() -> list[_Status | None]:
            return await asyncio.gather(*(waiter(i) for i in ids))

        before = raw.requests
        results, timing = await timed(fan_out)
        _check(results, len(ids))
        return Sample(timing, raw.requests - before, len(ids))

    return run


LABELS = {
    "sdk": f"sdk (max_in_flight={DEFAULT_IN_FLIGHT}, default)",
    "sdk_in_flight_100": "sdk (max_in_flight=100)",
    "optimal": "optimal (raw, all in flight)",
    "aiodataloader": "aiodataloader (raw)",
    "naive": "naive (raw, 1 id/request)",
}


async def run_batching(
    args: argparse.Namespace, urls: dict[str, str]
) -> dict[str, dict[str, list[Sample]]]:
    """Samples per dialect and variant; every variant of both dialects each round."""
    ids = list(range(1, args.n + 1))
    naive_ids = list(range(1, args.naive_n + 1))
    batch = args.batch_size
    async with AsyncExitStack() as stack:
        variants: dict[tuple[str, str], Runner] = {}
        for dialect, url in urls.items():

            async def session() -> aiohttp.ClientSession:
                return await stack.enter_async_context(aiohttp.ClientSession())

            async def client(url: str = url, **options: Any) -> ToplistClient:
                return await stack.enter_async_context(
                    ToplistClient(KEY, base_url=url, max_batch_size=batch, **options)
                )

            variants[dialect, "sdk"] = sdk_variant(await client(), ids)
            variants[dialect, "sdk_in_flight_100"] = sdk_variant(
                await client(max_in_flight=100), ids
            )
            variants[dialect, "optimal"] = raw_variant(
                RawStatus(await session(), url), ids, batch
            )
            variants[dialect, "aiodataloader"] = dataloader_variant(
                RawStatus(await session(), url), ids, batch
            )
            if not args.no_naive:
                variants[dialect, "naive"] = raw_variant(
                    RawStatus(await session(), url), naive_ids, 1
                )
        samples: dict[str, dict[str, list[Sample]]] = {d: {} for d in urls}
        for dialect, name in variants:
            samples[dialect][name] = []
        total = args.warmup + args.rounds
        for round_index in range(total):
            _progress("batching", round_index, args.warmup, total)
            for key in rotated(list(variants), round_index):
                sample = await variants[key]()
                if round_index >= args.warmup:
                    samples[key[0]][key[1]].append(sample)
    return samples


# --- the cancellation part -------------------------------------------------------


async def cancel_sdk(url: str, n: int, batch: int) -> Timing:
    """Cancel N `client.status()` waiters whose first batches are in flight."""
    async with ToplistClient(KEY, base_url=url, max_batch_size=batch) as client:
        tasks = [asyncio.create_task(client.status(i)) for i in range(1, n + 1)]
        await _requests_sent(client, n, batch)
        if any(task.done() for task in tasks):
            msg = "a waiter finished before it was cancelled: the panel is not slow"
            raise RuntimeError(msg)
        return await _cancel_all(tasks)


async def _requests_sent(client: ToplistClient, n: int, batch: int) -> None:
    """Wait until the first batches of N waiters are in flight on the slow panel."""
    in_flight = min(math.ceil(n / batch), DEFAULT_IN_FLIGHT)
    deadline = time.monotonic() + 10
    while client.stats.requests.get("status", 0) < in_flight:
        if time.monotonic() > deadline:
            msg = "the status requests were not sent within 10 s"
            raise RuntimeError(msg)
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)  # let the POSTs reach the panel


async def pending_memory(url: str, n: int, batch: int) -> dict[str, float]:
    """
    Bytes each pending await keeps (tracemalloc, after a full collection).

    `sdk`: N tasks awaiting `client.status(i)`, their first batches in flight
    on the slow panel; `own_futures`: N tasks each awaiting a bare future, the
    least a waiting caller can cost. The client and its connections exist
    before the count starts.
    """
    per_await: dict[str, float] = {}
    async with ToplistClient(KEY, base_url=url, max_batch_size=batch) as client:
        await client.balance()  # the session and a connection, outside the count
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tasks = [asyncio.create_task(client.status(i)) for i in range(1, n + 1)]
            await _requests_sent(client, n, batch)
            gc.collect()
            per_await["sdk"] = (tracemalloc.get_traced_memory()[0] - base) / n
        finally:
            tracemalloc.stop()
        await _cancel_all(tasks)
        del tasks

    loop = asyncio.get_running_loop()

    async def waiter(future: asyncio.Future[None]) -> None:
        await future

    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        futures = [loop.create_future() for _ in range(n)]
        waiters = [asyncio.create_task(waiter(future)) for future in futures]
        await asyncio.sleep(0)
        gc.collect()
        per_await["own_futures"] = (tracemalloc.get_traced_memory()[0] - base) / n
    finally:
        tracemalloc.stop()
    await _cancel_all(waiters)
    return per_await


def report_memory(
    args: argparse.Namespace, per_await: dict[str, float]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    print_table(
        f"Memory: bytes per pending await, {args.memory_n:,} waiting callers "
        "(tracemalloc, after gc.collect())",
        ["variant", "bytes per await"],
        [[name, f"{size:,.0f}"] for name, size in per_await.items()],
    )
    target = {
        "target": f"sdk: memory per pending await <= {MAX_BYTES_PER_PENDING:,} bytes",
        "value": f"{per_await['sdk']:,.0f}",
        "pass": per_await["sdk"] <= MAX_BYTES_PER_PENDING,
    }
    return {"bytes_per_pending_await": per_await}, [target]


async def cancel_own_futures(n: int) -> Timing:
    """The floor: N tasks each awaiting a future of its own."""
    loop = asyncio.get_running_loop()

    async def waiter(future: asyncio.Future[None]) -> None:
        await future

    tasks = [asyncio.create_task(waiter(loop.create_future())) for _ in range(n)]
    await asyncio.sleep(0)
    return await _cancel_all(tasks)


async def cancel_shield(n: int) -> Timing:
    """The `asyncio.shield` fan-out: N tasks awaiting shield() of one shared future."""
    shared: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def waiter() -> None:
        await asyncio.shield(shared)

    tasks = [asyncio.create_task(waiter()) for _ in range(n)]
    await asyncio.sleep(0)
    try:
        return await _cancel_all(tasks)
    finally:
        shared.cancel()


async def _cancel_all(tasks: Sequence[asyncio.Task[Any]]) -> Timing:
    """Time from the first `cancel()` until every task is done."""

    async def cancel() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    _, timing = await timed(cancel)
    if not all(task.cancelled() for task in tasks):
        msg = "a waiter was not cancelled"
        raise RuntimeError(msg)
    return timing


async def run_cancellation(
    args: argparse.Namespace, slow_url: str
) -> dict[str, dict[int, list[Timing]]]:
    variants: dict[str, Callable[[int], Awaitable[Timing]]] = {
        "sdk": lambda n: cancel_sdk(slow_url, n, args.batch_size),
        "own_futures": cancel_own_futures,
    }
    if not args.no_shield:
        variants["shield"] = cancel_shield
    sizes: list[int] = args.cancel_sizes
    combos = [(name, n) for n in sizes for name in variants]
    samples: dict[str, dict[int, list[Timing]]] = {
        name: {n: [] for n in sizes} for name in variants
    }
    total = args.warmup + args.cancel_rounds
    for round_index in range(total):
        _progress("cancellation", round_index, args.warmup, total)
        warming = round_index < args.warmup
        for name, n in rotated(combos, round_index):
            if warming and n != sizes[0]:
                continue  # warm up on the smallest size only: the shield is slow
            timing = await variants[name](n)
            if not warming:
                samples[name][n].append(timing)
    return samples


def _progress(part: str, round_index: int, warmup: int, total: int) -> None:
    what = "warm-up" if round_index < warmup else f"round {round_index - warmup + 1}"
    print(f"{part}: {what} of {total - warmup}", file=sys.stderr, flush=True)


# --- reporting ----------------------------------------------------------------------


def _timings(timings: Sequence[Timing]) -> dict[str, Any]:
    return {
        "wall_seconds": summary([t.wall for t in timings]),
        "cpu_seconds": summary([t.cpu for t in timings]),
        "gc_seconds": summary([t.gc for t in timings]),
        "gc_collections": [t.collections for t in timings],
    }


def _per_await(timings: Sequence[float], awaits: int) -> float:
    return median(timings) / awaits * 1e6


def report_batching(
    args: argparse.Namespace, by_dialect: dict[str, dict[str, list[Sample]]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    figures: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    ratio_rows = []
    expected_requests = math.ceil(args.n / args.batch_size)
    for dialect, samples in by_dialect.items():
        wall = {name: [s.timing.wall for s in runs] for name, runs in samples.items()}
        cpu = {name: [s.timing.cpu for s in runs] for name, runs in samples.items()}
        gc = {name: [s.timing.gc for s in runs] for name, runs in samples.items()}
        optimal_per_await = median(wall["optimal"]) / samples["optimal"][0].awaits
        rows = []
        section: dict[str, Any] = {"variants": {}, "ratios": {}}
        for name, runs in samples.items():
            awaits = runs[0].awaits
            per_await = median(wall[name]) / awaits
            counts = [s.requests for s in runs]
            section["variants"][name] = {
                "label": LABELS[name],
                "awaits": awaits,
                "requests_per_sample": counts,
                "requests_per_await": median(counts) / awaits,
                "us_per_await": per_await * 1e6,
                "cpu_us_per_await": _per_await(cpu[name], awaits),
                "gc_us_per_await": _per_await(gc[name], awaits),
                **_timings([s.timing for s in runs]),
            }
            rows.append(
                [
                    LABELS[name],
                    f"{awaits:,}",
                    "/".join(f"{r:,}" for r in sorted(set(counts))),
                    f"{median(wall[name]) * 1e3:.1f}",
                    f"{min(wall[name]) * 1e3:.0f}-{max(wall[name]) * 1e3:.0f}",
                    f"{per_await * 1e6:.2f}",
                    f"{_per_await(cpu[name], awaits):.2f}",
                    f"{_per_await(gc[name], awaits):.2f}",
                    f"{per_await / optimal_per_await:.2f}x",
                ]
            )
        print_table(
            f"Batching, numbers as {dialect}: {args.n:,} concurrent status awaits "
            f"(naive: {args.naive_n:,}); medians of {args.rounds} rounds "
            f"on {loop_name(args)}",
            [
                "variant",
                "awaits",
                "requests",
                "wall ms",
                "range ms",
                "us/await",
                "cpu us/await",
                "gc us/await",
                "per await vs optimal",
            ],
            rows,
        )
        figures[dialect] = section
        counts = section["variants"]["sdk"]["requests_per_sample"]
        targets.append(
            {
                "target": (
                    f"{dialect}: sdk requests for {args.n:,} awaits "
                    f"== {expected_requests}"
                ),
                "value": "/".join(str(c) for c in sorted(set(counts))),
                "pass": all(c == expected_requests for c in counts),
            }
        )
        for name in ("sdk", "sdk_in_flight_100"):
            for peer, limit in (
                ("optimal", MAX_SDK_OVER_OPTIMAL),
                ("aiodataloader", MAX_SDK_OVER_DATALOADER),
            ):
                ratio = paired_median_ratio(wall[name], wall[peer])
                ratios = [n / d for n, d in zip(wall[name], wall[peer], strict=True)]
                cpu_ratio = paired_median_ratio(cpu[name], cpu[peer])
                outside_gc = paired_median_ratio(
                    [w - g for w, g in zip(wall[name], gc[name], strict=True)],
                    [w - g for w, g in zip(wall[peer], gc[peer], strict=True)],
                )
                awaits = samples[name][0].awaits
                section["ratios"][f"{name}/{peer}"] = {
                    "wall": ratio,
                    "wall_min": min(ratios),
                    "wall_max": max(ratios),
                    "cpu": cpu_ratio,
                    "wall_outside_gc": outside_gc,
                    "gc_us_per_await": [
                        _per_await(gc[name], awaits),
                        _per_await(gc[peer], awaits),
                    ],
                }
                ratio_rows.append(
                    [
                        f"{name}/{peer}",
                        dialect,
                        f"{ratio:.3f}",
                        f"{min(ratios):.2f}-{max(ratios):.2f}",
                        f"{cpu_ratio:.3f}",
                        f"{outside_gc:.3f}",
                        f"{_per_await(gc[name], awaits):.2f}",
                        f"{_per_await(gc[peer], awaits):.2f}",
                    ]
                )
                if name == "sdk":
                    targets.append(
                        {
                            "target": f"{dialect}: {name}/{peer} <= {limit} (wall)",
                            "value": f"{ratio:.3f}",
                            "pass": ratio <= limit,
                        }
                    )
    print_table(
        "Ratios: medians of per-round ratios (range: lowest-highest round); "
        "cpu = this process's CPU;\nbeside each, the ratio of wall time outside "
        "the garbage collector and the GC's us/await of both sides",
        [
            "ratio",
            "numbers",
            "wall",
            "range",
            "cpu",
            "outside gc",
            "gc us/await",
            "peer gc us/await",
        ],
        ratio_rows,
    )
    return figures, targets


def report_cancellation(
    args: argparse.Namespace, samples: dict[str, dict[int, list[Timing]]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sizes: list[int] = args.cancel_sizes
    rows = []
    figures: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    walls: dict[str, list[float]] = {}
    for name, by_size in samples.items():
        walls[name] = [median(t.wall for t in by_size[n]) for n in sizes]
        # The collector's full passes fire when the heap crosses a threshold,
        # so one size can get one and the next not: time outside it is the
        # work the waiters' number causes.
        mutator = [median(t.wall - t.gc for t in by_size[n]) for n in sizes]
        several = len(sizes) > 1
        growth = exponent(sizes, walls[name]) if several else float("nan")
        growth_no_gc = exponent(sizes, mutator) if several else float("nan")
        figures[name] = {
            "by_size": {
                str(n): {**_timings(by_size[n]), "us_per_waiter": m / n * 1e6}
                for n, m in zip(sizes, walls[name], strict=True)
            },
            "exponent": growth,
            "exponent_outside_gc": growth_no_gc,
        }
        rows.append(
            [
                name,
                *(
                    f"{m * 1e3:.1f} ({m / n * 1e6:.2f})"
                    for n, m in zip(sizes, walls[name], strict=True)
                ),
                f"{growth:.2f}",
                f"{growth_no_gc:.2f}",
            ]
        )
        if name == "sdk" and several:
            targets.append(
                {
                    "target": (
                        f"cancelling {sizes[0]:,}..{sizes[-1]:,} sdk waiters is "
                        f"linear (exponent outside gc <= {MAX_CANCEL_EXPONENT})"
                    ),
                    "value": f"{growth_no_gc:.2f} (wall {growth:.2f})",
                    "pass": growth_no_gc <= MAX_CANCEL_EXPONENT,
                }
            )
    if "own_futures" in walls:
        floor = walls["own_futures"]
        ratios = [s / f for s, f in zip(walls["sdk"], floor, strict=True)]
        figures["sdk_over_own_futures"] = dict(
            zip(map(str, sizes), ratios, strict=True)
        )
        rows.append(["sdk / own_futures", *(f"{r:.2f}x" for r in ratios), "", ""])
    print_table(
        "Cancellation: N waiters cancelled at once; wall ms from the first cancel to "
        f"all done (us per waiter); medians of {args.cancel_rounds} rounds;\n"
        "exponent = log(t_max / t_min) / log(N_max / N_min): 1 linear, 2 quadratic",
        ["variant", *(f"N={n:,}" for n in sizes), "exponent", "outside gc"],
        rows,
    )
    return figures, targets


def _dialects(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = set(chosen) - DIALECTS.keys()
    if not chosen or unknown:
        msg = f"dialects are {', '.join(DIALECTS)}, not {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    def options(parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        add("--n", type=positive_int, default=10_000, help="concurrent status awaits")
        add("--naive-n", type=positive_int, default=1_000, help="awaits of `naive`")
        add("--batch-size", type=positive_int, default=100, help="ids per request")
        add(
            "--cancel-sizes",
            type=parse_sizes,
            default=parse_sizes("5000,10000,20000"),
            help="waiter counts of the cancellation part",
        )
        add(
            "--cancel-rounds",
            type=positive_int,
            default=5,
            help="timed rounds of the cancellation part",
        )
        add("--no-shield", action="store_true", help="skip the asyncio.shield baseline")
        add("--no-cancel", action="store_true", help="skip the cancellation part")
        add(
            "--memory-n",
            type=positive_int,
            default=10_000,
            help="waiting callers of the memory figure",
        )
        add(
            "--no-naive",
            action="store_true",
            help="skip the one-id-per-request variant",
        )
        add(
            "--dialects",
            type=_dialects,
            default=list(DIALECTS),
            help="number dialects of the panel, comma-separated",
        )

    args = base_parser(NAME, __doc__, rounds=11, extra=options).parse_args(argv)
    seeded = max(args.n, args.naive_n)
    slow = PanelProcess("--speed", "0", "--faults", "latency:action=status:seconds=600")
    with ExitStack() as panels:
        urls = {
            dialect: panels.enter_context(
                PanelProcess("--seed-orders", str(seeded), "--speed", "0", *options)
            )
            for dialect, options in DIALECTS.items()
            if dialect in args.dialects
        }
        samples = run(run_batching(args, urls), args)
        cancel_samples = None
        slow_url = panels.enter_context(slow)
        memory = run(pending_memory(slow_url, args.memory_n, args.batch_size), args)
        if not args.no_cancel:
            cancel_samples = run(run_cancellation(args, slow_url), args)

    batching, targets = report_batching(args, samples)
    memory_figures, memory_targets = report_memory(args, memory)
    targets += memory_targets
    document = report(NAME, args, PACKAGES, batching=batching, memory=memory_figures)
    if cancel_samples is not None:
        cancellation, cancel_targets = report_cancellation(args, cancel_samples)
        targets += cancel_targets
        document["cancellation"] = cancellation
    document["targets"] = targets
    print_table(
        "Targets (this 2-core machine, this run)",
        ["target", "value", "verdict"],
        [[t["target"], t["value"], verdict(t["pass"])] for t in targets],
    )
    write_json(args.json, document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
