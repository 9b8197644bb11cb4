"""
Test a Telegram bot (aiogram 3) offline: no token, no network.

    session = RecordingSession()
    bot = Bot("42:TEST", session=session)
    await dispatcher.feed_update(bot, message_update(user_id=7, text="/start"))
    assert session.sent() == [(7, "Hello!")]

`RecordingSession` answers `sendMessage` locally and keeps what the bot said;
`message_update()` builds the update a user's text message arrives as.
Needs aiogram, which `toplist_async` itself does not depend on.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, Message, Update, User

__all__ = ["RecordingSession", "message_update"]

_ids = itertools.count(1)


def message_update(*, user_id: int, text: str, chat_id: int | None = None) -> Update:
    """The update a private text message from `user_id` arrives as."""
    number = next(_ids)
    message = Message(
        message_id=number,
        date=datetime.now(UTC),
        chat=Chat(id=chat_id or user_id, type="private"),
        from_user=User(id=user_id, is_bot=False, first_name=f"user{user_id}"),
        text=text,
    )
    return Update(update_id=number, message=message)


class RecordingSession(BaseSession):
    """An aiogram session that answers `sendMessage` locally and records it."""

    def __init__(self) -> None:
        super().__init__()
        self._texts: asyncio.Queue[tuple[int | str, str]] = asyncio.Queue()

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if not isinstance(method, SendMessage):
            msg = f"RecordingSession answers sendMessage only, not {method!r}"
            raise NotImplementedError(msg)
        self._texts.put_nowait((method.chat_id, method.text))
        return Message(
            message_id=next(_ids),
            date=datetime.now(UTC),
            chat=Chat(id=int(method.chat_id), type="private"),
            text=method.text,
        )

    def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes]:
        raise NotImplementedError("RecordingSession downloads nothing")

    async def close(self) -> None:
        """Nothing to close: no connection was ever opened."""

    def sent(self) -> list[tuple[int | str, str]]:
        """(chat id, text) of each message sent since the last call."""
        texts = []
        while not self._texts.empty():
            texts.append(self._texts.get_nowait())
        return texts

    async def next_sent(self, timeout: float = 5.0) -> tuple[int | str, str]:
        """Wait for the next message the bot sends (a report sent later, say)."""
        return await asyncio.wait_for(self._texts.get(), timeout)
