"""`toplist demo`: the SDK's main job, end to end, against a local fake panel."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections import Counter
from decimal import Decimal
from typing import TextIO

import msgspec

from .._client import ToplistClient
from .._exceptions import OrderError, OrderOutcomeUnknown, ToplistError
from .._models import OrderStatus, Service
from ..testing import FakePanel
from ._commands import waiting
from ._output import table
from ._screen import Activity, Screen

__all__ = ["DemoReport", "run_demo"]

_KEY = "demo-key"
_POLL_EVERY = 0.2  # seconds between two status() calls of one order
_SPEED = 30.0  # simulated seconds per real second: orders finish in seconds


class DemoReport(msgspec.Struct, frozen=True, kw_only=True):
    """What the demo did, as printed at its end."""

    orders_placed: int
    outcome_unknown: int
    cancels_accepted: int
    final_states: dict[str, int]
    status_awaits: int
    requests: dict[str, int]
    retries: int
    rate_limit_pauses: int
    errors_handled: dict[str, int]
    money_spent: Decimal
    money_refunded: Decimal
    balance_before: Decimal
    balance_after: Decimal
    wall_time: float


async def _place(
    client: ToplistClient,
    service: Service,
    count: int,
    errors: Counter[str],
    screen: Screen,
) -> tuple[list[int], int]:
    rng = random.Random(count)
    progress = Activity("placing", count)

    async def place(n: int) -> int | None:
        quantity = rng.randint(service.min, min(service.max, 5000))
        try:
            return await client.add(
                service=service.service,
                link=f"https://example.com/post/{n}",
                quantity=quantity,
            )
        except OrderOutcomeUnknown as exc:
            # Surfaced like every other error: an order in doubt is never hidden.
            errors[type(exc).__name__] += 1
            return -1
        except ToplistError as exc:
            errors[type(exc).__name__] += 1
            return None
        finally:
            progress.advance()

    work = asyncio.gather(*(place(n) for n in range(count)))
    placed = await waiting(screen, progress, work)
    unknown = sum(1 for order in placed if order == -1)
    return [order for order in placed if order is not None and order > 0], unknown


async def _follow(
    client: ToplistClient, order: int, errors: Counter[str], progress: Activity
) -> OrderStatus | None:
    """Poll one order until it is final, surviving transient failures."""
    while True:
        try:
            status = await client.status(order)
        except OrderError as exc:
            errors[type(exc).__name__] += 1
            progress.advance()
            return None
        except ToplistError as exc:
            errors[type(exc).__name__] += 1
        else:
            if status.is_final:
                progress.advance()
                return status
        await asyncio.sleep(_POLL_EVERY)


async def run_demo(
    *,
    orders: int = 300,
    seed: int = 7,
    faults: bool = True,
    as_json: bool = False,
    out: TextIO | None = None,
    screen: Screen | None = None,
) -> int:
    """Place `orders` orders on a local fake panel, follow them to the end, report."""
    started = time.perf_counter()
    screen = screen or Screen()
    panel = FakePanel(seed=seed, speed=_SPEED, balance=Decimal("1000000"))
    errors: Counter[str] = Counter()
    async with panel as base_url:
        if faults:
            panel.faults.add("server_error", rate=0.05, action="status")
            panel.faults.add("html_200", rate=0.02, action="status")
            panel.faults.add("reset", rate=0.02, action="status")
            panel.faults.add("rate_limit", times=2, retry_after=1)
            panel.faults.add("add_lost", times=1, then="reset")
        async with ToplistClient(
            _KEY, base_url=base_url, timeout=5.0, max_retries=4
        ) as client:
            # The first requests meet the 429 bursts: show the waits they cause.
            before = (
                await waiting(screen, Activity("balance"), client.balance())
            ).balance
            services = await waiting(screen, Activity("services"), client.services())
            service = next(s for s in services if s.cancel)
            placed, unknown = await _place(client, service, orders, errors, screen)
            to_cancel = placed[::15]  # a sample: most orders run to their end
            cancels = await client.cancel_many(to_cancel) if to_cancel else {}
            refunded = sum(
                (
                    c.refund or Decimal(0)
                    for c in cancels.values()
                    if hasattr(c, "refund")
                ),
                Decimal(0),
            )
            progress = Activity("following", len(placed))
            following = asyncio.gather(
                *(_follow(client, order, errors, progress) for order in placed)
            )
            finals = await waiting(screen, progress, following)
            after = (await client.balance()).balance
            stats = client.stats
    done = [status for status in finals if status is not None]
    report = DemoReport(
        orders_placed=len(placed),
        outcome_unknown=unknown,
        cancels_accepted=sum(
            1 for c in cancels.values() if not isinstance(c, OrderError)
        ),
        final_states=dict(Counter(str(s.status) for s in done)),
        status_awaits=stats.awaits.get("status", 0),
        requests=stats.requests,
        retries=stats.retries,
        rate_limit_pauses=stats.rate_limit_pauses,
        errors_handled=dict(errors),
        money_spent=sum((s.charge or Decimal(0) for s in done), Decimal(0)),
        money_refunded=refunded,
        balance_before=before,
        balance_after=after,
        wall_time=round(time.perf_counter() - started, 2),
    )
    stream = out or sys.stdout
    if as_json:
        stream.write(msgspec.json.encode(report).decode() + "\n")
    else:
        stream.write(_render(report, faults))
    return 0


def _render(report: DemoReport, faults: bool) -> str:
    requests = report.requests
    status_requests = requests.get("status", 0)
    saved = report.status_awaits / status_requests if status_requests else 0.0
    states = ", ".join(f"{k} {v}" for k, v in sorted(report.final_states.items()))
    errors = ", ".join(f"{k} {v}" for k, v in sorted(report.errors_handled.items()))
    injected = "5xx, HTML pages, resets, 429 bursts, a lost add" if faults else "none"
    lines = [
        "toplist demo: a local FakePanel on 127.0.0.1, no account, no network",
        f"  faults injected        {injected}",
        f"  orders placed          {report.orders_placed}"
        f" (+{report.outcome_unknown} whose answer was lost: OrderOutcomeUnknown)",
        f"  cancels accepted       {report.cancels_accepted}",
        f"  final states           {states}",
        f"  status() awaits        {report.status_awaits}",
        f"  status HTTP requests   {status_requests} ({saved:.0f} awaits per request)",
        f"  all HTTP requests      {sum(requests.values())}",
        f"  retries                {report.retries}"
        f" (rate-limit pauses: {report.rate_limit_pauses})",
        f"  errors surfaced        {errors or 'none'}",
        f"  money spent            {report.money_spent}",
        f"  money refunded         {report.money_refunded}",
        f"  balance                {report.balance_before} -> {report.balance_after}",
        f"  wall time              {report.wall_time:.1f} s",
    ]
    counts = table(("action", "requests"), sorted(requests.items()))
    return "\n".join(lines) + "\n\n" + counts + "\n"
