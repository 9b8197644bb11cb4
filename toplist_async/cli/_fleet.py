"""`toplist worker`, `track` and `events`: a fleet of processes sharing one Redis."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from .._client import ToplistClient
from ._commands import Command, order_ids
from ._output import json_text, outcome_rows
from ._screen import Screen

__all__ = ["FLEET_COMMANDS", "PANEL_FREE", "add_fleet_commands", "fleet_options"]

PANEL_FREE = frozenset({"track", "events"})
"""Fleet commands that never send a request to the panel: no API key needed."""

_INSTALL = "the fleet commands need Redis: pip install 'toplist_async[redis]'"


def add_fleet_commands(
    command: Callable[[str, str], argparse.ArgumentParser], ids: str
) -> None:
    """Add the fleet's commands through `command(name, help)`."""

    def on_redis(name: str, text: str) -> argparse.ArgumentParser:
        sub = command(name, text)
        sub.add_argument(
            "--redis",
            default=os.environ.get("TOPLIST_REDIS_URL"),
            metavar="URL",
            help="Redis URL (default: $TOPLIST_REDIS_URL)",
        )
        sub.add_argument(
            "--name", default="toplist", help="the tracker: the same in every process"
        )
        return sub

    worker = on_redis("worker", "poll the orders tracked in Redis until interrupted")
    worker.add_argument(
        "--rate-limit", type=float, metavar="N",
        help="requests per minute for every worker of --name together",
    )  # fmt: skip
    worker.add_argument(
        "--lease", type=float, default=60.0, metavar="SECONDS",
        help="how long a worker holds the orders it polls (default: 60)",
    )  # fmt: skip
    worker.add_argument(
        "--poll", type=float, default=5.0, metavar="SECONDS",
        help="seconds between two polls of an order that did not change (default: 5)",
    )  # fmt: skip
    track = on_redis("track", "add orders to the tracker in Redis")
    track.add_argument("orders", nargs="*", metavar="ID", help=f"{ids}; or stdin")
    events = on_redis("events", "print the tracker's updates as they come")
    events.add_argument(
        "--group", default="toplist",
        help="consumer group: each group gets every update once (default: toplist)",
    )  # fmt: skip
    events.add_argument(
        "--consumer", default=f"{socket.gethostname()}-{os.getpid()}",
        help="this consumer's name in the group (default: host-pid)",
    )  # fmt: skip


@asynccontextmanager
async def fleet_options(args: argparse.Namespace) -> AsyncIterator[dict[str, Any]]:
    """Connect a fleet command to Redis; yield the options its client takes."""
    if args.command not in FLEET_COMMANDS:
        yield {}
        return
    try:
        from ..redis import RedisRateLimit, connect
    except ImportError:
        args.parser.error(_INSTALL)
    if not args.redis:
        args.parser.error("no Redis: pass --redis URL or set TOPLIST_REDIS_URL")
    redis = connect(args.redis)
    args.redis_client = redis
    try:
        per_minute = getattr(args, "rate_limit", None)
        if per_minute is None:
            yield {}
        else:
            limit = RedisRateLimit(redis, name=args.name, per_minute=per_minute)
            yield {"rate_limit": limit}
    finally:
        await redis.aclose()


def _tracker(client: ToplistClient, args: argparse.Namespace, **options: Any) -> Any:
    from ..redis import RedisTracker

    return RedisTracker(args.redis_client, client, name=args.name, **options)


async def _worker(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    tracker = _tracker(client, args, lease=args.lease, interval=args.poll)
    screen.error(f"toplist: polling the orders of tracker {args.name!r}; Ctrl-C stops")
    await tracker.run()
    return 0


async def _track(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    words = list(args.orders)
    if not words or words == ["-"]:
        if sys.stdin.isatty():
            args.parser.error("give order ids, or pipe them in (one per line)")
        words = sys.stdin.read().split()
    ids = order_ids(args, words)
    added = await _tracker(client, args).track(ids)
    if args.json:
        screen.result(json_text({"tracked": len(ids), "new": added}))
    else:
        screen.result(f"{added} of {len(ids)} orders newly tracked by {args.name!r}")
    return 0


async def _events(
    client: ToplistClient, args: argparse.Namespace, screen: Screen
) -> int:
    updates = _tracker(client, args).events(group=args.group, consumer=args.consumer)
    async for update in updates:
        if args.json:
            screen.result(json_text(update))
        else:
            screen.row(outcome_rows({update.order_id: update})[0])
    return 0


FLEET_COMMANDS: dict[str, Command] = {
    "worker": _worker,
    "track": _track,
    "events": _events,
}
