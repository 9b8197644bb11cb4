"""
One POST to the panel: auth, encoding, safe HTTP settings, reading and classifying.

Every choice about the wire (where the key goes, JSON or form, redirects) lives
here, so changing one is a one-line change; how much of an answer is read is
`_caps`'s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import aiohttp
import msgspec
from multidict import CIMultiDict, CIMultiDictProxy  # aiohttp's own header type

from ._apikey import ApiKey, clear_frames
from ._base_url import is_loopback
from ._caps import answer_cap, read_capped
from ._classifier import raise_for_answer
from ._connections import Connections
from ._decode import NotJSON, decode_as, decode_json, unwrap_success
from ._dialect import Dialect
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ToplistError,
    WrongEventLoopError,
)
from ._form import form_body
from ._options import request_timeout
from ._stats import StatsCounter
from ._version import __version__

__all__ = ["Auth", "Encoding", "Transport"]

Auth = Literal["body", "bearer", "both"]
Encoding = Literal["json", "form"]
Observer = Callable[[int, Mapping[str, str]], None]

logger = logging.getLogger("toplist_async")

_EXCERPT_CHARS = 500
_USER_AGENT = f"toplist_async/{__version__} aiohttp/{aiohttp.__version__}"

# Failures raised while connecting: the request certainly never left, so even
# an `add` may be sent again.
_UNSENT_ERRORS = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class Transport:
    """Sends one action to the panel and returns its decoded, error-checked answer."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: float,
        auth: Auth,
        encoding: Encoding,
        session: aiohttp.ClientSession | None,
        max_connections: int = 100,
        dialect: Dialect | None = None,
        trust_env: bool = False,
        proxy: str | None = None,
        stats: StatsCounter | None = None,
    ) -> None:
        if auth not in ("body", "bearer", "both"):
            msg = f"auth must be 'body', 'bearer' or 'both', not {auth!r}"
            raise ValueError(msg)
        if encoding not in ("json", "form"):
            msg = f"encoding must be 'json' or 'form', not {encoding!r}"
            raise ValueError(msg)
        self._key = ApiKey(api_key)
        self.base_url = base_url
        self.auth: Auth = auth
        self.encoding: Encoding = encoding
        self.dialect = Dialect() if dialect is None else dialect
        self._timeout = request_timeout(timeout)
        self._connections = Connections(
            max_connections=max_connections,
            session=session,
            # A proxy cannot reach this machine's loopback: a local panel
            # (FakePanel) is asked directly whatever $HTTP_PROXY says.
            trust_env=trust_env and not is_loopback(base_url),
        )
        self._proxy = proxy
        self._stats = StatsCounter() if stats is None else stats
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight = 0
        self._idle: asyncio.Event | None = None
        self._headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        if auth != "body":
            self._headers["Authorization"] = f"Bearer {api_key}"
        if encoding == "json":
            self._headers["Content-Type"] = "application/json"
        else:
            self._headers["Content-Type"] = "application/x-www-form-urlencoded"

    def _check_open(self) -> None:
        if self._closed:
            msg = "the client is closed"
            raise ClientClosedError(msg)

    def check_loop(self) -> None:
        """Raise `WrongEventLoopError` unless running in the loop of the first use."""
        # The connections, their slots and pools belong to the loop they were
        # made in; from another one they fail with "Event loop is closed".
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            msg = (
                "this client was first used in another event loop, and a client "
                "belongs to one: create it inside the asyncio.run() that uses it"
            )
            raise WrongEventLoopError(msg)

    def _encode(self, action: str, fields: Mapping[str, Any]) -> bytes:
        wire_action, body = self.dialect.request(action, fields)
        body["action"] = wire_action
        if self.auth != "bearer":
            body[self.dialect.key_field] = self._key.value
        if self.encoding == "json":
            return msgspec.json.encode(body)
        return form_body(body)  # booleans are 1/0 already (_arguments)

    async def post(
        self,
        action: str,
        fields: Mapping[str, Any],
        *,
        ids: int = 0,
        fast: msgspec.json.Decoder[Any] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        observe: Observer | None = None,
    ) -> Any:
        """
        POST one action and return the decoded answer, or raise its error.

        A successful answer that fits the typed decoder `fast` is returned as
        it decodes; any other answer goes through the tolerant decoder and the
        error classifier; `observe(status, headers)` hears of every answer.
        Beyond `max_connections` requests at once, it waits for a free slot
        first; `timeout` starts once it has one.
        """
        self._check_open()
        self.check_loop()
        self._in_flight += 1
        try:
            async with self._connections.slots:
                self._check_open()  # closed while waiting: never sent
                # Counted here, as it leaves: a call failed before is no request.
                self._stats.requests[action] += 1
                session = self._connections.session(action)
                return await self._post(
                    session,
                    action,
                    fields,
                    ids,
                    fast,
                    timeout or self._timeout,
                    observe,
                )
        except BaseException as exc:
            # The frames below hold the body and the headers, hence the key.
            clear_frames(exc)
            raise
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._idle is not None:
                self._idle.set()

    async def _post(
        self,
        session: aiohttp.ClientSession,
        action: str,
        fields: Mapping[str, Any],
        ids: int,
        fast: msgspec.json.Decoder[Any] | None,
        timeout: aiohttp.ClientTimeout,
        observe: Observer | None,
    ) -> Any:
        started = time.perf_counter()
        failure: APIConnectionError | None = None
        try:
            async with session.post(
                self.base_url,
                data=self._encode(action, fields),
                headers=self._headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=self._proxy,
                # A TraceConfig (OpenTelemetry, ...) can name its span after it.
                trace_request_ctx={"action": action, "ids": ids},
                # A caller's session may raise on 4xx/5xx: we classify them.
                raise_for_status=False,
            ) as response:
                raw = await read_capped(response, answer_cap(action, ids))
                status, headers = response.status, response.headers
        except _UNSENT_ERRORS as exc:
            self._log(action, ids, "unreachable", started)
            failure = self._connection_error(action, exc, sent=False)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._log(action, ids, "connection lost", started)
            failure = self._connection_error(action, exc, sent=True)
        if failure is not None:
            # Raised out of the handler, so aiohttp's error is neither cause nor
            # context: its repr shows the request's headers (`Bearer <key>`) and
            # its frames the body. Its type and words are in the message.
            raise failure
        self._log(action, ids, str(status), started)
        if observe is not None:
            observe(status, self._redacted(headers))
        # Redacted before anything reads the body, so no excerpt, message or
        # decoded value can carry the key.
        raw = self._key.redact_raw(raw)
        hidden = self._key.may_hide_in(raw)
        # Non-ASCII bytes take the tolerant path: msgspec skips unknown keys
        # without checking their UTF-8, which the fast path must not accept.
        if fast is not None and 200 <= status < 300 and raw.isascii() and not hidden:
            typed = decode_as(raw, fast)
            if typed is not None:
                return typed
        try:
            body, is_json = decode_json(raw), True
        except NotJSON:
            body, is_json = self._key.excerpt(raw, _EXCERPT_CHARS), False
        if hidden:
            body = self._key.scrub(body)
        body = unwrap_success(body)
        try:
            raise_for_answer(status, headers, body, is_json=is_json, action=action)
        except ToplistError as exc:
            # Headers (a redirect's Location) can carry the key too.
            exc.message = self._key.redact(exc.message)
            exc.args = (exc.message,)
            exc.headers = self._redacted(headers)
            raise
        return body

    def _redacted(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        """The answer's headers, case-insensitive, with any echo of the key hidden."""
        redact = self._key.redact
        return CIMultiDictProxy(
            CIMultiDict((name, redact(value)) for name, value in headers.items())
        )

    def _connection_error(
        self, action: str, exc: BaseException, *, sent: bool
    ) -> APIConnectionError:
        # aiohttp's messages can hold the URL but never the body; redact anyway
        # so a key pasted into a URL by mistake cannot leak through them.
        detail = self._key.redact(str(exc)) or type(exc).__name__
        kind = (
            APITimeoutError if isinstance(exc, TimeoutError) else (APIConnectionError)
        )
        what = "timed out" if kind is APITimeoutError else "failed"
        msg = f"{action!r} request {what}: {type(exc).__name__}: {detail}"
        errno = exc.errno if isinstance(exc, OSError) else None
        reason = os.strerror(errno).lower() if errno else None
        return kind(msg, request_sent=sent, reason=reason)

    @staticmethod
    def _log(action: str, ids: int, outcome: str, started: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            logger.debug(
                "action=%s ids=%d -> %s in %.1f ms", action, ids, outcome, elapsed
            )

    async def aclose(self) -> None:
        """
        Close the sessions this transport created; a caller's session stays open.

        Requests under way (an `add`, say) are finished first, within their
        timeout, so closing never turns a placed order into a lost answer;
        requests still waiting for a free slot fail with `ClientClosedError`.
        """
        self._closed = True
        if self._loop is not None:
            self.check_loop()
        try:
            if self._in_flight:
                self._idle = asyncio.Event()
                await self._idle.wait()
        finally:
            # Even when cancelled while waiting: never leave the sessions open.
            await self._connections.aclose()
