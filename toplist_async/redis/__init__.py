"""
A fleet of processes on one Redis: `pip install 'toplist_async[redis]'`.

    redis = toplist_async.redis.connect("redis://localhost:6379/0")
    limit = RedisRateLimit(redis, name="panel-key-1", per_minute=120)
    async with ToplistClient(api_key, rate_limit=limit) as client:
        tracker = RedisTracker(redis, client, name="orders")
        await tracker.track([order_id])
        await tracker.run()  # in each worker; tracker.events(...) in consumers

Works with Valkey too. Only this package imports `redis`; the core does not.
"""

from ._connection import RedisUnavailableError, connect
from ._ratelimit import RedisRateLimit
from ._tracker import RedisTracker

__all__ = ["RedisRateLimit", "RedisTracker", "RedisUnavailableError", "connect"]

for _name in ("RedisUnavailableError",):
    globals()[_name].__module__ = __name__
del _name
