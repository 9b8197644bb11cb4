"""The examples work: poll_orders.py end to end, and the Telegram bot against FakePanel.

The bot runs through a real aiogram `Dispatcher` and `Bot` whose session
answers Telegram methods locally and records them, so no update or message
ever leaves the process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiogram import Bot, Dispatcher

from toplist_async import ToplistClient
from toplist_async.testing import FakePanel
from toplist_async.testing.aiogram_session import RecordingSession, message_update

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BOT_KEY = "bot-panel-key"
CHAT = 4242
OPERATOR = 7
STRANGER = 666
ALLOWED = frozenset({CHAT, OPERATOR})
FINAL = re.compile(r"^order (\d+): (completed|partial|canceled),", re.M)


def _load(name: str) -> ModuleType:
    """Import an example by path (examples/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


telegram_bot = _load("telegram_bot.py")


# --- examples/poll_orders.py ---------------------------------------------------


def test_poll_orders_demo_follows_its_orders_to_the_end() -> None:
    """`--demo` places orders on a fake panel of its own and prints them until final."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "poll_orders.py"), "--demo"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    placed = re.search(r"placed orders \[([\d, ]+)\]", done.stdout)
    assert placed is not None, done.stdout
    orders = {int(order) for order in placed.group(1).split(",")}
    assert len(orders) == 3
    for order in orders:
        assert f"order {order}: pending," in done.stdout
    assert {int(order) for order, _ in FINAL.findall(done.stdout)} == orders
    assert done.stdout.rstrip().endswith("progress: 3/3 orders final")


async def test_poll_orders_reads_key_and_url_from_env_and_reports_refused_ids() -> None:
    """With ids and the panel from env, it follows them; a refused id means exit 1."""
    panel = FakePanel(speed=100.0, partial_rate=0.0, foreign_order_mode="per_order")
    async with panel as base_url:
        async with ToplistClient("env-key", base_url=base_url) as client:
            order = await client.add(
                service=1, link="https://example.com/p", quantity=100
            )
        unknown = order + 1000
        env = {**os.environ, "TOPLIST_API_KEY": "env-key", "TOPLIST_BASE_URL": base_url}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "poll_orders.py"),
            str(order),
            str(unknown),
            "--interval",
            "0.05",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=20)
    stdout = out.decode()
    assert process.returncode == 1, err.decode()
    assert f"order {unknown}: refused by the panel" in stdout
    assert [int(found) for found, _ in FINAL.findall(stdout)] == [order]
    assert stdout.rstrip().endswith("progress: 2/2 orders final")
    statuses = [r for r in panel.requests if r.action == "status"]
    assert statuses
    assert {r.account for r in statuses} == {panel.account_id("env-key")}


# --- examples/telegram_bot.py -----------------------------------------------------


@dataclass
class BotWorld:
    panel: FakePanel
    session: RecordingSession
    bot: Bot
    dispatcher: Dispatcher
    data: dict[str, Any]

    async def send(self, text: str, user: int = CHAT) -> list[str]:
        """Feed the bot a user's message and return the bot's immediate replies."""
        update = message_update(user_id=user, text=text)
        await self.dispatcher.feed_update(self.bot, update, **self.data)
        return [reply for _, reply in self.session.sent()]


@asynccontextmanager
async def bot_world(
    panel: FakePanel, key: str = BOT_KEY, tracking_key: str | None = None
) -> AsyncIterator[BotWorld]:
    """The bot's router in a dispatcher, on `panel`, with a fast tracker."""
    async with (
        panel as base_url,
        ToplistClient(key, base_url=base_url) as client,
        ToplistClient(tracking_key or key, base_url=base_url) as tracking,
    ):
        session = RecordingSession()
        bot = Bot("123456:TEST-token", session=session)
        dispatcher = Dispatcher()
        dispatcher.include_router(telegram_bot.build_router())
        orders = telegram_bot.Orders(
            tracking, bot.send_message, OPERATOR, interval=0.01, max_interval=0.02
        )
        data = {"client": client, "orders": orders, "allowed_ids": ALLOWED}
        yield BotWorld(panel, session, bot, dispatcher, data)


@pytest.fixture
async def world(request: pytest.FixtureRequest) -> AsyncIterator[BotWorld]:
    """A frozen FakePanel, a client and a fast tracker, and the bot's router on them."""
    options: dict[str, Any] = {"speed": 0.0, "partial_rate": 0.0}
    options.update(getattr(request, "param", {}))
    async with bot_world(FakePanel(**options)) as world:
        yield world


def _placed_id(reply: str) -> int:
    found = re.fullmatch(
        r"Order (\d+) placed\. I will message you when it is done\.", reply
    )
    assert found is not None, reply
    return int(found.group(1))


async def test_start_explains_the_order_command(world: BotWorld) -> None:
    """/start answers with the usage of /order."""
    assert await world.send("/start") == [telegram_bot.USAGE]


@pytest.mark.parametrize(
    ("world", "ending"),
    [
        pytest.param({"partial_rate": 0.0}, "completed", id="completed"),
        pytest.param({"partial_rate": 1.0}, "partial", id="partial"),
    ],
    indirect=["world"],
)
async def test_order_is_placed_acknowledged_then_reported_when_final(
    world: BotWorld, ending: str
) -> None:
    """/order places one order, replies with its id, and tells the chat when it ends."""
    replies = await world.send("/order 1 https://example.com/post/7 200")

    assert world.panel.count("add") == 1
    assert len(replies) == 1
    order_id = _placed_id(replies[0])
    placed = world.panel.orders[order_id]
    assert (placed.service, placed.link, placed.quantity) == (
        1,
        "https://example.com/post/7",
        200,
    )
    assert placed.account == world.panel.account_id(BOT_KEY)
    assert placed.status == "pending"

    await asyncio.sleep(0.05)  # the tracker polls; the order stays pending
    assert world.panel.count("status") >= 1
    assert world.session.sent() == []
    world.panel.advance(60)
    chat, text = await world.session.next_sent()

    final = world.panel.orders[order_id]
    assert final.status == ending
    expected = f"Order {order_id} is {ending}."
    if final.remains:
        expected += f" {final.remains} were not delivered."
    assert (chat, text) == (CHAT, expected)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("/order", id="no-arguments"),
        pytest.param("/order 1 https://example.com/p", id="no-quantity"),
        pytest.param("/order one https://example.com/p 100", id="service-not-a-number"),
        pytest.param("/order 1 https://example.com/p many", id="quantity-not-a-number"),
        pytest.param("/order 1 https://example.com/p 100 extra", id="too-many"),
    ],
)
async def test_malformed_order_gets_the_usage_and_sends_nothing(
    world: BotWorld, command: str
) -> None:
    """A /order the bot cannot parse gets the usage; nothing reaches the panel."""
    assert await world.send(command) == [telegram_bot.USAGE]
    assert world.panel.requests == []


