"""Reading cancel answers into one outcome per asked order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._decode import invalid_answer
from ._exceptions import OrderError
from ._models import CancelResult
from ._scalars import error_text, flag, money, order_key, text

__all__ = ["to_cancels"]


def to_cancels(
    body: object, order_ids: Iterable[int]
) -> dict[int, CancelResult | OrderError]:
    """Read `[{"order": "1", "cancel": 1, "refund": 1.5}]` into an outcome per id."""
    wanted = set(order_ids)
    if isinstance(body, dict) and "order" in body:
        body = [body]  # one cancel answered on its own
    elif isinstance(body, dict):
        body = [
            {"order": key, **value}
            for key, value in body.items()
            if isinstance(value, dict)
        ]
    if not isinstance(body, list):
        invalid_answer("cancel", body, "expected a list of cancel results")
    outcomes: dict[int, CancelResult | OrderError] = {}
    for entry in body:
        if not isinstance(entry, dict):
            continue
        order_id = order_key(entry.get("order", entry.get("order_id")))
        if order_id is None or order_id not in wanted:
            continue
        outcomes[order_id] = _cancel(order_id, entry)
    return outcomes


def _cancel(order_id: int, entry: dict[str, Any]) -> CancelResult | OrderError:
    """
    Only a `cancel` carrying an error is a refusal.

    `1`, `true`, `{"status": "Canceled"}` and `{"refund": ...}` are accepted
    cancels, and what they say is kept.
    """
    accepted = entry.get("cancel")
    if entry.get("error") or (isinstance(accepted, dict) and accepted.get("error")):
        message = error_text(accepted if isinstance(accepted, dict) else entry)
        return OrderError(order_id, message, body=entry)
    if isinstance(accepted, dict):
        status = accepted.get("status")
        refund = accepted.get("refund", entry.get("refund"))
        return CancelResult(
            order_id=order_id,
            refund=money(refund),
            status=None if status is None else text(status),
        )
    if flag(accepted):
        return CancelResult(order_id=order_id, refund=money(entry.get("refund")))
    if isinstance(accepted, str) and accepted.strip():
        return OrderError(order_id, accepted, body=entry)
    message = f"the panel did not accept the cancel ({accepted!r})"
    return OrderError(order_id, message, body=entry)
