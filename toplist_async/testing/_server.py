"""The HTTP side of the panel: routes, body parsing, faults, throttle, the log."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from dataclasses import dataclass

import msgspec
from aiohttp import web

from .._dialect import Dialect
from ._actions import Actions
from ._dialect import to_convention
from ._faults import Fault, Faults
from ._models import RequestRecord
from ._state import PanelState
from ._throttle import Throttle
from ._wire import CHALLENGE_PAGE, Reply, Wire, error_page

__all__ = ["Handler"]

_JSON = "application/json"
_HTML = "text/html"
_TOO_MANY = b'{"message":"Too Many Attempts."}'
# Faults that answer in place of the panel, without running the action.
_INSTEAD = frozenset({"rate_limit", "server_error", "reset", "empty", "html_200"})


@dataclass(slots=True)
class _Seen:
    """What the log records about a request, filled in as it is handled."""

    status: int | None = None
    account: str | None = None
    ids: tuple[int, ...] = ()


async def _read_fields(request: web.Request, form_only: bool) -> dict[str, object]:
    """Return the body's fields, from JSON or a form; nonsense reads as empty.

    A `form_only` panel reads form fields only, as PHP's `$_POST` does: a JSON
    body arrives empty.
    """
    if form_only and not request.content_type.endswith("form-urlencoded"):
        return {}
    if request.content_type.endswith("json"):
        try:
            data = msgspec.json.decode(await request.read())
        except msgspec.DecodeError:
            return {}
        return data if isinstance(data, dict) else {}
    form = await request.post()
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _reset(request: web.Request) -> web.Response:
    """Drop the connection with a TCP RST; the returned response is never sent."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0 turns close into a reset, as a crashed proxy would send.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        transport.abort()
    return web.Response()


class Handler:
    """Answers HTTP requests as the panel, recording each one in `log`."""

    def __init__(
        self,
        *,
        state: PanelState,
        wire: Wire,
        actions: Actions,
        faults: Faults,
        throttle: Throttle | None,
        dialect: Dialect | None = None,
        form_only: bool = False,
    ) -> None:
        self._dialect = Dialect() if dialect is None else dialect
        self._form_only = form_only
        self._state = state
        self._wire = wire
        self._actions = actions
        self._faults = faults
        self._throttle = throttle
        self.log: list[RequestRecord] = []

    def app(self) -> web.Application:
        """Build the aiohttp application: `/api/v2`, and JSON 404s elsewhere."""
        app = web.Application()
        app.router.add_route("*", "/api/v2", self._api)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    def _record(
        self, action: str | None, fault: Fault | None, seen: _Seen, at: float
    ) -> None:
        kind = None if fault is None else fault.kind
        record = RequestRecord(
            action=action,
            orders=seen.ids,
            status=seen.status,
            fault=kind,
            account=seen.account,
            at=at,
        )
        self.log.append(record)

    async def _not_found(self, request: web.Request) -> web.Response:
        message = f"The route {request.path.lstrip('/')} could not be found."
        return self._message(404, message)

    def _message(self, status: int, message: str) -> web.Response:
        self._record(None, None, _Seen(status), time.monotonic())
        body = msgspec.json.encode({"message": message})
        return web.Response(status=status, body=body, content_type=_JSON)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            message = f"The {request.method} method is not supported for this route."
            response = self._message(405, message)
            response.headers["Allow"] = "POST"
            return response
        arrived = time.monotonic()
        fields, refusal = to_convention(
            self._dialect, await _read_fields(request, self._form_only)
        )
        action = fields.get("action")
        action = action if isinstance(action, str) and action else None
        fault = self._faults.pick(action)
        seen = _Seen()
        try:
            return await self._serve(request, fields, action, fault, seen, refusal)
        finally:
            # Also runs when a slow answer is cancelled because the client left.
            self._record(action, fault, seen, arrived)

    async def _serve(
        self,
        request: web.Request,
        fields: dict[str, object],
        action: str | None,
        fault: Fault | None,
        seen: _Seen,
        refusal: str | None,
    ) -> web.StreamResponse:
        if fault is None:
            return self._send(seen, *self._run(request, fields, action, seen, refusal))
        if fault.kind in _INSTEAD:
            return self._instead(request, fault, seen)
        if fault.kind in ("latency", "slow"):
            await asyncio.sleep(fault.seconds or 0)
        reply, headers = self._run(request, fields, action, seen, refusal)
        if fault.kind == "truncated":
            reply = Reply(200, reply.body[: len(reply.body) // 2])
        elif fault.kind == "add_lost":
            if fault.then == "reset":
                return _reset(request)
            if fault.then == "server_error":
                return self._html(seen, self._faults.server_status(fault))
            await asyncio.sleep(fault.seconds or 0)
        return self._send(seen, reply, headers)

    def _run(
        self,
        request: web.Request,
        fields: dict[str, object],
        action: str | None,
        seen: _Seen,
        refusal: str | None,
    ) -> tuple[Reply, dict[str, str]]:
        """Throttle, authenticate and run the action, as the real panel does.

        `refusal` is the dialect's answer to a request it cannot read.
        """
        key = _bearer(request) or fields.get("key")
        account = self._state.account(key if isinstance(key, str) else None)
        headers: dict[str, str] = {}
        if self._throttle is not None:
            bucket = f"ip:{request.remote}" if account is None else account.id
            headers, wait = self._throttle.hit(bucket)
            if wait is not None:
                return Reply(429, _TOO_MANY), headers
        if account is None:
            return self._wire.unauthenticated(), headers
        seen.account = account.id
        if refusal is not None:
            return self._wire.error(refusal), headers
        reply, seen.ids = self._actions.dispatch(action, account, fields)
        return reply, headers

    def _send(self, seen: _Seen, reply: Reply, headers: dict[str, str]) -> web.Response:
        seen.status = reply.status
        return web.Response(
            status=reply.status, body=reply.body, content_type=_JSON, headers=headers
        )

    def _html(
        self, seen: _Seen, status: int, page: bytes | None = None
    ) -> web.Response:
        seen.status = status
        body = error_page(status) if page is None else page
        return web.Response(status=status, body=body, content_type=_HTML)

    def _instead(self, request: web.Request, fault: Fault, seen: _Seen) -> web.Response:
        if fault.kind == "reset":
            return _reset(request)
        if fault.kind == "server_error":
            return self._html(seen, self._faults.server_status(fault))
        if fault.kind == "html_200":
            return self._html(seen, 200, CHALLENGE_PAGE)
        if fault.kind == "empty":
            return self._send(seen, Reply(200, b""), {})
        headers = {"Retry-After": str(fault.retry_after)}
        return self._send(seen, Reply(429, _TOO_MANY), headers)
