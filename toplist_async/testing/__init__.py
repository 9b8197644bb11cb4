"""A fake toplistbot SMM panel for tests, demos and benchmarks.

`FakePanel` is a real aiohttp server on 127.0.0.1 with accounts, orders that
progress on a simulated clock, the dialects real panels speak, a rate limit,
seeded fault injection and a request log. `python -m toplist_async.testing`
runs one in its own process.
"""

from __future__ import annotations

from ._faults import Fault, Faults, parse_faults
from ._models import DEFAULT_SERVICES, Order, RequestRecord, Service
from ._panel import FakePanel
from ._runner import run, serve_forever

__all__ = [
    "DEFAULT_SERVICES",
    "FakePanel",
    "Fault",
    "Faults",
    "Order",
    "RequestRecord",
    "Service",
    "parse_faults",
    "run",
    "serve_forever",
]
