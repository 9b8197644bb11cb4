"""`toplist track`, `toplist worker` and `toplist events` on a real Redis."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import pytest

from tests.conftest import API_KEY
from toplist_async.cli import main
from toplist_async.testing import FakePanel
from toplist_async.testing._redis_server import RedisServer

FINAL = {"completed", "partial", "canceled"}


async def toplist(*argv: str) -> asyncio.subprocess.Process:
    """`python -m toplist_async ARGV` with no key in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPLIST_")}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "toplist_async", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip


async def read_until(process: Any, done: Any, seen: list[dict[str, Any]]) -> None:
    async with asyncio.timeout(60):
        while not done(seen):
            line = await process.stdout.readline()
            assert line, (await process.stderr.read()).decode()
            seen.append(json.loads(line))


async def test_track_a_worker_and_events_follow_orders_to_the_end(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url
    panel = FakePanel(seed_orders=30, seed_orders_key=API_KEY, speed=0)
    async with panel as base_url:
        ids = [str(order) for order in range(1, 31)]
        track = await toplist("track", *ids, "--redis", url, "--name", "cli", "--json")
        out, err = await track.communicate()
        assert track.returncode == 0, err.decode()
        assert json.loads(out) == {"tracked": 30, "new": 30}
        fleet = "--redis", url, "--name", "cli"
        worker = await toplist(
            "worker",
            *fleet,
            "--api-key",
            API_KEY,
            "--base-url",
            base_url,
            "--poll",
            "0.05",
        )
        events = await toplist("events", *fleet, "--json", "--group", "bot")
        seen: list[dict[str, Any]] = []
        try:
            await read_until(events, lambda seen: len(seen) >= 30, seen)
            panel.advance(10**6)
            await read_until(
                events,
                lambda seen: (
                    {u["order_id"] for u in seen if u["status"] in FINAL}
                    == set(range(1, 31))
                ),
                seen,
            )
        finally:
            for process in (worker, events):
                process.kill()
                await process.communicate()
    assert sorted(u["order_id"] for u in seen[:30]) == list(range(1, 31))


@pytest.mark.parametrize("command", ["track", "worker", "events"])
def test_a_fleet_command_without_redis_says_how_to_give_it(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOPLIST_REDIS_URL", raising=False)
    monkeypatch.setenv("TOPLIST_API_KEY", API_KEY)
    with pytest.raises(SystemExit) as exited:
        main([command, *(["1"] if command == "track" else [])])
    assert exited.value.code == 2
    assert (
        "no Redis: pass --redis URL or set TOPLIST_REDIS_URL" in capsys.readouterr().err
    )
