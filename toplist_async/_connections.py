"""
The client's HTTP connections: a bounded number of requests at once, and, in
the sessions the client creates, a connection of its own for every mutation.

Requests beyond `max_connections` wait for a free slot before their `timeout`
starts, and the connection pools are sized to the slots, so a burst of calls
never waits inside aiohttp's pool, where the wait would count against the
request's timeout.

HTTP/1.1 answers carry no request id: a stray answer that reaches an idle
keep-alive connection (a buggy proxy or panel) is read by aiohttp as the answer
to the next request on it. A read then gets a wrong answer (a status answer is
checked against the ids asked for); an `add` would return another order's id.
So, unless the caller passes a `session`, `add`, `cancel` and `refill` go
through a pool that never reuses a connection (`force_close`): their answer
cannot have arrived before they were written. A caller's session is used for
every request as it is, mutations included, keep-alive or not: its connector
decides (`force_close=True` gives the same guarantee).
"""

from __future__ import annotations

import asyncio

import aiohttp

__all__ = ["MUTATIONS", "Connections"]

MUTATIONS = frozenset({"add", "cancel", "refill"})


def _pool_limit(session: aiohttp.ClientSession) -> int:
    """The number of connections a caller's session opens at once (0: no limit)."""
    connector = session.connector
    if connector is None:
        return 0
    limits = [limit for limit in (connector.limit, connector.limit_per_host) if limit]
    return min(limits, default=0)


class Connections:
    """Request slots, and the session each action's request goes through."""

    def __init__(
        self,
        *,
        max_connections: int,
        session: aiohttp.ClientSession | None,
        trust_env: bool = False,
    ) -> None:
        if type(max_connections) is not int or max_connections < 1:
            msg = f"max_connections must be a positive int, not {max_connections!r}"
            raise ValueError(msg)
        limit = max_connections
        if session is not None:
            # Waiting in a smaller pool of the caller's would count against
            # `timeout`: wait for a slot of ours instead.
            limit = min(limit, _pool_limit(session) or limit)
        self.limit = limit
        self.slots = asyncio.Semaphore(limit)
        self._shared = session
        self._trust_env = trust_env  # $HTTPS_PROXY and friends, for our sessions
        self._reads: aiohttp.ClientSession | None = None
        self._mutations: aiohttp.ClientSession | None = None

    def session(self, action: str) -> aiohttp.ClientSession:
        """The session for `action`, created on first use in the running loop."""
        if self._shared is not None:
            return self._shared
        if action in MUTATIONS:
            if self._mutations is None:
                self._mutations = self._new_session(force_close=True)
            return self._mutations
        if self._reads is None:
            self._reads = self._new_session(force_close=False)
        return self._reads

    def _new_session(self, *, force_close: bool) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self.limit, force_close=force_close)
        return aiohttp.ClientSession(connector=connector, trust_env=self._trust_env)

    async def aclose(self) -> None:
        """Close the sessions created here; a caller's session stays open."""
        sessions = [self._reads, self._mutations]
        self._reads = self._mutations = None
        for session in sessions:
            if session is not None:
                await session.close()
