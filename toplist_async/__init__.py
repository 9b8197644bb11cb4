"""
toplist_async: an asyncio client for the toplistbot SMM API v2.

    async with ToplistClient(api_key="...") as client:
        order_id = await client.add(service=1, link="https://...", quantity=100)
        print(await client.status(order_id))

Everything public is importable from here; the `_modules` are private.
"""

from ._client import DEFAULT_BASE_URL, ToplistClient
from ._dialect import Dialect
from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CDNBlockedError,
    ClientClosedError,
    InsufficientFundsError,
    InternalServerError,
    OrderError,
    OrderOutcomeUnknown,
    PartialBatchError,
    RateLimitError,
    RefillError,
    ResponseValidationError,
    ToplistError,
    TrackerInUseError,
    WrongEventLoopError,
)
from ._hooks import RequestEvent, ResponseEvent
from ._logs import setup_logging as _setup_logging
from ._models import Balance, CancelResult, OrderState, OrderStatus, Service
from ._ratelimit import RateLimiter
from ._refill_models import RefillResult, RefillState, RefillStatus
from ._stats import ClientStats
from ._tracker import OrderTracker, TrackerOptions
from ._version import __version__

__all__ = [
    "__version__",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Balance",
    "CancelResult",
    "CDNBlockedError",
    "ClientClosedError",
    "ClientStats",
    "DEFAULT_BASE_URL",
    "Dialect",
    "InsufficientFundsError",
    "InternalServerError",
    "OrderError",
    "OrderOutcomeUnknown",
    "OrderState",
    "OrderStatus",
    "OrderTracker",
    "PartialBatchError",
    "RateLimiter",
    "RateLimitError",
    "RefillError",
    "RefillResult",
    "RefillState",
    "RefillStatus",
    "RequestEvent",
    "ResponseEvent",
    "ResponseValidationError",
    "Service",
    "ToplistClient",
    "ToplistError",
    "TrackerInUseError",
    "TrackerOptions",
    "WrongEventLoopError",
]

# Tracebacks show `toplist_async.APIError`, not the private module. Only the
# exceptions: msgspec resolves a model's annotations in its own module.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and issubclass(_obj, BaseException):
        _obj.__module__ = __name__
del _name, _obj

_setup_logging()  # $TOPLIST_LOG=debug|info prints the SDK's log
