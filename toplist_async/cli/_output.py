"""What the `toplist` command prints: tables for people, JSON for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec

from .._exceptions import OrderError
from .._models import OrderStatus

__all__ = ["cell", "json_text", "outcome_table", "table"]


def cell(value: object) -> str:
    """A cell for people: money in plain notation (`0.0000004`, never `4E-7`)."""
    if value is None:
        return ""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def json_text(value: object) -> str:
    """`value` as JSON for `--json`; money stays an exact string, plain notation."""

    def hook(obj: object) -> Any:
        if isinstance(obj, OrderError):
            return {"order_id": obj.order_id, "error": obj.message}
        raise NotImplementedError(type(obj))

    def money_as_text(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return format(obj, "f")
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
    """Aligned columns under a header and a line of dashes."""
    cells = [[str(c) for c in headers], *[[cell(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def outcome_table(outcomes: dict[int, Any]) -> str:
    """One row per order: its status or cancel, or why the panel refused it."""
    rows: list[tuple[object, ...]] = []
    for order, outcome in outcomes.items():
        if isinstance(outcome, OrderError):
            rows.append((order, "refused", "", "", "", outcome.message))
        elif isinstance(outcome, OrderStatus):
            state, remains = outcome.raw_status, outcome.remains
            rows.append((order, state, remains, outcome.charge, outcome.currency, ""))
        else:
            rows.append((order, "cancel asked", "", outcome.refund, "", ""))
    headers = ("order", "status", "remains", "charge/refund", "currency", "detail")
    return table(headers, rows)
