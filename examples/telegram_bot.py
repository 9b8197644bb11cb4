"""
A Telegram bot (aiogram 3) that places orders and says when each one is done.

Install what it needs (aiogram):  pip install -e '.[examples]'
Try it offline, with no token:    python examples/telegram_bot.py --demo
Run it for real:

    BOT_TOKEN=123:abc TOPLIST_API_KEY=... ALLOWED_USER_IDS=111,222 \\
        python examples/telegram_bot.py

In a chat: `/order <service id> <link> <quantity>`. The bot answers with the
order id and messages the chat when the order is final. `TOPLIST_BASE_URL`
points it at another panel. Only the users in `ALLOWED_USER_IDS` are answered;
`OPERATOR_ID` (default: the lowest of those ids) hears when the panel refuses the
API key, for instance because it was revoked.

Tracking is in memory: orders placed before a restart are no longer followed
(the panel still runs them). To keep following them across restarts, or from
several processes, track them with `toplist_async.redis.RedisTracker`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Unpack

from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from toplist_async import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    InsufficientFundsError,
    OrderError,
    OrderOutcomeUnknown,
    OrderTracker,
    ToplistClient,
    ToplistError,
    TrackerOptions,
)

USAGE = (
    "Usage: /order <service id> <link> <quantity>\n"
    "For example: /order 1 https://t.me/c/5 100"
)
KEY_REFUSED = (
    "The panel refused the bot's API key (revoked or changed?). "
    "Set a valid TOPLIST_API_KEY and restart the bot."
)
SendText = Callable[[int, str], Awaitable[object]]  # bot.send_message(chat, text)


class Orders:
    """Follows placed orders and tells each chat when its order is final."""

    def __init__(
        self,
        client: ToplistClient,
        send: SendText,
        operator: int,
        **options: Unpack[TrackerOptions],
    ) -> None:
        options.setdefault("on_error", self._tracking_failed)
        self.tracker = OrderTracker(client, **options)
        self._send, self._operator = send, operator
        self._tasks: set[asyncio.Task[None]] = set()
        self._operator_told = False

    def follow(self, chat_id: int, order_id: int) -> None:
        self._spawn(self._report(chat_id, order_id))

    async def key_refused(self) -> None:
        """Tell the operator, once: every order fails until the key is fixed."""
        if not self._operator_told:
            self._operator_told = True
            await self._send(self._operator, KEY_REFUSED)

    def _tracking_failed(self, error: BaseException, orders: list[int]) -> None:
        if isinstance(error, AuthenticationError):
            self._spawn(self.key_refused())

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report(self, chat_id: int, order_id: int) -> None:
        try:
            status = await self.tracker.wait(order_id)
        except ClientClosedError:  # the bot is shutting down
            return
        except OrderError as exc:
            text = f"Order {order_id}: the panel refused to report it ({exc.message})."
        except ToplistError as exc:
            text = f"Stopped following order {order_id}: {exc}"
        else:
            text = f"Order {order_id} is {status.status}."
            if status.remains:
                text += f" {status.remains} were not delivered."
        await self._send(chat_id, text)


def is_allowed(message: Message, allowed_ids: frozenset[int]) -> bool:
    """
    Anyone can find a bot and message it, and every order spends the panel
    account's money: only listed Telegram users may use it. Strangers get no
    answer at all, so the bot does not even confirm it exists.
    """
    return message.from_user is not None and message.from_user.id in allowed_ids


async def start(message: Message) -> None:
    await message.answer(USAGE)


async def order(
    message: Message, command: CommandObject, client: ToplistClient, orders: Orders
) -> None:
    """`/order <service> <link> <quantity>`: place it, then follow it."""
    args = (command.args or "").split()
    if len(args) != 3 or not (args[0].isdigit() and args[2].isdigit()):
        await message.answer(USAGE)
        return
    service, link, quantity = int(args[0]), args[1], int(args[2])
    try:
        order_id = await client.add(service=service, link=link, quantity=quantity)
    except AuthenticationError:
        await orders.key_refused()
        await message.answer("The bot cannot order right now; its operator knows.")
    except InsufficientFundsError:
        await message.answer("Not enough funds on the panel account for this order.")
    except BadRequestError as exc:
        await message.answer(f"The panel refused the order: {exc.message}")
    except OrderOutcomeUnknown:
        await message.answer(
            "The order may have been placed, but the panel's answer was lost. "
            "Check your orders on the panel before ordering again."
        )
    except ToplistError as exc:
        await message.answer(f"The order failed ({exc}). Try again later.")
    else:
        await message.answer(
            f"Order {order_id} placed. I will message you when it is done."
        )
        orders.follow(message.chat.id, order_id)


def build_router() -> Router:
    """The bot's commands; `client`, `orders` and `allowed_ids` come from the
    dispatcher's workflow data (`start_polling(bot, client=..., ...)`)."""
    router = Router(name="orders")
    router.message.filter(is_allowed)
    router.message(CommandStart())(start)
    router.message(Command("order"))(order)
    return router


def _allowed_ids() -> frozenset[int]:
    text = os.environ.get("ALLOWED_USER_IDS", "")
    try:
        ids = frozenset(int(part) for part in text.replace(",", " ").split())
    except ValueError:
        msg = f"ALLOWED_USER_IDS must be Telegram user ids: {text!r}"
        raise SystemExit(msg) from None
    if not ids:
        raise SystemExit("set ALLOWED_USER_IDS: the Telegram users who may order")
    return ids


async def main() -> None:
    token = os.environ.get("BOT_TOKEN")
    if not token or not os.environ.get("TOPLIST_API_KEY"):
        raise SystemExit("set BOT_TOKEN and TOPLIST_API_KEY")
    allowed_ids = _allowed_ids()
    operator = int(os.environ.get("OPERATOR_ID") or min(allowed_ids))
    bot = Bot(token)
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())
    async with ToplistClient() as client:  # $TOPLIST_BASE_URL, $TOPLIST_API_KEY
        orders = Orders(client, bot.send_message, operator)
        await dispatcher.start_polling(
            bot, client=client, orders=orders, allowed_ids=allowed_ids
        )  # until Ctrl-C; the client then closes, and the tracker with it


async def demo() -> None:
    """A scripted chat against a local FakePanel: no token, no network."""
    from toplist_async.testing import FakePanel
    from toplist_async.testing.aiogram_session import RecordingSession, message_update

    alice, mallory = 111, 666
    session = RecordingSession()
    bot = Bot("42:DEMO", session=session)
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())
    panel = FakePanel(speed=3600.0, partial_rate=0.0)  # an hour a second
    async with panel as base_url, ToplistClient("demo", base_url=base_url) as client:
        orders = Orders(client, bot.send_message, alice, interval=0.2, max_interval=1)
        data = {"client": client, "orders": orders, "allowed_ids": frozenset({alice})}
        script = [
            (alice, "/start"),
            (alice, "/order 1 https://example.com/post/1 100"),
            (mallory, "/order 1 https://example.com/post/2 50000"),
        ]
        for user, text in script:
            print(f"user {user} > {text}")
            update = message_update(user_id=user, text=text)
            await dispatcher.feed_update(bot, update, **data)
            for chat, reply in session.sent():
                print(f"bot to {chat} > {reply}")
        print("(user 666 is not in the allow-list: no answer, no order)")
        chat, reply = await session.next_sent(timeout=30)
        print(f"bot to {chat} > {reply}")
    await bot.session.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--demo", action="store_true", help="run offline on a FakePanel"
    )
    asyncio.run(demo() if parser.parse_args().demo else main())
