"""How the panel writes answers: number dialect, status spellings, error envelopes."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import msgspec

from ._order import CANCELED, COMPLETED, IN_PROGRESS, PARTIAL, PENDING

__all__ = ["CHALLENGE_PAGE", "STATUS_STYLES", "Reply", "Wire", "error_page"]

_SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "document": {
        PENDING: ("pending",),
        IN_PROGRESS: ("in progress",),
        COMPLETED: ("completed",),
        PARTIAL: ("partial",),
        CANCELED: ("canceled",),
    },
    "perfectpanel": {
        PENDING: ("Pending",),
        IN_PROGRESS: ("In progress",),
        COMPLETED: ("Completed",),
        PARTIAL: ("Partial",),
        CANCELED: ("Canceled",),
    },
    # Spellings seen on real panels; each order keeps one (chosen by its id).
    "mixed": {
        PENDING: ("Pending", "pending"),
        IN_PROGRESS: ("In Progress", "in_progress", "In progress"),
        COMPLETED: ("Complete", "Completed", "completed"),
        PARTIAL: ("Partial", "partial"),
        CANCELED: ("Cancelled", "Order Cancelled", "Canceled"),
    },
}
STATUS_STYLES = tuple(_SPELLINGS)


class Reply(NamedTuple):
    """An HTTP status and the JSON body to send with it."""

    status: int
    body: bytes


class Wire:
    """The panel's dialect: how numbers, statuses and errors look on the wire."""

    def __init__(
        self,
        *,
        numbers_as_strings: bool = False,
        status_style: str = "document",
        errors_with_200: bool = False,
    ) -> None:
        if status_style not in _SPELLINGS:
            msg = f"status_style must be one of {STATUS_STYLES}, got {status_style!r}"
            raise ValueError(msg)
        self.numbers_as_strings = numbers_as_strings
        self.errors_with_200 = errors_with_200
        self._spellings = _SPELLINGS[status_style]
        self.encode = msgspec.json.Encoder().encode

    def num(self, value: int) -> int | str:
        """Write an integer in the dialect."""
        return str(value) if self.numbers_as_strings else value

    def money(self, value: Decimal) -> msgspec.Raw | str:
        """Write an amount in the dialect, in plain notation (never `0E-8`)."""
        text = format(value, "f")
        return text if self.numbers_as_strings else msgspec.Raw(text.encode())

    def status(self, status: str, order_id: int) -> str:
        """Spell a status the way this panel does."""
        spellings = self._spellings[status]
        return spellings[order_id % len(spellings)]

    def ok(self, payload: object) -> Reply:
        """Answer 200 with `payload` as JSON."""
        return Reply(200, self.encode(payload))

    def error(self, message: str, status: int = 400) -> Reply:
        """Answer `{"error": message}`."""
        return self._fail(status, {"error": message}, message)

    def unauthenticated(self) -> Reply:
        """Answer Laravel's 401 for a missing or wrong key."""
        message = "Unauthenticated."
        return self._fail(401, {"message": message}, message)

    def invalid(self, errors: dict[str, list[str]], *, message: bool = True) -> Reply:
        """Answer Laravel's 422 validation error.

        `message=False` leaves out the summary, as the API document's example does.
        """
        first = next(iter(errors.values()))[0]
        body: dict[str, object] = {"errors": errors}
        if message:
            extra = sum(len(messages) for messages in errors.values()) - 1
            if extra:
                plural = "error" if extra == 1 else "errors"
                body = {"message": f"{first} (and {extra} more {plural})", **body}
            else:
                body = {"message": first, **body}
        return self._fail(422, body, first)

    def _fail(self, status: int, body: object, message: str) -> Reply:
        if self.errors_with_200:
            return Reply(200, self.encode({"error": message}))
        return Reply(status, self.encode(body))


_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def error_page(status: int) -> bytes:
    """Return the HTML page nginx serves for a 5xx status."""
    title = f"{status} {_REASONS.get(status, 'Server Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


CHALLENGE_PAGE = (
    b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    b'<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
    b'<meta name="robots" content="noindex,nofollow"></head><body>'
    b'<div class="main-wrapper" role="main"><div class="main-content">'
    b"<h1>backend.toplistbot.com</h1><h2>Checking if the site connection is secure"
    b"</h2><noscript>Enable JavaScript and cookies to continue</noscript>"
    b"</div></div></body></html>"
)
