"""
A Telegram bot (aiogram 3) that places orders and says when each one is done.

    BOT_TOKEN=123:abc TOPLIST_API_KEY=... python examples/telegram_bot.py

In a chat: `/order <service id> <link> <quantity>`. The bot answers with the
order id; one `OrderTracker` follows every order, and a task per order messages
the chat when it is final. `TOPLIST_BASE_URL` points it at another panel.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from toplist_async import (
    DEFAULT_BASE_URL,
    BadRequestError,
    ClientClosedError,
    InsufficientFundsError,
    OrderError,
    OrderOutcomeUnknown,
    OrderTracker,
    ToplistClient,
    ToplistError,
)

USAGE = (
    "Usage: /order <service id> <link> <quantity>\n"
    "For example: /order 1 https://t.me/c/5 100"
)

Notify = Callable[[int, str], Awaitable[object]]  # (chat id, text): bot.send_message


class OrderBot:
    """The bot's handlers, apart from Telegram: place orders, report their end."""

    def __init__(self, client: ToplistClient, tracker: OrderTracker, notify: Notify):
        self.client, self.tracker, self.notify = client, tracker, notify
        self._reports: set[asyncio.Task[None]] = set()

    async def start(self, message: Message) -> None:
        await message.answer(USAGE)

    async def order(self, message: Message, command: CommandObject) -> None:
        """`/order <service> <link> <quantity>`: place it, then follow it."""
        args = (command.args or "").split()
        if len(args) != 3 or not (args[0].isdigit() and args[2].isdigit()):
            await message.answer(USAGE)
            return
        service, link, quantity = int(args[0]), args[1], int(args[2])
        try:
            order_id = await self.client.add(
                service=service, link=link, quantity=quantity
            )
        except InsufficientFundsError:
            await message.answer(
                "Not enough funds on the panel account for this order."
            )
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
            report = asyncio.create_task(self._report(message.chat.id, order_id))
            self._reports.add(report)
            report.add_done_callback(self._reports.discard)

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
        await self.notify(chat_id, text)


def build_router(
    client: ToplistClient, tracker: OrderTracker, notify: Notify
) -> Router:
    """The bot's commands, ready for `Dispatcher.include_router()`."""
    handlers = OrderBot(client, tracker, notify)
    router = Router(name="orders")
    router.message.register(handlers.start, CommandStart())
    router.message.register(handlers.order, Command("order"))
    return router


async def main() -> None:
    token = os.environ.get("BOT_TOKEN")
    if not token or not os.environ.get("TOPLIST_API_KEY"):
        raise SystemExit("set BOT_TOKEN and TOPLIST_API_KEY")
    base_url = os.environ.get("TOPLIST_BASE_URL", DEFAULT_BASE_URL)
    bot = Bot(token)
    async with ToplistClient(base_url=base_url) as client:
        tracker = OrderTracker(client)  # closed with the client
        dispatcher = Dispatcher()
        dispatcher.include_router(build_router(client, tracker, bot.send_message))
        await dispatcher.start_polling(bot)  # until Ctrl-C; closes the bot's session


if __name__ == "__main__":
    asyncio.run(main())
