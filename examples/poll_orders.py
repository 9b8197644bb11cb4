"""
Poll orders until each is final, printing every change and a progress line.

    TOPLIST_API_KEY=... python examples/poll_orders.py 1201 1202 1203
    python examples/poll_orders.py --demo    # a local FakePanel: no account needed

`TOPLIST_BASE_URL` points it at another panel. The exit code is 1 if the
panel refused an id, 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from toplist_async import DEFAULT_BASE_URL, OrderError, ToplistClient
from toplist_async.testing import FakePanel


async def follow(client: ToplistClient, orders: list[int], interval: float) -> int:
    """Print each update of `orders` until all are final; return the exit code."""
    total, finished, refused = len(set(orders)), 0, 0
    async for update in client.watch(orders, interval=interval):
        if isinstance(update, OrderError):
            print(f"order {update.order_id}: refused by the panel ({update.message})")
            finished, refused = finished + 1, refused + 1
        else:
            print(
                f"order {update.order_id}: {update.status}, "
                f"remains {update.remains}, start count {update.start_count}"
            )
            if update.is_final:
                finished += 1
        print(f"  progress: {finished}/{total} orders final")
    return 1 if refused else 0


async def demo(interval: float) -> int:
    """Place three orders on a local fake panel (time runs 20x) and follow them."""
    async with (
        FakePanel(speed=20.0) as base_url,
        ToplistClient("demo-key", base_url=base_url) as client,
    ):
        orders = [
            await client.add(service=1, link=f"https://example.com/p/{n}", quantity=q)
            for n, q in enumerate((100, 300, 600), start=1)
        ]
        print(f"placed orders {orders} on {base_url}")
        return await follow(client, orders, interval)


async def main() -> int:
    parser = argparse.ArgumentParser(description="Poll orders until each is final.")
    parser.add_argument("orders", nargs="*", type=int, help="order ids to follow")
    parser.add_argument("--interval", type=float, help="seconds between first polls")
    parser.add_argument("--demo", action="store_true", help="use a local fake panel")
    args = parser.parse_args()
    if args.demo:
        return await demo(args.interval or 0.2)
    if not args.orders:
        parser.error("give order ids, or --demo")
    if not os.environ.get("TOPLIST_API_KEY"):
        parser.error("set TOPLIST_API_KEY (or try --demo)")
    base_url = os.environ.get("TOPLIST_BASE_URL", DEFAULT_BASE_URL)
    async with ToplistClient(base_url=base_url) as client:  # reads $TOPLIST_API_KEY
        return await follow(client, args.orders, args.interval or 5.0)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
