"""Checking the extra fields of an `add` before anything is sent."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from decimal import Decimal

__all__ = ["CLIENT_OPTIONS", "check_extra_fields"]

NAMED_FIELDS = ("service", "link", "quantity", "interval", "runs")
# Names a caller may mean for the client: sent to the panel they would do nothing
# there (or something else), and the caller would believe them applied.
CLIENT_OPTIONS = frozenset(
    {
        "allow_http",
        "api_key",
        "auth",
        "base_url",
        "batch_window",
        "dialect",
        "encoding",
        "headers",
        "max_batch_size",
        "max_connections",
        "max_in_flight",
        "max_pending",
        "max_retries",
        "on_request",
        "on_response",
        "proxy",
        "rate_limit",
        "retry_deadline",
        "session",
        "timeout",
        "trust_env",
    }
)


def check_extra_fields(fields: Mapping[str, object]) -> None:
    """
    Refuse, before sending, what cannot be a field of the order: a client
    option (`timeout=5`), a misspelt named parameter (`quantiy=100`), or a
    value that is not a string, number, boolean or list of strings.
    """
    for name, value in fields.items():
        if name in CLIENT_OPTIONS or name.startswith("extra_"):
            msg = (
                f"add() got {name!r}, an option of the client, not a field of the "
                "order: set it on ToplistClient(...) or client.with_options(...)"
            )
            raise TypeError(msg)
        close = difflib.get_close_matches(name, NAMED_FIELDS, n=1, cutoff=0.8)
        if close:
            msg = f"add() got an unknown field {name!r}; did you mean {close[0]!r}?"
            raise TypeError(msg)
        if not _sendable(value):
            msg = (
                f"field {name!r} must be a string, a number, a boolean or a list "
                f"of strings, not {type(value).__name__}"
            )
            raise TypeError(msg)


def _sendable(value: object) -> bool:
    if value is None or isinstance(value, str | int | float | Decimal):
        return True
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
