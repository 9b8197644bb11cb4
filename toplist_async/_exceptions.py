"""
Every error a `ToplistClient` call raises.

Our exception hierarchy:

* ToplistError                  base class; nothing else escapes a call
  * APIConnectionError          no usable response (DNS, refused, reset, TLS)
    * APITimeoutError           the request took longer than `timeout`
  * APIError                    the panel answered with an error, whatever the status
    * BadRequestError           400/422, validation messages; `.errors` per field
      * InsufficientFundsError  the balance does not cover the order
    * AuthenticationError       401/403, "Invalid API key", "Unauthorized ..."
    * CDNBlockedError           a 403 page, not JSON: a CDN refused, key unchecked
    * RateLimitError            429 or a rate-limit message; `.retry_after`
    * InternalServerError       HTTP status >= 500
    * OrderError                one order of a status, cancel or refill was rejected
    * RefillError               one refill id of a refill_status call was rejected
  * ResponseValidationError     the body is not the JSON the action answers with
  * OrderOutcomeUnknown         an `add` may have placed an order; its answer was lost
  * PartialBatchError           some requests of a `*_many` call failed as a whole
  * ClientClosedError           the client was closed before or during the call
  * TrackerInUseError           a tracker is already iterated by another consumer
  * WrongEventLoopError         the client was used in another event loop first

Programming errors in the arguments of a call (an order id that is not a positive
integer, an empty list) raise `ValueError` or `TypeError` before anything is sent,
and `asyncio.CancelledError` always goes through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CDNBlockedError",
    "ClientClosedError",
    "InsufficientFundsError",
    "InternalServerError",
    "OrderError",
    "OrderOutcomeUnknown",
    "PartialBatchError",
    "RateLimitError",
    "RefillError",
    "ResponseValidationError",
    "ToplistError",
    "TrackerInUseError",
    "WrongEventLoopError",
]


class ToplistError(Exception):
    """
    Base class of every error raised by `toplist_async`.

    `headers` holds the headers of the answer the error came from
    (`X-RateLimit-Remaining`, ...; case-insensitive), empty if none came.
    """

    headers: Mapping[str, str] = MappingProxyType({})

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIConnectionError(ToplistError):
    """
    No usable response arrived: the panel could not be reached or the connection broke.

    `request_sent` is False only when the failure certainly happened before the
    request left this process (DNS failure, connection refused, TLS handshake).
    `reason` is the operating system's word for it (`"connection refused"`),
    when it gave one.
    """

    def __init__(
        self, message: str, *, request_sent: bool, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.request_sent = request_sent
        self.reason = reason


class APITimeoutError(APIConnectionError):
    """The request did not complete within the client's `timeout`."""


class APIError(ToplistError):
    """
    The panel answered with an error.

    `status_code` is the HTTP status (200 for panels that report errors in a
    successful response), `message` the panel's own text and `body` the decoded
    JSON (or a short text excerpt when the body was not JSON).
    """

    def __init__(self, message: str, *, status_code: int, body: object = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status_code})"


class BadRequestError(APIError):
    """
    The panel refused the request's fields (HTTP 400/422 or a validation message).

    `errors` maps each field to its messages, as Laravel's `{"errors": {...}}` does.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object = None,
        errors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.errors: dict[str, list[str]] = {
            field: list(messages) for field, messages in (errors or {}).items()
        }


class InsufficientFundsError(BadRequestError):
    """The account's balance does not cover the order."""


class AuthenticationError(APIError):
    """The API key is missing, wrong or not allowed to do this (HTTP 401/403)."""


class CDNBlockedError(APIError):
    """
    A CDN or firewall in front of the panel refused the request (HTTP 403).

    Its answer was a page that is not JSON (a browser challenge, Cloudflare's
    "error code: 1020"), so the panel never read the request and the API key
    was never checked. The cause is usually the machine's IP address or its
    traffic; `body` holds an excerpt of the page.
    """


class RateLimitError(APIError):
    """
    The panel asked us to slow down (HTTP 429 or a rate-limit message).

    `retry_after` is the wait in seconds the panel asked for, when it said one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class InternalServerError(APIError):
    """The panel failed with an HTTP status of 500 or above."""


class OrderError(APIError):
    """
    The panel rejected one order of a status, cancel or refill call.

    The other orders of the same request are unaffected. `missing` is True when
    the panel's answer left the order out rather than refusing it: asking
    again later may well succeed.
    """

    def __init__(
        self,
        order_id: int,
        message: str,
        *,
        status_code: int = 200,
        body: Any = None,
        missing: bool = False,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.order_id = order_id
        self.missing = missing

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.message}"

    def __repr__(self) -> str:
        return f"OrderError(order_id={self.order_id!r}, message={self.message!r})"


class RefillError(APIError):
    """
    The panel rejected one refill id of a `refill_status()` call.

    The other ids of the same request are unaffected. `missing` is True when
    the panel's answer left the id out rather than refusing it.
    """

    def __init__(
        self,
        refill_id: int,
        message: str,
        *,
        status_code: int = 200,
        body: Any = None,
        missing: bool = False,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.refill_id = refill_id
        self.missing = missing

    def __str__(self) -> str:
        return f"refill {self.refill_id}: {self.message}"

    def __repr__(self) -> str:
        return f"RefillError(refill_id={self.refill_id!r}, message={self.message!r})"


class ResponseValidationError(ToplistError):
    """
    The panel's answer is not the JSON this action answers with.

    `not_json` is True when the body was not JSON at all (an HTML page, an empty
    or cut-off body); `body` holds a short excerpt of it.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object = None,
        not_json: bool = False,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.not_json = not_json


class OrderOutcomeUnknown(ToplistError):
    """
    An `add` request may have reached the panel, but its answer was lost.

    The order may or may not exist (and may have been charged). Check the
    panel (its order list or your balance) before placing it again. The fields
    of the order are in `order`; the failure behind it is `__cause__`.
    """

    def __init__(self, message: str, *, order: Mapping[str, object]) -> None:
        super().__init__(message)
        self.order = dict(order)


class PartialBatchError(ToplistError):
    """
    Some requests of a `*_many()` call (status, cancel, refill, refill status)
    failed as a whole.

    The ids the panel did answer for are in `outcomes` (as the call would
    have returned them); every other id maps in `errors` to the error of its
    request. For `cancel_many()` and `refill_many()` this tells which went
    through. When every request failed, the call raises that error instead.
    """

    def __init__(
        self, outcomes: Mapping[int, object], errors: Mapping[int, BaseException]
    ) -> None:
        first = next(iter(errors.values()))
        total = len(outcomes) + len(errors)
        msg = (
            f"{len(errors)} of {total} orders got no answer ({first}); "
            "the others are in .outcomes"
        )
        super().__init__(msg)
        self.outcomes = dict(outcomes)
        self.errors = dict(errors)


class ClientClosedError(ToplistError, RuntimeError):
    """The client was closed before or while the call was made."""


class TrackerInUseError(ToplistError, RuntimeError):
    """
    An `async for` over a tracker that another consumer is still iterating.

    A tracker hands each update to one consumer at a time. A loop left with
    `break`, an exception or `aclose()`, or whose task ended, has let go; an
    iterator replaced by a newer loop in its own task raises this if used again.
    """


class WrongEventLoopError(ToplistError, RuntimeError):
    """
    The client was used from an event loop other than the one it first ran in.

    A client, like its aiohttp connections, belongs to one event loop: create
    one inside each `asyncio.run()`, or keep one loop for the program's life.
    """
