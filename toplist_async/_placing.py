"""
What the answer to an `add` says about its order: placed, refused, or unknown.

Placing an order is the one call that must never be repeated blindly: a second
request can charge the account twice. An answer settles the outcome only when
it carries the new order's id (whatever its status), or refuses the order with
a status that means "not done": a 2xx error envelope, or a registered 4xx such
as 400, 403 or 429. Anything else that may have reached the panel (a 1xx, a 3xx
after the panel placed the order and redirected, a 5xx, an unregistered status
such as a proxy's 499, a lost or unreadable answer) is `OrderOutcomeUnknown`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from ._decode import to_order_id
from ._exceptions import (
    APIConnectionError,
    APIError,
    OrderOutcomeUnknown,
    ResponseValidationError,
    ToplistError,
)
from ._loaders import Send
from ._retry import answer_in, mutation_rule

__all__ = ["place_order"]

_REGISTERED_4XX = frozenset(status for status in HTTPStatus if 400 <= status < 500)
# Sent again only if it never arrived or the throttle refused it without an id.
_send_again = mutation_rule(to_order_id)


def _outcome_unknown(exc: ToplistError) -> bool:
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    if isinstance(exc, APIError):
        status = exc.status_code
        return not (200 <= status < 300 or status in _REGISTERED_4XX)
    return isinstance(exc, ResponseValidationError)


async def place_order(send: Send, order: dict[str, Any]) -> int:
    """Send one `add` and return the new order's id, or raise what is known."""
    try:
        return to_order_id(await send("add", order, _send_again))
    except ToplistError as exc:
        placed = answer_in(exc, to_order_id)  # an error that names the new order
        if placed is not None:
            return placed
        if not _outcome_unknown(exc):
            raise
        msg = (
            f"the order may have been placed, but its answer was lost ({exc}); "
            "check the panel before placing it again"
        )
        raise OrderOutcomeUnknown(msg, order=order) from exc
