"""How one tracked order and one update are written in Redis: short strings."""

from __future__ import annotations

import msgspec

from .._exceptions import OrderError
from .._models import OrderState, OrderStatus
from .._rounds import Entry
from .._schedule import Plan, Schedule

__all__ = ["decode_entry", "decode_update", "encode_entry", "encode_update", "ms"]

Seen = tuple[OrderState, int | None, int | None]
Update = OrderStatus | OrderError


def ms(seconds: float) -> int:
    """Seconds of the server's clock as the whole milliseconds Redis scores hold."""
    return round(seconds * 1000)


def encode_entry(entry: Entry, rules: Schedule) -> str:
    """
    `earliest|due|interval|since|failures|misses|status|remains|start_count`.

    The claim script reads only the first two fields: from when the order may
    ride along with a request (the schedule's rule, computed here), and its due
    time, which tells a scheduled order from a claimed one.
    """
    plan = entry.plan
    head = f"{ms(rules.earliest(plan))}|{ms(plan.due)}|{plan.interval!r}|"
    head += f"{plan.since!r}|{plan.failures}|{plan.misses}"
    if entry.seen is None:
        return head + "|||"
    status, remains, start_count = entry.seen
    return f"{head}|{status.value}|{_text(remains)}|{_text(start_count)}"


def decode_entry(text: str | bytes) -> Entry:
    """The entry `encode_entry` wrote, marked as being polled."""
    if isinstance(text, bytes):
        text = text.decode()
    _, due, interval, since, failures, misses, status, remains, start = text.split("|")
    plan = Plan(
        int(due) / 1000, float(interval), float(since), int(failures), int(misses)
    )
    entry = Entry(plan)
    entry.polling = True
    if status:
        entry.seen = (OrderState(status), _number(remains), _number(start))
    return entry


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def _number(text: str) -> int | None:
    return int(text) if text else None


class _Refused(msgspec.Struct, tag="error"):
    order_id: int
    message: str
    missing: bool = False


class _Status(msgspec.Struct, tag="status"):
    status: OrderStatus


_EVENT = msgspec.json.Decoder(_Refused | _Status)


def encode_update(update: Update) -> bytes:
    """An update as the JSON an event of the stream carries."""
    if isinstance(update, OrderError):
        refused = _Refused(update.order_id, update.message, update.missing)
        return msgspec.json.encode(refused)
    return msgspec.json.encode(_Status(update))


def decode_update(data: str | bytes) -> Update:
    """The update `encode_update` wrote."""
    event = _EVENT.decode(data)
    if isinstance(event, _Status):
        return event.status
    return OrderError(event.order_id, event.message, missing=event.missing)
