"""
The one place where an HTTP status and a body become an exception.

Panels report errors three ways: `{"error": ...}` with HTTP 200, the same with a
4xx/5xx status, and Laravel's `{"message": ..., "errors": {...}}` bodies. The
class is chosen from the status first (a 5xx is a server error whatever it
says), then from the panel's words.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from ._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CDNBlockedError,
    InsufficientFundsError,
    InternalServerError,
    RateLimitError,
    ResponseValidationError,
)
from ._scalars import error_text

__all__ = ["raise_for_answer", "retry_after_seconds"]

# Keys that may stand beside "errors" in Laravel's error envelope; any other
# key means the body carries data and is no envelope (field notes §4.21).
_ENVELOPE_KEYS = frozenset(
    {"error", "errors", "message", "status", "code", "success", "exception", "trace"}
)
# An `error` beside any of its action's data fields is no error: the answer
# carries data. Beside other keys ("error_description", "message") it is one.
# Keys that are order ids are data for every action.
_DATA_FIELDS: dict[str, frozenset[str]] = {
    "services": frozenset({"services", "data"}),
    "add": frozenset({"order", "order_id"}),
    "status": frozenset({"charge", "start_count", "remains", "currency", "orders"}),
    "balance": frozenset({"balance"}),
    "cancel": frozenset({"order", "cancel", "orders", "refund"}),
    "refill": frozenset({"order", "refill", "orders"}),
    "refill_status": frozenset({"refill", "refills"}),
}
_ANY_DATA = frozenset().union(*_DATA_FIELDS.values())
_RATE_LIMIT_WORDS = re.compile(
    r"rate.?limit|too many (requests|attempts)|spam protection|slow down", re.I
)
_FUNDS_WORDS = re.compile(
    r"(not enough|insuff?i?c?i?ent)[\s_]+(funds|balance)|balance[\s_]+not[\s_]+enough",
    re.I,
)
_AUTH_WORDS = re.compile(
    r"api key|unauthenticated|unauthori[sz]ed|forbidden|suspended|invalid key"
    r"|api is disabled?|user not found",
    re.I,
)
_WAIT_WORDS = re.compile(
    r"(?:wait|retry|try again|after|in)\D{0,12}?(\d+(?:\.\d+)?)\s*(?:s\b|sec|second)",
    re.I,
)
# Below this, X-RateLimit-Reset is a number of seconds, not a Unix time.
_UNIX_TIME_2001 = 1_000_000_000


def retry_after_seconds(headers: Mapping[str, str], message: str = "") -> float | None:
    """
    The wait a throttled answer asks for, in seconds, or None if it names none.

    Reads `Retry-After` (seconds or an HTTP date), then `X-RateLimit-Reset` (a Unix
    time), then words such as "wait 7 seconds" in the panel's message.
    """
    value = headers.get("Retry-After")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    reset = headers.get("X-RateLimit-Reset")
    if reset is not None:
        try:
            when = float(reset)
        except ValueError:
            pass
        else:
            return max(0.0, when - time.time() if when > _UNIX_TIME_2001 else when)
    found = _WAIT_WORDS.search(message)
    return float(found.group(1)) if found else None


def _error_message(body: Any, action: str | None) -> str | None:
    """The panel's error text when the body is an error envelope."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if error and not _carries_data(body, action):
        description = body.get("error_description")
        if isinstance(description, str) and description:
            return f"{error_text(error)}: {description}"
        return error_text(error)
    status, message = body.get("status"), body.get("message")
    if (
        isinstance(status, str)
        and status.casefold() == "error"
        and isinstance(message, str)
        and message
        and not _carries_data(body, action)
    ):
        return message  # {"status": "error", "message": ...}, several panels' form
    errors = body.get("errors")
    if isinstance(errors, dict) and errors and body.keys() <= _ENVELOPE_KEYS:
        first = next(iter(errors.values()))
        detail = first[0] if isinstance(first, list) and first else first
        return str(body.get("message") or detail)
    return None


def _carries_data(body: dict[Any, Any], action: str | None) -> bool:
    fields = _DATA_FIELDS.get(action, _ANY_DATA) if action else _ANY_DATA
    return any(
        key in fields or (isinstance(key, str) and key.isdigit()) for key in body
    )


def _field_errors(body: Any) -> dict[str, list[str]]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict):
        return {}
    return {
        str(field): [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
        for field, msgs in errors.items()
    }


def raise_for_answer(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    is_json: bool,
    action: str | None = None,
) -> None:
    """
    Raise the error an answer carries to `action`; return if it is a success.

    `body` is the decoded JSON, or a short text excerpt when `is_json` is False.
    """
    if 200 <= status < 300:
        if not is_json:
            msg = f"the panel answered HTTP {status} with a body that is not JSON"
            raise ResponseValidationError(
                msg, status_code=status, body=body, not_json=True
            )
        message = _error_message(body, action)
        if message is None:
            return
    elif 300 <= status < 400:
        where = headers.get("Location", "an unnamed location")
        message = f"the panel redirected to {where}; redirects are not followed"
        raise APIError(message, status_code=status, body=body)
    elif status == 403 and not is_json:
        message = (
            "the panel's CDN refused the request (HTTP 403, a page that is not "
            "JSON): the API key was never checked; the block is about this "
            "machine's IP address or traffic"
        )
        raise CDNBlockedError(message, status_code=status, body=body)
    else:
        message = (_error_message(body, action) if is_json else None) or (
            str(body["message"])
            if is_json and isinstance(body, dict) and body.get("message")
            else "the panel answered with an error and no message"
        )
    raise _error_for(status, headers, message, body)


def _error_for(
    status: int, headers: Mapping[str, str], message: str, body: Any
) -> APIError:
    # The status decides first: a 5xx that says "too many requests" failed on
    # the server, and taking it for a throttle would send an add again.
    if status >= 500:
        return InternalServerError(message, status_code=status, body=body)
    if status == 429 or _RATE_LIMIT_WORDS.search(message):
        wait = retry_after_seconds(headers, message)
        return RateLimitError(message, status_code=status, body=body, retry_after=wait)
    errors = _field_errors(body)
    if _FUNDS_WORDS.search(message):
        return InsufficientFundsError(
            message, status_code=status, body=body, errors=errors
        )
    if status in (401, 403) or _AUTH_WORDS.search(message):
        return AuthenticationError(message, status_code=status, body=body)
    if status in (200, 400, 422) or errors:
        return BadRequestError(message, status_code=status, body=body, errors=errors)
    return APIError(message, status_code=status, body=body)
