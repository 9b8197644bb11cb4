"""What the `toplist` command prints: tables for people, JSON for scripts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec

from .._exceptions import OrderError, RefillError
from .._models import OrderStatus

__all__ = ["cell", "json_text", "money", "outcome_rows", "safe", "table"]

# Past this many characters plain notation is no use to a reader, and a panel
# that sends "1e200000000" would otherwise make a 200 MB line (or a MemoryError).
_PLAIN_MONEY_WIDTH = 40
# C0 and C1 controls, DEL, and the invisible format characters that reorder or
# hide text (bidi overrides, zero-width joiners): panel text must not steer the
# terminal (colours, OSC 52 clipboard writes, screen clears) nor disguise itself.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def safe(text: str) -> str:
    """`text` with every control character shown as an escape (`\\x1b`, `\\n`)."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return char.encode("unicode_escape").decode("ascii")


def money(value: Decimal) -> str:
    """
    Money exactly as the panel meant it: plain notation (`0.0000004`, never
    `4E-7`), or the exact scientific form past a sane width.
    """
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity: the decoder refuses them
        return str(value)
    width = len(digits) + exponent if exponent >= 0 else max(len(digits), -exponent)
    return format(value, "f") if width <= _PLAIN_MONEY_WIDTH else str(value)


def cell(value: object) -> str:
    """A cell for people: bounded money, escaped text, blank for None, yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return money(value)
    return safe(str(value))


def json_text(value: object) -> str:
    """`value` as one line of JSON for `--json`; money stays an exact string."""

    def hook(obj: object) -> Any:
        if isinstance(obj, OrderError):
            return {"order_id": obj.order_id, "error": obj.message}
        if isinstance(obj, RefillError):
            return {"refill_id": obj.refill_id, "error": obj.message}
        raise NotImplementedError(type(obj))

    def money_as_text(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return money(obj)
        if isinstance(obj, dict):
            return {key: money_as_text(item) for key, item in obj.items()}
        if isinstance(obj, list):
            return [money_as_text(item) for item in obj]
        return obj

    builtins = msgspec.to_builtins(
        value, enc_hook=hook, str_keys=True, builtin_types=(Decimal,)
    )
    return msgspec.json.encode(money_as_text(builtins)).decode()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Aligned columns under a header and a line of dashes (for pipes and grep)."""
    cells = [[str(c) for c in headers], *[[cell(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


OUTCOME_HEADERS = ("order", "status", "remains", "charge/refund", "currency", "detail")


def outcome_rows(outcomes: dict[int, Any]) -> list[tuple[object, ...]]:
    """One row per order: its status or cancel, or why the panel refused it."""
    rows: list[tuple[object, ...]] = []
    for order, outcome in outcomes.items():
        if isinstance(outcome, OrderError):
            rows.append((order, "refused", None, None, None, outcome.message))
        elif isinstance(outcome, OrderStatus):
            state, remains = outcome.raw_status, outcome.remains
            rows.append((order, state, remains, outcome.charge, outcome.currency, None))
        else:
            rows.append((order, "cancel asked", None, outcome.refund, None, None))
    return rows
