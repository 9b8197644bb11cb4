"""Errors in words: what went wrong, what to do about it, and the exit code."""

from __future__ import annotations

from dataclasses import dataclass

from .._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CDNBlockedError,
    InsufficientFundsError,
    InternalServerError,
    OrderError,
    OrderOutcomeUnknown,
    RateLimitError,
    RefillError,
    ResponseValidationError,
    ToplistError,
)
from ._output import json_text, safe

__all__ = ["EPILOG", "EXIT_CODES", "Problem", "describe", "exit_code"]

# Most specific first: the first class an error is an instance of decides.
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (AuthenticationError, 3),
    (BadRequestError, 4),
    (RateLimitError, 5),
    (APIConnectionError, 6),
    (InternalServerError, 7),
    (ResponseValidationError, 8),
    (OrderOutcomeUnknown, 9),
    (OrderError, 10),
    (RefillError, 10),
    (ToplistError, 1),
    (ValueError, 2),
    (TypeError, 2),
]
EPILOG = """exit codes: 0 ok, 1 other API error, 2 bad usage, 3 authentication,
4 request refused (validation, funds), 5 rate limited, 6 connection or timeout,
7 panel server error, 8 unreadable answer, 9 order outcome unknown,
10 some orders refused (status/cancel/refill) or refills (refill-status),
130 interrupted"""


def exit_code(exc: BaseException) -> int:
    """The exit code of the first `EXIT_CODES` class `exc` is an instance of."""
    return next(code for kind, code in EXIT_CODES if isinstance(exc, kind))


@dataclass(frozen=True)
class Problem:
    """An error as the command line tells it."""

    message: str
    hint: str | None
    code: int
    kind: str

    def line(self) -> str:
        """`toplist: message; hint` for people."""
        hint = f"; {self.hint}" if self.hint else ""
        return f"toplist: {self.message}{hint}"

    def json(self) -> str:
        """`{"error": {...}}` for scripts (`--json`)."""
        error = {"type": self.kind, "message": self.message, "exit_code": self.code}
        if self.hint:
            error["hint"] = self.hint
        return json_text({"error": error})


def _tries(count: int) -> str:
    return "1 try" if count == 1 else f"{count} tries"


def _cause(exc: BaseException) -> str:
    """The operating system's words for a failed connection, or a summary."""
    reason = getattr(exc, "reason", None)
    return reason or "the connection failed or was closed"


def _words(exc: BaseException, timeout: float, tries: int) -> tuple[str, str | None]:
    status = getattr(exc, "status_code", None)
    said = safe(getattr(exc, "message", str(exc)))
    if isinstance(exc, AuthenticationError):
        return (
            f"the panel refused the API key (HTTP {status})",
            "check --api-key or TOPLIST_API_KEY",
        )
    if isinstance(exc, InsufficientFundsError):
        return f"the panel refused the order: {said}", "`toplist balance` shows funds"
    if isinstance(exc, BadRequestError):
        return (
            f"the panel refused the request: {said}",
            "`toplist services` lists each service's type, min and max",
        )
    if isinstance(exc, RateLimitError):
        wait = exc.retry_after
        asked = f" and asked to wait {wait:g} s" if wait is not None else ""
        return (
            f"the panel is limiting requests (HTTP 429){asked}",
            "wait, then try again with fewer requests",
        )
    if isinstance(exc, APITimeoutError):
        return (
            f"no answer from the panel within {timeout:g} s ({_tries(tries)})",
            "check --base-url, or allow more time with --timeout",
        )
    if isinstance(exc, APIConnectionError):
        return (
            f"could not reach the panel ({_tries(tries)}): {_cause(exc)}",
            "check --base-url and the network",
        )
    if isinstance(exc, InternalServerError):
        return (
            f"the panel failed with HTTP {status} ({_tries(tries)})",
            "the fault is on the panel's side; try again later",
        )
    if isinstance(exc, ResponseValidationError):
        return (
            f"the panel's answer could not be read: {said}",
            "check that --base-url is the panel's API v2 address",
        )
    if isinstance(exc, OrderOutcomeUnknown):
        return (
            "the order may have been placed, but its answer was lost",
            "look for it in the panel's order list before placing it again",
        )
    if isinstance(exc, CDNBlockedError):
        return (
            "the panel's CDN refused the request (HTTP 403); the API key was "
            "never checked",
            "the block is about this machine's IP address or traffic: try "
            "another network, or ask the panel to allow it",
        )
    if isinstance(exc, APIError):
        return f"the panel answered HTTP {status}: {said}", None
    # The SDK words its own argument errors for Python callers.
    return said.replace("allow_http=True", "--allow-http"), None


def describe(exc: BaseException, *, timeout: float = 0.0, tries: int = 1) -> Problem:
    """`exc` in words, with a hint and its exit code."""
    message, hint = _words(exc, timeout, tries)
    return Problem(message, hint, exit_code(exc), type(exc).__name__)