@pytest.mark.parametrize(
    ("world", "command", "reply"),
    [
        pytest.param(
            {},
            "/order 999 https://example.com/p 100",
            "The panel refused the order: Incorrect service ID",
            id="unknown-service",
        ),
        pytest.param(
            {},
            "/order 1 https://example.com/p 5",
            "The panel refused the order: "
            "Quantity should be within min quantity to max quantity",
            id="quantity-below-minimum",
        ),
        pytest.param(
            {"balance": Decimal("0.50")},
            "/order 1 https://example.com/p 100",
            "Not enough funds on the panel account for this order.",
            id="insufficient-funds",
        ),
    ],
    indirect=["world"],
)
async def test_refused_order_gets_a_clear_reply(
    world: BotWorld, command: str, reply: str
) -> None:
    """An order the panel refuses is answered with why, and nothing is followed."""
    assert await world.send(command) == [reply]
    assert world.panel.count("add") == 1
    assert len(world.panel.orders) == 0
    await asyncio.sleep(0.03)
    assert world.panel.count("status") == 0


async def test_lost_add_answer_warns_the_order_may_exist(world: BotWorld) -> None:
    """When the add's answer is lost, the bot says the order may exist (no retry)."""
    world.panel.faults.add("add_lost", times=1)

    replies = await world.send("/order 1 https://example.com/p 100")

    assert replies == [
        "The order may have been placed, but the panel's answer was lost. "
        "Check your orders on the panel before ordering again."
    ]
    assert world.panel.count("add") == 1
    assert len(world.panel.orders) == 1  # it was placed: retrying would double it


async def test_order_the_tracker_may_not_see_is_reported_as_refused() -> None:
    """If the panel refuses the order's status, the chat hears why."""
    panel = FakePanel(speed=0.0, foreign_order_mode="per_order")
    async with bot_world(panel, tracking_key="another-account") as world:
        order_id = _placed_id((await world.send("/order 1 https://x.test/p 100"))[0])
        chat, text = await world.session.next_sent()
    assert chat == CHAT
    assert text == (
        f"Order {order_id}: the panel refused to report it (Incorrect order ID)."
    )


async def test_strangers_get_no_answer_and_spend_nothing(world: BotWorld) -> None:
    """A user outside ALLOWED_USER_IDS is ignored: no reply, no request."""
    assert await world.send("/order 1 https://example.com/p 100", user=STRANGER) == []
    assert await world.send("/start", user=STRANGER) == []
    assert world.panel.requests == []


async def test_a_refused_key_is_told_to_the_operator_once() -> None:
    """A revoked key: the user hears the bot cannot order, the operator why, once."""
    panel = FakePanel(speed=0.0, api_key="the-new-key")
    async with bot_world(panel, key="the-revoked-key") as world:
        update = message_update(user_id=CHAT, text="/order 1 https://x.test/p 100")
        await world.dispatcher.feed_update(world.bot, update, **world.data)
        first = world.session.sent()
        await world.dispatcher.feed_update(world.bot, update, **world.data)
        second = world.session.sent()
    cannot = "The bot cannot order right now; its operator knows."
    assert first == [(OPERATOR, telegram_bot.KEY_REFUSED), (CHAT, cannot)]
    assert second == [(CHAT, cannot)]


def test_bot_demo_runs_offline() -> None:
    """`--demo` places an order in a scripted chat and reports it final."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "telegram_bot.py"), "--demo"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Order 1 placed." in done.stdout
    assert "user 666 is not in the allow-list" in done.stdout
    assert done.stdout.rstrip().endswith("Order 1 is completed.")
